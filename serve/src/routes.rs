//! The router and its handlers.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{
    Extension, Json, Router,
    body::Bytes,
    extract::{
        DefaultBodyLimit, FromRequestParts, MatchedPath, Path, Request, State,
        rejection::BytesRejection,
    },
    http::{HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use serde_json::json;

use train::ModelStore;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    ApiError, Metrics, Registry, console,
    console::LakeView,
    openapi::{self, ErrorBody, ModelPath, PredictBody},
    predict::{self, Answer, BodyError},
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
    /// Where the models are: the console reads their plots, reports and past versions here.
    pub store: ModelStore,
    /// The lake behind the console's lake and SQL views; without it they answer 404.
    pub lake: Option<Arc<LakeView>>,
}

/// The prediction route, as the router and the metrics name it.
pub(crate) const PREDICT_ROUTE: &str = "/predict/{model}";

/// The model a response was about, for the metrics' `model` label.
#[derive(Debug, Clone)]
struct ModelLabel(String);

/// The documented routes: each handler is registered with its `#[utoipa::path]` declaration.
fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(predict))
        .routes(routes!(models))
        .routes(routes!(model))
        .routes(routes!(console::versions))
        .routes(routes!(console::plot))
        .routes(routes!(console::report))
        .routes(routes!(console::lake))
        .routes(routes!(console::sql))
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics))
        .routes(routes!(openapi_doc))
}

/// The API document of a server with `limits`.
pub fn api_document(limits: &Limits) -> utoipa::openapi::OpenApi {
    openapi::document(documented().into_openapi(), limits)
}

/// Builds the API, and the console's pages at `/`.
pub fn router(state: AppState) -> Router {
    let (router, doc) = documented().split_for_parts();
    let doc = Arc::new(openapi::document(doc, &state.limits));
    let json = OpenApiJson(Bytes::from(serde_json::to_vec(&*doc).unwrap_or_default()));
    let allowed = doc.clone();
    router
        .merge(console::pages())
        .fallback(not_found)
        .method_not_allowed_fallback(move |r: Request| method_not_allowed(allowed.clone(), r))
        .layer(Extension(json))
        .layer(DefaultBodyLimit::max(state.limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

/// The server's document, serialized once.
#[derive(Debug, Clone)]
struct OpenApiJson(Bytes);

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

/// Predict the cluster of one review or a batch
#[utoipa::path(post, path = "/predict/{model}", params(ModelPath),
    request_body(content = PredictBody, content_type = "application/json", examples(
        ("readme" = (value = json!({ "rating": 4, "likes": 15, "length": 300 }))),
        ("original_code" = (value = json!({ "review_rating": "4", "review_likes": "15", "review_length": "300" }))),
        ("text" = (value = json!({ "rating": 5, "likes": 0, "review_text": "Great app" }))),
        ("batch" = (value = json!({ "instances": [ { "rating": 4, "likes": 15, "length": 300 }, { "rating": 1, "likes": 0, "length": 20 } ] })))
    )),
    responses(
        (status = 200, description = "The predicted cluster(s)", body = Answer<'static>),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 404, description = "Unknown model; the body lists the available ones", body = ErrorBody),
        (status = 405, description = "Wrong method", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "A field is missing, not a number, or out of range; the body names it", body = ErrorBody)
    ))]
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

/// The loaded models and their key figures
#[utoipa::path(get, path = "/models", responses((status = 200, description = "Models", body = Object)))]
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

/// One model's whole document: parameters, centroids, figures and lineage
#[utoipa::path(get, path = "/models/{model}", params(ModelPath), responses(
    (status = 200, description = "The model document", body = Object),
    (status = 404, description = "Unknown model", body = ErrorBody)))]
async fn model(State(state): State<AppState>, Path(name): Path<String>) -> Response {
    match state.registry.loaded(&name) {
        Ok(l) => {
            let mut r = Json(public_doc(&l.model.doc)).into_response();
            r.extensions_mut().insert(ModelLabel(name));
            r
        }
        Err(unknown) => unknown.into_response(),
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

/// Liveness
#[utoipa::path(get, path = "/health", responses((status = 200, description = "The process is up", body = Object)))]
async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: at least one model is loaded
#[utoipa::path(get, path = "/ready", responses(
    (status = 200, description = "Ready", body = Object),
    (status = 503, description = "No model loaded", body = Object)))]
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

/// Prometheus metrics
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "OpenMetrics text", body = String, content_type = "application/openmetrics-text")))]
async fn metrics(State(state): State<AppState>) -> Response {
    state
        .metrics
        .models_loaded
        .set(state.registry.snapshot().len() as i64);
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        state.metrics.render(),
    )
        .into_response()
}

/// This document
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
async fn openapi_doc(Extension(doc): Extension<OpenApiJson>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], doc.0).into_response()
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

async fn method_not_allowed(doc: Arc<utoipa::openapi::OpenApi>, request: Request) -> ApiError {
    let allowed = openapi::allowed_methods(&doc, request.uri().path());
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The route the metrics and the direct path name (`PREDICT_ROUTE`, and its `/predict/`
    /// prefix in `api.rs`) is the one the handler declares.
    #[test]
    fn the_predict_route_is_the_declared_one() {
        assert_eq!(<__path_predict as utoipa::Path>::path(), PREDICT_ROUTE);
        assert_eq!(PREDICT_ROUTE.strip_suffix("{model}"), Some("/predict/"));
    }
}
