//! Extractors whose failures are problem documents: JSON bodies and query strings (parsed, then
//! validated, with every failing field named), `If-Match`, list queries (`list_query!`), and the
//! handler for framework query/path errors.

use super::problem::{ApiError, Problem};
use super::validation::issues;
use crate::domain::free_form::FieldIssue;
use crate::domain::page::{PageRequest, DEFAULT_LIMIT};
use crate::domain::precondition::{Precondition, Tagged};
use crate::domain::time::OUT_OF_RANGE;
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::{self, EntityTag, Header};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use validator::Validate;

/// A JSON body, parsed and validated. Wrong content type → 415, too large → 413, not JSON → 400
/// `malformed_json`, wrong shape (types, unknown or missing fields) or invalid values → 422
/// naming each field.
pub struct JsonBody<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    let Some(Ok(value)) = req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Runs the fields' constraints and the type's rules across fields (validator `schema`
/// functions, see `validation::rules`), so that one 422 names every failing field.
fn checked<T: Validate>(value: T) -> Result<T, ApiError> {
    match value.validate() {
        Ok(()) => Ok(value),
        Err(errors) => Err(Problem::invalid(issues(&errors)).into()),
    }
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(unsupported_media_type());
            }
            let bytes = body.await.map_err(unreadable)?;
            parse_json(&bytes).and_then(checked).map(JsonBody)
        })
    }
}

/// A JSON body that may be left out (no body and no content type) or sent as `null`:
/// then `T::default()`.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Validate + Default + 'static> FromRequest for OptionalJsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared = req.headers().contains_key(header::CONTENT_TYPE);
        let json = is_json(req);
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body.await.map_err(unreadable)?;
            if bytes.is_empty() && !declared {
                return Ok(OptionalJsonBody(T::default()));
            }
            if !json {
                return Err(unsupported_media_type());
            }
            if bytes.trim_ascii() == b"null" {
                return Ok(OptionalJsonBody(T::default()));
            }
            parse_json(&bytes).and_then(checked).map(OptionalJsonBody)
        })
    }
}

/// Query parameters, parsed (a failing parameter is named) and validated.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned + Validate + 'static> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).and_then(checked).map(Query))
    }
}

/// Deserializes a query string, keeping the name of the parameter that failed.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        let field = if path == "." { unknown_field_name(&message).unwrap_or_else(|| "query".into()) } else { path };
        let code = type_error_code(&message, "invalid_query");
        ApiError::from(Problem::invalid(vec![FieldIssue::new(field, code, message)]))
    })
}

fn unsupported_media_type() -> ApiError {
    Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send the body as application/json")
        .into()
}

fn unreadable(err: actix_web::Error) -> ApiError {
    match err.as_error::<PayloadError>() {
        Some(PayloadError::Overflow) => {
            Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is larger than allowed")
        }
        _ => Problem::new(StatusCode::BAD_REQUEST, "unreadable_body", "the body could not be read"),
    }
    .into()
}

/// The code for a value serde refused: `out_of_range` for timestamps the API cannot store.
fn type_error_code(message: &str, default: &'static str) -> &'static str {
    if message.contains(OUT_OF_RANGE) {
        "out_of_range"
    } else {
        default
    }
}

/// Deserializes with the path of a failing field (`items[2].quantity`) kept for the message.
/// Every body of this API is a JSON object: syntax is checked first (400), then the top level
/// must be an object (serde would otherwise accept an array for a struct, by position).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if let Err(err) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("the body is not valid JSON: {err}"),
        )
        .into());
    }
    if let Some(field) = nul_character_path(bytes) {
        let issue = FieldIssue::new(field, "invalid_character", "text must not contain NUL characters");
        return Err(Problem::invalid(vec![issue]).into());
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Problem::invalid(vec![FieldIssue::new("body", "invalid_type", "must be a JSON object")]).into());
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let inner = err.inner();
        let path = err.path().to_string();
        let field = if path == "." { String::new() } else { path };
        let message = inner.to_string();
        let message = message.split(" at line ").next().unwrap_or(&message).to_string();
        let field =
            if field.is_empty() { unknown_field_name(&message).unwrap_or_else(|| "body".into()) } else { field };
        let code = type_error_code(&message, "invalid_type");
        ApiError::from(Problem::invalid(vec![FieldIssue::new(field, code, message)]))
    })?;
    Ok(value)
}

/// Where a NUL character (`\u0000`) stands in the body, if anywhere: PostgreSQL cannot store it
/// and MongoDB keys cannot hold it. The full parse runs only when the escape appears at all.
fn nul_character_path(bytes: &[u8]) -> Option<String> {
    if !bytes.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return None;
    }
    fn find(value: &serde_json::Value, path: String) -> Option<String> {
        match value {
            serde_json::Value::String(text) if text.contains('\0') => Some(path),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, v)| find(v, format!("{path}[{i}]")))
            }
            serde_json::Value::Object(map) => map.iter().find_map(|(key, v)| {
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                if key.contains('\0') {
                    Some(child)
                } else {
                    find(v, child)
                }
            }),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    find(&value, String::new()).map(|path| if path.is_empty() { "body".into() } else { path })
}

/// serde names unknown fields only in the message: "unknown field `x`, expected ...".
fn unknown_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// `If-Match` (RFC 9110 §13.1.1) as a precondition on a version: `*` allows any; a list of
/// entity tags allows the versions its strong tags name. Weak tags never match (strong
/// comparison), and a header that does not parse matches nothing: the write answers 412.
pub struct IfMatch(pub Precondition);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let precondition = if !req.headers().contains_key(header::IF_MATCH) {
            Precondition::Unconditional
        } else {
            match header::IfMatch::parse(req) {
                Ok(header::IfMatch::Any) => Precondition::Any,
                Ok(header::IfMatch::Items(tags)) => {
                    Precondition::OneOf(tags.iter().filter(|tag| !tag.weak).map(|tag| tag.tag().to_string()).collect())
                }
                Err(_) => Precondition::OneOf(Vec::new()),
            }
        };
        std::future::ready(Ok(IfMatch(precondition)))
    }
}

/// `params(IfMatch)` documents the header; the spec pass adds the 412 and the `ETag` of the
/// answer to every operation that takes it.
impl IntoParams for IfMatch {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{ObjectBuilder, Required, Type};
        vec![ParameterBuilder::new()
            .name("If-Match")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "ETags last read (`\"3\"`, a list, or `*`): the write applies only if one is current (RFC 9110 strong \
                 comparison; weak tags never match), otherwise 412 `version_mismatch` with `current_etag`. Without it \
                 the write applies to whatever is current.",
            ))
            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
            .build()]
    }
}

/// The strong ETag of a tagged resource.
pub fn etag(resource: &impl Tagged) -> EntityTag {
    EntityTag::new_strong(resource.tag())
}

/// The page a list request asks for (`limit` default 20; validated by the query types).
pub fn page_request(limit: Option<i64>, cursor: &Option<String>) -> PageRequest {
    PageRequest { limit: limit.unwrap_or(DEFAULT_LIMIT), cursor: cursor.clone() }
}

/// A list's query: its filters, then `limit` and `cursor` with `page()`, so every list pages
/// alike (one wording, one bound) and a list's own struct holds only its filters.
macro_rules! list_query {
    ($(#[$attr:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        #[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams, validator::Validate)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        $(#[$attr])*
        pub struct $name {
            $($fields)*
            /// Page size, 1 to 100 (default 20).
            #[param(minimum = 1, maximum = 100)]
            #[validate(range(min = 1, max = 100))]
            pub limit: Option<i64>,
            /// `next_cursor` of the previous page (same filters and sort); absent for the first page.
            #[param(max_length = 1024)]
            #[validate(length(max = 1024))]
            pub cursor: Option<String>,
        }

        impl $name {
            /// The page asked for (`limit` default 20).
            pub fn page(&self) -> $crate::domain::page::PageRequest {
                $crate::http::extract::page_request(self.limit, &self.cursor)
            }
        }
    };
}
pub(crate) use list_query;

list_query! {
    /// `limit` and `cursor`: the query of lists without filters.
    pub struct PageParams {}
}

list_query! {
    /// `q`, `limit` and `cursor`: the query of lists whose only filter is a text search.
    pub struct SearchParams {
        /// Case-insensitive text search (what it searches depends on the list).
        #[param(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
        #[validate(length(max = 100), custom(function = super::validation::search_text))]
        pub q: Option<String>,
    }
}

impl SearchParams {
    pub fn search(&self) -> Option<String> {
        search_text(&self.q)
    }
}

/// A `q` worth searching for: not blank.
pub fn search_text(q: &Option<String>) -> Option<String> {
    q.clone().filter(|q| !q.trim().is_empty())
}

pub fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::from(Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_path_parameter",
        format!("a path parameter is invalid: {err}"),
    ))
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        quantity: u32,
    }

    #[test]
    fn type_errors_name_the_nested_field() {
        let problem =
            parse_json::<Body>(br#"{"name": "a", "items": [{"quantity": 1}, {"quantity": "x"}]}"#).unwrap_err().0;
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "items[1].quantity");
    }

    #[test]
    fn unknown_fields_are_named() {
        let problem = parse_json::<Body>(br#"{"name": "a", "items": [], "admin": true}"#).unwrap_err().0;
        assert_eq!(problem.errors[0].field, "admin");
    }

    #[test]
    fn broken_json_is_a_400() {
        assert_eq!(parse_json::<Body>(br#"{"name": "#).unwrap_err().0.status, 400);
        assert_eq!(parse_json::<Body>(b"").unwrap_err().0.status, 400);
        assert_eq!(parse_json::<Body>(br#"{"name":"a","items":[]} trailing"#).unwrap_err().0.status, 400);
        assert_eq!(parse_json::<Body>(br#"["a", []]"#).unwrap_err().0.status, 422);
    }

    #[test]
    fn nul_characters_are_refused_with_their_path() {
        let problem = parse_json::<Body>(br#"{"name": "a\u0000b", "items": []}"#).unwrap_err().0;
        assert_eq!((problem.status, problem.errors[0].field.as_str()), (422, "name"));
        let escaped = parse_json::<Body>(br#"{"name": "a\\u0000b", "items": []}"#);
        assert!(escaped.is_ok(), "an escaped backslash before u0000 is plain text");
    }

    #[test]
    fn unstorable_timestamps_are_out_of_range() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Dated {
            at: crate::domain::time::Timestamp,
        }
        let problem = parse_json::<Dated>(br#"{"at": "-10000-01-01T00:00:00Z"}"#).unwrap_err().0;
        assert_eq!((problem.errors[0].field.as_str(), problem.errors[0].code.as_str()), ("at", "out_of_range"));
    }

    fn if_match(value: Option<&str>) -> Precondition {
        let mut request = TestRequest::default();
        if let Some(value) = value {
            request = request.insert_header((header::IF_MATCH, value));
        }
        let (req, mut payload) = request.to_http_parts();
        futures_util::FutureExt::now_or_never(IfMatch::from_request(&req, &mut payload))
            .and_then(Result::ok)
            .map(|m| m.0)
            .unwrap_or_default()
    }

    #[test]
    fn if_match_compares_strong_tags_only() {
        assert_eq!(if_match(None), Precondition::Unconditional);
        assert_eq!(if_match(Some("*")), Precondition::Any);
        let tags = |list: &[&str]| Precondition::OneOf(list.iter().map(|t| t.to_string()).collect());
        assert_eq!(if_match(Some(r#""3""#)), tags(&["3"]));
        assert_eq!(if_match(Some(r#""2", "3.1""#)), tags(&["2", "3.1"]));
        assert_eq!(if_match(Some(r#"W/"3""#)), tags(&[]), "weak tags never match");
        assert_eq!(if_match(Some(r#"W/"2", "3""#)), tags(&["3"]));
        assert_eq!(if_match(Some("3")), Precondition::OneOf(vec![]), "an unquoted tag does not parse");
    }
}
