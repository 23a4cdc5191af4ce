//! Another engine reads the same snapshot: Delta's own kernel (see `common::kernel_offsets`)
//! gets exactly the rows `reviewlake sql` gets, before and after a compaction and with a crash's
//! uncommitted file beside the committed ones.

mod common;

use common::*;
use lake::{BatchWriter, ReviewBuilder, WriteOptions};

#[tokio::test(flavor = "multi_thread")]
async fn the_delta_kernel_reads_the_rows_reviewlake_reads() {
    if !have(Needs::KernelReader) {
        return;
    }
    let (_dir, location, lake) = temp_lake();
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
    assert_eq!(sql_offsets(&location, "reviews"), expected);
    assert_eq!(kernel_offsets(&url), expected, "before compaction");

    compact(&location, "40");
    assert_eq!(sql_offsets(&location, "reviews"), expected);
    assert_eq!(kernel_offsets(&url), expected, "after compaction");
    assert_readers_agree(&location);
}
