//! Key-value metadata written into every file's footer, and reading it back cheaply.

use bytes::Bytes;
use object_store::{ObjectStoreExt, path::Path};
use parquet::file::metadata::{FooterTail, ParquetMetaDataReader};

use crate::{Error, FileKey, Lake, Result, order::claims_arrival_order};

pub(crate) const TABLE: &str = "reviewlake.table";
pub(crate) const TOPIC: &str = "reviewlake.topic";
pub(crate) const PARTITION: &str = "reviewlake.partition";
pub(crate) const FIRST_OFFSET: &str = "reviewlake.first_offset";
pub(crate) const LAST_OFFSET: &str = "reviewlake.last_offset";
pub(crate) const ROWS: &str = "reviewlake.rows";
pub(crate) const WRITER: &str = "reviewlake.writer";

/// What a data file's footer says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub key: FileKey,
    /// Size of the object in bytes.
    pub size: u64,
    /// Number of rows in the file.
    pub rows: i64,
    /// Whether the footer claims arrival order for every row group (see `order`); files written
    /// before the lake kept that order, and `rejected` files, make no such claim.
    pub arrival_order: bool,
}

/// Reads a file's footer (two small range requests) and checks that its metadata matches its key.
pub async fn read_file_info(lake: &Lake, key: &FileKey, size: u64) -> Result<FileInfo> {
    let path = key.path()?;
    let corrupt = |reason: String| Error::Corrupt {
        key: path.to_string(),
        reason,
    };
    if size < 12 {
        return Err(corrupt(format!(
            "{size} bytes is too small for a Parquet file"
        )));
    }
    let tail = get_range(lake, &path, size - 8..size).await?;
    let tail: [u8; 8] = tail[..]
        .try_into()
        .map_err(|_| corrupt("short read".into()))?;
    let footer = FooterTail::try_new(&tail).map_err(|source| Error::Parquet {
        key: path.to_string(),
        source,
    })?;
    let len = footer.metadata_length() as u64;
    if len + 8 > size {
        return Err(corrupt(format!(
            "footer length {len} exceeds file size {size}"
        )));
    }
    let meta_bytes = get_range(lake, &path, size - 8 - len..size - 8).await?;
    let meta =
        ParquetMetaDataReader::decode_metadata(&meta_bytes).map_err(|source| Error::Parquet {
            key: path.to_string(),
            source,
        })?;
    let kv = meta.file_metadata().key_value_metadata();
    let get = |name: &str| {
        kv.and_then(|kv| kv.iter().find(|e| e.key == name))
            .and_then(|e| e.value.clone())
    };
    let first: Option<i64> = get(FIRST_OFFSET).and_then(|v| v.parse().ok());
    let last: Option<i64> = get(LAST_OFFSET).and_then(|v| v.parse().ok());
    if first != Some(key.first_offset) || last != Some(key.last_offset) {
        return Err(corrupt(format!(
            "footer offset range {first:?}..={last:?} does not match the key"
        )));
    }
    let columns = meta.file_metadata().schema_descr();
    let arrival_order = meta.row_groups().iter().all(|rg| {
        rg.sorting_columns()
            .is_some_and(|sorting| claims_arrival_order(columns, sorting))
    });
    Ok(FileInfo {
        key: key.clone(),
        size,
        rows: meta.file_metadata().num_rows(),
        arrival_order,
    })
}

async fn get_range(lake: &Lake, path: &Path, range: std::ops::Range<u64>) -> Result<Bytes> {
    lake.store()
        .get_range(path, range)
        .await
        .map_err(|e| Error::store(path, e))
}
