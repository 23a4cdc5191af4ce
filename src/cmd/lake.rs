//! `reviewlake lake ...`: inspect and maintain the lake's tables.

use lake::{Lake, Snapshot};
use serde_json::json;

use crate::cli::{
    CompactArgs, FilesArgs, HistoryArgs, MigrateArgs, OutputFormat, StatsArgs, VacuumArgs,
};

pub(crate) async fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let lake = Lake::open_existing(&args.lake.lake)?;
    let snapshot = Snapshot::load_at(&lake, args.at.version()).await?;
    let summary = lake::summary(&snapshot).await?;
    match args.format {
        OutputFormat::Json => {
            let mut doc = serde_json::to_value(&summary)?;
            doc["lake"] = json!(lake.redacted_url());
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        OutputFormat::Table => {
            let version = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
            println!(
                "lake: {} (reviews version {}, rejected version {})",
                lake.redacted_url(),
                version(summary.reviews_version),
                version(summary.rejected_version)
            );
            let line = |cells: [&str; 7]| {
                println!(
                    "{:<24} {:>9} {:>7} {:>10} {:>12} {:>21} {:>9}",
                    cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6]
                );
            };
            line([
                "topic",
                "partition",
                "files",
                "rows",
                "bytes",
                "offsets",
                "rejected",
            ]);
            for p in &summary.partitions {
                let offsets = match (p.first_offset, p.last_offset) {
                    (Some(a), Some(b)) => format!("{a}..={b}"),
                    (None, Some(b)) => format!("..={b}"),
                    _ => "-".into(),
                };
                line([
                    &p.topic,
                    &p.partition.to_string(),
                    &p.files.to_string(),
                    &p.rows.to_string(),
                    &p.bytes.to_string(),
                    &offsets,
                    &p.rejected.to_string(),
                ]);
            }
            let t = &summary.total;
            line([
                "total",
                "",
                &t.files.to_string(),
                &t.rows.to_string(),
                &t.bytes.to_string(),
                "",
                &t.rejected.to_string(),
            ]);
        }
    }
    Ok(())
}

pub(crate) async fn compact(args: CompactArgs) -> anyhow::Result<()> {
    let lake = Lake::open_existing(&args.lake.lake)?;
    let options = lake::CompactOptions {
        target_rows: args.target_rows.max(1),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let summary = lake::compact(&lake, &options, |s| {
        tracing::info!(
            merged_files = s.inputs,
            written = s.outputs,
            rows = s.rows,
            "compacting"
        );
    })
    .await?;
    // The figures a log collector keeps, as ingest's metrics name them.
    tracing::info!(
        merged_files = summary.inputs,
        files = summary.outputs,
        rows = summary.rows,
        commits = summary.commits,
        bytes_before = summary.bytes_before,
        bytes = summary.bytes_after,
        seconds = started.elapsed().as_secs_f64(),
        "compaction done"
    );
    println!(
        "merged {} files into {} ({} rows, {} -> {} bytes) in {} commits, in {:.2} s",
        summary.inputs,
        summary.outputs,
        summary.rows,
        summary.bytes_before,
        summary.bytes_after,
        summary.commits,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub(crate) async fn vacuum(args: VacuumArgs) -> anyhow::Result<()> {
    let lake = Lake::open_existing(&args.lake.lake)?;
    let options = lake::VacuumOptions {
        retain: args.retain,
        dry_run: args.dry_run,
    };
    let summary = lake::vacuum(&lake, &options).await?;
    for f in &summary.files {
        println!("{f}");
    }
    println!(
        "{} {} files no snapshot within {:?} needs",
        if args.dry_run {
            "would delete"
        } else {
            "deleted"
        },
        summary.files.len(),
        args.retain
    );
    Ok(())
}

pub(crate) async fn history(args: HistoryArgs) -> anyhow::Result<()> {
    let lake = Lake::open_existing(&args.lake.lake)?;
    let commits = lake::history(&lake, args.table.table(), args.limit).await?;
    let time = |ms: Option<i64>| {
        ms.and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
    };
    match args.format {
        OutputFormat::Json => {
            let doc: Vec<_> = commits
                .iter()
                .map(|c| {
                    json!({
                        "version": c.version,
                        "time": time(c.timestamp_ms),
                        "operation": c.operation,
                        "files_added": c.files_added,
                        "rows_added": c.rows_added,
                        "files_removed": c.files_removed,
                        "rows_removed": c.rows_removed,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        OutputFormat::Table => {
            let n = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
            println!(
                "{:>8} {:<23} {:<18} {:>11} {:>10} {:>13} {:>12}",
                "version",
                "time (UTC)",
                "operation",
                "files added",
                "rows added",
                "files removed",
                "rows removed"
            );
            for c in &commits {
                println!(
                    "{:>8} {:<23} {:<18} {:>11} {:>10} {:>13} {:>12}",
                    c.version,
                    time(c.timestamp_ms).unwrap_or_default(),
                    c.operation,
                    n(c.files_added),
                    n(c.rows_added),
                    n(c.files_removed),
                    n(c.rows_removed),
                );
            }
        }
    }
    Ok(())
}

pub(crate) async fn files(args: FilesArgs) -> anyhow::Result<()> {
    let lake = Lake::open_existing(&args.lake.lake)?;
    let snapshot = Snapshot::load_at(&lake, args.at.version()).await?;
    let base = lake.url().as_str().trim_end_matches('/');
    let local = lake.url().to_file_path().ok();
    for f in snapshot.files(args.table.table()) {
        let key = f.key.path()?;
        match &local {
            Some(dir) => println!("{}", dir.join(key.as_ref()).display()),
            None => println!("{base}/{key}"),
        }
    }
    Ok(())
}

pub(crate) async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let lake = Lake::open_existing(&args.lake.lake)?;
    let summary = lake::migrate(&lake).await?;
    println!(
        "committed {} reviews files ({} rows) and {} rejected files ({} records) of {} partitions; {} files were hidden under the old layout and were left out (`lake vacuum` deletes them)",
        summary.reviews_files,
        summary.reviews_rows,
        summary.rejected_files,
        summary.rejected_rows,
        summary.partitions,
        summary.left_out
    );
    Ok(())
}
