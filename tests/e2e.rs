//! The whole pipeline through the binary only, on the real broker and the S3 server: produce
//! 30,000 synthetic reviews, ingest, count with SQL, train, serve, and post a prediction that must
//! equal what `reviewlake predict` says.

mod common;

use std::{process::Stdio, time::Duration};

use common::*;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn produce_ingest_query_train_serve_predict_on_s3() {
    if !have(Needs::Broker) || !have(Needs::S3) {
        return;
    }
    let topic = unique("e2e");
    create_topic(&topic, 2).await;
    let lake = format!("{}/{}", s3_root(), unique("e2e-lake"));
    produce_synthetic(&topic, 30000, 7, &[]);
    ingest_to_end(&topic, &lake, &[]);
    let count = sql_json(
        &lake,
        "SELECT count(*) AS n, count(DISTINCT review_id) AS ids FROM reviews",
    );
    assert_eq!(
        (count[0]["n"].as_i64(), count[0]["ids"].as_i64()),
        (Some(30000), Some(30000))
    );

    run_ok(&["train", "--lake", &lake, "--cohort-rows", "10000"]);
    let out = run_ok(&["models", "--lake", &lake, "--format", "json"]);
    let docs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(docs.len(), 3);
    for d in &docs {
        assert_eq!(
            d["rows_used"].as_u64().unwrap() + d["rows_excluded"].as_u64().unwrap(),
            10000
        );
    }

    // Serve on a free port.
    let addr = free_loopback_addr();
    let mut server = Running::new(
        reviewlake()
            .args(["serve", "--lake", &lake, "--bind", &addr])
            .env("REVIEWLAKE_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    wait_for_line(server.child(), "serving on", Duration::from_secs(30));
    for (model, x) in [
        ("model_1", [4.0, 15.0, 300.0]),
        ("model_2", [1.0, 0.0, 12.0]),
        ("model_3", [5.0, 120.0, 40.0]),
    ] {
        let (status, body) = http_post(
            &addr,
            &format!("/predict/{model}"),
            &format!(
                r#"{{"rating": {}, "likes": {}, "length": {}}}"#,
                x[0], x[1], x[2]
            ),
        );
        assert_eq!(status, 200, "{body}");
        let served: Value = serde_json::from_str(&body).unwrap();
        let local = predict_json(&["--lake", &lake], model, x);
        assert_eq!(served["prediction"], local["prediction"], "{model}");
        assert_eq!(served["version"], 1);
    }
    // SIGTERM drains and exits cleanly.
    server.terminate();
}
