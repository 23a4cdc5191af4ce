//! A lake of the old layout (Parquet files under hive folders, no Delta log, visibility by the
//! offset-range rule) is refused by readers until `reviewlake lake migrate` commits exactly the
//! files the old rule showed: nothing lost, nothing twice, and ingest resumes where it stopped.

mod common;

use common::*;
use lake::{BatchWriter, FileKey, Lake, RejectedBuilder, ReviewBuilder, Table, WriteOptions};
use object_store::ObjectStoreExt;

/// Puts one old-layout file (untagged key) holding `rows` of `table`, covering `first..=last`.
async fn put_old(lake: &Lake, table: Table, first: i64, last: i64, rows: &[FixtureRow]) {
    let key = FileKey {
        table,
        topic: "netflix-reviews".into(),
        partition: 0,
        first_offset: first,
        last_offset: last,
        tag: String::new(),
    };
    let batch = match table {
        Table::Reviews => {
            let mut b = ReviewBuilder::default();
            for r in rows {
                r.append_to(&mut b);
            }
            b.finish("netflix-reviews").unwrap()
        }
        Table::Rejected => {
            let mut b = RejectedBuilder::default();
            for r in rows {
                let rejected = lake::Rejected {
                    key: None,
                    payload: Some(b"{"),
                    reason: "invalid JSON".into(),
                    field: None,
                };
                let at = lake::SourcePosition {
                    partition: 0,
                    offset: r.offset,
                    timestamp_ms: None,
                };
                b.append(&rejected, &at);
            }
            b.finish("netflix-reviews").unwrap()
        }
    };
    let data = BatchWriter::new(lake.clone(), WriteOptions::default())
        .encode(&key, &batch)
        .unwrap();
    lake.store()
        .put(&key.path().unwrap(), data.into())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_commits_exactly_the_files_the_old_layout_showed_local_and_s3() {
    let dir = tempfile::tempdir().unwrap();
    for location in lake_locations(dir.path(), &unique("old-lake")) {
        let lake = Lake::open(&location).unwrap();
        // Partition 0 only: offsets 0..=29 committed (offset 12 rejected), as the old layout left them.
        let rows: Vec<FixtureRow> = fixture_rows(80)
            .into_iter()
            .filter(|r| r.partition == 0)
            .collect();
        let ok = |lo: i64, hi: i64| -> Vec<FixtureRow> {
            rows.iter()
                .filter(|r| r.offset >= lo && r.offset <= hi && r.offset != 12)
                .cloned()
                .collect()
        };
        put_old(&lake, Table::Reviews, 0, 9, &ok(0, 9)).await; // compaction input
        put_old(&lake, Table::Reviews, 10, 19, &ok(10, 19)).await; // compaction input
        put_old(&lake, Table::Reviews, 0, 19, &ok(0, 19)).await; // its output
        put_old(&lake, Table::Rejected, 10, 19, &rows[12..13]).await;
        put_old(&lake, Table::Reviews, 20, 29, &ok(20, 29)).await;
        // A crash's leftover: rejected file of a range that never committed.
        put_old(&lake, Table::Rejected, 30, 39, &rows[31..32]).await;

        let refused = reviewlake()
            .args(["sql", "--lake", &location, "SELECT count(*) FROM reviews"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(!refused.status.success());
        assert!(stderr.contains("reviewlake lake migrate"), "{stderr}");

        let out = run_ok(&["lake", "migrate", "--lake", &location]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("committed 2 reviews files (29 rows) and 1 rejected files (1 records)"),
            "{stdout}"
        );
        assert!(stdout.contains("3 files were hidden"), "{stdout}");
        let r = sql_json(
            &location,
            "SELECT count(*) AS n, count(DISTINCT kafka_offset) AS d, max(kafka_offset) AS hi FROM reviews",
        );
        assert_eq!(
            (r[0]["n"].as_i64(), r[0]["d"].as_i64(), r[0]["hi"].as_i64()),
            (Some(29), Some(29), Some(29)),
            "{location}"
        );
        let rejected = sql_json(&location, "SELECT kafka_offset AS o FROM rejected");
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0]["o"], 12);
        // Ingest would resume after offset 29.
        let stats = run_ok(&["lake", "stats", "--lake", &location, "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
        assert_eq!(doc["partitions"][0]["last_offset"], 29, "{location}");
        assert_readers_agree(&location);
        // A second run refuses: the tables exist.
        let again = reviewlake()
            .args(["lake", "migrate", "--lake", &location])
            .output()
            .unwrap();
        assert!(!again.status.success());
    }
}
