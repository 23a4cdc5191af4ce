//! Running the API: bind, load, reload on a timer and on SIGHUP, drain on shutdown.

use std::{future::Future, sync::Arc, sync::atomic::Ordering, time::Duration};

use tokio::net::TcpListener;
use train::ModelStore;

use axum::ServiceExt;

use crate::{Api, AppState, Limits, Metrics, Registry};

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind, `127.0.0.1:9999` by default.
    pub bind: String,
    /// How often the model pointers are polled for new versions.
    pub reload_interval: Duration,
    pub limits: Limits,
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot listen on {addr}: {source} (is another server using the port? change it with --bind)"
    )]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot list the models: {0}")]
    Models(#[from] train::Error),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Loads the models, then serves until `shutdown` resolves; in-flight requests finish first.
/// `on_ready` is called with the bound address once the server accepts connections.
pub async fn run(
    store: ModelStore,
    options: ServeOptions,
    on_ready: impl FnOnce(std::net::SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let registry = Arc::new(Registry::default());
    let metrics = Arc::new(Metrics::default());
    let report = registry.reload(&store).await?;
    for (name, version) in &report.loaded {
        tracing::info!(model = %name, version, "model loaded");
    }
    for (name, reason) in &report.refused {
        tracing::error!(model = %name, %reason, "model refused");
    }
    if report.loaded.is_empty() {
        tracing::warn!(
            location = store.location(),
            "no model loaded yet; /ready answers 503 until one is trained"
        );
    }
    let listener = TcpListener::bind(&options.bind)
        .await
        .map_err(|source| ServeError::Bind {
            addr: options.bind.clone(),
            source,
        })?;
    let addr = listener.local_addr()?;
    let state = AppState {
        registry: registry.clone(),
        metrics: metrics.clone(),
        limits: options.limits,
    };
    let reloader = tokio::spawn(reload_loop(
        store,
        registry,
        metrics,
        options.reload_interval,
    ));
    tracing::info!(%addr, models = report.loaded.len(), "listening");
    on_ready(addr);
    let result = axum::serve(listener, Api::new(state).into_make_service())
        .with_graceful_shutdown(shutdown)
        .await;
    reloader.abort();
    tracing::info!("server stopped");
    Ok(result?)
}

async fn reload_loop(
    store: ModelStore,
    registry: Arc<Registry>,
    metrics: Arc<Metrics>,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(100)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        #[cfg(unix)]
        let why = tokio::select! {
            _ = tick.tick() => "poll",
            Some(()) = async { match hup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => "SIGHUP",
        };
        #[cfg(not(unix))]
        let why = {
            tick.tick().await;
            "poll"
        };
        match registry.reload(&store).await {
            Ok(report) => {
                for (name, version) in &report.loaded {
                    metrics.reloads.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(model = %name, version, trigger = why, "model version swapped in");
                }
                for (name, reason) in &report.refused {
                    metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(model = %name, %reason, trigger = why, "new model version refused; the previous one keeps serving");
                }
            }
            Err(e) => {
                metrics.reload_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, trigger = why, "cannot list the models; keeping the loaded ones");
            }
        }
    }
}
