//! Operating it: ingest's metrics against a known ingest, the web console in a real browser, and
//! the Grafana dashboard against the metrics the services export.

mod common;

use std::{
    collections::BTreeSet,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::*;
use lake::{Lake, Snapshot};
use serde_json::Value;

/// The sum of every sample of `metric` (all its label sets) in a Prometheus text exposition.
fn sum_of(text: &str, metric: &str) -> f64 {
    samples(text, metric, "").iter().sum()
}

/// Every sample value of `metric` whose labels contain `label` (`""`: all of them).
fn samples(text: &str, metric: &str, label: &str) -> Vec<f64> {
    text.lines()
        .filter(|l| {
            l.strip_prefix(metric).is_some_and(|rest| {
                (rest.starts_with('{') || rest.starts_with(' ')) && rest.contains(label)
            })
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_metrics_match_the_lake_and_the_console_works_in_chromium() {
    if !have(Needs::Broker) || !have(Needs::Browser) {
        return;
    }
    const GOOD: u64 = 3000;
    let topic = unique("console");
    create_topic(&topic, 2).await;
    produce_synthetic(&topic, GOOD, 42, &[]);
    // Rejects of three kinds: not JSON (the whole message), a rating out of range, no id.
    let producer = producer();
    let bad = [
        "{not json",
        "also not json",
        r#"{"review_id":"r1","review_rating":9,"review_likes":1,"review_text":"x","review_timestamp":"2024-03-01 10:00:00"}"#,
        r#"{"review_rating":3,"review_likes":1,"review_text":"x","review_timestamp":"2024-03-01 10:00:00"}"#,
    ];
    for payload in bad {
        send(&producer, &topic, None, Some(payload)).await;
    }
    let total = GOOD + bad.len() as u64;

    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("lake").to_string_lossy().into_owned();
    let metrics_addr = free_loopback_addr();
    let group = unique("g");
    let ingest = Running::new(
        reviewlake()
            .args(ingest_args(&topic, &location, &group))
            .args([
                "--metrics-bind",
                &metrics_addr,
                "--commit-interval",
                "200ms",
            ])
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    // The status reaches the whole topic, every partition's lag 0.
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        let status: Option<Value> = std::net::TcpStream::connect(&metrics_addr)
            .ok()
            .map(|_| serde_json::from_str(&http_get(&metrics_addr, "/status").1).unwrap());
        if let Some(s) = &status {
            let parts = s["partitions"].as_array().unwrap();
            let done = s["records"].as_u64().unwrap() + s["rejected"].as_u64().unwrap() == total
                && parts.len() == 2
                && parts.iter().all(|p| p["lag"] == 0);
            if done {
                break status.unwrap();
            }
        }
        assert!(
            Instant::now() < deadline,
            "ingest did not catch up: {status:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status["topic"], topic.as_str());

    // Its Prometheus figures equal the lake's.
    let (code, metrics) = http_get(&metrics_addr, "/metrics");
    assert_eq!(code, 200);
    let lake = Lake::open(&location).unwrap();
    let summary = lake::summary(&Snapshot::load(&lake).await.unwrap())
        .await
        .unwrap();
    assert_eq!(summary.total.rows as u64, GOOD);
    assert_eq!(summary.total.rejected as u64, bad.len() as u64);
    assert_eq!(
        sum_of(&metrics, "reviewlake_ingest_records_total"),
        summary.total.rows as f64,
        "{metrics}"
    );
    assert_eq!(
        sum_of(&metrics, "reviewlake_ingest_rejects_total"),
        summary.total.rejected as f64
    );
    for (field, n) in [("message", 2.0), ("review_rating", 1.0), ("review_id", 1.0)] {
        let label = format!(r#"field="{field}""#);
        let counted: f64 = samples(&metrics, "reviewlake_ingest_rejects_total", &label)
            .iter()
            .sum();
        assert_eq!(counted, n, "rejects of {field}");
    }
    // A batch is a reviews file, a rejected file, or both.
    let batches = sum_of(&metrics, "reviewlake_ingest_files_total");
    assert!(
        batches >= summary.total.files as f64
            && batches <= (summary.total.files + summary.total.rejected_files) as f64,
        "{batches} batches for {:?}",
        summary.total
    );
    assert_eq!(
        samples(&metrics, "reviewlake_ingest_consumer_lag", ""),
        [0.0, 0.0]
    );
    assert_eq!(
        samples(&metrics, "reviewlake_ingest_high_watermark", "").len(),
        2
    );
    assert!(sum_of(&metrics, "reviewlake_ingest_commits_total") >= 1.0);
    assert!(sum_of(&metrics, "reviewlake_ingest_last_commit_timestamp_seconds") > 1.7e9);
    assert!(sum_of(&metrics, "reviewlake_ingest_commit_duration_seconds_count") >= 1.0);

    // Models, then the console against the lake, the models and ingest's status.
    run_ok(&["train", "--lake", &location, "--cohort-rows", "900"]);
    let serve_addr = free_loopback_addr();
    let mut serve = Running::new(
        reviewlake()
            .args([
                "serve",
                "--lake",
                &location,
                "--bind",
                &serve_addr,
                "--enable-sql",
                "--ingest-status",
                &format!("http://{metrics_addr}/status"),
            ])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for_line(serve.child(), "serving on", Duration::from_secs(30));
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("console");
    let out = Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/console/console.mjs"
        ))
        .args([
            format!("http://{serve_addr}"),
            shots.to_string_lossy().into_owned(),
            GOOD.to_string(),
            bad.len().to_string(),
            "lag".into(),
        ])
        .env("CHROMIUM", CHROMIUM)
        .output()
        .unwrap();
    let said = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the browser test failed:\n{said}");
    for shot in ["console-desktop.png", "console-phone.png"] {
        let png = std::fs::read(shots.join(shot)).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "{shot}");
    }
    // The console answers from the lake's latest commits: records sent now are in its next
    // answer (it keeps the snapshot between requests and reads only the commits since).
    let count = || {
        let (code, body) = http_post(
            &serve_addr,
            "/sql",
            r#"{"sql": "SELECT count(*) AS n FROM reviews"}"#,
        );
        assert_eq!(code, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["rows"][0]["n"]
            .as_u64()
            .unwrap()
    };
    let before = count();
    produce_synthetic(&topic, 100, 43, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while count() != before + 100 {
        assert!(
            Instant::now() < deadline,
            "the console still counts {} of {} reviews",
            count(),
            before + 100
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // After that traffic, every metric the dashboard shows is exported by one of the two.
    let served = http_get(&serve_addr, "/metrics").1;
    let ingested = http_get(&metrics_addr, "/metrics").1;
    assert_dashboard_queries_exported_metrics(&[&served, &ingested]);
    serve.terminate();
    ingest.terminate();
}

/// The dashboard's queries.
fn dashboard_queries() -> Vec<String> {
    let dashboard: Value =
        serde_json::from_str(include_str!("../deploy/grafana/reviewlake.json")).unwrap();
    assert_eq!(dashboard["uid"], "reviewlake");
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        assert!(panel["gridPos"]["w"].as_u64().is_some(), "{panel}");
        for target in panel["targets"].as_array().into_iter().flatten() {
            assert_eq!(target["datasource"]["uid"], "${datasource}", "{target}");
            exprs.push(target["expr"].as_str().unwrap().to_string());
        }
    }
    assert!(exprs.len() >= 15, "{exprs:?}");
    exprs
}

/// Each metric the dashboard queries is one of those scraped in `scrapes` (so a renamed metric
/// cannot leave a panel empty).
fn assert_dashboard_queries_exported_metrics(scrapes: &[&str]) {
    let exported: BTreeSet<String> = scrapes
        .iter()
        .flat_map(|text| text.lines())
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect();
    let exprs = dashboard_queries();
    for (expr, metrics) in exprs.iter().zip(metric_names(&exprs)) {
        assert!(!metrics.is_empty(), "{expr} queries no reviewlake metric");
        for m in metrics {
            assert!(
                exported.contains(&m),
                "{expr} queries {m}, which no scrape has: {exported:?}"
            );
        }
    }
}

/// The dashboard parses as Grafana JSON and each query as PromQL, by an independent parser.
#[test]
fn grafana_dashboard_queries_parse() {
    if !have(Needs::Promql) {
        return;
    }
    let exprs = dashboard_queries();
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, promql_parser\nfor e in json.load(sys.stdin): promql_parser.parse(e)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(serde_json::to_string(&exprs).unwrap().as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(
        out.status.success(),
        "a query does not parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `reviewlake_*` names each expression mentions.
fn metric_names(exprs: &[String]) -> Vec<Vec<String>> {
    exprs
        .iter()
        .map(|e| {
            let mut names = Vec::new();
            let mut rest = e.as_str();
            while let Some(i) = rest.find("reviewlake_") {
                let tail = &rest[i..];
                let end = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                names.push(tail[..end].to_string());
                rest = &tail[end..];
            }
            names
        })
        .collect()
}
