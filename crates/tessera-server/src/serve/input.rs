//! Reading request bodies and query strings, with SuperTokens core's
//! messages for bad input.
//!
//! The core answers bad input with `400` and a plain-text message; the SDKs
//! put that text in the exception they raise, so tessera uses the same
//! words (`InputParser.java` in supertokens-core):
//!
//! - body not a JSON object: `Invalid Json Input`
//! - a field missing or of the wrong type: `Field name 'userId' is invalid in JSON input`
//! - a query parameter missing: `Field name 'userId' is missing in GET request`
//!
//! A body is read only when its `Content-Type` is `application/json`, with
//! or without parameters (`application/json; charset=utf-8`, what both SDKs
//! send); anything else — `text/plain`, a form, no type at all, and also
//! `+json` types such as `application/merge-patch+json`, which no client of
//! the CDI sends — is refused `415 Content-Type must be application/json`
//! before the body is read. A web page can make a browser send a
//! `text/plain` or form POST to any address without a CORS preflight; it
//! cannot send `application/json` that way.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::error::ApiError;

/// A JSON request body that parsed as an object.
#[derive(Debug)]
pub(crate) struct JsonInput(Map<String, Value>);

fn invalid_field(name: &str) -> ApiError {
    ApiError::BadRequest(format!("Field name '{name}' is invalid in JSON input"))
}

impl<S: Send + Sync> FromRequest<S> for JsonInput {
    type Rejection = Response;

    /// Checks the content type (`415`), reads the body within the body
    /// limit (`413`) and parses it (`400`).
    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(request.headers()) {
            return Err(ApiError::UnsupportedMediaType.into_response());
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Self::parse(&body).map_err(IntoResponse::into_response)
    }
}

/// Whether the request has exactly one `Content-Type` and it is
/// `application/json` (any case, any parameters).
pub(crate) fn is_json_content_type(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return false;
    };
    let essence = value
        .as_bytes()
        .split(|b| *b == b';')
        .next()
        .unwrap_or_default();
    essence
        .trim_ascii()
        .eq_ignore_ascii_case(b"application/json")
}

impl JsonInput {
    /// Parses a body; anything but a JSON object is refused.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, ApiError> {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            _ => Err(ApiError::BadRequest("Invalid Json Input".to_owned())),
        }
    }

    /// A required string.
    pub(crate) fn string(&mut self, name: &str) -> Result<String, ApiError> {
        self.opt_string(name)?.ok_or_else(|| invalid_field(name))
    }

    /// An optional string (`null` counts as absent).
    pub(crate) fn opt_string(&mut self, name: &str) -> Result<Option<String>, ApiError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(invalid_field(name)),
        }
    }

    /// A required boolean.
    pub(crate) fn bool(&mut self, name: &str) -> Result<bool, ApiError> {
        self.opt_bool(name)?.ok_or_else(|| invalid_field(name))
    }

    /// An optional boolean (`null` counts as absent).
    pub(crate) fn opt_bool(&mut self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(_) => Err(invalid_field(name)),
        }
    }

    /// A required JSON object, returned as a [`Value::Object`].
    pub(crate) fn object(&mut self, name: &str) -> Result<Value, ApiError> {
        match self.0.remove(name) {
            Some(v @ Value::Object(_)) => Ok(v),
            _ => Err(invalid_field(name)),
        }
    }

    /// An optional JSON object (`null` counts as absent).
    pub(crate) fn opt_object(&mut self, name: &str) -> Result<Option<Value>, ApiError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v)),
            Some(_) => Err(invalid_field(name)),
        }
    }

    /// A required integer (a JSON number without a fraction).
    pub(crate) fn integer(&mut self, name: &str) -> Result<i64, ApiError> {
        match self.0.remove(name) {
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| invalid_field(name)),
            _ => Err(invalid_field(name)),
        }
    }

    /// An optional array of strings (`null` counts as absent).
    pub(crate) fn opt_string_array(&mut self, name: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.0.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    _ => Err(invalid_field(name)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(invalid_field(name)),
        }
    }
}

/// A query string's parameters.
#[derive(Debug)]
pub(crate) struct QueryInput(HashMap<String, String>);

impl QueryInput {
    /// Wraps the parameters axum parsed.
    pub(crate) fn new(params: HashMap<String, String>) -> Self {
        Self(params)
    }

    /// A required parameter.
    pub(crate) fn string(&mut self, name: &str) -> Result<String, ApiError> {
        self.0.remove(name).ok_or_else(|| {
            ApiError::BadRequest(format!("Field name '{name}' is missing in GET request"))
        })
    }

    /// A boolean flag read as SuperTokens core reads one: absent means
    /// true; otherwise true exactly when it equals `true` in any case.
    pub(crate) fn flag(&mut self, name: &str) -> bool {
        self.0
            .remove(name)
            .is_none_or(|v| v.eq_ignore_ascii_case("true"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn message(e: ApiError) -> String {
        match e {
            ApiError::BadRequest(m) => m,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn only_application_json_with_any_parameters_is_a_json_content_type() {
        use axum::http::HeaderValue;
        let typed = |values: &[&'static str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(CONTENT_TYPE, HeaderValue::from_static(v));
            }
            is_json_content_type(&h)
        };
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=UTF-8",
            " application/json ; charset=utf-8",
        ] {
            assert!(typed(&[ok]), "{ok}");
        }
        for refused in [
            "text/plain",
            "text/plain; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "text/json",
            "application/jsonx",
            "application/merge-patch+json",
            "application/vnd.api+json",
            "",
        ] {
            assert!(!typed(&[refused]), "{refused}");
        }
        assert!(!typed(&[]));
        assert!(!typed(&["application/json", "text/plain"]));
    }

    #[test]
    fn malformed_json_and_non_objects_are_invalid_json_input() {
        for body in [&b"{"[..], b"[]", b"3", b"", b"\"x\""] {
            assert_eq!(
                message(JsonInput::parse(body).unwrap_err()),
                "Invalid Json Input"
            );
        }
    }

    #[test]
    fn missing_or_mistyped_fields_name_the_field() {
        let mut input = JsonInput::parse(br#"{"userId": 3, "flag": "true"}"#).unwrap();
        assert_eq!(
            message(input.string("userId").unwrap_err()),
            "Field name 'userId' is invalid in JSON input"
        );
        assert_eq!(
            message(input.bool("flag").unwrap_err()),
            "Field name 'flag' is invalid in JSON input"
        );
        assert_eq!(
            message(input.object("userDataInJWT").unwrap_err()),
            "Field name 'userDataInJWT' is invalid in JSON input"
        );
    }

    #[test]
    fn string_arrays_must_hold_strings() {
        let mut input = JsonInput::parse(br#"{"a": ["x", "y"], "b": ["x", 1]}"#).unwrap();
        assert_eq!(
            input.opt_string_array("a").unwrap(),
            Some(vec!["x".to_owned(), "y".to_owned()])
        );
        assert!(input.opt_string_array("b").is_err());
        assert_eq!(input.opt_string_array("c").unwrap(), None);
    }

    #[test]
    fn query_flags_read_like_the_core() {
        let mut q = QueryInput::new(HashMap::from([
            ("a".to_owned(), "TRUE".to_owned()),
            ("b".to_owned(), "false".to_owned()),
            ("c".to_owned(), "yes".to_owned()),
        ]));
        assert!(q.flag("a"));
        assert!(!q.flag("b"));
        assert!(!q.flag("c"));
        assert!(q.flag("absent"));
        assert_eq!(
            message(q.string("userId").unwrap_err()),
            "Field name 'userId' is missing in GET request"
        );
    }
}
