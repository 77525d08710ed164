//! Request bodies over `max_request_bytes`: every client gets the 413 and its JSON error
//! (`{"error":"ERR max request size exceeded: ..."}`), not a broken connection, because the
//! gateway reads and discards the rest of the body (up to [`drain_limit`]) before answering.
//! Node (the official SDK and plain fetch, `tests/oversize.mjs`), our Rust client and raw
//! sockets.

use std::path::Path;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use upstash_gateway::server::drain_limit;
use upstash_rest::{Client, ClientOptions, Command, Connection, Error, SetOptions};

use crate::support::{self, TOKEN};

/// Small enough to keep the bodies quick to send, large enough that a body near the drain
/// limit (4 MiB) does not fit in loopback's socket buffers.
const LIMIT: usize = 1024 * 1024;

#[tokio::test]
async fn node_clients_see_413() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root");
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    assert!(
        root.join("node_modules/@upstash/redis/package.json")
            .exists(),
        "@upstash/redis is missing: run `npm install` in {}",
        root.display()
    );
    let gw = support::start_with(|c| c.max_request_bytes = LIMIT).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oversize.mjs");
    let output = tokio::process::Command::new(&node)
        .arg(&script)
        .env("UPSTASH_REDIS_REST_URL", &gw.url)
        .env("UPSTASH_REDIS_REST_TOKEN", TOKEN)
        .env("UPSTASH_DISABLE_TELEMETRY", "1")
        .env("GATEWAY_LIMIT", LIMIT.to_string())
        .env("GATEWAY_DRAIN_LIMIT", drain_limit(LIMIT).to_string())
        .env("WORKSPACE_ROOT", &root)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), output)
        .await
        .expect("oversize.mjs finished within 120 s")
        .unwrap_or_else(|e| panic!("run `{node}` (Node.js 20+ is needed): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "oversize.mjs failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("checks passed"),
        "unexpected output: {stdout}"
    );
    eprintln!("{}", stdout.trim());
    assert_eq!(
        gw.redis.cli_raw(&["DBSIZE"]),
        "0",
        "nothing oversize was written"
    );
}

#[tokio::test]
async fn rust_client_sees_413_and_keeps_working() {
    let gw = support::start_with(|c| c.max_request_bytes = LIMIT).await;
    let client = Client::new(
        Connection::new(&gw.url, Some(TOKEN)).expect("connection"),
        ClientOptions::default(),
    )
    .expect("client");
    // Larger than loopback's socket buffers (see oversize.mjs), within the drain limit.
    let over = "x".repeat(drain_limit(LIMIT) as usize - 4096);
    for round in 0..5 {
        let started = Instant::now();
        let err = client
            .set("big", over.as_str(), SetOptions::default())
            .await
            .expect_err("an oversize SET fails");
        match &err {
            Error::Status { code: 413, body } => {
                assert!(body.contains("max request size exceeded"), "{body}")
            }
            other => panic!("round {round}: expected HTTP 413, got {other:?}"),
        }
        assert!(!err.is_unreachable(), "a 413 is an answer, not an outage");
        assert!(started.elapsed() < Duration::from_secs(2), "no retries");
        // The same client (and its pooled connection) goes on working.
        client.ping().await.expect("ping after 413");
    }
    let err = client
        .pipeline()
        .cmd(Command::set(
            "p1",
            "y".repeat(LIMIT / 2),
            SetOptions::default(),
        ))
        .cmd(Command::set(
            "p2",
            "y".repeat(LIMIT / 2),
            SetOptions::default(),
        ))
        .cmd(Command::set(
            "p3",
            "y".repeat(LIMIT / 2),
            SetOptions::default(),
        ))
        .exec()
        .await
        .expect_err("an oversize pipeline fails");
    assert!(matches!(err, Error::Status { code: 413, .. }), "{err:?}");
    assert_eq!(gw.redis.cli_raw(&["DBSIZE"]), "0");
    assert!(client
        .set("small", "y".repeat(LIMIT / 2), SetOptions::default())
        .await
        .expect("a body under the limit"));
}

/// Reads one HTTP/1.1 response (Content-Length framed) from `stream`: status, head, body.
async fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .expect("content-length");
            while data.len() < end + 4 + length {
                let n = stream.read(&mut buf).await.expect("read body");
                assert!(n > 0, "connection closed mid-body");
                data.extend_from_slice(&buf[..n]);
            }
            let status = head
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .expect("status");
            let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]).to_string();
            return (status, head, body);
        }
        let n = stream.read(&mut buf).await.expect("read head");
        assert!(n > 0, "connection closed before a response: {data:?}");
        data.extend_from_slice(&buf[..n]);
    }
}

fn post(path: &str, body_len: usize) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {body_len}\r\n\r\n"
    )
    .into_bytes();
    request.resize(request.len() + body_len, b'q');
    request
}

#[tokio::test]
async fn raw_socket_gets_413_after_the_whole_body_and_keeps_the_connection() {
    let gw = support::start_with(|c| c.max_request_bytes = LIMIT).await;
    let addr = gw.url.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    // The whole request is written before anything is read, as undici does.
    for len in [LIMIT + 1, LIMIT * 3, drain_limit(LIMIT) as usize] {
        stream
            .write_all(&post("/set/big", len))
            .await
            .expect("write");
        let (status, head, body) = read_response(&mut stream).await;
        assert_eq!(status, 413, "{len} bytes: {head}\n{body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON body");
        assert!(
            support::error(&json)
                .starts_with("ERR max request size exceeded: limit is 1048576 bytes"),
            "{json}"
        );
        assert_eq!(
            json.as_object().map(|o| o.len()),
            Some(1),
            "only `error`: {json}"
        );
        assert!(
            !head.to_ascii_lowercase().contains("connection: close"),
            "{head}"
        );
    }
    // Same connection: the next request is served.
    stream
        .write_all(&post("/set/small", 10))
        .await
        .expect("write");
    let (status, _, body) = read_response(&mut stream).await;
    assert_eq!((status, body.as_str()), (200, r#"{"result":"OK"}"#));

    // Declared beyond the drain limit: answered at once, and the connection is closed.
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    let len = drain_limit(LIMIT) + 1;
    let head = format!(
        "POST /set/huge HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {len}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let (status, head, _) = read_response(&mut stream).await;
    assert_eq!(status, 413);
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the gateway closed the connection");

    // A chunked body that goes past the drain limit: the gateway stops reading there and
    // answers 413 with `Connection: close`. Unread bytes left in its socket make the kernel
    // reset the connection, so a client may see the reset instead (that is the bound).
    let mut stream = TcpStream::connect(&addr).await.expect("connect");
    let head = format!(
        "POST /set/chunked HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write head");
    let chunk = format!("{:x}\r\n{}\r\n", 16384, "c".repeat(16384));
    for _ in 0..(drain_limit(LIMIT) as usize / 16384 + 8) {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let mut seen = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the gateway ended the connection within 15 s");
    let seen = String::from_utf8_lossy(&seen);
    assert!(
        seen.is_empty()
            || (seen.starts_with("HTTP/1.1 413")
                && seen.to_ascii_lowercase().contains("connection: close")),
        "{seen}"
    );
    assert_eq!(gw.redis.cli_raw(&["EXISTS", "big", "huge", "chunked"]), "0");
    let (status, _) = support::send(gw.get("/ping")).await;
    assert_eq!(status, 200, "still serving");
}
