//! workerd's clock and log sink (the only wasm-specific pieces the service needs).

use std::time::Duration;

use symbols_core::log::Level;
use symbols_core::ports::Clock;

/// `Date.now()`, `setTimeout` and `Math.random()`.
#[derive(Clone, Copy, Default)]
pub struct WorkerClock;

impl Clock for WorkerClock {
    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }

    async fn sleep(&self, ms: u64) {
        worker::Delay::from(Duration::from_millis(ms)).await;
    }

    fn nonce(&self) -> String {
        // Two draws: 106 random bits, plenty for a lock owner id.
        let a = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
        let b = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
        format!("{a:x}{b:x}")
    }
}

/// One JSON line to `console.log` / `console.error` (Workers Logs keeps them).
pub fn log_sink(level: Level, line: &str) {
    match level {
        Level::Error => worker::console_error!("{line}"),
        Level::Warn => worker::console_warn!("{line}"),
        Level::Info => worker::console_log!("{line}"),
    }
}

/// For the Upstash client's own warnings.
pub fn client_log(line: &str) {
    worker::console_log!("{line}");
}

/// The size of this isolate's wasm linear memory, for `/metrics` (it only grows: a steady
/// value under load means the Worker does not leak).
pub fn wasm_memory_bytes() -> Option<u64> {
    #[cfg(target_arch = "wasm32")]
    {
        Some(core::arch::wasm32::memory_size::<0>() as u64 * 65_536)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// One structured line outside a request's own log (setup notices and errors).
pub fn log(level: Level, event: &str, fields: serde_json::Value) {
    symbols_core::log::Logger::new(log_sink).emit(level, event, fields);
}

/// An error answered before the service exists (no CORS configuration to apply yet).
pub fn error_response(e: &crate::error::AppError) -> worker::Result<worker::Response> {
    let (status, extra, body) = e.parts();
    let headers = worker::Headers::new();
    headers.set("Content-Type", "application/json; charset=utf-8")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    for (k, v) in &extra {
        headers.set(k, v)?;
    }
    Ok(worker::Response::from_bytes(body.to_string().into_bytes())?
        .with_status(status)
        .with_headers(headers))
}
