//! Opening a lake from a location string: a path, `file://`, `s3://` or `memory://`.

use std::sync::Arc;

use object_store::{
    ObjectStore, aws::AmazonS3Builder, memory::InMemory, path::Path, prefix::PrefixStore,
};
use url::Url;

use crate::{Error, Result, durable::DurableLocal};

/// A lake: an object store rooted at the lake's location.
#[derive(Clone, Debug)]
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    /// The same store rooted where the URL's path starts (the bucket, the file system root), as
    /// Delta's kernel resolves table URLs against it.
    root: Arc<dyn ObjectStore>,
    url: Url,
}

impl Lake {
    /// Opens the lake at `location`.
    ///
    /// - a relative or absolute path, or `file:///abs/path`: local files (the folder is created;
    ///   commands that only read use [`Lake::open_existing`]);
    /// - `s3://bucket/prefix`: S3 or an S3-compatible server, configured by the standard `AWS_*`
    ///   variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
    ///   `AWS_ENDPOINT_URL`/`AWS_ENDPOINT` for MinIO and friends; an `http://` endpoint
    ///   allows plain HTTP);
    /// - `memory://`: a fresh in-process store, for tests.
    pub fn open(location: &str) -> Result<Self> {
        Self::open_with(location, Folder::Create)
    }

    /// Opens the lake at `location` to read it, as the commands that only read or maintain an
    /// existing lake do: like [`Lake::open`], but a local folder that does not exist is refused
    /// instead of created. A mistyped `--lake` would otherwise leave an empty folder behind and
    /// read as an empty lake. (An S3 prefix has no such test: an empty one reads as empty.)
    pub fn open_existing(location: &str) -> Result<Self> {
        Self::open_with(location, Folder::MustExist)
    }

    fn open_with(location: &str, folder: Folder) -> Result<Self> {
        let err = |reason: String| Error::Location {
            location: location.to_string(),
            reason,
        };
        let url = match Url::parse(location) {
            Ok(url) if url.scheme().len() > 1 => url,
            // No scheme (or a Windows drive letter): a local path.
            _ => {
                let path = std::path::absolute(location).map_err(|e| err(e.to_string()))?;
                Url::from_directory_path(&path)
                    .map_err(|()| err("not an absolute local path".into()))?
            }
        };
        let root: Arc<dyn ObjectStore> = match url.scheme() {
            "file" => {
                let path = url
                    .to_file_path()
                    .map_err(|()| err("not a local file URL".into()))?;
                match folder {
                    Folder::Create => std::fs::create_dir_all(&path)
                        .map_err(|e| err(format!("cannot create {}: {e}", path.display())))?,
                    Folder::MustExist if !path.is_dir() => {
                        return Err(err(format!(
                            "no lake here: {} is not a folder (`reviewlake ingest` makes a lake)",
                            path.display()
                        )));
                    }
                    Folder::MustExist => {}
                }
                Arc::new(DurableLocal::default())
            }
            "s3" | "s3a" => {
                let bucket = url.host_str().filter(|b| !b.is_empty()).ok_or_else(|| {
                    err("an s3 location needs a bucket: s3://bucket/prefix".into())
                })?;
                let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
                let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
                    .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
                    .or_else(|_| std::env::var("AWS_ENDPOINT"))
                    .ok();
                if let Some(endpoint) = endpoint {
                    if endpoint.starts_with("http://") {
                        builder = builder.with_allow_http(true);
                    }
                    builder = builder.with_endpoint(endpoint);
                }
                Arc::new(builder.build().map_err(|e| err(e.to_string()))?)
            }
            "memory" => Arc::new(InMemory::new()),
            other => {
                return Err(err(format!(
                    "unsupported scheme {other:?} (use a path, file://, s3:// or memory://)"
                )));
            }
        };
        Ok(Self {
            store: prefixed(root.clone(), url.path()),
            root,
            url,
        })
    }

    /// Wraps an existing store whose root is the root of `url` (the bucket, say): the lake is
    /// at `url`'s path in it. For tests and embedding.
    pub fn from_store(root: Arc<dyn ObjectStore>, url: Url) -> Self {
        Self {
            store: prefixed(root.clone(), url.path()),
            root,
            url,
        }
    }

    /// The store rooted where `url`'s path starts.
    pub(crate) fn root_store(&self) -> &Arc<dyn ObjectStore> {
        &self.root
    }

    /// The object store, rooted at the lake: keys are relative to the lake's location.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The lake's location for logs and documents: the URL without any user, password, query or
    /// fragment (credentials never come from the URL, but a user may have put them there).
    pub fn redacted_url(&self) -> String {
        let mut url = self.url.clone();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_query(None);
        url.set_fragment(None);
        url.to_string()
    }

    /// The lake's location as a URL.
    pub fn url(&self) -> &Url {
        &self.url
    }
}

/// What opening a local lake does about its folder.
#[derive(Clone, Copy)]
enum Folder {
    /// Creates it where missing (the commands that write).
    Create,
    /// Refuses a missing one (the commands that read).
    MustExist,
}

/// `store` seen from the (percent-encoded) URL path `url_path` down.
fn prefixed(store: Arc<dyn ObjectStore>, url_path: &str) -> Arc<dyn ObjectStore> {
    match Path::from_url_path(url_path.trim_matches('/')) {
        Ok(prefix) if prefix.as_ref().is_empty() => store,
        Ok(prefix) => Arc::new(PrefixStore::new(store, prefix)),
        Err(_) => Arc::new(PrefixStore::new(
            store,
            Path::from(url_path.trim_matches('/')),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_carry_no_credentials() {
        let lake = Lake::open("s3://user:secret@bucket/lake?token=abc").unwrap();
        assert_eq!(lake.redacted_url(), "s3://bucket/lake");
    }

    #[test]
    fn relative_path_becomes_file_url() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().join("a/b").to_str().unwrap()).unwrap();
        assert_eq!(lake.url().scheme(), "file");
        assert!(dir.path().join("a/b").is_dir());
    }

    #[test]
    fn a_reader_refuses_a_missing_local_folder_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("typo");
        let err = Lake::open_existing(missing.to_str().unwrap())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("typo") && err.contains("no lake here"),
            "{err}"
        );
        assert!(!missing.exists());
        std::fs::create_dir(&missing).unwrap();
        assert!(Lake::open_existing(missing.to_str().unwrap()).is_ok());
    }

    #[test]
    fn unknown_scheme_is_refused_with_the_location() {
        let err = Lake::open("ftp://host/lake").unwrap_err().to_string();
        assert!(
            err.contains("ftp://host/lake") && err.contains("unsupported scheme"),
            "{err}"
        );
    }

    #[test]
    fn s3_needs_a_bucket() {
        let err = Lake::open("s3:///prefix").unwrap_err().to_string();
        assert!(err.contains("bucket"), "{err}");
    }
}
