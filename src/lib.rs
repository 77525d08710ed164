//! The Cloudflare Worker: entry points only. Requests go to [`routes`], the cron to
//! [`routes::scheduled`]; both drive the platform-free `symbols_core::service`.
//!
//! Before either, [`env::redis_setup`] checks that Redis is configured: with no REST URL
//! set, a request to a loopback host (`wrangler dev`) uses the local gateway and says
//! once what is missing; any other request is a 500 naming the variable, and the cron
//! (which has no host to tell dev from production) logs that error and does nothing.
//!
//! # Layout
//! - `app`: the per-isolate service (built on first use from vars and secrets).
//! - `env`: reads vars and secrets from `Env`; the missing-REST-URL decision.
//! - `platform`: the clock and log sink of workerd; `fetch`: the Binance calls over `fetch`.
//! - `routes`: HTTP <-> service; `error`: the one place errors become responses.
//! - `tiers`: where a list comes from, nearest first: the isolate's copy, the edge copy
//!   (Workers Cache API), then the service; and the ccxt markets' and full records' copies.
//! - `trace`: what one request did (the tier that answered, round trips) and its log line.

mod app;
mod env;
mod error;
mod fetch;
mod platform;
mod routes;
mod tiers;
mod trace;

use serde_json::json;
use symbols_core::log::Level;
use worker::{event, Context, Env, Request, Result, ScheduleContext, ScheduledEvent};

use crate::env::RedisSetup;

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<web_sys::Response> {
    let host = req
        .url()
        .ok()
        .and_then(|u| u.host_str().map(str::to_string));
    match env::redis_setup_cached(&env, host.as_deref()) {
        RedisSetup::Configured => {}
        RedisSetup::LocalDefault(notice) => {
            if env::note_local_default(notice) {
                platform::log(
                    Level::Warn,
                    "redis_not_configured",
                    json!({"missing": notice.missing(), "url": upstash_rest::DEFAULT_URL, "hint": notice.to_string()}),
                );
            }
        }
        RedisSetup::Missing(e) => {
            if env::first_config_error() {
                platform::log(
                    Level::Error,
                    "config_error",
                    json!({"error": e.to_string()}),
                );
            }
            return platform::error_response(&error::AppError::Setup(e.to_string()))
                .map(Into::into);
        }
    }
    routes::handle(req, &env, &ctx).await
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, ctx: ScheduleContext) {
    if let RedisSetup::Missing(e) = env::redis_setup_cached(&env, None) {
        platform::log(
            Level::Error,
            "cron_setup_failed",
            json!({"cron": event.cron(), "error": e.to_string()}),
        );
        return;
    }
    routes::scheduled(&event.cron(), &env, &ctx).await;
}
