// upstash-redis-rs's own `examples/basic.rs`, with `upstash_redis_rs` renamed to `upstash_rest`:
// crates/upstash/tests/redis_rs_compat.rs writes that copy (from the registry source, never
// committed) and points UPSTASH_COMPAT_BASIC_RS at it before building this example.
include!(env!("UPSTASH_COMPAT_BASIC_RS"));
