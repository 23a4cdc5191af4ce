//! Assignment and resume: the consumer's rebalance callbacks, which read where the tables stand
//! for each assigned partition and hand the loop the events it acts on once `poll` returns.

use super::*;

/// A rebalance seen inside `poll`, handled by the loop once `poll` returns.
pub(super) enum Event {
    Assigned(Vec<(i32, TakenIn)>),
    Revoked(Vec<i32>),
}

pub(super) struct IngestContext {
    /// Shared with the commit under way ([`Commits`]): a callback waits for it.
    pub(super) committer: Arc<Mutex<Committer>>,
    pub(super) handle: Handle,
    pub(super) retries: Retries,
    pub(super) topic: String,
    pub(super) events: Mutex<Vec<Event>>,
    pub(super) failure: Mutex<Option<Error>>,
}

impl ClientContext for IngestContext {
    /// The high watermarks of this member's partitions, for the lag metric.
    fn stats(&self, statistics: rdkafka::Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else {
            return;
        };
        for (partition, p) in &topic.partitions {
            if *partition >= 0 && p.hi_offset >= 0 {
                self.retries.metrics.high_watermark(*partition, p.hi_offset);
            }
        }
    }

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
    pub(super) fn push(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
    }

    pub(super) fn fail(&self, e: Error) {
        tracing::error!(error = %lake::error_chain(&e), "ingest failed");
        let mut failure = self.failure.lock().unwrap_or_else(|p| p.into_inner());
        failure.get_or_insert(e);
    }

    pub(super) fn committer(&self) -> std::sync::MutexGuard<'_, Committer> {
        self.committer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How far the tables have taken `partition` in: ingest resumes after it.
    pub(super) fn resume_point(&self, partition: i32) -> Result<TakenIn> {
        let mut committer = self.committer();
        retry_blocking(&self.retries, LakeOp::ReadTables, || {
            self.handle.block_on(committer.resume(partition))
        })
    }
}
