//! The official `@upstash/redis` SDK (Node) against the gateway: `tests/conformance.mjs`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

#[tokio::test]
async fn conformance_with_official_sdk() {
    let root = workspace_root();
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    match Command::new(&node).arg("--version").output() {
        Ok(out) if out.status.success() => {}
        _ => {
            panic!("`{node} --version` failed: Node.js 20+ is needed for the SDK conformance test")
        }
    }
    let package = root.join("node_modules/@upstash/redis/package.json");
    assert!(
        package.exists(),
        "{} is missing: run `npm install` in {} to install @upstash/redis",
        package.display(),
        root.display()
    );
    let gw = support::start().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance.mjs");
    let output = tokio::process::Command::new(&node)
        .arg(&script)
        .env("UPSTASH_REDIS_REST_URL", &gw.url)
        .env("UPSTASH_REDIS_REST_TOKEN", support::TOKEN)
        .env("UPSTASH_DISABLE_TELEMETRY", "1")
        .env("WORKSPACE_ROOT", &root)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), output)
        .await
        .expect("conformance.mjs finished within 120 s")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "conformance.mjs failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("checks passed"),
        "unexpected output: {stdout}"
    );
    eprintln!("{}", stdout.trim());
}
