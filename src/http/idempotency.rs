//! The `Idempotency-Key` header on every POST under `/api/v1` (Stripe's model): required on
//! payments and refunds, optional elsewhere.
//!
//! - same key, same request → the first response again, byte for byte, with
//!   `Idempotent-Replayed: true`;
//! - same key, another method, path or body → 422 `idempotency_key_reused`;
//! - while the first request runs → 409 `idempotency_key_in_use`;
//! - a first request that failed with a 5xx, or was refused before any work (400, 422), leaves
//!   no trace: a retry (the corrected request) runs;
//! - a first request whose effect committed but whose process died before answering → 303 to
//!   the resource it created (its recovery point).
//!
//! Keys are kept `IDEMPOTENCY_TTL_SECS` (24 h).

use crate::app::idempotency::{self, Claim, StoredResponse};
use crate::app::AppState;
use crate::http::access;
use crate::http::problem::{ApiError, Problem};
use crate::http::routes::Routed;
use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{web, HttpMessage, HttpResponse, ResponseError};
use futures_util::StreamExt;

pub const HEADER: &str = "idempotency-key";
const REPLAYED: &str = "idempotent-replayed";
/// The operations whose responses show a secret once, and the field that holds it: their stored
/// responses keep the field `null` (with `secret_withheld: true`), so no secret waits in the
/// idempotency table and a replay says the secret is withheld.
const SECRET_FIELDS: [(&str, &str); 3] =
    [("create_api_key", "key"), ("create_webhook_endpoint", "secret"), ("rotate_webhook_secret", "secret")];

/// The body as stored: the operation's secret field withheld.
fn storable(operation: &str, body: &[u8]) -> Vec<u8> {
    let Some((_, field)) = SECRET_FIELDS.iter().find(|(op, _)| *op == operation) else {
        return body.to_vec();
    };
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut object)) => {
            if object.contains_key(*field) {
                object.insert((*field).to_string(), serde_json::Value::Null);
                object.insert("secret_withheld".into(), serde_json::Value::Bool(true));
            }
            serde_json::to_vec(&object).unwrap_or_default()
        }
        // Not the resource (a problem): nothing secret in it.
        _ => body.to_vec(),
    }
}

/// Response headers a replay repeats.
const KEPT_HEADERS: [&str; 4] = ["content-type", "location", "retry-after", "etag"];

/// Whether the request moves money, so that a key is required (for a request's path, or the
/// spec's path template: `{id}` is a segment like any other).
pub fn requires_key(path: &str) -> bool {
    path == "/api/v1/payments"
        || path == "/api/v1/store/me/payments"
        || path == "/api/v1/store/me/cart/checkout"
        || path
            .strip_prefix("/api/v1/payments/")
            .is_some_and(|rest| rest.ends_with("/refunds") && rest.matches('/').count() == 1)
}

/// 1 to 255 visible ASCII characters.
fn valid_key(key: &str) -> bool {
    (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

fn problem(status: StatusCode, code: &str, detail: &str) -> HttpResponse {
    ApiError::from(Problem::new(status, code, detail)).error_response()
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let routed = Routed::of(&req);
    // Only requests the access layer authorized get here; without its decision the handler
    // refuses the request anyway.
    let (Some((caller, operation)), Some(template)) = (access::authorized(&req), routed.template.as_deref()) else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    if req.method() != Method::POST || !routed.api {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    }
    let key = match req.headers().get(HEADER).map(|value| value.to_str().map(str::to_string)) {
        None if requires_key(template) => {
            let detail = "payments and refunds need an Idempotency-Key header (1-255 visible ASCII characters)";
            return Ok(req.into_response(problem(StatusCode::BAD_REQUEST, "idempotency_key_required", detail)));
        }
        None => return next.call(req).await.map(ServiceResponse::map_into_boxed_body),
        Some(Ok(key)) if valid_key(&key) => key,
        Some(_) => {
            let detail = "Idempotency-Key must be 1-255 visible ASCII characters";
            return Ok(req.into_response(problem(StatusCode::BAD_REQUEST, "invalid_idempotency_key", detail)));
        }
    };
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    // Keys belong to the API key that sent them (as in Stripe): another caller's identical key
    // neither replays nor blocks this one.
    let key = format!("{caller}:{key}");
    let body = match read_body(&mut req, state.settings.body_limit_bytes).await {
        Ok(body) => body,
        Err(response) => return Ok(req.into_response(response)),
    };
    let target = req.uri().path_and_query().map_or_else(|| routed.path.to_string(), |p| p.as_str().to_string());
    let claim = idempotency::claim(&state, key.clone(), req.method().to_string(), target, body.to_vec()).await;
    match claim {
        Err(err) => Ok(req.into_response(ApiError::from(err).error_response())),
        Ok(Claim::Run) => {
            req.set_payload(Payload::from(body));
            run_and_keep(&state, key, &operation, req, next).await
        }
        Ok(Claim::Replay(stored)) => Ok(req.into_response(replay(stored))),
        Ok(Claim::Reused) => Ok(req.into_response(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used for a different request (method, path or body)",
        ))),
        Ok(Claim::InUse) => Ok(req.into_response(problem(
            StatusCode::CONFLICT,
            "idempotency_key_in_use",
            "a request with this Idempotency-Key is still running; retry after it finished",
        ))),
        Ok(Claim::Recovered(Some(location))) => {
            let response = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, location))
                .insert_header((REPLAYED, "true"))
                .finish();
            Ok(req.into_response(response))
        }
        Ok(Claim::Recovered(None)) => Ok(req.into_response(problem(
            StatusCode::CONFLICT,
            "idempotency_key_in_use",
            "the first request with this Idempotency-Key took effect but its response was lost; look the \
             resource up instead of retrying",
        ))),
    }
}

/// The body, up to `limit` bytes (413 beyond, like the JSON extractor).
async fn read_body(req: &mut ServiceRequest, limit: usize) -> Result<Bytes, HttpResponse> {
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|_| problem(StatusCode::BAD_REQUEST, "unreadable_body", "the body could not be read"))?;
        if body.len() + chunk.len() > limit {
            return Err(problem(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is larger than allowed"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Runs the request with its key known to its units of work, then keeps the response (or frees
/// the key after a server error).
async fn run_and_keep(
    state: &AppState,
    key: String,
    operation: &str,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = match idempotency::scoped(key.clone(), next.call(req)).await {
        Ok(response) => response,
        Err(err) => {
            free(state, key).await;
            return Err(err);
        }
    };
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body).await else {
        free(state, key).await;
        let failed = problem(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "the response could not be produced");
        return Ok(ServiceResponse::new(request, failed));
    };
    // A request refused before any work began (unreadable or invalid: 400, 422) does not pin its
    // key, as in Stripe: the corrected request may use it. Only when nothing committed under it.
    let refused_before_work = matches!(head.status().as_u16(), 400 | 422)
        && idempotency::release_untouched(state, key.clone()).await.unwrap_or(false);
    if head.status().is_server_error() {
        free(state, key).await;
    } else if refused_before_work {
        // Freed above.
    } else {
        let headers: Vec<[String; 2]> = head
            .headers()
            .iter()
            .filter(|(name, _)| KEPT_HEADERS.contains(&name.as_str()))
            .filter_map(|(name, value)| Some([name.to_string(), value.to_str().ok()?.to_string()]))
            .collect();
        let stored = StoredResponse {
            status: head.status().as_u16(),
            headers: serde_json::to_value(headers).unwrap_or_default(),
            body: storable(operation, &bytes),
        };
        if let Err(err) = idempotency::complete(state, key, stored).await {
            // The key stays claimed: a retry gets 409 until its lease ends, then runs or is
            // sent to the recovery point. Never a second effect.
            tracing::warn!(error = format!("{err:#}"), "could not keep the response for its idempotency key");
        }
    }
    Ok(ServiceResponse::new(request, head.set_body(bytes).map_into_boxed_body()))
}

async fn free(state: &AppState, key: String) {
    if let Err(err) = idempotency::release(state, key).await {
        tracing::warn!(error = format!("{err:#}"), "could not free an idempotency key after a failure");
    }
}

fn replay(stored: StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    if let Some(headers) = stored.headers.as_array() {
        for pair in headers {
            let (Some(name), Some(value)) =
                (pair.get(0).and_then(|v| v.as_str()), pair.get(1).and_then(|v| v.as_str()))
            else {
                continue;
            };
            if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_str(value)) {
                response.insert_header((name, value));
            }
        }
    }
    response.insert_header((REPLAYED, "true"));
    response.body(stored.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii_up_to_255() {
        assert!(valid_key("order-1042-attempt-1"));
        assert!(valid_key(&"k".repeat(255)));
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(256)));
        assert!(!valid_key("has space"));
        assert!(!valid_key("tab\t"));
        assert!(!valid_key("ünïcode"));
    }

    #[test]
    fn a_stored_response_never_holds_the_secret_it_showed() {
        let created = br#"{"id":"k1","key":"hcrm_secret","secret_withheld":false}"#;
        let stored: serde_json::Value = serde_json::from_slice(&storable("create_api_key", created)).unwrap();
        assert_eq!(stored, serde_json::json!({"id": "k1", "key": null, "secret_withheld": true}));
        let endpoint = br#"{"id":"e1","secret":"whsec_x","secret_withheld":false}"#;
        let stored = String::from_utf8(storable("rotate_webhook_secret", endpoint)).unwrap();
        assert!(!stored.contains("whsec_x"), "{stored}");
        let problem = br#"{"code":"validation_failed"}"#;
        assert_eq!(storable("create_api_key", problem), problem.to_vec());
        assert_eq!(storable("create_client", created), created.to_vec(), "other operations are kept as sent");
    }

    #[test]
    fn payments_and_refunds_require_a_key() {
        assert!(requires_key("/api/v1/payments"));
        assert!(requires_key("/api/v1/payments/0190a0a0-0000-7000-8000-000000000000/refunds"));
        assert!(!requires_key("/api/v1/payments/x/refunds/y"));
        assert!(!requires_key("/api/v1/orders"));
        assert!(!requires_key("/api/v1/enrollments/x/payments"));
        assert!(requires_key("/api/v1/payments/{id}/refunds"), "the spec's template follows the same rule");
    }
}
