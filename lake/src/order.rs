//! Arrival order: the order of the stream, by Kafka record timestamp, then partition, then
//! offset (timestamps ascending, missing timestamps last, as SQL's `ORDER BY` puts them).
//!
//! Every `reviews` file is written in arrival order and says so in its Parquet footer
//! (`sorting_columns` of each row group). A reader that trusts footers, such as DataFusion
//! collecting file statistics, can then merge the files of a scan instead of sorting their rows.
//! Files written before this existed carry no such claim: a scan that includes one sorts, and
//! compaction rewrites them in order.

use std::cmp::Ordering;

use arrow::{
    array::{Array, AsArray, RecordBatch},
    compute::interleave_record_batch,
    datatypes::{Int32Type, Int64Type, Schema, TimestampMillisecondType},
    error::ArrowError,
};
use parquet::{file::metadata::SortingColumn, schema::types::SchemaDescriptor};

use crate::column;

/// The columns of arrival order, most significant first.
pub const ARRIVAL_ORDER: [&str; 3] = [
    column::KAFKA_TIMESTAMP,
    column::KAFKA_PARTITION,
    column::KAFKA_OFFSET,
];

/// The Parquet `sorting_columns` that declare arrival order for a file of `schema`, or `None`
/// when the schema lacks one of its columns. The schema is flat, so a field's index is its
/// Parquet leaf column index.
pub fn arrival_sorting_columns(schema: &Schema) -> Option<Vec<SortingColumn>> {
    ARRIVAL_ORDER
        .iter()
        .map(|name| {
            let (index, _) = schema.column_with_name(name)?;
            Some(SortingColumn {
                column_idx: i32::try_from(index).ok()?,
                descending: false,
                nulls_first: false,
            })
        })
        .collect()
}

/// Whether a row group's `sorting` columns claim arrival order, in a file of `columns`.
pub(crate) fn claims_arrival_order(columns: &SchemaDescriptor, sorting: &[SortingColumn]) -> bool {
    sorting.len() == ARRIVAL_ORDER.len()
        && sorting.iter().zip(ARRIVAL_ORDER).all(|(c, name)| {
            !c.descending
                && !c.nulls_first
                && usize::try_from(c.column_idx)
                    .is_ok_and(|i| i < columns.num_columns() && columns.column(i).name() == name)
        })
}

/// One row's arrival key; `None` timestamps sort after every timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    timestamp: Option<i64>,
    partition: i32,
    offset: i64,
}

impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        let ts = match (self.timestamp, other.timestamp) {
            (Some(a), Some(b)) => a.cmp(&b),
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
        };
        ts.then(self.partition.cmp(&other.partition))
            .then(self.offset.cmp(&other.offset))
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The arrival keys of a batch's rows, in row order.
fn keys(batch: &RecordBatch) -> Result<impl Iterator<Item = Key> + '_, ArrowError> {
    let column = |name: &str| {
        batch.column_by_name(name).ok_or_else(|| {
            ArrowError::SchemaError(format!("arrival order needs the column {name:?}"))
        })
    };
    let ts = column(column::KAFKA_TIMESTAMP)?.as_primitive_opt::<TimestampMillisecondType>();
    let partition = column(column::KAFKA_PARTITION)?.as_primitive_opt::<Int32Type>();
    let offset = column(column::KAFKA_OFFSET)?.as_primitive_opt::<Int64Type>();
    let (Some(ts), Some(partition), Some(offset)) = (ts, partition, offset) else {
        return Err(ArrowError::SchemaError(format!(
            "arrival order needs {ARRIVAL_ORDER:?} as millisecond timestamp, int32 and int64"
        )));
    };
    Ok((0..batch.num_rows()).map(|row| Key {
        timestamp: ts.is_valid(row).then(|| ts.value(row)),
        partition: partition.value(row),
        offset: offset.value(row),
    }))
}

/// `batches` in arrival order: returned as they are when already in order (the usual case, as a
/// partition's timestamps seldom go backwards), otherwise as one sorted batch. The check reads
/// the keys once and allocates nothing per row; only a sort collects them with their positions.
pub fn sort_by_arrival(batches: &[RecordBatch]) -> Result<Vec<RecordBatch>, ArrowError> {
    let per_batch = batches.iter().map(keys).collect::<Result<Vec<_>, _>>()?;
    if per_batch.into_iter().flatten().is_sorted() {
        return Ok(batches.to_vec());
    }
    let mut all = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for (b, batch) in batches.iter().enumerate() {
        all.extend(keys(batch)?.enumerate().map(|(row, key)| (key, b, row)));
    }
    all.sort_unstable_by_key(|a| a.0);
    let indices: Vec<(usize, usize)> = all.iter().map(|&(_, b, r)| (b, r)).collect();
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    Ok(vec![interleave_record_batch(&refs, &indices)?])
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, Int64Array, StringArray, TimestampMillisecondArray};
    use arrow::datatypes::{DataType, Field, TimeUnit};

    use super::*;

    fn batch(rows: &[(Option<i64>, i32, i64)]) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("tag", DataType::Utf8, false),
            Field::new(
                column::KAFKA_TIMESTAMP,
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                true,
            ),
            Field::new(column::KAFKA_PARTITION, DataType::Int32, false),
            Field::new(column::KAFKA_OFFSET, DataType::Int64, false),
        ]);
        let tags: Vec<String> = rows.iter().map(|r| format!("{}/{}", r.1, r.2)).collect();
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(StringArray::from(tags)),
                Arc::new(
                    TimestampMillisecondArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>())
                        .with_timezone("UTC"),
                ),
                Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
            ],
        )
        .unwrap()
    }

    fn tags(batches: &[RecordBatch]) -> Vec<String> {
        batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_string::<i32>();
                (0..a.len())
                    .map(|i| a.value(i).to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn rows_across_batches_sort_by_timestamp_then_partition_then_offset_with_missing_last() {
        let a = batch(&[(Some(20), 0, 1), (None, 0, 2), (Some(10), 1, 3)]);
        let b = batch(&[(Some(10), 0, 4), (Some(20), 0, 0), (None, 0, 0)]);
        let sorted = sort_by_arrival(&[a, b]).unwrap();
        assert_eq!(sorted.len(), 1);
        assert_eq!(
            tags(&sorted),
            ["0/4", "1/3", "0/0", "0/1", "0/0", "0/2"],
            "timestamp 10 (partition 0 before 1), timestamp 20 (offset 0 before 1), then missing"
        );
    }

    #[test]
    fn batches_already_in_order_are_kept_as_they_are() {
        let a = batch(&[(Some(1), 0, 1), (Some(1), 0, 2)]);
        let b = batch(&[(Some(2), 0, 3), (None, 0, 4)]);
        let sorted = sort_by_arrival(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(sorted, vec![a, b]);
    }

    #[test]
    fn the_claim_written_is_the_claim_recognised() {
        let schema = crate::reviews_schema();
        let columns = parquet::arrow::ArrowSchemaConverter::new()
            .convert(&schema)
            .unwrap();
        let claim = arrival_sorting_columns(&schema).unwrap();
        assert!(claims_arrival_order(&columns, &claim));
        let mut descending = claim.clone();
        descending[0].descending = true;
        assert!(!claims_arrival_order(&columns, &descending));
        assert!(!claims_arrival_order(&columns, &claim[..2]));
        let mut other_column = claim.clone();
        other_column[2].column_idx = 0;
        assert!(!claims_arrival_order(&columns, &other_column));
    }

    #[test]
    fn the_footer_claim_names_the_order_columns() {
        let b = batch(&[]);
        let columns = arrival_sorting_columns(&b.schema()).unwrap();
        let indices: Vec<i32> = columns.iter().map(|c| c.column_idx).collect();
        assert_eq!(indices, [1, 2, 3]);
        assert!(columns.iter().all(|c| !c.descending && !c.nulls_first));
        let no_offset = Schema::new(vec![Field::new("tag", DataType::Utf8, false)]);
        assert_eq!(arrival_sorting_columns(&no_offset), None);
    }
}
