//! Encoding batches as Parquet and putting the files into the lake's table folders.

use arrow::array::RecordBatch;
use bytes::Bytes;
use object_store::{ObjectStore, PutMode, PutOptions, PutPayload};
use parquet::{
    arrow::ArrowWriter,
    basic::{Compression, Encoding, ZstdLevel},
    file::{
        metadata::KeyValue,
        properties::{EnabledStatistics, WriterProperties},
    },
    schema::types::ColumnPath,
};

use crate::{
    DataFile, Error, FileKey, Lake, Result, Table, WrittenBatch, column, metadata,
    order::{arrival_sorting_columns, sort_by_arrival},
};

/// Files of fewer rows than this (ingest's batches) store their number columns without
/// compression. A compressed column chunk costs its reader and its writer a zstd context each
/// (parquet's codec makes one per column chunk), which on a few hundred values costs more time
/// than the bytes it saves: see BENCHMARKS.md, "Small files' number columns".
const FEW_ROWS: usize = 8192;

/// Columns of few distinct values: dictionary-encoded, uncompressed in small files.
const FEW_VALUES: [&str; 5] = [
    column::REVIEW_LENGTH,
    column::REVIEW_RATING,
    column::REVIEW_LIKES,
    column::KAFKA_PARTITION,
    column::KAFKA_TOPIC,
];

/// Number columns that mostly rise (offsets, times): delta-encoded, uncompressed in small files.
const SEQUENCES: [&str; 3] = [
    column::KAFKA_OFFSET,
    column::KAFKA_TIMESTAMP,
    column::REVIEW_TIMESTAMP,
];

/// How files are encoded.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// zstd compression level (1–22).
    pub zstd_level: i32,
    /// Rows per Parquet row group.
    pub row_group_rows: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            zstd_level: 3,
            row_group_rows: 1024 * 1024,
        }
    }
}

/// Encodes batches as Parquet files and puts them into the tables' folders.
///
/// Putting a file makes it part of no table: [`crate::Committer`] (ingest) and compaction commit
/// the files they put. Every key is new (see [`FileKey::new`]), so a put never replaces a file.
#[derive(Debug, Clone)]
pub struct BatchWriter {
    lake: Lake,
    options: WriteOptions,
}

impl BatchWriter {
    /// A writer into `lake`.
    pub fn new(lake: Lake, options: WriteOptions) -> Self {
        Self { lake, options }
    }

    /// Encodes a batch as a Parquet file whose footer records its origin.
    pub fn encode(&self, key: &FileKey, batch: &RecordBatch) -> Result<Bytes> {
        self.encode_batches(key, std::slice::from_ref(batch))
    }

    /// Encodes batches (of one schema) as one Parquet file whose footer records its origin.
    pub fn encode_batches(&self, key: &FileKey, batches: &[RecordBatch]) -> Result<Bytes> {
        let schema = match (batches.first(), key.table) {
            (Some(b), _) => b.schema(),
            (None, table) => crate::schema::file_schema(table),
        };
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let path = key.path()?;
        let parquet_err = |source| Error::Parquet {
            key: path.to_string(),
            source,
        };
        // Reviews are stored in arrival order and the footer says so (see `order`).
        let (batches, sorting_columns) = match key.table {
            Table::Reviews => (sort_by_arrival(batches)?, arrival_sorting_columns(&schema)),
            Table::Rejected => (batches.to_vec(), None),
        };
        let kv = |k: &str, v: String| KeyValue::new(k.to_string(), v);
        let mut props = WriterProperties::builder();
        if rows < FEW_ROWS {
            for name in FEW_VALUES {
                props =
                    props.set_column_compression(ColumnPath::from(name), Compression::UNCOMPRESSED);
            }
            for name in SEQUENCES {
                props = props
                    .set_column_compression(ColumnPath::from(name), Compression::UNCOMPRESSED)
                    .set_column_dictionary_enabled(ColumnPath::from(name), false)
                    .set_column_encoding(ColumnPath::from(name), Encoding::DELTA_BINARY_PACKED);
            }
        }
        let props = props
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(self.options.zstd_level).map_err(parquet_err)?,
            ))
            .set_statistics_enabled(EnabledStatistics::Page)
            // Free text prunes nothing by its min and max; without them every footer a planner
            // decodes is smaller.
            .set_column_statistics_enabled(
                ColumnPath::from(column::REVIEW_TEXT),
                EnabledStatistics::None,
            )
            .set_column_statistics_enabled(
                ColumnPath::from(column::PAYLOAD),
                EnabledStatistics::None,
            )
            .set_sorting_columns(sorting_columns)
            .set_max_row_group_row_count(Some(self.options.row_group_rows.max(1)))
            .set_created_by(format!("reviewlake {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(vec![
                kv(metadata::TABLE, key.table.to_string()),
                kv(metadata::TOPIC, key.topic.clone()),
                kv(metadata::PARTITION, key.partition.to_string()),
                kv(metadata::FIRST_OFFSET, key.first_offset.to_string()),
                kv(metadata::LAST_OFFSET, key.last_offset.to_string()),
                kv(metadata::ROWS, rows.to_string()),
                kv(
                    metadata::WRITER,
                    format!("reviewlake {}", env!("CARGO_PKG_VERSION")),
                ),
            ]))
            .build();
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut writer =
            ArrowWriter::try_new(&mut buf, schema, Some(props)).map_err(parquet_err)?;
        for batch in &batches {
            writer.write(batch).map_err(parquet_err)?;
        }
        writer.close().map_err(parquet_err)?;
        Ok(Bytes::from(buf))
    }

    /// Puts the files of the batch covering `first..=last` of `topic`/`partition`: its accepted
    /// reviews and its rejected records, each when there are any.
    pub async fn write(
        &self,
        topic: &str,
        partition: i32,
        (first, last): (i64, i64),
        reviews: &RecordBatch,
        rejected: Option<&RecordBatch>,
    ) -> Result<WrittenBatch> {
        let put = |table, batch: Option<&RecordBatch>| {
            let batch = batch.filter(|b| b.num_rows() > 0).cloned();
            async move {
                match batch {
                    Some(b) => {
                        let key = FileKey::new(table, topic, partition, first, last);
                        Ok::<_, Error>(Some(self.put_file(key, std::slice::from_ref(&b)).await?))
                    }
                    None => Ok(None),
                }
            }
        };
        let rejected = put(Table::Rejected, rejected).await?;
        let reviews = put(Table::Reviews, Some(reviews)).await?;
        Ok(WrittenBatch {
            topic: topic.to_string(),
            partition,
            first,
            last,
            reviews,
            rejected,
        })
    }

    /// Encodes `batches` as the file `key` and puts it.
    pub async fn put_file(&self, key: FileKey, batches: &[RecordBatch]) -> Result<DataFile> {
        let data = self.encode_batches(&key, batches)?;
        let size = data.len() as u64;
        let path = key.path()?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        self.lake
            .store()
            .put_opts(&path, PutPayload::from_bytes(data), opts)
            .await
            .map_err(|e| Error::store(&path, e))?;
        Ok(DataFile {
            key,
            size,
            rows: batches.iter().map(RecordBatch::num_rows).sum(),
            stats: crate::stats::file_stats(batches),
        })
    }
}

#[cfg(test)]
mod tests {
    use arrow::{array::AsArray, datatypes::Int64Type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;
    use crate::batch::{TestRow, test_reviews};

    /// A writer with default options into a lake in a fresh folder (removed with the guard).
    fn test_writer() -> (tempfile::TempDir, BatchWriter) {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        (dir, BatchWriter::new(lake, WriteOptions::default()))
    }

    /// A `reviews` file whose timestamps go backwards is stored in arrival order, with the footer
    /// claim DataFusion reads, and without statistics for the review text.
    #[test]
    fn reviews_are_stored_in_arrival_order_and_the_footer_says_so() {
        let (_dir, writer) = test_writer();
        let rows = [
            (10, Some(3_000)),
            (11, None),
            (12, Some(1_000)),
            (13, Some(2_000)),
        ]
        .map(|(offset, timestamp_ms)| TestRow {
            offset,
            timestamp_ms,
            ..Default::default()
        });
        let key = FileKey {
            table: Table::Reviews,
            topic: "t".into(),
            partition: 0,
            first_offset: 10,
            last_offset: 13,
            tag: String::new(),
        };
        let data = writer.encode(&key, &test_reviews(&rows)).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(data).unwrap();
        let row_group = &reader.metadata().row_groups()[0];
        let schema = reader.schema().clone();
        assert_eq!(
            row_group.sorting_columns().cloned(),
            arrival_sorting_columns(&schema)
        );
        let text = schema.index_of(column::REVIEW_TEXT).unwrap();
        assert!(row_group.column(text).statistics().is_none());
        let offset = schema.index_of(column::KAFKA_OFFSET).unwrap();
        assert!(row_group.column(offset).statistics().is_some());
        let offsets: Vec<i64> = reader
            .build()
            .unwrap()
            .flat_map(|b| {
                let b = b.unwrap();
                b.column(offset)
                    .as_primitive::<Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(
            offsets,
            [12, 13, 10, 11],
            "by timestamp, the missing one last"
        );
    }

    /// A small file stores its number columns uncompressed (sequences delta-encoded) and its
    /// text with zstd; a file of `FEW_ROWS` rows or more compresses every column.
    #[test]
    fn small_files_leave_number_columns_uncompressed() {
        let (_dir, writer) = test_writer();
        let codecs = |n: i64| {
            let rows: Vec<TestRow> = (0..n)
                .map(|offset| TestRow {
                    offset,
                    timestamp_ms: Some(1_000 * offset),
                    rating: (offset % 5) as i32 + 1,
                    ..Default::default()
                })
                .collect();
            let key = FileKey::new(Table::Reviews, "t", 0, 0, n - 1);
            let data = writer.encode(&key, &test_reviews(&rows)).unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(data).unwrap();
            let row_group = &reader.metadata().row_groups()[0];
            let schema = reader.schema();
            let column = |name: &str| row_group.column(schema.index_of(name).unwrap()).clone();
            // Whether each is compressed (the footer does not keep zstd's level).
            let zstd = |c: &parquet::file::metadata::ColumnChunkMetaData| {
                matches!(c.compression(), Compression::ZSTD(_))
            };
            let offset = column(column::KAFKA_OFFSET);
            let delta = offset
                .encodings()
                .any(|e| e == Encoding::DELTA_BINARY_PACKED);
            (
                zstd(&column(column::REVIEW_TEXT)),
                zstd(&column(column::REVIEW_RATING)),
                zstd(&offset),
                delta,
            )
        };
        // Text, rating, offset compressed; offset delta-encoded.
        assert_eq!(codecs(500), (true, false, false, true));
        assert_eq!(codecs(FEW_ROWS as i64), (true, true, true, false));
    }
}
