//! Answering `POST /predict/{model}`: one place for the router's handler and the server's
//! direct path ([`crate::Api`]).

use axum::{
    Json,
    body::Bytes,
    http::{HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use serde_json::json;

use crate::{ApiError, AppState, input, registry::Loaded};

/// Why the body could not be read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// Over `Limits::max_body_bytes`.
    TooLarge,
    Unreadable(String),
}

/// The cluster of one review.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Prediction<'a> {
    prediction: usize,
    model: &'a str,
    version: u64,
}

/// The clusters of a batch, in its order.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Predictions<'a> {
    predictions: Vec<usize>,
    model: &'a str,
    version: u64,
}

/// The answer to a prediction request.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(crate) enum Answer<'a> {
    One(Prediction<'a>),
    Batch(Predictions<'a>),
}

/// The response to a prediction request for model `name`, and whether `name` is a loaded model
/// (only then may it become a metrics label). The name is looked up in the loaded set before
/// anything else; it never reaches a path.
pub(crate) fn respond(
    state: &AppState,
    name: &str,
    content_type: Option<&HeaderValue>,
    body: Result<Bytes, BodyError>,
) -> (Response, bool) {
    let loaded = match state.registry.loaded(name) {
        Ok(loaded) => loaded,
        Err(unknown) => return (unknown.into_response(), false),
    };
    let response = answer(state, &loaded, content_type, body).unwrap_or_else(|e| e.into_response());
    (response, true)
}

fn answer(
    state: &AppState,
    loaded: &Loaded,
    content_type: Option<&HeaderValue>,
    body: Result<Bytes, BodyError>,
) -> Result<Response, ApiError> {
    let content_type = content_type.and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if !(mime.eq_ignore_ascii_case("application/json")
        || (mime.starts_with("application/") && mime.ends_with("+json")))
    {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "send the body as JSON with Content-Type: application/json (got {:?})",
                if content_type.is_empty() {
                    "none"
                } else {
                    content_type
                }
            ),
        ));
    }
    let body = body.map_err(|e| match e {
        BodyError::TooLarge => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is larger than {} bytes",
                state.limits.max_body_bytes
            ),
        )
        .with(json!({ "max_body_bytes": state.limits.max_body_bytes })),
        BodyError::Unreadable(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("cannot read the body: {e}"),
        ),
    })?;
    let doc = &loaded.model.doc;
    Ok(match input::parse(&body, state.limits.max_batch)? {
        input::Request::One(x) => Json(Answer::One(Prediction {
            prediction: loaded.model.predict(&x),
            model: &doc.name,
            version: doc.version,
        }))
        .into_response(),
        input::Request::Batch(rows) => Json(Answer::Batch(Predictions {
            predictions: rows.iter().map(|x| loaded.model.predict(x)).collect(),
            model: &doc.name,
            version: doc.version,
        }))
        .into_response(),
    })
}
