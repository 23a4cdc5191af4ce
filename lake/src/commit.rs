//! Committing ingest's files to the two tables, exactly once per Kafka offset.
//!
//! Each table records, per Kafka partition, the last offset it has taken in: a Delta `txn` action
//! whose application id names the topic and partition ([`crate::delta::ingest_app_id`]). A group
//! of batches commits its rejected records first, then its reviews, each commit carrying the new
//! `txn` versions. Before committing, the committer checks that both tables still hold the
//! versions it last saw for each partition; the commit itself conflicts with any other commit of
//! the same application ids made since (delta-rs' conflict check). So a member that lost its
//! partitions, or any second writer, cannot land a record twice: its check fails, it drops what
//! it holds for that partition, and resumes from what the tables hold ([`Moved`]).

use std::collections::{BTreeMap, HashMap};

use deltalake::{
    DeltaTable, DeltaTableError,
    kernel::{
        Action, Add, Transaction,
        transaction::{CommitBuilder, CommitProperties},
    },
    protocol::{DeltaOperation, SaveMode},
};
use futures::{StreamExt, TryStreamExt};
use serde_json::json;

use crate::{
    Error, FileKey, Lake, Result, Table,
    delta::{Files, ingest_app_id, open_or_create},
};

/// One data file put into a table's folder, not yet committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFile {
    pub key: FileKey,
    pub size: u64,
    pub rows: usize,
    /// Delta statistics JSON (see `stats`).
    pub stats: String,
}

impl DataFile {
    /// The Delta `add` action of this file.
    pub(crate) fn add(&self, data_change: bool) -> Result<Add> {
        Ok(Add {
            path: self.key.table_path()?,
            partition_values: self.key.partition_values(),
            size: self.size as i64,
            modification_time: chrono::Utc::now().timestamp_millis(),
            data_change,
            stats: Some(self.stats.clone()),
            ..Default::default()
        })
    }
}

/// The files of one batch: the Kafka offsets `first..=last` of one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenBatch {
    pub topic: String,
    pub partition: i32,
    pub first: i64,
    pub last: i64,
    /// Accepted reviews (none when every record of the range was rejected).
    pub reviews: Option<DataFile>,
    /// Rejected records (none when the range held none past the rejected table's version).
    pub rejected: Option<DataFile>,
}

impl WrittenBatch {
    /// Bytes written in all.
    pub fn bytes(&self) -> u64 {
        self.reviews
            .iter()
            .chain(&self.rejected)
            .map(|f| f.size)
            .sum()
    }

    /// Rows written in all (reviews, rejected).
    pub fn rows(&self) -> (usize, usize) {
        let rows = |f: &Option<DataFile>| f.as_ref().map_or(0, |f| f.rows);
        (rows(&self.reviews), rows(&self.rejected))
    }
}

/// How far each table has taken in one Kafka partition: the `txn` versions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TakenIn {
    /// Last offset the `reviews` table holds (every batch commits here last).
    pub reviews: Option<i64>,
    /// Last offset the `rejected` table holds; ahead of `reviews` after a crash between the two
    /// commits of a batch, when the replay must skip rejected records up to it.
    pub rejected: Option<i64>,
}

impl TakenIn {
    /// The offset to resume from (`None`: the partition is new to the tables).
    pub fn next_offset(&self) -> Option<i64> {
        self.reviews.map(|o| o + 1)
    }
}

/// A partition whose tables moved under this writer: another writer committed to it. What this
/// writer held for it was dropped; it resumes from `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    pub partition: i32,
    pub expected: TakenIn,
    pub now: TakenIn,
}

/// What one [`Committer::commit`] did.
#[derive(Debug, Default)]
pub struct Committed {
    /// Batches that landed.
    pub batches: Vec<WrittenBatch>,
    /// Partitions that another writer had moved; their batches did not land.
    pub moved: Vec<Moved>,
    /// Commits made (zero, one or two: rejected, then reviews).
    pub commits: u32,
    /// Table versions after the commit (reviews), if it committed.
    pub reviews_version: Option<u64>,
}

/// Attempts at a commit that meets another writer's commit of the same partitions.
const CONFLICT_ATTEMPTS: u32 = 3;

/// Ingest's writer of commits for one topic.
pub struct Committer {
    topic: String,
    reviews: DeltaTable,
    rejected: DeltaTable,
    /// What this writer last saw the tables hold, per partition.
    known: HashMap<i32, TakenIn>,
    /// The table versions (reviews, rejected) at which every partition of `known` was last
    /// checked: while the tables stand there, no other writer has committed anything, and the
    /// `txn` versions need not be read again (each read replays part of the log).
    checked_at: Option<(u64, u64)>,
}

impl Committer {
    /// Opens (creating if needed) both tables of `lake`.
    pub async fn open(lake: &Lake, topic: &str) -> Result<Self> {
        crate::layout::check_topic(topic)?;
        Ok(Self {
            topic: topic.to_string(),
            reviews: open_or_create(lake, Table::Reviews, Files::Written).await?,
            rejected: open_or_create(lake, Table::Rejected, Files::Written).await?,
            known: HashMap::new(),
            checked_at: None,
        })
    }

    /// Reads where both tables stand for `partition` and remembers it: the next commit of this
    /// partition lands only if they still stand there.
    pub async fn resume(&mut self, partition: i32) -> Result<TakenIn> {
        self.refresh().await?;
        let taken = self.taken_in(partition).await?;
        self.known.insert(partition, taken);
        self.checked_at = None;
        Ok(taken)
    }

    /// Where both tables stand now for each of `partitions`, without remembering it.
    /// Each read replays part of the log; a few run at once.
    pub async fn standing(&mut self, partitions: &[i32]) -> Result<Vec<TakenIn>> {
        if partitions.is_empty() {
            return Ok(Vec::new());
        }
        self.refresh().await?;
        let this = &*self;
        futures::stream::iter(partitions)
            .map(|&partition| this.taken_in(partition))
            .buffered(4)
            .try_collect()
            .await
    }

    /// Where this writer last saw both tables stand for `partition` (its own commits included),
    /// without reading the tables. `txn` versions only grow, so the tables stand there or
    /// further.
    pub fn last_seen(&self, partition: i32) -> Option<TakenIn> {
        self.known.get(&partition).copied()
    }

    /// Forgets a partition (revoked).
    pub fn release(&mut self, partition: i32) {
        self.known.remove(&partition);
    }

    /// How far the loaded snapshots have taken in `partition`.
    async fn taken_in(&self, partition: i32) -> Result<TakenIn> {
        taken_in(
            Some(&self.reviews),
            Some(&self.rejected),
            &self.topic,
            partition,
        )
        .await
    }

    /// The loaded versions of (reviews, rejected).
    fn versions(&self) -> (u64, u64) {
        (
            self.reviews.version().unwrap_or(0),
            self.rejected.version().unwrap_or(0),
        )
    }

    async fn refresh(&mut self) -> Result<()> {
        for (delta, table) in [
            (&mut self.reviews, Table::Reviews),
            (&mut self.rejected, Table::Rejected),
        ] {
            delta
                .update_state()
                .await
                .map_err(|e| Error::delta(table, "reading the latest commit", e))?;
        }
        Ok(())
    }

    /// Commits `batches` (any partitions, each partition's batches in offset order): rejected
    /// records first, then reviews. Batches of a partition that another writer has moved since
    /// [`Committer::resume`] are dropped and reported in [`Committed::moved`].
    pub async fn commit(&mut self, batches: Vec<WrittenBatch>) -> Result<Committed> {
        let mut out = Committed::default();
        let mut pending: BTreeMap<i32, Vec<WrittenBatch>> = BTreeMap::new();
        for b in batches {
            if b.topic != self.topic {
                return Err(Error::Corrupt {
                    key: b.topic.clone(),
                    reason: format!(
                        "batch of another topic given to the {} committer",
                        self.topic
                    ),
                });
            }
            pending.entry(b.partition).or_default().push(b);
        }
        for list in pending.values_mut() {
            list.sort_by_key(|b| b.first);
        }
        self.refresh().await?;
        self.drop_moved(&mut pending, &mut out).await?;
        for table in [Table::Rejected, Table::Reviews] {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let actions = self.actions(table, &pending)?;
                if actions.is_empty() {
                    break;
                }
                let delta = match table {
                    Table::Reviews => &self.reviews,
                    Table::Rejected => &self.rejected,
                };
                let files = actions
                    .iter()
                    .filter(|a| matches!(a, Action::Add(_)))
                    .count();
                let rows: usize = pending
                    .values()
                    .flatten()
                    .map(|b| match table {
                        Table::Reviews => b.rows().0,
                        Table::Rejected => b.rows().1,
                    })
                    .sum();
                let snapshot = delta
                    .snapshot()
                    .map_err(|e| Error::delta(table, "reading", e))?;
                let read_version = snapshot.version();
                let committed = commit_builder()
                    .with_actions(actions)
                    .with_app_metadata(operation_metrics(files, rows, 0, 0))
                    .build(
                        Some(snapshot),
                        delta.log_store(),
                        DeltaOperation::Write {
                            mode: SaveMode::Append,
                            partition_by: Some(vec![
                                crate::column::PART_TOPIC.into(),
                                crate::column::PART_PARTITION.into(),
                            ]),
                            predicate: None,
                        },
                    )
                    .await;
                match committed {
                    Ok(done) => {
                        out.commits += 1;
                        // Right after the version read, no other commit came between: the
                        // check of every known partition still holds at the new version.
                        let unbroken = done.version() == read_version + 1;
                        self.checked_at =
                            self.checked_at
                                .filter(|_| unbroken)
                                .map(|(r, j)| match table {
                                    Table::Reviews => (done.version(), j),
                                    Table::Rejected => (r, done.version()),
                                });
                        if table == Table::Reviews {
                            out.reviews_version = Some(done.version());
                        }
                        for (partition, list) in &pending {
                            let known = self.known.entry(*partition).or_default();
                            let last = list.last().map(|b| b.last);
                            match table {
                                Table::Reviews => known.reviews = last,
                                Table::Rejected if list.iter().any(|b| b.rejected.is_some()) => {
                                    known.rejected = last
                                }
                                Table::Rejected => {}
                            }
                        }
                        break;
                    }
                    // Another writer committed to one of our partitions meanwhile: look again.
                    Err(e) if is_conflict(&e) && attempt < CONFLICT_ATTEMPTS => {
                        tracing::warn!(table = %table, attempt, "commit met another writer's commit of the same partitions; checking again");
                        self.refresh().await?;
                        self.drop_moved(&mut pending, &mut out).await?;
                    }
                    Err(e) => return Err(Error::delta(table, "committing", e)),
                }
            }
        }
        out.batches = pending.into_values().flatten().collect();
        Ok(out)
    }

    /// Checks every partition this writer knows (unless no other commit landed since the last
    /// check) and drops the batches of those whose tables no longer stand where it saw them.
    async fn drop_moved(
        &mut self,
        pending: &mut BTreeMap<i32, Vec<WrittenBatch>>,
        out: &mut Committed,
    ) -> Result<()> {
        if self.checked_at != Some(self.versions()) {
            let mut partitions: Vec<i32> =
                self.known.keys().chain(pending.keys()).copied().collect();
            partitions.sort_unstable();
            partitions.dedup();
            for partition in partitions {
                let now = self.taken_in(partition).await?;
                let expected = self.known.get(&partition).copied().unwrap_or_default();
                if now != expected {
                    tracing::warn!(
                        partition,
                        ?expected,
                        ?now,
                        "another writer committed to this partition; dropping this writer's batches"
                    );
                    pending.remove(&partition);
                    self.known.insert(partition, now);
                    out.moved.push(Moved {
                        partition,
                        expected,
                        now,
                    });
                }
            }
            self.checked_at = Some(self.versions());
        }
        // Batches that begin at or before what the tables hold were read before their writer
        // learnt that the tables had moved: a commit tried again after an attempt that found
        // them moved, then failed, brings them back. They never land.
        let stale: Vec<i32> = pending
            .iter()
            .filter(|(partition, list)| {
                let held = self.known.get(partition).and_then(|k| k.reviews);
                list.first()
                    .zip(held)
                    .is_some_and(|(b, held)| b.first <= held)
            })
            .map(|(partition, _)| *partition)
            .collect();
        for partition in stale {
            let now = self.known.get(&partition).copied().unwrap_or_default();
            tracing::warn!(
                partition,
                ?now,
                "batches of offsets the tables already hold; dropping them"
            );
            pending.remove(&partition);
            out.moved.push(Moved {
                partition,
                expected: now,
                now,
            });
        }
        Ok(())
    }

    /// The actions committing `pending` to `table`: its files and one `txn` per partition.
    fn actions(
        &self,
        table: Table,
        pending: &BTreeMap<i32, Vec<WrittenBatch>>,
    ) -> Result<Vec<Action>> {
        let mut actions = Vec::new();
        let now = chrono::Utc::now().timestamp_millis();
        for (partition, list) in pending {
            let files: Vec<&DataFile> = list
                .iter()
                .filter_map(|b| match table {
                    Table::Reviews => b.reviews.as_ref(),
                    Table::Rejected => b.rejected.as_ref(),
                })
                .collect();
            // The rejected table records progress only where it takes something in.
            if table == Table::Rejected && files.is_empty() {
                continue;
            }
            for f in files {
                actions.push(Action::Add(f.add(true)?));
            }
            if let Some(last) = list.last() {
                actions.push(Action::Txn(Transaction::new_with_last_update(
                    ingest_app_id(&self.topic, *partition),
                    last.last,
                    Some(now),
                )));
            }
        }
        Ok(actions)
    }
}

/// How far the loaded snapshots of the two tables (`None`: the table does not exist) have taken
/// in `partition` of `topic`: their `txn` versions.
pub(crate) async fn taken_in(
    reviews: Option<&DeltaTable>,
    rejected: Option<&DeltaTable>,
    topic: &str,
    partition: i32,
) -> Result<TakenIn> {
    let app_id = ingest_app_id(topic, partition);
    Ok(TakenIn {
        reviews: txn_version(reviews, Table::Reviews, &app_id).await?,
        rejected: txn_version(rejected, Table::Rejected, &app_id).await?,
    })
}

/// The version of `app_id`'s `txn` in the loaded snapshot of `delta`.
async fn txn_version(
    delta: Option<&DeltaTable>,
    table: Table,
    app_id: &str,
) -> Result<Option<i64>> {
    let Some(delta) = delta else {
        return Ok(None);
    };
    let state = delta
        .snapshot()
        .map_err(|e| Error::delta(table, "reading", e))?;
    state
        .transaction_version(delta.log_store().as_ref(), app_id)
        .await
        .map_err(|e| Error::delta(table, "reading the partition's txn version", e))
}

/// True for a commit refused because another commit of the same `txn` application ids (or the
/// same files) landed first.
pub(crate) fn is_conflict(e: &DeltaTableError) -> bool {
    use deltalake::kernel::transaction::TransactionError;
    matches!(
        e,
        DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(_) | TransactionError::MaxCommitAttempts(_)
        }
    )
}

/// A commit builder that writes Delta's checkpoint when the table's `delta.checkpointInterval`
/// (100 commits unless set) says so, as Delta writers do; delta-rs' bare builder writes none.
pub(crate) fn commit_builder() -> CommitBuilder {
    CommitBuilder::from(CommitProperties::default().with_create_checkpoint(true))
}

/// Figures recorded with every commit, shown by `reviewlake lake history`.
pub(crate) fn operation_metrics(
    files_added: usize,
    rows_added: usize,
    files_removed: usize,
    rows_removed: usize,
) -> HashMap<String, serde_json::Value> {
    HashMap::from([(
        "reviewlake".to_string(),
        json!({
            "filesAdded": files_added,
            "rowsAdded": rows_added,
            "filesRemoved": files_removed,
            "rowsRemoved": rows_removed,
        }),
    )])
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use deltalake::TableProperty;
    use object_store::{ObjectStoreExt, memory::InMemory, path::Path};

    use super::*;
    use crate::{
        BatchWriter, TableVersion, WriteOptions,
        batch::{TestRow, test_reviews},
        delta,
    };

    /// A batch of offsets `first..=last` of partition 0 of topic `t`, written to `lake`.
    async fn written(lake: &Lake, first: i64, last: i64) -> WrittenBatch {
        let rows: Vec<TestRow> = (first..=last)
            .map(|offset| TestRow {
                offset,
                ..Default::default()
            })
            .collect();
        let batch = test_reviews(&rows);
        BatchWriter::new(lake.clone(), WriteOptions::default())
            .write("t", 0, (first, last), &batch, None)
            .await
            .unwrap()
    }

    /// A commit that found its partition moved is tried again with the same batches (as after
    /// an attempt that then failed): the batches stay dropped, and the tables keep the other
    /// writer's offsets once.
    #[tokio::test]
    async fn a_commit_tried_again_after_its_partition_moved_lands_nothing() {
        let lake = Lake::from_store(
            Arc::new(InMemory::new()),
            url::Url::parse("memory:///").unwrap(),
        );
        let (mut mine, mut other) = (
            Committer::open(&lake, "t").await.unwrap(),
            Committer::open(&lake, "t").await.unwrap(),
        );
        mine.resume(0).await.unwrap();
        other.resume(0).await.unwrap();
        let theirs = written(&lake, 0, 2).await;
        other.commit(vec![theirs]).await.unwrap();
        let ours = vec![written(&lake, 0, 1).await];
        let moved = TakenIn {
            reviews: Some(2),
            rejected: None,
        };
        for attempt in 1..=2 {
            let done = mine.commit(ours.clone()).await.unwrap();
            assert_eq!(done.commits, 0, "attempt {attempt}");
            assert!(done.batches.is_empty(), "attempt {attempt}");
            assert_eq!(
                done.moved
                    .iter()
                    .map(|m| (m.partition, m.now))
                    .collect::<Vec<_>>(),
                [(0, moved)],
                "attempt {attempt}"
            );
        }
        let reopened = delta::open(&lake, Table::Reviews, TableVersion::Latest)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            reopened.version(),
            Some(1),
            "only the other writer committed"
        );
        let taken = taken_in(Some(&reopened), None, "t", 0).await.unwrap();
        assert_eq!(taken.reviews, Some(2));
    }

    /// Commits write Delta checkpoints at the table's interval, and the `txn` versions survive
    /// them: a reader opening the table from the checkpoint resumes at the same offset.
    #[tokio::test]
    async fn checkpoints_are_written_and_keep_the_txn_versions() {
        let lake = Lake::from_store(
            Arc::new(InMemory::new()),
            url::Url::parse("memory:///").unwrap(),
        );
        deltalake::operations::create::CreateBuilder::new()
            .with_log_store(delta::log_store(&lake, Table::Reviews))
            .with_columns(delta::delta_fields(Table::Reviews).unwrap())
            .with_partition_columns([crate::column::PART_TOPIC, crate::column::PART_PARTITION])
            .with_configuration_property(TableProperty::CheckpointInterval, Some("3"))
            .await
            .unwrap();
        let mut committer = Committer::open(&lake, "t").await.unwrap();
        committer.resume(0).await.unwrap();
        for i in 0..7 {
            committer
                .commit(vec![written(&lake, i, i).await])
                .await
                .unwrap();
        }
        let checkpoint = Path::from("reviews/_delta_log/00000000000000000005.checkpoint.parquet");
        let listed: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(
            lake.store().list(Some(&Path::from("reviews/_delta_log"))),
        )
        .await
        .unwrap();
        let names: Vec<String> = listed.iter().map(|m| m.location.to_string()).collect();
        assert!(lake.store().head(&checkpoint).await.is_ok(), "{names:#?}");
        let reopened = delta::open(&lake, Table::Reviews, TableVersion::Latest)
            .await
            .unwrap()
            .unwrap();
        let taken = taken_in(Some(&reopened), None, "t", 0).await.unwrap();
        assert_eq!(taken.reviews, Some(6));
    }
}
