//! The fresh-clone experience (issue 13): the Worker started exactly as README tells a
//! user (`npx wrangler dev` with the committed `wrangler.toml`, whose `[build]` command
//! runs first), with nothing configured and no gateway running; and setup on a machine
//! without apt-get.
//!
//! `npx wrangler dev` runs in a copy of the checkout (configuration, scripts, `build/` and
//! the build's inputs; `node_modules` linked), so its build command can never rewrite the
//! `build/` that the other end-to-end tests are serving. The copy's build is the no-change
//! rebuild: the test requires it (`scripts/build.sh --check`) instead of compiling the
//! wasm from scratch.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::support::{copy_project, root, ProjectDev};

/// Runs `scripts/build.sh --check` in `dir`: is its build/ made from its sources?
fn build_is_current(dir: &Path) -> (bool, String) {
    let out = Command::new(dir.join("scripts/build.sh"))
        .arg("--check")
        .current_dir(dir)
        .output()
        .expect("build.sh --check");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn npx_wrangler_dev_with_nothing_configured_serves_from_binance_and_says_what_is_missing() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_project(dir.path());
    let (current, why) = build_is_current(dir.path());
    assert!(
        current,
        "build/ does not match the sources ({why}): run scripts/build.sh (make test does)"
    );
    // The committed configuration, byte for byte: the one README's `npx wrangler dev` reads.
    let committed = std::fs::read(root().join("wrangler.toml")).expect("wrangler.toml");
    assert_eq!(
        std::fs::read(dir.path().join("wrangler.toml")).expect("copied wrangler.toml"),
        committed
    );
    let toml = String::from_utf8_lossy(&committed);
    assert!(
        toml.contains("[build]") && toml.contains("watch_dir"),
        "wrangler.toml has no [build] with watch_dir"
    );

    // No Redis at all; Binance is the fake exchange (this machine cannot reach the real
    // one), set the way README says vars are overridden locally: in .dev.vars.
    let exchange = fake_exchange::start().await;
    std::fs::write(
        dir.path().join(".dev.vars"),
        format!(
            "SPOT_API_BASES={:?}\nFUTURES_API_BASES={:?}\n",
            exchange.base_url, exchange.base_url
        ),
    )
    .expect(".dev.vars");

    let dev = ProjectDev::start(dir.path(), &["--test-scheduled"]).await;
    let log = dev.log();
    assert!(
        log.contains("[build] up to date"),
        "the [build] command did not run as a no-change rebuild:\n{log}"
    );
    println!(
        "npx wrangler dev served after {:.1} s (no-change [build] included)",
        dev.startup.as_secs_f64()
    );

    // /healthz says what is missing and how to start it.
    let health = dev.get("/healthz").await;
    assert_eq!(health.status, 503, "{}", health.text());
    let h = health.json();
    assert_eq!(h["redis"], "unreachable", "{h}");
    assert_eq!(
        h["missing"],
        serde_json::json!(["REDIS_REST_URL", "REDIS_REST_TOKEN"]),
        "{h}"
    );
    let hint = h["hint"].as_str().unwrap_or_default();
    for want in [
        "make dev",
        "REDIS_REST_URL",
        "REDIS_REST_TOKEN",
        ".dev.vars",
        "BYPASS",
    ] {
        assert!(hint.contains(want), "hint lacks {want:?}: {hint}");
    }

    // ... and the Worker keeps serving, straight from the exchange.
    for _ in 0..3 {
        let spot = dev.get("/api/symbols/spot").await;
        assert_eq!(spot.status, 200, "{}\n{}", spot.text(), dev.log());
        assert_eq!(spot.header("x-cache"), Some("BYPASS"));
        assert_eq!(spot.json()["upstream"], exchange.base_url.as_str());
        assert!(spot.json()["count"].as_u64().unwrap_or(0) > 100);
    }
    let one = dev.get("/api/symbols/futures/BTCUSDT").await;
    assert_eq!(
        (one.status, one.header("x-cache")),
        (200, Some("BYPASS")),
        "{}",
        one.text()
    );

    // A request to any other host is a deployed Worker's: no local default, a 500 naming
    // the variable (logged once, never a value).
    let deployed = dev
        .get_with(
            "/api/symbols/spot",
            &[("Host", "symbols-edge.example.workers.dev")],
        )
        .await;
    assert_eq!(deployed.status, 500, "{}", deployed.text());
    let error = deployed.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains("REDIS_REST_URL is not set") && error.contains("wrangler dev"),
        "{error}"
    );
    let again = dev
        .get_with("/healthz", &[("Host", "symbols.example.com")])
        .await;
    assert_eq!(again.status, 500, "{}", again.text());

    // The cron has no request host, so it never takes the local default: it logs the
    // configuration error naming the variable, and stores nothing.
    let cron = dev.get("/__scheduled?cron=*/5+*+*+*+*").await;
    assert_eq!(cron.status, 200, "{}", cron.text());

    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    let log = loop {
        let log = dev.log();
        if log.contains("cron_setup_failed") || Instant::now() > deadline {
            break log;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let lines = |event: &str| -> Vec<serde_json::Value> {
        log.lines()
            // wrangler may wrap a line in its own prefix and colours: read the first object.
            .filter_map(|l| {
                let i = l.find('{')?;
                serde_json::Deserializer::from_str(&l[i..])
                    .into_iter::<serde_json::Value>()
                    .next()?
                    .ok()
            })
            .filter(|v| v["event"] == event)
            .collect()
    };
    // Said once in the log, however many requests came.
    let notices = lines("redis_not_configured");
    assert_eq!(
        notices.len(),
        1,
        "expected one redis_not_configured line:\n{log}"
    );
    assert_eq!(notices[0]["level"], "warn");
    assert_eq!(
        notices[0]["missing"],
        serde_json::json!(["REDIS_REST_URL", "REDIS_REST_TOKEN"])
    );
    assert!(
        notices[0]["hint"]
            .as_str()
            .unwrap_or_default()
            .contains("make dev"),
        "{}",
        notices[0]
    );
    let config_errors = lines("config_error");
    assert_eq!(
        config_errors.len(),
        1,
        "expected one config_error line:\n{log}"
    );
    assert!(config_errors[0]["error"]
        .as_str()
        .unwrap_or_default()
        .contains("REDIS_REST_URL"));
    let cron_errors = lines("cron_setup_failed");
    assert_eq!(
        cron_errors.len(),
        1,
        "the cron did not log its configuration error:\n{log}"
    );
    assert!(
        cron_errors[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("REDIS_REST_URL is not set"),
        "{}",
        cron_errors[0]
    );
    assert!(
        lines("cron").is_empty(),
        "the cron ran without a configured Redis:\n{log}"
    );
}

/// Creates `dir/bin` with links to the real tools a setup script uses and none of apt-get,
/// dpkg, sudo, rustup, redis-server, chromium or python3; `cargo` and `npm` are stubs that
/// record their arguments (so nothing is installed), `node` is real.
fn path_without_apt(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let tools = [
        "bash",
        "sh",
        "env",
        "cat",
        "mkdir",
        "dirname",
        "id",
        "awk",
        "grep",
        "ls",
        "rm",
        "ln",
        "sort",
        "cut",
        "head",
        "tr",
        "sed",
        "timeout",
        "mktemp",
        "cp",
        "sha256sum",
        "uname",
        "node",
    ];
    for tool in tools {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(tool))
            .find(|p| p.is_file());
        if let Some(real) = found {
            std::os::unix::fs::symlink(real, bin.join(tool)).expect("link tool");
        }
    }
    for stub in ["cargo", "npm"] {
        let path = bin.join(stub);
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho \"{stub} $*\" >> \"$STUB_LOG\"\n"),
        )
        .expect("stub");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    bin
}

#[test]
fn setup_without_apt_get_names_what_to_install_and_continues() {
    let dir = tempfile::tempdir().expect("temp dir");
    let project = dir.path().join("checkout");
    std::fs::create_dir_all(project.join("scripts/lib")).expect("scripts");
    for f in [
        "scripts/setup.sh",
        "scripts/setup-build.sh",
        "scripts/lib/install.sh",
        "Cargo.lock",
        "package-lock.json",
    ] {
        std::fs::copy(root().join(f), project.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let bin = path_without_apt(dir.path());
    let stub_log = dir.path().join("stubs.log");
    let started = Instant::now();
    let out = Command::new(project.join("scripts/setup.sh"))
        .current_dir(&project)
        .env_clear()
        .env("PATH", &bin)
        .env("HOME", dir.path())
        .env("CARGO_HOME", dir.path().join("cargo-home"))
        .env("STUB_LOG", &stub_log)
        .output()
        .expect("run setup.sh");
    let took = started.elapsed();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let calls = std::fs::read_to_string(&stub_log).unwrap_or_default();

    // It names each missing piece with what to install, says there is no apt-get ...
    assert_eq!(
        out.status.code(),
        Some(1),
        "setup must report that it is incomplete:\n{err}"
    );
    for want in [
        "no apt-get here",
        "redis-server",
        "redis-cli",
        "chromium",
        "python3 with venv",
        "brew install redis",
        "Debian/Ubuntu: apt-get install python3-venv",
    ] {
        assert!(err.contains(want), "setup's output lacks {want:?}:\n{err}");
    }
    assert!(
        err.contains("still missing:"),
        "no summary at the end:\n{err}"
    );
    // ... never tries apt-get or sudo (neither exists here: the shell would say so) ...
    assert!(
        !err.contains("command not found") && !err.contains("No such file"),
        "{err}"
    );
    // ... and goes on with what it can: the pinned cargo tools and the npm tools.
    assert!(
        calls.contains("cargo install -q worker-build --version =0.8.7"),
        "{calls}\n{err}"
    );
    assert!(
        calls.contains("cargo install -q wasm-bindgen-cli --version =0.2."),
        "{calls}\n{err}"
    );
    assert!(calls.contains("npm ci"), "{calls}\n{err}");
    assert!(project.join(".local/toolchain").is_dir());
    assert!(took.as_secs() < 20, "setup took {took:?}");

    // The build-only install asks for none of the test tools.
    let out = Command::new(project.join("scripts/setup-build.sh"))
        .current_dir(&project)
        .env_clear()
        .env("PATH", &bin)
        .env("HOME", dir.path())
        .env("CARGO_HOME", dir.path().join("cargo-home"))
        .env("STUB_LOG", &stub_log)
        .output()
        .expect("run setup-build.sh");
    let err = String::from_utf8_lossy(&out.stderr);
    for absent in ["redis", "chromium", "python", "venv"] {
        assert!(
            !err.contains(absent),
            "the build-only setup mentions {absent}:\n{err}"
        );
    }
}
