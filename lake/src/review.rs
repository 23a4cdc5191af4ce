//! One accepted review and one rejected record, as the lake stores them.

use std::borrow::Cow;

/// Where a record came from: its Kafka coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePosition {
    pub partition: i32,
    pub offset: i64,
    /// Record timestamp in milliseconds since the epoch, if the broker gave one.
    pub timestamp_ms: Option<i64>,
}

/// A validated review, borrowed from the message it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Review<'a> {
    pub review_id: Cow<'a, str>,
    pub pseudo_author_id: Option<Cow<'a, str>>,
    pub author_name: Option<Cow<'a, str>>,
    pub review_text: Option<Cow<'a, str>>,
    pub review_rating: i32,
    pub review_likes: i64,
    pub author_app_version: Option<Cow<'a, str>>,
    /// Microseconds since the epoch, wall-clock time as written in the source (no time zone).
    pub review_timestamp_us: i64,
}

/// What rejects are counted and grouped under when no one field is at fault (the message was
/// empty, oversized or not JSON): the `field` column is empty then.
pub const WHOLE_MESSAGE: &str = "message";

/// A record that could not be accepted, kept with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected<'a> {
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
    pub reason: String,
    /// The field at fault, when one is.
    pub field: Option<&'static str>,
}
