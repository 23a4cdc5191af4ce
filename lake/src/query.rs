//! SQL over the lake with DataFusion: the `reviews` and `rejected` tables with their hive
//! partition columns and fixed schemas, plus the views in `sql/views/`.

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
    execution::context::SQLOptions,
    prelude::{DataFrame, SessionConfig, SessionContext},
};
use url::Url;

use crate::{
    Error, Lake, Result, SqlFiles, Table, VisibleStore, column, rejected_schema, reviews_schema,
};

/// The URL the lake is registered under inside a session.
static LAKE_URL: LazyLock<Url> =
    LazyLock::new(|| Url::parse("reviewlake://lake/").expect("static URL"));

/// A query session over one lake.
pub struct Query {
    ctx: SessionContext,
}

impl Query {
    /// Registers the lake's tables and the views of `sql`.
    pub async fn open(lake: &Lake, sql: &SqlFiles) -> Result<Self> {
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
            // file, and more partitions keep the cores busy meanwhile.
            (
                "datafusion.execution.target_partitions",
                (4 * cores).to_string(),
            ),
            // Ingest writes one small file per 500 records, a lake holds thousands of them, and
            // each has a single page per column: their page indexes prune nothing, but reading
            // them doubles the metadata parsed and cached per file.
            (
                "datafusion.execution.parquet.enable_page_index",
                "false".into(),
            ),
            // Statistics are collected at planning by decoding every file's footer statistics.
            // On a lake of thousands of 500-row files that costs more than it saves: a group-by
            // took 0.81-1.08 s with them and 0.51-0.74 s without (BENCHMARKS.md, SQL run 3).
            // Without them a count reads one column instead of the footers (3 ms more on a
            // compacted lake), and the Parquet reader still prunes row groups by their statistics.
            ("datafusion.execution.collect_statistics", "false".into()),
            // A cohort numbers the whole stream: a sort of every row. Below this size a
            // partition's batches are concatenated and sorted once; DataFusion's 1 MiB default
            // sorts each 8192-row batch alone and merges them all, 1.5 to 2x slower on 1.5M rows
            // (BENCHMARKS.md, SQL run 3). Above it (a lake far larger than memory) the merge path
            // still applies.
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
        let ctx = SessionContext::new_with_config(config);
        ctx.register_object_store(&LAKE_URL, Arc::new(VisibleStore::new(lake.store().clone())));
        for (table, schema) in [
            (Table::Reviews, reviews_schema()),
            (Table::Rejected, rejected_schema()),
        ] {
            let url = ListingTableUrl::parse(format!("{}{}/", LAKE_URL.as_str(), table.dir()))?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet")
                .with_table_partition_cols(vec![
                    (column::PART_TOPIC.to_string(), DataType::Utf8),
                    (column::PART_PARTITION.to_string(), DataType::Int32),
                ]);
            let config = ListingTableConfig::new(url)
                .with_listing_options(options)
                .with_schema(schema);
            ctx.register_table(table.dir(), Arc::new(ListingTable::try_new(config)?))?;
        }
        for view in sql.views()? {
            let statement = format!("CREATE VIEW {} AS {}", view.name, view.text);
            ctx.sql(&statement).await.map_err(|e| Error::Sql {
                file: view.origin(),
                reason: e.to_string(),
            })?;
        }
        Ok(Self { ctx })
    }

    /// Runs a read-only statement: anything that would create, write or delete is refused.
    pub async fn run(&self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
        let df = self.plan(sql).await?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await?;
        Ok((schema, batches))
    }

    /// The schema a read-only statement would return, without running it (nothing is listed or
    /// read).
    pub async fn schema(&self, sql: &str) -> Result<SchemaRef> {
        Ok(Arc::new(self.plan(sql).await?.schema().as_arrow().clone()))
    }

    async fn plan(&self, sql: &str) -> Result<DataFrame> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        self.ctx
            .sql_with_options(sql, options)
            .await
            .map_err(|e| match e.to_string() {
                m if m.contains("not supported")
                    && (m.contains("DDL") || m.contains("DML") || m.contains("Statement")) =>
                {
                    Error::ReadOnly(m)
                }
                _ => Error::Query(e),
            })
    }

    /// The DataFusion session, for callers that build plans themselves.
    pub fn context(&self) -> &SessionContext {
        &self.ctx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// reviewlake's own defaults reach the session (CI sets no `DATAFUSION_*` variable).
    #[tokio::test]
    async fn the_session_carries_the_lake_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let query = Query::open(&lake, &SqlFiles::default()).await.unwrap();
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
