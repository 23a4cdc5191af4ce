//! The Delta kernel engine our tables' log store hands delta-rs: the kernel's default engine with
//! checkpoints laid out so that loading a snapshot reads only the rows it needs.
//!
//! A checkpoint has a row for every live file and for every tombstone (a `remove` kept until
//! `delta.deletedFileRetentionDuration`, a week, for `VACUUM` and time travel). After a
//! compaction of 30,000 small files the tombstones are almost all of its rows, and every
//! snapshot load decoded them twice (the `add` columns, then protocol and metadata), all null:
//! half of a compacted 15M-review table's `count(*)` process (BENCHMARKS.md, "Checkpoints with
//! their tombstones apart").
//!
//! Delta's kernel (under delta-rs here, and under other engines' Delta readers) asks for the
//! actions it needs with a presence predicate (`add.path IS NOT NULL`, ...) and skips the row
//! groups whose statistics say no row holds one.
//! So our checkpoints put the tombstones in row groups of their own, after the rest. The file is
//! the same checkpoint for every other engine: the same rows, the same schema, the same encoding
//! (the kernel's writer options), only cut into more row groups.

use std::sync::Arc;

use arrow::{
    array::{Array, RecordBatch},
    compute::{filter_record_batch, is_not_null, not},
};
use async_trait::async_trait;
use bytes::Bytes;
use datafusion::execution::object_store::ObjectStoreUrl;
use delta_kernel::{
    DeltaResult, DeltaResultIteratorStatic, Engine, EngineData, Error as KernelError,
    EvaluationHandler, FileDataReadResultIterator, FileMeta, JsonHandler, ParquetFooter,
    ParquetHandler, PredicateRef, StorageHandler, schema::SchemaRef,
};
use delta_kernel_default_engine::{
    DefaultEngineBuilder,
    executor::{
        TaskExecutor,
        tokio::{TokioBackgroundExecutor, TokioMultiThreadExecutor},
    },
};
use deltalake::{
    kernel::{Version, engine::arrow_data::ArrowEngineData, transaction::TransactionError},
    logstore::{CommitOrBytes, LogStore, LogStoreConfig, LogStoreRef},
};
use object_store::{ObjectStore, ObjectStoreExt, path::Path};
use parquet::arrow::{ArrowWriter, arrow_writer::ArrowWriterOptions};
use tokio::runtime::{Handle, RuntimeFlavor};
use url::Url;
use uuid::Uuid;

/// The column whose non-null rows are tombstones.
const REMOVE: &str = "remove";

/// delta-rs' log store for a table, handing out [`LogEngine`]s.
#[derive(Debug)]
pub(crate) struct LakeLogStore {
    inner: LogStoreRef,
}

impl LakeLogStore {
    pub(crate) fn new(inner: LogStoreRef) -> Self {
        Self { inner }
    }
}

#[async_trait]
impl LogStore for LakeLogStore {
    fn name(&self) -> String {
        self.inner.name()
    }

    async fn refresh(&self) -> deltalake::DeltaResult<()> {
        self.inner.refresh().await
    }

    async fn read_commit_entry(&self, version: Version) -> deltalake::DeltaResult<Option<Bytes>> {
        self.inner.read_commit_entry(version).await
    }

    async fn write_commit_entry(
        &self,
        version: Version,
        commit_or_bytes: CommitOrBytes,
        operation_id: Uuid,
    ) -> Result<(), TransactionError> {
        self.inner
            .write_commit_entry(version, commit_or_bytes, operation_id)
            .await
    }

    async fn abort_commit_entry(
        &self,
        version: Version,
        commit_or_bytes: CommitOrBytes,
        operation_id: Uuid,
    ) -> Result<(), TransactionError> {
        self.inner
            .abort_commit_entry(version, commit_or_bytes, operation_id)
            .await
    }

    async fn get_latest_version(&self, start_version: Version) -> deltalake::DeltaResult<Version> {
        self.inner.get_latest_version(start_version).await
    }

    fn object_store(&self, operation_id: Option<Uuid>) -> Arc<dyn ObjectStore> {
        self.inner.object_store(operation_id)
    }

    fn root_object_store(&self, operation_id: Option<Uuid>) -> Arc<dyn ObjectStore> {
        self.inner.root_object_store(operation_id)
    }

    fn engine(&self, operation_id: Option<Uuid>) -> Arc<dyn Engine> {
        LogEngine::on(self.root_object_store(operation_id))
    }

    fn to_uri(&self, location: &Path) -> String {
        self.inner.to_uri(location)
    }

    fn root_url(&self) -> &Url {
        self.inner.root_url()
    }

    fn log_path(&self) -> &Path {
        self.inner.log_path()
    }

    fn transaction_url(&self, operation_id: Option<Uuid>) -> deltalake::DeltaResult<Url> {
        self.inner.transaction_url(operation_id)
    }

    async fn is_delta_table_location(&self) -> deltalake::DeltaResult<bool> {
        self.inner.is_delta_table_location().await
    }

    fn config(&self) -> &LogStoreConfig {
        self.inner.config()
    }

    fn object_store_url(&self) -> ObjectStoreUrl {
        self.inner.object_store_url()
    }
}

/// The kernel's default engine, as delta-rs builds it, with [`CheckpointLayout`] writing.
struct LogEngine {
    inner: Arc<dyn Engine>,
    parquet: Arc<dyn ParquetHandler>,
}

impl LogEngine {
    /// An engine on `store`, with the executor delta-rs picks for the calling runtime.
    fn on(store: Arc<dyn ObjectStore>) -> Arc<dyn Engine> {
        match Handle::current().runtime_flavor() {
            RuntimeFlavor::MultiThread => Self::with(
                store,
                Arc::new(TokioMultiThreadExecutor::new(Handle::current())),
            ),
            _ => Self::with(store, Arc::new(TokioBackgroundExecutor::new())),
        }
    }

    fn with<E: TaskExecutor>(store: Arc<dyn ObjectStore>, executor: Arc<E>) -> Arc<dyn Engine> {
        let inner: Arc<dyn Engine> = Arc::new(
            DefaultEngineBuilder::new(store.clone())
                .with_task_executor(executor.clone())
                .build(),
        );
        let parquet = Arc::new(CheckpointLayout {
            inner: inner.parquet_handler(),
            store,
            executor,
        });
        Arc::new(Self { inner, parquet })
    }
}

impl Engine for LogEngine {
    fn evaluation_handler(&self) -> Arc<dyn EvaluationHandler> {
        self.inner.evaluation_handler()
    }

    fn storage_handler(&self) -> Arc<dyn StorageHandler> {
        self.inner.storage_handler()
    }

    fn json_handler(&self) -> Arc<dyn JsonHandler> {
        self.inner.json_handler()
    }

    fn parquet_handler(&self) -> Arc<dyn ParquetHandler> {
        self.parquet.clone()
    }
}

/// Reads as the default engine does; writes (the kernel writes only checkpoints through an
/// engine) with the tombstones in row groups after every other action.
struct CheckpointLayout<E> {
    inner: Arc<dyn ParquetHandler>,
    store: Arc<dyn ObjectStore>,
    executor: Arc<E>,
}

impl<E: TaskExecutor> ParquetHandler for CheckpointLayout<E> {
    fn read_parquet_files(
        &self,
        files: &[FileMeta],
        physical_schema: SchemaRef,
        predicate: Option<PredicateRef>,
    ) -> DeltaResult<FileDataReadResultIterator> {
        self.inner
            .read_parquet_files(files, physical_schema, predicate)
    }

    fn read_parquet_footer(&self, file: &FileMeta) -> DeltaResult<ParquetFooter> {
        self.inner.read_parquet_footer(file)
    }

    fn write_parquet_file(
        &self,
        location: Url,
        data: DeltaResultIteratorStatic<Box<dyn EngineData>>,
    ) -> DeltaResult<()> {
        let path = Path::from_url_path(location.path()).map_err(KernelError::generic_err)?;
        let bytes = checkpoint_bytes(data)?;
        let store = self.store.clone();
        self.executor
            .block_on(async move { store.put(&path, bytes.into()).await })
            .map_err(KernelError::generic_err)?;
        Ok(())
    }
}

/// The Parquet file of `actions`: every action but the tombstones, then the tombstones from a row
/// group of their own. They are held until the end, as the writer holds a row group.
fn checkpoint_bytes(
    actions: DeltaResultIteratorStatic<Box<dyn EngineData>>,
) -> DeltaResult<Vec<u8>> {
    // The kernel's own writer options (its `engine::writer_options`, not public).
    let options = ArrowWriterOptions::new().with_skip_arrow_metadata(true);
    let mut writer: Option<ArrowWriter<Vec<u8>>> = None;
    let mut tombstones = Vec::new();
    for data in actions {
        let batch: RecordBatch = (*ArrowEngineData::try_from_engine_data(data?)?).into();
        let writer = match &mut writer {
            Some(writer) => writer,
            None => writer.insert(ArrowWriter::try_new_with_options(
                Vec::new(),
                batch.schema(),
                options.clone(),
            )?),
        };
        let (rest, removed) = split_tombstones(&batch)?;
        writer.write(&rest)?;
        if removed.num_rows() > 0 {
            tombstones.push(removed);
        }
    }
    let mut writer =
        writer.ok_or_else(|| KernelError::generic("a checkpoint needs at least one action"))?;
    writer.flush()?;
    for removed in &tombstones {
        writer.write(removed)?;
    }
    Ok(writer.into_inner()?)
}

/// `batch` as (the rows that are no tombstone, the tombstones).
fn split_tombstones(batch: &RecordBatch) -> DeltaResult<(RecordBatch, RecordBatch)> {
    let remove = batch.column_by_name(REMOVE);
    let Some(remove) = remove.filter(|r| r.null_count() < r.len()) else {
        return Ok((batch.clone(), batch.slice(0, 0)));
    };
    let removed = is_not_null(remove.as_ref())?;
    Ok((
        filter_record_batch(batch, &not(&removed)?)?,
        filter_record_batch(batch, &removed)?,
    ))
}
