//! The API through its router (`oneshot`) and over a real socket, with models in an in-memory
//! store: every route, every error, the OpenAPI document against the router, and a reload under
//! concurrent load.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use object_store::ObjectStoreExt;
use serde_json::{Value, json};
use serve::{Api, AppState, Limits, Metrics, Registry, openapi, router};
use tower::ServiceExt;

mod common;

use common::*;
async fn call<S>(
    app: &S,
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: &str,
) -> (StatusCode, Value, String)
where
    S: tower::Service<Request<Body>, Response = axum::response::Response, Error = Infallible>
        + Clone,
{
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).to_string();
    let json = if ct.starts_with("application/json") {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{uri}: {e}: {text}"))
    } else {
        Value::Null
    };
    (status, json, text)
}

async fn post(app: &Api, uri: &str, body: &str) -> (StatusCode, Value) {
    let (s, v, _) = call(app, Method::POST, uri, Some("application/json"), body).await;
    (s, v)
}

#[tokio::test]
async fn predictions_in_every_accepted_shape() {
    let (app, _) = app(Limits::default()).await;
    for body in [
        r#"{"rating": 4, "likes": 1, "length": 25}"#,
        r#"{"review_rating": "4", "review_likes": "1", "review_length": "25"}"#,
        r#"{"rating": 4, "likes": "1", "review_text": "a short review, 25 chars"}"#,
    ] {
        let (s, v) = post(&app, "/predict/model_1", body).await;
        assert_eq!(s, StatusCode::OK, "{body}: {v}");
        assert_eq!(
            v,
            json!({"prediction": 0, "model": "model_1", "version": 1}),
            "{body}"
        );
    }
    let (s, v) = post(
        &app,
        "/predict/model_2",
        r#"{"rating": 4, "likes": 1, "length": 25}"#,
    )
    .await;
    assert_eq!((s, &v["prediction"]), (StatusCode::OK, &json!(1)));
    let batch = r#"[{"rating": 4, "likes": 1, "length": 25}, {"review_rating": 1, "review_likes": 9, "review_length": 380}]"#;
    let (s, v) = post(&app, "/predict/model_1", batch).await;
    assert_eq!(
        (s, v),
        (
            StatusCode::OK,
            json!({"predictions": [0, 1], "model": "model_1", "version": 1})
        )
    );
    let (_, v2) = post(
        &app,
        "/predict/model_1",
        &format!(r#"{{"instances": {batch}}}"#),
    )
    .await;
    assert_eq!(v2["predictions"], json!([0, 1]));
    // Content-Type parameters are fine.
    let (s, _, _) = call(
        &app,
        Method::POST,
        "/predict/model_1",
        Some("application/json; charset=utf-8"),
        r#"{"rating":1,"likes":0,"length":1}"#,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn every_error_is_json_with_its_status() {
    let limits = Limits {
        max_body_bytes: 256,
        max_batch: 3,
        ..Default::default()
    };
    let (state, _) = app_state(limits).await;
    let app = Api::new(state.clone());
    // The router alone answers what `Api` sends it, and prediction requests too (for names the
    // direct path leaves to it); both must give every answer the same way.
    let plain = router(state);
    let ok = r#"{"rating": 4, "likes": 1, "length": 25}"#;
    // (method, path, content type, body, expected status, text the message must hold)
    type Case<'a> = (
        Method,
        &'a str,
        Option<&'a str>,
        String,
        StatusCode,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            Method::POST,
            "/predict/model_1",
            Some("application/json"),
            "{not json".into(),
            StatusCode::BAD_REQUEST,
            "malformed JSON",
        ),
        (
            Method::POST,
            "/predict/model_1",
            Some("text/plain"),
            ok.into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        ),
        (
            Method::POST,
            "/predict/model_1",
            None,
            ok.into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        ),
        (
            Method::POST,
            "/predict/model_1",
            Some("application/json"),
            r#"{"likes": 1, "length": 2}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"rating\"",
        ),
        (
            Method::POST,
            "/predict/model_1",
            Some("application/json"),
            r#"{"rating": 0, "likes": 1, "length": 2}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "allowed: 1 to 5",
        ),
        (
            Method::POST,
            "/predict/model_1",
            Some("application/json"),
            r#"{"rating": 3, "likes": -1, "length": 2}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"likes\"",
        ),
        (
            Method::POST,
            "/predict/model_1",
            Some("application/json"),
            r#"{"rating": 3, "likes": 1}"#.into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"length\"",
        ),
        (
            Method::POST,
            "/predict/model_1",
            Some("application/json"),
            format!("[{ok},{ok},{ok},{ok}]"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 3",
        ),
        (
            Method::POST,
            "/predict/model_1",
            Some("application/json"),
            format!("{{\"pad\": \"{}\"}}", "x".repeat(400)),
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than 256",
        ),
        (
            Method::POST,
            "/predict/nope",
            Some("application/json"),
            ok.into(),
            StatusCode::NOT_FOUND,
            "available: model_1, model_2",
        ),
        (
            Method::POST,
            "/predict/..%2F..%2Fetc",
            Some("application/json"),
            ok.into(),
            StatusCode::NOT_FOUND,
            "unknown model",
        ),
        (
            Method::GET,
            "/predict/model_1",
            None,
            String::new(),
            StatusCode::METHOD_NOT_ALLOWED,
            "allowed: POST",
        ),
        (
            Method::DELETE,
            "/models",
            None,
            String::new(),
            StatusCode::METHOD_NOT_ALLOWED,
            "allowed: GET",
        ),
        (
            Method::GET,
            "/models/nope",
            None,
            String::new(),
            StatusCode::NOT_FOUND,
            "unknown model",
        ),
        (
            Method::GET,
            "/no/such/route",
            None,
            String::new(),
            StatusCode::NOT_FOUND,
            "no route",
        ),
    ];
    for (method, uri, ct, body, status, needle) in cases {
        let (s, v, text) = call(&app, method.clone(), uri, ct, &body).await;
        assert_eq!(s, status, "{method} {uri} {body:.60}: {text}");
        assert_eq!(v["status"], status.as_u16(), "{method} {uri}: {text}");
        let msg = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {text}"));
        assert!(
            msg.contains(needle),
            "{method} {uri}: {msg:?} lacks {needle:?}"
        );
        let (s2, v2, _) = call(&plain, method.clone(), uri, ct, &body).await;
        assert_eq!((s2, v2), (s, v), "{method} {uri}: router and Api differ");
    }
    // A percent-encoded name takes the router's path and predicts as the plain name does.
    let (s, v, _) = call(
        &app,
        Method::POST,
        "/predict/model%5F1",
        Some("application/json"),
        ok,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v, post(&app, "/predict/model_1", ok).await.1);
    let (_, v) = post(&app, "/predict/nope", ok).await;
    assert_eq!(v["available"], json!(["model_1", "model_2"]));
    let (_, v) = post(
        &app,
        "/predict/model_1",
        r#"{"rating": 9, "likes": 1, "length": 2}"#,
    )
    .await;
    assert_eq!(
        (v["field"].as_str(), v["allowed"]["min"].as_f64()),
        (Some("rating"), Some(1.0))
    );
}

#[tokio::test]
async fn models_health_ready_metrics() {
    let (app, _) = app(Limits::default()).await;
    let (s, v, _) = call(&app, Method::GET, "/models", None, "").await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["model_1", "model_2"]);
    assert_eq!(v["models"][0]["centroids"], json!([SHORT, LONG]));
    let (s, v, _) = call(&app, Method::GET, "/models/model_2", None, "").await;
    assert_eq!(
        (s, v["name"].as_str(), v["version"].as_u64()),
        (StatusCode::OK, Some("model_2"), Some(1))
    );
    assert_eq!(v["cohort"]["sql"], "SELECT 1");
    let (s, v, _) = call(&app, Method::GET, "/health", None, "").await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")));
    let (s, v, _) = call(&app, Method::GET, "/ready", None, "").await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ready")));

    post(
        &app,
        "/predict/model_1",
        r#"{"rating": 4, "likes": 1, "length": 25}"#,
    )
    .await;
    post(&app, "/predict/model_1", r#"{"rating": 4}"#).await;
    post(&app, "/predict/../../etc/passwd", r#"{}"#).await;
    let (s, _, text) = call(&app, Method::GET, "/metrics", None, "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains(r#"reviewlake_http_requests_total{route="/predict/{model}",model="model_1",status="200"} 1"#), "{text}");
    assert!(text.contains(r#"reviewlake_http_requests_total{route="/predict/{model}",model="model_1",status="422"} 1"#), "{text}");
    assert!(text.contains(r#"reviewlake_http_request_duration_seconds_count{route="/predict/{model}",model="model_1",status="200"} 1"#), "{text}");
    assert!(
        !text.contains("passwd"),
        "request paths must not become label values: {text}"
    );
    assert!(text.contains("reviewlake_models_loaded 2"));

    // With nothing loaded the server is alive but not ready.
    let empty = Api::new(AppState {
        registry: Arc::new(Registry::default()),
        metrics: Arc::new(Metrics::default()),
        limits: Limits::default(),
        store: memory_store().1,
        lake: None,
    });
    let (s, v, _) = call(&empty, Method::GET, "/ready", None, "").await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("not ready"))
    );
    let (s, _, _) = call(&empty, Method::GET, "/health", None, "").await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn openapi_document_matches_the_router() {
    let (app, _) = app(Limits::default()).await;
    let (s, doc, _) = call(&app, Method::GET, "/openapi.json", None, "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let routes = documented_routes(&doc);
    assert!(routes.len() >= 12, "{routes:?}");
    let paths = &doc["paths"];
    for (method, path) in routes {
        let uri = path.replace("{model}", "model_1");
        let m: Method = method.to_uppercase().parse().unwrap();
        let body = r#"{"rating": 4, "likes": 1, "length": 25}"#;
        let (s, _, text) = call(&app, m.clone(), &uri, Some("application/json"), body).await;
        let documented_codes: Vec<&String> = paths[&path][&method]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert!(documented_codes.contains(&&"200".to_string()));
        // This server has no lake: its lake routes answer their documented 404.
        assert!(
            documented_codes.contains(&&s.as_u16().to_string()),
            "{m} {uri} answers {s}, which its document does not list: {text}"
        );
        // Every other method on a documented path is a 405 naming the allowed ones, not a 404.
        for other in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            if !paths[&path]
                .as_object()
                .unwrap()
                .contains_key(&other.as_str().to_lowercase())
            {
                let (s, v, _) =
                    call(&app, other.clone(), &uri, Some("application/json"), body).await;
                assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{other} {uri}");
                assert!(
                    v["allowed"]
                        .as_array()
                        .unwrap()
                        .contains(&json!(method.to_uppercase())),
                    "{other} {uri}: {v}"
                );
            }
        }
    }
}

/// Every (method, path template) the document lists.
fn documented_routes(doc: &Value) -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), p.clone()))
        })
        .collect();
    routes.sort();
    routes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_socket_and_a_reload_under_load_fail_no_request() {
    let (raw, store) = memory_store();
    publish(&store, "model_1", &[SHORT, LONG]).await;
    let (base, stop, server) = start(store.clone(), Duration::from_millis(100)).await;
    let client = reqwest::Client::new();
    let url = format!("{base}/predict/model_1");
    let r = predict_one(&client, &url).await;
    assert_eq!(
        r,
        json!({"prediction": 0, "model": "model_1", "version": 1})
    );

    // Load from 8 clients while new versions are published (swapping the clusters' order each
    // time) and a damaged one is refused.
    let done = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let max_version = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..8 {
        let (client, url, done, ok, failed, max_version) = (
            client.clone(),
            url.clone(),
            done.clone(),
            ok.clone(),
            failed.clone(),
            max_version.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut n = 0;
            while !done.load(Ordering::Relaxed) && n < 20_000 {
                n += 1;
                let resp = client
                    .post(&url)
                    .json(&json!({"rating": 4, "likes": 1, "length": 25}))
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == 200 => {
                        let v: Value = r.json().await.unwrap();
                        // Odd versions put the short cluster first, even ones second.
                        let version = v["version"].as_u64().unwrap();
                        let expected = if version % 2 == 1 { 0 } else { 1 };
                        if v["prediction"] == expected {
                            ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                        max_version.fetch_max(version, Ordering::Relaxed);
                    }
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for round in 0..4 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let centroids = if round % 2 == 0 {
            [LONG, SHORT]
        } else {
            [SHORT, LONG]
        };
        publish(&store, "model_1", &centroids).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        max_version.load(Ordering::Relaxed),
        5,
        "every new version was swapped in"
    );

    // A pointer to a damaged version is refused; version 5 keeps serving.
    let current = store.current("model_1").await.unwrap().unwrap();
    let broken = train::Current {
        version: 6,
        sha256: "0".repeat(64),
        ..current
    };
    raw.put(
        &"models/model_1/CURRENT".into(),
        serde_json::to_vec(&broken).unwrap().into(),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    done.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    assert_eq!(
        failed.load(Ordering::Relaxed),
        0,
        "no request may fail during swaps"
    );
    assert!(
        ok.load(Ordering::Relaxed) > 100,
        "the load ran: {}",
        ok.load(Ordering::Relaxed)
    );
    let r = predict_one(&client, &url).await;
    assert_eq!(
        r["version"], 5,
        "the damaged version must not replace the good one"
    );
    let metrics = metrics_text(&base).await;
    assert!(
        metrics.contains("reviewlake_model_reloads_total 4"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("reviewlake_model_reload_failures_total 0"),
        "{metrics}"
    );

    stop.send(()).unwrap();
    server.await.unwrap();
    assert!(
        client.get(format!("{base}/health")).send().await.is_err(),
        "the server stopped"
    );
}

/// The hand-testing files in `api/` cover every route, and the Postman collection holds the same
/// requests as the `.http` file.
#[test]
fn http_file_and_postman_collection_cover_every_route() {
    let http = include_str!("../../api/reviewlake.http");
    let postman: Value =
        serde_json::from_str(include_str!("../../api/reviewlake.postman_collection.json")).unwrap();
    let from_http: Vec<(String, String)> = http
        .lines()
        .filter_map(|l| {
            let (m, u) = l.split_once(' ')?;
            ["GET", "POST"]
                .contains(&m)
                .then(|| (m.to_string(), u.replace("{{base}}", "")))
        })
        .collect();
    let from_postman: Vec<(String, String)> = postman["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let r = &i["request"];
            (
                r["method"].as_str().unwrap().to_string(),
                r["url"]["raw"].as_str().unwrap().replace("{{base}}", ""),
            )
        })
        .collect();
    assert_eq!(
        from_http, from_postman,
        "regenerate the Postman collection from api/reviewlake.http"
    );
    let doc = serde_json::to_value(serve::api_document(&Limits::default())).unwrap();
    for (method, path) in documented_routes(&doc) {
        assert!(
            from_http
                .iter()
                .any(|(m, u)| m.eq_ignore_ascii_case(&method) && openapi::matches(&path, u)),
            "api/reviewlake.http has no example for {method} {path}"
        );
    }
    for status in ["400", "415", "422", "404", "405"] {
        assert!(
            http.contains(&format!("Error {status}")),
            "no example of error {status}"
        );
    }
}
