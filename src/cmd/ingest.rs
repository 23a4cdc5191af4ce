use anyhow::Context;
use std::sync::{Arc, atomic::AtomicBool};

use ingest::{DecodeOptions, IngestOptions, IngestSummary};
use lake::{Lake, WriteOptions};

use crate::{cli::IngestArgs, signals};

pub(crate) async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let lake = Lake::open(&args.lake.lake)?;
    let options = IngestOptions {
        kafka: args.kafka.options(),
        group_id: args.group,
        batch_rows: args.batch_rows,
        batch_bytes: args.batch_bytes,
        max_latency: args.max_latency,
        commit_files: args.commit_files,
        commit_interval: args.commit_interval,
        exit_at_end: args.exit_at_end,
        decode: DecodeOptions {
            max_message_bytes: args.max_message_bytes,
        },
        write: WriteOptions {
            zstd_level: args.zstd_level,
            ..Default::default()
        },
        storage_attempts: args.storage_attempts,
    };
    let summary = consume(lake, options, signals::stop_flag()).await?;
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
