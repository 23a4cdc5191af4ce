//! Retries of lake operations, with exponential backoff, from the consume thread.

use super::*;

/// How failing lake operations are retried, and where the retries are counted.
#[derive(Debug, Clone)]
pub(super) struct Retries {
    pub(super) attempts: u32,
    pub(super) metrics: Arc<IngestMetrics>,
}

/// Runs `op` on the runtime until it succeeds or the attempts are used, backing off exponentially.
pub(super) fn retry<T, F, Fut>(
    handle: &Handle,
    retries: &Retries,
    what: LakeOp,
    mut op: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = lake::Result<T>>,
{
    retry_blocking(retries, what, || handle.block_on(op()))
}

/// Runs the blocking `op` until it succeeds or the attempts are used, backing off exponentially.
pub(super) fn retry_blocking<T>(
    retries: &Retries,
    what: LakeOp,
    mut op: impl FnMut() -> lake::Result<T>,
) -> Result<T> {
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match op() {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= retries.attempts.max(1) => return Err(e.into()),
            Err(e) => {
                retries.metrics.retried(what);
                tracing::warn!(error = %lake::error_chain(&e), attempt, retry_in = ?delay, "{} failed; retrying", what.doing());
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(10));
                attempt += 1;
            }
        }
    }
}
