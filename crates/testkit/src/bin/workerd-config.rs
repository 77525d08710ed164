//! Writes a bare-workerd `config.capnp` for a `wrangler deploy --dry-run` bundle (the same
//! config the e2e harness serves with; see `testkit::workerd`). For `scripts/bench.sh`.
//!
//!   workerd-config DIR BUNDLE PORT CRON_PORT COMPAT_DATE [--edge-cache] < VARS
//!
//! VARS: one `NAME=value` per line on stdin (not argv: a token stays out of `ps`).
//! Prints the config's path.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use testkit::workerd::Serve;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let positional: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [dir, bundle, port, cron_port, date] = positional[..] else {
        eprintln!(
            "usage: workerd-config DIR BUNDLE PORT CRON_PORT COMPAT_DATE [--edge-cache] < VARS"
        );
        return ExitCode::from(2);
    };
    let (Ok(port), Ok(cron_port)) = (port.parse(), cron_port.parse()) else {
        eprintln!("workerd-config: PORT and CRON_PORT must be port numbers");
        return ExitCode::from(2);
    };
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("workerd-config: reading the vars from stdin: {e}");
        return ExitCode::FAILURE;
    }
    let mut vars = Vec::new();
    for line in input.lines().filter(|l| !l.trim().is_empty()) {
        let Some((k, v)) = line.split_once('=') else {
            eprintln!("workerd-config: a var line without '=' (NAME=value expected)");
            return ExitCode::from(2);
        };
        vars.push((k.trim().to_string(), v.to_string()));
    }
    let serve = Serve {
        bundle: PathBuf::from(bundle),
        vars,
        port,
        cron_port,
        compatibility_date: date.clone(),
        edge_cache: args.iter().any(|a| a == "--edge-cache"),
    };
    match serve.write_config(&PathBuf::from(dir)) {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("workerd-config: {e}");
            ExitCode::FAILURE
        }
    }
}
