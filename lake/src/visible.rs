//! An object store view that lists only the files a reader should see, so that any engine that
//! lists a folder (DataFusion's listing tables) gets a consistent lake: compaction inputs whose
//! output exists, replays, and uncommitted rejected files are left out of every listing.

use std::{fmt, ops::Range, sync::Arc};

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream::BoxStream};
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result, path::Path,
};

use crate::{FileKey, Snapshot};

/// Wraps a lake's store; reads pass through, listings are filtered.
#[derive(Debug)]
pub struct VisibleStore {
    inner: Arc<dyn ObjectStore>,
}

impl VisibleStore {
    /// A view of `inner` (a store rooted at the lake).
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self { inner }
    }

    /// Keeps the visible data files of `listed`. Rejected files need the commit points of their
    /// partitions, so the matching `reviews` folder is listed too.
    async fn filter(
        &self,
        prefix: Option<&Path>,
        listed: Vec<ObjectMeta>,
    ) -> Result<Vec<ObjectMeta>> {
        let needs_commits = listed
            .iter()
            .any(|m| m.location.as_ref().starts_with("rejected/"));
        let mut all = listed.clone();
        if needs_commits {
            let reviews = match prefix.map(|p| p.as_ref()) {
                Some(p) if p.starts_with("rejected") => {
                    Path::from(format!("reviews{}", &p["rejected".len()..]))
                }
                _ => Path::from("reviews"),
            };
            let commits: Vec<ObjectMeta> = self.inner.list(Some(&reviews)).try_collect().await?;
            all.extend(commits);
        }
        let snapshot = Snapshot::from_metas(&all);
        let visible = snapshot.visible_keys();
        Ok(listed
            .into_iter()
            .filter(|m| FileKey::parse(&m.location).is_some_and(|k| visible.contains(&k)))
            .collect())
    }
}

impl fmt::Display for VisibleStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Visible({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for VisibleStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(&self, location: &Path, ranges: &[Range<u64>]) -> Result<Vec<Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let this = Self::new(self.inner.clone());
        let prefix = prefix.cloned();
        futures::stream::once(async move {
            let listed: Vec<ObjectMeta> = this.inner.list(prefix.as_ref()).try_collect().await?;
            this.filter(prefix.as_ref(), listed).await
        })
        .map_ok(|v| futures::stream::iter(v.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        let offset = offset.clone();
        self.list(prefix)
            .try_filter(move |m| futures::future::ready(m.location > offset))
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let mut result = self.inner.list_with_delimiter(prefix).await?;
        let objects = std::mem::take(&mut result.objects);
        result.objects = self.filter(prefix, objects).await?;
        Ok(result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}
