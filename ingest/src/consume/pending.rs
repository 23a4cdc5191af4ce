//! The pending batch: one partition's records since its last file. The consume loop feeds it each
//! polled record ([`PendingBatch::take`]) and turns it into files when full; the writer benchmark
//! (`examples/writer_bench.rs`) drives the same steps from memory.

use super::*;

/// One partition's records since its last file.
pub struct PendingBatch {
    pub(super) reviews: ReviewBuilder,
    pub(super) rejected: RejectedBuilder,
    pub(super) first: Option<i64>,
    pub(super) last: i64,
    /// Offsets below this are already in the lake.
    pub(super) next_offset: i64,
    /// Rejected records up to this offset are already in the `rejected` table (a crash fell
    /// between a batch's two commits): they are not written again.
    pub(super) rejected_through: i64,
    pub(super) oldest: Option<Instant>,
    /// Offsets taken into this batch (rejected records already in the lake included).
    pub(super) seen: usize,
    /// Bytes of keys and payloads appended (what the batch's columns hold of them).
    pub(super) bytes: usize,
    /// Rejected records appended, by the field at fault ([`lake::WHOLE_MESSAGE`] when no one
    /// field is).
    pub(super) rejects: BTreeMap<&'static str, u64>,
    /// Set until the first record after a resume arrives, to report a gap at the resume point.
    pub(super) check_resume: bool,
}

/// A full batch, ready to be written: its offset range, its two tables' record batches, and its
/// rejects by field.
pub struct FinishedBatch {
    pub first: i64,
    pub last: i64,
    pub reviews: RecordBatch,
    pub rejected: RecordBatch,
    pub rejects: BTreeMap<&'static str, u64>,
}

impl PendingBatch {
    /// A batch for a partition whose tables stand at `taken`.
    pub fn new(taken: TakenIn) -> Self {
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
            rejects: BTreeMap::new(),
            check_resume: next_offset.is_some(),
        }
    }

    pub(super) fn records(&self) -> usize {
        self.seen
    }

    /// Takes the record at `pos` (at or past `next_offset`): decoded and validated into the
    /// reviews, or kept with its reason among the rejected records.
    pub fn take(
        &mut self,
        key: Option<&[u8]>,
        payload: Option<&[u8]>,
        pos: &SourcePosition,
        options: &DecodeOptions,
    ) {
        let offset = pos.offset;
        match decode::decode(key, payload, options) {
            Ok(review) => {
                self.bytes += payload.map_or(0, <[u8]>::len);
                self.reviews.append(&review, pos);
            }
            Err(_) if offset <= self.rejected_through => {
                tracing::debug!(
                    partition = pos.partition,
                    offset,
                    "rejected record already in the rejected table"
                );
            }
            Err(rejected) => {
                self.bytes +=
                    rejected.key.map_or(0, <[u8]>::len) + rejected.payload.map_or(0, <[u8]>::len);
                tracing::debug!(partition = pos.partition, offset, reason = %rejected.reason, "record rejected");
                *self
                    .rejects
                    .entry(rejected.field.unwrap_or(lake::WHOLE_MESSAGE))
                    .or_default() += 1;
                self.rejected.append(&rejected, pos);
            }
        }
        self.first.get_or_insert(offset);
        self.last = offset;
        self.next_offset = offset + 1;
        self.oldest.get_or_insert_with(Instant::now);
        self.seen += 1;
    }

    /// Whether the batch holds `rows` records or `bytes` bytes of keys and payloads.
    pub fn is_full(&self, rows: usize, bytes: usize) -> bool {
        self.seen >= rows || self.bytes >= bytes
    }

    /// The records taken since the last call as two record batches of `topic`, and the batch
    /// emptied for the next records; `None` if it holds none.
    pub fn finish(&mut self, topic: &str) -> Result<Option<FinishedBatch>> {
        let Some(first) = self.first else {
            return Ok(None);
        };
        let reviews = self.reviews.finish(topic)?;
        let rejected = self.rejected.finish(topic)?;
        self.first = None;
        self.oldest = None;
        self.seen = 0;
        self.bytes = 0;
        Ok(Some(FinishedBatch {
            first,
            last: self.last,
            reviews,
            rejected,
            rejects: std::mem::take(&mut self.rejects),
        }))
    }
}
