use lake::{Lake, Snapshot, Table};
use serde_json::json;

use crate::cli::{CompactArgs, OutputFormat, StatsArgs};

/// Footers read at once.
const CONCURRENCY: usize = 32;

pub(crate) async fn stats(args: StatsArgs) -> anyhow::Result<()> {
    let lake = Lake::open(&args.lake.lake)?;
    let snapshot = Snapshot::load(&lake).await?;
    let reviews = snapshot
        .file_infos(&lake, Table::Reviews, CONCURRENCY)
        .await?;
    let rejected = snapshot
        .file_infos(&lake, Table::Rejected, CONCURRENCY)
        .await?;
    let mut rows = Vec::new();
    for p in snapshot.partitions() {
        let mine = |infos: &[lake::FileInfo]| {
            infos
                .iter()
                .filter(|f| f.key.topic == p.topic && f.key.partition == p.partition)
                .fold((0u64, 0i64, 0u64), |(n, r, b), f| {
                    (n + 1, r + f.rows, b + f.size)
                })
        };
        let (files, review_rows, bytes) = mine(&reviews);
        let (rejected_files, rejected_rows, rejected_bytes) = mine(&rejected);
        let visible = p.visible(Table::Reviews);
        rows.push(json!({
            "topic": p.topic,
            "partition": p.partition,
            "files": files,
            "rows": review_rows,
            "bytes": bytes,
            "first_offset": visible.first().map(|f| f.key.first_offset),
            "last_offset": p.last_committed(),
            "rejected_files": rejected_files,
            "rejected": rejected_rows,
            "rejected_bytes": rejected_bytes,
            "hidden_files": p.hidden().len(),
        }));
    }
    let total = |k: &str| rows.iter().map(|r| r[k].as_i64().unwrap_or(0)).sum::<i64>();
    let totals = json!({
        "files": total("files"),
        "rows": total("rows"),
        "bytes": total("bytes"),
        "rejected_files": total("rejected_files"),
        "rejected": total("rejected"),
        "hidden_files": total("hidden_files"),
    });
    match args.format {
        OutputFormat::Json => {
            let doc = json!({ "lake": lake.url().as_str(), "partitions": rows, "total": totals });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        OutputFormat::Table => {
            println!("lake: {}", lake.url());
            println!(
                "{:<24} {:>9} {:>7} {:>10} {:>12} {:>21} {:>9} {:>7}",
                "topic", "partition", "files", "rows", "bytes", "offsets", "rejected", "hidden"
            );
            for r in &rows {
                let offsets = match (r["first_offset"].as_i64(), r["last_offset"].as_i64()) {
                    (Some(a), Some(b)) => format!("{a}..={b}"),
                    _ => "-".into(),
                };
                println!(
                    "{:<24} {:>9} {:>7} {:>10} {:>12} {:>21} {:>9} {:>7}",
                    r["topic"].as_str().unwrap_or(""),
                    r["partition"].to_string(),
                    r["files"].to_string(),
                    r["rows"].to_string(),
                    r["bytes"].to_string(),
                    offsets,
                    r["rejected"].to_string(),
                    r["hidden_files"].to_string(),
                );
            }
            println!(
                "{:<24} {:>9} {:>7} {:>10} {:>12} {:>21} {:>9} {:>7}",
                "total",
                "",
                totals["files"].to_string(),
                totals["rows"].to_string(),
                totals["bytes"].to_string(),
                "",
                totals["rejected"].to_string(),
                totals["hidden_files"].to_string()
            );
        }
    }
    Ok(())
}

pub(crate) async fn compact(args: CompactArgs) -> anyhow::Result<()> {
    let lake = Lake::open(&args.lake.lake)?;
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
    println!(
        "merged {} files into {} ({} rows, {} -> {} bytes), removed {} hidden leftovers, in {:.2} s",
        summary.inputs,
        summary.outputs,
        summary.rows,
        summary.bytes_before,
        summary.bytes_after,
        summary.leftovers_deleted,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
