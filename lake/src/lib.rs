//! The reviewlake lake: where reviews land and where every later stage reads them.
//!
//! A lake is an object-store location ([`Lake::open`]) holding two Delta Lake tables ([`delta`]):
//! accepted reviews in `reviews/` and rejected records in `rejected/`, both partitioned by Kafka
//! topic and partition, each data file covering one contiguous Kafka offset range ([`layout`]).
//! [`BatchWriter`] turns records into such files; [`Committer`] commits ingest's files exactly
//! once per offset (the tables' `txn` versions); [`Snapshot`] is what a reader sees. [`Query`]
//! runs SQL over a snapshot with DataFusion, [`SqlFiles`] holds the views and training cohorts
//! users edit, [`compact`] merges small files in one commit, and [`vacuum`] deletes the files no
//! snapshot needs. The crate knows nothing of Kafka clients or HTTP: it sees topics, partitions
//! and offsets as data.

mod batch;
mod commit;
mod compact;
mod date_trunc;
mod delta;
mod dense_groups;
mod durable;
mod error;
mod history;
mod layout;
mod legacy;
mod location;
mod log_engine;
mod log_stats;
mod metadata;
mod no_footer_cache;
mod order;
mod query;
mod review;
mod scan_order;
mod schema;
mod snapshot;
mod snapshot_store;
mod sqlfiles;
mod stats;
mod summary;
mod vacuum;
mod writer;

/// The record batches the builders make and the writer takes.
pub use arrow::array::RecordBatch;
pub use batch::{RejectedBuilder, ReviewBuilder};
pub use commit::{Committed, Committer, DataFile, Moved, TakenIn, WrittenBatch};
pub use compact::{CompactOptions, CompactSummary, compact};
pub use delta::{TableVersion, ingest_app_id, table_url};
pub use error::{Error, Result, error_chain};
pub use history::{CommitSummary, history};
pub use layout::{FileKey, Table};
pub use legacy::{MigrateSummary, migrate};
pub use location::Lake;
pub use metadata::{FileInfo, read_file_info};
pub use order::{ARRIVAL_ORDER, arrival_sorting_columns, sort_by_arrival};
pub use query::{Query, Workload};
pub use review::{Rejected, Review, SourcePosition, WHOLE_MESSAGE};
pub use schema::{column, conform_reviews, rejected_schema, reviews_schema, text_length};
pub use snapshot::{PartitionState, Snapshot, SnapshotFile, Versions};
pub use snapshot_store::SnapshotStore;
pub use sqlfiles::{SqlFile, SqlFiles};
pub use summary::{LakeSummary, PartitionSummary, RejectGroup, Totals, rejects_by_field, summary};
pub use vacuum::{VacuumOptions, VacuumSummary, vacuum};
pub use writer::{BatchWriter, WriteOptions};

/// The SHA-256 of `bytes` in lower-case hex: how model artifacts, lineage and oversized
/// rejected records name their content.
pub fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
