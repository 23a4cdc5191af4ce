//! Progress for people: a bar when stderr is a terminal, the library's periodic log lines
//! otherwise.

use std::{
    io::IsTerminal,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ingest::{LogProgress, Progress};

/// The progress a command shows: a bar on a terminal, log lines elsewhere.
pub(crate) fn shown() -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(Bar::default())
    } else {
        Box::new(LogProgress::default())
    }
}

/// A bar on stderr, its trailing message refreshed every half second.
#[derive(Default)]
struct Bar {
    bar: Option<ProgressBar>,
    last_msg: Option<Instant>,
}

impl Progress for Bar {
    fn start(&mut self, what: &'static str, total: Option<u64>) {
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
        bar.set_draw_target(ProgressDrawTarget::stderr());
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    fn inc(&mut self, n: u64, msg: &dyn Fn() -> String) {
        let Some(bar) = &self.bar else { return };
        bar.inc(n);
        if self
            .last_msg
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(500))
        {
            self.last_msg = Some(Instant::now());
            bar.set_message(msg());
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
