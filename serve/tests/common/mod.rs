//! What the serve tests share: model documents, an in-memory model store, the API over it and a
//! server on a real socket.

#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

use object_store::{ObjectStore, memory::InMemory};
use serde_json::json;
use serve::{Api, AppState, Limits, Metrics, Registry, server};
use train::{ModelDoc, ModelStore, artifact::NewVersion};

/// A model document with the given raw-unit centroids (transform none).
pub(crate) fn doc(name: &str, centroids: &[[f64; 3]]) -> ModelDoc {
    serde_json::from_value(json!({
        "format_version": 1, "name": name, "version": 0, "id": "",
        "algorithm": {"name": "k-means", "engine": "native", "init": "k-means++", "k": centroids.len(),
            "seed": 42, "n_init": 1, "best_init": 0, "tolerance": 1e-4, "max_iter": 300},
        "features": ["rating", "likes", "length"],
        "transform": {"kind": "none"},
        "centroids": centroids, "model_centroids": centroids,
        "cost": 1.0, "cluster_sizes": vec![10; centroids.len()], "silhouette": 0.5,
        "iterations": 3, "converged": true, "rows_used": 30, "rows_excluded": 0,
        "cohort": {"file": "test", "cohort_rows": 30, "sql": "SELECT 1", "sql_sha256": ""},
        "lake": {"location": "memory:///", "files": 0, "files_sha256": "", "partitions": []},
        "timings": {"query_seconds": 0.0, "fit_seconds": 0.0},
        "created_at": "2026-01-01T00:00:00Z", "reviewlake_version": "test"
    }))
    .unwrap()
}

pub(crate) const SHORT: [f64; 3] = [4.0, 1.0, 20.0];
pub(crate) const LONG: [f64; 3] = [2.0, 5.0, 400.0];

pub(crate) async fn publish(store: &ModelStore, name: &str, centroids: &[[f64; 3]]) -> u64 {
    let mut d = doc(name, centroids);
    d.version = store.next_version(name).await.unwrap();
    store
        .publish(NewVersion {
            doc: &mut d,
            lineage: &[],
            plot_svg: "<svg/>".into(),
            report_md: "# test".into(),
        })
        .await
        .unwrap()
        .version
}

pub(crate) fn memory_store() -> (Arc<dyn ObjectStore>, ModelStore) {
    let raw: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    (raw.clone(), ModelStore::new(raw, "memory:///"))
}

/// The API over two models, and its state (for building the plain router beside it).
pub(crate) async fn app_state(limits: Limits) -> (AppState, ModelStore) {
    let (_, store) = memory_store();
    publish(&store, "model_1", &[SHORT, LONG]).await;
    publish(&store, "model_2", &[LONG, SHORT]).await;
    let registry = Arc::new(Registry::default());
    registry.reload(&store).await;
    let state = AppState {
        registry,
        metrics: Arc::new(Metrics::default()),
        limits,
        store: store.clone(),
        lake: None,
    };
    (state, store)
}

pub(crate) async fn app(limits: Limits) -> (Api, ModelStore) {
    let (state, store) = app_state(limits).await;
    (Api::new(state), store)
}

/// Starts the real server on an ephemeral port; returns its base URL and a shutdown trigger.
pub(crate) async fn start(
    store: ModelStore,
    reload: Duration,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let options = server::ServeOptions {
        reload_interval: reload,
        ..Default::default()
    };
    let (addr, stop, handle) = start_with(store, options).await;
    (format!("http://{addr}"), stop, handle)
}

/// A server on a real socket with `options` (its `bind` is replaced by a free port).
pub(crate) async fn start_with(
    store: ModelStore,
    options: server::ServeOptions,
) -> (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let options = server::ServeOptions {
        bind: "127.0.0.1:0".into(),
        ..options
    };
    let handle = tokio::spawn(async move {
        server::run(store, None, options, |a| addr_tx.send(a).unwrap(), async {
            let _ = stop_rx.await;
        })
        .await
        .unwrap();
    });
    let addr = addr_rx.await.unwrap();
    (addr.to_string(), stop_tx, handle)
}

/// The JSON answer to a prediction of `{"rating": 4, "likes": 1, "length": 25}` at `url`.
pub(crate) async fn predict_one(client: &reqwest::Client, url: &str) -> serde_json::Value {
    client
        .post(url)
        .json(&serde_json::json!({"rating": 4, "likes": 1, "length": 25}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The server's `/metrics` text; `base` is `http://host:port`.
pub(crate) async fn metrics_text(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
