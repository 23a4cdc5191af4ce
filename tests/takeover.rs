//! A member that lost its partition lands nothing, and a topic that is not the one the lake was
//! filled from is refused. Both run on librdkafka's mock cluster, started here and reached by the
//! child processes over TCP: it evicts a member whose heartbeats stop (tansu 0.6 never does).

mod common;

use std::{
    process::Stdio,
    time::{Duration, Instant},
};

use common::*;
use lake::Snapshot;

const GROUP_SETTINGS: [&str; 6] = [
    "-X",
    "session.timeout.ms=6000",
    "-X",
    "heartbeat.interval.ms=500",
    "-X",
    "max.poll.interval.ms=7000",
];

/// SIGSTOP a member holding an unwritten batch; a member with other batch boundaries takes the
/// partition over and finishes; SIGCONT the first. Its batch must not land.
#[tokio::test(flavor = "multi_thread")]
async fn a_paused_member_lands_nothing_after_another_took_its_partition() {
    const N: i64 = 6_000;
    let topic = unique("takeover");
    let (_mock, brokers) = mock_topic(&topic, 1, N);
    let (dir, location, lake) = temp_lake();
    let group = unique("g");
    let ingest = |batch_rows: &str, extra: &[&str]| {
        let mut cmd = reviewlake();
        cmd.args(["ingest", "--brokers", &brokers, "--topic", &topic])
            .args(["--lake", &location, "--group", &group])
            .args(["--batch-rows", batch_rows, "--commit-files", "1"])
            .args(GROUP_SETTINGS)
            .args(extra)
            .env("REVIEWLAKE_LOG", "info");
        cmd
    };
    // The first member's log goes to a file: a pipe nobody reads would stall it.
    let first_log = dir.path().join("first.log");
    // The first member writes 700-row batches; the last 400 records wait for a latency that
    // never comes while it is paused.
    let mut first = Running::new(
        ingest("700", &["--max-latency", "3s"])
            .stderr(Stdio::from(std::fs::File::create(&first_log).unwrap()))
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed_rows(&lake).await < 5_600 {
        assert!(
            Instant::now() < deadline,
            "the first member made no progress"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    signal(first.child(), "-STOP");
    // Another member, with 100-row batches, gets the partition once the first one's session
    // times out, and finishes the topic.
    let second = ingest("100", &["--exit-at-end", "--max-latency", "200ms"])
        .output()
        .unwrap();
    assert_success(&second);
    assert_eq!(committed_rows(&lake).await, N, "the second member finished");
    let version = Snapshot::load(&lake).await.unwrap().versions().reviews;
    // Wake the first member: its 400-row batch covers offsets the tables already hold.
    signal(first.child(), "-CONT");
    tokio::time::sleep(Duration::from_secs(8)).await;
    signal(first.child(), "-TERM");
    first.child().wait().unwrap();
    let log = std::fs::read_to_string(&first_log).unwrap();
    let dropped = log.contains("another writer committed to this partition")
        || log.contains("dropping the uncommitted records of a revoked partition");
    eprintln!("first member after SIGCONT:\n{log}");
    assert!(dropped, "the first member says it dropped its batch");
    assert_eq!(
        Snapshot::load(&lake).await.unwrap().versions().reviews,
        version,
        "the woken member committed nothing"
    );
    assert_each_offset_once(&location, N);
}

/// A lake filled from one cluster's topic, pointed at another cluster's topic of the same name
/// with fewer records (as after deleting and recreating a topic): ingest stops with a clear
/// error and writes nothing, instead of silently skipping the new records.
#[tokio::test(flavor = "multi_thread")]
async fn a_topic_behind_the_lake_is_refused() {
    let (_dir, location, lake) = temp_lake();
    let topic = "netflix-reviews";
    for (rows, expect_ok) in [(1_000, true), (300, false)] {
        let (_mock, brokers) = mock_topic(topic, 1, rows);
        let before = Snapshot::load(&lake).await.unwrap().versions();
        let out = reviewlake()
            .args([
                "ingest",
                "--brokers",
                &brokers,
                "--topic",
                topic,
                "--lake",
                &location,
            ])
            .args(["--group", &unique("g"), "--exit-at-end"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.success(), expect_ok, "{stderr}");
        if !expect_ok {
            assert!(
                stderr.contains(&format!("topic {topic} partition 0"))
                    && stderr.contains("resumes at offset 1000")
                    && stderr.contains("ends at 300"),
                "{stderr}"
            );
            assert_eq!(
                Snapshot::load(&lake).await.unwrap().versions(),
                before,
                "nothing written"
            );
        }
    }
    assert_eq!(committed_rows(&lake).await, 1_000);
    assert_readers_agree(&location);
}

/// Two ingest jobs in different consumer groups both own the same partitions and write the same
/// lake with different batch boundaries. The tables decide: a commit lands only where its writer
/// saw the tables stand, the other writer drops its batch and reads on from the tables. Every
/// offset ends up in the snapshot exactly once.
#[tokio::test(flavor = "multi_thread")]
async fn two_jobs_on_the_same_partitions_write_each_offset_once() {
    const N: i64 = 4_000;
    let topic = unique("two-jobs");
    let (_mock, brokers) = mock_topic(&topic, 2, N);
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("lake").to_str().unwrap().to_string();
    let job = |batch_rows: &'static str| {
        let (brokers, topic, location) = (brokers.clone(), topic.clone(), location.clone());
        std::thread::spawn(move || {
            reviewlake()
                .args([
                    "ingest",
                    "--brokers",
                    &brokers,
                    "--topic",
                    &topic,
                    "--lake",
                    &location,
                ])
                .args([
                    "--group",
                    &unique("g"),
                    "--exit-at-end",
                    "--batch-rows",
                    batch_rows,
                ])
                .args(["--commit-files", "1", "--max-latency", "200ms"])
                .env("REVIEWLAKE_LOG", "warn")
                .output()
                .unwrap()
        })
    };
    let (a, b) = (job("100"), job("170"));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    let mut moved = 0;
    for out in [&a, &b] {
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{log}");
        // The topic holds every offset: a record past a resume point is one fetched before
        // the seek back there, and taking it would skip the offsets between.
        assert!(
            !log.contains("offsets missing at the resume point"),
            "{log}"
        );
        moved += log
            .matches("another writer committed to this partition")
            .count();
    }
    eprintln!("batches dropped because the other job had committed first: {moved}");
    let rows = sql_json(
        &location,
        "SELECT \"partition\" AS p, count(*) AS n, count(DISTINCT kafka_offset) AS d, max(kafka_offset) AS hi FROM reviews GROUP BY 1 ORDER BY 1",
    );
    let logs = format!(
        "first job:\n{}\nsecond job:\n{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let total: i64 = rows.iter().map(|r| r["n"].as_i64().unwrap()).sum();
    assert_eq!(total, N, "{rows:?}\n{logs}");
    for r in &rows {
        assert_eq!(r["n"], r["d"], "an offset twice: {rows:?}\n{logs}");
        assert_eq!(
            r["hi"].as_i64().unwrap() + 1,
            r["n"].as_i64().unwrap(),
            "a gap: {rows:?}\n{logs}"
        );
    }
    assert_readers_agree(&location);
}
