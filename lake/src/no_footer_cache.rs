//! A file-metadata cache that keeps nothing, for sessions that read each file's footer once.
//!
//! DataFusion 55 puts every Parquet footer it reads into the runtime's metadata cache, which
//! first measures the footer's size in memory. Every `reviewlake` session is new (the prompt
//! plans each statement in a fresh one), and a lake before compaction has tens of thousands of
//! files whose footers outgrow the cache's 50 MB, so there the cache never served a footer back:
//! on a 30,000-file lake, measuring and inserting footers was 6.7% of a `GROUP BY` (BENCHMARKS.md,
//! "Ten times the data" run 5). Where footers did fit (a compacted lake, whose three cohort
//! queries share one session), reading them back saved nothing measurable: the cohorts took
//! 1.77-1.86 s with the cache and without.

use std::time::Duration;

use datafusion::{
    common::{HashMap, Result, TableReference},
    execution::cache::{Cache, CacheEntryInfo, cache_manager::CachedFileMetadataEntry},
};
use object_store::path::Path;

/// The cache that keeps nothing.
#[derive(Debug, Default)]
pub(crate) struct NoFooterCache;

impl Cache<Path, CachedFileMetadataEntry> for NoFooterCache {
    fn get(&self, _key: &Path) -> Option<CachedFileMetadataEntry> {
        None
    }

    fn put(&self, _key: &Path, _value: CachedFileMetadataEntry) -> Option<CachedFileMetadataEntry> {
        None
    }

    fn remove(&self, _key: &Path) -> Option<CachedFileMetadataEntry> {
        None
    }

    fn contains_key(&self, _key: &Path) -> bool {
        false
    }

    fn len(&self) -> usize {
        0
    }

    fn clear(&self) {}

    fn name(&self) -> String {
        "NoFooterCache".to_string()
    }

    fn cache_limit(&self) -> usize {
        0
    }

    fn update_cache_limit(&self, _limit: usize) {}

    fn cache_ttl(&self) -> Option<Duration> {
        None
    }

    fn update_cache_ttl(&self, _ttl: Option<Duration>) {}

    fn drop_table_entries(&self, _table_ref: &TableReference) -> Result<()> {
        Ok(())
    }

    fn list_entries(&self) -> HashMap<Path, CacheEntryInfo<CachedFileMetadataEntry>> {
        HashMap::new()
    }
}
