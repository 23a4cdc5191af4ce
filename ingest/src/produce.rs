//! `reviewlake produce`: one JSON message per review, keyed by `review_id`.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use rdkafka::{
    ClientContext,
    error::{KafkaError, RDKafkaErrorCode},
    message::DeliveryResult,
    producer::{BaseRecord, Producer, ProducerContext, ThreadedProducer},
};

use crate::{Error, KafkaOptions, Progress, Result, record::ReviewRecord};

/// How to produce.
#[derive(Debug, Clone, Default)]
pub struct ProduceOptions {
    pub kafka: KafkaOptions,
    /// Messages per second; 0 sends as fast as the broker takes them.
    pub rate: f64,
    /// Stop after this many messages.
    pub limit: Option<u64>,
    /// Send every value as a JSON string, as the original Python producer did.
    pub string_values: bool,
}

/// What a produce run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceSummary {
    /// Messages handed to the client.
    pub sent: u64,
    /// Messages the broker acknowledged.
    pub delivered: u64,
    pub elapsed: Duration,
}

#[derive(Default)]
struct DeliveryCounter {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for DeliveryCounter {}

impl ProducerContext for DeliveryCounter {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_error.lock().unwrap_or_else(|p| p.into_inner());
                if first.is_none() {
                    tracing::error!(error = %e, "message not acknowledged");
                    *first = Some(e.to_string());
                }
            }
        }
    }
}

/// Sends every record of `source` to the topic. Returns an error that counts the messages not
/// acknowledged, if any were not. `total` sizes the progress bar; `stop` ends the run early
/// (what was sent is still flushed).
pub fn produce(
    options: &ProduceOptions,
    source: impl Iterator<Item = Result<ReviewRecord>>,
    total: Option<u64>,
    stop: &AtomicBool,
    progress: &mut dyn Progress,
) -> Result<ProduceSummary> {
    let producer: ThreadedProducer<DeliveryCounter> = options
        .kafka
        .client_config(&[
            ("linger.ms", "5"),
            ("batch.num.messages", "10000"),
            ("queue.buffering.max.messages", "500000"),
            ("message.timeout.ms", "120000"),
            // Retries (after a timed-out request, say) must not write a review twice.
            ("enable.idempotence", "true"),
        ])
        .create_with_context(DeliveryCounter::default())
        .map_err(|e| Error::kafka("creating the producer", e))?;
    let total = match (total, options.limit) {
        (Some(t), Some(l)) => Some(t.min(l)),
        (t, l) => t.or(l),
    };
    progress.start("produce", total);
    let started = Instant::now();
    let mut sent = 0u64;
    let mut buf = Vec::with_capacity(1024);
    let limit = options.limit.unwrap_or(u64::MAX);
    let counter = producer.context();
    let mut result = Ok(());
    for record in source {
        if sent >= limit || stop.load(Ordering::Relaxed) {
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        if options.rate > 0.0 {
            let due = started + Duration::from_secs_f64(sent as f64 / options.rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        buf.clear();
        record.write_json(options.string_values, &mut buf);
        let mut message = BaseRecord::to(&options.kafka.topic)
            .key(record.review_id.as_bytes())
            .payload(&buf[..]);
        loop {
            match producer.send(message) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), m)) => {
                    message = m;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => {
                    return Err(Error::kafka(
                        format!("sending message {} to {}", sent + 1, options.kafka.topic),
                        e,
                    ));
                }
            }
        }
        sent += 1;
        let delivered = &counter.delivered;
        progress.inc(1, &|| {
            format!("{} acknowledged", delivered.load(Ordering::Relaxed))
        });
    }
    // Wait for every acknowledgement, however the loop ended.
    let flushed = producer.flush(Duration::from_secs(120));
    progress.finish();
    result?;
    let delivered = counter.delivered.load(Ordering::Relaxed);
    if let Err(e) = flushed {
        tracing::error!(error = %e, "flush did not complete");
    }
    if delivered < sent {
        let first_error = counter
            .first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| "timed out waiting for acknowledgement".into());
        return Err(Error::Undelivered {
            failed: sent - delivered,
            attempted: sent,
            first_error,
        });
    }
    Ok(ProduceSummary {
        sent,
        delivered,
        elapsed: started.elapsed(),
    })
}
