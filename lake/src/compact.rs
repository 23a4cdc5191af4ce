//! Compaction: merge the small files of each Kafka partition into large ones, in one commit.
//!
//! For each table and partition, consecutive files are grouped up to a target row count and each
//! group is rewritten as one file covering the group's offset range. One Delta commit per table
//! removes the inputs and adds the merged files (`dataChange = false`: the rows are the same), so
//! every reader sees either the small files or the merged ones. Compaction deletes nothing (see
//! [`crate::vacuum`]). It runs beside a live ingest (ingest only adds files), and beside another
//! compaction: both commit a `txn` per partition compacted, so the second to commit conflicts,
//! reads the table again and merges what is left.

use std::collections::{BTreeMap, HashMap};

use arrow::array::RecordBatch;
use bytes::Bytes;
use deltalake::{
    DeltaTable,
    kernel::{Action, Remove, Transaction},
    protocol::DeltaOperation,
};
use futures::{StreamExt, TryStreamExt, stream};
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{
    BatchWriter, Error, FileInfo, FileKey, Lake, Result, Table, TableVersion, WriteOptions,
    commit::{is_conflict, operation_metrics},
    delta::{committed_file, compact_app_id, missing_properties, open, with_properties},
    read_file_info,
};

/// Attempts at a table's compaction commit that meets another compaction's.
const CONFLICT_ATTEMPTS: u32 = 5;

/// How to compact.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Rows per merged file (files already this large are left alone).
    pub target_rows: u64,
    /// Row group size of merged files.
    pub write: WriteOptions,
}

impl Default for CompactOptions {
    fn default() -> Self {
        Self {
            target_rows: 524_288,
            write: WriteOptions {
                row_group_rows: 131_072,
                ..WriteOptions::default()
            },
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactSummary {
    /// Files merged away.
    pub inputs: u64,
    /// Merged files written.
    pub outputs: u64,
    /// Rows rewritten.
    pub rows: u64,
    /// Commits made (one per table compacted).
    pub commits: u64,
    pub bytes_before: u64,
    pub bytes_after: u64,
}

/// Groups consecutive files up to `target` rows. Groups of two or more are merged; with
/// `order_alone`, a file that lacks the arrival-order claim is rewritten in order even alone.
fn plan(files: &[FileInfo], target: u64, order_alone: bool) -> Vec<Vec<FileInfo>> {
    let mut groups = Vec::new();
    let mut current: Vec<FileInfo> = Vec::new();
    let mut rows = 0u64;
    for f in files {
        let r = f.rows.max(0) as u64;
        let contiguous = current
            .last()
            .is_none_or(|prev| prev.key.last_offset < f.key.first_offset);
        if !current.is_empty() && (rows + r > target || !contiguous) {
            groups.push(std::mem::take(&mut current));
            rows = 0;
        }
        current.push(f.clone());
        rows += r;
    }
    groups.push(current);
    groups
        .into_iter()
        .filter(|g| g.len() > 1 || (order_alone && g.iter().any(|f| !f.arrival_order)))
        .collect()
}

pub(crate) async fn read_batches(lake: &Lake, key: &FileKey) -> Result<Vec<RecordBatch>> {
    let path = key.path()?;
    let bytes: Bytes = lake
        .store()
        .get(&path)
        .await
        .map_err(|e| Error::store(&path, e))?
        .bytes()
        .await
        .map_err(|e| Error::store(&path, e))?;
    let parquet = |source| Error::Parquet {
        key: path.to_string(),
        source,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(parquet)?
        .with_batch_size(65_536)
        .build()
        .map_err(parquet)?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    match key.table {
        // Files written before `review_length` existed gain it when merged.
        Table::Reviews => Ok(batches
            .into_iter()
            .map(crate::conform_reviews)
            .collect::<Result<_, _>>()?),
        Table::Rejected => Ok(batches),
    }
}

/// Compacts every partition of both tables. `progress` is called after each merged file.
pub async fn compact(
    lake: &Lake,
    options: &CompactOptions,
    mut progress: impl FnMut(&CompactSummary),
) -> Result<CompactSummary> {
    let writer = BatchWriter::new(lake.clone(), options.write.clone());
    let mut summary = CompactSummary::default();
    for table in [Table::Reviews, Table::Rejected] {
        let Some(mut delta) = open(lake, table, TableVersion::Latest).await? else {
            continue;
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            if attempt > 1 {
                delta
                    .update_state()
                    .await
                    .map_err(|e| Error::delta(table, "reading the latest commit", e))?;
            }
            let mut table_summary = CompactSummary::default();
            let mut actions = Vec::new();
            let state = delta
                .snapshot()
                .map_err(|e| Error::delta(table, "reading", e))?;
            let mut removes: HashMap<FileKey, Remove> = HashMap::new();
            let mut partitions: BTreeMap<(String, i32), Vec<(FileKey, u64)>> = BTreeMap::new();
            for f in state.log_data().iter() {
                let (key, _) = committed_file(table, &f.path())?;
                partitions
                    .entry((key.topic.clone(), key.partition))
                    .or_default()
                    .push((key.clone(), f.size().max(0) as u64));
                removes.insert(key, f.remove_action(false));
            }
            for ((topic, partition), mut files) in partitions {
                files.sort_by_key(|(k, _)| k.first_offset);
                let infos: Vec<FileInfo> = stream::iter(&files)
                    .map(|(key, size)| read_file_info(lake, key, *size))
                    .buffered(16)
                    .try_collect()
                    .await?;
                // Reviews files written before the lake kept arrival order are rewritten in it,
                // so that every file of the table can claim it (see `order`).
                let groups = plan(&infos, options.target_rows, table == Table::Reviews);
                if groups.is_empty() {
                    continue;
                }
                for group in &groups {
                    let (first, last) = (&group[0].key, &group[group.len() - 1].key);
                    let key = FileKey::new(
                        table,
                        &first.topic,
                        first.partition,
                        first.first_offset,
                        last.last_offset,
                    );
                    let mut batches = Vec::new();
                    for f in group {
                        batches.extend(read_batches(lake, &f.key).await?);
                    }
                    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
                    let expected: i64 = group.iter().map(|f| f.rows).sum();
                    if rows as i64 != expected {
                        return Err(Error::Corrupt {
                            key: key.path()?.to_string(),
                            reason: format!(
                                "inputs hold {rows} rows but their footers say {expected}"
                            ),
                        });
                    }
                    let merged = writer.put_file(key, &batches).await?;
                    for f in group {
                        let remove = removes.remove(&f.key).ok_or_else(|| Error::Corrupt {
                            key: f.key.path().map(|p| p.to_string()).unwrap_or_default(),
                            reason: "a file of the snapshot is missing from its table's log".into(),
                        })?;
                        actions.push(Action::Remove(remove));
                    }
                    tracing::info!(key = %merged.key.path()?, files = group.len(), rows, "merged");
                    actions.push(Action::Add(merged.add(false)?));
                    table_summary.inputs += group.len() as u64;
                    table_summary.outputs += 1;
                    table_summary.rows += rows as u64;
                    table_summary.bytes_before += group.iter().map(|f| f.size).sum::<u64>();
                    table_summary.bytes_after += merged.size;
                    let mut shown = summary.clone();
                    shown.add(&table_summary);
                    progress(&shown);
                }
                actions.push(Action::Txn(Transaction::new_with_last_update(
                    compact_app_id(&topic, partition),
                    state.version() as i64,
                    Some(chrono::Utc::now().timestamp_millis()),
                )));
            }
            // The commit also adds the table properties the table lacks: those an older
            // reviewlake did not set, and for `reviews` the files' arrival order (a table made by
            // `lake migrate`, or before the declaration existed): the plan rewrote every file that
            // lacked the claim, and ingest writes only files that make it.
            let properties = missing_properties(state.metadata(), table);
            if !properties.is_empty() {
                actions.push(Action::Metadata(with_properties(
                    state.metadata(),
                    &properties,
                    table,
                )?));
            }
            let mut set: Vec<String> = properties.keys().cloned().collect();
            set.sort_unstable();
            let operation = match table_summary.outputs {
                0 if properties.is_empty() => break,
                0 => DeltaOperation::SetTableProperties { properties },
                _ => DeltaOperation::Optimize {
                    predicate: None,
                    target_size: options.target_rows as i64,
                },
            };
            let committed = crate::commit::commit_builder()
                .with_actions(actions)
                .with_app_metadata(operation_metrics(
                    table_summary.outputs as usize,
                    table_summary.rows as usize,
                    table_summary.inputs as usize,
                    table_summary.rows as usize,
                ))
                .build(Some(state), delta.log_store(), operation)
                .await;
            match committed {
                Ok(done) => {
                    tracing::info!(table = %table, version = done.version(), files = table_summary.inputs, properties = ?set, "compaction committed");
                    checkpoint(&mut delta, table).await?;
                    table_summary.commits = 1;
                    summary.add(&table_summary);
                    break;
                }
                Err(e) if is_conflict(&e) && attempt < CONFLICT_ATTEMPTS => {
                    tracing::warn!(table = %table, attempt, "another compaction committed first; planning again on the new snapshot");
                }
                Err(e) => return Err(Error::delta(table, "committing the compaction", e)),
            }
        }
    }
    Ok(summary)
}

/// Writes a Delta checkpoint of `table`'s latest version. After a compaction most of the log is
/// adds and removes that cancel out; a checkpoint lets every reader load one Parquet file
/// instead of replaying them all.
async fn checkpoint(delta: &mut DeltaTable, table: Table) -> Result<()> {
    delta
        .update_state()
        .await
        .map_err(|e| Error::delta(table, "reading the latest commit", e))?;
    deltalake::checkpoints::create_checkpoint(delta, None)
        .await
        .map_err(|e| Error::delta(table, "writing a checkpoint", e))
}

impl CompactSummary {
    fn add(&mut self, other: &CompactSummary) {
        self.inputs += other.inputs;
        self.outputs += other.outputs;
        self.rows += other.rows;
        self.commits += other.commits;
        self.bytes_before += other.bytes_before;
        self.bytes_after += other.bytes_after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(first: i64, last: i64, rows: i64) -> FileInfo {
        file_info(first, last, rows, true)
    }

    fn file_info(first: i64, last: i64, rows: i64, arrival_order: bool) -> FileInfo {
        FileInfo {
            key: FileKey {
                table: Table::Reviews,
                topic: "t".into(),
                partition: 0,
                first_offset: first,
                last_offset: last,
                tag: String::new(),
            },
            size: 100,
            rows,
            arrival_order,
        }
    }

    #[test]
    fn groups_consecutive_files_up_to_the_target() {
        let files: Vec<_> = (0..5).map(|i| info(i * 10, i * 10 + 9, 10)).collect();
        let groups = plan(&files, 20, true);
        let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2], "the fifth file stays alone");
    }

    #[test]
    fn large_files_are_left_alone() {
        let files = vec![info(0, 99, 100), info(100, 109, 10)];
        assert!(plan(&files, 100, true).is_empty());
    }

    #[test]
    fn a_file_without_the_order_claim_is_rewritten_even_alone() {
        let files = vec![file_info(0, 99, 100, false), info(100, 109, 10)];
        let groups = plan(&files, 100, true);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0], [files[0].clone()]);
        assert!(
            plan(&files, 100, false).is_empty(),
            "rejected files claim no order"
        );
    }
}
