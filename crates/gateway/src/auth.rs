//! Bearer-token authentication: the full token, the optional read-only token, constant-time checks.
//!
//! A request authenticates with `Authorization: Bearer <token>` or, failing that, `?_token=<token>`.
//! When no token is configured at all, every request gets full access (the dev stack always sets
//! one; the server logs a warning at startup).

use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

use crate::protocol::query_token;

/// The body of a 401 answer.
pub const UNAUTHORIZED_MESSAGE: &str = "WRONGPASS invalid or missing auth token";

/// What an authenticated request may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any command.
    Full,
    /// Read-only commands only (the read-only token).
    ReadOnly,
}

/// The configured tokens.
#[derive(Clone, Default)]
pub struct Tokens {
    token: Option<Vec<u8>>,
    readonly: Option<Vec<u8>>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the tokens themselves.
        f.debug_struct("Tokens")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("readonly", &self.readonly.as_ref().map(|_| "***"))
            .finish()
    }
}

fn non_empty(token: Option<&str>) -> Option<Vec<u8>> {
    token
        .filter(|t| !t.is_empty())
        .map(|t| t.as_bytes().to_vec())
}

fn matches(expected: Option<&Vec<u8>>, presented: &[u8]) -> bool {
    match expected {
        // ct_eq on slices of different lengths is false without comparing contents; the token
        // length is not a secret worth hiding.
        Some(expected) => bool::from(expected.as_slice().ct_eq(presented)),
        None => false,
    }
}

impl Tokens {
    /// Tokens from configuration; empty strings count as unset.
    pub fn new(token: Option<&str>, readonly: Option<&str>) -> Self {
        Self {
            token: non_empty(token),
            readonly: non_empty(readonly),
        }
    }

    /// Whether any token is required.
    pub fn required(&self) -> bool {
        self.token.is_some()
    }

    /// Checks the request's credentials.
    ///
    /// # Errors
    /// `Err(())` when a token is configured and the request did not present a valid one.
    #[allow(clippy::result_unit_err)]
    pub fn authorize(&self, headers: &HeaderMap, query: Option<&str>) -> Result<Access, ()> {
        if self.token.is_none() {
            return Ok(Access::Full);
        }
        let from_header = headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes())
            .and_then(|v| {
                let v = v.trim_ascii();
                (v.len() > 7 && v[..7].eq_ignore_ascii_case(b"bearer "))
                    .then(|| v[7..].trim_ascii().to_vec())
            });
        let presented = match from_header {
            Some(token) => token,
            None => match query_token(query) {
                Some(token) => token.to_vec(),
                None => return Err(()),
            },
        };
        // Evaluate both comparisons so timing does not reveal which token matched.
        let full = matches(self.token.as_ref(), &presented);
        let readonly = matches(self.readonly.as_ref(), &presented);
        if full {
            Ok(Access::Full)
        } else if readonly {
            Ok(Access::ReadOnly)
        } else {
            Err(())
        }
    }
}

#[cfg(test)]
mod unit {
    use super::*;
    use axum::http::HeaderValue;

    fn bearer(t: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {t}")).expect("header"),
        );
        h
    }

    #[test]
    fn checks_tokens() {
        let tokens = Tokens::new(Some("full"), Some("ro"));
        assert_eq!(tokens.authorize(&bearer("full"), None), Ok(Access::Full));
        assert_eq!(tokens.authorize(&bearer("ro"), None), Ok(Access::ReadOnly));
        assert_eq!(tokens.authorize(&bearer("nope"), None), Err(()));
        assert_eq!(tokens.authorize(&HeaderMap::new(), None), Err(()));
        assert_eq!(
            tokens.authorize(&HeaderMap::new(), Some("_token=full")),
            Ok(Access::Full)
        );
        assert_eq!(
            tokens.authorize(&HeaderMap::new(), Some("_token=")),
            Err(())
        );
        let open = Tokens::new(None, Some(""));
        assert!(!open.required());
        assert_eq!(open.authorize(&HeaderMap::new(), None), Ok(Access::Full));
    }
}
