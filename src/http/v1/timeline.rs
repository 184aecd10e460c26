//! `/api/v1/clients/{id}/timeline`

use crate::app::timeline::{self, TimelinePage};
use crate::app::AppState;
use crate::domain::access::{Level, Scope};
use crate::domain::events::EventSubject;
use crate::domain::ids::ClientId;
use crate::domain::timeline::{Entry, EntryKind};
use crate::http::access::Caller;
use crate::http::dto::{DegradedResponse, Withheld};
use crate::http::extract::{PageParams, Query};
use crate::http::problem::ApiResult;
use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineEntryResponse {
    pub kind: EntryKind,
    /// The event type (`order.placed`, …), `comment`, or the notification's template.
    #[serde(rename = "type")]
    #[schema(example = "order.placed")]
    pub entry_type: String,
    pub at: DateTime<Utc>,
    /// The event's, comment's or notification's id.
    pub id: Uuid,
    #[schema(example = "Placed order 01a2… (60.00)")]
    pub summary: String,
    /// The resource the entry is about, when it is another one: an event's subject (the order,
    /// payment, enrollment…), or for a notification the subject of the event it was sent for.
    pub subject: Option<EventSubject>,
}

impl From<Entry> for TimelineEntryResponse {
    fn from(e: Entry) -> Self {
        TimelineEntryResponse {
            kind: e.kind,
            entry_type: e.entry_type,
            at: e.at,
            id: e.id,
            summary: e.summary,
            subject: e.subject,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineResponse {
    /// Newest first.
    pub items: Vec<TimelineEntryResponse>,
    pub next_cursor: Option<String>,
    /// `null` when both stores answered; otherwise the comments are missing from this page.
    pub degraded: Option<DegradedResponse>,
    /// The kinds of entries this key cannot read, left out (`order.* events`, `payment_receipt
    /// notifications`), each with the scope that would show them; empty when none.
    pub withheld: Vec<Withheld>,
}

impl From<TimelinePage> for TimelineResponse {
    fn from(page: TimelinePage) -> Self {
        let withheld = page
            .withheld
            .into_iter()
            .map(|(family, part)| Withheld { part, required_scope: Scope::new(family, Level::Read).to_string() })
            .collect();
        TimelineResponse {
            items: page.items.into_iter().map(Into::into).collect(),
            next_cursor: page.next_cursor,
            degraded: page.degraded.map(Into::into),
            withheld,
        }
    }
}

/// Get the client's timeline
///
/// What happened to the client, newest first, across both stores: its events (orders,
/// payments, refunds, enrollments, subscriptions, changes to the record) and the notifications
/// sent to it from PostgreSQL, and its comments from MongoDB, each with `kind`, `at` and a short
/// summary; cursor-paginated. If MongoDB does not answer: still 200, without comments and with
/// `degraded` saying so. Events and notifications of families the key cannot read (orders,
/// payments, workshops) are left out, and `withheld` names them.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "clients",
    params(("id" = Uuid, Path, description = "Client id"), PageParams),
    responses(
        (status = 200, description = "A page of the timeline", body = TimelineResponse),
        (status = 404, description = "`client_not_found`"),
    )
)]
#[get("/clients/{id}/timeline")]
pub async fn client_timeline(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    Query(query): Query<PageParams>,
) -> ApiResult<web::Json<TimelineResponse>> {
    let grant = caller.grant();
    Ok(web::Json(timeline::timeline(&state, ClientId(*id), query.page(), grant).await?.into()))
}
