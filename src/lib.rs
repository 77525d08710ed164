//! The Cloudflare Worker: entry points only. Requests go to [`routes`], the cron to
//! [`routes::scheduled`]; both drive the platform-free `symbols_core::service`.
//!
//! # Layout
//! - `app`: the per-isolate service (built on first use from vars and secrets).
//! - `env`: reads vars and secrets from `Env`.
//! - `platform`: the clock and log sink of workerd.
//! - `routes`: HTTP <-> service; `error`: the one place errors become responses.
//! - `edge_cache`: the Workers Cache API in front of Redis.

mod app;
mod edge_cache;
mod env;
mod error;
mod platform;
mod routes;

use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};

#[event(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    routes::handle(req, &env, &ctx).await
}

#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    routes::scheduled(&event.cron(), &env).await;
}
