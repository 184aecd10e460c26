//! `/api/v1/webhook-endpoints`: where integrators receive events, and what was delivered.

use crate::app::{webhooks, AppState};
use crate::domain::access::Owner;
use crate::domain::ids::{ApiKeyId, DeliveryId, EventId, Located, Nested, UserId, WebhookEndpointId};
use crate::domain::webhooks::{
    Attempt, Delivery, DeliveryStatus, NewWebhookEndpoint, WebhookEndpoint, WebhookEndpointChanges,
};
use crate::http::access::Caller;
use crate::http::dto::{created_with_tag, no_content, tagged, PageOf};
use crate::http::extract::{etag, list_query, IfMatch, JsonBody, OptionalJsonBody, PageParams, Query};
use crate::http::problem::ApiResult;
use crate::http::validation::double_option;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

/// An event type, a `family.*` wildcard or `*` (the spec lists every one).
pub struct EventTypePattern;

impl utoipa::PartialSchema for EventTypePattern {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(crate::domain::events::EventPattern::all_texts()))
            .examples([serde_json::json!("order.*")])
            .into()
    }
}

impl ToSchema for EventTypePattern {}

/// Longest overlap of a rotation: a week.
const MAX_OVERLAP_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the current secret keeps signing beside the new one, 0 to 604800 seconds (a
    /// week; default 86400, a day). 0 retires it at once.
    #[serde(default, deserialize_with = "crate::http::validation::optional_whole")]
    #[validate(range(max = 604800))]
    #[schema(minimum = 0, maximum = 604800, example = 86400)]
    pub overlap_secs: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointRequest {
    /// An `http` or `https` URL. Loopback, private, link-local and cloud metadata addresses are
    /// refused (loopback and private ones are allowed when the server runs with
    /// `WEBHOOK_ALLOW_PRIVATE=true`; link-local and metadata ones never are).
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, pattern = "^https?://", example = "https://hooks.example.com/crm")]
    pub url: String,
    #[validate(length(max = 500))]
    #[schema(max_length = 500, example = "Order sync")]
    pub description: Option<String>,
    /// Event types, `family.*` wildcards (`order.*`) or `*` for every event; 1 to 50.
    #[validate(length(min = 1, max = 50))]
    #[schema(min_items = 1, max_items = 50, value_type = Vec<EventTypePattern>, example = json!(["order.*", "payment.succeeded"]))]
    pub event_types: Vec<String>,
    /// Default `true`.
    pub active: Option<bool>,
}

impl From<WebhookEndpointRequest> for NewWebhookEndpoint {
    fn from(r: WebhookEndpointRequest) -> Self {
        NewWebhookEndpoint {
            url: r.url,
            description: r.description,
            event_types: r.event_types,
            active: r.active.unwrap_or(true),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointPatchRequest {
    #[validate(length(min = 1, max = 2000))]
    #[schema(min_length = 1, max_length = 2000, pattern = "^https?://")]
    pub url: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 500))]
    #[schema(max_length = 500, value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[validate(length(min = 1, max = 50))]
    #[schema(min_items = 1, max_items = 50, value_type = Option<Vec<EventTypePattern>>)]
    pub event_types: Option<Vec<String>>,
    /// `true` turns a disabled endpoint back on (and clears `disabled_reason`); deliveries
    /// waiting for it resume.
    pub active: Option<bool>,
}

impl From<WebhookEndpointPatchRequest> for WebhookEndpointChanges {
    fn from(r: WebhookEndpointPatchRequest) -> Self {
        WebhookEndpointChanges { url: r.url, description: r.description, event_types: r.event_types, active: r.active }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEndpointResponse {
    pub id: WebhookEndpointId,
    #[schema(example = "https://hooks.example.com/crm")]
    pub url: String,
    pub description: Option<String>,
    #[schema(value_type = Vec<EventTypePattern>, example = json!(["order.*", "payment.succeeded"]))]
    pub event_types: Vec<String>,
    pub active: bool,
    /// Why the server turned the endpoint off (every delivery failed for too long).
    pub disabled_reason: Option<String>,
    /// Since when every attempt failed; `null` after a success.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The API key that created the endpoint and owns it: only that key (or an admin) sees,
    /// changes, tests or retries it. `null` for endpoints made before ownership (admins only)
    /// or by a staff user.
    pub owner_key_id: Option<ApiKeyId>,
    /// The staff user who created the endpoint in a session and owns it, as a key would.
    pub owner_user_id: Option<UserId>,
    /// While a rotation's overlap lasts, deliveries carry two signatures (the new secret's and
    /// the previous one's) until this instant; `null` otherwise.
    pub previous_secret_until: Option<DateTime<Utc>>,
}

impl From<WebhookEndpoint> for WebhookEndpointResponse {
    fn from(e: WebhookEndpoint) -> Self {
        WebhookEndpointResponse {
            id: e.id,
            url: e.url,
            description: e.description,
            event_types: e.event_types,
            active: e.active,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since,
            created_at: e.created_at,
            updated_at: e.updated_at,
            owner_key_id: match e.owner {
                Some(Owner::Key(id)) => Some(id),
                _ => None,
            },
            owner_user_id: match e.owner {
                Some(Owner::User(id)) => Some(id),
                _ => None,
            },
            previous_secret_until: e.previous_secret_until.filter(|until| *until > crate::app::clock::now()),
        }
    }
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhookEndpointResponse {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointResponse,
    /// The Standard Webhooks signing secret (`whsec_` and the base64 of 32 random bytes). It is
    /// not shown again: keep it where the receiver can read it. A replay of the request (same
    /// `Idempotency-Key`) answers `null` here, with `secret_withheld: true`.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwJ0Vd1fc3s9w=")]
    pub secret: Option<String>,
    /// `true` in a replay: the secret was shown once and is stored only sealed.
    pub secret_withheld: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptResponse {
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status; `null` when none came (timeout, connection refused).
    #[schema(example = 200)]
    pub status_code: Option<i32>,
    #[schema(example = 37)]
    pub duration_ms: i32,
    pub error: Option<String>,
    pub succeeded: bool,
}

impl From<Attempt> for AttemptResponse {
    fn from(a: Attempt) -> Self {
        AttemptResponse {
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            duration_ms: a.duration_ms,
            error: a.error,
            succeeded: a.succeeded,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryResponse {
    pub id: DeliveryId,
    pub endpoint_id: WebhookEndpointId,
    /// `null` for pings.
    pub event_id: Option<EventId>,
    /// The event's type, or `ping`.
    #[schema(example = "order.placed")]
    pub event_type: String,
    /// The event's sequence (deliveries to one endpoint go in this order); `null` for pings.
    pub sequence: Option<i64>,
    pub status: DeliveryStatus,
    /// Every attempt, oldest first.
    pub attempts: Vec<AttemptResponse>,
    /// When the next attempt is due (pending deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for DeliveryResponse {
    fn from(d: Delivery) -> Self {
        DeliveryResponse {
            id: d.id,
            endpoint_id: d.endpoint_id,
            event_id: d.event_id,
            event_type: d.event_type,
            sequence: d.sequence,
            status: d.status,
            attempts: d.attempts.into_iter().map(Into::into).collect(),
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
            completed_at: d.completed_at,
        }
    }
}

list_query! {
    /// Filters for an endpoint's deliveries; newest first.
    pub struct DeliveryListQuery {
        #[param(inline)]
        pub status: Option<DeliveryStatus>,
    }
}

/// Register a webhook endpoint
///
/// Events of the listed types are POSTed to `url` as JSON (the same body as `GET /events/{id}`)
/// with Standard Webhooks headers: `webhook-id` (the event id: the same on every retry),
/// `webhook-timestamp` (Unix seconds) and `webhook-signature` (`v1,` + base64 of the
/// HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64-decoded part
/// of the secret after `whsec_`). Any 2xx answer within the timeout is a success; anything else
/// is retried on the server's schedule (by default after 5 s, 30 s, 5 min, 30 min, 2 h and 8 h),
/// then given up. An endpoint receives its events one at a time, in `sequence` order. An
/// endpoint whose every delivery failed for three days is disabled.
#[utoipa::path(
    security(("api_key" = ["webhooks:write"])),
    tag = "webhooks",
    request_body = WebhookEndpointRequest,
    responses(
        (status = 201, description = "Endpoint registered; `secret` is shown this once", body = CreatedWebhookEndpointResponse,
            headers(("Location" = String, description = "URL of the new endpoint"))),
        (status = 403, description = "`forbidden`: the key lacks the operation's scope, or an event type selects a family the key cannot read (`details.required_scope`)"),
        (status = 409, description = "`endpoint_limit_reached`: the key owns `WEBHOOK_ENDPOINTS_PER_KEY` endpoints already (`details.limit`)"),
        (status = 422, description = "Invalid fields: `url_refused`, `unknown_event_type`"),
    )
)]
#[post("/webhook-endpoints")]
pub async fn create_webhook_endpoint(
    caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<WebhookEndpointRequest>,
) -> ApiResult<HttpResponse> {
    let (endpoint, secret) = webhooks::create_endpoint(&state, caller.endpoint_actor(), input.into()).await?;
    let (location, tag) = (endpoint.id.path(), etag(&endpoint));
    let body =
        CreatedWebhookEndpointResponse { endpoint: endpoint.into(), secret: Some(secret), secret_withheld: false };
    Ok(created_with_tag(location, tag, &body))
}

/// List webhook endpoints
///
/// Newest first. Secrets are never listed.
#[utoipa::path(
    security(("api_key" = ["webhooks:read"])),
    tag = "webhooks",
    params(PageParams),
    responses((status = 200, description = "A page of endpoints", body = PageOf<WebhookEndpointResponse>))
)]
#[get("/webhook-endpoints")]
pub async fn list_webhook_endpoints(
    caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<PageParams>,
) -> ApiResult<web::Json<PageOf<WebhookEndpointResponse>>> {
    let page = webhooks::list_endpoints(&state, caller.endpoint_actor(), query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, WebhookEndpointResponse::from)))
}

/// Get a webhook endpoint
///
/// The endpoint's URL, event types, state and delivery counters. Only the key that created it
/// (or an `admin:write` key) sees it; its signing secret is never returned after creation or rotation.
#[utoipa::path(
    security(("api_key" = ["webhooks:read"])),
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 200, description = "The endpoint (without its secret)", body = WebhookEndpointResponse),
        (status = 404, description = "`webhook_endpoint_not_found`"),
    )
)]
#[get("/webhook-endpoints/{id}")]
pub async fn get_webhook_endpoint(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, WebhookEndpointResponse>(
        webhooks::get_endpoint(&state, caller.endpoint_actor(), WebhookEndpointId(*id)).await?,
    ))
}

/// Update a webhook endpoint
///
/// Changes only the fields sent. New event types apply to events published from then on.
#[utoipa::path(
    security(("api_key" = ["webhooks:write"])),
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id"), IfMatch),
    request_body = WebhookEndpointPatchRequest,
    responses(
        (status = 200, description = "The updated endpoint", body = WebhookEndpointResponse),
        (status = 403, description = "`forbidden`: the key lacks the operation's scope, or an event type selects a family the key cannot read (`details.required_scope`)"),
        (status = 404, description = "`webhook_endpoint_not_found` (also another key's endpoint)"),
        (status = 422, description = "Invalid fields: `url_refused`, `unknown_event_type`"),
    )
)]
#[patch("/webhook-endpoints/{id}")]
pub async fn update_webhook_endpoint(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
    JsonBody(patch): JsonBody<WebhookEndpointPatchRequest>,
) -> ApiResult<HttpResponse> {
    let id = WebhookEndpointId(*id);
    let endpoint = webhooks::update_endpoint(&state, caller.endpoint_actor(), id, patch.into(), precondition).await?;
    Ok(tagged::<_, WebhookEndpointResponse>(endpoint))
}

/// Delete a webhook endpoint
///
/// With its deliveries and their attempts; nothing more is sent to it.
#[utoipa::path(
    security(("api_key" = ["webhooks:write"])),
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id"), IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`webhook_endpoint_not_found`"),
    )
)]
#[delete("/webhook-endpoints/{id}")]
pub async fn delete_webhook_endpoint(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
) -> ApiResult<HttpResponse> {
    webhooks::delete_endpoint(&state, caller.endpoint_actor(), WebhookEndpointId(*id), precondition).await?;
    Ok(no_content())
}

/// List an endpoint's deliveries
///
/// Newest first, each with every attempt: when, the receiver's status code, how long it took,
/// and the error.
#[utoipa::path(
    security(("api_key" = ["webhooks:read"])),
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id"), DeliveryListQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = PageOf<DeliveryResponse>),
        (status = 404, description = "`webhook_endpoint_not_found`"),
    )
)]
#[get("/webhook-endpoints/{id}/deliveries")]
pub async fn list_deliveries(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    Query(query): Query<DeliveryListQuery>,
) -> ApiResult<web::Json<PageOf<DeliveryResponse>>> {
    let page =
        webhooks::list_deliveries(&state, caller.endpoint_actor(), WebhookEndpointId(*id), query.status, query.page())
            .await?;
    Ok(web::Json(PageOf::from_page(page, DeliveryResponse::from)))
}

/// Get a delivery
///
/// One event sent to this endpoint: its status, the next retry if any, and every attempt with the
/// receiver's status code, error and duration.
#[utoipa::path(
    security(("api_key" = ["webhooks:read"])),
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id"), ("delivery_id" = Uuid, Path, description = "Delivery id")),
    responses(
        (status = 200, description = "The delivery with its attempts", body = DeliveryResponse),
        (status = 404, description = "`delivery_not_found`"),
    )
)]
#[get("/webhook-endpoints/{id}/deliveries/{delivery_id}")]
pub async fn get_delivery(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<DeliveryResponse>> {
    let (endpoint, delivery) = path.into_inner();
    Ok(web::Json(
        webhooks::get_delivery(&state, caller.endpoint_actor(), WebhookEndpointId(endpoint), DeliveryId(delivery))
            .await?
            .into(),
    ))
}

/// Send a delivery again
///
/// A succeeded or failed delivery goes back to `pending` and is sent once more (with the same
/// `webhook-id`), in its place in the endpoint's order.
#[utoipa::path(
    security(("api_key" = ["webhooks:write"])),
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id"), ("delivery_id" = Uuid, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "Queued; the delivery as it now stands", body = DeliveryResponse),
        (status = 404, description = "`delivery_not_found`"),
        (status = 409, description = "`delivery_in_progress`: it has not finished yet"),
    )
)]
#[post("/webhook-endpoints/{id}/deliveries/{delivery_id}/retry")]
pub async fn retry_delivery(
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (endpoint, delivery) = path.into_inner();
    let queued =
        webhooks::retry_delivery(&state, caller.endpoint_actor(), WebhookEndpointId(endpoint), DeliveryId(delivery))
            .await?;
    Ok(HttpResponse::Accepted().json(DeliveryResponse::from(queued)))
}

/// Rotate an endpoint's signing secret
///
/// A new secret, shown this once. The current one keeps signing beside it for `overlap_secs`
/// (default a day): meanwhile every delivery's `webhook-signature` carries both signatures,
/// space-separated, as Standard Webhooks allows, so the receiver can switch to the new secret
/// without missing a delivery. Secrets are stored sealed (AES-256-GCM), never in clear.
#[utoipa::path(
    security(("api_key" = ["webhooks:write"])),
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    request_body(content = Option<RotateSecretRequest>, description = "Optional: the body may be left out"),
    responses(
        (status = 200, description = "The endpoint and its new `secret`, shown this once", body = CreatedWebhookEndpointResponse),
        (status = 404, description = "`webhook_endpoint_not_found`"),
    )
)]
#[post("/webhook-endpoints/{id}/rotate-secret")]
pub async fn rotate_webhook_secret(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    OptionalJsonBody(input): OptionalJsonBody<RotateSecretRequest>,
) -> ApiResult<web::Json<CreatedWebhookEndpointResponse>> {
    let overlap = std::time::Duration::from_secs(u64::from(input.overlap_secs.unwrap_or(86_400)).min(MAX_OVERLAP_SECS));
    let (endpoint, secret) =
        webhooks::rotate_secret(&state, caller.endpoint_actor(), WebhookEndpointId(*id), overlap).await?;
    Ok(web::Json(CreatedWebhookEndpointResponse {
        endpoint: endpoint.into(),
        secret: Some(secret),
        secret_withheld: false,
    }))
}

/// Send a test event
///
/// Queues a `ping` (signed like every delivery, with the delivery's id as `webhook-id`); follow
/// it with `GET …/deliveries/{delivery_id}`.
#[utoipa::path(
    security(("api_key" = ["webhooks:write"])),
    tag = "webhooks",
    params(("id" = Uuid, Path, description = "Endpoint id")),
    responses(
        (status = 202, description = "Ping queued", body = DeliveryResponse,
            headers(("Location" = String, description = "URL of the delivery"))),
        (status = 404, description = "`webhook_endpoint_not_found`"),
        (status = 409, description = "`endpoint_inactive`"),
    )
)]
#[post("/webhook-endpoints/{id}/test")]
pub async fn test_webhook_endpoint(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let endpoint = WebhookEndpointId(*id);
    let delivery = webhooks::ping(&state, caller.endpoint_actor(), endpoint).await?;
    let location = delivery.id.path(endpoint);
    Ok(HttpResponse::Accepted()
        .insert_header((actix_web::http::header::LOCATION, location))
        .json(DeliveryResponse::from(delivery)))
}
