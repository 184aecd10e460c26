//! `/api/v1/notifications` and `/api/v1/workshops/{id}/payment-reminders`.

use crate::app::notifications::{self, Reminders};
use crate::app::AppState;
use crate::domain::ids::{ClientId, NotificationId, WorkshopId};
use crate::domain::notifications::{Notification, NotificationStatus, Template, Transport};
use crate::http::access::Caller;
use crate::http::dto::PageOf;
use crate::http::dto::Withheld;
use crate::http::extract::{list_query, Query};
use crate::http::problem::ApiResult;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

list_query! {
    /// Filters for `GET /notifications`; newest first.
    pub struct NotificationListQuery {
        pub client_id: Option<Uuid>,
        #[param(inline)]
        pub status: Option<NotificationStatus>,
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationResponse {
    pub id: NotificationId,
    pub client_id: ClientId,
    pub template: Template,
    #[schema(example = "ada@example.com")]
    pub recipient: String,
    /// `null` (with `body`) for a key that cannot read every family the message shows (an order
    /// confirmation needs `orders:read`, a receipt `payments:read`, …; `withheld` says which).
    #[schema(example = "Order confirmation 01a2…")]
    pub subject: Option<String>,
    pub body: Option<String>,
    pub status: NotificationStatus,
    /// How it was sent; `null` until it was.
    pub transport: Option<Transport>,
    /// Why it was skipped, or the last error.
    pub reason: Option<String>,
    /// Send attempts so far.
    pub attempts: i32,
    /// When the next attempt is due (pending ones).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The parts of other families this key cannot read, left out (empty when none).
    pub withheld: Vec<Withheld>,
}

impl NotificationResponse {
    fn new(n: Notification, caller: &Caller) -> Self {
        let mut disclosure = caller.disclosure();
        // Every family the message shows must be readable (each one missing is listed).
        let missing = n
            .template
            .scope_families()
            .iter()
            .filter(|family| !disclosure.shows(**family, &["subject", "body"]))
            .count();
        let shown = missing == 0;
        NotificationResponse {
            id: n.id,
            client_id: n.client_id,
            template: n.template,
            recipient: n.recipient,
            subject: shown.then_some(n.subject),
            body: shown.then_some(n.body),
            withheld: disclosure.withheld,
            status: n.status,
            transport: n.transport,
            reason: n.reason,
            attempts: n.attempts,
            next_attempt_at: n.next_attempt_at,
            created_at: n.created_at,
            sent_at: n.sent_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RemindersResponse {
    /// Live enrollments of the workshop that still owe money.
    #[schema(example = 3)]
    pub debtors: usize,
    /// Reminders queued by this request.
    #[schema(example = 2)]
    pub queued: usize,
    /// Debtors already reminded today (UTC): each gets one reminder a day.
    #[schema(example = 1)]
    pub already_reminded_today: usize,
}

impl From<Reminders> for RemindersResponse {
    fn from(r: Reminders) -> Self {
        RemindersResponse { debtors: r.debtors, queued: r.queued, already_reminded_today: r.already_reminded_today }
    }
}

/// List notifications
///
/// Every message the service sent or meant to send — welcome, order confirmation, payment
/// receipt, payment failed, enrollment confirmed, workshop reminder (24 h before the start),
/// cancellation, payment reminder — with its outcome: `sent` (over `smtp`, or to the server
/// `log` when no SMTP server is configured), `skipped` (the client's MongoDB preferences say
/// `notifications: false`, or `false` for `email` or for the template; `reason` says which),
/// `failed` after every retry, or `pending`.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "notifications",
    params(NotificationListQuery),
    responses((status = 200, description = "A page of notifications, newest first", body = PageOf<NotificationResponse>))
)]
#[get("/notifications")]
pub async fn list_notifications(
    caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<NotificationListQuery>,
) -> ApiResult<web::Json<PageOf<NotificationResponse>>> {
    let page = notifications::list(&state, query.client_id.map(ClientId), query.status, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, |n| NotificationResponse::new(n, &caller))))
}

/// Get a notification
///
/// One message to a client: template, transport, recipient, status, how many attempts were made
/// and why it was skipped or failed. Its subject and body are withheld (`withheld`) from keys that
/// cannot read clients.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "notifications",
    params(("id" = Uuid, Path, description = "Notification id")),
    responses(
        (status = 200, description = "The notification", body = NotificationResponse),
        (status = 404, description = "`notification_not_found`"),
    )
)]
#[get("/notifications/{id}")]
pub async fn get_notification(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<NotificationResponse>> {
    Ok(web::Json(NotificationResponse::new(notifications::get(&state, NotificationId(*id)).await?, &caller)))
}

/// Remind a workshop's debtors to pay
///
/// Queues a payment reminder to every client whose enrollment in the workshop still owes money,
/// each at most once per day (UTC): sending it again the same day queues nothing new. Follow the
/// messages in `GET /notifications`.
#[utoipa::path(
    security(("api_key" = ["payments:write"])),
    tag = "workshops",
    params(("id" = Uuid, Path, description = "Workshop id")),
    responses(
        (status = 202, description = "Reminders queued", body = RemindersResponse),
        (status = 404, description = "`workshop_not_found`"),
    )
)]
#[post("/workshops/{id}/payment-reminders")]
pub async fn remind_debtors(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let reminders = notifications::remind_debtors(&state, WorkshopId(*id)).await?;
    Ok(HttpResponse::Accepted().json(RemindersResponse::from(reminders)))
}
