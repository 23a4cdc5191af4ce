//! Training: the three k-means models of the lake's cohorts, as versioned artifacts.
//!
//! [`fit_cohort`] runs a cohort's SQL file through DataFusion, copies the Arrow result into an
//! `ndarray` matrix ([`features::matrix`]) and fits k-means ([`kmeans`], or linfa-clustering with
//! [`Engine::Linfa`]). [`publish`] writes the model document, plot, report and lineage as a new
//! version in a [`ModelStore`] and then moves the model's `CURRENT` pointer. [`Model`] loads a
//! version back and predicts.

pub mod artifact;
pub mod cohort;
mod error;
pub mod features;
pub mod kmeans;
mod linfa_engine;
pub mod plot;
mod report;
mod trainer;

pub use artifact::{Current, Model, ModelDoc, ModelStore, check_name};
pub use cohort::{CohortStats, FEATURES, FeatureStats, cohort_features, cohort_stats};
pub use error::{Error, Result};
pub use features::{Transform, TransformKind};
pub use kmeans::{InvalidParams, KMeansFit, KMeansParams, ValidParams};
pub use lake::error_chain;
pub use trainer::{Engine, Fitted, Lineage, TrainOptions, fit_cohort, publish};
