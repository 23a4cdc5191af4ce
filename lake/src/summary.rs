//! What is in a snapshot, per Kafka partition and in total, and the rejected records grouped by
//! the field at fault: one computation for `reviewlake lake stats` and the web console.

use arrow::{
    array::{Array, AsArray},
    datatypes::{Int32Type, Int64Type},
};
use serde::Serialize;

use crate::{Query, Result, Snapshot, Table, WHOLE_MESSAGE, column};

/// One Kafka partition's files and rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartitionSummary {
    pub topic: String,
    pub partition: i32,
    pub files: u64,
    pub rows: i64,
    pub bytes: u64,
    /// The first offset of the oldest `reviews` file, if the partition has one.
    pub first_offset: Option<i64>,
    /// The last offset the `reviews` table has taken in (its `txn` version).
    pub last_offset: Option<i64>,
    pub rejected_files: u64,
    pub rejected: i64,
    pub rejected_bytes: u64,
}

/// Sums over every partition.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    pub files: u64,
    pub rows: i64,
    pub bytes: u64,
    pub rejected_files: u64,
    pub rejected: i64,
}

/// A snapshot in figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LakeSummary {
    pub reviews_version: Option<u64>,
    pub rejected_version: Option<u64>,
    pub partitions: Vec<PartitionSummary>,
    pub total: Totals,
}

/// The figures of `snapshot`, from its commits' statistics (no data file is read).
pub async fn summary(snapshot: &Snapshot) -> Result<LakeSummary> {
    let mut partitions = Vec::new();
    let mut total = Totals::default();
    for p in snapshot.partitions() {
        let sum = |table| {
            p.files(table)
                .iter()
                .fold((0u64, 0i64, 0u64), |(n, r, b), f| {
                    (n + 1, r + f.rows, b + f.size)
                })
        };
        let (files, rows, bytes) = sum(Table::Reviews);
        let (rejected_files, rejected, rejected_bytes) = sum(Table::Rejected);
        total.files += files;
        total.rows += rows;
        total.bytes += bytes;
        total.rejected_files += rejected_files;
        total.rejected += rejected;
        partitions.push(PartitionSummary {
            topic: p.topic.clone(),
            partition: p.partition,
            files,
            rows,
            bytes,
            first_offset: p.files(Table::Reviews).first().map(|f| f.key.first_offset),
            last_offset: snapshot.taken_in(&p.topic, p.partition).await?.reviews,
            rejected_files,
            rejected,
            rejected_bytes,
        });
    }
    let versions = snapshot.versions();
    Ok(LakeSummary {
        reviews_version: versions.reviews,
        rejected_version: versions.rejected,
        partitions,
        total,
    })
}

/// The rejected records of one field at fault ([`WHOLE_MESSAGE`] when no one field is), with the
/// first one as an example.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RejectGroup {
    pub field: String,
    pub count: i64,
    pub example_reason: String,
    pub example_partition: i32,
    pub example_offset: i64,
    /// The example's payload, as text (invalid UTF-8 replaced), at most `example_bytes` long.
    pub example_payload: Option<String>,
}

/// The rejected records of `query`'s snapshot grouped by field, most frequent first, each
/// example payload cut to `example_bytes`.
pub async fn rejects_by_field(query: &Query, example_bytes: usize) -> Result<Vec<RejectGroup>> {
    use column::{FIELD, KAFKA_OFFSET, KAFKA_PARTITION, PAYLOAD, REASON};
    let first = |c: &str| format!("first_value({c} ORDER BY {KAFKA_PARTITION}, {KAFKA_OFFSET})");
    let sql = format!(
        "SELECT coalesce({FIELD}, '{WHOLE_MESSAGE}') AS f, count(*) AS n, {}, {}, {}, {} \
         FROM rejected GROUP BY 1 ORDER BY n DESC, f",
        first(REASON),
        first(KAFKA_PARTITION),
        first(KAFKA_OFFSET),
        first(PAYLOAD)
    );
    let (_, batches) = query.run(&sql).await?;
    let mut out = Vec::new();
    for b in &batches {
        let text = |i: usize| b.column(i).as_string::<i32>();
        let (field, reason) = (text(0), text(2));
        let count = b.column(1).as_primitive::<Int64Type>();
        let partition = b.column(3).as_primitive::<Int32Type>();
        let offset = b.column(4).as_primitive::<Int64Type>();
        let payload = b.column(5).as_binary::<i32>();
        for row in 0..b.num_rows() {
            out.push(RejectGroup {
                field: field.value(row).to_string(),
                count: count.value(row),
                example_reason: reason.value(row).to_string(),
                example_partition: partition.value(row),
                example_offset: offset.value(row),
                example_payload: (!payload.is_null(row)).then(|| {
                    let bytes = payload.value(row);
                    String::from_utf8_lossy(&bytes[..bytes.len().min(example_bytes)]).into_owned()
                }),
            });
        }
    }
    Ok(out)
}
