//! `reviewlake demo` with its embedded broker: from nothing to a served prediction, and a second
//! run that reuses the lake.

mod common;

use std::{process::Stdio, time::Duration};

use common::*;
use serde_json::Value;

/// Starts the demo and waits until it serves; returns the child and every line it printed.
fn start(lake: &str, addr: &str) -> (Running, Vec<String>) {
    let mut child = Running::new(
        reviewlake()
            .args(["demo", "--rows", "3000", "--lake", lake, "--bind", addr])
            .env("REVIEWLAKE_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let lines = wait_for_line(child.child(), "serving on", Duration::from_secs(120));
    (child, lines)
}

fn post(addr: &str, body: &str) -> Value {
    let (status, body) = http_post(addr, "/predict/model_1", body);
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[test]
fn demo_reaches_a_served_prediction_and_reuses_its_lake() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake").to_str().unwrap().to_string();
    let addr = free_loopback_addr();

    let (child, lines) = start(&lake, &addr);
    let text = lines.join("\n");
    assert!(text.contains("embedded Kafka-protocol broker"), "{text}");
    assert!(text.contains("3000 rows and 0 rejected records"), "{text}");
    assert!(text.contains("1000 rows each"), "{text}");
    assert!(text.contains("curl -s -X POST"), "{text}");
    let served = post(&addr, r#"{"rating": 4, "likes": 15, "length": 300}"#);
    let local = predict_json(&["--lake", &lake], "model_1", [4.0, 15.0, 300.0]);
    assert_eq!(served["prediction"], local["prediction"]);
    child.terminate();

    let (child, lines) = start(&lake, &addr);
    let text = lines.join("\n");
    assert!(
        text.contains("reusing the lake") && text.contains("3000 reviews"),
        "{text}"
    );
    assert_eq!(
        post(&addr, r#"{"rating": 1, "likes": 0, "length": 5}"#)["version"],
        2
    );
    child.terminate();

    // A lake with fewer reviews than this run would produce (as an interrupted run leaves it)
    // is not passed off as whole: the embedded broker holds nothing of an earlier run.
    let out = reviewlake()
        .args(["demo", "--rows", "6000", "--lake", &lake, "--bind", &addr])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("holds 3000 reviews (+0 rejected) of the 6000 this demo produces"),
        "{err}"
    );
}
