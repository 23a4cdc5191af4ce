//! What a Delta commit costs ingest: the same 600 files of 500 reviews (two Kafka partitions),
//! put once, then committed through [`lake::Committer`] in groups of 1, 8, 32 and 128 files, each
//! into a fresh local lake. Prints the time per commit and per file, and the encode-and-put time
//! of the files for scale. Run by `bench/commit_cost.sh`.
//!
//!     commit_cost [FILES]

use std::time::Instant;

use lake::{BatchWriter, Committer, Lake, Review, ReviewBuilder, SourcePosition, WriteOptions};

const ROWS_PER_FILE: i64 = 500;

#[tokio::main]
async fn main() {
    let files: i64 = std::env::args()
        .nth(1)
        .map_or(600, |n| n.parse().expect("FILES is a number"));
    let text = "a review of middling length, with some words in it ".repeat(3);
    println!(
        "| files per commit | commits | commit ms (mean) | commit ms per file | put ms per file |"
    );
    println!("|---:|---:|---:|---:|---:|");
    for group in [1usize, 8, 32, 128] {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap()).unwrap();
        let writer = BatchWriter::new(lake.clone(), WriteOptions::default());
        let mut written = Vec::new();
        let put = Instant::now();
        for f in 0..files {
            let partition = (f % 2) as i32;
            let first = (f / 2) * ROWS_PER_FILE;
            let mut b = ReviewBuilder::default();
            for offset in first..first + ROWS_PER_FILE {
                let review = Review {
                    review_id: format!("r-{partition}-{offset}").into(),
                    review_text: Some(text.as_str().into()),
                    review_rating: (offset % 5) as i32 + 1,
                    review_likes: offset % 7,
                    ..Default::default()
                };
                let at = SourcePosition {
                    partition,
                    offset,
                    timestamp_ms: Some(1_700_000_000_000 + offset),
                };
                b.append(&review, &at);
            }
            let batch = b.finish("t").unwrap();
            let last = first + ROWS_PER_FILE - 1;
            written.push(
                writer
                    .write("t", partition, (first, last), &batch, None)
                    .await
                    .unwrap(),
            );
        }
        let put_ms = put.elapsed().as_secs_f64() * 1000.0;
        let mut committer = Committer::open(&lake, "t").await.unwrap();
        for p in 0..2 {
            committer.resume(p).await.unwrap();
        }
        let started = Instant::now();
        let mut commits = 0;
        for chunk in written.chunks(group) {
            let done = committer.commit(chunk.to_vec()).await.unwrap();
            assert!(done.moved.is_empty());
            commits += done.commits;
        }
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        println!(
            "| {group} | {commits} | {:.1} | {:.2} | {:.2} |",
            ms / f64::from(commits),
            ms / files as f64,
            put_ms / files as f64
        );
    }
}
