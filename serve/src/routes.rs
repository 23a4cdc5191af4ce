//! The router and its handlers.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{
        DefaultBodyLimit, FromRequestParts, MatchedPath, Path, Request, State,
        rejection::BytesRejection,
    },
    http::{HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::json;

use crate::{
    ApiError, Metrics, Registry, openapi,
    predict::{self, BodyError},
};

/// Limits of the prediction route.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted body, in bytes.
    pub max_body_bytes: usize,
    /// Most reviews in one batch.
    pub max_batch: usize,
    /// Longest time from a request's head to its answer, body included; then 408.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            max_batch: 1000,
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub registry: Arc<Registry>,
    pub metrics: Arc<Metrics>,
    pub limits: Limits,
}

/// The prediction route, as the router and the metrics name it.
pub(crate) const PREDICT_ROUTE: &str = "/predict/{model}";

/// The model a response was about, for the metrics' `model` label.
#[derive(Debug, Clone)]
struct ModelLabel(String);

/// Builds the API.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(PREDICT_ROUTE, post(predict))
        .route("/models", get(models))
        .route("/models/{model}", get(model))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_doc))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let response = next.run(request).await;
    let model = response
        .extensions()
        .get::<ModelLabel>()
        .map_or("", |m| m.0.as_str());
    let route = route.as_ref().map_or("unmatched", |p| p.as_str());
    observe(&state, &method, route, model, response.status(), started);
    response
}

/// Records one answered request in the metrics and the debug log.
pub(crate) fn observe(
    state: &AppState,
    method: &Method,
    route: &str,
    model: &str,
    status: StatusCode,
    started: Instant,
) {
    let elapsed = started.elapsed();
    let status = status.as_u16();
    state.metrics.record(route, model, status, elapsed);
    tracing::debug!(%method, route, model, status, micros = elapsed.as_micros() as u64, "request");
}

/// The request's `Content-Type`, taken alone (the `HeaderMap` extractor would copy every header).
struct ContentType(Option<HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for ContentType {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(header::CONTENT_TYPE).cloned()))
    }
}

async fn predict(
    State(state): State<AppState>,
    Path(name): Path<String>,
    content_type: ContentType,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            BodyError::TooLarge
        } else {
            BodyError::Unreadable(e.to_string())
        }
    });
    let (mut response, known) = predict::respond(&state, &name, content_type.0.as_ref(), body);
    if known {
        response.extensions_mut().insert(ModelLabel(name));
    }
    response
}

async fn models(State(state): State<AppState>) -> Json<serde_json::Value> {
    let models: Vec<_> = state
        .registry
        .snapshot()
        .values()
        .map(|l| {
            let d = &l.model.doc;
            json!({
                "name": d.name,
                "version": d.version,
                "id": d.id,
                "k": d.algorithm.k,
                "features": d.features,
                "transform": d.transform.name(),
                "centroids": d.centroids,
                "cluster_sizes": d.cluster_sizes,
                "cost": d.cost,
                "silhouette": d.silhouette,
                "rows_used": d.rows_used,
                "created_at": d.created_at,
            })
        })
        .collect();
    Json(json!({ "models": models }))
}

async fn model(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.registry.get(&name) {
        Some(l) => {
            let mut r = Json(public_doc(&l.model.doc)).into_response();
            r.extensions_mut().insert(ModelLabel(name));
            r
        }
        None => ApiError::unknown_model(&name, state.registry.names()).into_response(),
    }
}

/// A model document as clients see it: without the lake's location, which is a storage path
/// (or URL) of the deployment, not something to publish.
fn public_doc(doc: &train::ModelDoc) -> serde_json::Value {
    let mut value = serde_json::to_value(doc).unwrap_or_default();
    if let Some(lake) = value.get_mut("lake").and_then(|l| l.as_object_mut()) {
        lake.remove("location");
    }
    value
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Response {
    let snapshot = state.registry.snapshot();
    let models: Vec<_> = snapshot
        .values()
        .map(|l| json!({ "name": l.model.doc.name, "version": l.model.doc.version }))
        .collect();
    if models.is_empty() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "not ready", "reason": "no model loaded", "models": models })),
        )
            .into_response()
    } else {
        Json(json!({ "status": "ready", "models": models })).into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(state.registry.snapshot().len()),
    )
        .into_response()
}

async fn openapi_doc(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(openapi::document(&state.limits))
}

async fn not_found(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!(
            "no route {} {}; see GET /openapi.json",
            request.method(),
            request.uri().path()
        ),
    )
}

async fn method_not_allowed(request: Request) -> ApiError {
    let allowed = openapi::ROUTES
        .iter()
        .filter(|(_, path)| openapi::matches(path, request.uri().path()))
        .map(|(m, _)| m.to_uppercase())
        .collect::<Vec<_>>();
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "method {} is not allowed on {}; allowed: {}",
            request.method(),
            request.uri().path(),
            allowed.join(", ")
        ),
    )
    .with(json!({ "allowed": allowed }))
}
