//! The reviewlake lake: where reviews land and where every later stage reads them.
//!
//! A lake is an object-store location ([`Lake::open`]) holding Parquet files under a fixed
//! layout ([`layout`]): accepted reviews under `reviews/` and rejected records under `rejected/`,
//! both partitioned hive-style by Kafka topic and partition. Each file covers one contiguous
//! Kafka offset range; [`Snapshot`] lists the files a reader should see and the offset each
//! partition resumes from. [`BatchWriter`] turns accepted and rejected records into such files.
//! [`Query`] runs SQL over the lake with DataFusion, [`SqlFiles`] holds the views and training
//! cohorts users edit, and [`compact`] merges small files without a reader ever seeing a row
//! twice or not at all.
//! The crate knows nothing of Kafka clients or HTTP: it sees topics, partitions and offsets as data.

mod batch;
mod cohort;
mod compact;
mod error;
mod layout;
mod location;
mod metadata;
mod order;
mod query;
mod review;
mod scan_order;
mod schema;
mod snapshot;
mod sqlfiles;
mod visible;
mod writer;

pub use batch::{RejectedBuilder, ReviewBuilder};
pub use cohort::{CohortStats, FEATURES, FeatureStats, cohort_features, cohort_stats};
pub use compact::{CompactOptions, CompactSummary, compact};
pub use error::{Error, Result};
pub use layout::{FileKey, Table};
pub use location::Lake;
pub use metadata::{FileInfo, read_file_info};
pub use order::{ARRIVAL_ORDER, arrival_sorting_columns, sort_by_arrival};
pub use query::{Query, Workload};
pub use review::{Rejected, Review, SourcePosition};
pub use schema::{column, conform_reviews, rejected_schema, reviews_schema, text_length};
pub use snapshot::{ListedFile, PartitionState, Snapshot};
pub use sqlfiles::{SqlFile, SqlFiles};
pub use visible::VisibleStore;
pub use writer::{BatchWriter, WriteOptions, WrittenBatch};
