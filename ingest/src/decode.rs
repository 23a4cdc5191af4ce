//! Decoding and validating one Kafka message into a lake [`Review`], or saying why not.
//!
//! Messages are JSON objects with the dataset's column names. Numbers may arrive as JSON numbers
//! or as numeric strings (the original producer sent every value as a string).

use std::{borrow::Cow, fmt, sync::LazyLock};

use chrono::format::{Item, Parsed, StrftimeItems};
use lake::{Rejected, Review, column};
use serde::{
    Deserialize, Deserializer,
    de::{self, MapAccess, SeqAccess, Visitor},
};

/// Limits applied while decoding.
#[derive(Debug, Clone)]
pub struct DecodeOptions {
    /// Payloads (or keys) longer than this are rejected unread; the `rejected` table keeps their
    /// first [`KEPT_BYTES`], their length and their SHA-256.
    pub max_message_bytes: usize,
}

/// How much of an oversized payload (or key) the `rejected` table keeps.
pub const KEPT_BYTES: usize = 1024;

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 * 1024,
        }
    }
}

/// A JSON scalar, whatever its type on the wire.
#[derive(Debug, Clone, PartialEq)]
enum Loose<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Nested,
}

impl<'de: 'a, 'a> Deserialize<'de> for Loose<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Loose<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON scalar")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Loose::Null)
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Loose::Null)
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Loose::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Loose::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(i64::try_from(v).map_or(Loose::Float(v as f64), Loose::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Loose::Float(v))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Loose::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Loose::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Loose::Str(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Loose::Nested)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Loose::Nested)
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl Loose<'_> {
    fn type_name(&self) -> &'static str {
        match self {
            Loose::Null => "null",
            Loose::Bool(_) => "a boolean",
            Loose::Int(_) => "an integer",
            Loose::Float(_) => "a number",
            Loose::Str(_) => "a string",
            Loose::Nested => "an object or array",
        }
    }
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow, default)]
    review_id: Option<Loose<'a>>,
    #[serde(borrow, default)]
    pseudo_author_id: Option<Loose<'a>>,
    #[serde(borrow, default)]
    author_name: Option<Loose<'a>>,
    #[serde(borrow, default)]
    review_text: Option<Loose<'a>>,
    #[serde(borrow, default)]
    review_rating: Option<Loose<'a>>,
    #[serde(borrow, default)]
    review_likes: Option<Loose<'a>>,
    #[serde(borrow, default)]
    author_app_version: Option<Loose<'a>>,
    #[serde(borrow, default)]
    review_timestamp: Option<Loose<'a>>,
}

/// Why a field was refused.
struct FieldError {
    field: &'static str,
    reason: String,
}

type FieldResult<T> = Result<T, FieldError>;

fn fail<T>(field: &'static str, reason: impl Into<String>) -> FieldResult<T> {
    Err(FieldError {
        field,
        reason: reason.into(),
    })
}

/// Optional text: strings as they are, numbers and booleans as their JSON text, null or missing
/// as `None`.
fn text<'a>(field: &'static str, v: Option<Loose<'a>>) -> FieldResult<Option<Cow<'a, str>>> {
    match v {
        None | Some(Loose::Null) => Ok(None),
        Some(Loose::Str(s)) => Ok(Some(s)),
        Some(Loose::Int(n)) => Ok(Some(Cow::Owned(n.to_string()))),
        Some(Loose::Float(n)) => Ok(Some(Cow::Owned(n.to_string()))),
        Some(Loose::Bool(b)) => Ok(Some(Cow::Owned(b.to_string()))),
        Some(other @ Loose::Nested) => {
            fail(field, format!("expected text, got {}", other.type_name()))
        }
    }
}

/// A required integer in `min..=max`, given as a JSON integer, an integral number, or a string
/// holding one.
fn integer(field: &'static str, v: Option<Loose<'_>>, min: i64, max: i64) -> FieldResult<i64> {
    let n = match v {
        None | Some(Loose::Null) => return fail(field, "missing"),
        Some(Loose::Int(n)) => n,
        Some(Loose::Float(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => f as i64,
        Some(Loose::Float(f)) => return fail(field, format!("{f} is not an integer")),
        Some(Loose::Str(s)) => {
            let t = s.trim();
            match t.parse::<i64>() {
                Ok(n) => n,
                Err(_) => match t.parse::<f64>() {
                    Ok(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => f as i64,
                    _ if t.is_empty() => return fail(field, "missing (empty string)"),
                    _ => return fail(field, format!("{s:?} is not an integer")),
                },
            }
        }
        Some(other) => {
            return fail(
                field,
                format!("expected an integer, got {}", other.type_name()),
            );
        }
    };
    if n < min || n > max {
        let range = if max == i64::MAX {
            format!(">= {min}")
        } else {
            format!("{min}..={max}")
        };
        return fail(field, format!("{n} is out of range (allowed: {range})"));
    }
    Ok(n)
}

/// The timestamp formats accepted, parsed once (parsing the format strings again for every record
/// took 2% of bench/writer.sh's whole run).
static TIMESTAMP_FORMATS: LazyLock<[Vec<Item<'static>>; 2]> = LazyLock::new(|| {
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"].map(|format| {
        StrftimeItems::new(format)
            .parse_to_owned()
            .expect("a valid format")
    })
});

/// `YYYY-MM-DD HH:MM:SS` (the dataset's format), also with a `T`, fractional seconds, or a
/// trailing `Z`; returns microseconds since the epoch.
fn timestamp(field: &'static str, v: Option<Loose<'_>>) -> FieldResult<i64> {
    let s = match v {
        None | Some(Loose::Null) => return fail(field, "missing"),
        Some(Loose::Str(s)) => s,
        Some(other) => {
            return fail(
                field,
                format!(
                    "expected a \"YYYY-MM-DD HH:MM:SS\" string, got {}",
                    other.type_name()
                ),
            );
        }
    };
    let t = s.trim().trim_end_matches('Z');
    for items in TIMESTAMP_FORMATS.iter() {
        let mut parsed = Parsed::new();
        if chrono::format::parse(&mut parsed, t, items.iter()).is_ok()
            && let Ok(ts) = parsed.to_naive_datetime_with_offset(0)
        {
            return Ok(ts.and_utc().timestamp_micros());
        }
    }
    fail(
        field,
        format!("{s:?} is not a \"YYYY-MM-DD HH:MM:SS\" timestamp"),
    )
}

/// Decodes and validates one message. On failure the [`Rejected`] record carries the key, the
/// raw payload, and a reason naming the field.
pub fn decode<'a>(
    key: Option<&'a [u8]>,
    payload: Option<&'a [u8]>,
    options: &DecodeOptions,
) -> Result<Review<'a>, Rejected<'a>> {
    let reject = |reason: String, field: Option<&'static str>| Rejected {
        key,
        payload,
        reason,
        field,
    };
    let Some(bytes) = payload else {
        return Err(reject("empty message (no payload)".into(), None));
    };
    let limit = options.max_message_bytes;
    let oversized = [("message", Some(bytes)), ("key", key)]
        .into_iter()
        .find_map(|(what, b)| b.filter(|b| b.len() > limit).map(|b| (what, b)));
    if let Some((what, big)) = oversized {
        let kept = |b: &'a [u8]| &b[..b.len().min(KEPT_BYTES)];
        return Err(Rejected {
            key: key.map(kept),
            payload: Some(kept(bytes)),
            reason: format!(
                "{what} is {} bytes (SHA-256 {}), over the {limit}-byte limit; its first {} bytes are kept",
                big.len(),
                lake::hex_sha256(big),
                big.len().min(KEPT_BYTES),
            ),
            field: None,
        });
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(reject(
            "invalid JSON: expected an object with the review's fields".into(),
            None,
        ));
    }
    let wire: Wire<'a> =
        serde_json::from_slice(bytes).map_err(|e| reject(format!("invalid JSON: {e}"), None))?;
    validate(wire).map_err(|e| reject(format!("{}: {}", e.field, e.reason), Some(e.field)))
}

fn validate(w: Wire<'_>) -> FieldResult<Review<'_>> {
    let review_id = match text(column::REVIEW_ID, w.review_id)? {
        Some(id) if !id.trim().is_empty() => id,
        _ => return fail(column::REVIEW_ID, "missing"),
    };
    let review_rating = integer(column::REVIEW_RATING, w.review_rating, 1, 5)? as i32;
    let review_likes = integer(column::REVIEW_LIKES, w.review_likes, 0, i64::MAX)?;
    let review_timestamp_us = timestamp(column::REVIEW_TIMESTAMP, w.review_timestamp)?;
    let author_app_version =
        text(column::AUTHOR_APP_VERSION, w.author_app_version)?.filter(|v| !v.trim().is_empty());
    Ok(Review {
        review_id,
        pseudo_author_id: text(column::PSEUDO_AUTHOR_ID, w.pseudo_author_id)?,
        author_name: text(column::AUTHOR_NAME, w.author_name)?,
        review_text: text(column::REVIEW_TEXT, w.review_text)?,
        review_rating,
        review_likes,
        author_app_version,
        review_timestamp_us,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(json: &str) -> Review<'_> {
        decode(None, Some(json.as_bytes()), &DecodeOptions::default()).unwrap()
    }

    /// A rejection, detached from the message it borrowed from.
    struct Refused {
        reason: String,
        field: Option<&'static str>,
        key: Option<Vec<u8>>,
        payload: Option<Vec<u8>>,
    }

    fn err(json: &str) -> Refused {
        let r: Rejected<'_> =
            decode(Some(b"k"), Some(json.as_bytes()), &DecodeOptions::default()).unwrap_err();
        Refused {
            reason: r.reason,
            field: r.field,
            key: r.key.map(<[u8]>::to_vec),
            payload: r.payload.map(<[u8]>::to_vec),
        }
    }

    const GOOD: &str = r#"{"review_id":"a","pseudo_author_id":"p","author_name":"A Google user","review_text":"Good","review_rating":5,"review_likes":0,"author_app_version":"","review_timestamp":"2024-01-02 03:04:05"}"#;

    #[test]
    fn numbers_and_numeric_strings_decode_alike() {
        let typed = ok(GOOD);
        let strings = GOOD.replace(":5,", ":\"5\",").replace(":0,", ":\"0\",");
        assert_eq!(ok(&strings), typed);
        assert_eq!(typed.review_rating, 5);
        assert_eq!(typed.review_timestamp_us, 1_704_164_645_000_000);
    }

    #[test]
    fn empty_app_version_is_null() {
        assert_eq!(ok(GOOD).author_app_version, None);
    }

    #[test]
    fn escaped_text_is_unescaped() {
        let json = GOOD.replace("\"Good\"", r#""say \"hi\"\n\u00e9""#);
        assert_eq!(ok(&json).review_text.as_deref(), Some("say \"hi\"\né"));
    }

    #[test]
    fn rating_out_of_range_names_field_and_range() {
        let r = err(&GOOD.replace(":5,", ":6,"));
        assert_eq!(r.field, Some("review_rating"));
        assert!(
            r.reason.contains("6 is out of range (allowed: 1..=5)"),
            "{}",
            r.reason
        );
        assert_eq!(r.key.as_deref(), Some(&b"k"[..]));
    }

    #[test]
    fn negative_likes_are_rejected() {
        let r = err(&GOOD.replace("\"review_likes\":0", "\"review_likes\":\"-1\""));
        assert_eq!(r.field, Some("review_likes"));
    }

    #[test]
    fn non_numeric_rating_is_rejected() {
        let r = err(&GOOD.replace(":5,", ":\"five\","));
        assert!(
            r.reason.contains("\"five\" is not an integer"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn missing_id_is_rejected() {
        let r = err(&GOOD.replace("\"review_id\":\"a\",", ""));
        assert_eq!(r.field, Some("review_id"));
    }

    #[test]
    fn bad_timestamp_is_rejected() {
        let r = err(&GOOD.replace("2024-01-02 03:04:05", "yesterday"));
        assert_eq!(r.field, Some("review_timestamp"));
    }

    #[test]
    fn invalid_json_keeps_payload_and_says_where() {
        let r = err("{\"review_id\": ");
        assert!(r.reason.starts_with("invalid JSON"), "{}", r.reason);
        assert_eq!(r.payload.as_deref(), Some(&b"{\"review_id\": "[..]));
    }

    #[test]
    fn oversized_message_is_rejected_unread() {
        let opts = DecodeOptions {
            max_message_bytes: 10,
        };
        let r = decode(None, Some(GOOD.as_bytes()), &opts).unwrap_err();
        assert!(r.reason.contains("over the 10-byte limit"), "{}", r.reason);
        // A large payload (or key) is kept as its first KEPT_BYTES, with its length and hash.
        let big = vec![b'x'; 100_000];
        let opts = DecodeOptions {
            max_message_bytes: 64 * 1024,
        };
        let r = decode(Some(b"k"), Some(&big), &opts).unwrap_err();
        assert_eq!(r.payload.map(<[u8]>::len), Some(KEPT_BYTES));
        assert!(
            r.reason.starts_with("message is 100000 bytes (SHA-256 ")
                && r.reason.contains(&lake::hex_sha256(&big)),
            "{}",
            r.reason
        );
        let r = decode(Some(&big), Some(GOOD.as_bytes()), &opts).unwrap_err();
        assert_eq!(r.key.map(<[u8]>::len), Some(KEPT_BYTES));
        assert!(r.reason.starts_with("key is 100000 bytes"), "{}", r.reason);
    }

    #[test]
    fn missing_payload_is_rejected() {
        assert!(decode(None, None, &DecodeOptions::default()).is_err());
    }

    #[test]
    fn a_json_array_is_rejected() {
        assert!(err("[1,2]").reason.starts_with("invalid JSON"));
    }
}
