//! The OpenAPI 3 document of the API. [`ROUTES`] is the list the router is checked against.

use serde_json::{Value, json};

use crate::{
    Limits,
    input::{LENGTH_RANGE, LIKES_RANGE, RATING_RANGE, string_pattern},
};

/// Every route the API serves, as (method, path template).
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/predict/{model}"),
    ("get", "/models"),
    ("get", "/models/{model}"),
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

/// Whether a request path matches a template with `{param}` segments.
pub fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(a, b)| (a.starts_with('{') && !b.is_empty()) || a == b)
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

/// The document.
pub fn document(limits: &Limits) -> Value {
    let number_or_string = |description: &str, (lo, hi): (f64, f64)| {
        json!({
            "description": format!("{description} ({lo} to {hi}); a number or a numeric string"),
            "oneOf": [
                { "type": "number", "minimum": lo, "maximum": hi },
                { "type": "string", "pattern": string_pattern((lo, hi)) }
            ]
        })
    };
    let model_param = json!({
        "name": "model", "in": "path", "required": true,
        "description": "A loaded model's name (GET /models lists them).",
        "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" }
    });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "reviewlake prediction API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Predicts the k-means cluster of app reviews with the models trained by `reviewlake train`."
        },
        "paths": {
            "/predict/{model}": { "post": {
                "summary": "Predict the cluster of one review or a batch",
                "parameters": [model_param],
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "oneOf": [
                        { "$ref": "#/components/schemas/Review" },
                        { "type": "array", "minItems": 1, "maxItems": limits.max_batch, "items": { "$ref": "#/components/schemas/Review" } },
                        { "type": "object", "required": ["instances"], "properties": {
                            "instances": { "type": "array", "minItems": 1, "maxItems": limits.max_batch, "items": { "$ref": "#/components/schemas/Review" } } } }
                    ] },
                    "examples": {
                        "readme": { "value": { "rating": 4, "likes": 15, "length": 300 } },
                        "original_code": { "value": { "review_rating": "4", "review_likes": "15", "review_length": "300" } },
                        "text": { "value": { "rating": 5, "likes": 0, "review_text": "Great app" } },
                        "batch": { "value": { "instances": [ { "rating": 4, "likes": 15, "length": 300 }, { "rating": 1, "likes": 0, "length": 20 } ] } }
                    } } } },
                "responses": {
                    "200": { "description": "The predicted cluster(s)", "content": { "application/json": { "schema": {
                        "oneOf": [ { "$ref": "#/components/schemas/Prediction" }, { "$ref": "#/components/schemas/Predictions" } ] } } } },
                    "400": error_response("Malformed JSON"),
                    "404": error_response("Unknown model; the body lists the available ones"),
                    "405": error_response("Wrong method"),
                    "413": error_response(&format!("Body larger than {} bytes", limits.max_body_bytes)),
                    "415": error_response("Content-Type is not application/json"),
                    "422": error_response("A field is missing, not a number, or out of range; the body names it")
                } } },
            "/models": { "get": {
                "summary": "The loaded models and their key figures",
                "responses": { "200": { "description": "Models", "content": { "application/json": { "schema": { "type": "object" } } } } } } },
            "/models/{model}": { "get": {
                "summary": "One model's whole document: parameters, centroids, figures and lineage",
                "parameters": [model_param],
                "responses": {
                    "200": { "description": "The model document", "content": { "application/json": { "schema": { "type": "object" } } } },
                    "404": error_response("Unknown model") } } },
            "/health": { "get": {
                "summary": "Liveness",
                "responses": { "200": { "description": "The process is up", "content": { "application/json": { "schema": { "type": "object" } } } } } } },
            "/ready": { "get": {
                "summary": "Readiness: at least one model is loaded",
                "responses": {
                    "200": { "description": "Ready", "content": { "application/json": { "schema": { "type": "object" } } } },
                    "503": { "description": "No model loaded", "content": { "application/json": { "schema": { "type": "object" } } } } } } },
            "/metrics": { "get": {
                "summary": "Prometheus metrics",
                "responses": { "200": { "description": "Text exposition format", "content": { "text/plain": { "schema": { "type": "string" } } } } } } },
            "/openapi.json": { "get": {
                "summary": "This document",
                "responses": { "200": { "description": "OpenAPI 3", "content": { "application/json": { "schema": { "type": "object" } } } } } } }
        },
        "components": { "schemas": {
            "Review": {
                "type": "object",
                "description": "One review: rating, likes and length (or review_text), in either spelling.",
                "properties": {
                    "rating": number_or_string("Star rating", RATING_RANGE),
                    "review_rating": number_or_string("Star rating", RATING_RANGE),
                    "likes": number_or_string("Thumbs-up count", LIKES_RANGE),
                    "review_likes": number_or_string("Thumbs-up count", LIKES_RANGE),
                    "length": number_or_string("Review length in characters", LENGTH_RANGE),
                    "review_length": number_or_string("Review length in characters", LENGTH_RANGE),
                    "review_text": { "type": "string", "nullable": true, "description": "The text; its length in characters is used when no length is given (null: 0)" },
                    "text": { "type": "string", "nullable": true, "description": "Another spelling of review_text" }
                },
                "allOf": [
                    { "anyOf": [{ "required": ["rating"] }, { "required": ["review_rating"] }] },
                    { "anyOf": [{ "required": ["likes"] }, { "required": ["review_likes"] }] },
                    { "anyOf": [{ "required": ["length"] }, { "required": ["review_length"] },
                                { "required": ["review_text"] }, { "required": ["text"] }] }
                ]
            },
            "Prediction": { "type": "object", "required": ["prediction", "model", "version"], "properties": {
                "prediction": { "type": "integer" }, "model": { "type": "string" }, "version": { "type": "integer" } } },
            "Predictions": { "type": "object", "required": ["predictions", "model", "version"], "properties": {
                "predictions": { "type": "array", "items": { "type": "integer" } }, "model": { "type": "string" }, "version": { "type": "integer" } } },
            "Error": { "type": "object", "required": ["error", "status"], "properties": {
                "error": { "type": "string" }, "status": { "type": "integer" },
                "field": { "type": "string" }, "available": { "type": "array", "items": { "type": "string" } } } }
        } }
    })
}
