//! `fake-exchange`: serves Binance's exchangeInfo paths from recorded payloads, with the
//! `/__control` fault-script API. Run `fake-exchange --help` for the flags.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use fake_exchange::{fixtures, synth_spot_payload, FakeExchange};

const USAGE: &str = "\
fake-exchange: a fake Binance exchangeInfo server (spot + futures) with fault scripts

USAGE:
    fake-exchange [OPTIONS]

OPTIONS:
    --listen ADDR          address to bind [env FAKE_EXCHANGE_LISTEN] [default 127.0.0.1:8078]
    --spot-file PATH       serve this spot exchangeInfo JSON instead of the 2023-09 recording
    --futures-file PATH    serve this futures exchangeInfo JSON instead of the 2025-12 recording
    --spot-2020            serve the 2020-11 spot recording (MIN_NOTIONAL filter set)
    --synth-spot N         serve a synthetic spot payload in today's shape with N symbols
                           (3500 gives about 6 MB)
    --emit-synth-spot N    write that synthetic payload to stdout and exit
    --quiet                no per-request JSON log lines
    -h, --help             print this help

ROUTES:
    GET|HEAD /api/v3/exchangeInfo   spot (showPermissionSets=false, symbolStatus=, symbol=, symbols=)
    GET|HEAD /fapi/v1/exchangeInfo  futures
    POST /__control/faults  {\"market\":\"spot\",\"faults\":[{\"kind\":\"status\",\"code\":429,\"retry_after\":30}],
                             \"sticky\":null,\"fail_every_other\":false}
    POST /__control/reset   clear faults and counters
    GET  /__control/stats   {\"spot\":{\"requests\":N,\"with_api_key\":M,...},\"futures\":{...}}

Fault kinds: status{code,retry_after}, delay{ms}, stall, malformed, truncated, empty_symbols,
shrink{keep}, require_api_key.
";

#[derive(Debug)]
struct Args {
    listen: String,
    spot_file: Option<PathBuf>,
    futures_file: Option<PathBuf>,
    spot_2020: bool,
    synth_spot: Option<usize>,
    emit_synth_spot: Option<usize>,
    quiet: bool,
}

enum Parsed {
    Run(Args),
    Help,
}

fn parse_args(raw: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut args = Args {
        listen: std::env::var("FAKE_EXCHANGE_LISTEN").unwrap_or_else(|_| "127.0.0.1:8078".into()),
        spot_file: None,
        futures_file: None,
        spot_2020: false,
        synth_spot: None,
        emit_synth_spot: None,
        quiet: false,
    };
    let mut it = raw.into_iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value"))
        };
        let count = |name: &str, v: String| -> Result<usize, String> {
            v.parse()
                .map_err(|_| format!("{name}: not a number: {v:?}"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--listen" => args.listen = value("--listen")?,
            "--spot-file" => args.spot_file = Some(value("--spot-file")?.into()),
            "--futures-file" => args.futures_file = Some(value("--futures-file")?.into()),
            "--spot-2020" => args.spot_2020 = true,
            "--synth-spot" => {
                args.synth_spot = Some(count("--synth-spot", value("--synth-spot")?)?)
            }
            "--emit-synth-spot" => {
                args.emit_synth_spot =
                    Some(count("--emit-synth-spot", value("--emit-synth-spot")?)?)
            }
            "--quiet" => args.quiet = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let spot_sources = [
        args.spot_file.is_some(),
        args.spot_2020,
        args.synth_spot.is_some(),
    ];
    if spot_sources.iter().filter(|&&b| b).count() > 1 {
        return Err("choose at most one of --spot-file, --spot-2020, --synth-spot".into());
    }
    Ok(Parsed::Run(args))
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
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("fake-exchange: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
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
