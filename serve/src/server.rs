//! Running the API: bind, load, reload on a timer and on SIGHUP, drain on shutdown.
//!
//! Connections are accepted here rather than by `axum::serve`, which sets no deadline at all:
//! every connection must send a complete request head within `header_timeout` (idle keep-alive
//! connections included), at most `max_connections` are open at once (one more is answered 503
//! and closed), and shutdown waits at most `drain_timeout` for requests in flight.

use std::{
    convert::Infallible,
    future::Future,
    sync::{Arc, LazyLock},
    time::Duration,
};

use axum::body::Body;
use hyper::{body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use prometheus_client::metrics::counter::Counter;
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tower_service::Service;
use train::ModelStore;

use crate::{Api, AppState, LakeView, Limits, Metrics, Registry};

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to bind, `127.0.0.1:9999` by default.
    pub bind: String,
    /// How often the model pointers are polled for new versions.
    pub reload_interval: Duration,
    pub limits: Limits,
    /// Longest wait for a complete request head, from the connection's start or its previous
    /// response; then the connection is closed.
    pub header_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Longest wait for requests in flight at shutdown.
    pub drain_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:9999".into(),
            reload_interval: Duration::from_secs(10),
            limits: Limits::default(),
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr} (is another server using the port? change it with --bind)")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("server error")]
    Io(#[from] std::io::Error),
}

/// The answer to a connection over `max_connections`, written before it is closed (its length
/// counted here, not by hand).
static BUSY: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let body =
        r#"{"error":"too many connections; try again shortly","status":503,"retry_after":1}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
});

/// Loads the models, then serves until `shutdown` resolves; requests in flight get
/// `drain_timeout` to finish. `on_ready` is called with the bound address once the server
/// accepts connections. `lake` is what the console shows of the lake, if anything.
pub async fn run(
    store: ModelStore,
    lake: Option<Arc<LakeView>>,
    options: ServeOptions,
    on_ready: impl FnOnce(std::net::SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let registry = Arc::new(Registry::default());
    let metrics = Arc::new(Metrics::default());
    let report = registry.reload(&store).await;
    log_report(&report, "start", None);
    if registry.snapshot().is_empty() {
        tracing::warn!("no model loaded yet; /ready answers 503 until one is trained");
    }
    let listener = bind(&options.bind).await?;
    let addr = listener.local_addr()?;
    let state = AppState {
        registry: registry.clone(),
        metrics: metrics.clone(),
        limits: options.limits,
        store: store.clone(),
        lake,
    };
    let reloader = tokio::spawn(reload_loop(
        store,
        registry.clone(),
        metrics.clone(),
        options.reload_interval,
    ));
    tracing::info!(%addr, models = registry.snapshot().len(), max_connections = options.max_connections, "listening");
    on_ready(addr);
    accept_loop(
        listener,
        Api::new(state),
        &options,
        metrics.connections_refused.clone(),
        shutdown,
    )
    .await;
    reloader.abort();
    tracing::info!("server stopped");
    Ok(())
}

/// Binds `addr` as the API server does (the same error when it cannot).
pub async fn bind(addr: &str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind {
            addr: addr.to_string(),
            source,
        })
}

/// Serves `router` on `listener` with the same connection limits and deadlines as the API (a
/// metrics endpoint beside a long-running job, say) until `shutdown` resolves.
pub async fn serve_router(
    listener: TcpListener,
    router: axum::Router,
    options: &ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    accept_loop(listener, router, options, Counter::default(), shutdown).await;
}

async fn accept_loop<S>(
    listener: TcpListener,
    service: S,
    options: &ServeOptions,
    refused: Counter,
    shutdown: impl Future<Output = ()> + Send + 'static,
) where
    S: Service<axum::extract::Request, Response = axum::response::Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused.inc();
            tokio::spawn(refuse(stream));
            continue;
        };
        let service = service.clone();
        let per_request = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let mut service = service.clone();
            service.call(request.map(Body::new))
        });
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), per_request));
        tokio::spawn(async move {
            // A client that goes away or times out is not the server's error.
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed");
            }
            drop(slot);
        });
    }
    drop(listener);
    let open = graceful.count();
    tracing::info!(
        connections = open,
        "shutting down: no new connections, draining"
    );
    if tokio::time::timeout(options.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            deadline_s = options.drain_timeout.as_secs_f64(),
            "connections still open at the drain deadline; closing them"
        );
    }
}

/// Answers a connection over the limit with a 503, without reading its request.
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(&BUSY)).await;
    let _ = stream.shutdown().await;
}

/// Logs what a reload did; `metrics` counts it, except the first load at start-up.
fn log_report(report: &crate::ReloadReport, trigger: &str, metrics: Option<&Metrics>) {
    for (name, version) in &report.loaded {
        if let Some(m) = metrics {
            m.reloads.inc();
        }
        tracing::info!(model = %name, version, trigger, "model version loaded");
    }
    for (name, reason) in &report.refused {
        if let Some(m) = metrics {
            m.reload_failures.inc();
        }
        tracing::error!(model = %name, %reason, trigger, "model version refused; the previous one (if any) keeps serving");
    }
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
        let report = registry.reload(&store).await;
        log_report(&report, why, Some(&metrics));
    }
}
