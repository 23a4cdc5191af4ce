use anyhow::Context;
use std::sync::{Arc, atomic::AtomicBool};

use axum::{Json, Router, http::header, response::IntoResponse, routing::get};
use ingest::{DecodeOptions, IngestMetrics, IngestOptions, IngestSummary};
use lake::{Lake, WriteOptions};
use tokio::net::TcpListener;

use crate::{cli::IngestArgs, signals};

pub(crate) async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let lake = Lake::open(&args.lake.lake)?;
    let metrics = Arc::new(IngestMetrics::default());
    let options = IngestOptions {
        kafka: args.kafka.options(),
        group_id: args.group,
        batch_rows: args.batch_rows,
        batch_bytes: args.batch_bytes,
        max_latency: args.max_latency,
        commit_files: args.commit_files,
        commit_interval: args.commit_interval,
        writes_in_flight: args.writes_in_flight,
        exit_at_end: args.exit_at_end,
        decode: DecodeOptions {
            max_message_bytes: args.max_message_bytes,
        },
        write: WriteOptions {
            zstd_level: args.zstd_level,
            ..Default::default()
        },
        storage_attempts: args.storage_attempts,
        metrics: metrics.clone(),
    };
    // The metrics server stops when ingest does (the sender is dropped).
    let (done, ended) = tokio::sync::oneshot::channel::<()>();
    let server = match &args.metrics_bind {
        Some(bind) => {
            let listener = serve::server::bind(bind).await?;
            tracing::info!(addr = %listener.local_addr()?, "ingest metrics on /metrics, status on /status");
            Some(tokio::spawn(serve_metrics(
                listener,
                metrics.clone(),
                ended,
            )))
        }
        None => None,
    };
    let summary = consume(lake, options, signals::stop_flag()).await;
    drop(done);
    if let Some(server) = server {
        server.await.context("metrics server panicked")?;
    }
    let summary = summary?;
    println!(
        "ingested {} rows and {} rejected records in {} batches, {} commits ({} bytes) in {:.2} s ({:.0} records/s)",
        summary.rows,
        summary.rejected,
        summary.files,
        summary.commits,
        summary.bytes,
        summary.elapsed.as_secs_f64(),
        summary.records_per_sec()
    );
    Ok(())
}

/// Serves `/metrics` (Prometheus) and `/status` (the same figures per partition, as JSON) until
/// `ended` resolves (ingest has returned), with the API server's connection limits and deadlines.
async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<IngestMetrics>,
    ended: tokio::sync::oneshot::Receiver<()>,
) {
    let (text, status) = (metrics.clone(), metrics);
    let router = Router::new()
        .route(
            "/metrics",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, serve::METRICS_CONTENT_TYPE)],
                    text.render(),
                )
                    .into_response()
            }),
        )
        .route(
            "/status",
            get(move || async move { Json(status.snapshot()) }),
        );
    serve::server::serve_router(
        listener,
        router,
        &serve::server::ServeOptions::default(),
        async move {
            let _ = ended.await;
        },
    )
    .await;
}

/// Runs the ingest loop on a blocking thread until `stop` (or the end, with `exit_at_end`).
pub(crate) async fn consume(
    lake: Lake,
    options: IngestOptions,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<IngestSummary> {
    let handle = tokio::runtime::Handle::current();
    Ok(tokio::task::spawn_blocking(move || {
        ingest::ingest(
            lake,
            &options,
            handle,
            &stop,
            &mut *crate::progress::shown(),
        )
    })
    .await
    .context("ingest thread panicked")??)
}
