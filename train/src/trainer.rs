//! Training one cohort end to end: query, matrix, fit, evaluate, publish.

use std::time::Instant;

use lake::{Lake, Query, Snapshot, SqlFile, Table};
use ndarray::Array2;

use crate::{
    Error, FEATURES, Result, TransformKind,
    artifact::{
        Algorithm, CohortRef, Current, FORMAT_VERSION, LakeRef, LineageFile, ModelDoc, ModelStore,
        NewVersion, PartitionRange, hex_sha256,
    },
    features::matrix,
    kmeans::{self, ValidParams},
    linfa_engine, plot, report,
};

/// Which k-means implementation fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// This crate's k-means++ and exact Lloyd, initialisations in parallel.
    #[default]
    Native,
    /// linfa-clustering's `KMeans`.
    Linfa,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Native => "native",
            Engine::Linfa => "linfa",
        }
    }
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "native" => Ok(Self::Native),
            "linfa" => Ok(Self::Linfa),
            other => Err(format!("unknown engine {other:?} (native, linfa)")),
        }
    }
}

/// How to train.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    pub params: ValidParams,
    pub transform: TransformKind,
    pub engine: Engine,
    /// The cohort files' `${cohort_rows}`.
    pub cohort_rows: u64,
}

/// The lake files a training run could read.
#[derive(Debug, Clone)]
pub struct Lineage {
    pub location: String,
    /// The `reviews` table version read.
    pub table_version: Option<u64>,
    pub files: Vec<LineageFile>,
}

impl Lineage {
    /// The `reviews` files of `snapshot` (the cohort query's own, [`Query::snapshot`]), so that
    /// lineage and cohorts name the same files.
    pub fn of(lake: &Lake, snapshot: &Snapshot) -> Self {
        let files = snapshot
            .files(Table::Reviews)
            .into_iter()
            .map(|f| LineageFile {
                path: f.key.path().map(|p| p.to_string()).unwrap_or_default(),
                topic: f.key.topic.clone(),
                partition: f.key.partition,
                first_offset: f.key.first_offset,
                last_offset: f.key.last_offset,
            })
            .collect();
        Self {
            location: lake.redacted_url(),
            table_version: snapshot.versions().reviews,
            files,
        }
    }

    fn summary(&self) -> LakeRef {
        let mut partitions: Vec<PartitionRange> = Vec::new();
        for f in &self.files {
            match partitions
                .iter_mut()
                .find(|p| p.topic == f.topic && p.partition == f.partition)
            {
                Some(p) => {
                    p.files += 1;
                    p.first_offset = p.first_offset.min(f.first_offset);
                    p.last_offset = p.last_offset.max(f.last_offset);
                }
                None => partitions.push(PartitionRange {
                    topic: f.topic.clone(),
                    partition: f.partition,
                    files: 1,
                    first_offset: f.first_offset,
                    last_offset: f.last_offset,
                }),
            }
        }
        let listing: String = self.files.iter().map(|f| format!("{}\n", f.path)).collect();
        LakeRef {
            location: self.location.clone(),
            table_version: self.table_version,
            files: self.files.len() as u64,
            files_sha256: hex_sha256(listing.as_bytes()),
            partitions,
        }
    }
}

/// A fitted, not yet published model: its document and what the plot and report need.
pub struct Fitted {
    pub doc: ModelDoc,
    data: Array2<f64>,
    labels: Vec<usize>,
}

/// Runs the cohort query and fits the model. Nothing is written.
pub async fn fit_cohort(
    query: &Query,
    lineage: &Lineage,
    file: &SqlFile,
    options: &TrainOptions,
) -> Result<Fitted> {
    let origin = file.origin();
    let sql = file.render(&[("cohort_rows", options.cohort_rows.to_string())]);
    let started = Instant::now();
    let (_, batches) = query
        .run(&format!(
            "SELECT {} FROM ({sql}) AS cohort",
            FEATURES.join(", ")
        ))
        .await
        .map_err(|e| Error::Cohort {
            cohort: origin.clone(),
            reason: e.to_string(),
        })?;
    let features = matrix(&batches, &FEATURES, &origin)?;
    drop(batches);
    let query_seconds = started.elapsed().as_secs_f64();
    let used = features.data.nrows();
    let k = options.params.k;
    if used < k.max(1) {
        return Err(Error::TooSmall {
            cohort: origin,
            rows: used as u64,
            excluded: features.excluded,
            k,
        });
    }

    let started = Instant::now();
    let transform = options.transform.fit(&features.data);
    let mut space = features.data.clone();
    transform.apply(&mut space);
    let fit = match options.engine {
        Engine::Native => kmeans::fit(space.view(), &options.params),
        Engine::Linfa => linfa_engine::fit(space.view(), &options.params)?,
    };
    let fit_seconds = started.elapsed().as_secs_f64();
    let labels = kmeans::labels(space.view(), &fit.centroids);
    let silhouette = kmeans::silhouette(space.view(), &labels, fit.centroids.nrows());
    drop(space);
    let model_centroids: Vec<Vec<f64>> = fit
        .centroids
        .rows()
        .into_iter()
        .map(|r| r.to_vec())
        .collect();
    let centroids = model_centroids
        .iter()
        .map(|c| {
            c.iter()
                .enumerate()
                .map(|(j, v)| transform.inverse(j, *v))
                .collect()
        })
        .collect();
    let p = &options.params;
    let doc = ModelDoc {
        format_version: FORMAT_VERSION,
        name: file.name.clone(),
        version: 0,
        id: String::new(),
        algorithm: Algorithm {
            name: "k-means".into(),
            engine: options.engine.name().into(),
            init: "k-means++".into(),
            k: p.k,
            seed: p.seed,
            n_init: p.n_init,
            best_init: fit.best_init,
            tolerance: p.tolerance,
            max_iter: p.max_iter,
        },
        features: FEATURES.iter().map(|f| f.to_string()).collect(),
        transform,
        centroids,
        model_centroids,
        cost: fit.cost,
        cluster_sizes: fit.sizes,
        silhouette,
        iterations: fit.iterations,
        converged: fit.converged,
        rows_used: used as u64,
        rows_excluded: features.excluded,
        cohort: CohortRef {
            file: origin,
            cohort_rows: options.cohort_rows,
            sql_sha256: hex_sha256(file.text.as_bytes()),
            sql: file.text.clone(),
        },
        lake: lineage.summary(),
        timings: crate::artifact::Timings {
            query_seconds,
            fit_seconds,
        },
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        reviewlake_version: env!("CARGO_PKG_VERSION").into(),
    };
    Ok(Fitted {
        doc,
        data: features.data,
        labels,
    })
}

/// Writes the fitted model as a new version and makes it current.
pub async fn publish(
    store: &ModelStore,
    lineage: &Lineage,
    mut fitted: Fitted,
) -> Result<(ModelDoc, Current)> {
    let centroids = Array2::from_shape_vec(
        (fitted.doc.centroids.len(), fitted.doc.features.len()),
        fitted.doc.centroids.concat(),
    )
    .map_err(|e| Error::Fit(e.to_string()))?;
    let plot_svg = |doc: &ModelDoc| {
        plot::svg(&plot::PlotInput {
            title: format!(
                "{} v{} · k = {} · cost {:.4e} · silhouette {}",
                doc.name,
                doc.version,
                doc.algorithm.k,
                doc.cost,
                doc.silhouette.map_or("-".into(), |s| format!("{s:.3}"))
            ),
            features: &doc.features,
            data: fitted.data.view(),
            labels: &fitted.labels,
            centroids: &centroids,
            sizes: &doc.cluster_sizes,
        })
    };
    // The version number is known only at publish time; the plot and report carry it.
    fitted.doc.version = store.next_version(&fitted.doc.name).await?;
    let plot_svg = plot_svg(&fitted.doc);
    let report_md = report::markdown(&fitted.doc);
    let current = store
        .publish(NewVersion {
            doc: &mut fitted.doc,
            lineage: &lineage.files,
            plot_svg,
            report_md,
        })
        .await?;
    Ok((fitted.doc, current))
}
