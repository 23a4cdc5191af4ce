//! `reviewlake ingest`: a consumer-group member that lands messages in the lake exactly once.
//!
//! The lake's Delta tables, not Kafka, record what has been consumed: each table's `txn` version
//! per partition is the last offset it took in (see [`lake::Committer`]). On every partition
//! assignment the consumer reads those versions and starts after them; only then does it commit
//! that offset to Kafka (for lag tools). Batches become files as they fill; files are committed
//! in groups (every `commit_files` files or `commit_interval`), rejected records first. A crash
//! at any instant loses and duplicates nothing: files put but not committed are invisible, and
//! a commit lands only if the tables still stand where this member last saw them.
//!
//! This module holds the options, the summary and the poll loop; beside it: `rebalance`
//! (assignment and resume), `pending` (the batch being filled), `writes` (files being written),
//! `commits` (the commit under way), `flush` (files and commits),
//! `retry` (lake operations with backoff) and `catchup` (topic-behind and end-of-topic checks).

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use lake::{
    BatchWriter, Committed, Committer, Lake, RecordBatch, RejectedBuilder, ReviewBuilder,
    SourcePosition, TakenIn, WriteOptions, WrittenBatch,
};
use rdkafka::{
    ClientContext, Message, Offset, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext},
    error::KafkaError,
    message::BorrowedMessage,
    types::RDKafkaErrorCode,
    types::RDKafkaRespErr,
};
use tokio::{runtime::Handle, task::JoinHandle};

use crate::{
    DecodeOptions, Error, IngestMetrics, KafkaOptions, Progress, Result, decode, metrics::LakeOp,
};

mod catchup;
mod commits;
mod flush;
mod pending;
mod rebalance;
mod retry;
mod writes;

pub use commits::Commits;
pub use pending::{FinishedBatch, PendingBatch};
use rebalance::{Event, IngestContext};
use retry::{Retries, retry, retry_blocking};
pub use writes::Writes;

/// Waits for `task`, run on `handle`'s blocking threads, from the consume thread; a panic in
/// the task goes on in the caller.
fn joined<T>(handle: &Handle, task: JoinHandle<T>) -> T {
    handle
        .block_on(task)
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

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
    /// Files encoded and put at once, beside the thread that polls and decodes (at least 1).
    pub writes_in_flight: usize,
    /// Stop once every assigned partition is caught up.
    pub exit_at_end: bool,
    pub decode: DecodeOptions,
    pub write: WriteOptions,
    /// Attempts for a failing lake operation before giving up (with exponential backoff).
    pub storage_attempts: u32,
    /// Where the run's figures are counted (served by `ingest --metrics-bind`).
    pub metrics: Arc<IngestMetrics>,
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
            // One per core: encoding and compression are most of a file's cost.
            writes_in_flight: std::thread::available_parallelism().map_or(1, |n| n.get()),
            exit_at_end: false,
            decode: DecodeOptions::default(),
            write: WriteOptions::default(),
            storage_attempts: 8,
            metrics: Arc::default(),
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
    if options.writes_in_flight == 0 {
        return Err(Error::Config(
            "--writes-in-flight must be at least 1".into(),
        ));
    }
    let retries = Retries {
        attempts: options.storage_attempts,
        metrics: options.metrics.clone(),
    };
    options.metrics.set_topic(&options.kafka.topic);
    let committer = retry(&handle, &retries, LakeOp::OpenTables, || {
        Committer::open(&lake, &options.kafka.topic)
    })?;
    let committer = Arc::new(Mutex::new(committer));
    let context = IngestContext {
        committer: committer.clone(),
        handle: handle.clone(),
        retries: retries.clone(),
        topic: options.kafka.topic.clone(),
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
            // The high watermarks behind the lag metric come with the statistics.
            ("statistics.interval.ms", "1000"),
        ])
        .create_with_context(context)
        .map_err(|e| Error::kafka("creating the consumer", e))?;
    consumer
        .subscribe(&[&options.kafka.topic])
        .map_err(|e| Error::kafka(format!("subscribing to {}", options.kafka.topic), e))?;
    tracing::info!(topic = %options.kafka.topic, group = %options.group_id, lake = %lake.redacted_url(), "ingest started");

    let mut run = Run {
        topic: options.kafka.topic.clone(),
        writes: Writes::new(
            BatchWriter::new(lake, options.write.clone()),
            handle.clone(),
            options.writes_in_flight,
            options.storage_attempts,
            options.metrics.clone(),
        ),
        commits: Commits::new(
            committer,
            handle.clone(),
            options.storage_attempts,
            options.metrics.clone(),
        ),
        handle,
        retries,
        pending: HashMap::new(),
        reject_tallies: HashMap::new(),
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
    writes: Writes,
    commits: Commits,
    handle: Handle,
    retries: Retries,
    pending: HashMap<i32, PendingBatch>,
    /// The rejects by field of each written, uncommitted batch, by (partition, first offset).
    reject_tallies: HashMap<(i32, i64), BTreeMap<&'static str, u64>>,
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
            // Rebalance events come from inside this poll: a message it returned belongs to the
            // assignment they leave. The ended commit's result is acted on only after the message
            // is taken: a partition it reports moved is sought back to where the tables stand,
            // which this message, fetched before that seek, must not follow.
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
                Some(Ok(message)) => self.take(&message, options)?,
            }
            self.check_commit(consumer)?;
            self.collect_written()?;
            if self
                .commits
                .due(self.uncommitted.len(), options.commit_files)
            {
                self.commit(consumer)?;
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

    /// Takes a polled record into its partition's pending batch, unless the partition is not
    /// (or no longer) ours or the tables already hold the record.
    fn take(&mut self, message: &BorrowedMessage<'_>, options: &IngestOptions) -> Result<()> {
        let partition = message.partition();
        self.at_end.remove(&partition);
        let Some(batch) = self.pending.get_mut(&partition) else {
            return Ok(());
        };
        let offset = message.offset();
        if offset < batch.next_offset {
            return Ok(());
        }
        if offset > batch.next_offset && batch.check_resume {
            // Kafka hands a fetch from inside a record batch the whole batch and the client
            // drops what lies before the offset, so a first record past the resume offset means
            // the offsets between are gone from the topic (retention, compaction, transaction
            // markers). (Test brokers that skip ahead, such as tansu 0.6, are fed one record per
            // batch by the tests.)
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
        batch.take(message.key(), message.payload(), &pos, &options.decode);
        if batch.is_full(options.batch_rows, options.batch_bytes) {
            self.flush(partition)?;
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
                    self.check_offsets(consumer, &partitions)?;
                    for (partition, taken) in partitions {
                        self.retries
                            .metrics
                            .assigned(partition, taken.next_offset());
                        self.pending.insert(partition, PendingBatch::new(taken));
                        self.at_end.remove(&partition);
                    }
                }
                Event::Revoked(partitions) => {
                    // What the commit under way landed is counted first (the callback waited
                    // for it). A file of a revoked partition may be being written: wait for
                    // it, to drop it with the rest.
                    self.settle_commit(consumer)?;
                    self.settle()?;
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
                        self.retries.metrics.revoked(partition);
                    }
                }
            }
        }
        Ok(())
    }

    /// Forgets what this member holds of `partition` (its writes settled); returns how many
    /// records that was.
    fn drop_partition(&mut self, partition: i32) -> usize {
        let pending = self.pending.remove(&partition).map_or(0, |b| b.records());
        let uncommitted: usize = self
            .uncommitted
            .iter()
            .filter(|b| b.partition == partition)
            .map(|b| (b.last - b.first + 1) as usize)
            .sum();
        self.uncommitted.retain(|b| b.partition != partition);
        self.reject_tallies.retain(|(p, _), _| *p != partition);
        if self.uncommitted.is_empty() {
            self.oldest_uncommitted = None;
        }
        pending + uncommitted
    }
}
