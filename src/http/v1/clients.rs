//! `/api/v1/clients` and the complete client view.

use super::companies::CompanyResponse;
use super::info::CommentResponse;
use super::interests::InterestResponse;
use crate::app::{clients, AppState};
use crate::domain::access::Family;
use crate::domain::client::{
    company_issue, Client, ClientChanges, ClientFilter, ClientKind, ClientSort, NewClient, Plan, PlanStatus,
};
use crate::domain::free_form::{check_object, check_preferences, FreeFormObject, Preferences, Tag};
use crate::domain::ids::{ClientId, CompanyId, EnrollmentId, InterestId, Located, OrderId, WorkshopId};
use crate::domain::money::Money;
use crate::domain::orders::OrderStatus;
use crate::domain::view::{ClientActivity, EnrollmentSummary, OrderSummary};
use crate::domain::view::{ClientInfo, ClientView, InfoStatus};
use crate::domain::workshops::EnrollmentStatus;
use crate::http::access::Caller;
use crate::http::dto::{created_tagged, no_content, tagged, DegradedResponse, PageOf};
use crate::http::dto::{Disclosure, Withheld};
use crate::http::extract::{list_query, search_text, IfMatch, JsonBody, Query};
use crate::http::problem::ApiResult;
use crate::http::validation::{double_option, rules};
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
#[validate(schema(function = new_client_rules, skip_on_field_errors = false))]
pub struct NewClientRequest {
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 200,
        example = "Ada Lovelace"
    )]
    pub name: String,
    /// Unique regardless of case.
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254, example = "ada@example.com")]
    pub email: String,
    #[validate(custom(function = crate::http::validation::phone))]
    #[schema(max_length = 40, pattern = r"^(?:[ +().-]*[0-9]){6}[0-9 +().-]*$", example = "+44 20 7946 0000")]
    pub phone: Option<String>,
    // Read as optional only so that its absence is named beside every other invalid field.
    #[serde(default)]
    #[validate(required)]
    #[schema(required = true, value_type = ClientKind)]
    pub kind: Option<ClientKind>,
    /// Required when `kind` is `b2b`.
    pub company_id: Option<CompanyId>,
    #[serde(default)]
    #[validate(length(max = 50, code = "too_many"))]
    #[schema(max_items = 50)]
    pub interest_ids: Vec<InterestId>,
    /// Defaults to `true`.
    pub active: Option<bool>,
    /// Stored in MongoDB. Known keys: `language` (tag like "en"), `payment_method` (string),
    /// `notifications` (boolean or object of booleans); any other key is kept as given.
    #[schema(value_type = Option<Preferences>)]
    pub preferences: Option<Map<String, Value>>,
    /// Free-form, stored in MongoDB. Keys must not start with `$` or contain `.`; 16 KiB at most.
    #[schema(value_type = Option<FreeFormObject>)]
    pub attributes: Option<Map<String, Value>>,
    #[validate(length(max = 50, code = "too_many"))]
    #[schema(value_type = Option<Vec<Tag>>, max_items = 50)]
    pub tags: Option<Vec<String>>,
}

/// The client's free-form parts and its company rule are checked with its fields, so one 422
/// names everything wrong with the body (the use case applies the same domain rules again).
fn new_client_rules(request: &NewClientRequest) -> Result<(), ValidationError> {
    let mut issues = request.preferences.as_ref().map(check_preferences).unwrap_or_default();
    issues.extend(request.attributes.as_ref().map(|a| check_object("attributes", a)).unwrap_or_default());
    issues.extend(clients::tag_issues(request.tags.as_deref().unwrap_or_default()));
    issues.extend(request.kind.and_then(|kind| company_issue(kind, request.company_id)));
    rules(issues)
}

impl From<NewClientRequest> for NewClient {
    fn from(r: NewClientRequest) -> Self {
        NewClient {
            name: r.name,
            email: r.email,
            phone: r.phone,
            // Validated as present before any conversion.
            kind: r.kind.unwrap_or(ClientKind::B2c),
            company_id: r.company_id,
            interest_ids: r.interest_ids,
            // A plan is bought: subscriptions and their payments change it, not this body.
            plan: Plan::Basic,
            plan_status: PlanStatus::Active,
            active: r.active.unwrap_or(true),
            preferences: r.preferences.unwrap_or_default(),
            attributes: r.attributes.unwrap_or_default(),
            tags: r.tags.unwrap_or_default(),
        }
    }
}

/// Only the fields present change; `null` clears `phone` or `company_id`. `plan` and
/// `plan_status` are not fields here (422 naming them): they change through the client's
/// subscription and its payments.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ClientPatchRequest {
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(custom(function = crate::http::validation::phone))]
    #[schema(value_type = Option<String>, max_length = 40, pattern = r"^(?:[ +().-]*[0-9]){6}[0-9 +().-]*$")]
    pub phone: Option<Option<String>>,
    pub kind: Option<ClientKind>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub company_id: Option<Option<CompanyId>>,
    /// Replaces the client's interests when present.
    #[validate(length(max = 50, code = "too_many"))]
    #[schema(max_items = 50)]
    pub interest_ids: Option<Vec<InterestId>>,
    pub active: Option<bool>,
}

impl From<ClientPatchRequest> for ClientChanges {
    fn from(r: ClientPatchRequest) -> Self {
        ClientChanges {
            name: r.name,
            email: r.email,
            phone: r.phone,
            kind: r.kind,
            company_id: r.company_id,
            interest_ids: r.interest_ids,
            plan: None,
            plan_status: None,
            active: r.active,
        }
    }
}

/// `created_at` (default), `-created_at`, `name` or `-name`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub enum ClientSortParam {
    #[default]
    #[serde(rename = "created_at")]
    CreatedAt,
    #[serde(rename = "-created_at")]
    CreatedAtDesc,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
}

impl From<ClientSortParam> for ClientSort {
    fn from(sort: ClientSortParam) -> Self {
        match sort {
            ClientSortParam::CreatedAt => ClientSort::CreatedAt,
            ClientSortParam::CreatedAtDesc => ClientSort::CreatedAtDesc,
            ClientSortParam::Name => ClientSort::Name,
            ClientSortParam::NameDesc => ClientSort::NameDesc,
        }
    }
}

list_query! {
    /// Filters and sort for `GET /clients`.
    pub struct ClientListQuery {
        #[param(inline)]
        pub kind: Option<ClientKind>,
        #[param(inline)]
        pub plan: Option<Plan>,
        pub company_id: Option<Uuid>,
        pub interest_id: Option<Uuid>,
        pub active: Option<bool>,
        /// Case-insensitive text search in name and email (indexed for 3 characters or more).
        #[param(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
        #[validate(length(max = 100), custom(function = crate::http::validation::search_text))]
        pub q: Option<String>,
        #[param(inline)]
        pub sort: Option<ClientSortParam>,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientResponse {
    pub id: Uuid,
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    #[schema(example = "ada@example.com")]
    pub email: String,
    pub phone: Option<String>,
    pub kind: ClientKind,
    pub company_id: Option<Uuid>,
    pub interest_ids: Vec<Uuid>,
    pub plan: Plan,
    pub plan_status: PlanStatus,
    /// The end of the period the client's latest subscription paid for (`POST
    /// /clients/{id}/subscription`).
    pub paid_until: Option<DateTime<Utc>>,
    pub active: bool,
    /// Increases with every change; sent as the `ETag` and expected back in `If-Match`.
    #[schema(example = 1)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Client> for ClientResponse {
    fn from(c: Client) -> Self {
        ClientResponse {
            id: c.id.0,
            name: c.name,
            email: c.email,
            phone: c.phone,
            kind: c.kind,
            company_id: c.company_id.map(|id| id.0),
            interest_ids: c.interest_ids.into_iter().map(|id| id.0).collect(),
            plan: c.plan,
            plan_status: c.plan_status,
            paid_until: c.paid_until,
            active: c.active,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// The client's MongoDB document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientInfoResponse {
    /// The newest comments (up to 10); page through all with `/clients/{id}/comments`.
    pub recent_comments: Vec<CommentResponse>,
    pub comments_count: i64,
    #[schema(value_type = Object, example = json!({"language": "en", "payment_method": "card", "notifications": {"email": true}}))]
    pub preferences: Map<String, Value>,
    #[schema(value_type = Object, example = json!({"shirt_size": "M"}))]
    pub attributes: Map<String, Value>,
    pub tags: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<ClientInfo> for ClientInfoResponse {
    fn from(info: ClientInfo) -> Self {
        ClientInfoResponse {
            recent_comments: info.comments.into_iter().map(Into::into).collect(),
            comments_count: info.comments_count,
            preferences: info.preferences,
            attributes: info.attributes,
            tags: info.tags,
            created_at: info.created_at,
            updated_at: info.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderSummaryResponse {
    pub id: OrderId,
    pub status: OrderStatus,
    pub total: Money,
    pub created_at: DateTime<Utc>,
}

impl From<OrderSummary> for OrderSummaryResponse {
    fn from(o: OrderSummary) -> Self {
        OrderSummaryResponse { id: o.id, status: o.status, total: o.total, created_at: o.created_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollmentSummaryResponse {
    pub enrollment_id: EnrollmentId,
    pub workshop_id: WorkshopId,
    #[schema(example = "Hand-cut dovetails")]
    pub workshop_name: String,
    pub starts_at: DateTime<Utc>,
    pub status: EnrollmentStatus,
    /// What is still owed.
    pub balance: Money,
}

impl From<EnrollmentSummary> for EnrollmentSummaryResponse {
    fn from(e: EnrollmentSummary) -> Self {
        EnrollmentSummaryResponse {
            enrollment_id: e.enrollment_id,
            workshop_id: e.workshop_id,
            workshop_name: e.workshop_name,
            starts_at: e.starts_at,
            status: e.status,
            balance: e.balance,
        }
    }
}

/// The client's commerce at a glance. Each part belongs to a family: the order figures to
/// `orders`, `total_paid` to `payments`, the enrollments to `workshops`; a part the key cannot
/// read is `null` and named in the view's `withheld`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityResponse {
    /// All orders, cancelled ones included.
    pub order_count: Option<i64>,
    /// Sum of the totals of orders that are not cancelled or refunded.
    pub total_spent: Option<Money>,
    /// What those orders still owe (their balances).
    pub orders_owed: Option<Money>,
    /// Succeeded payments (orders, enrollments, subscriptions) less refunds.
    pub total_paid: Option<Money>,
    pub last_order: Option<OrderSummaryResponse>,
    /// Live enrollments in workshops that have not started, soonest first.
    pub upcoming_workshops: Option<Vec<EnrollmentSummaryResponse>>,
    /// Enrollments not fully paid (the client's debts), oldest first.
    pub unpaid_enrollments: Option<Vec<EnrollmentSummaryResponse>>,
}

impl ActivityResponse {
    fn new(a: ClientActivity, disclosure: &mut Disclosure) -> Self {
        let orders = disclosure.shows(
            Family::Orders,
            &["activity.order_count", "activity.total_spent", "activity.orders_owed", "activity.last_order"],
        );
        let workshops =
            disclosure.shows(Family::Workshops, &["activity.upcoming_workshops", "activity.unpaid_enrollments"]);
        let enrollments = |list: Vec<EnrollmentSummary>| list.into_iter().map(Into::into).collect::<Vec<_>>();
        ActivityResponse {
            order_count: orders.then_some(a.order_count),
            total_spent: orders.then_some(a.total_spent),
            orders_owed: orders.then_some(a.orders_owed),
            total_paid: disclosure.part(Family::Payments, "activity.total_paid", a.total_paid),
            last_order: if orders { a.last_order.map(Into::into) } else { None },
            upcoming_workshops: workshops.then(|| enrollments(a.upcoming_workshops)),
            unpaid_enrollments: workshops.then(|| enrollments(a.unpaid_enrollments)),
        }
    }
}

/// The complete client: PostgreSQL record, company and interests, plus the MongoDB document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientViewResponse {
    pub client: ClientResponse,
    pub company: Option<CompanyResponse>,
    pub interests: Vec<InterestResponse>,
    pub activity: ActivityResponse,
    /// The MongoDB document; `null` unless `info_status` is `present`.
    pub info: Option<ClientInfoResponse>,
    pub info_status: InfoStatus,
    /// `null` when both stores answered.
    pub degraded: Option<DegradedResponse>,
    /// The parts of other families this key cannot read, left out (empty when none).
    pub withheld: Vec<Withheld>,
}

impl ClientViewResponse {
    fn new(view: ClientView, mut disclosure: Disclosure) -> Self {
        let activity = ActivityResponse::new(view.activity, &mut disclosure);
        ClientViewResponse {
            client: view.client.into(),
            company: view.company.map(Into::into),
            interests: view.interests.into_iter().map(Into::into).collect(),
            activity,
            info: view.info.map(Into::into),
            info_status: view.info_status,
            degraded: view.degraded.map(Into::into),
            withheld: disclosure.withheld,
        }
    }
}

/// Create a client
///
/// Writes the client (with its interests) to PostgreSQL, then its document (preferences,
/// attributes, tags) to MongoDB. If MongoDB does not take the document, the client is removed
/// again and the answer is 503: there is never a client without its document. A new client's
/// plan is `basic` and `active`; `POST /clients/{id}/subscription` and its payment change it.
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "clients",
    request_body = NewClientRequest,
    responses(
        (status = 201, description = "Client created in PostgreSQL, with its MongoDB document", body = ClientResponse,
            headers(("Location" = String, description = "URL of the new client"))),
        (status = 409, description = "`email_taken`"),
        (status = 422, description = "Invalid fields, `unknown_company`, `unknown_interest`, or `required_for_b2b`"),
    )
)]
#[post("/clients")]
pub async fn create_client(
    _caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<NewClientRequest>,
) -> ApiResult<HttpResponse> {
    let client = clients::create(&state, input.into()).await?;
    Ok(created_tagged::<_, ClientResponse>(client.id.path(), client))
}

/// List clients
///
/// Filter by kind, plan, company, interest and activity; `q` searches name and email. Sorted by
/// creation (default) or name, either way; keyset pages stay stable while clients are added.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "clients",
    params(ClientListQuery),
    responses((status = 200, description = "A page of clients", body = PageOf<ClientResponse>))
)]
#[get("/clients")]
pub async fn list_clients(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<ClientListQuery>,
) -> ApiResult<web::Json<PageOf<ClientResponse>>> {
    let filter = ClientFilter {
        kind: query.kind,
        plan: query.plan,
        company_id: query.company_id.map(CompanyId),
        interest_id: query.interest_id.map(InterestId),
        active: query.active,
        search: search_text(&query.q),
    };
    let sort = query.sort.unwrap_or_default().into();
    let page = clients::list(&state, filter, sort, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, ClientResponse::from)))
}

/// Get a client
///
/// The PostgreSQL record with its interest ids; the `ETag` is the version to send in `If-Match`.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "clients",
    params(("id" = Uuid, Path, description = "Client id")),
    responses(
        (status = 200, description = "The client", body = ClientResponse),
        (status = 404, description = "`client_not_found`"),
    )
)]
#[get("/clients/{id}")]
pub async fn get_client(_caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let client = clients::get(&state, ClientId(*id)).await?;
    Ok(tagged::<_, ClientResponse>(client))
}

/// Update a client
///
/// Changes only the fields sent (`null` clears `phone` or `company_id`; `interest_ids` replaces
/// the interests). With `If-Match`, the update applies only to the version it names (RFC 9110
/// strong comparison; `*` matches any); otherwise 412 `version_mismatch` with `current_version`.
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "clients",
    params(("id" = Uuid, Path, description = "Client id"), IfMatch),
    request_body = ClientPatchRequest,
    responses(
        (status = 200, description = "The updated client", body = ClientResponse),
        (status = 404, description = "`client_not_found`"),
        (status = 409, description = "`email_taken`"),
    )
)]
#[patch("/clients/{id}")]
pub async fn update_client(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
    JsonBody(patch): JsonBody<ClientPatchRequest>,
) -> ApiResult<HttpResponse> {
    let client = clients::update(&state, ClientId(*id), patch.into(), precondition).await?;
    Ok(tagged::<_, ClientResponse>(client))
}

/// Delete a client
///
/// Removes the client from PostgreSQL, then tombstones its MongoDB document. Clients with
/// orders, enrollments or coupon redemptions (cancelled ones too) are kept for that history:
/// 409 `client_in_use` — deactivate them instead.
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "clients",
    params(("id" = Uuid, Path, description = "Client id"), IfMatch),
    responses(
        (status = 204, description = "Deleted from PostgreSQL and MongoDB"),
        (status = 404, description = "`client_not_found`"),
        (status = 409, description = "`client_in_use`: orders or enrollments reference the client"),
    )
)]
#[delete("/clients/{id}")]
pub async fn delete_client(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
) -> ApiResult<HttpResponse> {
    clients::delete(&state, ClientId(*id), precondition).await?;
    Ok(no_content())
}

/// Get the complete client
///
/// The client, its company and interests, its orders and enrollments at a glance (one
/// PostgreSQL snapshot), and its MongoDB document with the 10 newest comments, both stores read
/// concurrently. If MongoDB does not answer: still 200, `info: null`, `info_status:
/// unavailable` and `degraded` naming what is missing. If MongoDB answers but has no document
/// for the client (lost data): `info: null`, `info_status: missing`.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "clients",
    params(("id" = Uuid, Path, description = "Client id")),
    responses(
        (status = 200, description = "The complete client", body = ClientViewResponse),
        (status = 404, description = "`client_not_found`"),
    )
)]
#[get("/clients/{id}/view")]
pub async fn client_view(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<ClientViewResponse>> {
    Ok(web::Json(ClientViewResponse::new(clients::view(&state, ClientId(*id)).await?, caller.disclosure())))
}
