//! `reviewlake lake compact` keeps every row exactly once: run to completion, killed midway,
//! two at once, and beside a live ingest; `lake vacuum` then deletes only what no snapshot needs.

mod common;

use std::time::{Duration, Instant};

use common::*;
use lake::{Lake, Snapshot, Table};

fn count_and_distinct(location: &str) -> (i64, i64) {
    let r = sql_json(
        location,
        "SELECT count(*) AS n, count(DISTINCT review_id) AS d FROM reviews",
    );
    (r[0]["n"].as_i64().unwrap(), r[0]["d"].as_i64().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn compaction_keeps_every_row_once_local_and_s3() {
    let dir = tempfile::tempdir().unwrap();
    for location in lake_locations(dir.path(), &unique("compact-lake")) {
        let lake = Lake::open(&location).unwrap();
        write_fixture(&lake, "netflix-reviews", &fixture_rows(200), 5).await;
        assert_eq!(count_and_distinct(&location), (200, 200));
        assert_eq!(data_files(&lake).await, 40);
        let out = compact(&location, "60");
        assert!(out.contains("merged 40 files into 4"), "{out}");
        assert_eq!(count_and_distinct(&location), (200, 200), "{location}");
        let snapshot = Snapshot::load(&lake).await.unwrap();
        assert_eq!(snapshot.files(Table::Reviews).len(), 4, "{location}");
        assert_eq!(data_files(&lake).await, 44, "compaction deletes nothing");
        // The version before the compaction still reads the small files, with the same rows.
        let before = (snapshot.versions().reviews.unwrap() - 1).to_string();
        let r = sql_json_at(&location, &before, "SELECT count(*) AS n FROM reviews");
        assert_eq!(r[0]["n"].as_i64(), Some(200));
        // A vacuum with the default retention keeps the inputs (a reader may still need them);
        // with none, it deletes exactly them.
        run_ok(&["lake", "vacuum", "--lake", &location]);
        assert_eq!(data_files(&lake).await, 44);
        run_ok(&["lake", "vacuum", "--lake", &location, "--retain", "0s"]);
        assert_eq!(data_files(&lake).await, 4, "inputs vacuumed at {location}");
        assert_eq!(count_and_distinct(&location), (200, 200), "{location}");
        // Offsets and order survive.
        let r = sql_json(
            &location,
            "SELECT min(kafka_offset) AS lo, max(kafka_offset) AS hi, count(DISTINCT kafka_offset) AS n FROM reviews WHERE \"partition\" = 1",
        );
        assert_eq!(
            (r[0]["lo"].as_i64(), r[0]["hi"].as_i64(), r[0]["n"].as_i64()),
            (Some(0), Some(99), Some(100))
        );
        // A second run has nothing to do.
        assert!(compact(&location, "60").contains("merged 0 files"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn compaction_killed_midway_leaves_a_correct_lake() {
    let (_dir, location, lake) = temp_lake();
    const N: usize = 20_000;
    write_fixture(&lake, "netflix-reviews", &fixture_rows(N), 10).await;
    for delay_ms in [20u64, 120, 300, 600] {
        let mut child = reviewlake()
            .args(compact_args(&location, "700"))
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().unwrap();
        assert_eq!(
            count_and_distinct(&location),
            (N as i64, N as i64),
            "after a kill at {delay_ms} ms"
        );
    }
    compact(&location, "700");
    assert_eq!(count_and_distinct(&location), (N as i64, N as i64));
    let snapshot = Snapshot::load(&lake).await.unwrap();
    let files = snapshot.files(Table::Reviews).len();
    assert!(files <= 2 * (N / 2 / 700 + 1), "{files} files");
    // The killed runs' outputs were never committed: vacuum deletes them, and the inputs.
    run_ok(&["lake", "vacuum", "--lake", &location, "--retain", "0s"]);
    assert_eq!(data_files(&lake).await, files);
    assert_eq!(count_and_distinct(&location), (N as i64, N as i64));
    assert_readers_agree(&location);
}

/// Two compactions at once: one commits, the other meets its commit, plans again on the new
/// snapshot and merges what is left. No row is ever visible twice, and no two committed files
/// overlap.
#[tokio::test(flavor = "multi_thread")]
async fn two_compactions_at_once_never_overlap_local_and_s3() {
    let dir = tempfile::tempdir().unwrap();
    for location in lake_locations(dir.path(), &unique("twice-lake")) {
        let lake = Lake::open(&location).unwrap();
        const N: usize = 4_000;
        write_fixture(&lake, "netflix-reviews", &fixture_rows(N), 10).await;
        let spawn = |target: &str| reviewlake().args(compact_args(&location, target)).output();
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| spawn("300"));
            let b = s.spawn(|| spawn("450"));
            (a.join().unwrap().unwrap(), b.join().unwrap().unwrap())
        });
        for out in [&a, &b] {
            assert!(
                out.status.success(),
                "{location}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(
            count_and_distinct(&location),
            (N as i64, N as i64),
            "{location}"
        );
        let snapshot = Snapshot::load(&lake).await.unwrap();
        for p in snapshot.partitions() {
            let ranges: Vec<(i64, i64)> = p
                .files(Table::Reviews)
                .iter()
                .map(|f| (f.key.first_offset, f.key.last_offset))
                .collect();
            for w in ranges.windows(2) {
                assert!(w[0].1 < w[1].0, "{location}: overlapping files {ranges:?}");
            }
        }
        assert_readers_agree(&location);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ingest_beside_and_after_compaction_duplicates_nothing() {
    if !have(Needs::Broker) {
        return;
    }
    let (_dir, location, lake) = temp_lake();
    let topic = unique("compact-ingest");
    create_topic(&topic, 2).await;
    produce_synthetic(&topic, 3000, 1, &[]);
    let group = unique("g");
    let ingest = Running::new(
        reviewlake()
            .args(ingest_args(&topic, &location, &group))
            .args(["--batch-rows", "100", "--max-latency", "200ms"])
            .spawn()
            .unwrap(),
    );
    assert_eq!(ingest_while_compacting(&location, 3000).await, 3000);
    // More data while compaction keeps running beside the live ingest.
    produce_synthetic(&topic, 2000, 2, &[]);
    assert_eq!(ingest_while_compacting(&location, 5000).await, 5000);
    ingest.terminate();
    compact(&location, "400");
    // A restarted ingest after compaction resumes at the end: nothing new, nothing twice.
    let mut args = ingest_args(&topic, &location, &group).to_vec();
    args.push("--exit-at-end");
    run_ok(&args);
    let rows = read_reviews(&lake).await;
    assert_eq!(rows.len(), 5000);
    let ids: std::collections::HashSet<_> = rows.iter().map(|r| &r.review_id).collect();
    assert_eq!(ids.len(), 5000);
    assert_offsets_contiguous(&rows, 2);
    assert_readers_agree(&location);
}

/// Compacts again and again until the lake holds `n` rows.
async fn ingest_while_compacting(location: &str, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let rows = read_reviews(&Lake::open(location).unwrap()).await.len();
        if rows >= n {
            return rows;
        }
        assert!(Instant::now() < deadline, "ingest stalled at {rows} rows");
        compact(location, "400");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A file from before the lake kept arrival order (rows out of order, no footer claim) is
/// rewritten in order by compaction even when it has nothing to merge with: same offset range,
/// same rows, and the claim that lets the cohorts merge instead of sort. A second run finds nothing to do.
#[tokio::test(flavor = "multi_thread")]
async fn compaction_rewrites_a_lone_file_without_the_order_claim_local_and_s3() {
    let dir = tempfile::tempdir().unwrap();
    for location in lake_locations(dir.path(), &unique("order-lake")) {
        let lake = Lake::open(&location).unwrap();
        let rows = fixture_rows(10);
        let mine: Vec<&FixtureRow> = rows.iter().filter(|r| r.partition == 0).collect();
        write_file_without_order_claim(&lake, "netflix-reviews", &mine).await;
        let infos = reviews_infos(&lake).await;
        assert_eq!(infos.len(), 1);
        assert!(!infos[0].arrival_order);
        let stored: Vec<i64> = read_reviews(&lake).await.iter().map(|r| r.offset).collect();
        assert_eq!(stored, [4, 3, 2, 1, 0]);

        let out = run_ok(&["lake", "compact", "--lake", &location]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("merged 1 files into 1"), "{stdout}");
        let rewritten = reviews_infos(&lake).await;
        assert_eq!(rewritten.len(), 1, "{location}");
        let range = |i: &lake::FileInfo| (i.key.first_offset, i.key.last_offset);
        assert_eq!(range(&rewritten[0]), range(&infos[0]), "same offset range");
        assert!(rewritten[0].arrival_order, "{location}");
        let stored: Vec<i64> = read_reviews(&lake).await.iter().map(|r| r.offset).collect();
        assert_eq!(
            stored,
            [0, 1, 2, 3, 4],
            "rows back in arrival order, each once"
        );

        let again = run_ok(&["lake", "compact", "--lake", &location]);
        let stdout = String::from_utf8_lossy(&again.stdout);
        assert!(stdout.contains("merged 0 files into 0"), "{stdout}");
    }
}

/// The rows of `stats_parsed.numRecords` of the adds in a table's latest checkpoint (`None` for
/// an add without the struct), and the columns its `stats_parsed.minValues` has a slot for; read
/// with the Parquet crate alone.
fn checkpoint_num_records(table_dir: &std::path::Path) -> (Vec<Option<i64>>, Vec<String>) {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::Int64Type;
    let log = table_dir.join("_delta_log");
    let hint: serde_json::Value =
        serde_json::from_slice(&std::fs::read(log.join("_last_checkpoint")).unwrap()).unwrap();
    let version = hint["version"].as_u64().unwrap();
    let file = std::fs::File::open(log.join(format!("{version:020}.checkpoint.parquet"))).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let (mut out, mut columns) = (Vec::new(), Vec::new());
    for batch in reader {
        let batch = batch.unwrap();
        let add = batch.column_by_name("add").unwrap().as_struct();
        let Some(stats) = add.column_by_name("stats_parsed") else {
            out.extend((0..add.len()).filter(|&i| add.is_valid(i)).map(|_| None));
            continue;
        };
        let stats = stats.as_struct();
        if let Some(min) = stats.column_by_name("minValues") {
            let fields = min.as_struct().fields().iter();
            columns = fields.map(|f| f.name().clone()).collect();
        }
        let n = stats.column_by_name("numRecords").unwrap();
        let n = n.as_primitive::<Int64Type>();
        out.extend(
            (0..add.len())
                .filter(|&i| add.is_valid(i))
                .map(|i| (stats.is_valid(i) && n.is_valid(i)).then(|| n.value(i))),
        );
    }
    (out, columns)
}

/// Checkpoints carry each file's statistics as a Parquet struct beside the JSON string, so that a
/// reader loading one parses no JSON per file or tombstone, and only for the columns that have
/// statistics (`delta.dataSkippingStatsColumns`: no slot for free text). A table made by an older
/// reviewlake, without the properties that ask for this, gains them with its next compaction.
#[tokio::test(flavor = "multi_thread")]
async fn checkpoints_carry_the_statistics_as_a_struct_after_compaction_of_an_older_table() {
    let (dir, location, lake) = temp_lake();
    write_fixture(&lake, "netflix-reviews", &fixture_rows(200), 5).await;
    // What an older reviewlake's first commit said: neither property.
    let table_dir = dir.path().join("lake").join("reviews");
    let first = table_dir.join("_delta_log").join(format!("{:020}.json", 0));
    let mut removed = Vec::new();
    let older: Vec<String> = std::fs::read_to_string(&first)
        .unwrap()
        .lines()
        .map(|line| {
            let mut action: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(config) = action
                .pointer_mut("/metaData/configuration")
                .and_then(serde_json::Value::as_object_mut)
            {
                for key in [
                    "delta.checkpoint.writeStatsAsStruct",
                    "delta.dataSkippingStatsColumns",
                ] {
                    removed.extend(config.remove(key));
                }
            }
            action.to_string()
        })
        .collect();
    assert_eq!(
        removed,
        [
            serde_json::json!("true"),
            serde_json::json!(
                "review_length,review_rating,review_likes,review_timestamp,kafka_partition,kafka_offset,kafka_timestamp"
            )
        ],
        "the first commit sets both properties"
    );
    std::fs::write(&first, older.join("\n") + "\n").unwrap();

    let out = compact(&location, "60");
    assert!(out.contains("merged 40 files into 4"), "{out}");
    assert_eq!(count_and_distinct(&location), (200, 200));
    let (mut rows, columns) = checkpoint_num_records(&table_dir);
    rows.sort();
    assert_eq!(rows, [Some(40), Some(40), Some(60), Some(60)]);
    assert_eq!(
        columns,
        [
            "review_length",
            "review_rating",
            "review_likes",
            "review_timestamp",
            "kafka_partition",
            "kafka_offset",
            "kafka_timestamp"
        ]
    );
}

/// The row groups of a table's latest checkpoint, each as (rows, `add` rows, `remove` rows),
/// from the Parquet footer's statistics: what a reader deciding which row groups to read sees.
fn checkpoint_row_groups(table_dir: &std::path::Path) -> Vec<(i64, i64, i64)> {
    use parquet::file::reader::FileReader;
    let log = table_dir.join("_delta_log");
    let hint: serde_json::Value =
        serde_json::from_slice(&std::fs::read(log.join("_last_checkpoint")).unwrap()).unwrap();
    let version = hint["version"].as_u64().unwrap();
    let file = std::fs::File::open(log.join(format!("{version:020}.checkpoint.parquet"))).unwrap();
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(file).unwrap();
    let present = |group: &parquet::file::metadata::RowGroupMetaData, column: &str| {
        let chunk = group
            .columns()
            .iter()
            .find(|c| c.column_path().string() == column)
            .unwrap_or_else(|| panic!("no {column} in the checkpoint"));
        let nulls = chunk
            .statistics()
            .and_then(|s| s.null_count_opt())
            .unwrap_or_else(|| panic!("no null count for {column}"));
        group.num_rows() - nulls as i64
    };
    reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| {
            (
                g.num_rows(),
                present(g, "add.path"),
                present(g, "remove.path"),
            )
        })
        .collect()
}

/// A compaction's checkpoint holds a tombstone for each merged file, kept for a week; the
/// tombstones sit in row groups of their own, which a reader loading the table's files skips by
/// their statistics. Every engine still reads the same rows.
#[tokio::test(flavor = "multi_thread")]
async fn a_checkpoint_keeps_its_tombstones_apart_from_the_live_files() {
    let (dir, location, lake) = temp_lake();
    write_fixture(&lake, "netflix-reviews", &fixture_rows(200), 5).await;
    let out = compact(&location, "60");
    assert!(out.contains("merged 40 files into 4"), "{out}");
    let groups = checkpoint_row_groups(&dir.path().join("lake").join("reviews"));
    let live: Vec<_> = groups.iter().filter(|g| g.1 > 0).collect();
    let tombstones: Vec<_> = groups.iter().filter(|g| g.2 > 0).collect();
    assert_eq!(live.len(), 1, "{groups:?}");
    assert_eq!(live[0].1, 4, "the four merged files: {groups:?}");
    assert_eq!(
        live[0].2, 0,
        "no tombstone beside the live files: {groups:?}"
    );
    assert!(
        tombstones.iter().all(|g| g.1 == 0 && g.2 == g.0),
        "tombstone row groups hold only tombstones: {groups:?}"
    );
    assert_eq!(
        tombstones.iter().map(|g| g.2).sum::<i64>(),
        40,
        "{groups:?}"
    );
    assert_eq!(count_and_distinct(&location), (200, 200));
    assert_readers_agree(&location);
}
