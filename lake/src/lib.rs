//! The reviewlake lake: where reviews land and where every later stage reads them.
//!
//! A lake is an object-store location ([`Lake::open`]) holding Parquet files under a fixed
//! layout ([`layout`]): accepted reviews under `reviews/` and rejected records under `rejected/`,
//! both partitioned hive-style by Kafka topic and partition. Each file covers one contiguous
//! Kafka offset range; [`Snapshot`] lists the files a reader should see and the offset each
//! partition resumes from. [`BatchWriter`] turns accepted and rejected records into such files.
//! The crate knows nothing of Kafka clients or HTTP: it sees topics, partitions and offsets as data.

mod batch;
mod error;
mod layout;
mod location;
mod metadata;
mod review;
mod schema;
mod snapshot;
mod writer;

pub use batch::{RejectedBuilder, ReviewBuilder};
pub use error::{Error, Result};
pub use layout::{FileKey, Table};
pub use location::Lake;
pub use metadata::{FileInfo, read_file_info};
pub use review::{Rejected, Review, SourcePosition};
pub use schema::{column, rejected_schema, reviews_schema};
pub use snapshot::{ListedFile, PartitionState, Snapshot};
pub use writer::{BatchWriter, WriteOptions, WrittenBatch};
