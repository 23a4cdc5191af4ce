//! Command-line definitions: every flag also reads an environment variable.

use std::{path::PathBuf, sync::LazyLock, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

use crate::output::ResultFormat;

/// Ingest's defaults, made once. clap builds every subcommand's flags whatever the command, and
/// each `IngestOptions::default()` reads the cgroup's CPU quota (`available_parallelism`).
static INGEST_DEFAULTS: LazyLock<ingest::IngestOptions> = LazyLock::new(Default::default);

/// Stream app reviews through Kafka into a Parquet lake.
#[derive(Debug, Parser)]
#[command(name = "reviewlake", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) log: LogArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the whole pipeline on this machine: broker (embedded unless --brokers), produce,
    /// ingest, train, serve.
    Demo(DemoArgs),
    /// Send reviews from the dataset's CSV file or a generator to Kafka, one JSON message each.
    Produce(ProduceArgs),
    /// Consume reviews from Kafka into the Parquet lake, exactly once.
    Ingest(IngestArgs),
    /// Query the lake with SQL (read-only): a statement, a file, or an interactive prompt.
    Sql(SqlArgs),
    /// Show the training cohorts (row counts, excluded rows, feature summaries) or dump one.
    Cohorts(CohortsArgs),
    /// Train a k-means model per cohort file and store each as a new version.
    Train(TrainArgs),
    /// List the trained models and their versions, or print their documents.
    Models(ModelsArgs),
    /// Predict the cluster of one review with a stored model.
    Predict(PredictArgs),
    /// Serve predictions over REST (POST /predict/{model}), with the models loaded in memory.
    Serve(ServeArgs),
    /// Inspect or maintain the lake.
    Lake {
        #[command(subcommand)]
        command: LakeCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum LakeCommand {
    /// Files, rows, bytes, offset ranges and rejected records per Kafka partition.
    Stats(StatsArgs),
    /// Merge each partition's small files into large ones, in one commit per table.
    Compact(CompactArgs),
    /// Delete files no snapshot within the retention needs, and files no commit ever added.
    Vacuum(VacuumArgs),
    /// List a table's commits: version, time, operation, files and rows added and removed.
    History(HistoryArgs),
    /// Print the location of every data file of a table's snapshot, one per line (for engines
    /// that read Parquet files but not Delta: `read_parquet([...])`).
    Files(FilesArgs),
    /// Turn a lake of the old layout (Parquet files, no Delta log) into the two Delta tables,
    /// without copying data.
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct LogArgs {
    /// Log filter (tracing EnvFilter syntax), e.g. `info` or `ingest=debug`. The Delta
    /// libraries' own progress lines show from `debug` on (`buoyant_kernel=info` to see them).
    #[arg(
        long,
        env = "REVIEWLAKE_LOG",
        default_value = "info,buoyant_kernel=warn,deltalake_core=warn",
        global = true
    )]
    pub(crate) log_level: String,
    /// Log line format.
    #[arg(long, env = "REVIEWLAKE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub(crate) log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// Where Kafka is.
#[derive(Debug, Args)]
pub(crate) struct KafkaArgs {
    /// Bootstrap brokers.
    #[arg(long, env = "KAFKA_BROKERS", default_value = "localhost:9092")]
    pub(crate) brokers: String,
    /// Topic holding the reviews.
    #[arg(long, env = "REVIEWLAKE_TOPIC", default_value = "netflix-reviews")]
    pub(crate) topic: String,
    /// Extra librdkafka setting, passed through (repeatable): `-X security.protocol=SSL`. Each
    /// can also come from the environment, which `ps` does not show (secrets belong there):
    /// `REVIEWLAKE_KAFKA_SASL_PASSWORD=...` is `-X sasl.password=...`. `-X` wins.
    #[arg(short = 'X', value_name = "KEY=VALUE", value_parser = ingest::parse_setting)]
    pub(crate) settings: Vec<(String, String)>,
}

impl KafkaArgs {
    pub(crate) fn options(&self) -> ingest::KafkaOptions {
        let mut extra = ingest::settings_from_env(std::env::vars());
        extra.extend(self.settings.iter().cloned());
        ingest::KafkaOptions {
            brokers: self.brokers.clone(),
            topic: self.topic.clone(),
            extra,
        }
    }
}

/// Where the lake is.
/// Where the lake is when `--lake` is not given.
pub(crate) const DEFAULT_LAKE: &str = "./data/lake";

#[derive(Debug, Args)]
pub(crate) struct LakeArgs {
    /// Lake location: a path, file:///abs/path, s3://bucket/prefix (AWS_* variables) or memory://.
    #[arg(long, env = "REVIEWLAKE_LAKE", default_value = DEFAULT_LAKE)]
    pub(crate) lake: String,
}

#[derive(Debug, Args)]
pub(crate) struct ProduceArgs {
    #[command(flatten)]
    pub(crate) kafka: KafkaArgs,
    /// The dataset's CSV file (columns matched by header name).
    #[arg(
        long,
        env = "REVIEWLAKE_CSV",
        conflicts_with = "synthetic",
        required_unless_present = "synthetic"
    )]
    pub(crate) csv: Option<PathBuf>,
    /// Generate this many synthetic reviews instead of reading a CSV file.
    #[arg(long, value_name = "N")]
    pub(crate) synthetic: Option<u64>,
    /// Seed of the generator (the same seed gives the same reviews).
    #[arg(long, env = "REVIEWLAKE_SEED", default_value_t = 42)]
    pub(crate) seed: u64,
    /// Messages per second; 0 = unthrottled (the original paced one message per 0.2–1 s).
    #[arg(long, env = "REVIEWLAKE_RATE", default_value_t = 0.0)]
    pub(crate) rate: f64,
    /// Send at most this many messages.
    #[arg(long)]
    pub(crate) limit: Option<u64>,
    /// Send every value as a JSON string, as the original Python producer did.
    #[arg(long)]
    pub(crate) string_values: bool,
}

#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    #[command(flatten)]
    pub(crate) kafka: KafkaArgs,
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    /// Consumer group.
    #[arg(long, env = "REVIEWLAKE_GROUP", default_value = "reviewlake-ingest")]
    pub(crate) group: String,
    /// Records per Parquet file.
    #[arg(long, env = "REVIEWLAKE_BATCH_ROWS", default_value_t = INGEST_DEFAULTS.batch_rows)]
    pub(crate) batch_rows: usize,
    /// Write a file before --batch-rows once its records' payloads reach this many bytes.
    #[arg(long, env = "REVIEWLAKE_BATCH_BYTES", default_value_t = INGEST_DEFAULTS.batch_bytes)]
    pub(crate) batch_bytes: usize,
    /// Write a partial batch once its oldest record has waited this long (e.g. 30s, 500ms).
    #[arg(long, env = "REVIEWLAKE_MAX_LATENCY", default_value = human(INGEST_DEFAULTS.max_latency), value_parser = parse_duration)]
    pub(crate) max_latency: Duration,
    /// Stop once every assigned partition is caught up.
    #[arg(long, env = "REVIEWLAKE_EXIT_AT_END")]
    pub(crate) exit_at_end: bool,
    /// Messages larger than this many bytes are rejected.
    #[arg(long, env = "REVIEWLAKE_MAX_MESSAGE_BYTES", default_value_t = ingest::DecodeOptions::default().max_message_bytes)]
    pub(crate) max_message_bytes: usize,
    /// zstd level of the Parquet files.
    #[arg(long, env = "REVIEWLAKE_ZSTD_LEVEL", default_value_t = lake::WriteOptions::default().zstd_level)]
    pub(crate) zstd_level: i32,
    /// Attempts for a failing lake write before giving up.
    #[arg(long, env = "REVIEWLAKE_STORAGE_ATTEMPTS", default_value_t = INGEST_DEFAULTS.storage_attempts)]
    pub(crate) storage_attempts: u32,
    /// Serve Prometheus metrics (`/metrics`) and a JSON status (`/status`) on this address, e.g.
    /// 127.0.0.1:9898; off by default.
    #[arg(long, env = "REVIEWLAKE_METRICS_BIND")]
    pub(crate) metrics_bind: Option<String>,
    /// Commit written files to the tables once this many wait...
    #[arg(long, env = "REVIEWLAKE_COMMIT_FILES", default_value_t = INGEST_DEFAULTS.commit_files)]
    pub(crate) commit_files: usize,
    /// ...or once the oldest has waited this long.
    #[arg(long, env = "REVIEWLAKE_COMMIT_INTERVAL", default_value = human(INGEST_DEFAULTS.commit_interval), value_parser = parse_duration)]
    pub(crate) commit_interval: Duration,
    /// Files encoded and put at once, beside the thread that polls and decodes (default: one per
    /// core).
    #[arg(long, env = "REVIEWLAKE_WRITES_IN_FLIGHT", default_value_t = INGEST_DEFAULTS.writes_in_flight)]
    pub(crate) writes_in_flight: usize,
}

/// Which snapshot of the tables to read (time travel); the latest by default.
#[derive(Debug, Args)]
pub(crate) struct TableVersionArgs {
    /// Read this version of the `reviews` table (and `rejected` as of its commit time).
    #[arg(long, env = "REVIEWLAKE_TABLE_VERSION", conflicts_with = "as_of")]
    pub(crate) table_version: Option<u64>,
    /// Read both tables as of this UTC time, `YYYY-MM-DD HH:MM:SS` (or RFC 3339).
    #[arg(long, env = "REVIEWLAKE_AS_OF", value_parser = parse_instant)]
    pub(crate) as_of: Option<chrono::DateTime<chrono::Utc>>,
}

impl TableVersionArgs {
    pub(crate) fn version(&self) -> lake::TableVersion {
        match (self.table_version, self.as_of) {
            (Some(v), _) => lake::TableVersion::Version(v),
            (None, Some(t)) => lake::TableVersion::AsOf(t),
            (None, None) => lake::TableVersion::Latest,
        }
    }
}

/// Parses `2026-11-29 10:00:00` (UTC) or an RFC 3339 time.
fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S")
        .map(|t| t.and_utc())
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(s.trim()).map(|t| t.to_utc()))
        .map_err(|_| format!("invalid time {s:?}: use YYYY-MM-DD HH:MM:SS (UTC) or RFC 3339"))
}

/// Where the `.sql` files (views, cohorts) are.
#[derive(Debug, Args)]
pub(crate) struct SqlDirArgs {
    /// Folder with `views/*.sql` and `cohorts/*.sql`; the built-in copies are used when it does not exist.
    #[arg(long, env = "REVIEWLAKE_SQL_DIR", default_value = "./sql")]
    pub(crate) sql_dir: PathBuf,
}

impl SqlDirArgs {
    pub(crate) fn files(&self) -> lake::SqlFiles {
        lake::SqlFiles::discover(&self.sql_dir)
    }
}

#[derive(Debug, Args)]
pub(crate) struct SqlArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    #[command(flatten)]
    pub(crate) sql_dir: SqlDirArgs,
    #[command(flatten)]
    pub(crate) at: TableVersionArgs,
    /// The statement(s) to run; without one (and without -f), an interactive prompt opens.
    pub(crate) query: Option<String>,
    /// Run the statements of a file.
    #[arg(short = 'f', long = "file", conflicts_with = "query")]
    pub(crate) file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, env = "REVIEWLAKE_FORMAT", default_value_t = ResultFormat::Table)]
    pub(crate) format: ResultFormat,
    /// Print each statement's wall time to stderr (at the prompt: reading the latest snapshot
    /// included).
    #[arg(long, env = "REVIEWLAKE_TIMING")]
    pub(crate) timing: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CohortsArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    #[command(flatten)]
    pub(crate) sql_dir: SqlDirArgs,
    #[command(flatten)]
    pub(crate) at: TableVersionArgs,
    /// Rows per cohort (the `${cohort_rows}` of the cohort files).
    #[arg(long, env = "REVIEWLAKE_COHORT_ROWS", default_value_t = 500_000)]
    pub(crate) cohort_rows: u64,
    /// Print this cohort's usable rows instead of the summary.
    #[arg(long, value_name = "COHORT")]
    pub(crate) dump: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultFormat::Table)]
    pub(crate) format: ResultFormat,
}

/// Where the model artifacts are.
#[derive(Debug, Args)]
pub(crate) struct ModelsLocationArgs {
    /// Where models are stored (a location like --lake); default: the lake itself.
    #[arg(long, env = "REVIEWLAKE_MODELS")]
    pub(crate) models_location: Option<String>,
}

impl ModelsLocationArgs {
    /// The model store: `--models-location`, else the lake.
    pub(crate) fn store(&self, lake: &LakeArgs) -> anyhow::Result<train::ModelStore> {
        let location = self.models_location.as_deref().unwrap_or(&lake.lake);
        let opened = lake::Lake::open(location)?;
        Ok(train::ModelStore::new(
            opened.store().clone(),
            opened.redacted_url(),
        ))
    }
}

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    #[command(flatten)]
    pub(crate) sql_dir: SqlDirArgs,
    #[command(flatten)]
    pub(crate) models: ModelsLocationArgs,
    #[command(flatten)]
    pub(crate) at: TableVersionArgs,
    /// Models to train, comma-separated cohort names (default: every cohort file).
    #[arg(
        long = "models",
        env = "REVIEWLAKE_TRAIN_MODELS",
        value_delimiter = ','
    )]
    pub(crate) names: Vec<String>,
    /// Rows per cohort (the `${cohort_rows}` of the cohort files).
    #[arg(long, env = "REVIEWLAKE_COHORT_ROWS", default_value_t = 500_000)]
    pub(crate) cohort_rows: u64,
    /// Number of clusters.
    #[arg(long, env = "REVIEWLAKE_K", default_value_t = train::KMeansParams::default().k)]
    pub(crate) k: usize,
    /// Random seed (the same lake, cohort and parameters give the same centroids).
    #[arg(long, env = "REVIEWLAKE_SEED", default_value_t = 42)]
    pub(crate) seed: u64,
    /// k-means++ initialisations; the lowest cost wins.
    #[arg(long, env = "REVIEWLAKE_N_INIT", default_value_t = train::KMeansParams::default().n_init)]
    pub(crate) n_init: usize,
    /// Convergence tolerance, relative to the data's mean feature variance.
    #[arg(long, env = "REVIEWLAKE_TOLERANCE", default_value_t = train::KMeansParams::default().tolerance)]
    pub(crate) tolerance: f64,
    /// Maximum Lloyd iterations per initialisation.
    #[arg(long, env = "REVIEWLAKE_MAX_ITER", default_value_t = train::KMeansParams::default().max_iter)]
    pub(crate) max_iter: usize,
    /// Feature transform before clustering: none (raw units, as the original), standard, log1p.
    #[arg(long, env = "REVIEWLAKE_TRANSFORM", default_value = "none")]
    pub(crate) transform: train::TransformKind,
    /// k-means implementation: native (default) or linfa (linfa-clustering's KMeans).
    #[arg(long, env = "REVIEWLAKE_ENGINE", default_value = "native")]
    pub(crate) engine: train::Engine,
    /// Threads for the k-means initialisations (0 = one per core).
    #[arg(long, env = "REVIEWLAKE_THREADS", default_value_t = train::KMeansParams::default().threads)]
    pub(crate) threads: usize,
}

#[derive(Debug, Args)]
pub(crate) struct ModelsArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    #[command(flatten)]
    pub(crate) models: ModelsLocationArgs,
    /// Output format: a table of models and versions, or each current model's whole document.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct PredictArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    #[command(flatten)]
    pub(crate) models: ModelsLocationArgs,
    /// The model (a cohort name such as model_1).
    pub(crate) model: String,
    /// Star rating, 1 to 5.
    #[arg(long)]
    pub(crate) rating: f64,
    /// Thumbs-up count.
    #[arg(long)]
    pub(crate) likes: f64,
    /// Review length in characters.
    #[arg(long, required_unless_present = "text", conflicts_with = "text")]
    pub(crate) length: Option<f64>,
    /// The review text (its length in characters is used).
    #[arg(long)]
    pub(crate) text: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    #[command(flatten)]
    pub(crate) models: ModelsLocationArgs,
    /// Address to listen on; loopback unless told otherwise (0.0.0.0:9999 to expose it).
    #[arg(long, env = "REVIEWLAKE_BIND", default_value = "127.0.0.1:9999")]
    pub(crate) bind: String,
    /// How often to look for new model versions (SIGHUP also reloads).
    #[arg(long, env = "REVIEWLAKE_RELOAD_INTERVAL", default_value = human(serve::server::ServeOptions::default().reload_interval), value_parser = parse_duration)]
    pub(crate) reload_interval: Duration,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "REVIEWLAKE_MAX_BODY_BYTES", default_value_t = serve::Limits::default().max_body_bytes)]
    pub(crate) max_body_bytes: usize,
    /// Most reviews in one batch request.
    #[arg(long, env = "REVIEWLAKE_MAX_BATCH", default_value_t = serve::Limits::default().max_batch)]
    pub(crate) max_batch: usize,
    /// Longest wait for a request's head (headers), idle keep-alive connections included.
    #[arg(long, env = "REVIEWLAKE_HEADER_TIMEOUT", default_value = human(serve::server::ServeOptions::default().header_timeout), value_parser = parse_duration)]
    pub(crate) header_timeout: Duration,
    /// Longest time from a request's head to its answer, body included (then 408).
    #[arg(long, env = "REVIEWLAKE_REQUEST_TIMEOUT", default_value = human(serve::Limits::default().request_timeout), value_parser = parse_duration)]
    pub(crate) request_timeout: Duration,
    /// Most connections open at once; one more is answered 503 and closed.
    #[arg(long, env = "REVIEWLAKE_MAX_CONNECTIONS", default_value_t = serve::server::ServeOptions::default().max_connections)]
    pub(crate) max_connections: usize,
    /// Longest wait for requests in flight at shutdown (SIGTERM, Ctrl-C).
    #[arg(long, env = "REVIEWLAKE_DRAIN_TIMEOUT", default_value = human(serve::server::ServeOptions::default().drain_timeout), value_parser = parse_duration)]
    pub(crate) drain_timeout: Duration,
    /// The views the console's SQL box sees.
    #[command(flatten)]
    pub(crate) sql: SqlDirArgs,
    /// Answer read-only SQL on `POST /sql` (the console's SQL box); off by default.
    #[arg(long, env = "REVIEWLAKE_ENABLE_SQL")]
    pub(crate) enable_sql: bool,
    /// Most rows one `POST /sql` answer carries.
    #[arg(long, env = "REVIEWLAKE_SQL_MAX_ROWS", default_value_t = serve::SqlLimits::default().max_rows)]
    pub(crate) sql_max_rows: usize,
    /// Longest a `POST /sql` query may run.
    #[arg(long, env = "REVIEWLAKE_SQL_TIMEOUT", default_value = human(serve::SqlLimits::default().timeout), value_parser = parse_duration)]
    pub(crate) sql_timeout: Duration,
    /// Most `POST /sql` queries at once.
    #[arg(long, env = "REVIEWLAKE_SQL_CONCURRENT", default_value_t = serve::SqlLimits::default().concurrent)]
    pub(crate) sql_concurrent: usize,
    /// A running ingest's status URL (`http://HOST:PORT/status` of `ingest --metrics-bind`), for
    /// the console's lag figures.
    #[arg(long, env = "REVIEWLAKE_INGEST_STATUS")]
    pub(crate) ingest_status: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Kafka brokers to use; without it, an in-process mock broker (librdkafka's mock cluster).
    #[arg(long, env = "REVIEWLAKE_DEMO_BROKERS")]
    pub(crate) brokers: Option<String>,
    /// Topic to produce to and ingest from.
    #[arg(long, default_value = "netflix-reviews")]
    pub(crate) topic: String,
    /// Synthetic reviews to generate (ignored with --csv).
    #[arg(long, default_value_t = 150_000)]
    pub(crate) rows: u64,
    /// Stream this CSV file instead of synthetic reviews.
    #[arg(long)]
    pub(crate) csv: Option<PathBuf>,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    #[command(flatten)]
    pub(crate) sql_dir: SqlDirArgs,
    /// Rows per cohort (default: the lake's rows / 3).
    #[arg(long)]
    pub(crate) cohort_rows: Option<u64>,
    /// Address the API listens on.
    #[arg(long, default_value = "127.0.0.1:9999")]
    pub(crate) bind: String,
}

#[derive(Debug, Args)]
pub(crate) struct CompactArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    /// Rows per merged file.
    #[arg(
        long,
        env = "REVIEWLAKE_COMPACT_TARGET_ROWS",
        default_value_t = lake::CompactOptions::default().target_rows
    )]
    pub(crate) target_rows: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum OutputFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct VacuumArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    /// Keep the files a snapshot this recent may need (e.g. 168h, 30m).
    #[arg(long, env = "REVIEWLAKE_VACUUM_RETAIN", default_value = human(lake::VacuumOptions::default().retain), value_parser = parse_duration)]
    pub(crate) retain: Duration,
    /// List what would be deleted; delete nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum TableArg {
    Reviews,
    Rejected,
}

impl TableArg {
    pub(crate) fn table(self) -> lake::Table {
        match self {
            TableArg::Reviews => lake::Table::Reviews,
            TableArg::Rejected => lake::Table::Rejected,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    /// The table.
    #[arg(long, value_enum, default_value_t = TableArg::Reviews)]
    pub(crate) table: TableArg,
    /// Show at most this many commits (newest first).
    #[arg(long)]
    pub(crate) limit: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

#[derive(Debug, Args)]
pub(crate) struct FilesArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    #[command(flatten)]
    pub(crate) at: TableVersionArgs,
    /// The table.
    #[arg(long, value_enum, default_value_t = TableArg::Reviews)]
    pub(crate) table: TableArg,
}

#[derive(Debug, Args)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
}

#[derive(Debug, Args)]
pub(crate) struct StatsArgs {
    #[command(flatten)]
    pub(crate) lake: LakeArgs,
    #[command(flatten)]
    pub(crate) at: TableVersionArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub(crate) format: OutputFormat,
}

/// Parses `30s`, `500ms`, `2m`, `168h` or a bare number of seconds.
/// A library's default duration as the flag's default text (`30s`, `168h`, `250ms`), so the value
/// is written once, in the library. Called once per flag when the command line is built; the
/// few bytes are leaked on purpose (clap keeps `&'static str` defaults).
fn human(d: Duration) -> &'static str {
    let ms = d.as_millis();
    let text = match ms {
        _ if ms.is_multiple_of(3_600_000) && ms > 0 => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) && ms > 0 => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1000) => format!("{}s", ms / 1000),
        _ => format!("{ms}ms"),
    };
    Box::leak(text.into_boxed_str())
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| s.split_at(i));
    let n: f64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration unit in {s:?} (use ms, s, m or h)"
            ));
        }
    };
    Ok(Duration::from_secs_f64(secs))
}

/// Installs the log subscriber (the only place that does).
pub(crate) fn init_logging(args: &LogArgs) {
    let filter = EnvFilter::try_new(&args.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every environment variable an argument reads, across all subcommands.
    fn env_names(cmd: &clap::Command, out: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                out.push(env.to_string_lossy().into_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            env_names(sub, out);
        }
    }

    /// The variables docker-compose.yml gives the reviewlake services must be ones the binary
    /// (or the S3 client it uses) reads; a typo would be silently ignored otherwise.
    #[test]
    fn docker_compose_publishes_on_loopback_pins_images_and_defaults_no_secret() {
        let compose = include_str!("../docker-compose.yml");
        let mut ports = 0;
        let mut in_ports = false;
        for line in compose.lines() {
            let t = line.trim();
            if t == "ports:" {
                in_ports = true;
                continue;
            }
            if in_ports && t.starts_with("- ") {
                ports += 1;
                assert!(
                    t.starts_with("- \"${REVIEWLAKE_PUBLISH_ADDR:-127.0.0.1}:"),
                    "a port published on every interface: {t}"
                );
                continue;
            }
            in_ports = false;
            if let Some(image) = t.strip_prefix("image: ") {
                let tag = image.rsplit_once(':').map(|(_, tag)| tag);
                assert!(
                    tag.is_some_and(|tag| tag != "latest"),
                    "an unpinned image: {image}"
                );
            }
            for secret in ["PASSWORD", "SECRET"] {
                if t.contains(secret) && t.contains("${") {
                    assert!(!t.contains(":-"), "a secret with a default value: {t}");
                }
            }
        }
        assert_eq!(
            ports, 7,
            "Kafka, MinIO and its console, serve, ingest's metrics, Prometheus, Grafana"
        );
        // serve reads the lake and the models, never Kafka.
        let serve = compose.split("\n  serve:\n").nth(1).unwrap();
        let serve = serve.split("\n  train:\n").next().unwrap();
        assert!(!serve.contains("kafka"), "serve waits for Kafka: {serve}");
    }

    #[test]
    fn docker_compose_sets_only_variables_the_binary_reads() {
        let mut known = Vec::new();
        env_names(&Cli::command(), &mut known);
        let s3 = [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_DEFAULT_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT",
            "AWS_ALLOW_HTTP",
        ];
        let compose = include_str!("../docker-compose.yml");
        let mut checked = 0;
        for line in compose.lines() {
            let Some((key, _)) = line.trim().split_once(':') else {
                continue;
            };
            let ours = key.starts_with("REVIEWLAKE_") || key == "KAFKA_BROKERS";
            if ours {
                assert!(
                    known.iter().any(|k| k == key),
                    "docker-compose.yml sets {key}, which no flag reads"
                );
                checked += 1;
            } else if key.starts_with("AWS_") {
                assert!(
                    s3.contains(&key),
                    "docker-compose.yml sets {key}, which the S3 client does not read"
                );
                checked += 1;
            }
        }
        assert!(
            checked >= 10,
            "found only {checked} variables: is the file's layout still the same?"
        );
    }

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert_eq!(
            parse_duration("168h").unwrap(),
            Duration::from_secs(168 * 3600)
        );
        assert!(parse_duration("3d").is_err());
        for d in ["30s", "250ms", "168h", "2m", "0s"] {
            assert_eq!(human(parse_duration(d).unwrap()), d);
        }
    }
}
