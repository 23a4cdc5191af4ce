//! Retries of lake operations, with exponential backoff, from the consume thread.

use super::*;

/// Runs `op` on the runtime until it succeeds or `attempts` are used, backing off exponentially.
pub(super) fn retry<T, F, Fut>(handle: &Handle, attempts: u32, what: &str, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = lake::Result<T>>,
{
    retry_blocking(attempts, what, || handle.block_on(op()))
}

/// Runs the blocking `op` until it succeeds or `attempts` are used, backing off exponentially.
pub(super) fn retry_blocking<T>(
    attempts: u32,
    what: &str,
    mut op: impl FnMut() -> lake::Result<T>,
) -> Result<T> {
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match op() {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= attempts.max(1) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %lake::error_chain(&e), attempt, retry_in = ?delay, "{what} failed; retrying");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(10));
                attempt += 1;
            }
        }
    }
}
