//! Prediction requests as the original clients and newer ones send them.
//!
//! One review is an object with `rating`, `likes` and `length` (the original README's spelling)
//! or `review_rating`, `review_likes` and `review_length` (the original code's), each a number or
//! a numeric string; `review_text` (or `text`) may stand in for the length, counted in characters.
//! A batch is a JSON array of such objects or `{"instances": [...]}`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::ApiError;

/// Accepted ranges, also published in the OpenAPI document.
pub const RATING_RANGE: (f64, f64) = (1.0, 5.0);
pub const LIKES_RANGE: (f64, f64) = (0.0, 1e9);
pub const LENGTH_RANGE: (f64, f64) = (0.0, 1e6);

/// A parsed request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    One([f64; 3]),
    Batch(Vec<[f64; 3]>),
}

/// The most common body, `{"rating": n, "likes": n, "length": n}` with numbers, parsed without
/// building a JSON tree; anything else takes the general path.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Plain {
    rating: f64,
    likes: f64,
    length: f64,
}

/// Parses a JSON body; `max_batch` bounds a batch's size.
pub fn parse(body: &[u8], max_batch: usize) -> Result<Request, ApiError> {
    if let Ok(p) = serde_json::from_slice::<Plain>(body) {
        let in_range = |x: f64, (lo, hi): (f64, f64)| x >= lo && x <= hi;
        if in_range(p.rating, RATING_RANGE)
            && in_range(p.likes, LIKES_RANGE)
            && in_range(p.length, LENGTH_RANGE)
        {
            return Ok(Request::One([p.rating, p.likes, p.length]));
        }
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "malformed JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    match value {
        Value::Array(items) => batch(&items, max_batch).map(Request::Batch),
        Value::Object(ref map) if map.contains_key("instances") => match &map["instances"] {
            Value::Array(items) => batch(items, max_batch).map(Request::Batch),
            _ => Err(unprocessable(
                "instances",
                "\"instances\" must be an array of review objects",
                None,
            )),
        },
        Value::Object(_) => features(&value, None).map(Request::One),
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body must be a JSON object (one review), an array or {\"instances\": [...]} (a batch)",
        )),
    }
}

fn batch(items: &[Value], max_batch: usize) -> Result<Vec<[f64; 3]>, ApiError> {
    if items.is_empty() {
        return Err(unprocessable(
            "instances",
            "a batch needs at least one review",
            None,
        ));
    }
    if items.len() > max_batch {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "a batch holds at most {max_batch} reviews; this one has {}",
                items.len()
            ),
        )
        .with(json!({ "field": "instances", "max_batch": max_batch })));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| features(v, Some(i)))
        .collect()
}

fn unprocessable(field: &str, message: &str, index: Option<usize>) -> ApiError {
    let at = index.map_or(String::new(), |i| format!(" (review {i} of the batch)"));
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{message}{at}"))
        .with(json!({ "field": field, "index": index }))
}

fn features(value: &Value, index: Option<usize>) -> Result<[f64; 3], ApiError> {
    let Value::Object(map) = value else {
        return Err(unprocessable(
            "body",
            "each review must be a JSON object",
            index,
        ));
    };
    let number = |names: &[&str], (lo, hi): (f64, f64)| -> Result<Option<f64>, ApiError> {
        let Some((name, v)) = names.iter().find_map(|n| map.get(*n).map(|v| (*n, v))) else {
            return Ok(None);
        };
        let x = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        }
        .filter(|x| x.is_finite())
        .ok_or_else(|| {
            unprocessable(
                name,
                &format!("{name:?} must be a number or a numeric string, got {v}"),
                index,
            )
        })?;
        if x < lo || x > hi {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!(
                    "{name:?} = {x} is out of range; allowed: {lo} to {hi}{}",
                    index.map_or(String::new(), |i| format!(" (review {i} of the batch)"))
                ),
            )
            .with(json!({ "field": name, "allowed": { "min": lo, "max": hi }, "index": index })));
        }
        Ok(Some(x))
    };
    let missing = |field: &str, spellings: &str| {
        unprocessable(
            field,
            &format!("missing field {field:?} (send {spellings})"),
            index,
        )
    };
    let rating = number(&["rating", "review_rating"], RATING_RANGE)?
        .ok_or_else(|| missing("rating", "\"rating\" or \"review_rating\""))?;
    let likes = number(&["likes", "review_likes"], LIKES_RANGE)?
        .ok_or_else(|| missing("likes", "\"likes\" or \"review_likes\""))?;
    let length = match number(&["length", "review_length"], LENGTH_RANGE)? {
        Some(l) => l,
        None => match map.get("review_text").or_else(|| map.get("text")) {
            Some(Value::String(text)) => text.chars().count() as f64,
            Some(Value::Null) => 0.0,
            Some(other) => {
                return Err(unprocessable(
                    "review_text",
                    &format!("\"review_text\" must be a string, got {other}"),
                    index,
                ));
            }
            None => {
                return Err(missing(
                    "length",
                    "\"length\", \"review_length\" or \"review_text\"",
                ));
            }
        },
    };
    Ok([rating, likes, length])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(body: &str) -> Result<[f64; 3], ApiError> {
        match parse(body.as_bytes(), 10)? {
            Request::One(x) => Ok(x),
            other => panic!("expected one, got {other:?}"),
        }
    }

    #[test]
    fn both_spellings_numbers_strings_and_text() {
        assert_eq!(
            one(r#"{"rating": 4, "likes": 15, "length": 300}"#).unwrap(),
            [4.0, 15.0, 300.0]
        );
        assert_eq!(
            one(r#"{"review_rating": "4", "review_likes": " 15 ", "review_length": "300"}"#)
                .unwrap(),
            [4.0, 15.0, 300.0]
        );
        assert_eq!(
            one(r#"{"rating": 5, "likes": 0, "review_text": "héllo"}"#).unwrap(),
            [5.0, 0.0, 5.0]
        );
    }

    #[test]
    fn batches_in_both_shapes() {
        let a = parse(
            br#"[{"rating":1,"likes":0,"length":1},{"rating":2,"likes":1,"length":2}]"#,
            10,
        )
        .unwrap();
        let b = parse(br#"{"instances":[{"rating":1,"likes":0,"length":1},{"rating":2,"likes":1,"length":2}]}"#, 10).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, Request::Batch(vec![[1.0, 0.0, 1.0], [2.0, 1.0, 2.0]]));
        let too_many = format!(
            "[{}]",
            [r#"{"rating":1,"likes":0,"length":1}"#; 11].join(",")
        );
        assert_eq!(
            parse(too_many.as_bytes(), 10).unwrap_err().status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse(b"{not json", 10).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = one(r#"{"likes": 1, "length": 3}"#).unwrap_err();
        assert_eq!(
            (e.status, e.details["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("rating"))
        );
        let e = one(r#"{"rating": 9, "likes": 1, "length": 3}"#).unwrap_err();
        assert!(e.message.contains("1 to 5"), "{}", e.message);
        assert_eq!(e.details["allowed"]["max"], 5.0);
        let e = one(r#"{"rating": 3, "likes": "many", "length": 3}"#).unwrap_err();
        assert_eq!(e.details["field"], "likes");
        let e = parse(
            br#"[{"rating":1,"likes":0,"length":1},{"rating":2,"likes":-1,"length":2}]"#,
            10,
        )
        .unwrap_err();
        assert_eq!(e.details["index"], 1);
        assert_eq!(
            parse(b"42", 10).unwrap_err().status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}
