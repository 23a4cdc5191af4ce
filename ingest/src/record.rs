//! A review as a producer sends it: the dataset's columns as text, encoded as one JSON object.

use serde::Serialize;

/// One row of the dataset, every value as the CSV holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewRecord {
    pub review_id: String,
    pub pseudo_author_id: String,
    pub author_name: String,
    pub review_text: String,
    pub review_rating: String,
    pub review_likes: String,
    pub author_app_version: String,
    pub review_timestamp: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Value<'a> {
    Int(i64),
    Str(&'a str),
}

#[derive(Serialize)]
struct Wire<'a> {
    review_id: &'a str,
    pseudo_author_id: &'a str,
    author_name: &'a str,
    review_text: &'a str,
    review_rating: Value<'a>,
    review_likes: Value<'a>,
    author_app_version: &'a str,
    review_timestamp: &'a str,
}

impl ReviewRecord {
    /// Appends the JSON message for this record to `out`.
    ///
    /// With `string_values`, every value is a JSON string, exactly as the original Python producer
    /// sent them; otherwise integers that parse are sent as JSON numbers.
    pub fn write_json(&self, string_values: bool, out: &mut Vec<u8>) {
        fn num(s: &str, string_values: bool) -> Value<'_> {
            match s.trim().parse::<i64>() {
                Ok(n) if !string_values => Value::Int(n),
                _ => Value::Str(s),
            }
        }
        let wire = Wire {
            review_id: &self.review_id,
            pseudo_author_id: &self.pseudo_author_id,
            author_name: &self.author_name,
            review_text: &self.review_text,
            review_rating: num(&self.review_rating, string_values),
            review_likes: num(&self.review_likes, string_values),
            author_app_version: &self.author_app_version,
            review_timestamp: &self.review_timestamp,
        };
        // Serializing strings and integers into a Vec cannot fail.
        serde_json::to_writer(out, &wire).expect("JSON encoding of strings cannot fail");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ReviewRecord {
        ReviewRecord {
            review_id: "id-1".into(),
            review_text: "Great, \"really\"\nnice 🎬".into(),
            review_rating: "5".into(),
            review_likes: "12".into(),
            review_timestamp: "2024-01-02 03:04:05".into(),
            ..Default::default()
        }
    }

    #[test]
    fn string_values_sends_every_value_as_a_string() {
        let mut out = Vec::new();
        record().write_json(true, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["review_rating"], "5");
        assert_eq!(v["review_likes"], "12");
        assert_eq!(v["review_text"], "Great, \"really\"\nnice 🎬");
    }

    #[test]
    fn typed_values_send_integers_as_numbers() {
        let mut out = Vec::new();
        record().write_json(false, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["review_rating"], 5);
        assert_eq!(v["review_likes"], 12);
    }
}
