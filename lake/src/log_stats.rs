//! Planning from the Delta log alone: the statistics and ordering DataFusion would read from each
//! file's Parquet footer, taken from the snapshot's `add` actions instead.
//!
//! A listing table with statistics collection on reads every file's footer while planning; on a
//! lake of 30,000 small files that is most of a query's time. Filled in here, DataFusion's file
//! statistics cache answers those reads: `count(*)` comes from the row counts without a scan,
//! files are pruned by their value ranges, and a cohort's scan learns that the files are in
//! arrival order (the table's declaration, see `delta::FILES_IN_ARRIVAL_ORDER`) and merges them.

use std::{collections::HashMap, sync::Arc, time::Duration};

use arrow::{
    compute::SortOptions,
    datatypes::{Schema, SchemaRef},
};
use datafusion::{
    common::TableReference,
    execution::cache::{
        Cache, CacheEntryInfo, CacheValue, SchemaFingerprint, TableScopedPath,
        cache_manager::{CachedFileMetadata, FileStatisticsCache},
        default_cache::DefaultCache,
    },
    physical_expr::{LexOrdering, PhysicalSortExpr, expressions::Column},
};

use crate::{ARRIVAL_ORDER, Snapshot, Table, stats::file_statistics};

/// The file statistics of one table of a snapshot that the log gives, by file.
pub(crate) type LogEntries = HashMap<TableScopedPath, CachedFileMetadata>;

/// The file statistics cache of `table` for a listing table over `schema` (its file columns):
/// every file of `snapshot` whose `add` action has statistics, read from the log on the first
/// lookup, so that a statement that never scans the table never reads them. A file without
/// them is left to DataFusion, which reads its footer and keeps what it read here. `None` when
/// the log cannot stand in for the footers: a `reviews` table that does not declare its files'
/// order.
pub(crate) fn statistics_cache(
    snapshot: &Snapshot,
    table: Table,
    schema: SchemaRef,
) -> Option<Arc<FileStatisticsCache>> {
    if table == Table::Reviews && !snapshot.reviews_in_arrival_order() {
        return None;
    }
    Some(Arc::new(LogStatistics {
        snapshot: snapshot.clone(),
        table,
        schema,
        read: DefaultCache::new(usize::MAX).with_name("reviewlake-footer-statistics"),
    }))
}

/// The statistics of every file of `table` in `snapshot` whose `add` action has them, as
/// DataFusion's listing would read them from the footers. Made once per snapshot
/// (`Snapshot::log_entries`).
pub(crate) fn log_entries(snapshot: &Snapshot, table: Table, schema: &Schema) -> LogEntries {
    let ordering = match table {
        Table::Reviews => arrival_ordering(schema),
        Table::Rejected => None,
    };
    let fingerprint = Arc::new(SchemaFingerprint::from_schema(schema));
    let mut entries = HashMap::new();
    for file in snapshot.files(table) {
        let Some(statistics) = file
            .stats
            .as_deref()
            .and_then(|s| file_statistics(s, file.size, schema))
        else {
            continue;
        };
        let key = TableScopedPath {
            table: None,
            path: file.location.clone(),
        };
        let entry = CachedFileMetadata::new(
            file.object_meta(),
            Arc::clone(&fingerprint),
            Arc::new(statistics),
            ordering.clone(),
        );
        entries.insert(key, entry);
    }
    entries
}

/// A listing table's file statistics cache: the log's, then what DataFusion read from footers.
struct LogStatistics {
    snapshot: Snapshot,
    table: Table,
    schema: SchemaRef,
    /// Statistics DataFusion read from the footers of files whose `add` has none.
    read: DefaultCache<TableScopedPath, CachedFileMetadata>,
}

impl LogStatistics {
    fn log(&self) -> &LogEntries {
        self.snapshot.log_entries(self.table, &self.schema)
    }
}

impl Cache<TableScopedPath, CachedFileMetadata> for LogStatistics {
    fn get(&self, key: &TableScopedPath) -> Option<CachedFileMetadata> {
        self.log().get(key).cloned().or_else(|| self.read.get(key))
    }

    fn put(&self, key: &TableScopedPath, value: CachedFileMetadata) -> Option<CachedFileMetadata> {
        self.read.put(key, value)
    }

    /// Removes what was read from a footer; the log's entries stay, as the snapshot does.
    fn remove(&self, key: &TableScopedPath) -> Option<CachedFileMetadata> {
        self.read.remove(key)
    }

    fn contains_key(&self, key: &TableScopedPath) -> bool {
        self.log().contains_key(key) || self.read.contains_key(key)
    }

    fn len(&self) -> usize {
        self.log().len() + self.read.len()
    }

    fn clear(&self) {
        self.read.clear()
    }

    fn name(&self) -> String {
        "reviewlake-delta-log-statistics".into()
    }

    fn cache_limit(&self) -> usize {
        self.read.cache_limit()
    }

    fn update_cache_limit(&self, limit: usize) {
        self.read.update_cache_limit(limit)
    }

    fn cache_ttl(&self) -> Option<Duration> {
        self.read.cache_ttl()
    }

    fn update_cache_ttl(&self, ttl: Option<Duration>) {
        self.read.update_cache_ttl(ttl)
    }

    fn drop_table_entries(&self, table: &TableReference) -> datafusion::common::Result<()> {
        self.read.drop_table_entries(table)
    }

    fn list_entries(
        &self,
    ) -> datafusion::common::HashMap<TableScopedPath, CacheEntryInfo<CachedFileMetadata>> {
        let mut entries = self.read.list_entries();
        for (key, value) in self.log() {
            let info = CacheEntryInfo {
                size_bytes: value.size(),
                value: value.clone(),
                hits: 0,
                expires: None,
            };
            entries.insert(key.clone(), info);
        }
        entries
    }
}

/// Arrival order over the columns of `schema`, as DataFusion reads it from a footer's
/// `sorting_columns`: ascending, nulls last.
fn arrival_ordering(schema: &Schema) -> Option<LexOrdering> {
    let exprs = ARRIVAL_ORDER.iter().map(|name| {
        let index = schema.index_of(name).ok()?;
        Some(PhysicalSortExpr::new(
            Arc::new(Column::new(name, index)),
            SortOptions {
                descending: false,
                nulls_first: false,
            },
        ))
    });
    LexOrdering::new(exprs.collect::<Option<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use datafusion::physical_plan::{ExecutionPlan, displayable};

    use crate::{
        Lake, Query, SqlFiles, Table, Workload,
        batch::{TestRow, committed_lake},
    };

    /// Three Kafka partitions whose files overlap in time, in 2, 2 and 32 files of two reviews
    /// (more files than a small machine's target partitions, so that a group by size holds the
    /// interleaved files of partitions 0 and 1); review `n` of the stream (by timestamp) has
    /// rating `n`.
    async fn interleaved_lake(dir: &std::path::Path) -> Lake {
        let mut files = Vec::new();
        for partition in 0..3 {
            for file in 0..[2i64, 2, 32][partition as usize] {
                files.push(
                    [file * 2, file * 2 + 1]
                        .map(|offset| {
                            let n = offset * 3 + i64::from(partition);
                            TestRow {
                                partition,
                                offset,
                                timestamp_ms: Some(1_000 + n),
                                rating: n as i32,
                            }
                        })
                        .to_vec(),
                );
            }
        }
        committed_lake(dir, &files).await
    }

    /// Overwrites every data file with zeros of the same size: reading a footer then fails.
    fn zero_every_data_file(dir: &std::path::Path) {
        for entry in walk(&dir.join(Table::Reviews.dir())) {
            if entry.extension().is_some_and(|e| e == "parquet") {
                let len = std::fs::metadata(&entry).unwrap().len() as usize;
                std::fs::write(&entry, vec![0u8; len]).unwrap();
            }
        }
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.extend(walk(&path));
            } else {
                out.push(path);
            }
        }
        out
    }

    /// A session over `lake` with the shipped SQL files.
    async fn session(lake: &Lake, workload: Workload) -> Query {
        Query::open(lake, &SqlFiles::default(), workload)
            .await
            .unwrap()
    }

    async fn plan(query: &Query, sql: &str) -> (std::sync::Arc<dyn ExecutionPlan>, String) {
        let df = query.context().sql(sql).await.unwrap();
        let plan = df.create_physical_plan().await.unwrap();
        let shown = displayable(plan.as_ref()).indent(false).to_string();
        (plan, shown)
    }

    const SLICE: &str = "SELECT review_rating FROM reviews \
        ORDER BY kafka_timestamp, kafka_partition, kafka_offset LIMIT 5 OFFSET 7";

    /// `count(*)` is answered from the log's row counts, without a scan.
    #[tokio::test]
    async fn count_comes_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let lake = interleaved_lake(dir.path()).await;
        let query = session(&lake, Workload::AdHoc).await;
        let (_, shown) = plan(&query, "SELECT count(*) FROM reviews").await;
        assert!(!shown.contains("DataSourceExec"), "{shown}");
        let (_, batches) = query
            .run("SELECT count(*) AS n FROM reviews")
            .await
            .unwrap();
        let n = batches[0].column(0).as_any();
        let n = n.downcast_ref::<arrow::array::Int64Array>().unwrap();
        assert_eq!(n.value(0), 72);
    }

    /// A statement reads the log's statistics of the tables it scans only (on a lake of small
    /// files, `rejected` has as many files as `reviews`).
    #[tokio::test]
    async fn statistics_are_read_for_the_tables_a_statement_scans() {
        let dir = tempfile::tempdir().unwrap();
        let lake = interleaved_lake(dir.path()).await;
        let query = session(&lake, Workload::AdHoc).await;
        let snapshot = query.snapshot();
        assert!(!snapshot.has_log_entries(Table::Reviews));
        query.run("SELECT count(*) FROM reviews").await.unwrap();
        assert!(snapshot.has_log_entries(Table::Reviews));
        assert!(!snapshot.has_log_entries(Table::Rejected));
    }

    /// A cohort over partitions whose files overlap in time merges them in arrival order, with
    /// the right rows, and planning it opens no file: with every data file zeroed the plan is
    /// still made (a footer read would fail).
    #[tokio::test]
    async fn a_cohort_over_overlapping_partitions_merges_without_opening_files() {
        let dir = tempfile::tempdir().unwrap();
        let lake = interleaved_lake(dir.path()).await;
        let query = session(&lake, Workload::Cohorts).await;
        let (_, shown) = plan(&query, SLICE).await;
        assert!(
            shown.contains("SortPreservingMergeExec") && !shown.contains("SortExec:"),
            "a merge of the files' runs, not a sort:\n{shown}"
        );
        let (_, batches) = query.run(SLICE).await.unwrap();
        let ratings: Vec<i32> = batches
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any();
                let a = a.downcast_ref::<arrow::array::Int32Array>().unwrap();
                a.values().to_vec()
            })
            .collect();
        assert_eq!(ratings, [7, 8, 9, 10, 11]);

        zero_every_data_file(dir.path());
        let query = session(&lake, Workload::Cohorts).await;
        let (_, shown) = plan(&query, SLICE).await;
        assert!(shown.contains("SortPreservingMergeExec"), "{shown}");
        assert!(query.run(SLICE).await.is_err(), "the data files are zeros");
    }
}
