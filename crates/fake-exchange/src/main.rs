//! `fake-exchange`: serves Binance's exchangeInfo paths from recorded payloads, with the
//! `/__control` fault-script API. Run `fake-exchange --help` for the flags.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use fake_exchange::{fixtures, synth_spot_payload, FakeExchange};

const ROUTES: &str = "\
ROUTES:
    GET|HEAD /api/v3/exchangeInfo   spot (showPermissionSets=false, symbolStatus=, symbol=, symbols=)
    GET|HEAD /fapi/v1/exchangeInfo  futures
    POST /__control/faults  {\"market\":\"spot\",\"faults\":[{\"kind\":\"status\",\"code\":429,\"retry_after\":30}],
                             \"sticky\":null,\"fail_every_other\":false}
    POST /__control/reset   clear faults and counters
    GET  /__control/stats   {\"spot\":{\"requests\":N,\"with_api_key\":M,...},\"futures\":{...}}

Fault kinds: status{code,retry_after}, delay{ms}, stall, malformed, truncated, empty_symbols,
shrink{keep}, require_api_key.";

/// fake-exchange: a fake Binance exchangeInfo server (spot + futures) with fault scripts
#[derive(Debug, Parser)]
#[command(name = "fake-exchange", after_help = ROUTES, args_override_self = true)]
struct Args {
    /// Address to bind.
    #[arg(
        long,
        value_name = "ADDR",
        env = "FAKE_EXCHANGE_LISTEN",
        default_value = "127.0.0.1:8078"
    )]
    listen: String,
    /// Serve this spot exchangeInfo JSON instead of the 2023-09 recording.
    #[arg(long, value_name = "PATH", group = "spot")]
    spot_file: Option<PathBuf>,
    /// Serve this futures exchangeInfo JSON instead of the 2025-12 recording.
    #[arg(long, value_name = "PATH")]
    futures_file: Option<PathBuf>,
    /// Serve the 2020-11 spot recording (MIN_NOTIONAL filter set).
    #[arg(long = "spot-2020", group = "spot")]
    spot_2020: bool,
    /// Serve a synthetic spot payload in today's shape with N symbols (3500 gives about 6 MB).
    #[arg(long, value_name = "N", group = "spot")]
    synth_spot: Option<usize>,
    /// Write that synthetic payload to stdout and exit.
    #[arg(long, value_name = "N")]
    emit_synth_spot: Option<usize>,
    /// No per-request JSON log lines.
    #[arg(long)]
    quiet: bool,
}

fn read(path: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

fn build_state(args: &Args) -> Result<FakeExchange, String> {
    if args.spot_file.is_none()
        && !args.spot_2020
        && args.synth_spot.is_none()
        && args.futures_file.is_none()
    {
        return Ok(FakeExchange::new());
    }
    let spot = if let Some(path) = &args.spot_file {
        read(path)?
    } else if args.spot_2020 {
        fixtures::spot_2020().to_vec()
    } else if let Some(n) = args.synth_spot {
        synth_spot_payload(n)
    } else {
        fixtures::spot().to_vec()
    };
    let futures = match &args.futures_file {
        Some(path) => read(path)?,
        None => fixtures::futures().to_vec(),
    };
    FakeExchange::from_payloads(spot, futures).map_err(|e| e.to_string())
}

async fn shutdown_signal() {
    shutdown::signal().await;
    eprintln!("fake-exchange: shutting down");
}

fn main() -> ExitCode {
    // Bad usage: clap's message and exit status 2, as before.
    let args = Args::parse();
    if let Some(n) = args.emit_synth_spot {
        let mut stdout = std::io::stdout().lock();
        return match stdout
            .write_all(&synth_spot_payload(n))
            .and_then(|()| stdout.flush())
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fake-exchange: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fake-exchange: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let state = match build_state(&args) {
            Ok(state) => state,
            Err(e) => {
                eprintln!("fake-exchange: {e}");
                return ExitCode::FAILURE;
            }
        };
        state.set_logging(!args.quiet);
        let listener = match tokio::net::TcpListener::bind(&args.listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("fake-exchange: cannot listen on {}: {e}", args.listen);
                return ExitCode::FAILURE;
            }
        };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or(args.listen.clone());
        let spot = state.payload(fake_exchange::Market::Spot);
        let futures = state.payload(fake_exchange::Market::Futures);
        eprintln!(
            "fake-exchange: spot {} symbols ({} bytes), futures {} symbols ({} bytes)",
            spot.symbol_count(),
            spot.bytes().len(),
            futures.symbol_count(),
            futures.bytes().len()
        );
        println!("listening on http://{addr}");
        match fake_exchange::run(listener, state, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("fake-exchange: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
