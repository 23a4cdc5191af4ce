//! The writer benchmark (issue 17): ingest's path after `poll()`, with no broker.
//!
//! Feeds pre-encoded messages of the seed's format from memory (synthetic reviews as JSON, every
//! third one with every value a string as the original producer sent them, 1% malformed) through
//! the code `reviewlake ingest` runs for each polled record and batch: [`PendingBatch::take`]
//! (decode, validate, Arrow builders), [`PendingBatch::finish`], [`BatchWriter::write`] (Parquet
//! with zstd, the arrival-order claim, file statistics, the put) and [`Committer::commit`] (both
//! Delta tables, one `txn` per partition) every 32 files, on a local lake. Files are written and
//! committed as ingest does ([`Writes`], [`Commits`]): beside this thread, which decodes on. Prints
//! rows/s, MB/s, each stage's share of the calling thread's time and the peak resident memory,
//! then checks that the lake holds every message once. Run by `bench/writer.sh`:
//!
//!   writer_bench [MESSAGES] [PARTITIONS] [ZSTD_LEVEL] [LAKE] [BATCH_ROWS] [WRITES_IN_FLIGHT]
//!
//! `LAKE` defaults to a temporary folder; `-` keeps that default (to give `BATCH_ROWS`, 500 as in
//! `ingest`). Files are written as ingest writes them ([`Writes`]): `WRITES_IN_FLIGHT` at once
//! (ingest's default, one per core) on other threads while this one decodes; 0 writes each file
//! before decoding on, for a profile of the stages one after another.
//!
//! With `WRITER_BENCH_DUMP=path` it also writes the messages there (partition, offset, key and
//! payload, each length-prefixed), for the Python peer `bench/writer_peer.py` to read the same.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use ingest::{
    Commits, DecodeOptions, IngestOptions, PendingBatch, Writes, source::SyntheticSource,
};
use lake::{BatchWriter, Committer, Lake, SourcePosition, TakenIn, WriteOptions, WrittenBatch};

// The allocator the binary runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOPIC: &str = "netflix-reviews";
const BATCH_BYTES: usize = 64 * 1024 * 1024;
const COMMIT_FILES: usize = 32;

/// One message of the topic, as a consumer receives it.
struct Message {
    partition: i32,
    offset: i64,
    key: Vec<u8>,
    payload: Vec<u8>,
}

fn messages(n: u64, partitions: i32) -> Vec<Message> {
    let mut next = vec![0i64; partitions as usize];
    SyntheticSource::new(n, 42)
        .enumerate()
        .map(|(i, record)| {
            let record = record.expect("synthetic reviews");
            let mut payload = Vec::with_capacity(320);
            record.write_json(i % 3 == 0, &mut payload);
            // 1% malformed, in three ways: cut short, a rating out of range, no id.
            let malformed = if i % 100 == 17 { i / 100 % 3 } else { 3 };
            match malformed {
                0 => payload.truncate(payload.len() / 2),
                1 => {
                    payload = String::from_utf8(payload)
                        .unwrap()
                        .replacen("\"review_rating\":", "\"review_rating\":9,\"x\":", 1)
                        .into_bytes()
                }
                2 => {
                    payload = String::from_utf8(payload)
                        .unwrap()
                        .replacen("\"review_id\":", "\"not_the_id\":", 1)
                        .into_bytes()
                }
                _ => {}
            }
            let partition = (i % partitions as usize) as i32;
            let offset = next[partition as usize];
            next[partition as usize] += 1;
            Message {
                partition,
                offset,
                key: record.review_id.into_bytes(),
                payload,
            }
        })
        .collect()
}

/// Waits for the commit under way; the Delta commits it made.
fn settled(commits: &mut Commits) -> u64 {
    commits
        .settle()
        .expect("a commit")
        .map_or(0, |c| u64::from(c.commits))
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() {
    // As `reviewlake` itself runs (src/main.rs): no transparent huge pages.
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_thp_disable(true);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let handle = runtime.handle().clone();
    let mut args = std::env::args().skip(1);
    let n: u64 = args
        .next()
        .map_or(1_500_000, |a| a.parse().expect("MESSAGES"));
    let partitions: i32 = args.next().map_or(3, |a| a.parse().expect("PARTITIONS"));
    let zstd_level: i32 = args.next().map_or(3, |a| a.parse().expect("ZSTD_LEVEL"));
    let dir = tempfile::tempdir().unwrap();
    let location = args
        .next()
        .filter(|a| a != "-")
        .unwrap_or_else(|| dir.path().join("lake").to_string_lossy().into_owned());
    let batch_rows: usize = args.next().map_or(500, |a| a.parse().expect("BATCH_ROWS"));
    let in_flight: usize = args
        .next()
        .map_or(IngestOptions::default().writes_in_flight, |a| {
            a.parse().expect("WRITES_IN_FLIGHT")
        });

    let started = Instant::now();
    let messages = messages(n, partitions);
    let payload_bytes: usize = messages.iter().map(|m| m.payload.len()).sum();
    eprintln!(
        "{n} messages ({:.1} MB of payloads) over {partitions} partitions made in {:.1} s",
        payload_bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    if let Some(path) = std::env::var_os("WRITER_BENCH_DUMP") {
        let mut out = Vec::with_capacity(payload_bytes + 32 * messages.len());
        for m in &messages {
            out.extend_from_slice(&m.partition.to_le_bytes());
            out.extend_from_slice(&m.offset.to_le_bytes());
            for part in [&m.key, &m.payload] {
                out.extend_from_slice(&(part.len() as u32).to_le_bytes());
                out.extend_from_slice(part);
            }
        }
        std::fs::write(path, out).unwrap();
    }

    let lake = Lake::open(&location).unwrap();
    let writer = BatchWriter::new(
        lake.clone(),
        WriteOptions {
            zstd_level,
            ..Default::default()
        },
    );
    let committer = handle.block_on(Committer::open(&lake, TOPIC)).unwrap();
    let mut commits = Commits::new(
        Arc::new(Mutex::new(committer)),
        handle.clone(),
        1,
        Arc::default(),
    );
    let mut writes = Writes::new(writer, handle.clone(), in_flight, 1, Arc::default());
    let decode = DecodeOptions::default();
    let mut pending: Vec<PendingBatch> = (0..partitions)
        .map(|_| PendingBatch::new(TakenIn::default()))
        .collect();
    let mut written: Vec<WrittenBatch> = Vec::new();
    let (mut take, mut finish, mut write, mut commit) = (
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    );
    let (mut files, mut commit_count, mut bytes) = (0u64, 0u64, 0u64);
    let mut tally = |batches: &[WrittenBatch]| {
        files += batches.len() as u64;
        bytes += batches.iter().map(WrittenBatch::bytes).sum::<u64>();
    };

    let run = Instant::now();
    // `write` is the time this thread waits for files: all of their cost when written one at a
    // time, what the other threads could not hide otherwise.
    let mut flush = |batch: &mut PendingBatch,
                     partition: i32,
                     writes: &mut Writes,
                     written: &mut Vec<WrittenBatch>| {
        let t = Instant::now();
        let Some(done) = batch.finish(TOPIC).unwrap() else {
            return;
        };
        finish += t.elapsed();
        let t = Instant::now();
        written.extend(writes.start(TOPIC, partition, done).unwrap());
        if in_flight == 0 {
            written.extend(writes.settle().unwrap());
        }
        write += t.elapsed();
    };
    for m in &messages {
        let t = Instant::now();
        let batch = &mut pending[m.partition as usize];
        let pos = SourcePosition {
            partition: m.partition,
            offset: m.offset,
            timestamp_ms: Some(1_700_000_000_000 + m.offset),
        };
        batch.take(Some(&m.key), Some(&m.payload), &pos, &decode);
        let full = batch.is_full(batch_rows, BATCH_BYTES);
        take += t.elapsed();
        if full {
            flush(batch, m.partition, &mut writes, &mut written);
        }
        // As ingest's loop: files whose writes ended are committed once COMMIT_FILES wait (more
        // while a commit is under way: `Commits::due`).
        written.extend(writes.ready().unwrap());
        if commits.due(written.len(), COMMIT_FILES) {
            let t = Instant::now();
            commit_count += settled(&mut commits);
            let batches = std::mem::take(&mut written);
            tally(&batches);
            commits.start(batches);
            commit += t.elapsed();
        }
    }
    for (partition, batch) in pending.iter_mut().enumerate() {
        flush(batch, partition as i32, &mut writes, &mut written);
    }
    let t = Instant::now();
    written.extend(writes.settle().unwrap());
    write += t.elapsed();
    tally(&written);
    let t = Instant::now();
    commit_count += settled(&mut commits);
    commits.start(written);
    commit_count += settled(&mut commits);
    commit += t.elapsed();
    let elapsed = run.elapsed();

    let snapshot = handle.block_on(lake::Snapshot::load(&lake)).unwrap();
    let summary = handle.block_on(lake::summary(&snapshot)).unwrap();
    let stored = (summary.total.rows + summary.total.rejected) as u64;
    assert_eq!(stored, n, "the lake holds {stored} of {n} records");
    let secs = elapsed.as_secs_f64();
    let rows_per_sec = n as f64 / secs;
    println!(
        "writer: {n} records ({} reviews, {} rejected) in {secs:.2} s",
        summary.total.rows, summary.total.rejected
    );
    println!(
        "rows/s: {rows_per_sec:.0} ({:.2}x of 1,000,000 rows/s)",
        rows_per_sec / 1e6
    );
    println!("payload MB/s: {:.1}", payload_bytes as f64 / 1e6 / secs);
    println!(
        "files: {files} batches, {commit_count} commits, {:.1} MB of Parquet (zstd level {zstd_level}; {:.2} bytes per payload byte)",
        bytes as f64 / 1e6,
        bytes as f64 / payload_bytes as f64
    );
    let other = elapsed.saturating_sub(take + finish + write + commit);
    for (stage, t) in [
        ("decode, validate, append to the builders", take),
        ("finish the Arrow batches", finish),
        ("Parquet encode + zstd + statistics + put (waited)", write),
        ("Delta commits (waited)", commit),
        ("the loop itself", other),
    ] {
        println!(
            "  {stage:<52} {:>7.2} s {:>5.1}%",
            t.as_secs_f64(),
            100.0 * t.as_secs_f64() / secs
        );
    }
    println!(
        "peak RSS: {:.0} MiB (the messages held in memory included)",
        peak_rss_mib()
    );
}
