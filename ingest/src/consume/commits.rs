//! The commit under way beside the consume thread. A Delta commit of both tables takes tens of
//! milliseconds (reading the latest commits, checking the partitions' `txn` versions, two durable
//! log puts); run on the consume thread it stalls polling and decoding, and with them the writes
//! that keep the cores busy. So one commit at a time runs on the runtime's blocking threads while
//! the thread polls and decodes on. Its result is taken before the next commit starts, which is
//! what exactly once needs: a partition that another writer moved is dropped (and resumed) before
//! any later batch of it is committed. The writer benchmark (`examples/writer_bench.rs`) drives
//! the same type.

use lake::Committed;

use super::*;

/// How many times `commit_files` may wait while a commit is under way before the consume thread
/// waits for it. A commit's cost grows with the table (delta-rs brings its list of the table's
/// files up to date after each commit): on a 30,000-file table it took 0.28 s, and committing
/// every `commit_files` files kept the writer benchmark waiting for commits half the time. Files
/// that keep arriving meanwhile go into the next commit instead, so that larger tables commit in
/// larger groups.
pub(super) const COMMIT_BACKLOG: usize = 8;

/// At most one commit under way.
pub struct Commits {
    committer: Arc<Mutex<Committer>>,
    handle: Handle,
    retries: Retries,
    in_flight: Option<JoinHandle<Result<Committed>>>,
}

impl Commits {
    /// Commits through `committer` (shared with the rebalance callbacks, which wait for a commit
    /// under way), on `handle`'s blocking threads; a failing commit is tried `attempts` times,
    /// counted in `metrics`.
    pub fn new(
        committer: Arc<Mutex<Committer>>,
        handle: Handle,
        attempts: u32,
        metrics: Arc<IngestMetrics>,
    ) -> Self {
        Self {
            committer,
            handle,
            retries: Retries { attempts, metrics },
            in_flight: None,
        }
    }

    /// Starts committing `batches`.
    ///
    /// # Panics
    /// When a commit is under way: [`Commits::settle`] it, and drop the partitions its result
    /// reports moved, before gathering the next batches.
    pub fn start(&mut self, batches: Vec<WrittenBatch>) {
        assert!(
            self.in_flight.is_none(),
            "a commit started before the previous one was settled"
        );
        let (committer, handle, retries) = (
            self.committer.clone(),
            self.handle.clone(),
            self.retries.clone(),
        );
        self.in_flight = Some(self.handle.spawn_blocking(move || {
            let started = Instant::now();
            let mut committer = committer.lock().unwrap_or_else(|p| p.into_inner());
            let done = retry_blocking(&retries, LakeOp::Commit, || {
                handle.block_on(committer.commit(batches.clone()))
            })?;
            retries
                .metrics
                .committed(u64::from(done.commits), started.elapsed());
            tracing::debug!(
                batches = done.batches.len(),
                commits = done.commits,
                version = ?done.reviews_version,
                ms = started.elapsed().as_millis() as u64,
                "committed"
            );
            Ok(done)
        }));
    }

    /// Whether to commit the `waiting` files now: once `commit_files` of them wait and no commit
    /// is under way (or it has ended), or once [`COMMIT_BACKLOG`] times as many wait, when the
    /// caller then waits for the commit under way.
    pub fn due(&self, waiting: usize, commit_files: usize) -> bool {
        waiting >= commit_files
            && (self.in_flight.as_ref().is_none_or(JoinHandle::is_finished)
                || waiting >= commit_files.saturating_mul(COMMIT_BACKLOG))
    }

    /// Waits for the commit under way, if any, and returns its result.
    pub fn settle(&mut self) -> Result<Option<Committed>> {
        let Some(commit) = self.in_flight.take() else {
            return Ok(None);
        };
        joined(&self.handle, commit).map(Some)
    }

    /// The result of the commit under way if it has ended, without waiting.
    pub fn ended(&mut self) -> Result<Option<Committed>> {
        match &self.in_flight {
            Some(commit) if commit.is_finished() => self.settle(),
            _ => Ok(None),
        }
    }
}
