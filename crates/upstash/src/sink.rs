//! The default log sink ([`crate::ClientOptions::log`]): one line on stderr natively,
//! `console.log` on wasm32 (it shows in `wrangler tail` / Workers logs). A leaf module, so the
//! options do not import the native client code that uses them.

/// Default log sink: one line on stderr.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn default_log(line: &str) {
    eprintln!("{line}");
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(s: &str);
}

/// Default log sink: `console.log` (shows in `wrangler tail` / Workers logs).
#[cfg(target_arch = "wasm32")]
pub(crate) fn default_log(line: &str) {
    console_log(line);
}
