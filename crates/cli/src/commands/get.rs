//! `symbols get <market> [--quote Q] [--status S] [--base B] [--symbol X]`: serves the list
//! through `Service::list` exactly as the Worker's route does (cache, else a single-flight
//! refresh, else last_good; Redis down: Binance directly), then filters it with the
//! route's `Filter`. Provenance (the `X-Cache` value) goes to stderr. Unlike the Worker it
//! does not bump the hit/miss counters: an operator's look is not bot traffic.

use symbols_core::ports::StoreError;
use symbols_core::service::{CacheStatus, Served};
use symbols_core::symbols::Symbol;
use symbols_core::time::parse_rfc3339;
use symbols_core::Market;

use crate::app::App;
use crate::cli::GetArgs;
use crate::error::{auth_hint, store_error, CliError};
use crate::output::{age, or_dash, print_stdout, table};
use crate::progress::drive;

/// Runs the command.
///
/// # Errors
/// Nothing to serve, a refusing Redis (wrong token), corrupt stored data, or `--symbol`
/// not in the (filtered) list.
pub async fn run(app: &App, args: &GetArgs) -> Result<(), CliError> {
    let market = Market::from(args.market);
    let served = drive(&app.board, app.service.list(market, None)).await;
    let served = match served {
        Ok(s) => s,
        Err(u) => {
            // Say why Redis was not used when that is part of the story.
            let redis = app
                .service
                .ping()
                .await
                .err()
                .map(|e| format!("; redis: {e}{}", auth_hint(&e.to_string(), &app.conn)));
            return Err(CliError::failed(format!(
                "{u}{}",
                redis.unwrap_or_default()
            )));
        }
    };
    if served.status == CacheStatus::Bypass {
        // The service bypasses Redis on any store error; a refusing Redis is a
        // misconfiguration an operator must hear about, not a degraded answer.
        match app.service.ping().await {
            Err(e @ StoreError::Refused(_)) => {
                return Err(store_error("cannot use Redis", &e, &app.conn))
            }
            Err(e) => eprintln!("warning: {e}; answered from Binance directly, nothing stored"),
            Ok(()) => {}
        }
    }
    let filter = args.filter();
    let doc = served
        .list
        .parse()
        .map_err(|e| CliError::failed(format!("the stored {market} list is corrupt: {e}")))?;
    let total = doc.symbols.len();
    let kept: Vec<&Symbol> = doc.symbols.iter().filter(|s| filter.matches(s)).collect();
    provenance(app, &served, kept.len(), total);
    if let Some(wanted) = &args.symbol {
        let found = served
            .list
            .find(wanted)
            .map_err(|e| CliError::failed(format!("the stored {market} list is corrupt: {e}")))?
            .filter(|s| filter.matches(s));
        let Some(sym) = found else {
            let with = if filter.is_empty() {
                String::new()
            } else {
                " matching the filters".into()
            };
            return Err(CliError::failed(format!(
                "no symbol {wanted:?}{with} in the {market} list ({total} symbols)"
            )));
        };
        if app.json {
            // Field order as the Worker's single-symbol route sends it.
            let mut text = serde_json::to_string_pretty(&sym).unwrap_or_default();
            text.push('\n');
            print_stdout(&text);
        } else {
            print_stdout(&table(&HEADER, &[row(&sym)]));
        }
        return Ok(());
    }
    if app.json {
        let body = served
            .list
            .filtered_body(served.source, &filter)
            .map_err(|e| CliError::failed(format!("the stored {market} list is corrupt: {e}")))?;
        let mut text = String::from_utf8_lossy(&body).into_owned();
        text.push('\n');
        print_stdout(&text);
    } else {
        let rows: Vec<Vec<String>> = kept.iter().map(|s| row(s)).collect();
        print_stdout(&table(&HEADER, &rows));
    }
    Ok(())
}

const HEADER: [&str; 8] = [
    "symbol",
    "status",
    "base",
    "quote",
    "tickSize",
    "stepSize",
    "minQty",
    "minNotional",
];

fn row(s: &Symbol) -> Vec<String> {
    vec![
        s.symbol.clone(),
        s.status.clone(),
        s.base_asset.clone(),
        s.quote_asset.clone(),
        or_dash(s.tick_size.as_ref()),
        or_dash(s.step_size.as_ref()),
        or_dash(s.min_qty.as_ref()),
        or_dash(s.min_notional.as_ref()),
    ]
}

/// `X-Cache: HIT · source cache · 412 of 2292 symbols · fetched … (3 min ago) from … · version …`
fn provenance(app: &App, served: &Served, kept: usize, total: usize) {
    let h = served.list.header();
    let now_s = (app.service.clock_now_ms() / 1000) as i64;
    let fetched_ago = parse_rfc3339(&h.fetched_at)
        .map(|ms| format!(" ({} ago)", age(now_s - (ms / 1000) as i64)))
        .unwrap_or_default();
    eprintln!(
        "X-Cache: {} · source {} · {kept} of {total} symbols · fetched {}{fetched_ago} from {} · version {}",
        served.status.as_str(),
        served.source.as_str(),
        h.fetched_at,
        h.upstream,
        h.version
    );
}
