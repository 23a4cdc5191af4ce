//! Helpers for tests against the real services started by `scripts/services.sh up`.
#![allow(dead_code, unreachable_pub)]

use std::{
    collections::HashSet,
    process::{Child, Command, Output},
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use arrow::array::{
    Array, AsArray, RecordBatch,
    types::{Int32Type, Int64Type, TimestampMicrosecondType},
};
use futures::TryStreamExt;
use lake::{Lake, Snapshot, Table};
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use rdkafka::{
    ClientConfig,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    mocking::MockCluster,
};

/// What a test needs beyond the Rust toolchain; `scripts/services.sh up` provides all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// The Kafka-protocol test broker (tansu), `REVIEWLAKE_TEST_BROKERS`.
    Broker,
    /// The S3 test server, `REVIEWLAKE_TEST_S3`.
    S3,
    /// moto's server program, for tests that run a private S3 server.
    Moto,
    /// Delta's kernel for Python (delta-kernel-rust-sharing-wrapper) and pyarrow.
    KernelReader,
    /// strace, to trace system calls.
    Strace,
    /// Node.js, Debian's Chromium and `playwright-core` in `tests/console/node_modules`.
    Browser,
    /// A PromQL parser (PyPI `promql-parser`).
    Promql,
}

/// Whether `python3 -c "import <modules>"` succeeds.
fn python_has(modules: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Whether `what` is here. When it is not, the test is skipped: it says so on one line (written
/// to stderr directly, which libtest does not capture) and the caller returns. Under
/// `scripts/test.sh`, which sets `REVIEWLAKE_REQUIRE_SERVICES=1`, a missing service fails the
/// test instead, so the full suite can never pass by skipping.
pub fn have(what: Needs) -> bool {
    have_for(what, "")
}

/// [`have`], for a part of a test (`part` says which, e.g. "the S3 half of ").
pub fn have_for(what: Needs, part: &str) -> bool {
    static KERNEL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let here = match what {
        Needs::Broker => std::env::var_os("REVIEWLAKE_TEST_BROKERS").is_some(),
        Needs::S3 => std::env::var_os("REVIEWLAKE_TEST_S3").is_some(),
        Needs::Moto => on_path("moto_server"),
        Needs::Strace => on_path("strace"),
        Needs::KernelReader => {
            *KERNEL.get_or_init(|| python_has("delta_kernel_rust_sharing_wrapper, pyarrow"))
        }
        Needs::Promql => python_has("promql_parser"),
        Needs::Browser => {
            on_path("node")
                && std::path::Path::new(CHROMIUM).is_file()
                && std::path::Path::new(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/console/node_modules/playwright-core"
                ))
                .is_dir()
        }
    };
    if here {
        return true;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    assert!(
        std::env::var("REVIEWLAKE_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "{test} needs {what:?}, which is missing; scripts/test.sh requires every service"
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {part}{test}: needs {what:?} (run `scripts/services.sh up && . .services/env`)"
    );
    false
}

/// Debian's Chromium, which the browser tests drive.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The broker under test (`scripts/services.sh up` exports it).
pub fn brokers() -> String {
    std::env::var("REVIEWLAKE_TEST_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".into())
}

/// The S3 location under test, e.g. `s3://reviewlake-test`.
pub fn s3_root() -> String {
    std::env::var("REVIEWLAKE_TEST_S3").unwrap_or_else(|_| {
        panic!("REVIEWLAKE_TEST_S3 is not set: run `scripts/services.sh up && . .services/env` first, or scripts/test.sh")
    })
}

/// A name no other test (or earlier run) uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A producer to the test broker that sends each record as a batch of its own (see
/// [`reviewlake`] for why).
pub fn producer() -> rdkafka::producer::FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("linger.ms", "0")
        .set("batch.num.messages", "1")
        .create()
        .expect("producer")
}

/// Sends one record (either part may be absent) and waits for its acknowledgement.
pub async fn send(
    producer: &rdkafka::producer::FutureProducer,
    topic: &str,
    key: Option<&str>,
    payload: Option<&str>,
) {
    let mut record = rdkafka::producer::FutureRecord::<str, str>::to(topic);
    if let Some(k) = key {
        record = record.key(k);
    }
    if let Some(p) = payload {
        record = record.payload(p);
    }
    producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| e)
        .expect("sent");
}

/// Creates a topic on the test broker.
pub async fn create_topic(name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach the broker at {} ({e}): run scripts/services.sh up",
                brokers()
            )
        });
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
    }
}

/// The reviewlake binary with the broker set. Every record it produces is a batch of its own
/// (through the `REVIEWLAKE_KAFKA_*` settings), for two faults of the test broker, tansu 0.6:
/// it answers a fetch from inside a record batch with the next batch (or with nothing after the
/// topic's last batch), and it reports a partition's high watermark as the start of its last
/// batch. Real Kafka does neither; ingest restarts at any offset and checks the watermark.
pub fn reviewlake() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reviewlake"));
    cmd.env("KAFKA_BROKERS", brokers())
        .env("REVIEWLAKE_LOG", "warn")
        .env("REVIEWLAKE_KAFKA_LINGER_MS", "0")
        .env("REVIEWLAKE_KAFKA_BATCH_NUM_MESSAGES", "1");
    cmd
}

/// A local lake in a fresh temporary folder, which is removed when the returned guard drops.
pub fn temp_lake() -> (tempfile::TempDir, String, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("lake").to_str().unwrap().to_string();
    let lake = Lake::open(&location).unwrap();
    (dir, location, lake)
}

/// `reviewlake ingest` of `topic` on the test broker into `location` until the lake holds the
/// whole topic, in a fresh consumer group, with `extra` flags; asserts success.
pub fn ingest_to_end(topic: &str, location: &str, extra: &[&str]) -> Output {
    let group = unique("g");
    let mut args = ingest_args(topic, location, &group).to_vec();
    args.push("--exit-at-end");
    args.extend_from_slice(extra);
    run_ok(&args)
}

/// The arguments of `reviewlake ingest` of `topic` into `location` as a member of `group`.
pub fn ingest_args<'a>(topic: &'a str, location: &'a str, group: &'a str) -> [&'a str; 7] {
    [
        "ingest", "--topic", topic, "--lake", location, "--group", group,
    ]
}

/// The arguments of `reviewlake lake compact` of `location` into files of `target_rows`.
pub fn compact_args<'a>(location: &'a str, target_rows: &'a str) -> [&'a str; 6] {
    [
        "lake",
        "compact",
        "--lake",
        location,
        "--target-rows",
        target_rows,
    ]
}

/// `reviewlake produce` of `n` synthetic reviews from `seed` into `topic` on the test broker, with
/// `extra` flags; asserts success.
pub fn produce_synthetic(topic: &str, n: u64, seed: u64, extra: &[&str]) -> Output {
    let (n, seed) = (n.to_string(), seed.to_string());
    let mut args = vec![
        "produce",
        "--topic",
        topic,
        "--synthetic",
        &n,
        "--seed",
        &seed,
    ];
    args.extend_from_slice(extra);
    run_ok(&args)
}

/// Runs the binary and asserts success.
pub fn run_ok(args: &[&str]) -> Output {
    let out = reviewlake().args(args).output().expect("run reviewlake");
    assert!(
        out.status.success(),
        "reviewlake {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Asserts that a finished command succeeded, showing its stderr when it did not.
pub fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One row of the reviews table, as read back from the files.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub review_id: String,
    pub review_text: Option<String>,
    pub review_rating: i32,
    pub review_likes: i64,
    pub author_app_version: Option<String>,
    pub review_timestamp_us: i64,
    pub partition: i32,
    pub offset: i64,
}

/// One row of the rejected table.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRow {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub reason: String,
    pub field: Option<String>,
}

/// Reads every file of a table's latest snapshot.
pub async fn read_table(lake: &Lake, table: Table) -> Vec<RecordBatch> {
    let snapshot = Snapshot::load(lake).await.expect("load the snapshot");
    let mut batches = Vec::new();
    for f in snapshot.files(table) {
        let path = f.key.path().unwrap();
        let bytes = lake
            .store()
            .get(&path)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        for b in reader {
            batches.push(b.unwrap());
        }
    }
    batches
}

/// A batch's column `name` as a primitive array of `T`.
fn primitive<T: arrow::datatypes::ArrowPrimitiveType>(
    b: &RecordBatch,
    name: &str,
) -> arrow::array::PrimitiveArray<T> {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_primitive::<T>()
        .clone()
}

/// A batch's text column `name`.
fn text(b: &RecordBatch, name: &str) -> arrow::array::StringArray {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_string::<i32>()
        .clone()
}

/// A batch's binary column `name`.
fn binary(b: &RecordBatch, name: &str) -> arrow::array::BinaryArray {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_binary::<i32>()
        .clone()
}

/// Row `i` of `a`, `None` where it is null.
fn at<A: Array, T>(a: &A, i: usize, value: impl Fn(&A, usize) -> T) -> Option<T> {
    (!a.is_null(i)).then(|| value(a, i))
}

pub async fn read_reviews(lake: &Lake) -> Vec<Row> {
    let mut rows = Vec::new();
    for b in read_table(lake, Table::Reviews).await {
        let (id, review_text, version) = (
            text(&b, "review_id"),
            text(&b, "review_text"),
            text(&b, "author_app_version"),
        );
        let rating = primitive::<Int32Type>(&b, "review_rating");
        let likes = primitive::<Int64Type>(&b, "review_likes");
        let ts = primitive::<TimestampMicrosecondType>(&b, "review_timestamp");
        let part = primitive::<Int32Type>(&b, "kafka_partition");
        let off = primitive::<Int64Type>(&b, "kafka_offset");
        let string = |a: &arrow::array::StringArray, i: usize| a.value(i).to_string();
        for i in 0..b.num_rows() {
            rows.push(Row {
                review_id: id.value(i).to_string(),
                review_text: at(&review_text, i, string),
                review_rating: rating.value(i),
                review_likes: likes.value(i),
                author_app_version: at(&version, i, string),
                review_timestamp_us: ts.value(i),
                partition: part.value(i),
                offset: off.value(i),
            });
        }
    }
    rows
}

/// Each partition below `partitions` holds the offsets 0, 1, 2, ... once each, without a gap.
pub fn assert_offsets_contiguous(rows: &[Row], partitions: i32) {
    for p in 0..partitions {
        let mut offsets: Vec<i64> = rows
            .iter()
            .filter(|r| r.partition == p)
            .map(|r| r.offset)
            .collect();
        offsets.sort_unstable();
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(offsets, expected, "partition {p} offsets");
    }
}

pub async fn read_rejected(lake: &Lake) -> Vec<RejectedRow> {
    let mut rows = Vec::new();
    for b in read_table(lake, Table::Rejected).await {
        let part = primitive::<Int32Type>(&b, "kafka_partition");
        let off = primitive::<Int64Type>(&b, "kafka_offset");
        let (key, payload) = (binary(&b, "kafka_key"), binary(&b, "payload"));
        let (reason, field) = (text(&b, "reason"), text(&b, "field"));
        let bytes = |a: &arrow::array::BinaryArray, i: usize| a.value(i).to_vec();
        for i in 0..b.num_rows() {
            rows.push(RejectedRow {
                partition: part.value(i),
                offset: off.value(i),
                key: at(&key, i, bytes),
                payload: at(&payload, i, bytes),
                reason: reason.value(i).to_string(),
                field: at(&field, i, |a, i| a.value(i).to_string()),
            });
        }
    }
    rows
}

/// Parquet data files stored under the lake, committed or not.
pub async fn data_files(lake: &Lake) -> usize {
    let all: Vec<object_store::ObjectMeta> = lake.store().list(None).try_collect().await.unwrap();
    all.iter()
        .filter(|m| {
            let p = m.location.as_ref();
            p.ends_with(".parquet") && !p.contains("_delta_log")
        })
        .count()
}

/// The footer facts of every `reviews` file of the latest snapshot.
pub async fn reviews_infos(lake: &Lake) -> Vec<lake::FileInfo> {
    let snapshot = Snapshot::load(lake).await.unwrap();
    let mut infos = Vec::new();
    for f in snapshot.files(Table::Reviews) {
        infos.push(lake::read_file_info(lake, &f.key, f.size).await.unwrap());
    }
    infos
}

/// The lake locations every lake test runs against: a local folder and the S3 server.
pub fn lake_locations(dir: &std::path::Path, name: &str) -> Vec<String> {
    let mut locations = vec![dir.join(name).to_str().unwrap().to_string()];
    if have_for(Needs::S3, "the S3 half of ") {
        locations.push(format!("{}/{}", s3_root(), name));
    }
    locations
}

/// One review of the fixture lake: arrival index `i` decides everything.
#[derive(Clone)]
pub struct FixtureRow {
    pub id: String,
    pub partition: i32,
    pub offset: i64,
    pub kafka_ts_ms: i64,
    pub rating: i32,
    pub likes: i64,
    pub text: Option<String>,
}

impl FixtureRow {
    /// Appends this row, at its partition, offset and record timestamp, to `b`.
    pub fn append_to(&self, b: &mut lake::ReviewBuilder) {
        let review = lake::Review {
            review_id: self.id.as_str().into(),
            review_text: self.text.as_deref().map(Into::into),
            review_rating: self.rating,
            review_likes: self.likes,
            review_timestamp_us: self.kafka_ts_ms * 1000,
            ..Default::default()
        };
        let at = lake::SourcePosition {
            partition: self.partition,
            offset: self.offset,
            timestamp_ms: Some(self.kafka_ts_ms),
        };
        b.append(&review, &at);
    }
}

/// `n` reviews over two partitions, arriving alternately; row 7 has no text; texts mix
/// one-byte and two-byte characters so that character and byte lengths differ.
pub fn fixture_rows(n: usize) -> Vec<FixtureRow> {
    (0..n)
        .map(|i| FixtureRow {
            id: format!("review-{i:05}"),
            partition: (i % 2) as i32,
            offset: (i / 2) as i64,
            kafka_ts_ms: 1_700_000_000_000 + i as i64 * 1000,
            rating: (i % 5) as i32 + 1,
            likes: (i * 3) as i64,
            text: (i != 7).then(|| format!("{}{}", "x".repeat(i % 9), "é".repeat(i % 4))),
        })
        .collect()
}

/// Writes the fixture rows into `lake` as `per_file`-record batches per partition, and commits
/// them.
pub async fn write_fixture(lake: &Lake, topic: &str, rows: &[FixtureRow], per_file: usize) {
    use lake::{BatchWriter, RejectedBuilder, ReviewBuilder, WriteOptions};
    let writer = BatchWriter::new(lake.clone(), WriteOptions::default());
    let mut committer = lake::Committer::open(lake, topic).await.unwrap();
    let mut written = Vec::new();
    for p in 0..2 {
        committer.resume(p).await.unwrap();
        let mine: Vec<&FixtureRow> = rows.iter().filter(|r| r.partition == p).collect();
        for chunk in mine.chunks(per_file) {
            let mut b = ReviewBuilder::default();
            for r in chunk {
                r.append_to(&mut b);
            }
            let batch = b.finish(topic).unwrap();
            let empty = RejectedBuilder::default().finish(topic).unwrap();
            written.push(
                writer
                    .write(
                        topic,
                        p,
                        (chunk[0].offset, chunk[chunk.len() - 1].offset),
                        &batch,
                        Some(&empty),
                    )
                    .await
                    .unwrap(),
            );
        }
    }
    let done = committer.commit(written).await.unwrap();
    assert!(done.moved.is_empty());
}

/// Writes and commits `rows` (all of one partition, after what the lake holds of it) as one
/// `reviews` file the way files were written before the lake kept arrival order: rows in
/// reverse, and no order claim in the footer.
pub async fn write_file_without_order_claim(lake: &Lake, topic: &str, rows: &[&FixtureRow]) {
    use lake::{DataFile, FileKey, ReviewBuilder, Table};
    use object_store::ObjectStoreExt;
    use parquet::{
        arrow::ArrowWriter, file::metadata::KeyValue, file::properties::WriterProperties,
    };
    let mut b = ReviewBuilder::default();
    for r in rows.iter().rev() {
        r.append_to(&mut b);
    }
    let batch = b.finish(topic).unwrap();
    let (first, last) = (rows[0].offset, rows[rows.len() - 1].offset);
    let kv = |k: &str, v: i64| KeyValue::new(format!("reviewlake.{k}"), v.to_string());
    let props = WriterProperties::builder()
        .set_key_value_metadata(Some(vec![
            kv("first_offset", first),
            kv("last_offset", last),
        ]))
        .build();
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let key = FileKey::new(Table::Reviews, topic, rows[0].partition, first, last);
    let size = buf.len() as u64;
    lake.store()
        .put(&key.path().unwrap(), buf.into())
        .await
        .unwrap();
    let mut committer = lake::Committer::open(lake, topic).await.unwrap();
    committer.resume(rows[0].partition).await.unwrap();
    let file = DataFile {
        key,
        size,
        rows: rows.len(),
        stats: format!("{{\"numRecords\":{}}}", rows.len()),
    };
    let batch = lake::WrittenBatch {
        topic: topic.into(),
        partition: rows[0].partition,
        first,
        last,
        reviews: Some(file),
        rejected: None,
    };
    assert_eq!(
        committer.commit(vec![batch]).await.unwrap().batches.len(),
        1
    );
}

/// Runs `reviewlake sql QUERY --format json` and parses the rows.
pub fn sql_json(location: &str, query: &str) -> Vec<serde_json::Value> {
    let out = run_ok(&["sql", "--lake", location, "--format", "json", query]);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `reviewlake lake compact --target-rows TARGET` on `location`; returns its standard output.
pub fn compact(location: &str, target_rows: &str) -> String {
    let out = run_ok(&compact_args(location, target_rows));
    String::from_utf8(out.stdout).unwrap()
}

/// `(partition, kafka_offset)` of every row of `table` (`reviews` or `rejected`), as
/// `reviewlake sql` reads it, sorted.
pub fn sql_offsets(location: &str, table: &str) -> Vec<(i64, i64)> {
    let query = format!("SELECT \"partition\" AS p, kafka_offset AS o FROM {table} ORDER BY 1, 2");
    sql_json(location, &query)
        .iter()
        .map(|r| (r["p"].as_i64().unwrap(), r["o"].as_i64().unwrap()))
        .collect()
}

/// `(partition, kafka_offset)` of every row of the Delta table at `table_url`, sorted, as an
/// independent reader sees it: Delta's own kernel (delta-kernel-rs, through PyPI's
/// delta-kernel-rust-sharing-wrapper, which `scripts/services.sh` installs) into pyarrow, with
/// no reviewlake or delta-rs code.
pub fn kernel_offsets(table_url: &str) -> Vec<(i64, i64)> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/readers/delta_kernel_rows.py"
    );
    let out = Command::new("python3")
        .args([script, table_url])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "the kernel reader failed on {table_url} (scripts/services.sh up installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_i64().unwrap(), r[1].as_i64().unwrap()))
        .collect()
}

/// Both tables of the local lake at `location` read the same through `reviewlake sql` and
/// through Delta's kernel. The kernel reader is given no S3 settings, so S3 lakes are checked
/// through `reviewlake sql` alone.
pub fn assert_readers_agree(location: &str) {
    let lake = Lake::open(location).unwrap();
    if lake.url().scheme() != "file" || !have_for(Needs::KernelReader, "the Delta-kernel check of ")
    {
        return;
    }
    for (table, name) in [(Table::Reviews, "reviews"), (Table::Rejected, "rejected")] {
        let url = lake::table_url(&lake, table).to_string();
        assert_eq!(
            kernel_offsets(&url),
            sql_offsets(location, name),
            "{name} at {location}: Delta's kernel and reviewlake sql disagree"
        );
    }
}

/// [`sql_json`] on the snapshot at `--table-version VERSION`.
pub fn sql_json_at(location: &str, version: &str, query: &str) -> Vec<serde_json::Value> {
    let out = run_ok(&[
        "sql",
        "--lake",
        location,
        "--table-version",
        version,
        "--format",
        "json",
        query,
    ]);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `reviewlake predict MODEL --format json` for the raw features `x`, with `store` naming where
/// the models are (e.g. `["--lake", path]` or `["--models-location", path]`).
pub fn predict_json(store: &[&str], model: &str, x: [f64; 3]) -> serde_json::Value {
    let (rating, likes, length) = (x[0].to_string(), x[1].to_string(), x[2].to_string());
    let mut args = vec!["predict", model, "--format", "json"];
    args.extend_from_slice(store);
    args.extend(["--rating", &rating, "--likes", &likes, "--length", &length]);
    serde_json::from_slice(&run_ok(&args).stdout).unwrap()
}

/// A loopback address with a port the OS just reported free, for a server under test.
pub fn free_loopback_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// A minimal HTTP/1.1 POST of a JSON body over a plain socket: status and body.
pub fn http_post(addr: &str, path: &str, body: &str) -> (u16, String) {
    http_request(addr, "POST", path, body)
}

/// A minimal HTTP/1.1 GET over a plain socket: status and body.
pub fn http_get(addr: &str, path: &str) -> (u16, String) {
    http_request(addr, "GET", path, "")
}

fn http_request(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// Reads `child`'s stderr until a line contains `needle`; returns the lines read. Kills the
/// child and panics if none does within `timeout`.
pub fn wait_for_line(
    child: &mut std::process::Child,
    needle: &str,
    timeout: Duration,
) -> Vec<String> {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let deadline = std::time::Instant::now() + timeout;
    let mut lines = Vec::new();
    loop {
        let Ok(line) =
            rx.recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "no line with {needle:?} within {timeout:?}:\n{}",
                lines.join("\n")
            );
        };
        let done = line.contains(needle);
        lines.push(line);
        if done {
            return lines;
        }
    }
}

/// A child process killed when dropped, so that a failing test leaves none running (an orphan
/// keeps the test's output pipe open, and the run waits on it).
pub struct Running(Option<Child>);

impl Running {
    pub fn new(child: Child) -> Self {
        Self(Some(child))
    }

    pub fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("running")
    }

    /// Sends SIGTERM and asserts a clean exit.
    pub fn terminate(mut self) {
        terminate(self.0.take().expect("running"));
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends SIGTERM and asserts a clean exit.
pub fn terminate(mut child: std::process::Child) {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "exited with {status}");
}

pub fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

pub async fn committed_rows(lake: &Lake) -> i64 {
    Snapshot::load(lake)
        .await
        .unwrap()
        .files(Table::Reviews)
        .iter()
        .map(|f| f.rows)
        .sum()
}

/// Every `(partition, offset)` exactly once, through reviewlake sql.
pub fn assert_each_offset_once(location: &str, n: i64) {
    let rows = sql_json(
        location,
        "SELECT kafka_offset AS o FROM reviews UNION ALL SELECT kafka_offset AS o FROM rejected",
    );
    let offsets: Vec<i64> = rows.iter().map(|r| r["o"].as_i64().unwrap()).collect();
    let distinct: HashSet<i64> = offsets.iter().copied().collect();
    assert_eq!(offsets.len() as i64, n, "rows in the snapshot");
    assert_eq!(distinct.len() as i64, n, "each offset once");
    assert_eq!(distinct, (0..n).collect(), "no offset missing");
    assert_readers_agree(location);
}

/// A mock cluster with a topic of `partitions` holding `rows` synthetic reviews; keep the cluster
/// alive while it is used.
pub fn mock_topic(
    name: &str,
    partitions: i32,
    rows: i64,
) -> (
    MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
    String,
) {
    let mock = MockCluster::new(1).unwrap();
    mock.create_topic(name, partitions, 1).unwrap();
    run_ok(&[
        "produce",
        "--brokers",
        &mock.bootstrap_servers(),
        "--topic",
        name,
        "--synthetic",
        &rows.to_string(),
    ]);
    let brokers = mock.bootstrap_servers();
    (mock, brokers)
}
