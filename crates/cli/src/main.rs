//! `symbols`, the ops CLI: parses the arguments, builds the Worker's service natively from
//! the environment ([`app`]), runs one command ([`commands`]) and maps failures to a
//! one-line error and an exit status ([`error`]).

mod app;
mod cli;
mod clock;
mod commands;
mod error;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{one_line, redact, CliError};

async fn dispatch(cli: &Cli) -> Result<(), CliError> {
    let app = app::build(|k| std::env::var(k).ok(), cli.verbose, cli.json)?;
    match &cli.command {
        Command::Status => commands::status::run(&app).await,
        Command::Warmup { target } => commands::warmup::run(&app, *target).await,
        Command::Get(args) => commands::get::run(&app, args).await,
        Command::Keys => commands::keys::run(&app).await,
    }
}

/// Every secret the process could know, for the last-line redaction of error messages.
fn secrets() -> Vec<String> {
    let names = upstash_rest::TOKEN_VARS
        .iter()
        .copied()
        .chain(["BINANCE_API_KEY", "ADMIN_TOKEN"]);
    names
        .filter_map(|n| std::env::var(n).ok())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("symbols: error: cannot start the async runtime: {e}");
            return ExitCode::from(error::EXIT_FAILED);
        }
    };
    match runtime.block_on(dispatch(&cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let line = secrets()
                .iter()
                .fold(one_line(&e.message), |line, s| redact(&line, Some(s)));
            eprintln!("symbols: error: {line}");
            ExitCode::from(e.code)
        }
    }
}
