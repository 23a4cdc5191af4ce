//! Column-by-column builders that turn records into Arrow [`RecordBatch`]es.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, Int32Builder, Int64Builder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondBuilder, TimestampMillisecondBuilder,
};

use crate::{
    Rejected, Result, Review, SourcePosition, rejected_schema, reviews_schema, schema::text_length,
};

/// Kafka coordinate columns shared by both tables.
#[derive(Default)]
struct PositionColumns {
    partition: Int32Builder,
    offset: Int64Builder,
    timestamp: TimestampMillisecondBuilder,
}

impl PositionColumns {
    fn append(&mut self, pos: &SourcePosition) {
        self.partition.append_value(pos.partition);
        self.offset.append_value(pos.offset);
        self.timestamp.append_option(pos.timestamp_ms);
    }

    fn finish(&mut self, topic: &str, rows: usize) -> [ArrayRef; 4] {
        let topic = StringArray::from_iter_values(std::iter::repeat_n(topic, rows));
        [
            Arc::new(topic),
            Arc::new(self.partition.finish()),
            Arc::new(self.offset.finish()),
            Arc::new(self.timestamp.finish().with_timezone("UTC")),
        ]
    }
}

/// Accumulates accepted reviews into the `reviews` schema.
#[derive(Default)]
pub struct ReviewBuilder {
    review_id: StringBuilder,
    pseudo_author_id: StringBuilder,
    author_name: StringBuilder,
    review_text: StringBuilder,
    review_length: Int32Builder,
    review_rating: Int32Builder,
    review_likes: Int64Builder,
    author_app_version: StringBuilder,
    review_timestamp: TimestampMicrosecondBuilder,
    position: PositionColumns,
    rows: usize,
}

impl ReviewBuilder {
    /// Appends one review and where it came from.
    pub fn append(&mut self, review: &Review<'_>, pos: &SourcePosition) {
        self.review_id.append_value(&review.review_id);
        self.pseudo_author_id
            .append_option(review.pseudo_author_id.as_deref());
        self.author_name
            .append_option(review.author_name.as_deref());
        self.review_text
            .append_option(review.review_text.as_deref());
        self.review_length
            .append_option(review.review_text.as_deref().map(text_length));
        self.review_rating.append_value(review.review_rating);
        self.review_likes.append_value(review.review_likes);
        self.author_app_version
            .append_option(review.author_app_version.as_deref());
        self.review_timestamp
            .append_value(review.review_timestamp_us);
        self.position.append(pos);
        self.rows += 1;
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when nothing was appended since the last [`finish`](Self::finish).
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Builds the batch and resets the builder.
    pub fn finish(&mut self, topic: &str) -> Result<RecordBatch> {
        let rows = std::mem::take(&mut self.rows);
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.review_id.finish()),
            Arc::new(self.pseudo_author_id.finish()),
            Arc::new(self.author_name.finish()),
            Arc::new(self.review_text.finish()),
            Arc::new(self.review_length.finish()),
            Arc::new(self.review_rating.finish()),
            Arc::new(self.review_likes.finish()),
            Arc::new(self.author_app_version.finish()),
            Arc::new(self.review_timestamp.finish()),
        ];
        columns.extend(self.position.finish(topic, rows));
        Ok(RecordBatch::try_new(reviews_schema(), columns)?)
    }
}

/// Accumulates rejected records into the `rejected` schema.
#[derive(Default)]
pub struct RejectedBuilder {
    position: PositionColumns,
    key: BinaryBuilder,
    payload: BinaryBuilder,
    reason: StringBuilder,
    field: StringBuilder,
    rows: usize,
}

impl RejectedBuilder {
    /// Appends one rejected record and where it came from.
    pub fn append(&mut self, rejected: &Rejected<'_>, pos: &SourcePosition) {
        self.position.append(pos);
        self.key.append_option(rejected.key);
        self.payload.append_option(rejected.payload);
        self.reason.append_value(&rejected.reason);
        self.field.append_option(rejected.field);
        self.rows += 1;
    }

    /// Rows appended since the last [`finish`](Self::finish).
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when nothing was appended since the last [`finish`](Self::finish).
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Builds the batch and resets the builder.
    pub fn finish(&mut self, topic: &str) -> Result<RecordBatch> {
        let rows = std::mem::take(&mut self.rows);
        let mut columns: Vec<ArrayRef> = self.position.finish(topic, rows).to_vec();
        columns.extend([
            Arc::new(self.key.finish()) as ArrayRef,
            Arc::new(self.payload.finish()),
            Arc::new(self.reason.finish()),
            Arc::new(self.field.finish()),
        ]);
        Ok(RecordBatch::try_new(rejected_schema(), columns)?)
    }
}

/// Test rows: a `reviews` batch of topic `t` with one review per [`TestRow`], each with a text.
#[cfg(test)]
pub(crate) fn test_reviews(rows: &[TestRow]) -> RecordBatch {
    let mut b = ReviewBuilder::default();
    for row in rows {
        let review = crate::Review {
            review_id: "r".into(),
            review_text: Some("text".into()),
            review_rating: row.rating,
            ..Default::default()
        };
        let at = crate::SourcePosition {
            partition: row.partition,
            offset: row.offset,
            timestamp_ms: row.timestamp_ms,
        };
        b.append(&review, &at);
    }
    b.finish("t").expect("a batch of the reviews schema")
}

/// A lake at `dir` whose `reviews` table holds one file per entry of `files` (each the rows of
/// one partition, consecutive offsets), all committed at once for topic `t`.
#[cfg(test)]
pub(crate) async fn committed_lake(dir: &std::path::Path, files: &[Vec<TestRow>]) -> crate::Lake {
    let lake = crate::Lake::open(dir.to_str().expect("a UTF-8 path")).unwrap();
    let writer = crate::BatchWriter::new(lake.clone(), crate::WriteOptions::default());
    let mut committer = crate::Committer::open(&lake, "t").await.unwrap();
    let partitions: std::collections::BTreeSet<i32> =
        files.iter().flatten().map(|row| row.partition).collect();
    for partition in partitions {
        committer.resume(partition).await.unwrap();
    }
    let mut written = Vec::new();
    for rows in files {
        let (first, last) = (&rows[0], &rows[rows.len() - 1]);
        let batch = test_reviews(rows);
        written.push(
            writer
                .write(
                    "t",
                    first.partition,
                    (first.offset, last.offset),
                    &batch,
                    None,
                )
                .await
                .unwrap(),
        );
    }
    committer.commit(written).await.unwrap();
    lake
}

/// One review of [`test_reviews`]: where it sits in the stream, and its rating.
#[cfg(test)]
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TestRow {
    pub partition: i32,
    pub offset: i64,
    pub timestamp_ms: Option<i64>,
    pub rating: i32,
}
