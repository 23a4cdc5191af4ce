//! SQL over one snapshot of the lake with DataFusion: the `reviews` and `rejected` tables with
//! their partition columns and fixed schemas, plus the views in `sql/views/`.
//!
//! The tables are DataFusion listing tables over the snapshot's files (see [`SnapshotStore`]):
//! planning sees exactly the files of the Delta snapshot, with their statistics and arrival order
//! taken from the Delta log (see `log_stats`), or from each file's footer where the log lacks
//! them.

use std::sync::{Arc, LazyLock};

use arrow::{
    array::RecordBatch,
    datatypes::{DataType, SchemaRef},
};
use datafusion::{
    datasource::{
        file_format::parquet::ParquetFormat,
        listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl},
    },
    error::DataFusionError,
    execution::{
        cache::cache_manager::CacheManagerConfig, context::SQLOptions,
        runtime_env::RuntimeEnvBuilder, session_state::SessionStateBuilder,
    },
    prelude::{DataFrame, SessionConfig, SessionContext},
    sql::{
        parser::{DFParser, Statement as DFStatement},
        sqlparser::{
            ast::Statement as SQLStatement,
            dialect::GenericDialect,
            tokenizer::{Token, Tokenizer},
        },
    },
};
use url::Url;

use crate::{
    Error, Lake, Result, Snapshot, SnapshotStore, SqlFiles, Table, TableVersion, column,
    date_trunc::DateTrunc, dense_groups::DenseGroupBy, log_stats::statistics_cache,
    no_footer_cache::NoFooterCache, scan_order::KeepScanOrder, schema::file_schema,
};

/// The URL the lake is registered under inside a session.
static LAKE_URL: LazyLock<Url> =
    LazyLock::new(|| Url::parse("reviewlake://lake/").expect("static URL"));

/// What a session runs, which decides whether planning reads every file's footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// Ad-hoc SQL (`reviewlake sql`): planning reads no file; it takes the files' statistics
    /// from the Delta log where the log has them.
    AdHoc,
    /// The cohort files, ordered slices of the stream (`reviewlake cohorts`, `train`). Planning
    /// needs every file's statistics and order claim, from the log or else from its footer:
    /// where every file claims arrival order (see `order`), DataFusion merges the files instead
    /// of sorting every row.
    Cohorts,
}

/// A query session over one lake.
pub struct Query {
    ctx: SessionContext,
    snapshot: Snapshot,
}

impl Query {
    /// Registers the latest snapshot of the lake's tables and the views of `sql`, for `workload`.
    pub async fn open(lake: &Lake, sql: &SqlFiles, workload: Workload) -> Result<Self> {
        Self::open_at(lake, sql, workload, TableVersion::Latest).await
    }

    /// Like [`Query::open`], on the snapshot at `version` (time travel).
    pub async fn open_at(
        lake: &Lake,
        sql: &SqlFiles,
        workload: Workload,
        version: TableVersion,
    ) -> Result<Self> {
        let snapshot = Snapshot::load_at(lake, version).await?;
        Self::on_snapshot(lake, sql, workload, snapshot).await
    }

    /// Like [`Query::open`], reading only the commits made since `previous` (a running process:
    /// the prompt, the console; see [`Snapshot::refreshed`]). A default `previous` loads afresh.
    pub async fn open_since(
        lake: &Lake,
        sql: &SqlFiles,
        workload: Workload,
        previous: &Snapshot,
    ) -> Result<Self> {
        let snapshot = previous.refreshed(lake).await?;
        Self::on_snapshot(lake, sql, workload, snapshot).await
    }

    /// Like [`Query::open`], on `snapshot` (already loaded).
    pub async fn on_snapshot(
        lake: &Lake,
        sql: &SqlFiles,
        workload: Workload,
        snapshot: Snapshot,
    ) -> Result<Self> {
        // DATAFUSION_* environment variables tune the engine, e.g.
        // DATAFUSION_EXECUTION_TARGET_PARTITIONS=8.
        let mut config = SessionConfig::from_env()?
            .with_information_schema(true)
            .with_default_catalog_and_schema("reviewlake", "lake");
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Where reviewlake's defaults differ from DataFusion's. Each still yields to its
        // environment variable, named as DataFusion names it (the key in upper case, `.` as `_`).
        let defaults = [
            // Four partitions per core: a scan of many small files waits on a blocking read per
            // file, and more partitions keep the cores busy meanwhile. A cohort needs at least
            // two per Kafka partition (see `split_file_groups_by_statistics` below).
            (
                "datafusion.execution.target_partitions",
                match workload {
                    Workload::AdHoc => 4 * cores,
                    Workload::Cohorts => (4 * cores).max(2 * snapshot.partitions().count()),
                }
                .to_string(),
            ),
            // Ingest writes one small file per 500 records, a lake holds thousands of them, and
            // each has a single page per column: their page indexes prune nothing, but reading
            // them doubles the metadata parsed and cached per file.
            (
                "datafusion.execution.parquet.enable_page_index",
                "false".into(),
            ),
            // Planning-time statistics. Where the Delta log holds them (`log_stats`), planning
            // reads no file: `count(*)` is answered from the row counts, files are pruned by
            // their ranges, and a cohort merges its files in arrival order. Otherwise they come
            // from every file's footer, which on a lake of thousands of 500-row files costs an
            // ad-hoc query more than it saves (BENCHMARKS.md, SQL run 3), while a cohort still
            // needs them for the files' order claim (SQL run 4).
            (
                "datafusion.execution.collect_statistics",
                (workload == Workload::Cohorts || snapshot.reviews_in_arrival_order()).to_string(),
            ),
            // A cohort's scan keeps arrival order only where each of its file groups is a run
            // of files whose ranges follow one another. One Kafka partition's files follow one
            // another, but the partitions' files overlap in time: grouped by size, a group can
            // hold overlapping files, which breaks the order and forces a sort of every row.
            // Grouped by their ranges they form about one run per Kafka partition, which must
            // fit in the target partitions (above).
            (
                "datafusion.execution.split_file_groups_by_statistics",
                (workload == Workload::Cohorts).to_string(),
            ),
            // A sort of a whole partition (a cohort over files without the order claim) is
            // concatenated and sorted once below this size; DataFusion's 1 MiB default sorts each
            // 8192-row batch alone and merges them all, which is slower (BENCHMARKS.md, SQL run
            // 3). Above it (a lake far larger than memory) the merge path still applies.
            (
                "datafusion.execution.sort_in_place_threshold_bytes",
                (64 * 1024 * 1024).to_string(),
            ),
        ];
        for (key, value) in defaults {
            if std::env::var_os(key.to_uppercase().replace('.', "_")).is_none() {
                config.options_mut().set(key, &value)?;
            }
        }
        // The log's statistics are read only by a session that collects statistics.
        let collects_statistics = config.options().execution.collect_statistics;
        let runtime = RuntimeEnvBuilder::new()
            .with_cache_manager(
                CacheManagerConfig::default()
                    .with_file_metadata_cache(Some(Arc::new(NoFooterCache))),
            )
            .build_arc()?;
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(KeepScanOrder))
            .with_physical_optimizer_rule(Arc::new(DenseGroupBy))
            .build();
        let ctx = SessionContext::new_with_state(state);
        ctx.register_udf(DateTrunc::udf());
        ctx.register_object_store(
            &LAKE_URL,
            Arc::new(SnapshotStore::new(lake.store().clone(), &snapshot)),
        );
        for table in [Table::Reviews, Table::Rejected] {
            let schema = file_schema(table);
            let url = ListingTableUrl::parse(format!("{}{}/", LAKE_URL.as_str(), table.dir()))?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet")
                .with_table_partition_cols(vec![
                    (column::PART_TOPIC.to_string(), DataType::Utf8),
                    (column::PART_PARTITION.to_string(), DataType::Int32),
                ]);
            let statistics = collects_statistics
                .then(|| statistics_cache(&snapshot, table, Arc::clone(&schema)))
                .flatten();
            let config = ListingTableConfig::new(url)
                .with_listing_options(options)
                .with_schema(schema);
            let listing = ListingTable::try_new(config)?.with_cache(statistics);
            ctx.register_table(table.dir(), Arc::new(listing))?;
        }
        for view in sql.views()? {
            let statement = format!("CREATE VIEW {} AS {}", view.name, view.text);
            ctx.sql(&statement).await.map_err(|e| Error::Sql {
                file: view.origin(),
                reason: e.to_string(),
            })?;
        }
        Ok(Self { ctx, snapshot })
    }

    /// The snapshot this session reads.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Runs a read-only statement: anything that would create, write or delete is refused.
    pub async fn run(&self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let df = self.plan(sql).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        Ok((schema, batches))
    }

    /// Like [`Query::run`], stopping after `limit` rows.
    pub async fn run_limited(
        &self,
        sql: &str,
        limit: usize,
    ) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let df = self.plan(sql).await?.limit(0, Some(limit))?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        Ok((schema, batches))
    }

    /// The schema a read-only statement would return, without running it (nothing is listed or
    /// read).
    pub async fn schema(&self, sql: &str) -> Result<SchemaRef> {
        Ok(Arc::new(self.plan(sql).await?.schema().as_arrow().clone()))
    }

    /// Plans a statement after checking, by its kind, that it only reads; DataFusion's own
    /// options refuse the rest again while planning.
    async fn plan(&self, sql: &str) -> Result<DataFrame> {
        for statement in DFParser::parse_sql(sql)? {
            if !reads_only(&statement) {
                let kind = sql
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_uppercase();
                return Err(Error::ReadOnly(kind));
            }
        }
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        Ok(self.ctx.sql_with_options(sql, options).await?)
    }

    /// Splits a script into statements at the `;` tokens of DataFusion's SQL tokenizer, so a
    /// `;` inside a string, a quoted name or a comment splits nothing. Each statement is the
    /// script's own text, unchanged; parts with nothing but comments and spaces are dropped.
    pub fn split_statements(script: &str) -> Result<Vec<String>> {
        let tokens = Tokenizer::new(&GenericDialect {}, script)
            .tokenize_with_location()
            .map_err(|e| Error::Query(DataFusionError::External(Box::new(e))))?;
        // Byte offset of each line's start: the tokenizer counts lines and characters from 1.
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(script.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let offset = |line: u64, column: u64| -> usize {
            let start = line_starts[(line as usize).saturating_sub(1)];
            script[start..]
                .char_indices()
                .nth((column as usize).saturating_sub(1))
                .map_or(script.len(), |(i, _)| start + i)
        };
        let mut statements = Vec::new();
        let (mut from, mut has_code) = (0, false);
        for t in &tokens {
            match &t.token {
                Token::SemiColon => {
                    let at = offset(t.span.start.line, t.span.start.column);
                    if has_code {
                        statements.push(script[from..at].trim().to_string());
                    }
                    (from, has_code) = (at + 1, false);
                }
                Token::Whitespace(_) | Token::EOF => {}
                _ => has_code = true,
            }
        }
        if has_code {
            statements.push(script[from..].trim().to_string());
        }
        Ok(statements)
    }

    /// The DataFusion session, for callers that build plans themselves.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }
}

/// Whether a parsed statement only reads: a query, `EXPLAIN` of one, `SHOW` or `DESCRIBE`.
fn reads_only(statement: &DFStatement) -> bool {
    match statement {
        DFStatement::Statement(s) => matches!(
            s.as_ref(),
            SQLStatement::Query(_)
                | SQLStatement::ShowTables { .. }
                | SQLStatement::ShowColumns { .. }
                | SQLStatement::ShowVariable { .. }
                | SQLStatement::ShowFunctions { .. }
                | SQLStatement::ShowCreate { .. }
                | SQLStatement::ExplainTable { .. }
        ),
        DFStatement::Explain(explain) => reads_only(&explain.statement),
        DFStatement::CreateExternalTable(_) | DFStatement::CopyTo(_) | DFStatement::Reset(_) => {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_split_where_the_sql_parser_ends_a_statement() {
        let s = Query::split_statements(
            "SELECT ';' AS a; -- c; d\nSELECT /* ; */ 'é;' AS \"x;y\";; -- only a comment\n",
        )
        .unwrap();
        assert_eq!(
            s,
            ["SELECT ';' AS a", "-- c; d\nSELECT /* ; */ 'é;' AS \"x;y\""]
        );
        // Each statement is the script's own text: COPY's target stays quoted.
        assert_eq!(
            Query::split_statements("COPY reviews TO '/tmp/x.parquet'").unwrap(),
            ["COPY reviews TO '/tmp/x.parquet'"]
        );
        assert!(Query::split_statements("SELECT 'unterminated").is_err());
    }

    /// reviewlake's own defaults reach the session (CI sets no `DATAFUSION_*` variable).
    #[tokio::test]
    async fn the_session_carries_the_lake_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let cohorts = Query::open(&lake, &SqlFiles::default(), Workload::Cohorts)
            .await
            .unwrap();
        assert!(cohorts.context().state().config().collect_statistics());
        let query = Query::open(&lake, &SqlFiles::default(), Workload::AdHoc)
            .await
            .unwrap();
        let options = query.context().state().config().options().clone();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(options.execution.target_partitions, 4 * cores);
        assert!(!options.execution.parquet.enable_page_index);
        assert!(!options.execution.collect_statistics);
        assert_eq!(
            options.execution.sort_in_place_threshold_bytes,
            64 * 1024 * 1024
        );
        // The shipped views are registered beside the tables.
        let (_, batches) = query
            .run("SELECT count(*) AS n FROM reviews_daily")
            .await
            .unwrap();
        assert_eq!(batches[0].num_rows(), 1);
    }
}
