//! How far a long loop got. The library reports; the caller shows it: the binary draws a bar on
//! a terminal, [`LogProgress`] writes a structured log line every few seconds.

use std::time::{Duration, Instant};

/// Receives the progress of `produce` or `ingest`.
pub trait Progress: Send {
    /// Called once before the loop: what runs, and how many items, if known.
    fn start(&mut self, _what: &'static str, _total: Option<u64>) {}

    /// `n` more items done; `msg` says the rest (computed only when it is shown).
    fn inc(&mut self, n: u64, msg: &dyn Fn() -> String);

    /// The loop ended.
    fn finish(&mut self) {}
}

/// Progress as a log line every 5 s: `what`, items done and items per second.
#[derive(Debug)]
pub struct LogProgress {
    what: &'static str,
    done: u64,
    started: Instant,
    last_log: Instant,
}

impl Default for LogProgress {
    fn default() -> Self {
        Self {
            what: "",
            done: 0,
            started: Instant::now(),
            last_log: Instant::now(),
        }
    }
}

impl Progress for LogProgress {
    fn start(&mut self, what: &'static str, _total: Option<u64>) {
        *self = Self {
            what,
            ..Self::default()
        };
    }

    fn inc(&mut self, n: u64, msg: &dyn Fn() -> String) {
        self.done += n;
        if self.last_log.elapsed() >= Duration::from_secs(5) {
            self.last_log = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(1e-9);
            tracing::info!(
                what = self.what,
                done = self.done,
                per_sec = (self.done as f64 / secs).round(),
                "{}",
                msg()
            );
        }
    }
}
