//! The catch-up checks: a topic behind the tables is refused, and `--exit-at-end` stops once the
//! tables hold every partition up to its end.

use super::*;

impl Run<'_> {
    /// Refuses a partition whose tables have taken in more than the topic holds: the topic was
    /// deleted and recreated under the same name, or the lake belongs to another cluster. Reading
    /// on would skip every new record below the old offsets.
    pub(super) fn check_offsets(
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

    /// True when the tables hold every partition of the topic up to its high watermark. Clears
    /// the end-of-partition mark of our own partitions that are not (a stale mark).
    pub(super) fn topic_caught_up(
        &mut self,
        consumer: &BaseConsumer<IngestContext>,
    ) -> Result<bool> {
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
            retry_blocking(&self.retries, LakeOp::ReadTables, || {
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
}
