//! API errors: a status and a JSON body that says what to fix.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Extra machine-readable details (field, allowed range, available models...).
    pub details: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            details: Value::Null,
        }
    }

    pub fn with(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn unknown_model(name: &str, available: Vec<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            format!(
                "unknown model {name:?}; available: {}",
                if available.is_empty() {
                    "none loaded".to_string()
                } else {
                    available.join(", ")
                }
            ),
        )
        .with(json!({ "available": available }))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": self.message,
            "status": self.status.as_u16(),
        });
        if let (Value::Object(extra), Some(obj)) = (self.details, body.as_object_mut()) {
            obj.extend(extra);
        }
        (self.status, Json(body)).into_response()
    }
}
