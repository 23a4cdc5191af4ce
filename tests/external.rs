//! Another engine reads the same snapshot: Delta's own kernel (delta-kernel-rs, through PyPI's
//! delta-kernel-rust-sharing-wrapper, installed by `scripts/services.sh`) into pyarrow, with no
//! reviewlake or delta-rs code, gets exactly the rows `reviewlake sql` gets, before and after a
//! compaction and with a crash's uncommitted files beside the committed ones.

mod common;

use common::*;
use lake::{BatchWriter, Lake, ReviewBuilder, WriteOptions};

/// `(partition, kafka_offset)` of every row, as the kernel reads the table at `url`.
fn kernel_rows(url: &str) -> Vec<(i64, i64)> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/readers/delta_kernel_rows.py"
    );
    let out = std::process::Command::new("python3")
        .args([script, url])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "the kernel reader failed (scripts/services.sh up installs it): {}",
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

fn sql_rows(location: &str) -> Vec<(i64, i64)> {
    sql_json(
        location,
        "SELECT \"partition\" AS p, kafka_offset AS o FROM reviews ORDER BY 1, 2",
    )
    .iter()
    .map(|r| (r["p"].as_i64().unwrap(), r["o"].as_i64().unwrap()))
    .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_delta_kernel_reads_the_rows_reviewlake_reads() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("lake").to_str().unwrap().to_string();
    let lake = Lake::open(&location).unwrap();
    let rows = fixture_rows(300);
    write_fixture(&lake, "netflix-reviews", &rows, 7).await;
    // A crash's leftover: put, never committed. Nobody may read it.
    let mut b = ReviewBuilder::default();
    rows[0].append_to(&mut b);
    BatchWriter::new(lake.clone(), WriteOptions::default())
        .write(
            "netflix-reviews",
            0,
            (150, 150),
            &b.finish("netflix-reviews").unwrap(),
            None,
        )
        .await
        .unwrap();
    let url = lake::table_url(&lake, lake::Table::Reviews).to_string();

    let expected: Vec<(i64, i64)> = (0..2).flat_map(|p| (0..150).map(move |o| (p, o))).collect();
    assert_eq!(sql_rows(&location), expected);
    assert_eq!(kernel_rows(&url), expected, "before compaction");

    compact(&location, "40");
    assert_eq!(sql_rows(&location), expected);
    assert_eq!(kernel_rows(&url), expected, "after compaction");
}
