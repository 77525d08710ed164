//! Bare `workerd serve` for a bundle made by `wrangler deploy --dry-run --outdir`: the
//! `config.capnp` that serves it (every var a text binding, outbound network allowed to
//! loopback), a second socket whose tiny Worker fires the main Worker's `scheduled()` (the
//! cron, over a service binding), and optionally an in-memory cache service behind the
//! Cache API, which bare workerd otherwise lacks. Used by the e2e harness
//! (`tests/support`) and, through the `workerd-config` binary, by `scripts/bench.sh`.

use std::io;
use std::path::{Path, PathBuf};

/// The cron socket's Worker (`GET /__scheduled?cron=...`).
pub const CRON_TRIGGER_JS: &str = include_str!("workerd/cron-trigger.js");
/// The in-memory Cache API service ([`Serve::edge_cache`]).
pub const MEMORY_CACHE_JS: &str = include_str!("workerd/memory-cache.js");

/// What to serve and where.
#[derive(Clone, Debug)]
pub struct Serve {
    /// The `wrangler deploy --dry-run --outdir` directory: `index.js` is the entry module;
    /// `.js`/`.mjs`, `.wasm`, `.txt`/`.html` and `.bin` files become modules.
    pub bundle: PathBuf,
    /// Text bindings (vars and secrets alike).
    pub vars: Vec<(String, String)>,
    /// The Worker's socket on 127.0.0.1.
    pub port: u16,
    /// The cron socket on 127.0.0.1.
    pub cron_port: u16,
    /// The Worker's compatibility date.
    pub compatibility_date: String,
    /// Serve `caches.default` from [`MEMORY_CACHE_JS`] (else the Cache API stores nothing).
    pub edge_cache: bool,
}

/// A Cap'n Proto text string literal.
pub fn capnp_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Serve {
    /// Writes `config.capnp` (and the helper Workers' modules) into `dir`, which must
    /// contain the bundle (embed paths are relative to the config), and returns its path.
    ///
    /// # Errors
    /// Reading the bundle or writing the files; a bundle outside `dir`.
    pub fn write_config(&self, dir: &Path) -> io::Result<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.bundle)?
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        // The entry module first: workerd takes the first module as the main one.
        files.sort_by_key(|p| p.file_name().is_none_or(|n| n != "index.js"));
        let mut modules = Vec::new();
        for path in &files {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let kind = match path.extension().and_then(|e| e.to_str()) {
                Some("js" | "mjs") => "esModule",
                Some("wasm") => "wasm",
                Some("txt" | "html") => "text",
                Some("bin") => "data",
                _ => continue, // README.md, source maps
            };
            // Relative to config.capnp (an absolute embed path is looked up in capnp's
            // import path).
            let relative = path.strip_prefix(dir).map_err(|_| {
                io::Error::other(format!(
                    "the bundle {} is not inside {}",
                    path.display(),
                    dir.display()
                ))
            })?;
            modules.push(format!(
                "(name = {}, {kind} = embed {})",
                capnp_str(name),
                capnp_str(&relative.to_string_lossy())
            ));
        }
        std::fs::write(dir.join("cron-trigger.js"), CRON_TRIGGER_JS)?;
        let bindings: Vec<String> = self
            .vars
            .iter()
            .map(|(k, v)| format!("(name = {}, text = {})", capnp_str(k), capnp_str(v)))
            .collect();
        let (cache_service, cache_outbound, cache_worker) = if self.edge_cache {
            std::fs::write(dir.join("memory-cache.js"), MEMORY_CACHE_JS)?;
            (
                "\n    (name = \"cache\", worker = .cacheWorker),",
                "\n  cacheApiOutbound = \"cache\",",
                format!(
                    "const cacheWorker :Workerd.Worker = (\n  modules = [(name = \"memory-cache.js\", esModule = embed {})],\n  compatibilityDate = {},\n);\n",
                    capnp_str("memory-cache.js"),
                    capnp_str(&self.compatibility_date)
                ),
            )
        } else {
            ("", "", String::new())
        };
        let config = format!(
            r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "cron", worker = .cronWorker),{cache_service}
    (name = "internet", network = (allow = ["public", "private", "local"], tlsOptions = (trustBrowserCas = true))),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:{port}", http = (), service = "main"),
    (name = "cron", address = "127.0.0.1:{cron_port}", http = (), service = "cron"),
  ],
);
const worker :Workerd.Worker = (
  modules = [{modules}],
  compatibilityDate = {date},
  bindings = [{bindings}],
  globalOutbound = "internet",{cache_outbound}
);
const cronWorker :Workerd.Worker = (
  modules = [(name = "cron-trigger.js", esModule = embed {cron})],
  compatibilityDate = {date},
  compatibilityFlags = ["service_binding_extra_handlers"],
  bindings = [(name = "WORKER", service = "main")],
);
{cache_worker}"#,
            port = self.port,
            cron_port = self.cron_port,
            modules = modules.join(", "),
            bindings = bindings.join(", "),
            date = capnp_str(&self.compatibility_date),
            cron = capnp_str("cron-trigger.js"),
        );
        let capnp = dir.join("config.capnp");
        std::fs::write(&capnp, config)?;
        Ok(capnp)
    }
}

/// The workerd binary wrangler itself runs (`node_modules/@cloudflare/workerd-<platform>`
/// under `root`), or `WORKERD_BIN`.
pub fn workerd_bin(root: &Path) -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("WORKERD_BIN") {
        return Some(PathBuf::from(bin));
    }
    std::fs::read_dir(root.join("node_modules/@cloudflare"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin/workerd"))
        .find(|p| {
            p.exists()
                && p.parent()
                    .and_then(|d| d.parent())
                    .is_some_and(|d| d.to_string_lossy().contains("workerd-"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_lists_the_entry_module_first_and_binds_every_var() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bundle = dir.path().join("bundle");
        std::fs::create_dir(&bundle).expect("bundle dir");
        for f in [
            "a.wasm",
            "index.js",
            "body.bin",
            "README.md",
            "index.js.map",
        ] {
            std::fs::write(bundle.join(f), "x").expect("write");
        }
        let serve = Serve {
            bundle,
            vars: vec![("TOKEN".into(), "a \"quoted\" \\ value".into())],
            port: 1234,
            cron_port: 1235,
            compatibility_date: "2026-04-01".into(),
            edge_cache: true,
        };
        let text =
            std::fs::read_to_string(serve.write_config(dir.path()).expect("config")).expect("read");
        let index = text.find("\"index.js\"").expect("index.js");
        assert!(index < text.find("\"a.wasm\"").expect("a.wasm"), "{text}");
        assert!(text.contains(r#"(name = "body.bin", data = embed "bundle/body.bin")"#));
        assert!(!text.contains("README") && !text.contains(".map"), "{text}");
        assert!(text.contains(r#"(name = "TOKEN", text = "a \"quoted\" \\ value")"#));
        assert!(text.contains("cacheApiOutbound = \"cache\""), "{text}");
        assert!(dir.path().join("memory-cache.js").exists());
        let plain = Serve {
            edge_cache: false,
            ..serve
        };
        let text =
            std::fs::read_to_string(plain.write_config(dir.path()).expect("config")).expect("read");
        assert!(!text.contains("cacheApiOutbound"), "{text}");
    }

    #[test]
    fn a_bundle_outside_the_config_dir_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let other = tempfile::tempdir().expect("temp dir");
        std::fs::write(other.path().join("index.js"), "x").expect("write");
        let serve = Serve {
            bundle: other.path().to_path_buf(),
            vars: Vec::new(),
            port: 1,
            cron_port: 2,
            compatibility_date: "2026-04-01".into(),
            edge_cache: false,
        };
        let err = serve.write_config(dir.path()).expect_err("outside");
        assert!(err.to_string().contains("not inside"), "{err}");
    }
}
