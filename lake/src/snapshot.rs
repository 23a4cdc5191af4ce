//! What a reader sees: the committed files of each Kafka partition, and where ingest resumes.

use std::collections::{BTreeMap, HashSet};

use futures::{StreamExt, TryStreamExt, stream};
use object_store::{ObjectMeta, path::Path};

use crate::{Error, FileInfo, FileKey, Lake, Result, Table, read_file_info};

/// One data file as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedFile {
    pub key: FileKey,
    pub size: u64,
}

/// The files of one Kafka partition.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionState {
    pub topic: String,
    pub partition: i32,
    reviews: Vec<ListedFile>,
    rejected: Vec<ListedFile>,
}

impl PartitionState {
    /// The highest offset committed to the lake: the end of the last `reviews` file, which is
    /// written after the batch's rejected records.
    pub fn last_committed(&self) -> Option<i64> {
        self.reviews.iter().map(|f| f.key.last_offset).max()
    }

    /// The offset ingest resumes from.
    pub fn next_offset(&self) -> Option<i64> {
        self.last_committed().map(|o| o + 1)
    }

    /// Files a reader should see. A file whose offset range lies within another file's range of
    /// the same table is hidden: it is either the input of a compaction that already wrote its
    /// output, or a replay of a range that another writer already committed. Rejected files
    /// beyond the last commit are hidden too: a crash left them before their range committed.
    pub fn visible(&self, table: Table) -> Vec<&ListedFile> {
        let files = match table {
            Table::Reviews => &self.reviews,
            Table::Rejected => &self.rejected,
        };
        let committed = self.last_committed().unwrap_or(-1);
        let mut sorted: Vec<&ListedFile> = files
            .iter()
            .filter(|f| f.key.last_offset <= committed)
            .collect();
        // Widest first among equal starts, so covered files come after the one covering them.
        sorted.sort_by_key(|f| (f.key.first_offset, std::cmp::Reverse(f.key.last_offset)));
        let mut out: Vec<&ListedFile> = Vec::with_capacity(sorted.len());
        let mut high = -1;
        for f in sorted {
            if f.key.last_offset <= high {
                continue;
            }
            if f.key.first_offset <= high {
                tracing::warn!(
                    key = %f.key.path().map(|p| p.to_string()).unwrap_or_default(),
                    "file overlaps another file's offset range only in part"
                );
            }
            high = f.key.last_offset;
            out.push(f);
        }
        out
    }

    /// Files that no reader sees: covered files and uncommitted rejected files.
    pub fn hidden(&self) -> Vec<&ListedFile> {
        let visible = self.visible_keys();
        self.reviews
            .iter()
            .chain(&self.rejected)
            .filter(|f| !visible.contains(&f.key))
            .collect()
    }

    /// Keys of the files a reader sees, in both tables.
    fn visible_keys(&self) -> HashSet<&FileKey> {
        [Table::Reviews, Table::Rejected]
            .into_iter()
            .flat_map(|t| self.visible(t))
            .map(|f| &f.key)
            .collect()
    }

    /// Files covered by another file of the same table: compaction inputs whose output is
    /// written, or replays. Safe to delete.
    pub fn covered(&self) -> Vec<&ListedFile> {
        self.hidden()
            .into_iter()
            .filter(|f| {
                self.reviews
                    .iter()
                    .chain(&self.rejected)
                    .any(|o| o.key != f.key && f.key.is_covered_by(&o.key))
            })
            .collect()
    }

    /// Rejected files beyond the last commit, which a crash left behind.
    pub fn uncommitted(&self) -> Vec<&ListedFile> {
        let committed = self.last_committed().unwrap_or(-1);
        self.rejected
            .iter()
            .filter(|f| f.key.last_offset > committed)
            .collect()
    }

    fn add(&mut self, file: ListedFile) {
        match file.key.table {
            Table::Reviews => self.reviews.push(file),
            Table::Rejected => self.rejected.push(file),
        }
    }
}

/// Per-partition file listings of a lake, or of one topic or partition of it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    partitions: BTreeMap<(String, i32), PartitionState>,
}

impl Snapshot {
    /// Lists the whole lake.
    pub async fn load(lake: &Lake) -> Result<Self> {
        let mut snapshot = Snapshot::default();
        for table in [Table::Reviews, Table::Rejected] {
            snapshot.add_listing(lake, &table.prefix()).await?;
        }
        Ok(snapshot)
    }

    /// Lists one Kafka partition's files (what ingest needs on assignment).
    pub async fn load_partition(
        lake: &Lake,
        topic: &str,
        partition: i32,
    ) -> Result<PartitionState> {
        let mut snapshot = Snapshot::default();
        for table in [Table::Reviews, Table::Rejected] {
            let prefix = table.partition_prefix(topic, partition)?;
            snapshot.add_listing(lake, &prefix).await?;
        }
        Ok(snapshot
            .partitions
            .remove(&(topic.to_string(), partition))
            .unwrap_or_else(|| PartitionState {
                topic: topic.to_string(),
                partition,
                ..Default::default()
            }))
    }

    async fn add_listing(&mut self, lake: &Lake, prefix: &Path) -> Result<()> {
        let listed: Vec<ObjectMeta> = lake
            .store()
            .list(Some(prefix))
            .try_collect()
            .await
            .map_err(|e| Error::store(prefix, e))?;
        self.add_metas(&listed);
        Ok(())
    }

    /// Builds a snapshot from a listing (keys that are not data files are ignored).
    pub(crate) fn from_metas(listed: &[ObjectMeta]) -> Self {
        let mut snapshot = Snapshot::default();
        snapshot.add_metas(listed);
        snapshot
    }

    /// Keys of the files a reader sees, in every partition and both tables.
    pub(crate) fn visible_keys(&self) -> HashSet<&FileKey> {
        self.partitions().flat_map(|p| p.visible_keys()).collect()
    }

    fn add_metas(&mut self, listed: &[ObjectMeta]) {
        for meta in listed {
            if let Some(key) = FileKey::parse(&meta.location) {
                let state = self
                    .partitions
                    .entry((key.topic.clone(), key.partition))
                    .or_insert_with(|| PartitionState {
                        topic: key.topic.clone(),
                        partition: key.partition,
                        ..Default::default()
                    });
                state.add(ListedFile {
                    key,
                    size: meta.size,
                });
            }
        }
    }

    /// Every partition, ordered by topic then partition.
    pub fn partitions(&self) -> impl Iterator<Item = &PartitionState> {
        self.partitions.values()
    }

    /// The files of `table` a reader should see, in topic, partition and offset order.
    pub fn visible(&self, table: Table) -> Vec<&ListedFile> {
        self.partitions().flat_map(|p| p.visible(table)).collect()
    }

    /// Reads the footers of the visible files of `table`, `concurrency` at a time.
    pub async fn file_infos(
        &self,
        lake: &Lake,
        table: Table,
        concurrency: usize,
    ) -> Result<Vec<FileInfo>> {
        stream::iter(self.visible(table))
            .map(|f| read_file_info(lake, &f.key, f.size))
            .buffered(concurrency.max(1))
            .try_collect()
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::RecordBatch;
    use object_store::memory::InMemory;

    use super::*;
    use crate::{
        BatchWriter, Rejected, RejectedBuilder, ReviewBuilder, SourcePosition, WriteOptions,
    };

    const TOPIC: &str = "t";

    fn lake() -> Lake {
        Lake::from_store(
            Arc::new(InMemory::new()),
            url::Url::parse("memory://").unwrap(),
        )
    }

    fn batches(first: i64, last: i64, rejected_at: &[i64]) -> (RecordBatch, RecordBatch) {
        let mut good = ReviewBuilder::default();
        let mut bad = RejectedBuilder::default();
        for offset in first..=last {
            let pos = SourcePosition {
                partition: 0,
                offset,
                timestamp_ms: None,
            };
            if rejected_at.contains(&offset) {
                let r = Rejected {
                    key: None,
                    payload: Some(b"x"),
                    reason: "bad".into(),
                    field: None,
                };
                bad.append(&r, &pos);
            } else {
                let id = format!("id-{offset}");
                let review = crate::Review {
                    review_id: id.as_str().into(),
                    review_rating: 3,
                    ..Default::default()
                };
                good.append(&review, &pos);
            }
        }
        (good.finish(TOPIC).unwrap(), bad.finish(TOPIC).unwrap())
    }

    async fn write(lake: &Lake, first: i64, last: i64, rejected_at: &[i64]) {
        let (good, bad) = batches(first, last, rejected_at);
        BatchWriter::new(lake.clone(), WriteOptions::default())
            .write(TOPIC, 0, (first, last), &good, Some(&bad))
            .await
            .unwrap();
    }

    async fn state(lake: &Lake) -> PartitionState {
        Snapshot::load_partition(lake, TOPIC, 0).await.unwrap()
    }

    fn ranges(files: Vec<&ListedFile>) -> Vec<(i64, i64)> {
        files
            .iter()
            .map(|f| (f.key.first_offset, f.key.last_offset))
            .collect()
    }

    #[tokio::test]
    async fn empty_partition_resumes_from_the_beginning() {
        assert_eq!(state(&lake()).await.next_offset(), None);
    }

    #[tokio::test]
    async fn resume_is_after_the_last_committed_offset() {
        let lake = lake();
        write(&lake, 0, 9, &[]).await;
        write(&lake, 10, 19, &[12]).await;
        assert_eq!(state(&lake).await.next_offset(), Some(20));
    }

    #[tokio::test]
    async fn a_replayed_batch_lands_on_the_same_key() {
        let lake = lake();
        write(&lake, 0, 9, &[3]).await;
        write(&lake, 0, 9, &[3]).await;
        let s = state(&lake).await;
        assert_eq!(ranges(s.visible(Table::Reviews)), [(0, 9)]);
        assert_eq!(ranges(s.visible(Table::Rejected)), [(0, 9)]);
    }

    #[tokio::test]
    async fn covered_files_are_hidden_from_readers() {
        let lake = lake();
        // Small files, then a merged file over the same range (a compaction's output).
        write(&lake, 0, 9, &[]).await;
        write(&lake, 10, 19, &[]).await;
        write(&lake, 0, 19, &[]).await;
        write(&lake, 20, 29, &[]).await;
        let s = state(&lake).await;
        assert_eq!(ranges(s.visible(Table::Reviews)), [(0, 19), (20, 29)]);
        assert_eq!(ranges(s.hidden()), [(0, 9), (10, 19)]);
    }

    #[tokio::test]
    async fn rejected_file_without_its_commit_is_uncommitted_and_hidden() {
        let lake = lake();
        write(&lake, 0, 9, &[]).await;
        // A crash between the rejected file and the reviews file of range 10..=19.
        let (_, bad) = batches(10, 19, &[15]);
        let writer = BatchWriter::new(lake.clone(), WriteOptions::default());
        let key = crate::FileKey {
            table: Table::Rejected,
            topic: TOPIC.into(),
            partition: 0,
            first_offset: 10,
            last_offset: 19,
        };
        let data = writer.encode(&key, &bad).unwrap();
        use object_store::ObjectStoreExt;
        lake.store()
            .put(&key.path().unwrap(), data.into())
            .await
            .unwrap();
        let s = state(&lake).await;
        assert_eq!(s.next_offset(), Some(10), "the range is not committed");
        assert!(s.visible(Table::Rejected).is_empty());
        assert_eq!(ranges(s.uncommitted()), [(10, 19)]);
    }

    #[tokio::test]
    async fn footer_metadata_matches_the_key() {
        let lake = lake();
        write(&lake, 5, 14, &[7, 8]).await;
        let snapshot = Snapshot::load(&lake).await.unwrap();
        let infos = snapshot.file_infos(&lake, Table::Reviews, 4).await.unwrap();
        assert_eq!(infos.len(), 1);
        assert_eq!(infos[0].rows, 8);
        let rejected = snapshot
            .file_infos(&lake, Table::Rejected, 4)
            .await
            .unwrap();
        assert_eq!(rejected[0].rows, 2);
    }
}
