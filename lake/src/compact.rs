//! Compaction: merge the small files of each Kafka partition into large ones.
//!
//! For each partition and table, consecutive visible files are grouped up to a target row count
//! and each group is rewritten as one file covering the group's whole offset range. The merged
//! file hides its inputs from readers the moment it exists (see [`crate::PartitionState::visible`]);
//! the inputs are deleted after. A crash at any point leaves either the inputs, or the merged
//! file beside hidden inputs that the next run deletes: readers never see a row twice or miss
//! one. The ingest job's resume point (the highest committed offset) is unchanged by a merge, so
//! compaction can run beside a live ingest. Run one compaction at a time.

use arrow::array::RecordBatch;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use object_store::{ObjectStoreExt, PutMode};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{
    BatchWriter, Error, FileInfo, FileKey, Lake, Result, Snapshot, Table, WriteOptions,
    read_file_info,
};

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
                zstd_level: 3,
                row_group_rows: 131_072,
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
    /// Hidden leftovers (of earlier crashes or compactions) deleted.
    pub leftovers_deleted: u64,
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

async fn read_batches(lake: &Lake, key: &FileKey) -> Result<Vec<RecordBatch>> {
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

/// Compacts every partition of the lake. `progress` is called after each merged file.
pub async fn compact(
    lake: &Lake,
    options: &CompactOptions,
    mut progress: impl FnMut(&CompactSummary),
) -> Result<CompactSummary> {
    let writer = BatchWriter::new(lake.clone(), options.write.clone());
    let snapshot = Snapshot::load(lake).await?;
    let mut summary = CompactSummary::default();
    for state in snapshot.partitions() {
        // Leftovers first: files already covered by a merged file.
        for f in state.covered() {
            writer.delete(&f.key.path()?).await?;
            summary.leftovers_deleted += 1;
        }
        for table in [Table::Reviews, Table::Rejected] {
            let visible: Vec<_> = state.visible(table).into_iter().cloned().collect();
            let infos: Vec<FileInfo> = stream::iter(&visible)
                .map(|f| read_file_info(lake, &f.key, f.size))
                .buffered(16)
                .try_collect()
                .await?;
            // Reviews files written before the lake kept arrival order are rewritten in it, so
            // that every file of the table can claim it (see `order`).
            for group in plan(&infos, options.target_rows, table == Table::Reviews) {
                let (first, last) = (group[0].key.clone(), group[group.len() - 1].key.clone());
                let key = FileKey {
                    first_offset: first.first_offset,
                    last_offset: last.last_offset,
                    ..first
                };
                let mut batches = Vec::new();
                for f in &group {
                    batches.extend(read_batches(lake, &f.key).await?);
                }
                let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
                let expected: i64 = group.iter().map(|f| f.rows).sum();
                if rows as i64 != expected {
                    return Err(Error::Corrupt {
                        key: key.path()?.to_string(),
                        reason: format!("inputs hold {rows} rows but their footers say {expected}"),
                    });
                }
                let data = writer.encode_batches(&key, &batches)?;
                let size = data.len() as u64;
                let path = key.path()?;
                if let [alone] = group.as_slice() {
                    // One file rewritten in arrival order keeps its key, hence its offset range:
                    // the put replaces it atomically with the same rows.
                    debug_assert_eq!(alone.key, key);
                    writer.put(&path, data, PutMode::Overwrite).await?;
                } else {
                    // An identical output left by a killed run may already be there.
                    writer.put(&path, data, PutMode::Create).await?;
                    // The merged file now hides its inputs; delete them.
                    for f in &group {
                        writer.delete(&f.key.path()?).await?;
                    }
                }
                summary.inputs += group.len() as u64;
                summary.outputs += 1;
                summary.rows += rows as u64;
                summary.bytes_before += group.iter().map(|f| f.size).sum::<u64>();
                summary.bytes_after += size;
                tracing::info!(key = %path, files = group.len(), rows, "merged");
                progress(&summary);
            }
        }
    }
    Ok(summary)
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
