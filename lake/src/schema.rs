//! The fixed Arrow schemas of the lake's two tables.

use std::sync::{Arc, LazyLock};

use arrow::{
    array::{ArrayRef, AsArray, Int32Array, RecordBatch},
    datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit},
    error::ArrowError,
};

/// Column names, in one place so every stage spells them the same way.
pub mod column {
    pub const REVIEW_ID: &str = "review_id";
    pub const PSEUDO_AUTHOR_ID: &str = "pseudo_author_id";
    pub const AUTHOR_NAME: &str = "author_name";
    pub const REVIEW_TEXT: &str = "review_text";
    pub const REVIEW_LENGTH: &str = "review_length";
    pub const REVIEW_RATING: &str = "review_rating";
    pub const REVIEW_LIKES: &str = "review_likes";
    pub const AUTHOR_APP_VERSION: &str = "author_app_version";
    pub const REVIEW_TIMESTAMP: &str = "review_timestamp";
    pub const KAFKA_TOPIC: &str = "kafka_topic";
    pub const KAFKA_PARTITION: &str = "kafka_partition";
    pub const KAFKA_OFFSET: &str = "kafka_offset";
    pub const KAFKA_TIMESTAMP: &str = "kafka_timestamp";
    pub const KAFKA_KEY: &str = "kafka_key";
    pub const PAYLOAD: &str = "payload";
    pub const REASON: &str = "reason";
    pub const FIELD: &str = "field";
    /// Hive partition folder keys (distinct from the file columns above).
    pub const PART_TOPIC: &str = "topic";
    pub const PART_PARTITION: &str = "partition";
}

fn kafka_fields() -> [Field; 4] {
    [
        Field::new(column::KAFKA_TOPIC, DataType::Utf8, false),
        Field::new(column::KAFKA_PARTITION, DataType::Int32, false),
        Field::new(column::KAFKA_OFFSET, DataType::Int64, false),
        Field::new(
            column::KAFKA_TIMESTAMP,
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
    ]
}

static REVIEWS: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = vec![
        Field::new(column::REVIEW_ID, DataType::Utf8, false),
        Field::new(column::PSEUDO_AUTHOR_ID, DataType::Utf8, true),
        Field::new(column::AUTHOR_NAME, DataType::Utf8, true),
        Field::new(column::REVIEW_TEXT, DataType::Utf8, true),
        Field::new(column::REVIEW_LENGTH, DataType::Int32, true),
        Field::new(column::REVIEW_RATING, DataType::Int32, false),
        Field::new(column::REVIEW_LIKES, DataType::Int64, false),
        Field::new(column::AUTHOR_APP_VERSION, DataType::Utf8, true),
        Field::new(
            column::REVIEW_TIMESTAMP,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
    ];
    fields.extend(kafka_fields());
    Arc::new(Schema::new(fields))
});

static REJECTED: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = kafka_fields().to_vec();
    fields.extend([
        Field::new(column::KAFKA_KEY, DataType::Binary, true),
        Field::new(column::PAYLOAD, DataType::Binary, true),
        Field::new(column::REASON, DataType::Utf8, false),
        Field::new(column::FIELD, DataType::Utf8, true),
    ]);
    Arc::new(Schema::new(fields))
});

/// Schema of the `reviews` table: the dataset's columns with their types, then the Kafka
/// coordinates of each row. `review_length` is derived at write time: the number of characters
/// (Unicode scalar values, as Spark's `length()` counts) of `review_text`, NULL when the text is,
/// so that queries on the length (the training cohorts) need not read and decode the texts.
pub fn reviews_schema() -> SchemaRef {
    REVIEWS.clone()
}

/// Schema of the `rejected` table: Kafka coordinates, key, raw payload and why it was refused.
pub fn rejected_schema() -> SchemaRef {
    REJECTED.clone()
}

/// Schema of the files of `table`.
pub(crate) fn file_schema(table: crate::Table) -> SchemaRef {
    match table {
        crate::Table::Reviews => reviews_schema(),
        crate::Table::Rejected => rejected_schema(),
    }
}

/// Characters of a review text as `review_length` stores them (Spark's `length()`).
pub fn text_length(text: &str) -> i32 {
    i32::try_from(text.chars().count()).unwrap_or(i32::MAX)
}

/// Brings a `reviews` batch written before `review_length` existed to the current schema, deriving
/// the column from `review_text`; a batch that already has it is returned as it is.
pub fn conform_reviews(batch: RecordBatch) -> Result<RecordBatch, ArrowError> {
    if batch
        .schema()
        .column_with_name(column::REVIEW_LENGTH)
        .is_some()
    {
        return Ok(batch);
    }
    let target = reviews_schema();
    let columns = target
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(c) => Ok(c.clone()),
            None if field.name() == column::REVIEW_LENGTH => {
                let text = batch
                    .column_by_name(column::REVIEW_TEXT)
                    .and_then(|c| c.as_string_opt::<i32>())
                    .ok_or_else(|| {
                        ArrowError::SchemaError(format!(
                            "cannot derive {}: no UTF-8 column {}",
                            column::REVIEW_LENGTH,
                            column::REVIEW_TEXT
                        ))
                    })?;
                let lengths: Int32Array = text.iter().map(|t| t.map(text_length)).collect();
                Ok(Arc::new(lengths) as ArrayRef)
            }
            None => Err(ArrowError::SchemaError(format!(
                "column {} is missing",
                field.name()
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(target, columns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Int32Type;

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(text_length("héllo 🎬"), 7);
        assert_eq!(text_length(""), 0);
    }

    #[test]
    fn old_batches_gain_the_derived_length() {
        let mut builder = crate::ReviewBuilder::default();
        for (i, text) in [Some("né🎬"), None].into_iter().enumerate() {
            let review = crate::Review {
                review_id: format!("r{i}").into(),
                review_text: text.map(Into::into),
                review_rating: 3,
                ..Default::default()
            };
            let pos = crate::SourcePosition {
                partition: 0,
                offset: i as i64,
                timestamp_ms: None,
            };
            builder.append(&review, &pos);
        }
        let current = builder.finish("t").unwrap();
        let at = current.schema().index_of(column::REVIEW_LENGTH).unwrap();
        let mut old = current.clone();
        old.remove_column(at);

        let conformed = conform_reviews(old.clone()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(conformed, current);
        let lengths = conformed.column(at).as_primitive::<Int32Type>();
        assert_eq!(lengths.iter().collect::<Vec<_>>(), [Some(3), None]);

        let mut no_text = old.clone();
        no_text.remove_column(old.schema().index_of(column::REVIEW_TEXT).unwrap());
        let err = conform_reviews(no_text).unwrap_err().to_string();
        assert!(err.contains("review_text"), "{err}");
    }
}
