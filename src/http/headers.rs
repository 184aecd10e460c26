//! Headers for browsers and caches: security headers, CORS, and conditional GETs (`ETag`,
//! `If-None-Match` → 304).

use super::access::StorefrontKey;
use super::routes::Routed;
use crate::http::problem::{ApiError, Problem};
use actix_web::body::{to_bytes, BodySize, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _, HttpResponse, ResponseError};
use std::hash::Hasher as _;

/// The Swagger UI loads its own scripts and styles only (it sets inline `style` attributes).
const DOCS_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
    form-action 'none'";
/// The dashboard's own files: nothing inline, not even styles.
const DASHBOARD_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/// JSON is never a document to render.
const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// Methods and request headers browsers may use; response headers scripts may read.
const CORS_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";
const CORS_REQUEST_HEADERS: [&str; 8] = [
    "authorization",
    "content-type",
    "accept",
    "if-match",
    "if-none-match",
    "idempotency-key",
    "prefer",
    "x-publishable-key",
];
const CORS_EXPOSED: &str = "ETag, Location, Idempotent-Replayed, Retry-After, RateLimit-Limit, RateLimit-Remaining, \
    RateLimit-Reset, X-Request-Id, WWW-Authenticate";
/// Seconds a browser may reuse a preflight answer.
const CORS_MAX_AGE: &str = "600";
/// Larger bodies are not hashed for an `ETag` (none is that large today).
const ETAG_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// `nosniff` everywhere; `no-store` and a deny-all policy on the API; a strict policy on the docs
/// and a stricter one on the dashboard.
pub async fn security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let routed = Routed::of(&req);
    let api = routed.api;
    let dashboard = routed.path.as_ref() == "/dashboard" || routed.path.starts_with("/dashboard/");
    let hsts = req
        .app_data::<web::Data<crate::app::AppState>>()
        .and_then(|state| state.settings.access.hsts_max_age)
        .and_then(|age| HeaderValue::from_str(&format!("max-age={age}; includeSubDomains")).ok());
    let mut response = next.call(req).await?.map_into_boxed_body();
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(hsts) = hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts);
    }
    let policy = if api || headers.get(header::CONTENT_TYPE).is_some_and(|t| !is_html_or_script(t)) {
        API_POLICY
    } else if dashboard {
        DASHBOARD_POLICY
    } else {
        DOCS_POLICY
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    if api {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

/// Pages and the files they load get the docs policy; JSON and everything else the deny-all one.
fn is_html_or_script(content_type: &HeaderValue) -> bool {
    let text = content_type.to_str().unwrap_or_default();
    ["text/html", "javascript", "text/css", "image/"].iter().any(|kind| text.contains(kind))
}

/// The origins browsers may call the API from (`CORS_ALLOWED_ORIGINS`).
#[derive(Debug, Clone, Default)]
pub struct CorsOrigins(pub Vec<String>);

/// CORS for the exact origins configured; requests from other origins get no CORS headers, so
/// the browser keeps the response from the page (other callers are not affected). Under
/// `/api/v1/store/` the storefronts' origins count too: a request made with a publishable key,
/// its key's; any other (a preflight, a signed-in customer's call), those of every usable
/// publishable key.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let configured_list = req.app_data::<web::Data<CorsOrigins>>().cloned().unwrap_or_default();
    let configured = |origin: &HeaderValue| listed(&configured_list.0, origin);
    let store = Routed::of(&req).path.starts_with(STORE_PREFIX);
    let allowed = match &origin {
        None => false,
        Some(origin) if configured(origin) => true,
        Some(origin) if store => match req.app_data::<web::Data<crate::app::AppState>>() {
            Some(state) => listed(&crate::app::access::storefront_origins(state).await, origin),
            None => false,
        },
        Some(_) => false,
    };
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let response = match origin.filter(|_| allowed) {
            Some(origin) if requested_headers_allowed(req.headers()) => {
                let mut response = HttpResponse::NoContent().finish();
                let headers = response.headers_mut();
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(CORS_METHODS));
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_str(&CORS_REQUEST_HEADERS.join(", ")).unwrap_or(HeaderValue::from_static("")),
                );
                headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(CORS_MAX_AGE));
                vary(headers);
                response
            }
            Some(_) => ApiError::from(Problem::new(
                StatusCode::FORBIDDEN,
                "cors_header_not_allowed",
                format!("browsers may send only these headers: {}", CORS_REQUEST_HEADERS.join(", ")),
            ))
            .error_response(),
            None => ApiError::from(Problem::new(
                StatusCode::FORBIDDEN,
                "cors_origin_not_allowed",
                "this origin may not call the API from a browser (CORS_ALLOWED_ORIGINS)",
            ))
            .error_response(),
        };
        return Ok(req.into_response(response));
    }
    let mut response = next.call(req).await?.map_into_boxed_body();
    // A storefront's request: its own key's origins (configured ones aside).
    let allowed = match response.request().extensions().get::<StorefrontKey>() {
        Some(StorefrontKey(key)) if store => {
            origin.as_ref().is_some_and(|origin| configured(origin) || listed(&key.allowed_origins, origin))
        }
        _ => allowed,
    };
    let headers = response.headers_mut();
    vary(headers);
    if let Some(origin) = origin.filter(|_| allowed) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(CORS_EXPOSED));
    }
    Ok(response)
}

const STORE_PREFIX: &str = "/api/v1/store/";

fn listed(origins: &[String], origin: &HeaderValue) -> bool {
    origins.iter().any(|allowed| allowed.as_bytes() == origin.as_bytes())
}

fn vary(headers: &mut HeaderMap) {
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

fn requested_headers_allowed(headers: &HeaderMap) -> bool {
    let Some(requested) = headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) else {
        return true;
    };
    let Ok(requested) = requested.to_str() else {
        return false;
    };
    requested
        .split(',')
        .map(|name| name.trim().to_ascii_lowercase())
        .filter(|name| !name.is_empty())
        .all(|name| CORS_REQUEST_HEADERS.contains(&name.as_str()))
}

/// Every successful GET under `/api/v1` carries an `ETag` (the handler's, such as a client's
/// version, or a hash of the body); `If-None-Match` with a current tag gets 304 and no body.
pub async fn conditional_get(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) || !Routed::of(&req).api {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).cloned();
    let response = next.call(req).await?;
    if response.status() != StatusCode::OK {
        return Ok(response.map_into_boxed_body());
    }
    let (request, response) = response.into_parts();
    let mut response = if response.headers().contains_key(header::ETAG) {
        response.map_into_boxed_body()
    } else {
        with_body_tag(response).await?
    };
    let current = response.headers().get(header::ETAG).cloned();
    if let (Some(wanted), Some(current)) = (if_none_match, current) {
        if matches_any(&wanted, &current) {
            let mut not_modified = HttpResponse::NotModified().finish();
            not_modified.headers_mut().insert(header::ETAG, current);
            for name in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"].map(HeaderName::from_static) {
                if let Some(value) = response.headers().get(&name).cloned() {
                    not_modified.headers_mut().insert(name, value);
                }
            }
            response = not_modified;
        }
    }
    Ok(ServiceResponse::new(request, response))
}

/// The response with an `ETag` made from its body (bodies of unknown or huge size get none).
async fn with_body_tag<B: MessageBody + 'static>(response: HttpResponse<B>) -> Result<HttpResponse, actix_web::Error> {
    if !matches!(response.body().size(), BodySize::Sized(n) if n <= ETAG_MAX_BYTES) {
        return Ok(response.map_into_boxed_body());
    }
    let (head, body) = response.into_parts();
    let bytes = to_bytes(body).await.map_err(|err| actix_web::error::ErrorInternalServerError(err.into()))?;
    let tag = body_tag(&bytes);
    let mut response = head.set_body(BoxBody::new(bytes));
    response.headers_mut().insert(header::ETAG, tag);
    Ok(response)
}

/// A weak tag (the bytes may be sent compressed): a 64-bit hash of the body. A tag only has to
/// change when its resource does (no one forges it), so a cryptographic digest would be CPU spent
/// on every read for nothing. `DefaultHasher::new()` has fixed keys: every replica of a build
/// gives the same tag (a new build may not, which costs one full response per cached read).
fn body_tag(body: &[u8]) -> HeaderValue {
    let mut hasher = std::hash::DefaultHasher::new();
    hasher.write(body);
    let text = format!("W/\"{:016x}\"", hasher.finish());
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("W/\"\""))
}

/// `If-None-Match` uses the weak comparison: `W/"x"` and `"x"` are the same tag.
fn matches_any(wanted: &HeaderValue, current: &HeaderValue) -> bool {
    let (Ok(wanted), Ok(current)) = (wanted.to_str(), current.to_str()) else {
        return false;
    };
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_string();
    let current = opaque(current);
    wanted.split(',').any(|tag| tag.trim() == "*" || opaque(tag) == current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists() {
        let current = HeaderValue::from_static("W/\"abc\"");
        assert!(matches_any(&HeaderValue::from_static("\"abc\""), &current));
        assert!(matches_any(&HeaderValue::from_static("\"x\", W/\"abc\""), &current));
        assert!(matches_any(&HeaderValue::from_static("*"), &current));
        assert!(!matches_any(&HeaderValue::from_static("\"abd\""), &current));
    }

    #[test]
    fn only_the_listed_request_headers_pass_a_preflight() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCESS_CONTROL_REQUEST_HEADERS, HeaderValue::from_static("Authorization, content-type"));
        assert!(requested_headers_allowed(&headers));
        headers.insert(header::ACCESS_CONTROL_REQUEST_HEADERS, HeaderValue::from_static("x-secret"));
        assert!(!requested_headers_allowed(&headers));
    }
}
