//! Extractors whose failures are problem documents: JSON bodies (with the failing field named),
//! `If-Match`, pagination, and the handlers for framework query/path errors and unknown routes.

use super::problem::{ApiError, Problem};
use crate::domain::free_form::FieldIssue;
use crate::domain::page::{DEFAULT_LIMIT, MAX_LIMIT};
use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use utoipa::IntoParams;

/// A JSON body. Wrong content type → 415, too large → 413, not JSON → 400 `malformed_json`,
/// wrong shape (types, unknown or missing fields) → 422 naming the field.
pub struct JsonBody<T>(pub T);

fn is_json(req: &HttpRequest) -> bool {
    let Some(Ok(value)) = req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
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
            parse_json(&bytes).map(JsonBody)
        })
    }
}

/// A JSON body that may be left out (no body and no content type) or sent as `null`:
/// then `T::default()`.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJsonBody<T> {
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
            parse_json(&bytes).map(OptionalJsonBody)
        })
    }
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
        ApiError::from(Problem::invalid(vec![FieldIssue::new(field, "invalid_type", message)]))
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

/// `If-Match` carrying a version ETag (`"3"` or `W/"3"`); `*` matches any version.
pub struct IfMatch(pub Option<i32>);

/// A stale or malformed `If-Match` can never match: the sentinel makes the update answer 412.
const NEVER_MATCHES: i32 = -1;

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let version = req.headers().get(header::IF_MATCH).map(|value| {
            let text = value.to_str().unwrap_or("").trim();
            if text == "*" {
                return None;
            }
            Some(text.trim_start_matches("W/").trim_matches('"').parse::<i32>().unwrap_or(NEVER_MATCHES))
        });
        std::future::ready(Ok(IfMatch(version.flatten())))
    }
}

/// The ETag of a versioned resource.
pub fn etag(version: i32) -> String {
    format!("\"{version}\"")
}

/// `limit` and `cursor` for list endpoints.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Case-insensitive text search, where the list supports it.
    #[param(max_length = 100)]
    pub q: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> Result<i64, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(
                Problem::invalid(vec![FieldIssue::new("limit", "out_of_range", "must be between 1 and 100")]).into()
            );
        }
        if let Some(issue) = self.q.as_deref().and_then(crate::domain::page::search_text_issue) {
            return Err(Problem::invalid(vec![issue]).into());
        }
        Ok(limit)
    }

    pub fn search(&self) -> Option<String> {
        self.q.clone().filter(|q| !q.trim().is_empty())
    }

    /// An empty `cursor=` means the first page.
    pub fn cursor(&self) -> Option<String> {
        self.cursor.clone().filter(|c| !c.is_empty())
    }
}

pub fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let message = err.to_string();
    let field = message.split('`').nth(1).filter(|_| message.contains("field")).unwrap_or("query").to_string();
    ApiError::from(Problem::invalid(vec![FieldIssue::new(
        field,
        "invalid_query",
        message.replace("Query deserialize error: ", ""),
    )]))
    .into()
}

pub fn path_error(err: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    ApiError::from(Problem::new(
        StatusCode::BAD_REQUEST,
        "invalid_path_parameter",
        format!("a path parameter is invalid: {err}"),
    ))
    .into()
}

/// Routes known to the spec, to tell "wrong method" (405 with `Allow`) from "no such route" (404).
#[derive(Debug, Clone, Default)]
pub struct RouteTable(Vec<(Vec<String>, Vec<String>)>);

impl RouteTable {
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        let routes = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path.trim_matches('/').split('/').map(str::to_string).collect();
                let mut methods = Vec::new();
                let operations = [
                    ("GET", &item.get),
                    ("PUT", &item.put),
                    ("POST", &item.post),
                    ("DELETE", &item.delete),
                    ("PATCH", &item.patch),
                ];
                for (name, operation) in operations {
                    if operation.is_some() {
                        methods.push(name.to_string());
                    }
                }
                (segments, methods)
            })
            .collect();
        RouteTable(routes)
    }

    fn allowed(&self, path: &str) -> Option<Vec<String>> {
        let wanted: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.0.iter().find_map(|(segments, methods)| {
            let matches = segments.len() == wanted.len()
                && segments.iter().zip(&wanted).all(|(s, w)| (s.starts_with('{') && !w.is_empty()) || s == w);
            matches.then(|| methods.clone())
        })
    }
}

/// Default service: 405 for a known path with another method, else 404; both as problems.
pub async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> HttpResponse {
    use actix_web::ResponseError;
    if let Some(methods) = routes.allowed(req.path()) {
        let allow = methods.join(", ");
        let mut response = ApiError::from(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed here; use {allow}", req.method()),
        ))
        .error_response();
        if let Ok(value) = header::HeaderValue::from_str(&allow) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        return response;
    }
    ApiError::from(Problem::new(StatusCode::NOT_FOUND, "route_not_found", format!("no route for {}", req.path())))
        .error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
