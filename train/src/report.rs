//! The short Markdown report stored with each model version.

use std::fmt::Write;

use crate::artifact::ModelDoc;

/// Renders the report.
pub(crate) fn markdown(doc: &ModelDoc) -> String {
    let mut s = String::new();
    let a = &doc.algorithm;
    let _ = writeln!(s, "# {} version {}\n", doc.name, doc.version);
    let _ = writeln!(
        s,
        "k-means, k = {}, seed {}, {} k-means++ initialisation(s) (best: #{}), tolerance {}, \
         at most {} iterations, engine `{}`. Transform: `{}`.\n",
        a.k,
        a.seed,
        a.n_init,
        a.best_init,
        a.tolerance,
        a.max_iter,
        a.engine,
        doc.transform.name()
    );
    let _ = writeln!(
        s,
        "Trained on **{}** rows ({} excluded for a missing feature) in {:.2} s (query {:.2} s, fit {:.2} s); \
         {} iterations, {}.\n",
        doc.rows_used,
        doc.rows_excluded,
        doc.timings.query_seconds + doc.timings.fit_seconds,
        doc.timings.query_seconds,
        doc.timings.fit_seconds,
        doc.iterations,
        if doc.converged {
            "converged"
        } else {
            "stopped at the iteration limit"
        }
    );
    let _ = writeln!(
        s,
        "- Cost (sum of squared distances, Spark's `trainingCost`): {:.6e}",
        doc.cost
    );
    let _ = writeln!(
        s,
        "- Silhouette (squared Euclidean): {}\n",
        doc.silhouette.map_or("-".into(), |v| format!("{v:.4}"))
    );
    let _ = writeln!(
        s,
        "| cluster | rows | share | {} |",
        doc.features.join(" | ")
    );
    let _ = writeln!(s, "|---|---:|---:|{}", "---:|".repeat(doc.features.len()));
    let total: u64 = doc.cluster_sizes.iter().sum();
    for (c, (centre, size)) in doc.centroids.iter().zip(&doc.cluster_sizes).enumerate() {
        let values: Vec<String> = centre.iter().map(|v| format!("{v:.2}")).collect();
        let _ = writeln!(
            s,
            "| {c} | {size} | {:.1}% | {} |",
            100.0 * *size as f64 / total.max(1) as f64,
            values.join(" | ")
        );
    }
    let _ = writeln!(s, "\n![clusters](plot.svg)\n");
    let _ = writeln!(s, "## Lineage\n");
    let _ = writeln!(
        s,
        "Lake `{}`: {} files (list in `lineage.json`, SHA-256 `{}`).\n",
        doc.lake.location, doc.lake.files, doc.lake.files_sha256
    );
    for p in &doc.lake.partitions {
        let _ = writeln!(
            s,
            "- topic `{}` partition {}: {} files, offsets {}..={}",
            p.topic, p.partition, p.files, p.first_offset, p.last_offset
        );
    }
    let _ = writeln!(
        s,
        "\nCohort `{}` (`--cohort-rows {}`, SHA-256 `{}`):\n\n```sql\n{}\n```\n",
        doc.cohort.file,
        doc.cohort.cohort_rows,
        doc.cohort.sql_sha256,
        doc.cohort.sql.trim_end()
    );
    let _ = writeln!(
        s,
        "Created {} by reviewlake {}.",
        doc.created_at, doc.reviewlake_version
    );
    s
}
