//! upstash-redis-rs compatibility (issue 12 item 6), proven with the real crate: builds and runs
//! `compat-check/` (its own workspace and Cargo.lock, RUSTC_BOOTSTRAP=1 because upstash-redis-rs
//! uses a nightly feature) against a real redis-server behind the gateway:
//! - upstash-redis-rs's own `examples/basic.rs`, read from the registry copy cargo fetched, with
//!   only the crate name rewritten, built against `upstash_rest` and run;
//! - the differential runner (`compat-check/src/main.rs`): one command sequence through
//!   upstash-redis-rs itself and through ours, every result compared.
//!
//! The nested builds use `target/compat-check` (their own lock, so no deadlock with the outer
//! cargo) and are incremental after the first run (a few minutes on a cold cache).

#[path = "support/stack.rs"]
mod stack;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use upstash_rest::blocking::Client;
use upstash_rest::{ClientOptions, SetOptions};

fn compat_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("compat-check")
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/compat-check")
}

/// `cargo <args>` in compat-check with RUSTC_BOOTSTRAP=1 and `envs` (`build`: into
/// `target/compat-check`); panics with the output on failure.
fn cargo(args: &[&str], envs: &[(&str, &str)], build: bool) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(args)
        .arg("--locked")
        .arg("--manifest-path")
        .arg(compat_dir().join("Cargo.toml"))
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove("CARGO_TARGET_DIR");
    if build {
        cmd.arg("--target-dir").arg(target_dir());
    }
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} failed ({}) (building upstash-redis-rs needs OpenSSL headers: Debian libssl-dev, pkg-config)\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// upstash-redis-rs 0.1.2's source directory, as cargo fetched it for compat-check.
fn their_source() -> PathBuf {
    let out = cargo(&["metadata", "--format-version", "1"], &[], false);
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let manifest = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "upstash-redis-rs" && p["version"] == "0.1.2")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("upstash-redis-rs 0.1.2 in compat-check's dependencies");
    Path::new(manifest)
        .parent()
        .expect("source dir")
        .to_path_buf()
}

#[test]
fn upstash_redis_rs_code_builds_and_behaves_the_same_against_ours() {
    // Their example, only the crate name changed.
    let original = std::fs::read_to_string(their_source().join("examples/basic.rs"))
        .expect("examples/basic.rs in the registry copy");
    assert!(original.contains("upstash_redis_rs::"), "{original}");
    let rewritten = original.replace("upstash_redis_rs", "upstash_rest");
    assert_eq!(
        rewritten.replace("upstash_rest", "upstash_redis_rs"),
        original,
        "only the crate name may differ"
    );
    std::fs::create_dir_all(target_dir()).expect("target dir");
    let example = target_dir().join("basic.rs");
    std::fs::write(&example, &rewritten).expect("write the rewritten example");

    let stack = stack::Stack::start();
    let ours = Client::new(stack.connection(), ClientOptions::default()).expect("client");
    for (field, value) in [("name", "jinser"), ("lang", "rust")] {
        ours.command(
            upstash_rest::Command::new("HSET")
                .arg("author")
                .arg(field)
                .arg(value),
        )
        .expect("HSET author");
    }
    ours.set("unrelated", "x", SetOptions::default())
        .expect("SET");

    // basic.rs reads the URL and token with env!() at compile time.
    let example_path = example.to_string_lossy().into_owned();
    let env = [
        ("UPSTASH_COMPAT_BASIC_RS", example_path.as_str()),
        ("UPSTASH_REDIS_REST_URL", stack.url.as_str()),
        ("UPSTASH_REDIS_REST_TOKEN", stack::TOKEN),
    ];
    let out = cargo(&["run", "--quiet", "--example", "basic"], &env, true);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Success {"), "{stdout}");
    for word in ["\"name\"", "\"jinser\"", "\"lang\"", "\"rust\""] {
        assert!(
            stdout.contains(word),
            "{word} missing from basic.rs output: {stdout}"
        );
    }

    // The differential run.
    let out = cargo(
        &["run", "--quiet", "--bin", "upstash-compat-check"],
        &env,
        true,
    );
    let report = String::from_utf8_lossy(&out.stdout);
    eprintln!("{report}");
    assert!(!report.contains("DIFFERENT"), "{report}");
    // `hidden`: an error answer upstash-redis-rs decodes as `Success { result: None }` (see
    // compat-check/src/main.rs); ours reports it. Each is a step the gateway answers with an error.
    let count = |mark: &str| report.lines().filter(|l| l.starts_with(mark)).count();
    let (same, hidden) = (count("same "), count("hidden "));
    assert!(same >= 35, "{same} identical steps: {report}");
    let expected_hidden = [
        "set null (refused)",
        "set object (refused)",
        "hget on a string (WRONGTYPE)",
        "unknown command via set_options",
        "wrong token",
    ];
    for step in expected_hidden {
        assert!(
            report.contains(&format!("hidden    {step}:")),
            "{step}: {report}"
        );
    }
    assert_eq!(hidden, expected_hidden.len(), "{report}");
    let summary = format!("{} steps, 0 mismatches, {hidden} errors", same + hidden);
    assert!(report.contains(&summary), "{report}");
}
