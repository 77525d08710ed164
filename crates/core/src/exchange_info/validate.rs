//! The checks a processed list passes before anything is written: not empty, and not
//! shrunk past the configured share of last_good.

use super::ProcessError;

/// Validates a processed list before anything is written: not empty, and it keeps at
/// least `1 - max_loss` of last_good's count (`max_loss` in 0..=1).
///
/// # Errors
/// [`ProcessError::Empty`] or [`ProcessError::Shrunk`].
pub fn validate(new: usize, previous: Option<usize>, max_loss: f64) -> Result<(), ProcessError> {
    if new == 0 {
        return Err(ProcessError::Empty);
    }
    validate_shrink(new, previous, max_loss)
}

/// The shrink check of [`validate`] alone (a part of a list, such as its USDT symbols,
/// may be empty when it was empty before).
///
/// # Errors
/// [`ProcessError::Shrunk`].
pub fn validate_shrink(
    new: usize,
    previous: Option<usize>,
    max_loss: f64,
) -> Result<(), ProcessError> {
    if let Some(previous) = previous {
        let min_keep = (previous as f64) * (1.0 - max_loss);
        if (new as f64) < min_keep {
            return Err(ProcessError::Shrunk {
                previous,
                new,
                max_loss_pct: (max_loss * 100.0).round() as u32,
            });
        }
    }
    Ok(())
}
