//! Local lakes that survive a power loss: every object is on disk before its name appears, and
//! its name is on disk before the put returns.
//!
//! `object_store`'s `LocalFileSystem` writes a staging file and links or renames it into place
//! without a single `fsync`. After a power loss a committed data file can then be empty (and
//! DataFusion silently skips empty files), or a Delta commit can name a file whose bytes never
//! reached the disk. Here a put writes the staging file, `fsync`s it, links it into place
//! (`PutMode::Create`, which must fail if the name exists: Delta's commit) or renames it
//! (overwrite), and `fsync`s the directory, and any directory it had to create, before it returns.
//! A commit is written only after its data files' puts returned, so a durable commit never names
//! data that is not. Small ranged reads run on the calling thread (`inline_read`). Everything else
//! is `LocalFileSystem`'s own.

use std::{
    fs::File,
    io::{ErrorKind, Write},
    path::{Path as FsPath, PathBuf},
};

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::{
    CopyOptions, Error, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
    local::LocalFileSystem, path::Path,
};

mod inline_read;

const STORE: &str = "LocalFileSystem";

/// The local file system, rooted at `/`, with durable puts.
#[derive(Debug, Default)]
pub(crate) struct DurableLocal {
    inner: LocalFileSystem,
}

impl std::fmt::Display for DurableLocal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DurableLocal({})", self.inner)
    }
}

fn generic(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Generic {
        store: STORE,
        source: source.into(),
    }
}

/// `fsync`s a directory, so that the names in it are on disk.
fn sync_dir(dir: &FsPath) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Writes `payload` to `path` durably; `create` fails if `path` exists.
fn put_durably(location: &Path, path: PathBuf, payload: PutPayload, create: bool) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| generic(format!("{} has no parent folder", path.display())))?;
    // The folders this put creates: each one's parent must be synced too.
    let mut created = Vec::new();
    let mut missing = dir;
    while !missing.exists() {
        created.push(missing.to_path_buf());
        match missing.parent() {
            Some(p) => missing = p,
            None => break,
        }
    }
    std::fs::create_dir_all(dir).map_err(generic)?;
    let staged = PathBuf::from(format!("{}#{}", path.display(), rand_digits()));
    let written = (|| {
        let mut file = File::create_new(&staged)?;
        for chunk in payload.iter() {
            file.write_all(chunk)?;
        }
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&staged);
        return Err(generic(e));
    }
    let placed = if create {
        std::fs::hard_link(&staged, &path).map(|()| std::fs::remove_file(&staged))
    } else {
        std::fs::rename(&staged, &path).map(|()| Ok(()))
    };
    match placed {
        Ok(removed) => removed.map_err(generic)?,
        Err(e) => {
            let _ = std::fs::remove_file(&staged);
            return Err(if e.kind() == ErrorKind::AlreadyExists {
                Error::AlreadyExists {
                    path: location.to_string(),
                    source: e.into(),
                }
            } else {
                generic(e)
            });
        }
    }
    sync_dir(dir).map_err(generic)?;
    for folder in created {
        if let Some(parent) = folder.parent() {
            sync_dir(parent).map_err(generic)?;
        }
    }
    Ok(())
}

/// A staging suffix of digits, which `LocalFileSystem` leaves out of listings.
fn rand_digits() -> String {
    format!("{}", uuid::Uuid::new_v4().as_u128() % 10u128.pow(20))
}

#[async_trait]
impl ObjectStore for DurableLocal {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let create = match opts.mode {
            PutMode::Overwrite => false,
            PutMode::Create => true,
            PutMode::Update(_) => return self.inner.put_opts(location, payload, opts).await,
        };
        let path = self.inner.path_to_filesystem(location)?;
        let location = location.clone();
        tokio::task::spawn_blocking(move || put_durably(&location, path, payload, create))
            .await
            .map_err(generic)??;
        Ok(PutResult {
            e_tag: None,
            version: None,
        })
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if inline_read::reads_now(&options) {
            let path = self.inner.path_to_filesystem(location)?;
            return inline_read::get(location, &path, &options);
        }
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<Vec<bytes::Bytes>> {
        if inline_read::reads_ranges_now(ranges) {
            let path = self.inner.path_to_filesystem(location)?;
            return inline_read::get_ranges(&path, ranges);
        }
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use object_store::ObjectStoreExt;

    use super::*;

    #[tokio::test]
    async fn puts_land_whole_and_create_refuses_an_existing_name() {
        let dir = tempfile::tempdir().unwrap();
        let store = DurableLocal::default();
        let file = dir.path().join("a/b/c.json");
        let key = Path::from(file.to_str().unwrap().trim_start_matches('/'));
        store
            .put_opts(
                &key,
                PutPayload::from_static(b"one"),
                PutMode::Create.into(),
            )
            .await
            .unwrap();
        let again = store
            .put_opts(
                &key,
                PutPayload::from_static(b"two"),
                PutMode::Create.into(),
            )
            .await;
        assert!(
            matches!(again, Err(Error::AlreadyExists { .. })),
            "{again:?}"
        );
        store
            .put(&key, PutPayload::from_static(b"three"))
            .await
            .unwrap();
        let bytes = store.get(&key).await.unwrap().bytes().await.unwrap();
        assert_eq!(&bytes[..], b"three");
        // No staging file is left or listed.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["c.json"]);
    }
}
