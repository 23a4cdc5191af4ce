//! Files being written beside the consume thread. Encoding, compression and the put of a batch's
//! files are most of ingest's cost after `poll()`; they run on the runtime's blocking threads, a
//! bounded number at once, while the calling thread polls and decodes on. The files come back in
//! the order their batches were started, which keeps each partition's offsets in order for the
//! commit. The writer benchmark (`examples/writer_bench.rs`) drives the same type.

use super::*;

/// Writes under way, at most `limit` at once.
pub struct Writes {
    writer: BatchWriter,
    handle: Handle,
    retries: Retries,
    limit: usize,
    in_flight: VecDeque<JoinHandle<Result<WrittenBatch>>>,
}

impl Writes {
    /// Writes through `writer`, on `handle`'s blocking threads, `limit` (at least 1) at once; a
    /// failing write is tried `attempts` times, counted in `metrics`.
    pub fn new(
        writer: BatchWriter,
        handle: Handle,
        limit: usize,
        attempts: u32,
        metrics: Arc<IngestMetrics>,
    ) -> Self {
        Self {
            writer,
            handle,
            retries: Retries { attempts, metrics },
            limit: limit.max(1),
            in_flight: VecDeque::new(),
        }
    }

    /// Starts writing `batch` of `partition` of `topic`. When `limit` writes are under way it
    /// first waits for the oldest, which it returns. Must not be called from an async context.
    pub fn start(
        &mut self,
        topic: &str,
        partition: i32,
        batch: FinishedBatch,
    ) -> Result<Option<WrittenBatch>> {
        let done = match self.in_flight.len() >= self.limit {
            true => self.wait_oldest()?,
            false => None,
        };
        let (writer, handle, retries) = (
            self.writer.clone(),
            self.handle.clone(),
            self.retries.clone(),
        );
        let topic = topic.to_string();
        let FinishedBatch {
            first,
            last,
            reviews,
            rejected,
            ..
        } = batch;
        self.in_flight
            .push_back(self.handle.spawn_blocking(move || {
                let started = Instant::now();
                let written = retry(&handle, &retries, LakeOp::WriteBatch, || {
                    writer.write(&topic, partition, (first, last), &reviews, Some(&rejected))
                })?;
                retries.metrics.written(started.elapsed());
                tracing::debug!(
                    partition,
                    first,
                    last,
                    rows = written.rows().0,
                    rejected = written.rows().1,
                    "batch written"
                );
                Ok(written)
            }));
        Ok(done)
    }

    /// Waits for every write under way; returns their files in the order they were started.
    pub fn settle(&mut self) -> Result<Vec<WrittenBatch>> {
        let mut done = Vec::with_capacity(self.in_flight.len());
        while let Some(written) = self.wait_oldest()? {
            done.push(written);
        }
        Ok(done)
    }

    /// The writes that have ended, oldest first, up to the first still under way (so each
    /// partition's files stay in offset order); does not wait.
    pub fn ready(&mut self) -> Result<Vec<WrittenBatch>> {
        let mut done = Vec::new();
        while self.in_flight.front().is_some_and(JoinHandle::is_finished) {
            done.extend(self.wait_oldest()?);
        }
        Ok(done)
    }

    fn wait_oldest(&mut self) -> Result<Option<WrittenBatch>> {
        let Some(write) = self.in_flight.pop_front() else {
            return Ok(None);
        };
        joined(&self.handle, write).map(Some)
    }
}
