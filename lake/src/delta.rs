//! The lake's two tables as Delta Lake tables (delta-rs), opened on the lake's own object store.
//!
//! `<lake>/reviews` and `<lake>/rejected` are Delta tables partitioned by `topic` and `partition`.
//! Their transaction logs are the only record of which data files exist: a file that no commit
//! added is invisible to every engine, ours included. Commits are atomic create-if-absent puts of
//! the next log entry: a hard link on local disk, `If-None-Match: *` on S3 and MinIO. No lock
//! service is needed, and none is used.

use std::{collections::HashMap, sync::Arc};

use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, Utc};
use deltalake::{
    DeltaTable, DeltaTableError,
    kernel::{DataType as DeltaType, Metadata, MetadataExt, StructField},
    logstore::{LogStoreRef, StorageConfig, default_logstore},
    protocol::SaveMode,
};
use object_store::{ObjectStore, ObjectStoreExt, path::Path, prefix::PrefixStore};
use url::Url;

use crate::{
    Error, FileKey, Lake, Result, Table, column, log_engine::LakeLogStore, schema::file_schema,
};

/// Commits between Delta checkpoints (the tables' `delta.checkpointInterval`). Every reader
/// replays the commits since the last checkpoint; ingest commits every few seconds, and on the
/// 1.5M-review benchmark lake (95 commits) that replay was most of a query's time. A checkpoint
/// of 3000 files costs ingest a few milliseconds every tenth commit.
const CHECKPOINT_INTERVAL: &str = "10";

/// Checkpoints keep each file's statistics as a Parquet struct (`add.stats_parsed`, Delta's
/// `delta.checkpoint.writeStatsAsStruct`) beside the JSON string that every engine reads. A
/// reader loading the checkpoint takes the struct as it is; without it the kernel parses one JSON
/// object for every row of the checkpoint, and a checkpoint has a row for each tombstone too. On
/// the compacted 15M-review lake (30 files, 30,084 tombstones) a process's `count(*)` went from
/// 42 to 33 ms.
const CHECKPOINT_STATS_AS_STRUCT: &str = "delta.checkpoint.writeStatsAsStruct";

/// The columns whose statistics the `add` actions carry (Delta's `delta.dataSkippingStatsColumns`:
/// numbers and timestamps, see `stats`). Without it every engine expects statistics of the first
/// 32 columns, free text included: a checkpoint stores an empty slot for every text column, in
/// each of its rows, tombstones included. On the compacted 15M-review lake (30 files, 30,022
/// tombstones) one process's `count(*)` went from 39.6 to 37.1 ms (medians of 80 alternated
/// runs).
const STATS_COLUMNS: &str = "delta.dataSkippingStatsColumns";

/// A table property of `reviews`: every data file of the table is in arrival order and its
/// footer says so (see `order`). Set when ingest creates the table: ingest and compaction only
/// write such files. A table made by `lake migrate` from old files, or by a reviewlake older
/// than the property, lacks it until `lake compact` has left every file in order (see
/// `compact`). Where it is set, readers take each file's ordering from the log instead of
/// reading its footer.
pub(crate) const FILES_IN_ARRIVAL_ORDER: &str = "reviewlake.filesInArrivalOrder";

/// The value of the boolean properties when set.
const DECLARED: &str = "true";

/// Whether a table's `metadata` declares [`FILES_IN_ARRIVAL_ORDER`].
pub(crate) fn declares_arrival_order(metadata: &Metadata) -> bool {
    metadata
        .configuration()
        .get(FILES_IN_ARRIVAL_ORDER)
        .is_some_and(|v| v == DECLARED)
}

/// The properties `table` is created with, and [`FILES_IN_ARRIVAL_ORDER`] when `arrival_order`
/// (a `reviews` table whose every file is in arrival order).
fn properties(table: Table, arrival_order: bool) -> Vec<(&'static str, String)> {
    let stats_columns = crate::stats::tracked_columns(&file_schema(table)).join(",");
    let mut properties = vec![
        (CHECKPOINT_STATS_AS_STRUCT, DECLARED.to_string()),
        (STATS_COLUMNS, stats_columns),
    ];
    if arrival_order {
        properties.push((FILES_IN_ARRIVAL_ORDER, DECLARED.to_string()));
    }
    properties
}

/// The properties `table` needs set in its `metadata`: those it is created with, where a table
/// made by an older reviewlake lacks them or holds another value, and for `reviews`
/// [`FILES_IN_ARRIVAL_ORDER`] when not yet declared. Empty when there is nothing to set.
pub(crate) fn missing_properties(metadata: &Metadata, table: Table) -> HashMap<String, String> {
    properties(table, table == Table::Reviews)
        .into_iter()
        .filter(|(key, value)| metadata.configuration().get(*key) != Some(value))
        .map(|(key, value)| (key.to_string(), value))
        .collect()
}

/// `metadata` with `properties` added.
pub(crate) fn with_properties(
    metadata: &Metadata,
    properties: &HashMap<String, String>,
    table: Table,
) -> Result<Metadata> {
    properties
        .iter()
        .try_fold(metadata.clone(), |m, (key, value)| {
            m.add_config_key(key.clone(), value.clone())
        })
        .map_err(|e| Error::delta(table, "setting the table's properties", e.into()))
}

/// What a table's first commit declares about the files it will hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Files {
    /// Only files reviewlake's writer made (ingest, compaction).
    Written,
    /// Files of any origin (a migrated old-layout lake).
    Adopted,
}

/// Which version of a table to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableVersion {
    /// The latest commit.
    #[default]
    Latest,
    /// A given commit version (time travel).
    Version(u64),
    /// The latest commit made at or before this instant (time travel).
    AsOf(DateTime<Utc>),
}

/// The log store of one table: the lake's store with the table's folder as its root.
pub(crate) fn log_store(lake: &Lake, table: Table) -> LogStoreRef {
    let prefixed: Arc<dyn ObjectStore> = Arc::new(PrefixStore::new(
        lake.store().clone(),
        Path::from(table.dir()),
    ));
    Arc::new(LakeLogStore::new(default_logstore(
        prefixed,
        lake.root_store().clone(),
        &table_url(lake, table),
        &StorageConfig::default(),
    )))
}

/// The URL of a table's root folder.
pub fn table_url(lake: &Lake, table: Table) -> Url {
    let base = lake.url().as_str().trim_end_matches('/');
    Url::parse(&format!("{base}/{}/", table.dir())).unwrap_or_else(|_| lake.url().clone())
}

/// Opens a table at `version`; `None` when no commit exists yet.
pub(crate) async fn open(
    lake: &Lake,
    table: Table,
    version: TableVersion,
) -> Result<Option<DeltaTable>> {
    let mut delta = DeltaTable::new(log_store(lake, table));
    if !exists(&delta, table).await? {
        return Ok(None);
    }
    let loaded = match version {
        TableVersion::Latest => delta.load().await,
        TableVersion::Version(v) => delta.load_version(v).await,
        TableVersion::AsOf(at) => delta.load_with_datetime(at).await,
    };
    loaded.map_err(|e| Error::delta(table, "loading the table", e))?;
    Ok(Some(delta))
}

/// Whether the table has a commit. A table with a checkpoint says so in one read of its
/// `_last_checkpoint`; delta-rs' own check lists the log, which on local disk stats every entry
/// (1,100 on the 15M-review benchmark lake: a tenth of a query's time). A young table without a
/// checkpoint has a short log to list.
async fn exists(delta: &DeltaTable, table: Table) -> Result<bool> {
    let hint = Path::from("_delta_log/_last_checkpoint");
    if delta
        .log_store()
        .object_store(None)
        .head(&hint)
        .await
        .is_ok()
    {
        return Ok(true);
    }
    delta
        .verify_deltatable_existence()
        .await
        .map_err(|e| Error::delta(table, "looking for the table's log", e))
}

/// Opens the latest version of a table, creating the table (its first commit) when it does not
/// exist yet, declaring what its `files` will be. Two processes creating it at once both end
/// with the one table that won.
pub(crate) async fn open_or_create(lake: &Lake, table: Table, files: Files) -> Result<DeltaTable> {
    if let Some(delta) = open(lake, table, TableVersion::Latest).await? {
        return Ok(delta);
    }
    let created = deltalake::operations::create::CreateBuilder::new()
        .with_log_store(log_store(lake, table))
        .with_table_name(table.dir())
        .with_comment(match table {
            Table::Reviews => "Accepted reviews, one file per ingest batch (reviewlake)",
            Table::Rejected => "Records refused by validation, with their reason (reviewlake)",
        })
        .with_columns(delta_fields(table)?)
        .with_partition_columns([column::PART_TOPIC, column::PART_PARTITION])
        .with_configuration_property(
            deltalake::TableProperty::CheckpointInterval,
            Some(CHECKPOINT_INTERVAL),
        )
        .with_configuration(
            properties(table, table == Table::Reviews && files == Files::Written)
                .into_iter()
                .map(|(key, value)| (key, Some(value))),
        )
        // Our own property is not one of Delta's keys, which delta-rs refuses by default.
        .with_raise_if_key_not_exists(false)
        .with_save_mode(SaveMode::Ignore)
        .await;
    match created {
        Ok(delta) => Ok(delta),
        // Another process created it between our look and our commit.
        Err(DeltaTableError::Transaction { .. })
        | Err(DeltaTableError::VersionAlreadyExists(_)) => open(lake, table, TableVersion::Latest)
            .await?
            .ok_or_else(|| Error::Corrupt {
                key: table_url(lake, table).to_string(),
                reason: "the table's first commit could not be written nor read".into(),
            }),
        Err(e) => Err(Error::delta(table, "creating the table", e)),
    }
}

/// The Delta schema of a table: the columns of its files, then the partition columns.
pub(crate) fn delta_fields(table: Table) -> Result<Vec<StructField>> {
    let mut fields = file_schema(table)
        .fields()
        .iter()
        .map(|f| {
            let ty = match f.data_type() {
                DataType::Utf8 => DeltaType::STRING,
                DataType::Int32 => DeltaType::INTEGER,
                DataType::Int64 => DeltaType::LONG,
                DataType::Binary => DeltaType::BINARY,
                DataType::Timestamp(_, Some(_)) => DeltaType::TIMESTAMP,
                DataType::Timestamp(TimeUnit::Microsecond, None) => DeltaType::TIMESTAMP_NTZ,
                other => {
                    return Err(Error::Corrupt {
                        key: table.dir().into(),
                        reason: format!("column {} has no Delta type for {other}", f.name()),
                    });
                }
            };
            Ok(StructField::new(f.name(), ty, f.is_nullable()))
        })
        .collect::<Result<Vec<_>>>()?;
    fields.push(StructField::new(
        column::PART_TOPIC,
        DeltaType::STRING,
        false,
    ));
    fields.push(StructField::new(
        column::PART_PARTITION,
        DeltaType::INTEGER,
        false,
    ));
    Ok(fields)
}

/// The key and object path of a file a commit of `table` added, from its path relative to the
/// table.
pub(crate) fn committed_file(table: Table, path: &str) -> Result<(FileKey, Path)> {
    FileKey::parse_in(table, path).ok_or_else(|| Error::Corrupt {
        key: format!("{}/{path}", table.dir()),
        reason: "a committed file whose name is not in reviewlake's layout".into(),
    })
}

/// The `txn` application id under which a table records how far it has taken in one Kafka
/// partition (its version is the last offset taken in).
pub fn ingest_app_id(topic: &str, partition: i32) -> String {
    format!("reviewlake-ingest:{topic}:{partition}")
}

/// The `txn` application id compactions of one partition commit under, so that two compactions
/// of the same partition conflict and one of them retries.
pub(crate) fn compact_app_id(topic: &str, partition: i32) -> String {
    format!("reviewlake-compact:{topic}:{partition}")
}
