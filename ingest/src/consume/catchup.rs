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
        taken: &[(i32, TakenIn)],
    ) -> Result<()> {
        let resumed: Vec<(i32, i64)> = taken
            .iter()
            .filter_map(|&(p, t)| Some((p, t.next_offset()?)))
            .collect();
        let partitions: Vec<i32> = resumed.iter().map(|&(p, _)| p).collect();
        let marks = watermarks(consumer, &self.topic, &partitions)?;
        for ((partition, next), (_, _, high)) in resumed.into_iter().zip(marks) {
            if next > high {
                return Err(Error::OffsetsAhead {
                    topic: self.topic.clone(),
                    partition,
                    lake_next: next,
                    high_watermark: high,
                });
            }
        }
        Ok(())
    }

    /// True when the tables hold every partition of the topic up to its high watermark. Clears
    /// the end-of-partition mark of our own partitions that are not (a stale mark).
    pub(super) fn topic_caught_up(
        &mut self,
        consumer: &BaseConsumer<IngestContext>,
    ) -> Result<bool> {
        let metadata = consumer
            .fetch_metadata(Some(&self.topic), KAFKA_TIMEOUT)
            .map_err(|e| Error::kafka("fetching topic metadata", e))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        let ends = watermarks(consumer, &self.topic, &partitions)?;
        let lag = |taken: Option<TakenIn>, low: i64, high: i64| {
            high - taken.and_then(|t| t.next_offset()).unwrap_or(0).max(low)
        };
        // A partition this member saw caught up is caught up still (`txn` versions only grow);
        // only the others are read from the tables, each read a replay of part of the log.
        let mut committer = consumer.context().committer();
        let unsure: Vec<(i32, i64, i64)> = ends
            .into_iter()
            .filter(|&(p, low, high)| lag(committer.last_seen(p), low, high) > 0)
            .collect();
        let partitions: Vec<i32> = unsure.iter().map(|&(p, ..)| p).collect();
        let standing = retry_blocking(&self.retries, LakeOp::ReadTables, || {
            self.handle.block_on(committer.standing(&partitions))
        })?;
        drop(committer);
        let mut behind = Vec::new();
        for ((partition, low, high), taken) in unsure.into_iter().zip(standing) {
            let lag = lag(Some(taken), low, high);
            if lag > 0 {
                behind.push((partition, lag));
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

/// How long a metadata or offsets request to the brokers may take.
const KAFKA_TIMEOUT: Duration = Duration::from_secs(10);

/// The low and high watermarks of `partitions` of `topic`, as `(partition, low, high)` in the
/// same order: two offset requests for all of them (one per partition would each wait behind
/// the consumer's long-polling fetch on the same connection).
fn watermarks(
    consumer: &BaseConsumer<IngestContext>,
    topic: &str,
    partitions: &[i32],
) -> Result<Vec<(i32, i64, i64)>> {
    if partitions.is_empty() {
        return Ok(Vec::new());
    }
    let at = |end: Offset| -> Result<HashMap<i32, i64>> {
        let mut tpl = TopicPartitionList::new();
        for &p in partitions {
            tpl.add_partition_offset(topic, p, end)
                .map_err(|e| Error::kafka("building the offsets request", e))?;
        }
        let found = consumer
            .offsets_for_times(tpl, KAFKA_TIMEOUT)
            .map_err(|e| Error::kafka("fetching watermarks", e))?;
        found
            .elements()
            .iter()
            .map(|e| {
                let context = || format!("fetching the watermarks of partition {}", e.partition());
                e.error().map_err(|err| Error::kafka(context(), err))?;
                match e.offset() {
                    Offset::Offset(o) => Ok((e.partition(), o)),
                    // A broker answers with an offset for every partition it holds.
                    _ => Err(Error::kafka(
                        context(),
                        KafkaError::OffsetFetch(RDKafkaErrorCode::OffsetNotAvailable),
                    )),
                }
            })
            .collect()
    };
    let (low, high) = (at(Offset::Beginning)?, at(Offset::End)?);
    partitions
        .iter()
        .map(|&p| match (low.get(&p), high.get(&p)) {
            (Some(&l), Some(&h)) => Ok((p, l, h)),
            _ => Err(Error::kafka(
                format!("fetching watermarks of partition {p}"),
                KafkaError::OffsetFetch(RDKafkaErrorCode::UnknownPartition),
            )),
        })
        .collect()
}
