//! wasm32 pieces outside the transport (`transport/wasm.rs` has the HTTP exchange and timers):
//! the default log sink.

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(s: &str);
}

/// Default log sink: `console.log` (shows in `wrangler tail` / Workers logs).
pub(crate) fn default_log(line: &str) {
    console_log(line);
}
