//! `/api/v1/plans` and subscriptions: `/api/v1/clients/{id}/subscription`, `/api/v1/subscriptions/{id}`

use crate::app::{subscriptions, AppState};
use crate::domain::client::Plan;
use crate::domain::ids::{ClientId, Located, SubscriptionId};
use crate::domain::money::Money;
use crate::domain::payments::{PlanOffer, Subscription, SubscriptionStatus};
use crate::http::access::Caller;
use crate::http::dto::{created, PageOf};
use crate::http::extract::{JsonBody, PageParams, Query};
use crate::http::problem::ApiResult;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanResponse {
    pub code: Plan,
    pub name: String,
    pub description: Option<String>,
    pub monthly_price: Money,
}

impl From<PlanOffer> for PlanResponse {
    fn from(p: PlanOffer) -> Self {
        PlanResponse { code: p.code, name: p.name, description: p.description, monthly_price: p.monthly_price }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRequest {
    pub plan: Plan,
    /// How many months the payment buys, 1 to 36.
    #[validate(range(min = 1, max = 36))]
    #[schema(minimum = 1, maximum = 36, example = 12)]
    pub months: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionResponse {
    pub id: SubscriptionId,
    pub client_id: ClientId,
    pub plan: Plan,
    pub months: i32,
    /// The plan's price when the client subscribed.
    pub monthly_price: Money,
    /// `monthly_price × months`.
    pub amount: Money,
    pub amount_paid: Money,
    /// What was refunded: credited, so no longer owed.
    pub amount_refunded: Money,
    /// What a payment for `{type: subscription, id}` may still bring: `amount - amount_refunded -
    /// amount_paid`.
    pub amount_due: Money,
    pub status: SubscriptionStatus,
    /// The end of the period paid for (a payment extends a period still running).
    pub paid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<Subscription> for SubscriptionResponse {
    fn from(s: Subscription) -> Self {
        SubscriptionResponse {
            amount_due: s.amount_due(),
            id: s.id,
            client_id: s.client_id,
            plan: s.plan,
            months: s.months,
            monthly_price: s.monthly_price,
            amount: s.amount,
            amount_paid: s.amount_paid,
            amount_refunded: s.amount_refunded,
            status: s.status,
            paid_until: s.paid_until,
            created_at: s.created_at,
            updated_at: s.updated_at,
            cancelled_at: s.cancelled_at,
        }
    }
}

/// List plans
///
/// The plans clients can subscribe to, with their monthly prices (data, not code).
#[utoipa::path(
    security(("api_key" = ["catalog:read"])),
    tag = "plans",
    params(PageParams),
    responses((status = 200, description = "A page of plans, in catalogue order", body = PageOf<PlanResponse>))
)]
#[get("/plans")]
pub async fn list_plans(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<PageParams>,
) -> ApiResult<web::Json<PageOf<PlanResponse>>> {
    Ok(web::Json(PageOf::from_page(subscriptions::plans(&state, query.page()).await?, PlanResponse::from)))
}

/// Subscribe a client to a plan
///
/// Creates a subscription for `months` at the plan's current price, `pending_payment`; pay it
/// with `POST /payments` and `subject: {type: subscription, id}`. Paid in full, the client's
/// `plan` becomes the subscription's, `plan_status` `active` and `paid_until` the end of the
/// period (extending one still running); a failed payment makes it `past_due`.
#[utoipa::path(
    security(("api_key" = ["payments:write"])),
    tag = "plans",
    params(("id" = Uuid, Path, description = "Client id")),
    request_body = SubscriptionRequest,
    responses(
        (status = 201, description = "Subscription created, with `amount_due`", body = SubscriptionResponse,
            headers(("Location" = String, description = "URL of the subscription"))),
        (status = 404, description = "`client_not_found`"),
        (status = 409, description = "`client_inactive`, or `subscription_unpaid` (`details.subscription_id`: pay or wait for that one first)"),
    )
)]
#[post("/clients/{id}/subscription")]
pub async fn subscribe(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<SubscriptionRequest>,
) -> ApiResult<HttpResponse> {
    let subscription = subscriptions::subscribe(&state, ClientId(*id), input.plan, input.months).await?;
    Ok(created(subscription.id.path(), &SubscriptionResponse::from(subscription)))
}

/// Get a client's subscription
///
/// The client's latest subscription.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "plans",
    params(("id" = Uuid, Path, description = "Client id")),
    responses(
        (status = 200, description = "The latest subscription", body = SubscriptionResponse),
        (status = 404, description = "`client_not_found`, or `subscription_not_found` when the client never subscribed"),
    )
)]
#[get("/clients/{id}/subscription")]
pub async fn client_subscription(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<SubscriptionResponse>> {
    Ok(web::Json(subscriptions::current(&state, ClientId(*id)).await?.into()))
}

/// Get a subscription
///
/// The subscription with what it costs, what was paid and what is due.
#[utoipa::path(
    security(("api_key" = ["payments:read"])),
    tag = "plans",
    params(("id" = Uuid, Path, description = "Subscription id")),
    responses(
        (status = 200, description = "The subscription", body = SubscriptionResponse),
        (status = 404, description = "`subscription_not_found`"),
    )
)]
#[get("/subscriptions/{id}")]
pub async fn get_subscription(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<SubscriptionResponse>> {
    Ok(web::Json(subscriptions::get(&state, SubscriptionId(*id)).await?.into()))
}
