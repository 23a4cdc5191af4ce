use lake::{Lake, Query, Workload};
use serde_json::json;
use train::{cohort_features, cohort_stats};

use crate::{cli::CohortsArgs, output};

pub(crate) async fn run(args: CohortsArgs) -> anyhow::Result<()> {
    let lake = Lake::open_existing(&args.lake.lake)?;
    let files = args.sql_dir.files();
    let query = Query::open_at(&lake, &files, Workload::Cohorts, args.at.version()).await?;
    if let Some(name) = &args.dump {
        let cohort = files.cohort(name)?;
        let batches = cohort_features(&query, &cohort, args.cohort_rows).await?;
        let schema = batches
            .first()
            .map(|b| b.schema())
            .unwrap_or_else(|| std::sync::Arc::new(arrow::datatypes::Schema::empty()));
        let stdout = std::io::stdout();
        output::write(&mut stdout.lock(), args.format, &schema, &batches)?;
        return Ok(());
    }
    // The cohorts run side by side: each ends in a single-threaded window over the whole stream.
    let cohorts = files.cohorts()?;
    let stats = futures::future::try_join_all(
        cohorts
            .iter()
            .map(|cohort| cohort_stats(&query, cohort, args.cohort_rows)),
    )
    .await?;
    let all: Vec<_> = stats
        .into_iter()
        .zip(cohorts.iter().map(|c| c.origin()))
        .collect();
    if matches!(
        args.format,
        output::ResultFormat::Json | output::ResultFormat::Ndjson
    ) {
        let doc: Vec<_> = all
            .iter()
            .map(|(s, origin)| {
                let features: serde_json::Map<String, serde_json::Value> = s
                    .features
                    .iter()
                    .map(|f| (f.name.to_string(), json!({"min": f.min, "mean": f.mean, "max": f.max})))
                    .collect();
                json!({"name": s.name, "file": origin, "rows": s.rows, "excluded": s.excluded, "used": s.rows - s.excluded, "features": features})
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("cohort size (--cohort-rows): {}", args.cohort_rows);
    println!(
        "{:<10} {:>9} {:>9}  {:<28} {:<28} {:<28}",
        "cohort",
        "rows",
        "excluded",
        "rating min/mean/max",
        "likes min/mean/max",
        "length min/mean/max"
    );
    let fmt = |v: Option<f64>| {
        v.map_or("-".to_string(), |v| {
            format!("{v:.2}")
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_string()
        })
    };
    for (s, _) in &all {
        let cols: Vec<String> = s
            .features
            .iter()
            .map(|f| format!("{} / {} / {}", fmt(f.min), fmt(f.mean), fmt(f.max)))
            .collect();
        println!(
            "{:<10} {:>9} {:>9}  {:<28} {:<28} {:<28}",
            s.name, s.rows, s.excluded, cols[0], cols[1], cols[2]
        );
    }
    Ok(())
}
