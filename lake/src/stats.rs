//! Per-file statistics in the form Delta `add` actions carry them (`numRecords`, `minValues`,
//! `maxValues`, `nullCount`), so that every engine can prune files without reading footers.
//!
//! Computed from the batches a file was encoded from, for the columns worth pruning on: numbers,
//! timestamps and the Kafka coordinates. Free text is left out, as in the Parquet footers.
//! [`file_statistics`] reads them back as DataFusion's file statistics, so that planning a query
//! needs the log alone.

use std::{borrow::Borrow, borrow::Cow, collections::HashMap};

use arrow::datatypes::Schema;
use arrow::{
    array::{Array, ArrayRef, AsArray, RecordBatch},
    compute::{max, min},
    datatypes::{
        DataType, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType,
        TimestampMillisecondType,
    },
};
use chrono::DateTime;
use datafusion::common::{ColumnStatistics, ScalarValue, Statistics, stats::Precision};
use serde::{
    Deserialize, Deserializer,
    de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor},
};
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

/// The columns of `schema` whose statistics [`file_stats`] writes: numbers and timestamps.
pub(crate) fn tracked_columns(schema: &arrow::datatypes::Schema) -> Vec<&str> {
    schema
        .fields()
        .iter()
        .filter(|f| range(f.data_type(), &[]).is_some())
        .map(|f| f.name().as_str())
        .collect()
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

/// DataFusion's statistics of a file of `schema` (its columns, without partition columns) from
/// the `stats` JSON [`file_stats`] wrote, or `None` when the JSON lacks the row count. Values
/// are exact: they were computed from every row. A column the JSON does not cover is unknown.
pub(crate) fn file_statistics(stats: &str, size: u64, schema: &Schema) -> Option<Statistics> {
    let stats: LogStats = serde_json::from_str(stats).ok()?;
    let rows = usize::try_from(stats.num_records).ok()?;
    let exact = |v: Option<ScalarValue>| v.map_or(Precision::Absent, Precision::Exact);
    let column_statistics = schema
        .fields()
        .iter()
        .map(|field| {
            let name = field.name().as_str();
            let value = |bounds: &Bounds| scalar(field.data_type(), bounds.get(name)?);
            let nulls = match stats.null_count.get(name) {
                Some(&Bound::Int(n)) => usize::try_from(n).ok(),
                _ => None,
            };
            ColumnStatistics {
                null_count: nulls.map_or(Precision::Absent, Precision::Exact),
                min_value: exact(value(&stats.min_values)),
                max_value: exact(value(&stats.max_values)),
                ..ColumnStatistics::new_unknown()
            }
        })
        .collect();
    Some(Statistics {
        num_rows: Precision::Exact(rows),
        total_byte_size: Precision::Inexact(usize::try_from(size).ok()?),
        column_statistics,
    })
}

/// What planning reads of a file's `stats` JSON, borrowed from the text where it can be. Read
/// into `serde_json::Value`, every key and string of 30,000 files' statistics became a map entry
/// and a string of its own.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogStats<'a> {
    num_records: u64,
    #[serde(borrow, default)]
    min_values: Bounds<'a>,
    #[serde(borrow, default)]
    max_values: Bounds<'a>,
    #[serde(borrow, default)]
    null_count: Bounds<'a>,
}

/// One kind of bound (`minValues`, ...) by column name.
type Bounds<'a> = HashMap<Text<'a>, Bound<'a>>;

/// A name or text value of the JSON: borrowed unless it has escapes.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Text<'a>(Cow<'a, str>);

impl Borrow<str> for Text<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

/// A value of one column in the stats: a number, a text (timestamps), or anything else (a
/// nested column's object, a float, null), which planning does not use.
#[derive(Debug, PartialEq)]
enum Bound<'a> {
    Int(i64),
    Text(Text<'a>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_str(BoundVisitor)? {
            Bound::Text(text) => Ok(text),
            _ => Err(de::Error::custom("a column name that is not a string")),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Bound<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BoundVisitor)
    }
}

struct BoundVisitor;

impl<'de> Visitor<'de> for BoundVisitor {
    type Value = Bound<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a column's statistic")
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Bound::Int(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Bound::Other, Bound::Int))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Bound::Other)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Bound::Other)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Bound::Other)
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Bound::Text(Text(Cow::Borrowed(v))))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Bound::Text(Text(Cow::Owned(v.to_owned()))))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Bound::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Bound::Other)
    }
}

/// A min or max value of the stats JSON as a value of the column's type (the inverse of `range`).
fn scalar(ty: &DataType, value: &Bound) -> Option<ScalarValue> {
    let micros = || {
        let Bound::Text(Text(text)) = value else {
            return None;
        };
        // With an offset (`Z` as `range` writes for zoned columns), else without one; neither
        // parses a format string for each of the 60,000 values of a 30,000-file lake.
        let t = DateTime::parse_from_rfc3339(text)
            .map(|t| t.to_utc())
            .or_else(|_| text.parse::<chrono::NaiveDateTime>().map(|t| t.and_utc()))
            .ok()?;
        Some(t.timestamp_micros())
    };
    let int = || match value {
        Bound::Int(v) => Some(*v),
        _ => None,
    };
    Some(match ty {
        DataType::Int32 => ScalarValue::Int32(Some(i32::try_from(int()?).ok()?)),
        DataType::Int64 => ScalarValue::Int64(Some(int()?)),
        DataType::Timestamp(TimeUnit::Millisecond, tz) => {
            ScalarValue::TimestampMillisecond(Some(micros()?.div_euclid(1000)), tz.clone())
        }
        DataType::Timestamp(TimeUnit::Microsecond, tz) => {
            ScalarValue::TimestampMicrosecond(Some(micros()?), tz.clone())
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{TestRow, test_reviews};

    fn row(partition: i32, offset: i64, rating: i32, timestamp_ms: Option<i64>) -> TestRow {
        TestRow {
            partition,
            offset,
            timestamp_ms,
            rating,
        }
    }

    #[test]
    fn stats_cover_rows_ranges_and_nulls() {
        let batch = test_reviews(&[row(0, 7, 5, Some(1_000)), row(0, 8, 1, None)]);
        let stats: Value = serde_json::from_str(&file_stats(&[batch])).unwrap();
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

    /// What planning reads from the log is what the file's own rows give.
    #[test]
    fn statistics_read_back_from_the_json_are_the_rows_own() {
        let batch = test_reviews(&[
            row(2, 7, 5, Some(1_234)),
            row(2, 8, 1, None),
            row(2, 9, 3, Some(999)),
        ]);
        let schema = batch.schema();
        let s = file_statistics(&file_stats(&[batch]), 4096, &schema).unwrap();
        assert_eq!(s.num_rows, Precision::Exact(3));
        let column = |name: &str| &s.column_statistics[schema.index_of(name).unwrap()];
        assert_eq!(
            column("kafka_offset").min_value,
            Precision::Exact(ScalarValue::Int64(Some(7)))
        );
        assert_eq!(
            column("kafka_partition").max_value,
            Precision::Exact(ScalarValue::Int32(Some(2)))
        );
        assert_eq!(
            column("review_rating").min_value,
            Precision::Exact(ScalarValue::Int32(Some(1)))
        );
        let ts = column("kafka_timestamp");
        assert_eq!(
            ts.max_value,
            Precision::Exact(ScalarValue::TimestampMillisecond(
                Some(1_234),
                Some("UTC".into())
            ))
        );
        assert_eq!(ts.null_count, Precision::Exact(1));
        // A column without a time zone is written without an offset.
        assert_eq!(
            column("review_timestamp").max_value,
            Precision::Exact(ScalarValue::TimestampMicrosecond(Some(0), None))
        );
        assert_eq!(column("review_text").min_value, Precision::Absent);
        assert_eq!(file_statistics("{}", 1, &schema), None);
    }

    /// Statistics as another engine may write them (text columns, floats, nulls, a nested
    /// column, an escaped name, fields of its own): what planning reads still comes through.
    #[test]
    fn statistics_of_another_writer_keep_what_planning_reads() {
        let schema = test_reviews(&[row(0, 7, 5, Some(1))]).schema();
        let json = r#"{"numRecords":4,"tightBounds":true,
            "minValues":{"review_text":"a\"b","kafka_offset":7,"nested":{"x":[1,2.5]},
                "score":1.5,"kafka_timestamp":"1970-01-01T00:00:01.234Z"},
            "maxValues":{"kafka_offset":9,"review_text":null},
            "nullCount":{"kafka_offset":0,"nested":{"x":0},"review_rat\u0069ng":2}}"#;
        let s = file_statistics(json, 10, &schema).unwrap();
        let column = |name: &str| &s.column_statistics[schema.index_of(name).unwrap()];
        assert_eq!(s.num_rows, Precision::Exact(4));
        let offset = column("kafka_offset");
        assert_eq!(
            offset.min_value,
            Precision::Exact(ScalarValue::Int64(Some(7)))
        );
        assert_eq!(
            offset.max_value,
            Precision::Exact(ScalarValue::Int64(Some(9)))
        );
        assert_eq!(offset.null_count, Precision::Exact(0));
        assert_eq!(
            column("kafka_timestamp").min_value,
            Precision::Exact(ScalarValue::TimestampMillisecond(
                Some(1_234),
                Some("UTC".into())
            ))
        );
        assert_eq!(column("review_rating").null_count, Precision::Exact(2));
        assert_eq!(column("review_rating").min_value, Precision::Absent);
        assert_eq!(column("review_text").min_value, Precision::Absent);
        assert_eq!(file_statistics("not json", 10, &schema), None);
    }
}
