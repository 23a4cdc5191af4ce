//! SIGINT and SIGTERM ask long commands to stop cleanly; a second signal exits at once.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

/// A flag set on the first SIGINT or SIGTERM.
pub(crate) fn stop_flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    tokio::spawn(async move {
        let mut count = 0;
        loop {
            wait_for_signal().await;
            count += 1;
            if count > 1 {
                eprintln!("second signal: exiting without cleanup");
                std::process::exit(130);
            }
            tracing::info!("stop requested: finishing the current work (signal again to abort)");
            flag.store(true, Ordering::Relaxed);
        }
    });
    stop
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Resolves on the first SIGINT or SIGTERM, for servers that drain and exit.
pub(crate) async fn shutdown() {
    wait_for_signal().await;
    tracing::info!("shutdown requested: draining in-flight requests");
}
