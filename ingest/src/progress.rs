//! Progress for people (a bar on a terminal) and for logs (a structured line every few seconds).

use std::{
    io::IsTerminal,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Reports progress of a long loop.
pub(crate) struct Progress {
    bar: ProgressBar,
    what: &'static str,
    started: Instant,
    last_log: Instant,
    log_every: Duration,
}

impl Progress {
    /// A bar when stderr is a terminal and `enabled`; periodic log lines otherwise.
    pub(crate) fn new(enabled: bool, total: Option<u64>, what: &'static str) -> Self {
        let tty = enabled && std::io::stderr().is_terminal();
        let bar = match total {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        let template = if total.is_some() {
            "{spinner} {prefix} [{bar:30}] {human_pos}/{human_len} ({per_sec}, eta {eta}) {msg}"
        } else {
            "{spinner} {prefix} {human_pos} ({per_sec}) {msg}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(what);
        bar.set_draw_target(if tty {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        if tty {
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        Self {
            bar,
            what,
            started: Instant::now(),
            last_log: Instant::now(),
            log_every: Duration::from_secs(5),
        }
    }

    /// Adds `n` to the count and sets the trailing message.
    pub(crate) fn inc(&mut self, n: u64, msg: impl FnOnce() -> String) {
        self.bar.inc(n);
        if self.last_log.elapsed() >= self.log_every {
            self.last_log = Instant::now();
            let msg = msg();
            if self.bar.is_hidden() {
                let secs = self.started.elapsed().as_secs_f64().max(1e-9);
                tracing::info!(
                    what = self.what,
                    done = self.bar.position(),
                    per_sec = (self.bar.position() as f64 / secs).round(),
                    "{msg}"
                );
            }
            self.bar.set_message(msg);
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
