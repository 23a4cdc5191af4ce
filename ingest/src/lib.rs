//! Kafka side of reviewlake: the producer that streams reviews into a topic
//! ([`produce::produce`]) and the consumer-group member that lands them in the lake exactly
//! once ([`consume::ingest`]).
//!
//! Messages are JSON objects keyed by `review_id`; [`decode`] validates them into lake rows or
//! rejected records. Sources are the dataset's CSV file ([`source::CsvSource`]) or a seeded
//! generator ([`source::SyntheticSource`]).

pub mod consume;
pub mod decode;
mod error;
mod kafka;
mod metrics;
pub mod produce;
pub mod progress;
mod record;
pub mod source;

pub use consume::{
    Commits, FinishedBatch, IngestOptions, IngestSummary, PendingBatch, Writes, ingest,
};
pub use decode::{DecodeOptions, KEPT_BYTES};
pub use error::{Error, Result};
pub use kafka::{KafkaOptions, SETTINGS_ENV_PREFIX, parse_setting, settings_from_env};
pub use metrics::{IngestMetrics, PartitionStatus, Status};
pub use produce::{ProduceOptions, ProduceSummary, produce};
pub use progress::{LogProgress, Progress};
pub use record::ReviewRecord;
