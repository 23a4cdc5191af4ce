//! What a hostile or broken client, and a broken model, cannot do to the server: hold sockets
//! with half a request, trickle a body, exhaust connections, stall shutdown, or take other
//! models down with one bad document.

mod common;

use std::time::{Duration, Instant};

use common::*;
use object_store::{ObjectStoreExt, PutPayload, path::Path};
use serve::{Limits, Registry, server::ServeOptions};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Everything the server sends until it closes the connection, or `None` if it is still open
/// after `wait`.
async fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(wait, stream.read_to_end(&mut out)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
        Err(_) => None,
    }
}

async fn served(
    options: ServeOptions,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (_, store) = memory_store();
    publish(&store, "model_1", &[SHORT, LONG]).await;
    start_with(store, options).await
}

#[tokio::test]
async fn half_a_header_and_an_idle_connection_are_closed_at_the_header_deadline() {
    let (addr, _stop, _server) = served(ServeOptions {
        header_timeout: Duration::from_millis(300),
        ..Default::default()
    })
    .await;
    let mut half = TcpStream::connect(&addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    assert!(
        read_until_closed(&mut half, Duration::from_secs(5))
            .await
            .is_some(),
        "a connection that sent half a header is still open after 5 s"
    );
    assert!(
        read_until_closed(&mut idle, Duration::from_secs(5))
            .await
            .is_some(),
        "an idle connection is still open after 5 s"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // A complete request on a fresh connection is answered as usual.
    let mut ok = TcpStream::connect(&addr).await.unwrap();
    ok.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut ok, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn a_body_that_trickles_in_is_answered_408_at_the_request_deadline() {
    let (addr, _stop, _server) = served(ServeOptions {
        limits: Limits {
            request_timeout: Duration::from_millis(300),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    for path in ["/predict/model_1", "/predict/model%5F1"] {
        // The direct path and the router's.
        let mut slow = TcpStream::connect(&addr).await.unwrap();
        slow.write_all(
            format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"rating\"").as_bytes(),
        )
        .await
        .unwrap();
        let answer = read_until_closed(&mut slow, Duration::from_secs(5))
            .await
            .unwrap_or_else(|| panic!("{path}: no answer 5 s after the body stalled"));
        assert!(answer.starts_with("HTTP/1.1 408"), "{path}: {answer}");
        assert!(answer.contains("did not arrive within"), "{answer}");
    }
    let metrics = metrics_text(&format!("http://{addr}")).await;
    assert!(
        metrics.contains("reviewlake_request_timeouts_total 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn connections_over_the_limit_get_a_503_and_the_rest_are_served() {
    let (addr, _stop, _server) = served(ServeOptions {
        max_connections: 2,
        ..Default::default()
    })
    .await;
    let held1 = TcpStream::connect(&addr).await.unwrap();
    let held2 = TcpStream::connect(&addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(&addr).await.unwrap();
    let answer = read_until_closed(&mut third, Duration::from_secs(5))
        .await
        .expect("the connection over the limit was neither answered nor closed");
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["status"], 503);
    // A freed slot serves again.
    drop((held1, held2));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut s, Duration::from_secs(5))
            .await
            .unwrap();
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "never served again: {answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn shutdown_waits_for_a_stalled_request_only_until_the_drain_deadline() {
    let (addr, stop, server) = served(ServeOptions {
        drain_timeout: Duration::from_millis(300),
        limits: Limits {
            request_timeout: Duration::from_secs(60),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut stalled = TcpStream::connect(&addr).await.unwrap();
    stalled
        .write_all(b"POST /predict/model_1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("the server did not stop within 5 s of shutdown with a stalled request")
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn one_unreadable_model_stops_no_other() {
    let (raw, store) = memory_store();
    publish(&store, "model_1", &[SHORT, LONG]).await;
    publish(&store, "model_2", &[SHORT, LONG]).await;
    // model_2's pointer is garbage; model_3 has two features where requests give three.
    raw.put(
        &Path::from("models/model_2/CURRENT"),
        PutPayload::from_static(b"{not json"),
    )
    .await
    .unwrap();
    let mut two = doc("model_3", &[]);
    two.features = vec!["rating".into(), "likes".into()];
    two.centroids = vec![vec![1.0, 2.0], vec![3.0, 4.0]];
    two.model_centroids = two.centroids.clone();
    two.cluster_sizes = vec![1, 1];
    two.version = 1;
    store
        .publish(train::artifact::NewVersion {
            doc: &mut two,
            lineage: &[],
            plot_svg: String::new(),
            report_md: String::new(),
        })
        .await
        .unwrap();
    let registry = Registry::default();
    let report = registry.reload(&store).await;
    assert_eq!(registry.names(), ["model_1"]);
    let refused: Vec<&str> = report.refused.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(refused, ["model_2", "model_3"], "{report:?}");
    assert!(report.refused[1].1.contains("2 features"), "{report:?}");
    // The server starts and serves model_1.
    let (base, _stop, _server) = start(store, Duration::from_secs(60)).await;
    let r = reqwest::Client::new()
        .post(format!("{base}/predict/model_1"))
        .json(&serde_json::json!({"rating": 4, "likes": 1, "length": 20}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let doc: serde_json::Value = reqwest::get(format!("{base}/models/model_1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["lake"].is_object(), "{doc}");
    assert!(
        doc["lake"].get("location").is_none(),
        "the model document shows the lake's location: {doc}"
    );
}
