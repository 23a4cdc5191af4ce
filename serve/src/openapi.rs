//! The OpenAPI 3.1 document, derived with `utoipa` from the handlers' `#[utoipa::path]`
//! declarations and the types they answer with: the router is built from the same declarations
//! (`utoipa_axum::routes!`), so a route cannot be served undocumented or documented unserved.
//! Only the request schemas are written here, from the tables the parser itself uses.

use serde_json::{Value, json};
use utoipa::{
    IntoParams, OpenApi, PartialSchema, ToSchema,
    openapi::{
        self, AllOfBuilder, ObjectBuilder, OneOfBuilder, RefOr, Schema,
        schema::{AnyOfBuilder, SchemaType, Type},
    },
};

use crate::{
    Limits,
    input::{LENGTH_RANGE, LIKES_RANGE, RATING_RANGE, string_pattern},
};

#[derive(OpenApi)]
#[openapi(info(
    title = "reviewlake prediction API",
    description = "Predicts the k-means cluster of app reviews with the models trained by `reviewlake train`; the console's lake, model and SQL endpoints beside it."
))]
pub(crate) struct ApiDoc;

/// The model named in a path.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct ModelPath {
    /// A loaded model's name (GET /models lists them).
    #[param(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    #[allow(dead_code)] // read by the document only; handlers take the name as a String
    model: String,
}

/// One review: rating, likes and length (or review_text), in either spelling.
pub(crate) struct Review;

impl PartialSchema for Review {
    fn schema() -> RefOr<Schema> {
        let number_or_string = |description: &str, (lo, hi): (f64, f64)| {
            OneOfBuilder::new()
                .description(Some(format!(
                    "{description} ({lo} to {hi}); a number or a numeric string"
                )))
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::Number)
                        .minimum(Some(lo))
                        .maximum(Some(hi)),
                )
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .pattern(Some(string_pattern((lo, hi)))),
                )
        };
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                .description(Some(description))
        };
        let fields = ObjectBuilder::new()
            .property("rating", number_or_string("Star rating", RATING_RANGE))
            .property(
                "review_rating",
                number_or_string("Star rating", RATING_RANGE),
            )
            .property("likes", number_or_string("Thumbs-up count", LIKES_RANGE))
            .property(
                "review_likes",
                number_or_string("Thumbs-up count", LIKES_RANGE),
            )
            .property(
                "length",
                number_or_string("Review length in characters", LENGTH_RANGE),
            )
            .property(
                "review_length",
                number_or_string("Review length in characters", LENGTH_RANGE),
            )
            .property(
                "review_text",
                text(
                    "The text; its length in characters is used when no length is given (null: 0)",
                ),
            )
            .property("text", text("Another spelling of review_text"));
        // Each feature is required in either spelling: the properties and one `anyOf` of
        // required names per feature are the parts of one `allOf`.
        let one_of_required = |names: &[&str]| {
            names.iter().fold(AnyOfBuilder::new(), |any, name| {
                any.item(ObjectBuilder::new().required(*name))
            })
        };
        AllOfBuilder::new()
            .description(Some(
                "One review: rating, likes and length (or review_text), in either spelling.",
            ))
            .item(fields)
            .item(one_of_required(&["rating", "review_rating"]))
            .item(one_of_required(&["likes", "review_likes"]))
            .item(one_of_required(&[
                "length",
                "review_length",
                "review_text",
                "text",
            ]))
            .into()
    }
}

impl ToSchema for Review {}

/// A prediction request: one review, an array of them, or `{"instances": [...]}`.
pub(crate) struct PredictBody;

impl PredictBody {
    fn with_max_batch(max_batch: usize) -> RefOr<Schema> {
        let batch = json!({ "type": "array", "minItems": 1, "maxItems": max_batch,
                            "items": { "$ref": "#/components/schemas/Review" } });
        from_json(json!({
            "oneOf": [
                { "$ref": "#/components/schemas/Review" },
                batch,
                { "type": "object", "required": ["instances"], "properties": { "instances": batch } }
            ]
        }))
    }
}

impl PartialSchema for PredictBody {
    fn schema() -> RefOr<Schema> {
        Self::with_max_batch(Limits::default().max_batch)
    }
}

impl ToSchema for PredictBody {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Review::name().into(), Review::schema()));
    }
}

/// An error: what to fix, the status again, and details such as the field at fault.
#[derive(ToSchema)]
#[allow(dead_code)] // the shape `ApiError` answers with, for the document
pub(crate) struct ErrorBody {
    error: String,
    status: u16,
    /// The field at fault.
    field: Option<String>,
    /// The loaded models, when the one asked for is not.
    available: Option<Vec<String>>,
}

fn from_json(value: Value) -> RefOr<Schema> {
    serde_json::from_value(value).expect("a schema written in this module")
}

/// The document for a server with `limits`: the batch size and body limit it states are the
/// server's own.
pub(crate) fn document(mut doc: openapi::OpenApi, limits: &Limits) -> openapi::OpenApi {
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    if let Some(components) = doc.components.as_mut() {
        components.schemas.insert(
            PredictBody::name().into(),
            PredictBody::with_max_batch(limits.max_batch),
        );
    }
    if let Some(op) = doc
        .paths
        .paths
        .get_mut(crate::routes::PREDICT_ROUTE)
        .and_then(|item| item.post.as_mut())
        && let Some(RefOr::T(r)) = op.responses.responses.get_mut("413")
    {
        r.description = format!("Body larger than {} bytes", limits.max_body_bytes);
    }
    doc
}

/// The methods the document lists for a request path, upper case.
pub(crate) fn allowed_methods(doc: &openapi::OpenApi, path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (template, item) in &doc.paths.paths {
        if !matches(template, path) {
            continue;
        }
        for (method, op) in [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("DELETE", &item.delete),
            ("PATCH", &item.patch),
        ] {
            if op.is_some() {
                out.push(method.to_string());
            }
        }
    }
    out
}

/// Whether a request path matches a template with `{param}` segments.
pub fn matches(template: &str, path: &str) -> bool {
    let (t, p): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    t.len() == p.len()
        && t.iter()
            .zip(&p)
            .all(|(a, b)| (a.starts_with('{') && !b.is_empty()) || a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_review_requires_each_feature_in_either_spelling() {
        let schema = serde_json::to_value(Review::schema()).unwrap();
        let parts = schema["allOf"].as_array().expect("allOf kept");
        assert!(parts[0]["properties"]["review_rating"]["oneOf"].is_array());
        let required: Vec<Vec<Value>> = parts[1..]
            .iter()
            .map(|p| {
                p["anyOf"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["required"][0].clone())
                    .collect()
            })
            .collect();
        assert_eq!(
            required,
            [
                vec![json!("rating"), json!("review_rating")],
                vec![json!("likes"), json!("review_likes")],
                vec![
                    json!("length"),
                    json!("review_length"),
                    json!("review_text"),
                    json!("text")
                ],
            ]
        );
    }
}
