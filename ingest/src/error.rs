use std::path::PathBuf;

/// Everything that can stop a produce or ingest run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kafka client refused its configuration or failed.
    #[error("kafka: {context}")]
    Kafka {
        context: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },

    /// The lake failed and retries were exhausted.
    #[error(transparent)]
    Lake(#[from] lake::Error),

    /// An input file could not be opened or read.
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The CSV input is malformed or lacks a required column.
    #[error("{}: {reason}", path.display())]
    Csv { path: PathBuf, reason: String },

    /// The lake has taken in offsets the topic does not hold.
    #[error(
        "topic {topic} partition {partition}: the lake resumes at offset {lake_next} but the partition ends at {high_watermark}; the topic was recreated or the brokers are another cluster's. Refusing to skip its records: ingest it into a new lake, or use another topic name"
    )]
    OffsetsAhead {
        topic: String,
        partition: i32,
        lake_next: i64,
        high_watermark: i64,
    },

    /// A setting is invalid.
    #[error("invalid setting: {0}")]
    Config(String),

    /// Some messages were not acknowledged by the broker.
    #[error(
        "{failed} of {attempted} messages were not acknowledged by the broker (first error: {first_error})"
    )]
    Undelivered {
        failed: u64,
        attempted: u64,
        first_error: String,
    },
}

impl Error {
    pub(crate) fn kafka(context: impl Into<String>, source: rdkafka::error::KafkaError) -> Self {
        Error::Kafka {
            context: context.into(),
            source,
        }
    }
}

/// Result with the ingest crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
