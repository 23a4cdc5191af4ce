//! `reviewlake ingest`: a consumer-group member that lands messages in the lake exactly once.
//!
//! The lake's Delta tables, not Kafka, record what has been consumed: each table's `txn` version
//! per partition is the last offset it took in (see [`lake::Committer`]). On every partition
//! assignment the consumer reads those versions and starts after them; only then does it commit
//! that offset to Kafka (for lag tools). Batches become files as they fill; files are committed
//! in groups (every `commit_files` files or `commit_interval`), rejected records first. A crash
//! at any instant loses and duplicates nothing: files put but not committed are invisible, and
//! a commit lands only if the tables still stand where this member last saw them.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use lake::{
    BatchWriter, Committer, Lake, RejectedBuilder, ReviewBuilder, SourcePosition, TakenIn,
    WriteOptions, WrittenBatch,
};
use rdkafka::{
    ClientContext, Message, Offset, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext},
    error::KafkaError,
    types::RDKafkaErrorCode,
    types::RDKafkaRespErr,
};
use tokio::runtime::Handle;

use crate::{DecodeOptions, Error, KafkaOptions, Progress, Result, decode};

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub kafka: KafkaOptions,
    /// Consumer group id.
    pub group_id: String,
    /// Records per file...
    pub batch_rows: usize,
    /// ...or fewer, once the records' keys and kept payloads reach this many bytes.
    pub batch_bytes: usize,
    /// A partial batch is written once its oldest record has waited this long.
    pub max_latency: Duration,
    /// Written files are committed once this many wait...
    pub commit_files: usize,
    /// ...or once the oldest has waited this long.
    pub commit_interval: Duration,
    /// Stop once every assigned partition is caught up.
    pub exit_at_end: bool,
    pub decode: DecodeOptions,
    pub write: WriteOptions,
    /// Attempts for a failing lake operation before giving up (with exponential backoff).
    pub storage_attempts: u32,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            kafka: KafkaOptions::default(),
            group_id: "reviewlake-ingest".into(),
            batch_rows: 500,
            batch_bytes: 64 * 1024 * 1024,
            max_latency: Duration::from_secs(30),
            commit_files: 32,
            commit_interval: Duration::from_secs(2),
            exit_at_end: false,
            decode: DecodeOptions::default(),
            write: WriteOptions::default(),
            storage_attempts: 8,
        }
    }
}

/// What an ingest run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestSummary {
    /// Accepted rows written.
    pub rows: u64,
    /// Rejected records written.
    pub rejected: u64,
    /// Batches committed (a `reviews` file, a `rejected` file, or both).
    pub files: u64,
    /// Delta commits made (both tables).
    pub commits: u64,
    pub bytes: u64,
    pub elapsed: Duration,
}

impl IngestSummary {
    /// Records (accepted and rejected) per second.
    pub fn records_per_sec(&self) -> f64 {
        (self.rows + self.rejected) as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A rebalance seen inside `poll`, handled by the loop once `poll` returns.
enum Event {
    Assigned(Vec<(i32, TakenIn)>),
    Revoked(Vec<i32>),
}

struct IngestContext {
    committer: Mutex<Committer>,
    handle: Handle,
    attempts: u32,
    events: Mutex<Vec<Event>>,
    failure: Mutex<Option<Error>>,
}

impl ClientContext for IngestContext {
    fn error(&self, error: KafkaError, reason: &str) {
        let eof = matches!(error, KafkaError::PartitionEOF(_))
            || error.rdkafka_error_code() == Some(RDKafkaErrorCode::PartitionEOF);
        if eof {
            tracing::debug!(reason, "end of partition");
        } else {
            tracing::warn!(error = %error, reason, "kafka client error (librdkafka retries)");
        }
    }
}

impl ConsumerContext for IngestContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let mut resumed = Vec::new();
                let mut commit = TopicPartitionList::new();
                for elem in tpl.elements() {
                    let (topic, partition) = (elem.topic().to_string(), elem.partition());
                    match self.resume_point(partition) {
                        Ok(taken) => resumed.push((topic, partition, taken)),
                        Err(e) => {
                            self.fail(e);
                            resumed.push((topic, partition, TakenIn::default()));
                        }
                    }
                }
                for (topic, partition, taken) in &resumed {
                    let next = taken.next_offset();
                    let offset = next.map_or(Offset::Beginning, Offset::Offset);
                    if let Err(e) = tpl.set_partition_offset(topic, *partition, offset) {
                        self.fail(Error::kafka("setting the resume offset", e));
                    }
                    if let Some(next) = next {
                        let _ =
                            commit.add_partition_offset(topic, *partition, Offset::Offset(next));
                    }
                    tracing::info!(topic, partition, resume_offset = ?next, "partition assigned");
                }
                if let Err(e) = consumer.assign(tpl) {
                    self.fail(Error::kafka("assigning partitions", e));
                }
                if commit.count() > 0
                    && let Err(e) = consumer.commit(&commit, CommitMode::Async)
                {
                    tracing::warn!(error = %e, "could not commit resume offsets to Kafka");
                }
                self.push(Event::Assigned(
                    resumed
                        .into_iter()
                        .map(|(_, p, taken)| (p, taken))
                        .collect(),
                ));
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let revoked: Vec<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
                tracing::info!(?revoked, "partitions revoked");
                let mut committer = self.committer();
                for p in &revoked {
                    committer.release(*p);
                }
                drop(committer);
                if let Err(e) = consumer.unassign() {
                    tracing::warn!(error = %e, "unassign failed");
                }
                self.push(Event::Revoked(revoked));
            }
            other => tracing::error!(error = ?other, "rebalance error"),
        }
    }
}

impl IngestContext {
    fn push(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
    }

    fn fail(&self, e: Error) {
        tracing::error!(error = %lake::error_chain(&e), "ingest failed");
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert(e);
    }

    fn committer(&self) -> std::sync::MutexGuard<'_, Committer> {
        self.committer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How far the tables have taken `partition` in: ingest resumes after it.
    fn resume_point(&self, partition: i32) -> Result<TakenIn> {
        let mut committer = self.committer();
        retry_blocking(self.attempts, "reading the tables", || {
            self.handle.block_on(committer.resume(partition))
        })
    }
}

/// Runs `op` on the runtime until it succeeds or `attempts` are used, backing off exponentially.
fn retry<T, F, Fut>(handle: &Handle, attempts: u32, what: &str, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = lake::Result<T>>,
{
    retry_blocking(attempts, what, || handle.block_on(op()))
}

/// Runs the blocking `op` until it succeeds or `attempts` are used, backing off exponentially.
fn retry_blocking<T>(
    attempts: u32,
    what: &str,
    mut op: impl FnMut() -> lake::Result<T>,
) -> Result<T> {
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match op() {
            Ok(v) => return Ok(v),
            Err(e) if attempt >= attempts.max(1) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(error = %lake::error_chain(&e), attempt, retry_in = ?delay, "{what} failed; retrying");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(10));
                attempt += 1;
            }
        }
    }
}

/// One partition's records since its last file.
struct PendingBatch {
    reviews: ReviewBuilder,
    rejected: RejectedBuilder,
    first: Option<i64>,
    last: i64,
    /// Offsets below this are already in the lake.
    next_offset: i64,
    /// Rejected records up to this offset are already in the `rejected` table (a crash fell
    /// between a batch's two commits): they are not written again.
    rejected_through: i64,
    oldest: Option<Instant>,
    /// Offsets taken into this batch (rejected records already in the lake included).
    seen: usize,
    /// Bytes of keys and payloads appended (what the batch's columns hold of them).
    bytes: usize,
    /// Set until the first record after a resume arrives, to report a gap at the resume point.
    check_resume: bool,
}

impl PendingBatch {
    fn new(taken: TakenIn) -> Self {
        let next_offset = taken.next_offset();
        Self {
            rejected_through: taken.rejected.unwrap_or(-1),
            reviews: ReviewBuilder::default(),
            rejected: RejectedBuilder::default(),
            first: None,
            last: -1,
            next_offset: next_offset.unwrap_or(0),
            oldest: None,
            seen: 0,
            bytes: 0,
            check_resume: next_offset.is_some(),
        }
    }

    fn records(&self) -> usize {
        self.seen
    }
}

/// The ingest loop. Blocks the calling thread (which must not be a runtime worker); lake I/O runs
/// on `handle`. Returns when `stop` is set, or when caught up with `exit_at_end`, after writing
/// every pending batch.
pub fn ingest(
    lake: Lake,
    options: &IngestOptions,
    handle: Handle,
    stop: &AtomicBool,
    progress: &mut dyn Progress,
) -> Result<IngestSummary> {
    progress.start("ingest", None);
    if options.batch_rows == 0 {
        return Err(Error::Config("--batch-rows must be at least 1".into()));
    }
    // A batch's text and binary columns use 32-bit offsets: it must stay under 2 GiB even when
    // its last record arrives just under the byte budget.
    let largest = options
        .decode
        .max_message_bytes
        .max(crate::decode::KEPT_BYTES);
    if options.batch_bytes == 0
        || options.batch_bytes.saturating_add(2 * largest) >= i32::MAX as usize
    {
        return Err(Error::Config(format!(
            "--batch-bytes ({}) plus twice --max-message-bytes ({largest}) must stay under 2 GiB (Arrow's 32-bit offsets), and --batch-bytes must be at least 1",
            options.batch_bytes
        )));
    }
    if options.commit_files == 0 {
        return Err(Error::Config("--commit-files must be at least 1".into()));
    }
    let committer = retry(
        &handle,
        options.storage_attempts,
        "opening the tables",
        || Committer::open(&lake, &options.kafka.topic),
    )?;
    let context = IngestContext {
        committer: Mutex::new(committer),
        handle: handle.clone(),
        attempts: options.storage_attempts,
        events: Mutex::new(Vec::new()),
        failure: Mutex::new(None),
    };
    let consumer: BaseConsumer<IngestContext> = options
        .kafka
        .client_config(&[
            ("group.id", &options.group_id),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("enable.partition.eof", "true"),
            ("auto.offset.reset", "earliest"),
            ("fetch.wait.max.ms", "100"),
        ])
        .create_with_context(context)
        .map_err(|e| Error::kafka("creating the consumer", e))?;
    consumer
        .subscribe(&[&options.kafka.topic])
        .map_err(|e| Error::kafka(format!("subscribing to {}", options.kafka.topic), e))?;
    tracing::info!(topic = %options.kafka.topic, group = %options.group_id, lake = %lake.redacted_url(), "ingest started");

    let mut run = Run {
        topic: options.kafka.topic.clone(),
        writer: BatchWriter::new(lake, options.write.clone()),
        handle,
        attempts: options.storage_attempts,
        pending: HashMap::new(),
        uncommitted: Vec::new(),
        oldest_uncommitted: None,
        at_end: HashSet::new(),
        summary: IngestSummary::default(),
        progress,
        started: Instant::now(),
    };
    let result = run.poll_loop(&consumer, options, stop);
    // Whatever happened, write what is complete in memory, then leave the group.
    let flushed = if result.is_ok() {
        run.flush_all(&consumer)
    } else {
        Ok(())
    };
    run.progress.finish();
    run.summary.elapsed = run.started.elapsed();
    result.and(flushed)?;
    Ok(run.summary)
}

struct Run<'p> {
    topic: String,
    writer: BatchWriter,
    handle: Handle,
    attempts: u32,
    pending: HashMap<i32, PendingBatch>,
    /// Files written and waiting for their commit, in the order written.
    uncommitted: Vec<WrittenBatch>,
    oldest_uncommitted: Option<Instant>,
    at_end: HashSet<i32>,
    summary: IngestSummary,
    progress: &'p mut dyn Progress,
    started: Instant,
}

impl Run<'_> {
    fn poll_loop(
        &mut self,
        consumer: &BaseConsumer<IngestContext>,
        options: &IngestOptions,
        stop: &AtomicBool,
    ) -> Result<()> {
        let mut last_age_check = Instant::now();
        let mut last_lag_check = Instant::now() - Duration::from_secs(1);
        while !stop.load(Ordering::Relaxed) {
            let polled = consumer.poll(Duration::from_millis(100));
            self.handle_events(consumer)?;
            match polled {
                None => {}
                Some(Err(KafkaError::PartitionEOF(partition))) => {
                    self.at_end.insert(partition);
                }
                Some(Err(e)) => {
                    if matches!(&e, KafkaError::MessageConsumptionFatal(_)) {
                        return Err(Error::kafka("consuming", e));
                    }
                    tracing::warn!(error = %e, "consumer error (librdkafka retries)");
                }
                Some(Ok(message)) => {
                    let partition = message.partition();
                    self.at_end.remove(&partition);
                    let Some(batch) = self.pending.get_mut(&partition) else {
                        continue; // not (or no longer) ours
                    };
                    let offset = message.offset();
                    if offset < batch.next_offset {
                        continue; // already in the lake
                    }
                    if offset > batch.next_offset && batch.check_resume {
                        // Kafka hands a fetch from inside a record batch the whole batch and the
                        // client drops what lies before the offset, so a first record past the
                        // resume offset means the offsets between are gone from the topic
                        // (retention, compaction, transaction markers). (Test brokers that skip
                        // ahead, such as tansu 0.6, are fed one record per batch by the tests.)
                        tracing::warn!(
                            partition,
                            expected = batch.next_offset,
                            got = offset,
                            "offsets missing at the resume point are not in the topic"
                        );
                    }
                    batch.check_resume = false;
                    let pos = SourcePosition {
                        partition,
                        offset,
                        timestamp_ms: message.timestamp().to_millis(),
                    };
                    match decode::decode(message.key(), message.payload(), &options.decode) {
                        Ok(review) => {
                            batch.bytes += message.payload_len();
                            batch.reviews.append(&review, &pos);
                        }
                        Err(_) if offset <= batch.rejected_through => {
                            tracing::debug!(
                                partition,
                                offset,
                                "rejected record already in the rejected table"
                            );
                        }
                        Err(rejected) => {
                            batch.bytes += rejected.key.map_or(0, <[u8]>::len)
                                + rejected.payload.map_or(0, <[u8]>::len);
                            tracing::debug!(partition, offset, reason = %rejected.reason, "record rejected");
                            batch.rejected.append(&rejected, &pos);
                        }
                    }
                    batch.first.get_or_insert(offset);
                    batch.last = offset;
                    batch.next_offset = offset + 1;
                    batch.oldest.get_or_insert_with(Instant::now);
                    batch.seen += 1;
                    if batch.seen >= options.batch_rows || batch.bytes >= options.batch_bytes {
                        self.flush(partition)?;
                        if self.uncommitted.len() >= options.commit_files {
                            self.commit(consumer)?;
                        }
                    }
                }
            }
            if last_age_check.elapsed() >= Duration::from_millis(200) {
                last_age_check = Instant::now();
                let due: Vec<i32> = self
                    .pending
                    .iter()
                    .filter(|(_, b)| b.oldest.is_some_and(|t| t.elapsed() >= options.max_latency))
                    .map(|(p, _)| *p)
                    .collect();
                for partition in due {
                    self.flush(partition)?;
                }
                if self
                    .oldest_uncommitted
                    .is_some_and(|t| t.elapsed() >= options.commit_interval)
                {
                    self.commit(consumer)?;
                }
            }
            if options.exit_at_end
                && !self.pending.is_empty()
                && self.pending.keys().all(|p| self.at_end.contains(p))
                && last_lag_check.elapsed() >= Duration::from_secs(1)
            {
                last_lag_check = Instant::now();
                // Write what we hold, then exit only if the lake has caught up with the whole
                // topic: partitions held by another member (or by a dead one, until its session
                // times out and they come to us) must be caught up too.
                self.flush_all(consumer)?;
                if self.topic_caught_up(consumer)? {
                    tracing::info!("the lake has caught up with every partition of the topic");
                    break;
                }
            }
        }
        Ok(())
    }

    fn handle_events(&mut self, consumer: &BaseConsumer<IngestContext>) -> Result<()> {
        let context = consumer.context();
        if let Some(e) = context
            .failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            return Err(e);
        }
        let events = std::mem::take(&mut *context.events.lock().unwrap_or_else(|p| p.into_inner()));
        for event in events {
            match event {
                Event::Assigned(partitions) => {
                    for (partition, taken) in partitions {
                        self.check_offsets(consumer, partition, taken)?;
                        self.pending.insert(partition, PendingBatch::new(taken));
                        self.at_end.remove(&partition);
                    }
                }
                Event::Revoked(partitions) => {
                    for partition in partitions {
                        // Unwritten and uncommitted records stay in Kafka; the next owner reads
                        // them again. Files put but not committed are left to `lake vacuum`.
                        let dropped = self.drop_partition(partition);
                        if dropped > 0 {
                            tracing::info!(
                                partition,
                                records = dropped,
                                "dropping the uncommitted records of a revoked partition"
                            );
                        }
                        self.at_end.remove(&partition);
                    }
                }
            }
        }
        Ok(())
    }

    /// Forgets what this member holds of `partition`; returns how many records that was.
    fn drop_partition(&mut self, partition: i32) -> usize {
        let pending = self.pending.remove(&partition).map_or(0, |b| b.records());
        let uncommitted: usize = self
            .uncommitted
            .iter()
            .filter(|b| b.partition == partition)
            .map(|b| (b.last - b.first + 1) as usize)
            .sum();
        self.uncommitted.retain(|b| b.partition != partition);
        if self.uncommitted.is_empty() {
            self.oldest_uncommitted = None;
        }
        pending + uncommitted
    }

    /// Refuses a partition whose tables have taken in more than the topic holds: the topic was
    /// deleted and recreated under the same name, or the lake belongs to another cluster. Reading
    /// on would skip every new record below the old offsets.
    fn check_offsets(
        &self,
        consumer: &BaseConsumer<IngestContext>,
        partition: i32,
        taken: TakenIn,
    ) -> Result<()> {
        let Some(next) = taken.next_offset() else {
            return Ok(());
        };
        let (_, high) = consumer
            .fetch_watermarks(&self.topic, partition, Duration::from_secs(10))
            .map_err(|e| Error::kafka("fetching watermarks", e))?;
        if next > high {
            return Err(Error::OffsetsAhead {
                topic: self.topic.clone(),
                partition,
                lake_next: next,
                high_watermark: high,
            });
        }
        Ok(())
    }

    /// Writes a partition's pending batch as files, to be committed with the next commit.
    fn flush(&mut self, partition: i32) -> Result<()> {
        let Some(batch) = self.pending.get_mut(&partition) else {
            return Ok(());
        };
        let Some(first) = batch.first else {
            return Ok(());
        };
        let last = batch.last;
        let reviews = batch.reviews.finish(&self.topic)?;
        let rejected = batch.rejected.finish(&self.topic)?;
        batch.first = None;
        batch.oldest = None;
        batch.seen = 0;
        let writer = &self.writer;
        let topic = &self.topic;
        let written = retry(&self.handle, self.attempts, "writing a batch", || {
            writer.write(topic, partition, (first, last), &reviews, Some(&rejected))
        })?;
        tracing::debug!(
            partition,
            first,
            last,
            rows = written.rows().0,
            rejected = written.rows().1,
            "batch written"
        );
        self.uncommitted.push(written);
        self.oldest_uncommitted.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// Commits the written files to the tables, then their offsets to Kafka. Partitions another
    /// writer moved meanwhile are resumed from where the tables now stand.
    fn commit(&mut self, consumer: &BaseConsumer<IngestContext>) -> Result<()> {
        if self.uncommitted.is_empty() {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.uncommitted);
        self.oldest_uncommitted = None;
        let started = Instant::now();
        let done = {
            let mut committer = consumer.context().committer();
            retry_blocking(self.attempts, "committing", || {
                self.handle.block_on(committer.commit(batches.clone()))
            })?
        };
        tracing::debug!(
            batches = done.batches.len(),
            commits = done.commits,
            version = ?done.reviews_version,
            ms = started.elapsed().as_millis() as u64,
            "committed"
        );
        let mut tpl = TopicPartitionList::new();
        let mut ends: HashMap<i32, i64> = HashMap::new();
        for b in &done.batches {
            let (rows, rejected) = b.rows();
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
        for moved in done.moved {
            // Another writer committed to this partition: what we held is dropped; if the
            // partition is still ours, read on from where the tables stand.
            self.drop_partition(moved.partition);
            let next = moved.now.next_offset();
            tracing::warn!(
                partition = moved.partition,
                resume_offset = ?next,
                "resuming after another writer's commits"
            );
            self.pending
                .insert(moved.partition, PendingBatch::new(moved.now));
            if let Err(e) = consumer.seek(
                &self.topic,
                moved.partition,
                next.map_or(Offset::Beginning, Offset::Offset),
                Duration::from_secs(10),
            ) {
                tracing::warn!(error = %e, partition = moved.partition, "seek after another writer's commits failed (the partition is probably no longer ours)");
            }
        }
        Ok(())
    }

    /// True when the tables hold every partition of the topic up to its high watermark. Clears
    /// the end-of-partition mark of our own partitions that are not (a stale mark).
    fn topic_caught_up(&mut self, consumer: &BaseConsumer<IngestContext>) -> Result<bool> {
        let timeout = Duration::from_secs(10);
        let metadata = consumer
            .fetch_metadata(Some(&self.topic), timeout)
            .map_err(|e| Error::kafka("fetching topic metadata", e))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        let standing = {
            let mut committer = consumer.context().committer();
            retry_blocking(self.attempts, "reading the tables", || {
                self.handle.block_on(committer.standing(&partitions))
            })?
        };
        let mut behind = Vec::new();
        for (partition, taken) in partitions.into_iter().zip(standing) {
            let (low, high) = consumer
                .fetch_watermarks(&self.topic, partition, timeout)
                .map_err(|e| Error::kafka("fetching watermarks", e))?;
            let next = taken.next_offset().unwrap_or(0).max(low);
            if next < high {
                behind.push((partition, high - next));
                self.at_end.remove(&partition);
            }
        }
        if !behind.is_empty() {
            tracing::info!(
                ?behind,
                "waiting for partitions that are not caught up (partition, lag)"
            );
        }
        Ok(behind.is_empty())
    }

    /// Writes and commits everything held.
    fn flush_all(&mut self, consumer: &BaseConsumer<IngestContext>) -> Result<()> {
        let mut partitions: Vec<i32> = self.pending.keys().copied().collect();
        partitions.sort_unstable();
        for partition in partitions {
            self.flush(partition)?;
        }
        self.commit(consumer)?;
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
