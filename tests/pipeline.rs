//! Produce to the real broker, ingest into a local and an S3 lake, read every file back.

mod common;

use std::collections::{HashMap, HashSet};

use common::*;
use ingest::{ReviewRecord, source::SyntheticSource};
use lake::Lake;

fn expected(n: u64, seed: u64) -> HashMap<String, ReviewRecord> {
    SyntheticSource::new(n, seed)
        .map(|r| r.unwrap())
        .map(|r| (r.review_id.clone(), r))
        .collect()
}

fn ts_us(s: &str) -> i64 {
    chrono_like(s)
}

/// `YYYY-MM-DD HH:MM:SS` to microseconds, independently of the crate under test.
fn chrono_like(s: &str) -> i64 {
    let n = |a: usize, b: usize| s[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    let (hh, mm, ss) = (n(11, 13), n(14, 16), n(17, 19));
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400) + hh * 3600 + mm * 60 + ss) * 1_000_000
}

fn assert_rows_match(rows: &[Row], want: &HashMap<String, ReviewRecord>) {
    assert_eq!(rows.len(), want.len(), "row count");
    let ids: HashSet<&str> = rows.iter().map(|r| r.review_id.as_str()).collect();
    assert_eq!(ids.len(), rows.len(), "duplicate review_id in the lake");
    for row in rows {
        let w = &want[&row.review_id];
        assert_eq!(
            row.review_rating.to_string(),
            w.review_rating,
            "{}",
            row.review_id
        );
        assert_eq!(
            row.review_likes.to_string(),
            w.review_likes,
            "{}",
            row.review_id
        );
        assert_eq!(row.review_text.as_deref(), Some(w.review_text.as_str()));
        let version = (!w.author_app_version.is_empty()).then_some(w.author_app_version.as_str());
        assert_eq!(row.author_app_version.as_deref(), version);
        assert_eq!(row.review_timestamp_us, ts_us(&w.review_timestamp));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn produce_then_ingest_lands_each_row_once_local_and_s3() {
    if !have(Needs::Broker) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("pipeline");
    create_topic(&topic, 1).await;
    produce_synthetic(&topic, 2000, 11, &[]);
    for location in lake_locations(dir.path(), &unique("lake")) {
        ingest_to_end(&topic, &location, &[]);
        let lake = Lake::open(&location).unwrap();
        let rows = read_reviews(&lake).await;
        assert_rows_match(&rows, &expected(2000, 11));
        assert_offsets_contiguous(&rows, 1);
        assert_eq!(
            data_files(&lake).await,
            4,
            "2000 rows in 500-row files at {location}"
        );
        assert!(read_rejected(&lake).await.is_empty());

        // Running again in a new group reads the whole topic but adds nothing: the lake says
        // everything is already consumed.
        ingest_to_end(&topic, &location, &[]);
        assert_eq!(read_reviews(&lake).await.len(), 2000, "{location}");
        assert_eq!(
            data_files(&lake).await,
            4,
            "nothing written again at {location}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn string_values_from_the_original_producer_are_accepted() {
    if !have(Needs::Broker) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("strings");
    create_topic(&topic, 1).await;
    produce_synthetic(&topic, 700, 5, &["--string-values"]);
    let location = dir.path().join("lake");
    let location = location.to_str().unwrap();
    ingest_to_end(&topic, location, &[]);
    let rows = read_reviews(&Lake::open(location).unwrap()).await;
    assert_rows_match(&rows, &expected(700, 5));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_ingest_processes_in_one_group_share_a_lake() {
    if !have(Needs::Broker) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("shared");
    create_topic(&topic, 3).await;
    produce_synthetic(&topic, 3000, 3, &[]);
    let location = dir.path().join("lake");
    let location = location.to_str().unwrap().to_string();
    let group = unique("g");
    let spawn = || {
        Running::new(
            reviewlake()
                .args(ingest_args(&topic, &location, &group))
                .args(["--batch-rows", "200", "--max-latency", "1s"])
                .spawn()
                .unwrap(),
        )
    };
    let members = [spawn(), spawn()];
    let lake = Lake::open(&location).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while read_reviews(&lake).await.len() < 3000 {
        assert!(
            std::time::Instant::now() < deadline,
            "ingest did not finish in time"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // Each exits cleanly on SIGTERM.
    for member in members {
        member.terminate();
    }
    let rows = read_reviews(&lake).await;
    assert_rows_match(&rows, &expected(3000, 3));
    assert_offsets_contiguous(&rows, 3);
}

/// A running ingest commits every written file within its commit interval, also the files whose
/// writes were still under way when the commit before them started and after which no more come
/// (here: 10 full batches arriving at once, committed 4 at a time; the last 2 wait). On
/// librdkafka's mock cluster, which hands the records over fast enough for the writes to overlap.
#[tokio::test(flavor = "multi_thread")]
async fn a_running_ingest_commits_its_last_files_within_the_interval() {
    const N: i64 = 1_000;
    let topic = unique("tail");
    let (_mock, brokers) = mock_topic(&topic, 1, N);
    let (_dir, location, lake) = temp_lake();
    let group = unique("g");
    let ingest = Running::new(
        reviewlake()
            .args(ingest_args(&topic, &location, &group))
            .args(["--brokers", &brokers, "--batch-rows", "100"])
            .args(["--commit-files", "4", "--commit-interval", "1s"])
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let committed = committed_rows(&lake).await;
        if committed == N {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{committed} of {N} records committed after 30 s of a 1 s commit interval"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    // Only now stop it: its exit commits what it holds, which would hide a file left waiting.
    ingest.terminate();
    assert_each_offset_once(&location, N);
}

#[tokio::test(flavor = "multi_thread")]
async fn lake_stats_reports_files_rows_and_offsets() {
    if !have(Needs::Broker) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let topic = unique("stats");
    create_topic(&topic, 1).await;
    run_ok(&["produce", "--topic", &topic, "--synthetic", "1200"]);
    let location = dir.path().join("lake");
    let location = location.to_str().unwrap();
    ingest_to_end(&topic, location, &[]);
    let out = run_ok(&["lake", "stats", "--lake", location, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = &doc["partitions"][0];
    assert_eq!(p["topic"], topic.as_str());
    assert_eq!(p["files"], 3);
    assert_eq!(p["rows"], 1200);
    assert_eq!(p["first_offset"], 0);
    assert_eq!(p["last_offset"], 1199);
    assert_eq!(doc["total"]["rejected"], 0);
    let table = run_ok(&["lake", "stats", "--lake", location]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("0..=1199"), "{text}");

    // The history names every commit; ingest's add up to the rows.
    let out = run_ok(&["lake", "history", "--lake", location, "--format", "json"]);
    let history: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(history.last().unwrap()["operation"], "CREATE TABLE");
    assert_eq!(history.last().unwrap()["version"], 0);
    let written: u64 = history
        .iter()
        .filter(|c| c["operation"] == "WRITE")
        .map(|c| c["rows_added"].as_u64().unwrap())
        .sum();
    assert_eq!(written, 1200);
    assert_eq!(history[0]["version"], doc["reviews_version"]);
    // `lake files` lists the snapshot's data files, which exist.
    let out = run_ok(&["lake", "files", "--lake", location]);
    let files: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(files.len(), 3);
    for f in files {
        assert!(std::path::Path::new(f).is_file(), "{f}");
    }
}
