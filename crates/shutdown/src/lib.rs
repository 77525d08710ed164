//! The shutdown signal of the native servers (`upstash-gateway`, `fake-exchange`): a future
//! that completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM, for axum's graceful shutdown.
#![deny(missing_docs)]

/// Completes on the first SIGINT or SIGTERM. A signal handler that cannot be installed
/// leaves that signal out (the future then waits for the other one).
pub async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
