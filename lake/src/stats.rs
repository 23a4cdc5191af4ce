//! Per-file statistics in the form Delta `add` actions carry them (`numRecords`, `minValues`,
//! `maxValues`, `nullCount`), so that every engine can prune files without reading footers.
//!
//! Computed from the batches a file was encoded from, for the columns worth pruning on: numbers,
//! timestamps and the Kafka coordinates. Free text is left out, as in the Parquet footers.

use arrow::{
    array::{Array, ArrayRef, AsArray, RecordBatch},
    compute::{max, min},
    datatypes::{
        DataType, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
        TimestampMillisecondType,
    },
};
use chrono::DateTime;
use serde_json::{Map, Value, json};

/// The `stats` JSON of a file made of `batches` (all of one schema).
pub(crate) fn file_stats(batches: &[RecordBatch]) -> String {
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let (mut mins, mut maxs, mut nulls) = (Map::new(), Map::new(), Map::new());
    if let Some(first) = batches.first() {
        for (i, field) in first.schema().fields().iter().enumerate() {
            let columns: Vec<&ArrayRef> = batches.iter().map(|b| b.column(i)).collect();
            let null_count: usize = columns.iter().map(|c| c.null_count()).sum();
            let Some((lo, hi)) = range(field.data_type(), &columns) else {
                continue;
            };
            nulls.insert(field.name().clone(), json!(null_count));
            if let (Some(lo), Some(hi)) = (lo, hi) {
                mins.insert(field.name().clone(), lo);
                maxs.insert(field.name().clone(), hi);
            }
        }
    }
    json!({
        "numRecords": rows,
        "minValues": mins,
        "maxValues": maxs,
        "nullCount": nulls,
    })
    .to_string()
}

/// Min and max of a column across batches, as Delta writes them; `None` for types not tracked.
fn range(ty: &DataType, columns: &[&ArrayRef]) -> Option<(Option<Value>, Option<Value>)> {
    fn fold<T: PartialOrd + Copy>(
        columns: &[&ArrayRef],
        each: impl Fn(&ArrayRef) -> (Option<T>, Option<T>),
    ) -> (Option<T>, Option<T>) {
        let mut out: (Option<T>, Option<T>) = (None, None);
        for c in columns {
            let (lo, hi) = each(c);
            if let Some(lo) = lo {
                out.0 = Some(out.0.map_or(lo, |o| if lo < o { lo } else { o }));
            }
            if let Some(hi) = hi {
                out.1 = Some(out.1.map_or(hi, |o| if hi > o { hi } else { o }));
            }
        }
        out
    }
    let micros = |us: i64, utc: bool| {
        DateTime::from_timestamp_micros(us).map(|t| {
            let text = t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string();
            Value::String(if utc { format!("{text}Z") } else { text })
        })
    };
    Some(match ty {
        DataType::Int32 => {
            let (lo, hi) = fold(columns, |c| {
                let a = c.as_primitive::<Int32Type>();
                (min(a), max(a))
            });
            (lo.map(Value::from), hi.map(Value::from))
        }
        DataType::Int64 => {
            let (lo, hi) = fold(columns, |c| {
                let a = c.as_primitive::<Int64Type>();
                (min(a), max(a))
            });
            (lo.map(Value::from), hi.map(Value::from))
        }
        DataType::Timestamp(TimeUnit::Millisecond, tz) => {
            let (lo, hi) = fold(columns, |c| {
                let a = c.as_primitive::<TimestampMillisecondType>();
                (min(a), max(a))
            });
            let utc = tz.is_some();
            (
                lo.and_then(|v| micros(v * 1000, utc)),
                hi.and_then(|v| micros(v * 1000, utc)),
            )
        }
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            let (lo, hi) = fold(columns, |c| {
                let a = c.as_primitive::<TimestampMicrosecondType>();
                (min(a), max(a))
            });
            let utc = tz.is_some();
            (
                lo.and_then(|v| micros(v, utc)),
                hi.and_then(|v| micros(v, utc)),
            )
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ReviewBuilder, SourcePosition};

    #[test]
    fn stats_cover_rows_ranges_and_nulls() {
        let mut b = ReviewBuilder::default();
        for (offset, rating, ts) in [(7, 5, Some(1_000)), (8, 1, None)] {
            let review = crate::Review {
                review_id: "r".into(),
                review_rating: rating,
                ..Default::default()
            };
            let at = SourcePosition {
                partition: 0,
                offset,
                timestamp_ms: ts,
            };
            b.append(&review, &at);
        }
        let stats: Value = serde_json::from_str(&file_stats(&[b.finish("t").unwrap()])).unwrap();
        assert_eq!(stats["numRecords"], 2);
        assert_eq!(stats["minValues"]["kafka_offset"], 7);
        assert_eq!(stats["maxValues"]["kafka_offset"], 8);
        assert_eq!(stats["minValues"]["review_rating"], 1);
        assert_eq!(
            stats["maxValues"]["kafka_timestamp"],
            "1970-01-01T00:00:01.000000Z"
        );
        assert_eq!(stats["nullCount"]["kafka_timestamp"], 1);
        assert!(stats["minValues"].get("review_text").is_none());
    }
}
