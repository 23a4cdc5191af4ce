//! Small ranged reads of local files on the calling thread.
//!
//! `object_store`'s `LocalFileSystem` runs every read in `spawn_blocking`: a ranged `get` twice
//! (open, then read the bytes) and `get_ranges` once. A query over a lake of small files reads
//! two or three ranges of each of thousands of files, so most of its time went to handing reads
//! to the blocking pool and back (a group-by over 3,008 files: 393 ms with the hand-offs, 271 ms
//! without; BENCHMARKS.md). A read of a few KiB from the page cache takes microseconds, less than
//! one hand-off, so reads up to [`READ_NOW_BYTES`] run where they are asked for. Larger reads, and
//! `get`s with conditions or of whole objects (the Delta log's), stay `LocalFileSystem`'s.
//!
//! What is returned matches `LocalFileSystem`'s own answer: the same bytes, ranges, metadata and
//! e-tag, and `NotFound` for a missing file or a folder.

use std::{
    fs::{File, Metadata},
    io::ErrorKind,
    ops::Range,
    os::unix::fs::{FileExt, MetadataExt},
    path::Path as FsPath,
    time::SystemTime,
};

use bytes::Bytes;
use futures::StreamExt;
use object_store::{
    Error, GetOptions, GetRange, GetResult, GetResultPayload, ObjectMeta, Result, path::Path,
};

use super::generic;

/// The largest read done on the calling thread: far above a small file's footer or column
/// chunk, far below a compacted file's.
const READ_NOW_BYTES: u64 = 1 << 20;

/// Whether a `get` with `options` is a small ranged read without conditions.
pub(crate) fn reads_now(options: &GetOptions) -> bool {
    let small = match &options.range {
        Some(GetRange::Bounded(r)) => r.end.saturating_sub(r.start) <= READ_NOW_BYTES,
        Some(GetRange::Suffix(n)) => *n <= READ_NOW_BYTES,
        Some(GetRange::Offset(_)) | None => false,
    };
    small
        && !options.head
        && options.if_match.is_none()
        && options.if_none_match.is_none()
        && options.if_modified_since.is_none()
        && options.if_unmodified_since.is_none()
        && options.version.is_none()
}

/// A `get` that [`reads_now`] of the object `location`, stored at `path`.
pub(crate) fn get(location: &Path, path: &FsPath, options: &GetOptions) -> Result<GetResult> {
    let file = open(path)?;
    let metadata = file.metadata().map_err(generic)?;
    if metadata.is_dir() {
        return Err(not_found(path, ErrorKind::NotFound.into()));
    }
    let range = match &options.range {
        Some(range) => range.as_range(metadata.len()).map_err(generic)?,
        None => 0..metadata.len(),
    };
    let bytes = read(&file, path, range.clone())?;
    Ok(GetResult {
        payload: GetResultPayload::Stream(futures::stream::once(async { Ok(bytes) }).boxed()),
        meta: object_meta(location, &metadata),
        range,
        attributes: Default::default(),
    })
}

/// Whether `get_ranges` of `ranges` is small enough to read now.
pub(crate) fn reads_ranges_now(ranges: &[Range<u64>]) -> bool {
    let total: u64 = ranges.iter().map(|r| r.end.saturating_sub(r.start)).sum();
    total <= READ_NOW_BYTES
}

/// `ranges` of the file at `path`, each read in full.
pub(crate) fn get_ranges(path: &FsPath, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
    let file = open(path)?;
    ranges
        .iter()
        .map(|r| read(&file, path, r.clone()))
        .collect()
}

fn open(path: &FsPath) -> Result<File> {
    File::open(path).map_err(|e| match e.kind() {
        ErrorKind::NotFound => not_found(path, e),
        _ => generic(e),
    })
}

fn read(file: &File, path: &FsPath, range: Range<u64>) -> Result<Bytes> {
    let mut buf = vec![0; (range.end - range.start) as usize];
    file.read_exact_at(&mut buf, range.start).map_err(|e| {
        let reason = format!("reading bytes {range:?} of {}: {e}", path.display());
        generic(std::io::Error::new(e.kind(), reason))
    })?;
    Ok(buf.into())
}

/// The metadata `LocalFileSystem` gives the same file (its e-tag is inode, time and size).
fn object_meta(location: &Path, metadata: &Metadata) -> ObjectMeta {
    let modified = metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH);
    let micros = modified
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros();
    ObjectMeta {
        location: location.clone(),
        last_modified: modified.into(),
        size: metadata.len(),
        e_tag: Some(format!(
            "{:x}-{micros:x}-{:x}",
            metadata.ino(),
            metadata.len()
        )),
        version: None,
    }
}

fn not_found(path: &FsPath, source: std::io::Error) -> Error {
    Error::NotFound {
        path: path.display().to_string(),
        source: Box::new(source),
    }
}

#[cfg(test)]
mod tests {
    use object_store::{ObjectStore, ObjectStoreExt, local::LocalFileSystem};

    use super::*;

    /// Every answer is `LocalFileSystem`'s own: bytes, range, metadata and e-tag, and the same
    /// kind of error.
    #[tokio::test]
    async fn small_reads_answer_as_the_local_file_system_does() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let location = Path::from("a/f.parquet");
        store.put(&location, data.clone().into()).await.unwrap();
        let path = store.path_to_filesystem(&location).unwrap();

        for range in [
            GetRange::Bounded(10..200),
            GetRange::Bounded(4000..9000),
            GetRange::Suffix(8),
            GetRange::Suffix(1 << 19),
        ] {
            let options = GetOptions {
                range: Some(range.clone()),
                ..Default::default()
            };
            assert!(reads_now(&options));
            let ours = get(&location, &path, &options).unwrap();
            let theirs = store.get_opts(&location, options).await.unwrap();
            assert_eq!(ours.meta, theirs.meta, "{range:?}");
            assert_eq!(ours.range, theirs.range, "{range:?}");
            let (ours, theirs) = (ours.bytes().await.unwrap(), theirs.bytes().await.unwrap());
            assert_eq!(ours, theirs, "{range:?}");
        }
        let ranges = [0..16, 100..1100, 4990..5000];
        assert_eq!(
            get_ranges(&path, &ranges).unwrap(),
            store.get_ranges(&location, &ranges).await.unwrap()
        );

        // A range past the end, a missing file, a folder.
        assert!(get_ranges(&path, &[0..1, 4990..5010]).is_err());
        let past = GetOptions {
            range: Some(GetRange::Bounded(6000..6010)),
            ..Default::default()
        };
        assert!(get(&location, &path, &past).is_err());
        assert!(store.get_opts(&location, past).await.is_err());
        let missing = Path::from("a/none.parquet");
        let missing_path = store.path_to_filesystem(&missing).unwrap();
        let options = GetOptions {
            range: Some(GetRange::Bounded(0..10)),
            ..Default::default()
        };
        assert!(matches!(
            get(&missing, &missing_path, &options),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            get_ranges(&missing_path, &[0..1, 2..3]),
            Err(Error::NotFound { .. })
        ));
        let folder = store.path_to_filesystem(&Path::from("a")).unwrap();
        assert!(matches!(
            get(&Path::from("a"), &folder, &options),
            Err(Error::NotFound { .. })
        ));
    }

    /// Whole objects, large ranges and conditional reads stay with `LocalFileSystem`.
    #[test]
    fn only_small_unconditional_ranges_are_read_now() {
        let ranged = |range| GetOptions {
            range: Some(range),
            ..Default::default()
        };
        assert!(!reads_now(&GetOptions::default()));
        assert!(!reads_now(&ranged(GetRange::Bounded(
            0..READ_NOW_BYTES + 1
        ))));
        assert!(!reads_now(&ranged(GetRange::Offset(10))));
        assert!(!reads_now(&GetOptions {
            if_none_match: Some("*".into()),
            ..ranged(GetRange::Bounded(0..10))
        }));
        assert!(!reads_now(&GetOptions {
            head: true,
            ..ranged(GetRange::Bounded(0..10))
        }));
    }
}
