//! Turning Upstash REST requests into Redis commands: JSON array bodies and path-style URLs.
//!
//! - `POST /` with `["SET","k","v","EX",100]`: strings, numbers and booleans (stringified).
//! - `POST /pipeline` and `POST /multi-exec` with a 2-D array of such commands.
//! - Path style `/set/k/v/EX/100`: segments percent-decoded to raw bytes; a non-empty body is
//!   appended as one more argument, then `?key=value` query pairs as `key value` (`_token` skipped).

use bytes::Bytes;
use percent_encoding::percent_decode_str;

use crate::json::{self, Node};
use crate::redis::Command;

/// A request body or URL that is not a valid command; the message goes back as `{"error": …}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn json_arg(node: Node) -> Result<Bytes, ParseError> {
    match node {
        Node::Str(s) => Ok(s),
        // Numbers are passed on exactly as written.
        Node::Num(n) => Ok(n),
        Node::Bool(b) => Ok(Bytes::from_static(if b { b"true" } else { b"false" })),
        Node::Null => Err(ParseError(
            "ERR invalid command: null is not a valid argument".into(),
        )),
        Node::Array(_) | Node::Object => Err(ParseError(
            "ERR invalid command: arguments must be strings, numbers or booleans".into(),
        )),
    }
}

fn json_command(node: Node) -> Result<Command, ParseError> {
    match node {
        Node::Array(items) => {
            if items.is_empty() {
                return Err(ParseError("ERR empty command".into()));
            }
            items.into_iter().map(json_arg).collect()
        }
        _ => Err(ParseError(
            "ERR invalid command: expected a JSON array like [\"SET\",\"key\",\"value\"]".into(),
        )),
    }
}

fn parse_json(body: &Bytes) -> Result<Node, ParseError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError(
            "ERR empty request body: expected a JSON array command".into(),
        ));
    }
    json::parse(body).map_err(|e| ParseError(format!("ERR invalid JSON body: {e}")))
}

/// Parses a single JSON array command (`POST /`). Unescaped strings are slices of `body`.
///
/// # Errors
/// Invalid JSON, not an array, empty, or an argument that is null, an array or an object.
pub fn parse_json_command(body: &Bytes) -> Result<Command, ParseError> {
    json_command(parse_json(body)?)
}

/// Parses a 2-D JSON array (`POST /pipeline`, `POST /multi-exec`). Each inner command is parsed
/// separately so a pipeline can report a bad command at its own index.
///
/// # Errors
/// Invalid JSON, not an array of arrays.
pub fn parse_json_commands(body: &Bytes) -> Result<Vec<Result<Command, ParseError>>, ParseError> {
    match parse_json(body)? {
        Node::Array(items) => Ok(items.into_iter().map(json_command).collect()),
        _ => Err(ParseError(
            "ERR invalid pipeline: expected a JSON array of commands like [[\"SET\",\"k\",\"v\"],[\"GET\",\"k\"]]".into(),
        )),
    }
}

fn decode_component(s: &str) -> Bytes {
    Bytes::from(percent_decode_str(s).collect::<Vec<u8>>())
}

/// Query pairs `(key, value)` percent-decoded (`+` is kept literally); a key without `=` has no value.
pub fn query_pairs(query: Option<&str>) -> impl Iterator<Item = (Bytes, Option<Bytes>)> + '_ {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode_component(k), Some(decode_component(v))),
            None => (decode_component(pair), None),
        })
}

/// The `_token` query parameter, if present.
pub fn query_token(query: Option<&str>) -> Option<Bytes> {
    query_pairs(query)
        .find(|(k, _)| k.as_ref() == b"_token")
        .map(|(_, v)| v.unwrap_or_default())
}

/// Parses a path-style command: `/set/k/v?EX=100` plus an optional raw body value.
///
/// `path` is the raw (still percent-encoded) URL path. Empty segments in the middle are empty
/// arguments; a trailing `/` is ignored.
///
/// # Errors
/// An empty command name.
pub fn parse_path_command(
    path: &str,
    query: Option<&str>,
    body: Bytes,
) -> Result<Command, ParseError> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let mut command: Command = trimmed.split('/').map(decode_component).collect();
    if command.first().is_none_or(|name| name.is_empty()) {
        return Err(ParseError("ERR empty command".into()));
    }
    if !body.is_empty() {
        command.push(body);
    }
    for (key, value) in query_pairs(query) {
        if key.as_ref() == b"_token" {
            continue;
        }
        command.push(key);
        if let Some(value) = value {
            command.push(value);
        }
    }
    Ok(command)
}

#[cfg(test)]
mod unit {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn strs(cmd: &Command) -> Vec<String> {
        cmd.iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect()
    }

    #[test]
    fn json_commands() {
        let c = parse_json_command(&b(r#"["SET","k","v","EX",100,true,1.5]"#)).expect("valid");
        assert_eq!(strs(&c), ["SET", "k", "v", "EX", "100", "true", "1.5"]);
        assert!(parse_json_command(&b("[]")).is_err());
        assert!(parse_json_command(&b("")).is_err());
        assert!(parse_json_command(&b(r#"["SET",null]"#)).is_err());
        assert!(parse_json_command(&b(r#"["SET",["x"]]"#)).is_err());
        assert!(parse_json_command(&b(r#"{"a":1}"#)).is_err());
        let p =
            parse_json_commands(&b(r#"[["PING"],[],["GET","k"],["SET",{"a":1}]]"#)).expect("valid");
        assert!(p[0].is_ok() && p[1].is_err() && p[2].is_ok() && p[3].is_err());
        assert!(parse_json_commands(&b(r#"["PING"]"#)).expect("array")[0].is_err());
    }

    #[test]
    fn path_commands() {
        let c = parse_path_command("/set/a%2Fb/hello%20world/EX/100", None, Bytes::new())
            .expect("valid");
        assert_eq!(strs(&c), ["set", "a/b", "hello world", "EX", "100"]);
        let c = parse_path_command(
            "/set/k",
            Some("EX=100&_token=secret&NX"),
            Bytes::from_static(b"body"),
        )
        .expect("valid");
        assert_eq!(strs(&c), ["set", "k", "body", "EX", "100", "NX"]);
        let c = parse_path_command("/set/k/%FF%00", None, Bytes::new()).expect("valid");
        assert_eq!(c[2].as_ref(), b"\xff\x00");
        assert!(parse_path_command("/", None, Bytes::new()).is_err());
        assert_eq!(
            query_token(Some("a=1&_token=t%2Bx")).as_deref(),
            Some(&b"t+x"[..])
        );
        assert_eq!(query_token(Some("a=1")), None);
    }
}
