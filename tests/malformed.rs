//! Bad messages never stop the stream: they land in the rejected table with their reason.

mod common;

use common::*;
use lake::Lake;

const GOOD: &str = r#"{"review_id":"good-1","pseudo_author_id":"p","author_name":"A Google user","review_text":"ok","review_rating":"4","review_likes":"2","author_app_version":"8.1","review_timestamp":"2024-03-01 10:00:00"}"#;

#[tokio::test(flavor = "multi_thread")]
async fn malformed_messages_are_kept_with_reasons_and_counted_as_consumed() {
    if !have(Needs::Broker) {
        return;
    }
    let topic = unique("malformed");
    create_topic(&topic, 1).await;
    let producer = producer();
    let big = format!(
        r#"{{"review_id":"big","review_text":"{}"}}"#,
        "x".repeat(3000)
    );
    let second_good = GOOD.replace("good-1", "good-2").replace("\"4\"", "5");
    let messages: Vec<(Option<&str>, Option<String>, Option<&str>)> = vec![
        // (key, payload, field expected at fault)
        (Some("good-1"), Some(GOOD.to_string()), None),
        (Some("k1"), Some("{not json".into()), None),
        (
            Some("k2"),
            Some(GOOD.replace("\"review_rating\":\"4\"", "\"review_rating\":9")),
            Some("review_rating"),
        ),
        (
            Some("k3"),
            Some(GOOD.replace("\"review_likes\":\"2\"", "\"review_likes\":\"-3\"")),
            Some("review_likes"),
        ),
        (
            Some("k4"),
            Some(GOOD.replace("\"review_id\":\"good-1\",", "")),
            Some("review_id"),
        ),
        (
            Some("k5"),
            Some(GOOD.replace("2024-03-01 10:00:00", "03/01/2024")),
            Some("review_timestamp"),
        ),
        (
            Some("k6"),
            Some(GOOD.replace("\"review_rating\":\"4\"", "\"review_rating\":[4]")),
            Some("review_rating"),
        ),
        (Some("k7"), Some(big), None),
        (Some("k8"), None, None),
        (Some("good-2"), Some(second_good), None),
    ];
    for (key, payload, _) in &messages {
        send(&producer, &topic, *key, payload.as_deref()).await;
    }

    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("lake");
    let location = location.to_str().unwrap();
    let out = ingest_to_end(&topic, location, &["--max-message-bytes", "2000"]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(summary.contains("2 rows and 8 rejected"), "{summary}");

    let lake = Lake::open(location).unwrap();
    let rows = read_reviews(&lake).await;
    let ids: Vec<&str> = rows.iter().map(|r| r.review_id.as_str()).collect();
    assert_eq!(ids, ["good-1", "good-2"]);
    assert_eq!(
        rows[1].review_rating, 5,
        "a JSON number where the first sent a string"
    );

    let rejected = read_rejected(&lake).await;
    assert_eq!(rejected.len(), 8);
    for r in &rejected {
        let (key, payload, field) = &messages[r.offset as usize];
        assert_eq!(
            r.key.as_deref(),
            key.map(str::as_bytes),
            "offset {}",
            r.offset
        );
        // The raw payload is kept; an oversized one as its first KEPT_BYTES.
        assert_eq!(
            r.payload.as_deref(),
            payload
                .as_deref()
                .map(|p| &p.as_bytes()[..p.len().min(ingest::KEPT_BYTES)]),
            "raw payload kept"
        );
        assert_eq!(
            r.field.as_deref(),
            *field,
            "offset {}: {}",
            r.offset,
            r.reason
        );
        assert!(!r.reason.is_empty());
    }
    let reason = |o: i64| {
        rejected
            .iter()
            .find(|r| r.offset == o)
            .unwrap()
            .reason
            .clone()
    };
    assert!(reason(1).starts_with("invalid JSON"), "{}", reason(1));
    assert!(
        reason(2).contains("9 is out of range (allowed: 1..=5)"),
        "{}",
        reason(2)
    );
    assert!(
        reason(7).contains("over the 2000-byte limit"),
        "{}",
        reason(7)
    );
    assert!(reason(8).contains("no payload"), "{}", reason(8));

    // Every offset is accounted for exactly once across the two tables.
    let mut offsets: Vec<i64> = rows
        .iter()
        .map(|r| r.offset)
        .chain(rejected.iter().map(|r| r.offset))
        .collect();
    offsets.sort_unstable();
    assert_eq!(offsets, (0..10).collect::<Vec<_>>());

    // And a restart consumes nothing again.
    let out = ingest_to_end(&topic, location, &[]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 rows and 0 rejected"));
}

/// Messages just under the size limit fill a file by bytes before rows; messages over it are
/// rejected, each kept as a bounded prefix with its length and SHA-256; nothing is lost.
#[tokio::test(flavor = "multi_thread")]
async fn large_messages_flush_by_bytes_and_oversized_ones_keep_a_bounded_prefix() {
    if !have(Needs::Broker) {
        return;
    }
    use sha2::Digest;
    let topic = unique("large");
    create_topic(&topic, 1).await;
    let producer = producer();
    let limit = 64 * 1024;
    let mut sent = Vec::new();
    for i in 0..50 {
        let payload = if i % 5 == 4 {
            // 64 KiB over the limit, and more.
            "y".repeat(limit + 64 * 1024 * (1 + i % 3))
        } else {
            GOOD.replace("good-1", &format!("near-{i}")).replace(
                "\"ok\"",
                &format!("\"{}\"", "z".repeat(limit - GOOD.len() - 10)),
            )
        };
        send(&producer, &topic, None, Some(&payload)).await;
        sent.push(payload);
    }
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("lake").to_str().unwrap().to_string();
    ingest_to_end(&topic, &location, &["--batch-bytes", "500000"]);
    let lake = Lake::open(&location).unwrap();
    let rows = read_reviews(&lake).await;
    assert_eq!(rows.len(), 40);
    for r in &rows {
        let text = r.review_text.as_deref().unwrap();
        assert!(text.len() > limit - GOOD.len() - 20, "{}", r.review_id);
    }
    let rejected = read_rejected(&lake).await;
    assert_eq!(rejected.len(), 10);
    for r in &rejected {
        let original = sent[r.offset as usize].as_bytes();
        assert_eq!(r.payload.as_deref(), Some(&original[..ingest::KEPT_BYTES]));
        let sha: String = sha2::Sha256::digest(original)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(
            r.reason.starts_with(&format!(
                "message is {} bytes (SHA-256 {sha})",
                original.len()
            )),
            "{}",
            r.reason
        );
    }
    // About 64 KiB per row and a 500,000-byte budget: files of at most 8 rows, not one of 50.
    let files = reviews_infos(&lake).await;
    assert!(files.len() >= 5, "{} files", files.len());
    assert!(files.iter().all(|f| f.rows <= 8), "{files:?}");
    // The budget is per file: after one closes, the next fills again (not one row per file).
    let small = files.iter().filter(|f| f.rows < 5).count();
    assert!(small <= 1, "{small} files of under 5 rows: {files:?}");
}
