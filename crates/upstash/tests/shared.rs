//! The two process-wide clients (`upstash_rest::Client::shared`, `blocking::Client::shared`):
//! resolved once from the environment, the same instance on every call. Its own test binary:
//! it sets process environment variables, which no other test may see.

#[path = "support/stack.rs"]
mod stack;

#[test]
fn both_shared_clients_resolve_once_from_the_environment() {
    let stack = stack::Stack::start();
    std::env::set_var("REDIS_REST_URL", &stack.url);
    std::env::set_var("REDIS_REST_TOKEN", stack::TOKEN);

    let sync = upstash_rest::blocking::Client::shared().expect("blocking shared client");
    assert_eq!(sync.url(), stack.url);
    assert!(sync.write_json("shared:k", &"from sync", Some(60)));

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let value: Option<String> = rt.block_on(async {
        let client = upstash_rest::Client::shared().expect("async shared client");
        client.read_json("shared:k").await
    });
    assert_eq!(value.as_deref(), Some("from sync"));

    // Resolved once: later changes to the environment are not seen, and every call gives the
    // same client (they share one read-your-writes token).
    std::env::set_var("REDIS_REST_URL", "not a url");
    let again = upstash_rest::blocking::Client::shared().expect("still the first client");
    again.set_sync_token(Some("12345"));
    assert_eq!(sync.sync_token().as_deref(), Some("12345"));
    let a = upstash_rest::Client::shared().expect("async again");
    let b = upstash_rest::Client::shared().expect("async again");
    a.set_sync_token(Some("777"));
    assert_eq!(b.sync_token().as_deref(), Some("777"));
    assert_eq!(a.url(), stack.url);
}
