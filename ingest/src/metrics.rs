//! What an operator watches while ingest runs for days: records and rejects committed by
//! partition (and the field at fault), files, commits and bytes, write and commit latency,
//! storage retries, rebalances, the last commit's time, and each partition's lag (the broker's
//! high watermark minus the next offset the lake expects). Declared once with
//! `prometheus-client`; [`IngestMetrics::status`] gives the per-partition figures as JSON for the
//! console. Counts are of committed records only, so they equal what the lake gained.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Mutex, atomic::AtomicU64},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use prometheus_client::{
    encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};
use serde::Serialize;

/// Latency bucket bounds, in seconds: a local put takes milliseconds, an S3 commit up to seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PartitionLabel {
    partition: i32,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectLabels {
    partition: i32,
    /// The field at fault; `lake::WHOLE_MESSAGE` when no one field is.
    field: String,
}

/// A lake operation ingest retries when it fails.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum LakeOp {
    OpenTables,
    ReadTables,
    WriteBatch,
    Commit,
}

impl LakeOp {
    const ALL: [Self; 4] = [
        Self::OpenTables,
        Self::ReadTables,
        Self::WriteBatch,
        Self::Commit,
    ];

    /// Its metrics label.
    fn label(self) -> &'static str {
        match self {
            Self::OpenTables => "open_tables",
            Self::ReadTables => "read_tables",
            Self::WriteBatch => "write_batch",
            Self::Commit => "commit",
        }
    }

    /// What it does, for log lines.
    pub(crate) fn doing(self) -> &'static str {
        match self {
            Self::OpenTables => "opening the tables",
            Self::ReadTables => "reading the tables",
            Self::WriteBatch => "writing a batch",
            Self::Commit => "committing",
        }
    }
}

impl EncodeLabelValue for LakeOp {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> std::fmt::Result {
        encoder.write_str(self.label())
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: LakeOp,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

/// One partition's figures, as `/status` shows them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PartitionStatus {
    pub partition: i32,
    /// The broker's high watermark, from the consumer's statistics.
    pub high_watermark: Option<i64>,
    /// The next offset the lake expects.
    pub lake_offset: Option<i64>,
    /// `high_watermark - lake_offset`, once both are known.
    pub lag: Option<i64>,
    pub records: u64,
    pub rejected: u64,
}

/// Everything `/status` shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Status {
    pub topic: String,
    pub records: u64,
    pub rejected: u64,
    pub commits: u64,
    /// Seconds since the epoch.
    pub last_commit: Option<f64>,
    pub partitions: Vec<PartitionStatus>,
}

/// Ingest's metrics. Cheap to update; shared between the consume loop and the metrics server.
#[derive(Debug)]
pub struct IngestMetrics {
    registry: Registry,
    records: Family<PartitionLabel, Counter>,
    rejects: Family<RejectLabels, Counter>,
    files: Counter,
    commits: Counter,
    bytes: Counter,
    write_seconds: Histogram,
    commit_seconds: Histogram,
    retries: Family<OperationLabel, Counter>,
    rebalances: Family<KindLabel, Counter>,
    high_watermark: Family<PartitionLabel, Gauge>,
    lake_offset: Family<PartitionLabel, Gauge>,
    lag: Family<PartitionLabel, Gauge>,
    last_commit: Gauge<f64, AtomicU64>,
    status: Mutex<Status>,
}

impl Default for IngestMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("reviewlake_ingest");
        let m = Self {
            registry: Registry::default(),
            records: Family::default(),
            rejects: Family::default(),
            files: Counter::default(),
            commits: Counter::default(),
            bytes: Counter::default(),
            write_seconds: Histogram::new(BUCKETS),
            commit_seconds: Histogram::new(BUCKETS),
            retries: Family::default(),
            rebalances: Family::default(),
            high_watermark: Family::default(),
            lake_offset: Family::default(),
            lag: Family::default(),
            last_commit: Gauge::default(),
            status: Mutex::new(Status::default()),
        };
        registry.register(
            "records",
            "Accepted records committed to the reviews table, by partition",
            m.records.clone(),
        );
        registry.register(
            "rejects",
            "Rejected records committed to the rejected table, by partition and field at fault",
            m.rejects.clone(),
        );
        registry.register("files", "Batches committed", m.files.clone());
        registry.register(
            "commits",
            "Delta commits made (both tables)",
            m.commits.clone(),
        );
        registry.register("bytes", "Bytes of data files committed", m.bytes.clone());
        registry.register(
            "write_duration_seconds",
            "Time to encode and put one batch's files",
            m.write_seconds.clone(),
        );
        registry.register(
            "commit_duration_seconds",
            "Time to commit a group of files to the tables",
            m.commit_seconds.clone(),
        );
        registry.register(
            "storage_retries",
            "Lake operations retried after a failure, by operation",
            m.retries.clone(),
        );
        registry.register(
            "rebalances",
            "Partition assignments and revocations",
            m.rebalances.clone(),
        );
        registry.register(
            "high_watermark",
            "The broker's high watermark per assigned partition",
            m.high_watermark.clone(),
        );
        registry.register(
            "lake_offset",
            "The next offset the lake expects per assigned partition",
            m.lake_offset.clone(),
        );
        registry.register(
            "consumer_lag",
            "High watermark minus the lake's next offset, per assigned partition",
            m.lag.clone(),
        );
        registry.register(
            "last_commit_timestamp_seconds",
            "When the last commit landed, in seconds since the epoch",
            m.last_commit.clone(),
        );
        // Every operation's series exists from the start, at 0: a rate over it is 0, not absent.
        for operation in LakeOp::ALL {
            let _ = m.retries.get_or_create(&OperationLabel { operation });
        }
        Self { registry, ..m }
    }
}

impl IngestMetrics {
    fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn partition(status: &mut Status, partition: i32) -> &mut PartitionStatus {
        let i = match status
            .partitions
            .binary_search_by_key(&partition, |p| p.partition)
        {
            Ok(i) => i,
            Err(i) => {
                status.partitions.insert(
                    i,
                    PartitionStatus {
                        partition,
                        ..Default::default()
                    },
                );
                i
            }
        };
        &mut status.partitions[i]
    }

    /// Sets one partition's gauges from its status: each end once known, the lag once both are.
    fn publish(&self, p: &mut PartitionStatus) {
        let label = PartitionLabel {
            partition: p.partition,
        };
        for (gauge, value) in [
            (&self.high_watermark, p.high_watermark),
            (&self.lake_offset, p.lake_offset),
        ] {
            if let Some(v) = value {
                gauge.get_or_create(&label).set(v);
            }
        }
        if let (Some(hw), Some(next)) = (p.high_watermark, p.lake_offset) {
            let lag = (hw - next).max(0);
            p.lag = Some(lag);
            self.lag.get_or_create(&label).set(lag);
        }
    }

    pub(crate) fn set_topic(&self, topic: &str) {
        self.status().topic = topic.to_string();
    }

    /// A partition came to this member; the lake expects `next` from it.
    pub(crate) fn assigned(&self, partition: i32, next: Option<i64>) {
        self.rebalances
            .get_or_create(&KindLabel { kind: "assigned" })
            .inc();
        self.resumed(partition, next);
    }

    /// This member reads `partition` on from `next`, where the tables stand (at assignment, or
    /// after another writer's commits moved them).
    pub(crate) fn resumed(&self, partition: i32, next: Option<i64>) {
        let mut status = self.status();
        let p = Self::partition(&mut status, partition);
        p.lake_offset = Some(next.unwrap_or(0));
        self.publish(p);
    }

    /// A partition left this member: its per-partition gauges go, another member reports it.
    pub(crate) fn revoked(&self, partition: i32) {
        self.rebalances
            .get_or_create(&KindLabel { kind: "revoked" })
            .inc();
        let label = PartitionLabel { partition };
        for family in [&self.high_watermark, &self.lake_offset, &self.lag] {
            family.remove(&label);
        }
        self.status()
            .partitions
            .retain(|p| p.partition != partition);
    }

    /// The broker's high watermark of an assigned partition, from the consumer's statistics.
    pub(crate) fn high_watermark(&self, partition: i32, offset: i64) {
        let mut status = self.status();
        let Ok(i) = status
            .partitions
            .binary_search_by_key(&partition, |p| p.partition)
        else {
            return; // not ours
        };
        let p = &mut status.partitions[i];
        p.high_watermark = Some(offset);
        self.publish(p);
    }

    /// One batch's files were put, in `elapsed`.
    pub(crate) fn written(&self, elapsed: Duration) {
        self.write_seconds.observe(elapsed.as_secs_f64());
    }

    /// A lake operation failed and is retried.
    pub(crate) fn retried(&self, operation: LakeOp) {
        self.retries
            .get_or_create(&OperationLabel { operation })
            .inc();
    }

    /// `commits` Delta commits landed in `elapsed`.
    pub(crate) fn committed(&self, commits: u64, elapsed: Duration) {
        self.commits.inc_by(commits);
        self.commit_seconds.observe(elapsed.as_secs_f64());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        self.last_commit.set(now);
        let mut status = self.status();
        status.commits += commits;
        status.last_commit = Some(now);
    }

    /// One committed batch of `partition`: its rows, its rejects by field, its bytes, and the
    /// next offset the lake now expects.
    pub(crate) fn batch_committed(
        &self,
        partition: i32,
        rows: u64,
        rejects: &BTreeMap<&'static str, u64>,
        bytes: u64,
        next: i64,
    ) {
        self.files.inc();
        self.bytes.inc_by(bytes);
        self.records
            .get_or_create(&PartitionLabel { partition })
            .inc_by(rows);
        for (field, n) in rejects {
            self.rejects
                .get_or_create(&RejectLabels {
                    partition,
                    field: field.to_string(),
                })
                .inc_by(*n);
        }
        let rejected: u64 = rejects.values().sum();
        let mut status = self.status();
        status.records += rows;
        status.rejected += rejected;
        let p = Self::partition(&mut status, partition);
        p.records += rows;
        p.rejected += rejected;
        p.lake_offset = Some(p.lake_offset.map_or(next, |o| o.max(next)));
        self.publish(p);
    }

    /// The text exposition (OpenMetrics).
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }

    /// The figures `/status` shows.
    pub fn snapshot(&self) -> Status {
        self.status().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_high_watermark_minus_the_lake_offset() {
        let m = IngestMetrics::default();
        m.assigned(0, Some(10));
        m.high_watermark(0, 25);
        m.high_watermark(7, 99); // not assigned: ignored
        assert_eq!(m.snapshot().partitions[0].lag, Some(15));
        let rejects = BTreeMap::from([("review_rating", 2)]);
        m.batch_committed(0, 13, &rejects, 4096, 25);
        let s = m.snapshot();
        assert_eq!(
            (s.records, s.rejected, s.partitions[0].lag),
            (13, 2, Some(0))
        );
        let text = m.render();
        for line in [
            r#"reviewlake_ingest_records_total{partition="0"} 13"#,
            r#"reviewlake_ingest_rejects_total{partition="0",field="review_rating"} 2"#,
            r#"reviewlake_ingest_consumer_lag{partition="0"} 0"#,
            "reviewlake_ingest_bytes_total 4096",
            r#"reviewlake_ingest_storage_retries_total{operation="commit"} 0"#,
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        m.revoked(0);
        assert!(m.snapshot().partitions.is_empty());
        assert!(!m.render().contains("reviewlake_ingest_consumer_lag{"));
    }
}
