//! SIGKILL `reviewlake ingest` at several points mid-stream, restart it, and check that the lake
//! ends up with every record exactly once.

mod common;

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use common::*;
use lake::{Lake, Snapshot, Table};

/// A killed member leaves the group when its session times out; keep that short.
const FAST_GROUP: [&str; 4] = [
    "-X",
    "session.timeout.ms=6000",
    "-X",
    "heartbeat.interval.ms=500",
];

async fn committed_files(lake: &Lake) -> usize {
    Snapshot::load(lake)
        .await
        .unwrap()
        .files(Table::Reviews)
        .len()
}

async fn crash_and_resume(location: &str) {
    if !have(Needs::Broker) {
        return;
    }
    const ROWS: usize = 12_000;
    let topic = unique("crash");
    create_topic(&topic, 2).await;
    produce_synthetic(&topic, ROWS as u64, 9, &[]);
    // A few malformed messages too: rejected records must survive crashes exactly once as well.
    run_ok(&[
        "produce",
        "--topic",
        &topic,
        "--csv",
        bad_csv().to_str().unwrap(),
    ]);
    let total = ROWS + 4;

    let lake = Lake::open(location).unwrap();
    let group = unique("g");
    // Kill points, in committed files (batches of 100 over two partitions: about 120 in all).
    for (round, kill_after) in [3usize, 25, 40, 70, 71].into_iter().enumerate() {
        // Killed on drop too, should an assertion below fail while it runs.
        let mut running = Running::new(
            reviewlake()
                .args(ingest_args(&topic, location, &group))
                .args(["--batch-rows", "100", "--max-latency", "200ms"])
                .args(["--commit-files", "3", "--commit-interval", "300ms"])
                .args(FAST_GROUP)
                .spawn()
                .unwrap(),
        );
        let child = running.child();
        let deadline = Instant::now() + Duration::from_secs(120);
        while committed_files(&lake).await < kill_after {
            assert!(Instant::now() < deadline, "round {round}: no progress");
            assert!(child.try_wait().unwrap().is_none(), "ingest exited early");
            tokio::time::sleep(Duration::from_millis(if round % 2 == 0 { 5 } else { 37 })).await;
        }
        child.kill().unwrap(); // SIGKILL: no flush, no commit, no goodbye
        child.wait().unwrap();
    }
    // Finish, then check.
    let mut args = ingest_args(&topic, location, &group).to_vec();
    args.extend_from_slice(&["--batch-rows", "100", "--exit-at-end"]);
    args.extend_from_slice(&FAST_GROUP);
    run_ok(&args);
    let rows = read_reviews(&lake).await;
    let rejected = read_rejected(&lake).await;
    for p in 0..2 {
        let mut offsets: Vec<i64> = rows
            .iter()
            .filter(|r| r.partition == p)
            .map(|r| r.offset)
            .chain(
                rejected
                    .iter()
                    .filter(|r| r.partition == p)
                    .map(|r| r.offset),
            )
            .collect();
        offsets.sort_unstable();
        let gaps: Vec<(i64, i64)> = offsets
            .windows(2)
            .filter(|w| w[1] != w[0] + 1)
            .map(|w| (w[0], w[1]))
            .collect();
        eprintln!(
            "partition {p}: {} offsets, first {:?}, last {:?}, gaps {gaps:?}",
            offsets.len(),
            offsets.first(),
            offsets.last()
        );
    }
    assert_eq!(rows.len(), ROWS, "accepted rows at {location}");
    assert_eq!(rejected.len(), 4, "rejected records at {location}");
    let ids: HashSet<&str> = rows.iter().map(|r| r.review_id.as_str()).collect();
    assert_eq!(ids.len(), ROWS, "duplicate review_id at {location}");
    let mut coords: Vec<(i32, i64)> = rows
        .iter()
        .map(|r| (r.partition, r.offset))
        .chain(rejected.iter().map(|r| (r.partition, r.offset)))
        .collect();
    coords.sort_unstable();
    coords.dedup();
    assert_eq!(
        coords.len(),
        total,
        "every offset exactly once at {location}"
    );
    for p in 0..2 {
        let offsets: Vec<i64> = coords.iter().filter(|c| c.0 == p).map(|c| c.1).collect();
        assert_eq!(
            offsets,
            (0..offsets.len() as i64).collect::<Vec<_>>(),
            "partition {p} gap-free"
        );
    }
    assert_readers_agree(location);
}

fn bad_csv() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(unique("badcsv"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.csv");
    std::fs::write(
        &path,
        "review_id,pseudo_author_id,author_name,review_text,review_rating,review_likes,author_app_version,review_timestamp\n\
         b1,p,n,t,9,0,,2024-01-01 00:00:00\n\
         b2,p,n,t,five,0,,2024-01-01 00:00:00\n\
         b3,p,n,t,3,-1,,2024-01-01 00:00:00\n\
         ,p,n,t,3,1,,2024-01-01 00:00:00\n",
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_stream_loses_and_duplicates_nothing_local() {
    let dir = tempfile::tempdir().unwrap();
    crash_and_resume(dir.path().join("lake").to_str().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_stream_loses_and_duplicates_nothing_s3() {
    if !have(Needs::S3) {
        return;
    }
    crash_and_resume(&format!("{}/{}", s3_root(), unique("crash-lake"))).await;
}
