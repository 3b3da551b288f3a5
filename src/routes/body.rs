//! Reading request bodies: JSON only, at most 16 KiB (more where a route
//! says so), and an object. Fields
//! are then taken one by one so that a `422` can name each field that is
//! missing or of the wrong type — serde's derive would stop at the first.
//! Every string read here is held to `domain::text`'s rule (no U+0000)
//! before a route sees it, so no route can store or look up one that
//! PostgreSQL would refuse.

use std::collections::BTreeMap;

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use crate::domain::text;
use crate::error::{ApiError, BODY_LIMIT};

/// A request body that is a JSON object of at most `LIMIT` bytes (16 KiB
/// unless the route says otherwise).
pub struct JsonObject<const LIMIT: usize = BODY_LIMIT>(pub Map<String, Value>);

impl<const LIMIT: usize> JsonObject<LIMIT> {
    /// The one required string field `name` of a body (`422` otherwise).
    pub fn one_text(&self, name: &str) -> Result<String, ApiError> {
        let mut fields = Fields::new(&self.0);
        fields.text(name).map_err(|_| fields.into_error())
    }
}

/// A JSON object, or no body at all (taken as `{}`): for routes whose
/// every field is optional (`POST /posts/{id}/publish`).
pub struct OptionalObject(pub Map<String, Value>);

/// `application/json`, or any `application/*+json`, with any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<const LIMIT: usize> FromRequest for JsonObject<LIMIT> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read_object(req, payload, LIMIT, false);
        Box::pin(async move { read.await.map(JsonObject) })
    }
}

impl FromRequest for OptionalObject {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let read = read_object(req, payload, BODY_LIMIT, true);
        Box::pin(async move { read.await.map(OptionalObject) })
    }
}

/// Reads the body as a JSON object of at most `limit` bytes; an empty body
/// is `{}` when `empty_is_object`, else a `400`.
fn read_object(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
    empty_is_object: bool,
) -> LocalBoxFuture<'static, Result<Map<String, Value>, ApiError>> {
    // Only JSON: an HTML form on another site can send text/plain or
    // form-encoded bodies without a CORS preflight, but not JSON.
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut payload = payload.take();
    Box::pin(async move {
        if content_type.as_deref().is_some_and(|ct| !is_json(ct)) {
            return Err(ApiError::UnsupportedMediaType);
        }
        if declared_length.is_some_and(|n| n > limit as u64) {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        let mut body = Vec::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| match e {
                PayloadError::Overflow => ApiError::PayloadTooLarge(limit),
                _ => ApiError::InvalidJson("the body could not be read".to_owned()),
            })?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        if content_type.is_none() && !body.is_empty() {
            return Err(ApiError::UnsupportedMediaType);
        }
        if empty_is_object && body.is_empty() {
            return Ok(Map::new());
        }
        parse_object(&body)
    })
}

/// Syntax errors are `400`; valid JSON that is not an object is `422`.
fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidJson("the body is empty".to_owned()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::field("body", "must be a JSON object")),
        Err(e) => Err(ApiError::InvalidJson(e.to_string())),
    }
}

/// Takes typed fields out of a JSON object, collecting every problem, so
/// one `422` can name every field that is wrong.
///
/// Each getter answers a [`Field`]: the value, or [`Rejected`], which only
/// `Fields::reject` makes, after recording the problem. So a handler that
/// has every field `Ok` has every value, and one with any field `Err` has a
/// problem to report ([`Fields::into_error`]) — the types leave no third
/// case to handle.
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    errors: BTreeMap<String, String>,
}

/// The mark of a field whose problem [`Fields`] has recorded.
#[derive(Debug)]
pub struct Rejected(());

/// A field's value, or the mark that its problem is recorded.
pub type Field<T> = Result<T, Rejected>;

impl<'a> Fields<'a> {
    pub fn new(object: &'a Map<String, Value>) -> Self {
        Fields {
            object,
            errors: BTreeMap::new(),
        }
    }

    /// A required string field.
    pub fn text(&mut self, name: &str) -> Field<String> {
        let object = self.object;
        match object.get(name) {
            Some(Value::String(s)) => self.string(name, s),
            None | Some(Value::Null) => Err(self.reject(name, "is required")),
            Some(_) => Err(self.reject(name, "must be a string")),
        }
    }

    /// A string field that may be `null` (or, when `required` is false,
    /// absent): `None` for either.
    pub fn text_or_null(&mut self, name: &str, required: bool) -> Field<Option<String>> {
        let object = self.object;
        match object.get(name) {
            Some(Value::String(s)) => self.string(name, s).map(Some),
            Some(Value::Null) => Ok(None),
            None if !required => Ok(None),
            None => Err(self.reject(name, "is required (a string, or null)")),
            Some(_) => Err(self.reject(name, "must be a string or null")),
        }
    }

    /// A time field that may be `null` or absent (`None`), read by `parse`
    /// (`None` from it: the field breaks `rule`).
    pub fn time_or_null(
        &mut self,
        name: &str,
        parse: fn(&str) -> Option<i64>,
        rule: &'static str,
    ) -> Field<Option<i64>> {
        let text = self.text_or_null(name, false);
        self.parse(name, text, |text| match text {
            None => Ok(None),
            Some(text) => parse(&text).map(Some).ok_or(rule),
        })
    }

    /// A string field that may be absent (`None`), but not `null`: for a
    /// field whose absence means "leave it as it is" and that has no
    /// "nothing" value.
    pub fn optional_text(&mut self, name: &str) -> Field<Option<String>> {
        let object = self.object;
        match object.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => self.string(name, s).map(Some),
            Some(_) => Err(self.reject(name, "must be a string")),
        }
    }

    /// The string `value` of the field `name`, unless it holds U+0000:
    /// every text getter reads through here, so no field escapes the rule.
    fn string(&mut self, name: &str, value: &str) -> Field<String> {
        match text::without_nul(value) {
            Ok(value) => Ok(value.to_owned()),
            Err(rule) => Err(self.reject(name, rule)),
        }
    }

    /// An optional boolean field, `false` when absent. `null` is not a
    /// boolean: the contract's field is `bool` when present.
    pub fn flag(&mut self, name: &str) -> Field<bool> {
        match self.object.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.reject(name, "must be true or false")),
        }
    }

    /// Parses a field that was read (`Ok`) with a rule that names its
    /// problem, recording the problem under `name`.
    pub fn parse<T, U, P: Into<String>>(
        &mut self,
        name: &str,
        field: Field<T>,
        rule: impl FnOnce(T) -> Result<U, P>,
    ) -> Field<U> {
        let value = field?;
        rule(value).map_err(|problem| self.reject(name, problem))
    }

    /// Records a rule a field breaks (the first problem per field is kept).
    fn reject(&mut self, name: &str, problem: impl Into<String>) -> Rejected {
        self.errors
            .entry(name.to_owned())
            .or_insert_with(|| problem.into());
        Rejected(())
    }

    /// The `422` naming every field that was rejected.
    pub fn into_error(self) -> ApiError {
        ApiError::Validation(self.errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/problem+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/x-www-form-urlencoded"));
        assert!(!is_json("multipart/form-data; boundary=x"));
    }

    #[test]
    fn syntax_errors_are_400_and_non_objects_are_422() {
        assert!(matches!(parse_object(b"{"), Err(ApiError::InvalidJson(_))));
        assert!(matches!(parse_object(b""), Err(ApiError::InvalidJson(_))));
        assert!(matches!(parse_object(b"[1]"), Err(ApiError::Validation(_))));
        assert!(matches!(
            parse_object(b"\"x\""),
            Err(ApiError::Validation(_))
        ));
        assert!(parse_object(b" {\"a\": 1} ").is_ok());
    }

    #[test]
    fn fields_name_every_problem() {
        let map = parse_object(br#"{"username": 5, "stay_signed_in": null}"#).unwrap();
        let mut fields = Fields::new(&map);
        assert!(fields.text("username").is_err());
        assert!(fields.text("password").is_err());
        assert!(fields.flag("stay_signed_in").is_err());
        match fields.into_error() {
            ApiError::Validation(errors) => {
                assert_eq!(errors["username"], "must be a string");
                assert_eq!(errors["password"], "is required");
                assert_eq!(errors["stay_signed_in"], "must be true or false");
            }
            _ => panic!("expected a validation error"),
        }
    }

    #[test]
    fn nullable_text_tells_absent_from_null() {
        let map = parse_object(br#"{"a": null, "b": "x", "c": 1}"#).unwrap();
        let mut fields = Fields::new(&map);
        assert_eq!(fields.text_or_null("a", true).unwrap(), None);
        assert_eq!(
            fields.text_or_null("b", true).unwrap().as_deref(),
            Some("x")
        );
        assert_eq!(fields.text_or_null("missing", false).unwrap(), None);
        assert!(fields.text_or_null("missing", true).is_err());
        assert!(fields.text_or_null("c", false).is_err());
    }

    #[test]
    fn every_text_getter_refuses_nul_naming_its_field() {
        let map = parse_object(
            br#"{"a": "x\u0000", "b": "\u0000", "c": "y\u0000z", "d": "\\u0000 is six characters"}"#,
        )
        .unwrap();
        let mut fields = Fields::new(&map);
        assert!(fields.text("a").is_err());
        assert!(fields.text_or_null("b", true).is_err());
        assert!(fields.optional_text("c").is_err());
        assert_eq!(fields.text("d").unwrap(), "\\u0000 is six characters");
        match fields.into_error() {
            ApiError::Validation(errors) => {
                assert_eq!(errors.len(), 3, "{errors:?}");
                for name in ["a", "b", "c"] {
                    assert_eq!(errors[name], text::NO_NUL);
                }
            }
            _ => panic!("expected a validation error"),
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_to_an_object_or_a_contract_error(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            match parse_object(&bytes) {
                Ok(_) => proptest::prop_assert!(matches!(serde_json::from_slice(&bytes), Ok(Value::Object(_)))),
                Err(ApiError::InvalidJson(_) | ApiError::Validation(_)) => {}
                Err(other) => proptest::prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }
}
