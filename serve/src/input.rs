//! Prediction requests as the original clients and newer ones send them.
//!
//! One review is an object with `rating`, `likes` and `length` (the original README's spelling)
//! or `review_rating`, `review_likes` and `review_length` (the original code's), each a number or
//! a numeric string; `review_text` (or `text`) may stand in for the length, counted in characters.
//! A batch is a JSON array of such objects or `{"instances": [...]}`.

use axum::http::StatusCode;
use std::{borrow::Cow, cell::Cell, sync::LazyLock};

use regex::Regex;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::json;

use crate::ApiError;

/// Accepted ranges, also published in the OpenAPI document.
pub const RATING_RANGE: (f64, f64) = (1.0, 5.0);
pub const LIKES_RANGE: (f64, f64) = (0.0, 1e9);
pub const LENGTH_RANGE: (f64, f64) = (0.0, 1e6);

/// Each field's range and the numeric strings it accepts, as the API document states them:
/// plain decimals (no sign, no exponent) whose value lies in the range. The same patterns check
/// the requests, so the document and the API cannot disagree.
const STRING_PATTERNS: [((f64, f64), &str); 3] = [
    (RATING_RANGE, r"^\s*([1-4](\.[0-9]*)?|5(\.0*)?)\s*$"),
    (
        LIKES_RANGE,
        r"^\s*([0-9]{1,9}(\.[0-9]*)?|1000000000(\.0*)?)\s*$",
    ),
    (
        LENGTH_RANGE,
        r"^\s*([0-9]{1,6}(\.[0-9]*)?|1000000(\.0*)?)\s*$",
    ),
];

/// Where `range`'s pattern stands in [`STRING_PATTERNS`].
fn pattern_index(range: (f64, f64)) -> usize {
    STRING_PATTERNS
        .iter()
        .position(|(r, _)| *r == range)
        .expect("every field range has a string pattern")
}

/// The numeric strings a field with `range` accepts (see [`STRING_PATTERNS`]).
pub fn string_pattern(range: (f64, f64)) -> &'static str {
    STRING_PATTERNS[pattern_index(range)].1
}

/// [`STRING_PATTERNS`], compiled once.
static PATTERNS: LazyLock<[Regex; 3]> =
    LazyLock::new(|| STRING_PATTERNS.map(|(_, p)| Regex::new(p).expect("static pattern")));

/// The value of a numeric string for a field with `range`, if the API accepts it.
fn numeric_string(s: &str, range: (f64, f64)) -> Option<f64> {
    PATTERNS[pattern_index(range)]
        .is_match(s)
        .then(|| s.trim().parse().ok())
        .flatten()
}

/// The features a request gives, in the order a model receives them: rating, likes, length.
pub const FEATURES: usize = 3;

/// A parsed request.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    One([f64; FEATURES]),
    Batch(Vec<[f64; FEATURES]>),
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
///
/// The body is read by a streaming visitor: no JSON tree is built, each review keeps only its
/// numbers (a text only its length), and a batch stops at review `max_batch + 1`, so the memory a
/// request takes is bounded by `max_batch`, not by the body's size.
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
    let too_many = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = BodySeed {
        max_batch,
        too_many: &too_many,
    }
    .deserialize(&mut de)
    .and_then(|parsed| de.end().map(|()| parsed));
    match parsed {
        Ok(Body::One(fields)) => fields.features(None).map(Request::One),
        Ok(Body::Batch(items)) if items.is_empty() => Err(unprocessable(
            "instances",
            "a batch needs at least one review",
            None,
        )),
        Ok(Body::Batch(items)) => items
            .iter()
            .enumerate()
            .map(|(i, f)| f.features(Some(i)))
            .collect::<Result<_, _>>()
            .map(Request::Batch),
        Ok(Body::NotAReview) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body must be a JSON object (one review), an array or {\"instances\": [...]} (a batch)",
        )),
        Ok(Body::InstancesNotArray) => Err(unprocessable(
            "instances",
            "\"instances\" must be an array of review objects",
            None,
        )),
        Err(_) if too_many.get() => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("a batch holds at most {max_batch} reviews; this one has more"),
        )
        .with(json!({ "field": "instances", "max_batch": max_batch }))),
        Err(e) if e.is_data() => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{e}"),
        )),
        Err(e) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "malformed JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )),
    }
}

/// What a body turned out to be.
enum Body {
    One(Box<Fields>),
    Batch(Vec<Fields>),
    InstancesNotArray,
    NotAReview,
}

/// One value as a review field holds it: a number, or what was there instead (enough of it for
/// the error message, never the whole of a long string).
#[derive(Debug, Clone)]
enum Value {
    Number(f64),
    /// A string: its length in characters, and the string itself, trimmed, when it may be a
    /// number (a long text is only counted).
    Text {
        chars: usize,
        text: Box<str>,
    },
    Null,
    Other(String),
}

/// A review's fields, by spelling, in the order they are looked up.
#[derive(Debug, Default, Clone)]
struct Fields {
    values: [Option<Value>; FIELD_NAMES.len()],
}

const FIELD_NAMES: [&str; 8] = [
    "rating",
    "review_rating",
    "likes",
    "review_likes",
    "length",
    "review_length",
    "review_text",
    "text",
];

impl Fields {
    fn get(&self, name: &str) -> Option<&Value> {
        let i = FIELD_NAMES.iter().position(|n| *n == name)?;
        self.values[i].as_ref()
    }

    fn features(&self, index: Option<usize>) -> Result<[f64; 3], ApiError> {
        // Every field present is checked, in either spelling, even when the other spelling
        // gives the value: a request the API document calls invalid is never answered 200.
        let number = |names: [&str; 2], (lo, hi): (f64, f64)| -> Result<Option<f64>, ApiError> {
            let mut first = None;
            for name in names {
                let Some(v) = self.get(name) else { continue };
                let x = match v {
                    Value::Number(x) => Some(*x),
                    Value::Text { text, .. } => numeric_string(text, (lo, hi)),
                    _ => None,
                };
                let Some(x) = x else {
                    return Err(unprocessable(
                        name,
                        &format!(
                            "{name:?} must be a number or a numeric string ({lo} to {hi}), got {v}"
                        ),
                        index,
                    ));
                };
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
                first.get_or_insert(x);
            }
            Ok(first)
        };
        for name in ["review_text", "text"] {
            if let Some(v @ (Value::Number(_) | Value::Other(_))) = self.get(name) {
                return Err(unprocessable(
                    name,
                    &format!("{name:?} must be a string, got {v}"),
                    index,
                ));
            }
        }
        let missing = |field: &str, spellings: &str| {
            unprocessable(
                field,
                &format!("missing field {field:?} (send {spellings})"),
                index,
            )
        };
        let rating = number(["rating", "review_rating"], RATING_RANGE)?
            .ok_or_else(|| missing("rating", "\"rating\" or \"review_rating\""))?;
        let likes = number(["likes", "review_likes"], LIKES_RANGE)?
            .ok_or_else(|| missing("likes", "\"likes\" or \"review_likes\""))?;
        let length = match number(["length", "review_length"], LENGTH_RANGE)? {
            Some(l) => l,
            None => match self.get("review_text").or_else(|| self.get("text")) {
                Some(Value::Text { chars, .. }) => *chars as f64,
                // Checked above: a text field is a string or null.
                Some(_) => 0.0,
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
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Number(x) => write!(f, "{x}"),
            Value::Text { text, .. } if !text.is_empty() => write!(f, "{text:?}"),
            Value::Text { chars, .. } => write!(f, "a string of {chars} characters"),
            Value::Null => f.write_str("null"),
            Value::Other(shown) => f.write_str(shown),
        }
    }
}

/// Reads the body's top level: one review, a batch, or `{"instances": [...]}`.
struct BodySeed<'a> {
    max_batch: usize,
    too_many: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for BodySeed<'_> {
    type Value = Body;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Body, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BodySeed<'_> {
    type Value = Body;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a review object, an array of them or {\"instances\": [...]}")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Body, A::Error> {
        BatchSeed {
            max_batch: self.max_batch,
            too_many: self.too_many,
        }
        .visit_seq(seq)
        .map(Body::Batch)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        let mut fields = Fields::default();
        let mut instances = None;
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "instances" {
                instances = Some(map.next_value_seed(InstancesSeed(BatchSeed {
                    max_batch: self.max_batch,
                    too_many: self.too_many,
                }))?);
            } else {
                fields.read(&key, &mut map)?;
            }
        }
        Ok(match instances {
            Some(Some(items)) => Body::Batch(items),
            Some(None) => Body::InstancesNotArray,
            None => Body::One(Box::new(fields)),
        })
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Body, E> {
        Ok(Body::NotAReview)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Body, E> {
        Ok(Body::NotAReview)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Body, E> {
        Ok(Body::NotAReview)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Body, E> {
        Ok(Body::NotAReview)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Body, E> {
        Ok(Body::NotAReview)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Body, E> {
        Ok(Body::NotAReview)
    }
}

impl Fields {
    /// Reads the value of `key` if it is a review field; skips it otherwise.
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match FIELD_NAMES.iter().position(|n| *n == key) {
            Some(i) => self.values[i] = Some(map.next_value_seed(ValueSeed)?),
            None => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A batch's reviews, at most `max_batch` of them.
struct BatchSeed<'a> {
    max_batch: usize,
    too_many: &'a Cell<bool>,
}

impl<'de> BatchSeed<'_> {
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Fields>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max_batch));
        while let Some(item) = seq.next_element_seed(ReviewSeed)? {
            if items.len() == self.max_batch {
                self.too_many.set(true);
                return Err(de::Error::custom("too many reviews"));
            }
            items.push(item);
        }
        Ok(items)
    }
}

/// The value of `"instances"`: a batch, or `None` when it is not an array.
struct InstancesSeed<'a>(BatchSeed<'a>);

impl<'de> DeserializeSeed<'de> for InstancesSeed<'_> {
    type Value = Option<Vec<Fields>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for InstancesSeed<'_> {
    type Value = Option<Vec<Fields>>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of review objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        self.0.visit_seq(seq).map(Some)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// One review of a batch: an object, or [`Value::Other`]-like garbage reported later.
struct ReviewSeed;

impl<'de> DeserializeSeed<'de> for ReviewSeed {
    type Value = Fields;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fields, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ReviewSeed {
    type Value = Fields;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a review object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
        let mut fields = Fields::default();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            fields.read(&key, &mut map)?;
        }
        Ok(fields)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Fields, A::Error> {
        Err(de::Error::custom(
            "each review must be a JSON object, got an array",
        ))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Fields, E> {
        Err(E::custom(format!(
            "each review must be a JSON object, got {v}"
        )))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fields, E> {
        Err(E::custom(format!(
            "each review must be a JSON object, got {v}"
        )))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fields, E> {
        Err(E::custom(format!(
            "each review must be a JSON object, got {v}"
        )))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fields, E> {
        Err(E::custom(format!(
            "each review must be a JSON object, got {v}"
        )))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Fields, E> {
        Err(E::custom("each review must be a JSON object, got a string"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Fields, E> {
        Err(E::custom("each review must be a JSON object, got null"))
    }
}

/// One field's value: numbers and numeric strings become numbers, other strings their length,
/// anything else a short rendering for the error message.
struct ValueSeed;

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a number or a string")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Number(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v as f64))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Text {
            chars: v.chars().count(),
            text: {
                // Kept when it may be a number (digits and a point, whatever its length: the
                // body's size bounds it) or short enough to show in an error message.
                let t = v.trim();
                if t.len() <= 64 || t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
                    t.into()
                } else {
                    "".into()
                }
            },
        })
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Other(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Other("an array".into()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Value::Other("an object".into()))
    }
}

fn unprocessable(field: &str, message: &str, index: Option<usize>) -> ApiError {
    let at = index.map_or(String::new(), |i| format!(" (review {i} of the batch)"));
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("{message}{at}"))
        .with(json!({ "field": field, "index": index }))
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

    #[test]
    fn every_field_present_is_checked_whichever_spelling_gives_the_value() {
        for body in [
            r#"{"rating": 4, "likes": 1, "length": 3, "review_text": {}}"#,
            r#"{"rating": 4, "review_rating": "x", "likes": 1, "length": 3}"#,
            r#"{"rating": 4, "likes": 1, "length": 3, "review_length": 1e9}"#,
        ] {
            let e = one(body).unwrap_err();
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        }
        // A numeric string is still a text, and a text's length.
        assert_eq!(
            one(r#"{"rating": 4, "likes": 1, "review_text": "300"}"#).unwrap(),
            [4.0, 1.0, 3.0]
        );
    }

    #[test]
    fn a_batch_is_read_no_further_than_one_review_past_the_limit() {
        // Review 4 of a 3-review limit stops the reading: what follows is never parsed (here,
        // it is not even JSON), so a long body costs no more than `max_batch` reviews.
        let review = r#"{"rating":1,"likes":0,"length":1}"#;
        for body in [
            format!("[{review},{review},{review},{review},{{not json"),
            format!(r#"{{"instances":[{review},{review},{review},{review},{{not json"#),
        ] {
            let e = parse(body.as_bytes(), 3).unwrap_err();
            assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", e.message);
            assert_eq!(e.details["max_batch"], 3);
        }
        // Unknown fields and long texts are skipped or measured, not kept.
        let long = "é".repeat(100_000);
        let body = format!(
            r#"[{{"rating":2,"likes":1,"review_text":"{long}","extra":{{"deep":[1,2,{{"x":"y"}}]}}}}]"#
        );
        assert_eq!(
            parse(body.as_bytes(), 3).unwrap(),
            Request::Batch(vec![[2.0, 1.0, 100_000.0]])
        );
    }
}
