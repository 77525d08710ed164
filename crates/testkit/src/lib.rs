//! Test-only process helpers shared by every crate's integration tests.
//!
//! # Layout
//! - [`free_port`] / [`wait_for_port`]: loopback ports, never fixed ones.
//! - [`ChildGuard`]: a child process killed (with its process group) when dropped,
//!   so a failing or panicking test leaves no orphans.
//! - [`RedisServer`]: a real `redis-server` on a free port with its own temp dir.
//! - [`fuzz`]: the seeded / timed property-fuzzing driver of the crates' fuzz suites.
//! - [`workerd`]: the bare `workerd serve` config for a `wrangler deploy --dry-run` bundle
//!   (the e2e harness and, through `src/bin/workerd-config.rs`, `scripts/bench.sh`).

pub mod fuzz;
pub mod workerd;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 for a child process to listen on.
///
/// Picked below Linux's ephemeral range (32768+), where the thousands of outgoing
/// connections a busy test run makes cannot grab it between our check and the child's
/// bind; falls back to an OS-chosen port.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let seed = std::process::id().wrapping_mul(7919);
    for _ in 0..200 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 20_000 + ((seed.wrapping_add(n.wrapping_mul(104_729))) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Waits until something accepts TCP connections on `127.0.0.1:port`.
///
/// # Errors
/// A message naming the port when `timeout` passes first.
pub fn wait_for_port(port: u16, timeout: Duration) -> Result<(), String> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "nothing listened on 127.0.0.1:{port} within {timeout:?}"
    ))
}

/// A spawned child process that is killed, with its whole process group, on drop.
pub struct ChildGuard {
    child: Option<Child>,
    name: String,
}

impl ChildGuard {
    /// Spawns `cmd` in its own process group (so grandchildren such as workerd die with it).
    ///
    /// # Errors
    /// The spawn error, prefixed with `name`.
    pub fn spawn(name: &str, cmd: &mut Command) -> Result<Self, String> {
        #[cfg(unix)]
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Self {
            child: Some(child),
            name: name.to_string(),
        })
    }

    /// The OS process id.
    pub fn id(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// Whether the process has exited already.
    pub fn has_exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(Some(_))),
            None => true,
        }
    }

    /// Kills the process group and reaps the child. Idempotent.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            #[cfg(unix)]
            {
                let pgid = child.id() as libc::pid_t;
                // Negative pid: the whole group (we made the child its leader at spawn).
                // A syscall, not /bin/kill: procps-ng 4.0.2 misparses `kill -KILL -PGID`
                // and signals every process. The guard keeps a bad id from ever being -1/0.
                if pgid > 1 {
                    // SAFETY: kill(2) has no memory-safety preconditions.
                    unsafe {
                        libc::kill(-pgid, libc::SIGKILL);
                    }
                }
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The name given at spawn time (for messages).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Locates `redis-server`, honouring `REDIS_SERVER_BIN`.
pub fn redis_server_bin() -> PathBuf {
    std::env::var_os("REDIS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

/// Whether a Redis server on `127.0.0.1:port` answers `PING` with `+PONG`.
fn answers_ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let Ok(mut conn) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reply = [0u8; 7];
    conn.write_all(b"PING\r\n").is_ok()
        && conn.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// A real `redis-server` on a free loopback port, data in its own temp dir.
pub struct RedisServer {
    guard: ChildGuard,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts redis-server and waits (up to 10 s) until it accepts connections.
    ///
    /// # Panics
    /// When redis-server is missing or does not come up: tests cannot continue without it.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for redis-server");
        // Another process's free_port probe or child can take the port between our check
        // and redis-server's bind (it then exits, and the port answers for someone else):
        // a server counts as up only when it is alive and answers PING, else a new port.
        for _ in 0..4 {
            let port = free_port();
            let mut guard = Self::spawn_on(port, dir.path());
            if wait_for_port(port, Duration::from_secs(10)).is_ok()
                && !guard.has_exited()
                && answers_ping(port)
            {
                return Self { guard, port, dir };
            }
            guard.kill();
        }
        panic!("redis-server did not start on any of 4 free ports");
    }

    fn spawn_on(port: u16, dir: &Path) -> ChildGuard {
        let mut cmd = Command::new(redis_server_bin());
        cmd.args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .args(["--daemonize", "no", "--loglevel", "warning"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        ChildGuard::spawn("redis-server", &mut cmd).unwrap_or_else(|e| {
            panic!("{e} (install it with `apt-get install redis-server`, or set REDIS_SERVER_BIN)")
        })
    }

    /// Until it answers `PING` (not just accepts connections: while it loads a snapshot it
    /// answers `-LOADING`, and reads would see nothing).
    fn wait_ready(&mut self) {
        if let Err(e) = wait_for_port(self.port, Duration::from_secs(10)) {
            panic!("redis-server did not start: {e}");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !answers_ping(self.port) {
            assert!(
                Instant::now() < deadline,
                "redis-server on {} did not answer PING within 30 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (simulates a crash); [`RedisServer::restart`] brings it back on the same port.
    pub fn stop(&mut self) {
        self.guard.kill();
    }

    /// Starts the server again on the same port and dir.
    pub fn restart(&mut self) {
        self.guard.kill();
        self.guard = Self::spawn_on(self.port, self.dir.path());
        self.wait_ready();
    }

    /// Runs `redis-cli` against this server and returns its trimmed stdout (raw output mode).
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "--no-raw"])
            .args(args)
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Like [`RedisServer::cli`] but in `--raw` mode (values printed as-is).
    pub fn cli_raw(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "--raw"])
            .args(args)
            .output()
            .expect("run redis-cli");
        let s = String::from_utf8_lossy(&out.stdout).to_string();
        s.strip_suffix('\n').unwrap_or(&s).to_string()
    }
}
