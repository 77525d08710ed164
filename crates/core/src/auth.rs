//! Secret comparison that does not leak, through timing, how much of a guess was right.

use subtle::ConstantTimeEq;

/// Compares in time that depends only on the lengths, not on where bytes differ
/// (`subtle`, as the gateway does); an empty secret never matches.
pub fn constant_time_eq(given: &[u8], expected: &[u8]) -> bool {
    !expected.is_empty() && bool::from(given.ct_eq(expected))
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abd", b"abc"));
        assert!(!constant_time_eq(b"ab", b"abc"));
        assert!(!constant_time_eq(b"abcd", b"abc"));
        assert!(!constant_time_eq(b"", b""));
    }
}
