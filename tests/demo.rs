//! `reviewlake demo` with its embedded broker: from nothing to a served prediction, and a second
//! run that reuses the lake.

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    process::{Child, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use common::*;
use serde_json::Value;

/// Starts the demo and waits until it serves; returns the child and every line it printed.
fn start(lake: &str, addr: &str) -> (Child, Vec<String>) {
    let mut child = reviewlake()
        .args(["demo", "--rows", "3000", "--lake", lake, "--bind", addr])
        .env("REVIEWLAKE_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut lines = Vec::new();
    loop {
        let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the demo did not start serving:\n{}", lines.join("\n"));
        };
        let done = line.contains("serving on");
        lines.push(line);
        if done {
            return (child, lines);
        }
    }
}

fn post(addr: &str, body: &str) -> Value {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "POST /predict/model_1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    serde_json::from_str(response.split_once("\r\n\r\n").unwrap().1).unwrap()
}

fn stop(mut child: Child) {
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "the demo exited with {status}");
}

#[test]
fn demo_reaches_a_served_prediction_and_reuses_its_lake() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake").to_str().unwrap().to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");

    let (child, lines) = start(&lake, &addr);
    let text = lines.join("\n");
    assert!(text.contains("embedded Kafka-protocol broker"), "{text}");
    assert!(text.contains("3000 rows and 0 rejected records"), "{text}");
    assert!(text.contains("1000 rows each"), "{text}");
    assert!(text.contains("curl -s -X POST"), "{text}");
    let served = post(&addr, r#"{"rating": 4, "likes": 15, "length": 300}"#);
    let out = run_ok(&[
        "predict", "model_1", "--lake", &lake, "--format", "json", "--rating", "4", "--likes",
        "15", "--length", "300",
    ]);
    let local: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(served["prediction"], local["prediction"]);
    stop(child);

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
    stop(child);
}
