//! `upstash-gateway`: flags and environment → [`upstash_gateway::Config`], bind, serve until
//! SIGINT/SIGTERM.

use clap::Parser;
use upstash_gateway::{resolve_redis_url, Config, DEFAULT_LISTEN, DEFAULT_MAX_REQUEST_BYTES};

/// Local Upstash-compatible Redis REST gateway in front of a real redis-server.
#[derive(Debug, Parser)]
#[command(
    name = "upstash-gateway",
    version,
    after_help = "Logging: GATEWAY_LOG=error|warn|info|debug|off (default info; debug logs one JSON line per request).\n\
                  Stats: GET /__gateway/stats -> {\"requests\":N,\"commands\":M}; POST /__gateway/stats/reset."
)]
struct Args {
    /// Address to listen on (loopback by default).
    #[arg(long, env = "GATEWAY_LISTEN", default_value = DEFAULT_LISTEN)]
    listen: String,
    /// Backing Redis: redis://[user[:password]@]host[:port][/db]. Without it: GATEWAY_REDIS_URL,
    /// else REDIS_URL, else CELERY_BROKER_URL (the bot's own settings), else
    /// redis://localhost:6379/0.
    #[arg(long)]
    redis_url: Option<String>,
    /// Token required as `Authorization: Bearer <token>` or `?_token=`. Unset: every request is
    /// accepted with full access (logged as a warning at startup).
    #[arg(long, env = "GATEWAY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Optional second token that may only run read-only commands.
    #[arg(long, env = "GATEWAY_READONLY_TOKEN", hide_env_values = true)]
    readonly_token: Option<String>,
    /// Largest request body in bytes (larger: 413).
    #[arg(long, env = "GATEWAY_MAX_REQUEST_BYTES", default_value_t = DEFAULT_MAX_REQUEST_BYTES)]
    max_request_bytes: usize,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let (redis_url, redis_url_from) = resolve_redis_url(args.redis_url, |k| std::env::var(k).ok());
    upstash_gateway::log::log(
        upstash_gateway::log::Level::Info,
        "redis url resolved",
        serde_json::json!({"from": redis_url_from}),
    );
    let config = Config {
        listen: args.listen,
        redis_url,
        token: args.token,
        readonly_token: args.readonly_token,
        max_request_bytes: args.max_request_bytes,
    };
    let listener = match tokio::net::TcpListener::bind(&config.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("upstash-gateway: cannot listen on {}: {e}", config.listen);
            return std::process::ExitCode::FAILURE;
        }
    };
    match upstash_gateway::run(listener, config, shutdown::signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("upstash-gateway: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
