//! `reviewlake sql` and `reviewlake cohorts` on a fixture lake with known contents, local and S3.

mod common;

use common::*;
use lake::Lake;

const ROWS: usize = 30;

async fn fixture(location: &str) {
    write_fixture(
        &Lake::open(location).unwrap(),
        "netflix-reviews",
        &fixture_rows(ROWS),
        5,
    )
    .await;
}

fn locations(dir: &std::path::Path) -> Vec<String> {
    lake_locations(dir, &unique("sql-lake"))
}

/// `reviewlake cohorts --dump NAME --format csv` over 10-row cohorts.
fn dump_csv(location: &str, name: &str) -> String {
    let out = run_ok(&[
        "cohorts",
        "--lake",
        location,
        "--cohort-rows",
        "10",
        "--dump",
        name,
        "--format",
        "csv",
    ]);
    String::from_utf8(out.stdout).unwrap()
}

/// What a dump of a cohort holding `rows` prints: the rows with a text, length in characters.
fn expected_csv<'a>(rows: impl IntoIterator<Item = &'a FixtureRow>) -> String {
    std::iter::once("rating,likes,length".to_string())
        .chain(rows.into_iter().filter_map(|r| {
            let text = r.text.as_ref()?;
            Some(format!("{},{},{}", r.rating, r.likes, text.chars().count()))
        }))
        .map(|l| l + "\n")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn group_by_rating_and_partition_columns_local_and_s3() {
    let dir = tempfile::tempdir().unwrap();
    for location in locations(dir.path()) {
        fixture(&location).await;
        let rows = sql_json(
            &location,
            "SELECT review_rating, count(*) AS n FROM reviews GROUP BY 1 ORDER BY 1",
        );
        let got: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r["review_rating"].as_i64().unwrap(),
                    r["n"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, [(1, 6), (2, 6), (3, 6), (4, 6), (5, 6)], "{location}");

        let parts = sql_json(
            &location,
            "SELECT topic, \"partition\", count(*) AS n, max(kafka_offset) AS last FROM reviews GROUP BY 1, 2 ORDER BY 2",
        );
        assert_eq!(parts.len(), 2);
        for (p, row) in parts.iter().enumerate() {
            assert_eq!(row["topic"], "netflix-reviews");
            assert_eq!(row["partition"], p as i64);
            assert_eq!(row["n"], 15);
            assert_eq!(row["last"], 14);
        }
        let rejected = sql_json(&location, "SELECT count(*) AS n FROM rejected");
        assert_eq!(rejected[0]["n"], 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cohorts_are_consecutive_slices_in_arrival_order_local_and_s3() {
    let dir = tempfile::tempdir().unwrap();
    let rows = fixture_rows(ROWS);
    for location in locations(dir.path()) {
        fixture(&location).await;
        let out = run_ok(&[
            "cohorts",
            "--lake",
            &location,
            "--cohort-rows",
            "10",
            "--format",
            "json",
        ]);
        let doc: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc.len(), 3);
        for (k, cohort) in doc.iter().enumerate() {
            // Independent expectation: arrival index k*10..k*10+10.
            let slice = &rows[k * 10..k * 10 + 10];
            let usable: Vec<&FixtureRow> = slice.iter().filter(|r| r.text.is_some()).collect();
            assert_eq!(cohort["name"], format!("model_{}", k + 1));
            assert_eq!(cohort["rows"], 10, "{location}");
            assert_eq!(cohort["excluded"], 10 - usable.len() as i64, "{location}");
            let lengths: Vec<f64> = usable
                .iter()
                .map(|r| r.text.as_ref().unwrap().chars().count() as f64)
                .collect();
            let max_len = lengths.iter().cloned().fold(f64::MIN, f64::max);
            assert_eq!(
                cohort["features"]["length"]["max"], max_len,
                "characters, not bytes"
            );
            let likes: Vec<f64> = usable.iter().map(|r| r.likes as f64).collect();
            let mean = likes.iter().sum::<f64>() / likes.len() as f64;
            let got = cohort["features"]["likes"]["mean"].as_f64().unwrap();
            assert!((got - mean).abs() < 1e-9, "{got} vs {mean}");
        }

        let text = dump_csv(&location, "model_1");
        let expected = expected_csv(&rows[..10]);
        assert_eq!(text, expected, "{location}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cohort_file_added_by_the_user_is_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("lake").to_str().unwrap().to_string();
    fixture(&location).await;
    let sql_dir = dir.path().join("sql");
    std::fs::create_dir_all(sql_dir.join("cohorts")).unwrap();
    std::fs::write(
        sql_dir.join("cohorts/model_4.sql"),
        "SELECT review_rating AS rating, review_likes AS likes, character_length(review_text) AS length FROM reviews WHERE review_rating = 5",
    )
    .unwrap();
    let out = run_ok(&[
        "cohorts",
        "--lake",
        &location,
        "--sql-dir",
        sql_dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let doc: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc.len(),
        1,
        "the folder's cohorts replace the built-in ones"
    );
    assert_eq!(doc[0]["name"], "model_4");
    assert_eq!(doc[0]["rows"], 6);
}

#[test]
fn write_statements_are_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_path_buf();
    for statement in [
        "CREATE TABLE t AS SELECT 1",
        "INSERT INTO reviews SELECT * FROM reviews",
        "DROP TABLE reviews",
        "COPY reviews TO '/tmp/x.parquet'",
        "CREATE VIEW v AS SELECT 1",
    ] {
        let out = reviewlake()
            .args(["sql", "--lake", location.to_str().unwrap(), statement])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{statement} must fail");
        assert!(
            stderr.contains("refused") && stderr.contains("read-only"),
            "{statement}: {stderr}"
        );
    }
}

#[test]
fn query_errors_are_plain_and_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_path_buf();
    let out = reviewlake()
        .args([
            "sql",
            "--lake",
            location.to_str().unwrap(),
            "SELECT nope FROM reviews",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.starts_with("error:") && stderr.contains("nope"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn an_empty_lake_is_an_empty_table() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("empty");
    std::fs::create_dir(&location).unwrap();
    let rows = sql_json(
        location.to_str().unwrap(),
        "SELECT count(*) AS n FROM reviews",
    );
    assert_eq!(rows[0]["n"], 0);
    let out = run_ok(&[
        "sql",
        "--lake",
        location.to_str().unwrap(),
        "--format",
        "csv",
        "SELECT review_id FROM reviews",
    ]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "review_id\n");
}

/// A mistyped `--lake` is refused by every command that only reads or maintains a lake, and
/// leaves no folder behind (it used to be created, and read as an empty lake).
#[test]
fn a_missing_local_lake_is_refused_and_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo");
    let lake = missing.to_str().unwrap();
    for args in [
        &["sql", "--lake", lake, "SELECT count(*) FROM reviews"][..],
        &["cohorts", "--lake", lake],
        &["lake", "stats", "--lake", lake],
        &["lake", "compact", "--lake", lake],
    ] {
        let out = reviewlake().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("no lake here") && stderr.contains("typo"),
            "{args:?}: {stderr}"
        );
        assert!(!missing.exists(), "{args:?} created {}", missing.display());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_script_file_runs_every_statement_and_views_load() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("lake").to_str().unwrap().to_string();
    fixture(&location).await;
    let script = dir.path().join("q.sql");
    std::fs::write(&script, "-- two statements\nSELECT count(*) AS a FROM reviews;\nSELECT sum(reviews) AS b FROM reviews_daily;\n").unwrap();
    let out = run_ok(&[
        "sql",
        "--lake",
        &location,
        "-f",
        script.to_str().unwrap(),
        "--format",
        "ndjson",
        "--timing",
    ]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"a\":30}\n{\"b\":30}\n"
    );
    // `--timing`: one wall time per statement, on stderr.
    let stderr = String::from_utf8(out.stderr).unwrap();
    let times: Vec<f64> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("time: ")?.strip_suffix(" ms")?.parse().ok())
        .collect();
    assert_eq!(times.len(), 2, "{stderr}");
    assert!(times.iter().all(|t| *t > 0.0), "{stderr}");
}

/// Fixture rows whose timestamps are a permutation of their offsets' order (7 and 30 are
/// coprime): a partition's timestamps go backwards, within files and across them.
fn rows_with_timestamps_going_backwards() -> Vec<FixtureRow> {
    let mut rows = fixture_rows(ROWS);
    for (i, r) in rows.iter_mut().enumerate() {
        r.kafka_ts_ms = 1_700_000_000_000 + ((i * 7) % ROWS) as i64 * 1000;
    }
    rows
}

/// Asserts that the three cohorts of `location` are the consecutive slices of `rows` in arrival
/// order, before and after `lake compact`.
async fn assert_cohorts_follow_arrival_order(lake: &Lake, location: &str, rows: &[FixtureRow]) {
    let mut arrival: Vec<&FixtureRow> = rows.iter().collect();
    arrival.sort_by_key(|r| (r.kafka_ts_ms, r.partition, r.offset));
    let expected = |k: usize| expected_csv(arrival[k * 10..k * 10 + 10].iter().copied());
    let dump = |k: usize| dump_csv(location, &format!("model_{}", k + 1));
    for k in 0..3 {
        assert_eq!(dump(k), expected(k), "model_{} before compaction", k + 1);
    }
    run_ok(&["lake", "compact", "--lake", location]);
    let snapshot = lake::Snapshot::load(lake).await.unwrap();
    assert_eq!(
        snapshot.files(lake::Table::Reviews).len(),
        2,
        "one merged file per partition"
    );
    assert!(
        snapshot.reviews_in_arrival_order(),
        "compaction leaves every file in order and declares it: the cohorts below are planned from the log"
    );
    for k in 0..3 {
        assert_eq!(dump(k), expected(k), "model_{} after compaction", k + 1);
    }
}

/// The cohorts slice the stream by (timestamp, partition, offset) even when a partition's
/// timestamps go backwards, planned from the Delta log (ingest's tables declare their files in
/// arrival order); after compaction the slices are the same.
#[tokio::test(flavor = "multi_thread")]
async fn cohorts_follow_arrival_order_when_timestamps_go_backwards() {
    let (_dir, location, lake) = temp_lake();
    let rows = rows_with_timestamps_going_backwards();
    write_fixture(&lake, "netflix-reviews", &rows, 5).await;
    assert!(
        lake::Snapshot::load(&lake)
            .await
            .unwrap()
            .reviews_in_arrival_order(),
        "ingest's tables declare their files' order"
    );
    assert_cohorts_follow_arrival_order(&lake, &location, &rows).await;
}

/// The same when one file predates the lake's arrival order (unsorted, no claim in its footer),
/// planned from the footers: such a file can only be in tables made by `lake migrate` from old
/// files, which do not declare their files' order, and the tables here are made so. Compaction
/// rewrites it in order, and the table then declares its order.
#[tokio::test(flavor = "multi_thread")]
async fn cohorts_follow_arrival_order_with_an_unsorted_file_of_a_migrated_lake() {
    let (_dir, location, lake) = temp_lake();
    lake::migrate(&lake).await.unwrap();
    let topic = "netflix-reviews";
    let rows = rows_with_timestamps_going_backwards();
    write_fixture(&lake, topic, &rows[..20], 5).await;
    let tail_0: Vec<&FixtureRow> = rows[20..].iter().filter(|r| r.partition == 0).collect();
    write_file_without_order_claim(&lake, topic, &tail_0).await;
    let tail_1: Vec<FixtureRow> = rows[20..]
        .iter()
        .filter(|r| r.partition == 1)
        .cloned()
        .collect();
    write_fixture(&lake, topic, &tail_1, 5).await;
    assert!(
        !lake::Snapshot::load(&lake)
            .await
            .unwrap()
            .reviews_in_arrival_order()
    );
    assert_cohorts_follow_arrival_order(&lake, &location, &rows).await;
}

/// The interactive prompt reads the latest snapshot for every statement: rows committed while it
/// is open appear, and a compaction (which removes the files it read before) breaks nothing.
/// A `/* ; */` comment does not split a statement. Piped statements leave no history file.
#[tokio::test(flavor = "multi_thread")]
async fn the_prompt_sees_new_commits_and_survives_a_compaction() {
    use std::io::{BufRead, BufReader, Write};
    let (dir, location, lake) = temp_lake();
    let rows = fixture_rows(200);
    write_fixture(&lake, "netflix-reviews", &rows[..100], 5).await;
    let mut child = reviewlake()
        .args(["sql", "--lake", &location, "--format", "json"])
        .env("HOME", dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut count = |stdin: &mut std::process::ChildStdin| -> serde_json::Value {
        writeln!(stdin, "SELECT /* ; */ count(*) AS n\nFROM reviews;").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        loop {
            line.clear();
            assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "the prompt exited");
            if let Some(at) = line.find("[{") {
                let rows: serde_json::Value = serde_json::from_str(line[at..].trim()).unwrap();
                return rows[0]["n"].clone();
            }
        }
    };
    assert_eq!(count(&mut stdin), 100);
    write_fixture(&lake, "netflix-reviews", &rows[100..], 5).await;
    assert_eq!(
        count(&mut stdin),
        200,
        "a commit made while the prompt was open is missing"
    );
    compact(&location, "1000");
    assert_eq!(count(&mut stdin), 200, "after a compaction");
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert!(
        !dir.path().join(".reviewlake_history").exists(),
        "statements piped in are kept out of the history"
    );
}
