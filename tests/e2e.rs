//! End-to-end tests: the built wasm Worker in workerd (`wrangler dev`), a real
//! redis-server behind the Upstash-compatible gateway, and the fake exchange.
//! Every test starts its own stack through `support::Stack` on free ports.

mod support;

// The foundation: the Worker answers through workerd, the cron handler fires.
mod foundation;
// The symbols service: keys, TTLs, counters, hit/miss, filters, single symbols.
mod service;
// Upstream and Redis failures: last_good, STALE, BYPASS, 503, back-off, validation.
mod failures;
// Single flight, admin refresh, request limits, CORS, secrets.
mod reliability;
// The cold stampede at the machine's fd limit, under bare workerd (and wrangler dev, ignored).
mod stampede;
// The fault matrix: every failure, one row each, with the data-loss count.
mod matrix;
// Prometheus, OpenAPI + schemathesis, the status page in Chromium, deploy dry run.
mod operations;
// `npx wrangler dev` from the committed wrangler.toml, as README tells a user; setup without apt-get.
mod wrangler_dev;
// `?format=ccxt` against the real ccxt from PyPI: parse_market field by field, set_markets.
mod ccxt;
// Full records: every rule on single-symbol lookups, `?fields=` lists, their fallbacks.
mod rules;
// The changes feed: events between two refreshes, paging, `since`, trimming, the webhook.
mod changes;
// One Redis with the original Python system (tests/tools/original.py): each reads the other's writes.
mod side_by_side;
