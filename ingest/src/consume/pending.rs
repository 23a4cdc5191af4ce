//! The pending batch: one partition's records since its last file.

use super::*;

/// One partition's records since its last file.
pub(super) struct PendingBatch {
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
    /// Rejected records appended, by the field at fault (`message` for the whole message).
    pub(super) rejects: BTreeMap<&'static str, u64>,
    /// Set until the first record after a resume arrives, to report a gap at the resume point.
    pub(super) check_resume: bool,
}

impl PendingBatch {
    pub(super) fn new(taken: TakenIn) -> Self {
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
}
