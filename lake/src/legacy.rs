//! Lakes written before the tables were Delta tables: Parquet files under `reviews/` and
//! `rejected/` with no Delta log. Readers refuse them with the command that converts them.

use futures::TryStreamExt;
use object_store::path::Path;

use crate::{Error, FileKey, Lake, Result, Table};

/// Fails with [`Error::OldLayout`] when `reviews/` holds old-layout data files but no Delta log.
pub(crate) async fn refuse_old_layout(lake: &Lake) -> Result<()> {
    let prefix = Path::from(Table::Reviews.dir());
    let mut listing = lake.store().list(Some(&prefix));
    while let Some(meta) = listing
        .try_next()
        .await
        .map_err(|e| Error::store(&prefix, e))?
    {
        if FileKey::parse(&meta.location).is_some_and(|k| k.tag.is_empty()) {
            return Err(Error::OldLayout {
                location: lake.url().to_string(),
            });
        }
    }
    Ok(())
}

/// What [`migrate`] committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrateSummary {
    pub partitions: u64,
    pub reviews_files: u64,
    pub reviews_rows: u64,
    pub rejected_files: u64,
    pub rejected_rows: u64,
    /// Files the old rule hid (compaction inputs, replays, uncommitted rejected files).
    pub left_out: u64,
}

/// One partition's old-layout files.
#[derive(Default)]
struct OldPartition {
    reviews: Vec<(FileKey, u64)>,
    rejected: Vec<(FileKey, u64)>,
}

impl OldPartition {
    /// The highest offset the old layout committed: the end of the last `reviews` file.
    fn last_committed(&self) -> Option<i64> {
        self.reviews.iter().map(|(k, _)| k.last_offset).max()
    }

    /// The files the old layout showed readers: committed, and not within another file's range.
    fn visible(&self, table: Table) -> Vec<(FileKey, u64)> {
        let files = match table {
            Table::Reviews => &self.reviews,
            Table::Rejected => &self.rejected,
        };
        let committed = self.last_committed().unwrap_or(-1);
        let mut sorted: Vec<&(FileKey, u64)> = files
            .iter()
            .filter(|(k, _)| k.last_offset <= committed)
            .collect();
        sorted.sort_by_key(|(k, _)| (k.first_offset, std::cmp::Reverse(k.last_offset)));
        let mut out = Vec::new();
        let mut high = -1;
        for (k, size) in sorted {
            if k.last_offset <= high {
                continue;
            }
            if k.first_offset <= high {
                tracing::warn!(key = %k.path().map(|p| p.to_string()).unwrap_or_default(), "file overlaps another file's offset range only in part; kept");
            }
            high = k.last_offset;
            out.push((k.clone(), *size));
        }
        out
    }
}

/// Turns a lake of the old layout into the two Delta tables without copying data: one commit
/// per table adds exactly the files the old rule showed, with stats, and a `txn` per partition
/// at the offset the old layout had committed. `rejected` commits first; run again after a
/// crash, a table that already has its commit is left as it is.
pub async fn migrate(lake: &Lake) -> Result<MigrateSummary> {
    use std::collections::BTreeMap;

    use deltalake::{
        kernel::{Action, Transaction},
        protocol::{DeltaOperation, SaveMode},
    };

    use crate::{
        TableVersion,
        commit::{DataFile, operation_metrics},
        compact::read_batches,
        delta::{Files, ingest_app_id, open, open_or_create},
        read_file_info,
    };

    if open(lake, Table::Reviews, TableVersion::Latest)
        .await?
        .is_some()
    {
        return Err(Error::Corrupt {
            key: lake.url().to_string(),
            reason: "the reviews table already is a Delta table: nothing to migrate".into(),
        });
    }
    let mut partitions: BTreeMap<(String, i32), OldPartition> = BTreeMap::new();
    for table in [Table::Reviews, Table::Rejected] {
        let prefix = Path::from(table.dir());
        let listed: Vec<_> = lake
            .store()
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| Error::store(&prefix, e))?;
        for meta in listed {
            let Some(key) = FileKey::parse(&meta.location).filter(|k| k.tag.is_empty()) else {
                continue;
            };
            let p = partitions
                .entry((key.topic.clone(), key.partition))
                .or_default();
            match table {
                Table::Reviews => p.reviews.push((key, meta.size)),
                Table::Rejected => p.rejected.push((key, meta.size)),
            }
        }
    }
    let mut summary = MigrateSummary {
        partitions: partitions.len() as u64,
        ..Default::default()
    };
    for table in [Table::Rejected, Table::Reviews] {
        let delta = open_or_create(lake, table, Files::Adopted).await?;
        let state = delta
            .snapshot()
            .map_err(|e| Error::delta(table, "reading", e))?;
        let done = state.log_data().num_files() > 0;
        let mut actions = Vec::new();
        let (mut files, mut rows) = (0u64, 0u64);
        for ((topic, partition), p) in &partitions {
            let visible = p.visible(table);
            let all = match table {
                Table::Reviews => p.reviews.len(),
                Table::Rejected => p.rejected.len(),
            };
            summary.left_out += (all - visible.len()) as u64;
            for (key, size) in visible {
                let info = read_file_info(lake, &key, size).await?;
                let batches = read_batches(lake, &key).await?;
                let file = DataFile {
                    rows: info.rows.max(0) as usize,
                    stats: crate::stats::file_stats(&batches),
                    key,
                    size,
                };
                files += 1;
                rows += file.rows as u64;
                actions.push(Action::Add(file.add(true)?));
            }
            if let Some(last) = p.last_committed() {
                actions.push(Action::Txn(Transaction::new(
                    ingest_app_id(topic, *partition),
                    last,
                )));
            }
        }
        match table {
            Table::Reviews => (summary.reviews_files, summary.reviews_rows) = (files, rows),
            Table::Rejected => (summary.rejected_files, summary.rejected_rows) = (files, rows),
        }
        if done || actions.is_empty() {
            continue;
        }
        crate::commit::commit_builder()
            .with_actions(actions)
            .with_app_metadata(operation_metrics(files as usize, rows as usize, 0, 0))
            .build(
                Some(state),
                delta.log_store(),
                DeltaOperation::Write {
                    mode: SaveMode::Append,
                    partition_by: None,
                    predicate: None,
                },
            )
            .await
            .map_err(|e| Error::delta(table, "committing the migrated files", e))?;
    }
    Ok(summary)
}
