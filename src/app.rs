//! The per-isolate service: built on first use from vars and secrets, then shared by
//! every request and the cron handler (the original system's singleton client).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use serde_json::json;
use symbols_core::config::Settings;
use symbols_core::log::{Level, Logger};
use symbols_core::service::Service;
use symbols_core::store::UpstashStore;
use upstash_rest::{Client, ClientOptions};
use worker::Env;

use crate::env::lookup;
use crate::fetch::FetchHttp;
use crate::platform::{client_log, log_sink, WorkerClock};

/// The service as the Worker runs it.
pub type App = Service<UpstashStore, FetchHttp, WorkerClock>;

thread_local! {
    // wasm isolates are single-threaded: a thread_local is the isolate's singleton.
    static APP: RefCell<Option<Rc<App>>> = const { RefCell::new(None) };
}

/// Settings were unusable: names every variable, never a value.
#[derive(Debug, Clone)]
pub struct SetupError(pub String);

/// The shared service, built on the first call.
pub fn get(env: &Env) -> Result<Rc<App>, SetupError> {
    if let Some(app) = APP.with(|a| a.borrow().clone()) {
        return Ok(app);
    }
    let app = Rc::new(build(env)?);
    APP.with(|a| *a.borrow_mut() = Some(app.clone()));
    Ok(app)
}

fn build(env: &Env) -> Result<App, SetupError> {
    let log = Logger::new(log_sink);
    let source = |name: &str| lookup(env, name);
    let Settings { config, conn } =
        Settings::resolve(source).map_err(|e| SetupError(e.to_string()))?;
    log.emit(
        Level::Info,
        "startup",
        json!({"redis": conn.describe(), "config": format!("{config:?}")}),
    );
    let opts = ClientOptions {
        timeout: Duration::from_millis(config.redis_timeout_ms),
        log: Some(client_log),
        ..ClientOptions::default()
    };
    let client = Client::new(conn, opts).map_err(|e| SetupError(e.to_string()))?;
    Ok(Service::new(
        UpstashStore::new(client),
        FetchHttp,
        WorkerClock,
        config,
        log,
    ))
}
