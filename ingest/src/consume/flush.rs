//! Flushing and commits: pending batches become files, and written files become one commit of
//! both tables.

use super::*;

impl Run<'_> {
    /// Starts writing a partition's pending batch as files (see [`Writes`]), to be committed
    /// with the next commit.
    pub(super) fn flush(&mut self, partition: i32) -> Result<()> {
        let Some(batch) = self.pending.get_mut(&partition) else {
            return Ok(());
        };
        let Some(mut finished) = batch.finish(&self.topic)? else {
            return Ok(());
        };
        let rejects = std::mem::take(&mut finished.rejects);
        self.reject_tallies
            .insert((partition, finished.first), rejects);
        let done = self.writes.start(&self.topic, partition, finished)?;
        self.queue(done);
        Ok(())
    }

    /// Queues written files for the next commit. The first file to wait starts the
    /// `--commit-interval` clock (a commit resets it), so every written file is committed in
    /// time even when no more come.
    fn queue(&mut self, written: impl IntoIterator<Item = WrittenBatch>) {
        let before = self.uncommitted.len();
        self.uncommitted.extend(written);
        if self.uncommitted.len() > before {
            self.oldest_uncommitted.get_or_insert_with(Instant::now);
        }
    }

    /// Waits for every file being written and queues it for the next commit.
    pub(super) fn settle(&mut self) -> Result<()> {
        let done = self.writes.settle()?;
        self.queue(done);
        Ok(())
    }

    /// Queues the files whose writes have ended for the next commit, without waiting.
    pub(super) fn collect_written(&mut self) -> Result<()> {
        let ready = self.writes.ready()?;
        self.queue(ready);
        Ok(())
    }

    /// Starts committing the files written so far (see [`Commits`]), after waiting for the
    /// commit under way and acting on its result.
    pub(super) fn commit(&mut self, consumer: &BaseConsumer<IngestContext>) -> Result<()> {
        self.settle_commit(consumer)?;
        self.collect_written()?;
        if self.uncommitted.is_empty() {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.uncommitted);
        self.oldest_uncommitted = None;
        self.commits.start(batches);
        Ok(())
    }

    /// Waits for the commit under way, if any, and acts on its result.
    pub(super) fn settle_commit(&mut self, consumer: &BaseConsumer<IngestContext>) -> Result<()> {
        match self.commits.settle()? {
            Some(done) => self.landed(done, consumer),
            None => Ok(()),
        }
    }

    /// Acts on the result of the commit under way if it has ended, without waiting.
    pub(super) fn check_commit(&mut self, consumer: &BaseConsumer<IngestContext>) -> Result<()> {
        match self.commits.ended()? {
            Some(done) => self.landed(done, consumer),
            None => Ok(()),
        }
    }

    /// Counts what a commit landed and commits its offsets to Kafka. Partitions another writer
    /// moved meanwhile are dropped and resumed from where the tables now stand.
    fn landed(&mut self, done: Committed, consumer: &BaseConsumer<IngestContext>) -> Result<()> {
        let metrics = &self.retries.metrics;
        let mut tpl = TopicPartitionList::new();
        let mut ends: HashMap<i32, i64> = HashMap::new();
        for b in &done.batches {
            let (rows, rejected) = b.rows();
            let tally = self
                .reject_tallies
                .remove(&(b.partition, b.first))
                .unwrap_or_default();
            metrics.batch_committed(b.partition, rows as u64, &tally, b.bytes(), b.last + 1);
            self.summary.rows += rows as u64;
            self.summary.rejected += rejected as u64;
            self.summary.files += 1;
            self.summary.bytes += b.bytes();
            let end = ends.entry(b.partition).or_insert(b.last);
            *end = (*end).max(b.last);
            let (total_rows, total_rejected) = (self.summary.rows, self.summary.rejected);
            self.progress.inc((b.last - b.first + 1) as u64, &|| {
                format!("{total_rows} rows, {total_rejected} rejected")
            });
        }
        self.summary.commits += u64::from(done.commits);
        for (partition, last) in &ends {
            tpl.add_partition_offset(&self.topic, *partition, Offset::Offset(last + 1))
                .map_err(|e| Error::kafka("building the commit", e))?;
        }
        if tpl.count() > 0
            && let Err(e) = consumer.commit(&tpl, CommitMode::Async)
        {
            tracing::warn!(error = %e, "offset commit to Kafka failed (the lake stays authoritative)");
        }
        if !done.moved.is_empty() {
            // Files of a moved partition may be being written: wait for them, to drop them
            // with the rest.
            self.settle()?;
        }
        for moved in done.moved {
            // Another writer committed to this partition: what we held is dropped; if the
            // partition is still ours, read on from where the tables stand.
            self.drop_partition(moved.partition);
            let next = moved.now.next_offset();
            self.retries.metrics.resumed(moved.partition, next);
            tracing::warn!(
                partition = moved.partition,
                resume_offset = ?next,
                "resuming after another writer's commits"
            );
            self.pending
                .insert(moved.partition, PendingBatch::new(moved.now));
            // A revocation waits for the commit under way: a moved partition may be one
            // being revoked, no longer assigned, dropped with the others. One still ours is
            // sought back to where the tables stand; if that fails, what it fetches next
            // would not follow on from the tables, so ingest stops (a restart resumes there).
            if assigned(consumer, &self.topic, moved.partition)? {
                seek(consumer, &self.topic, moved.partition, next)?;
            }
        }
        Ok(())
    }

    /// Writes and commits everything held.
    pub(super) fn flush_all(&mut self, consumer: &BaseConsumer<IngestContext>) -> Result<()> {
        let mut partitions: Vec<i32> = self.pending.keys().copied().collect();
        partitions.sort_unstable();
        for partition in partitions {
            self.flush(partition)?;
        }
        self.settle()?;
        self.commit(consumer)?;
        self.settle_commit(consumer)?;
        // Make the last offset commits durable before leaving (the lake stays authoritative).
        let mut tpl = TopicPartitionList::new();
        for (partition, batch) in &self.pending {
            if batch.next_offset > 0 {
                tpl.add_partition_offset(
                    &self.topic,
                    *partition,
                    Offset::Offset(batch.next_offset),
                )
                .map_err(|e| Error::kafka("building the commit", e))?;
            }
        }
        if tpl.count() > 0
            && let Err(e) = consumer.commit(&tpl, CommitMode::Sync)
        {
            tracing::warn!(error = %e, "final offset commit to Kafka failed");
        }
        Ok(())
    }
}

/// Whether `partition` of `topic` is assigned to this member.
fn assigned(consumer: &BaseConsumer<IngestContext>, topic: &str, partition: i32) -> Result<bool> {
    let assignment = consumer
        .assignment()
        .map_err(|e| Error::kafka("reading the assignment", e))?;
    Ok(assignment.find_partition(topic, partition).is_some())
}

/// How long a seek may take to be sure no record fetched before it is delivered after it.
const SEEK_TIMEOUT: Duration = Duration::from_secs(10);

/// Moves the consumer's position in `partition` to `next` (`None`: the beginning). Once it
/// returns, no record fetched before it is delivered.
fn seek(
    consumer: &BaseConsumer<IngestContext>,
    topic: &str,
    partition: i32,
    next: Option<i64>,
) -> Result<()> {
    let offset = next.map_or(Offset::Beginning, Offset::Offset);
    consumer
        .seek(topic, partition, offset, SEEK_TIMEOUT)
        .map_err(|e| {
            Error::kafka(
                format!("seeking partition {partition} of {topic} to offset {offset:?}"),
                e,
            )
        })
}
