//! The fixed Arrow schemas of the lake's two tables.

use std::sync::{Arc, LazyLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Column names, in one place so every stage spells them the same way.
pub mod column {
    pub const REVIEW_ID: &str = "review_id";
    pub const PSEUDO_AUTHOR_ID: &str = "pseudo_author_id";
    pub const AUTHOR_NAME: &str = "author_name";
    pub const REVIEW_TEXT: &str = "review_text";
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
/// coordinates of each row.
pub fn reviews_schema() -> SchemaRef {
    REVIEWS.clone()
}

/// Schema of the `rejected` table: Kafka coordinates, key, raw payload and why it was refused.
pub fn rejected_schema() -> SchemaRef {
    REJECTED.clone()
}
