//! The command line (clap derive): global flags and the four commands.

use clap::{Args, Parser, Subcommand, ValueEnum};
use symbols_core::Market;

const ENV_HELP: &str = "\
Environment (the same variables as the Worker):
  REDIS_REST_URL | UPSTASH_REDIS_REST_URL | KV_REST_API_URL        Upstash REST URL (first set wins)
  REDIS_REST_TOKEN | UPSTASH_REDIS_REST_TOKEN | KV_REST_API_TOKEN  Upstash REST token
  SPOT_API_BASES, FUTURES_API_BASES, BINANCE_API_KEY               Binance bases (in order) and key
  SPOT_/FUTURES_SYMBOLS_CACHE_TTL_SECONDS, SYMBOLS_MAX_SHRINK_RATIO   cache TTLs (300 s), validation threshold
  UPSTREAM_TIMEOUT_MS, REDIS_TIMEOUT_MS, REFRESH_LOCK_MS           deadlines, lock lifetime

Exit status: 0 ok, 1 the operation failed, 2 bad usage or configuration.";

/// Ops tool for the Binance symbol-list cache: the Worker's service code, run natively.
#[derive(Debug, Parser)]
#[command(name = "symbols", version, about, after_help = ENV_HELP)]
pub struct Cli {
    /// Machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    /// The service's and the Upstash client's JSON log lines on stderr.
    #[arg(long, short, global = true)]
    pub verbose: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Per-market counters, last refresh and outcome; the connection in use; Redis reachability.
    Status,
    /// Refreshes from Binance now (same lock, validation and keys as the Worker's cron).
    Warmup {
        /// Which market(s).
        #[arg(value_enum, default_value_t = Target::All)]
        target: Target,
    },
    /// Serves a list the way the Worker does (cache, else refresh, else last_good) and filters it.
    Get(GetArgs),
    /// Every Redis key of both markets with its TTL and size.
    Keys,
}

/// `warmup` target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Target {
    /// Spot only.
    Spot,
    /// USD-M futures only.
    Futures,
    /// Both, concurrently.
    All,
}

impl Target {
    /// The markets this target covers.
    pub fn markets(self) -> Vec<Market> {
        match self {
            Target::Spot => vec![Market::Spot],
            Target::Futures => vec![Market::Futures],
            Target::All => Market::ALL.to_vec(),
        }
    }
}

/// A market on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MarketArg {
    /// Spot.
    Spot,
    /// USD-M futures.
    Futures,
}

impl From<MarketArg> for Market {
    fn from(m: MarketArg) -> Market {
        match m {
            MarketArg::Spot => Market::Spot,
            MarketArg::Futures => Market::Futures,
        }
    }
}

/// `get` arguments.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The market.
    #[arg(value_enum)]
    pub market: MarketArg,
    /// Only this quote asset (e.g. USDT).
    #[arg(long)]
    pub quote: Option<String>,
    /// Only this status (e.g. TRADING).
    #[arg(long)]
    pub status: Option<String>,
    /// Only this base asset (e.g. BTC).
    #[arg(long)]
    pub base: Option<String>,
    /// One symbol (e.g. BTCUSDT): prints just that record.
    #[arg(long)]
    pub symbol: Option<String>,
}

impl GetArgs {
    /// The filters as the Worker's route parses them (trimmed, upper-cased, empty = unset).
    pub fn filter(&self) -> symbols_core::filter::Filter {
        let norm = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_uppercase)
        };
        symbols_core::filter::Filter {
            status: norm(&self.status),
            quote: norm(&self.quote),
            base: norm(&self.base),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_commands_and_global_flags_anywhere() {
        let cli = Cli::try_parse_from(["symbols", "warmup"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Warmup {
                target: Target::All
            }
        ));
        let cli = Cli::try_parse_from([
            "symbols", "get", "spot", "--quote", " usdt ", "--json", "--base", "",
        ])
        .unwrap();
        assert!(cli.json);
        let Command::Get(args) = cli.command else {
            panic!("get")
        };
        let f = args.filter();
        assert_eq!(f.quote.as_deref(), Some("USDT"));
        assert_eq!(f.base, None);
        assert!(Cli::try_parse_from(["symbols", "get", "margin"]).is_err());
        assert!(Cli::try_parse_from(["symbols", "warmup", "options"]).is_err());
    }
}
