//! The library's error type (startup and serving failures; request errors are HTTP replies).

/// Why the gateway could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is unusable (e.g. a malformed Redis URL).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The listener failed.
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
}
