//! Training cohorts: `.sql` files over the lake that return the features `rating`, `likes` and
//! `length`. They belong to training, not to the storage crate, which only runs their SQL.

use arrow::{
    array::{Array, AsArray, RecordBatch},
    datatypes::{Float64Type, Int64Type},
};

use lake::{Query, SqlFile};

use crate::{Error, Result};

/// The training features every cohort returns, in order.
pub const FEATURES: [&str; 3] = ["rating", "likes", "length"];

/// Summary of one feature over a cohort's usable rows.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureStats {
    pub name: &'static str,
    pub min: Option<f64>,
    pub mean: Option<f64>,
    pub max: Option<f64>,
}

/// What a cohort holds.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortStats {
    pub name: String,
    /// Rows the cohort query returned.
    pub rows: u64,
    /// Rows with a missing feature, which training leaves out.
    pub excluded: u64,
    pub features: Vec<FeatureStats>,
}

fn render(file: &SqlFile, cohort_rows: u64) -> String {
    file.render(&[("cohort_rows", cohort_rows.to_string())])
}

const USABLE: &str = "rating IS NOT NULL AND likes IS NOT NULL AND length IS NOT NULL";

async fn check_columns(query: &Query, file: &SqlFile, sql: &str) -> Result<()> {
    let schema = query
        .schema(sql)
        .await
        .map_err(|e| Error::cohort_query(file, e))?;
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    if let Some(missing) = FEATURES.iter().find(|f| !names.contains(f)) {
        return Err(Error::Cohort {
            cohort: file.origin(),
            reason: format!(
                "a cohort must return the columns {FEATURES:?}; {missing:?} is missing (got {names:?})"
            ),
        });
    }
    Ok(())
}

/// Counts a cohort's rows and excluded rows and summarises its features.
pub async fn cohort_stats(query: &Query, file: &SqlFile, cohort_rows: u64) -> Result<CohortStats> {
    let sql = render(file, cohort_rows);
    check_columns(query, file, &sql).await?;
    let agg = |f: &str| {
        format!(
            "CAST(min(CASE WHEN ok THEN {f} END) AS DOUBLE), CAST(avg(CASE WHEN ok THEN {f} END) AS DOUBLE), CAST(max(CASE WHEN ok THEN {f} END) AS DOUBLE)"
        )
    };
    let stats_sql = format!(
        "SELECT count(*), CAST(sum(CASE WHEN ok THEN 0 ELSE 1 END) AS BIGINT), {}, {}, {} \
         FROM (SELECT rating, likes, length, ({USABLE}) AS ok FROM ({sql}) AS cohort) AS c",
        agg("rating"),
        agg("likes"),
        agg("length")
    );
    let (_, batches) = query
        .run(&stats_sql)
        .await
        .map_err(|e| Error::cohort_query(file, e))?;
    let b = batches.first().ok_or_else(|| Error::Cohort {
        cohort: file.origin(),
        reason: "the summary query returned nothing".into(),
    })?;
    let int = |i: usize| {
        let a = b.column(i).as_primitive::<Int64Type>();
        if a.is_null(0) { 0 } else { a.value(0) as u64 }
    };
    let float = |i: usize| {
        let a = b.column(i).as_primitive::<Float64Type>();
        (!a.is_null(0)).then(|| a.value(0))
    };
    let features = FEATURES
        .iter()
        .enumerate()
        .map(|(k, name)| FeatureStats {
            name,
            min: float(2 + 3 * k),
            mean: float(3 + 3 * k),
            max: float(4 + 3 * k),
        })
        .collect();
    Ok(CohortStats {
        name: file.name.clone(),
        rows: int(0),
        excluded: int(1),
        features,
    })
}

/// The cohort's usable rows (no missing feature), with columns [`FEATURES`], in the cohort's order.
pub async fn cohort_features(
    query: &Query,
    file: &SqlFile,
    cohort_rows: u64,
) -> Result<Vec<RecordBatch>> {
    let sql = render(file, cohort_rows);
    check_columns(query, file, &sql).await?;
    let (_, batches) = query
        .run(&format!(
            "SELECT rating, likes, length FROM ({sql}) AS cohort WHERE {USABLE}"
        ))
        .await
        .map_err(|e| Error::cohort_query(file, e))?;
    Ok(batches)
}
