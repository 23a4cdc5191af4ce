/// Everything that can go wrong training, storing or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading the lake or running the cohort query failed.
    #[error(transparent)]
    Lake(#[from] lake::Error),

    /// The cohort returned something training cannot use.
    #[error("cohort {cohort}: {reason}")]
    Cohort { cohort: String, reason: String },

    #[error("cohort {cohort}")]
    CohortQuery {
        cohort: String,
        #[source]
        source: lake::Error,
    },

    /// The cohort has fewer usable rows than clusters.
    #[error(
        "cohort {cohort} has {rows} usable rows ({excluded} excluded for a missing feature); k-means with k = {k} needs at least {k}. The current version is unchanged"
    )]
    TooSmall {
        cohort: String,
        rows: u64,
        excluded: u64,
        k: usize,
    },

    /// The fit itself failed.
    #[error("k-means failed: {0}")]
    Fit(String),

    /// An Arrow array could not be converted.
    #[error("arrow error")]
    Arrow(#[from] arrow::error::ArrowError),

    /// The object store refused or failed an operation.
    #[error("object store error on {key}")]
    Store {
        key: String,
        #[source]
        source: object_store::Error,
    },

    /// A stored artifact is damaged or inconsistent.
    #[error("model artifact {key}: {reason}")]
    Artifact { key: String, reason: String },

    #[error("model artifact {key}")]
    InvalidModel {
        key: String,
        #[source]
        source: crate::artifact::InvalidModel,
    },

    #[error("cannot encode a model document")]
    Encode(#[source] serde_json::Error),

    /// No current version of a model.
    #[error("no model {name:?} in {location} (train it first: reviewlake train)")]
    NoModel { name: String, location: String },

    /// A model name that cannot be a folder name.
    #[error("invalid model name {0:?} (allowed: 1-64 letters, digits, '_' and '-')")]
    InvalidName(String),
}

/// Result with the training [`Error`].
impl Error {
    pub(crate) fn cohort_query(file: &lake::SqlFile, source: lake::Error) -> Self {
        Error::CohortQuery {
            cohort: file.origin(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
