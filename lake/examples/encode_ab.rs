//! Encode cost of one ingest file, A/B: `BatchWriter::encode` (arrival-order check and claim,
//! no text statistics) against a plain `ArrowWriter` with page statistics on every column (the
//! writer before the order claim). 3000 files of 500 synthetic reviews, alternating, best of 5.
//! Also times the arrival-order check alone (`lake::sort_by_arrival` on each file).
//! Run: `cargo run --release --example encode_ab`.

use std::time::Instant;

use lake::{
    BatchWriter, FileKey, Lake, Review, ReviewBuilder, SourcePosition, Table, WriteOptions,
};
use parquet::{
    arrow::ArrowWriter,
    basic::{Compression, ZstdLevel},
    file::properties::{EnabledStatistics, WriterProperties},
};

fn main() {
    let dir = std::env::temp_dir().join("encode-ab");
    let writer = BatchWriter::new(
        Lake::open(dir.to_str().unwrap()).unwrap(),
        WriteOptions::default(),
    );
    let words = [
        "great",
        "app",
        "but",
        "the",
        "streaming",
        "keeps",
        "buffering",
        "love",
        "it",
    ];
    let batches: Vec<_> = (0..3000i64)
        .map(|f| {
            let mut b = ReviewBuilder::default();
            for r in 0..500i64 {
                let i = f * 500 + r;
                let text: Vec<&str> = (0..(i % 60 + 5))
                    .map(|w| words[((i * 7 + w) % 9) as usize])
                    .collect();
                let review = Review {
                    review_id: format!("{i:08x}-review").into(),
                    review_text: Some(text.join(" ").into()),
                    review_rating: (i % 5) as i32 + 1,
                    review_likes: i % 13,
                    review_timestamp_us: 1_600_000_000_000_000 + i * 1_000_000,
                    ..Default::default()
                };
                let at = SourcePosition {
                    partition: 0,
                    offset: i,
                    timestamp_ms: Some(1_700_000_000_000 + i),
                };
                b.append(&review, &at);
            }
            b.finish("t").unwrap()
        })
        .collect();
    let key = |f: usize| FileKey::new(Table::Reviews, "t", 0, f as i64 * 500, f as i64 * 500 + 499);
    let plain = |batch: &arrow::array::RecordBatch| {
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap()))
            .set_statistics_enabled(EnabledStatistics::Page)
            .build();
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props)).unwrap();
        w.write(batch).unwrap();
        w.close().unwrap();
        buf.len()
    };
    let (mut best_new, mut best_old, mut best_check) = (f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..5 {
        let t = Instant::now();
        let bytes: usize = batches
            .iter()
            .enumerate()
            .map(|(f, b)| writer.encode(&key(f), b).unwrap().len())
            .sum();
        best_new = best_new.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let old_bytes: usize = batches.iter().map(plain).sum();
        best_old = best_old.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        for b in &batches {
            std::hint::black_box(lake::sort_by_arrival(std::slice::from_ref(b)).unwrap());
        }
        best_check = best_check.min(t.elapsed().as_secs_f64());
        println!("encode: {bytes} bytes; plain: {old_bytes} bytes");
    }
    println!(
        "3000 files of 500 rows: BatchWriter::encode {best_new:.3} s, plain ArrowWriter {best_old:.3} s, ratio {:.2}; of which the arrival-order check {best_check:.4} s",
        best_new / best_old
    );
}
