//! One module per command; each renders a table, or JSON with `--json`, on stdout.

pub mod get;
pub mod keys;
pub mod status;
pub mod warmup;
