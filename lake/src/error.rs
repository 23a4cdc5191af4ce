use object_store::path::Path;

/// Everything that can go wrong reading or writing the lake.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The lake location could not be understood.
    #[error("invalid lake location {location:?}: {reason}")]
    Location { location: String, reason: String },

    /// The object store refused or failed an operation on a key.
    #[error("object store error on {key}: {source}")]
    Store {
        key: String,
        #[source]
        source: object_store::Error,
    },

    /// A Parquet file could not be encoded or decoded.
    #[error("parquet error in {key}: {source}")]
    Parquet {
        key: String,
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// An Arrow array could not be built.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),

    /// A file in the lake does not carry the metadata the layout requires.
    #[error("{key}: {reason}")]
    Corrupt { key: String, reason: String },

    /// A topic name that cannot be used as a folder name.
    #[error(
        "topic {0:?} is not a valid Kafka topic name (allowed: letters, digits, '.', '_', '-')"
    )]
    InvalidTopic(String),

    /// A SQL statement failed to plan or run.
    #[error("{0}")]
    Query(#[from] datafusion::error::DataFusionError),

    /// The statement would change something; the SQL interface only reads.
    #[error(
        "refused: the lake is read-only here; only queries (SELECT, EXPLAIN, SHOW, DESCRIBE) run ({0})"
    )]
    ReadOnly(String),

    /// A `.sql` file could not be read or used.
    #[error("{file}: {reason}")]
    Sql { file: String, reason: String },

    /// A Delta table operation failed.
    #[error("{table} table: {step}")]
    Delta {
        table: crate::Table,
        step: &'static str,
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },

    /// The lake was written before its tables were Delta tables.
    #[error(
        "{location} holds a lake in the old layout (Parquet files without a Delta log); run `reviewlake lake migrate --lake {location}` once to turn it into Delta tables"
    )]
    OldLayout { location: String },
}

impl Error {
    pub(crate) fn delta(
        table: crate::Table,
        step: &'static str,
        source: deltalake::DeltaTableError,
    ) -> Self {
        Error::Delta {
            table,
            step,
            source: Box::new(source),
        }
    }

    pub(crate) fn store(key: &Path, source: object_store::Error) -> Self {
        Error::Store {
            key: key.to_string(),
            source,
        }
    }
}

/// Result with the lake's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
