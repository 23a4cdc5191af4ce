use std::time::Instant;

use anyhow::Context;
use lake::{Lake, Query, Workload};
use train::{KMeansParams, Lineage, TrainOptions, fit_cohort, publish};

use crate::cli::TrainArgs;

pub(crate) async fn run(args: TrainArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let lake = Lake::open_existing(&args.lake.lake)?;
    let store = args.models.store(&args.lake)?;
    let files = args.sql_dir.files();
    let mut cohorts = files.cohorts()?;
    if !args.names.is_empty() {
        for name in &args.names {
            files.cohort(name)?; // an unknown name fails here, listing the available ones
        }
        cohorts.retain(|c| args.names.contains(&c.name));
    }
    anyhow::ensure!(!cohorts.is_empty(), "no cohort files to train");
    for cohort in &cohorts {
        train::check_name(&cohort.name)
            .with_context(|| format!("cohort file {}", cohort.origin()))?;
    }
    let options = TrainOptions {
        params: KMeansParams {
            k: args.k,
            seed: args.seed,
            n_init: args.n_init,
            tolerance: args.tolerance,
            max_iter: args.max_iter,
            threads: args.threads,
        }
        .check()?,
        transform: args.transform,
        engine: args.engine,
        cohort_rows: args.cohort_rows,
    };
    let query = Query::open_at(&lake, &files, Workload::Cohorts, args.at.version()).await?;
    let lineage = Lineage::of(&lake, query.snapshot());
    eprintln!(
        "training {} model(s) on {} (reviews version {}, {} files), k = {}, {} init(s), seed {}, transform {:?}, engine {}",
        cohorts.len(),
        lake.redacted_url(),
        lineage.table_version.map_or("-".into(), |v| v.to_string()),
        lineage.files.len(),
        options.params.k,
        options.params.n_init,
        options.params.seed,
        options.transform,
        options.engine.name()
    );
    let total = cohorts.len();
    // The cohort queries run concurrently, so one cohort's SQL overlaps another's fit; the
    // results are published in file order.
    eprintln!(
        "querying and fitting: {}",
        cohorts
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let fits = futures::future::join_all(cohorts.iter().map(|cohort| {
        let (query, lineage, options) = (&query, &lineage, &options);
        async move {
            let result = fit_cohort(query, lineage, cohort, options).await;
            match &result {
                Ok(f) => eprintln!(
                    "  {}: {} rows ({} excluded), query {:.2}s, fit {:.2}s",
                    cohort.name,
                    f.doc.rows_used,
                    f.doc.rows_excluded,
                    f.doc.timings.query_seconds,
                    f.doc.timings.fit_seconds
                ),
                Err(e) => eprintln!("  {}: FAILED: {e}", cohort.name),
            }
            result
        }
    }))
    .await;
    let mut failed = Vec::new();
    for (i, (cohort, fitted)) in cohorts.iter().zip(fits).enumerate() {
        let Ok(fitted) = fitted else {
            failed.push(cohort.name.clone());
            continue;
        };
        let (doc, current) = publish(&store, &lineage, fitted).await?;
        tracing::info!(
            model = %doc.name,
            version = doc.version,
            rows = doc.rows_used,
            rows_excluded = doc.rows_excluded,
            iterations = doc.iterations,
            cost = doc.cost,
            silhouette = doc.silhouette,
            query_seconds = doc.timings.query_seconds,
            fit_seconds = doc.timings.fit_seconds,
            "model published"
        );
        eprintln!(
            "[{}/{total}] {}: {} iterations, cost {:.6e}, silhouette {}, sizes {:?} -> version {} ({})",
            i + 1,
            doc.name,
            doc.iterations,
            doc.cost,
            doc.silhouette.map_or("-".into(), |s| format!("{s:.4}")),
            doc.cluster_sizes,
            doc.version,
            current.dir
        );
    }
    tracing::info!(
        trained = total - failed.len(),
        failed = failed.len(),
        seconds = started.elapsed().as_secs_f64(),
        "training done"
    );
    eprintln!(
        "trained {} of {total} model(s) in {:.2}s; models in {}",
        total - failed.len(),
        started.elapsed().as_secs_f64(),
        store.location()
    );
    anyhow::ensure!(
        failed.is_empty(),
        "{} model(s) failed: {} (their current versions are unchanged)",
        failed.len(),
        failed.join(", ")
    );
    Ok(())
}
