//! `/api/v1/events`: the event feed.

use crate::app::events::{self, FeedFilter};
use crate::app::{AppError, AppState};
use crate::domain::events::{Event, EventPattern, EventSubject, EventType};
use crate::domain::free_form::FieldIssue;
use crate::domain::ids::EventId;
use crate::http::access::Caller;
use crate::http::dto::Withheld;
use crate::http::extract::Query;
use crate::http::problem::{ApiResult, Problem};
use crate::http::validation::rules;
use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::{Validate, ValidationError};

/// Where to read the feed from, and what to keep.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, Validate)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[validate(schema(function = feed_rules, skip_on_field_errors = false))]
pub struct EventFeedQuery {
    /// Events with a sequence greater than this (default 0: from the first event). Pass the
    /// previous page's `next_after` to continue, or to poll for new events.
    #[param(minimum = 0, example = 0)]
    #[validate(range(min = 0))]
    pub after: Option<i64>,
    /// Comma-separated event types, `family.*` wildcards or `*` (e.g. `order.*,payment.failed`;
    /// spaces around the commas are allowed, an empty value is not).
    #[serde(rename = "type")]
    #[param(
        rename = "type",
        max_length = 500,
        pattern = r"^ *(\*|[a-z_]+\.(\*|[a-z_]+)) *(, *(\*|[a-z_]+\.(\*|[a-z_]+)) *)*$",
        example = "order.*"
    )]
    #[validate(length(max = 500))]
    pub event_type: Option<String>,
    /// Only events about this resource (a client, an order, …).
    pub subject_id: Option<Uuid>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
}

impl EventFeedQuery {
    fn patterns(&self) -> Result<Option<Vec<EventPattern>>, FieldIssue> {
        let Some(text) = self.event_type.as_deref() else {
            return Ok(None);
        };
        text.split(',')
            .map(|part| {
                EventPattern::parse(part.trim()).ok_or_else(|| {
                    FieldIssue::new(
                        "type",
                        "unknown_event_type",
                        format!("{:?} is not an event type, a `family.*` wildcard or `*`", part.trim()),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

fn feed_rules(query: &EventFeedQuery) -> Result<(), ValidationError> {
    rules(query.patterns().err().into_iter().collect())
}

/// One event, as the feed, webhooks and NATS carry it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Event)]
pub struct EventResponse {
    /// UUIDv7; also the `webhook-id` of its webhook deliveries and the NATS message id.
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Position in the feed: increasing without gaps, assigned once the change committed.
    #[schema(example = 42)]
    pub sequence: i64,
    pub occurred_at: DateTime<Utc>,
    pub subject: EventSubject,
    /// The subject as the API showed it right after the change (the body of its `GET`).
    #[schema(value_type = Object)]
    pub data: Value,
}

impl From<Event> for EventResponse {
    fn from(e: Event) -> Self {
        EventResponse {
            id: e.id,
            event_type: e.event_type,
            sequence: e.sequence,
            occurred_at: e.occurred_at,
            subject: e.subject,
            data: e.data,
        }
    }
}

/// A page of the feed. Unlike other lists, the feed has no end: `next_after` is always set.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Oldest first.
    pub items: Vec<EventResponse>,
    /// Pass as `after` for the next page (the last sequence here, or `after` if there was none).
    #[schema(example = 42)]
    pub next_after: i64,
    /// Whether more events were already there when this page was read.
    pub has_more: bool,
    /// The event families this key cannot read, left out of the feed (`payment.*`), each with the
    /// scope that would show them; empty when none.
    pub withheld: Vec<Withheld>,
}

/// Read the event feed
///
/// Every change that matters, in the order the changes committed: `sequence` increases without
/// gaps, and an event is numbered only once its transaction committed, so resuming after the
/// last sequence seen never skips an event. Events of MongoDB-side changes (comments,
/// preferences) are recorded right after the document write (at least once). The feed carries
/// only the event families the key can read (`client.*` needs `clients:read`, `order.*`
/// `orders:read`, `payment.*`, `refund.*` and `subscription.*` `payments:read`, `enrollment.*` and
/// `workshop.*` `workshops:read`, `stock.*` `catalog:read`); `withheld` names the others.
#[utoipa::path(
    security(("api_key" = ["webhooks:read"])),
    tag = "events",
    params(EventFeedQuery),
    responses(
        (status = 200, description = "Events after `after`, oldest first", body = EventPage),
        (status = 422, description = "Invalid `after`, `limit` or `type` (`unknown_event_type`)"),
    )
)]
#[get("/events")]
pub async fn list_events(
    caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<EventFeedQuery>,
) -> ApiResult<web::Json<EventPage>> {
    let wanted = query.patterns().map_err(|issue| Problem::invalid(vec![issue]))?;
    let wanted = wanted.unwrap_or_else(|| vec![EventPattern::Any]);
    let grant = caller.grant();
    let mut disclosure = caller.disclosure();
    for event_type in EventType::ALL.iter().filter(|t| wanted.iter().any(|p| p.matches(**t))) {
        disclosure.shows(event_type.scope_family(), &[&format!("{}.*", event_type.family())]);
    }
    let readable: Vec<EventPattern> = wanted.iter().flat_map(|pattern| pattern.readable(grant)).collect();
    let after = query.after.unwrap_or(0);
    if readable.is_empty() {
        return Ok(web::Json(EventPage {
            items: Vec::new(),
            next_after: after,
            has_more: false,
            withheld: disclosure.withheld,
        }));
    }
    let filter = FeedFilter { patterns: Some(readable), subject_id: query.subject_id };
    let page = events::feed(&state, after, filter, query.limit.unwrap_or(20)).await?;
    Ok(web::Json(EventPage {
        items: page.items.into_iter().map(EventResponse::from).collect(),
        next_after: page.next_after,
        has_more: page.has_more,
        withheld: disclosure.withheld,
    }))
}

/// Get an event
///
/// One event of the feed by its id, with its sequence, type, subject and data as the webhook
/// deliveries carry it. An event of a family the key cannot read is answered as not found.
#[utoipa::path(
    security(("api_key" = ["webhooks:read"])),
    tag = "events",
    params(("id" = Uuid, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event", body = EventResponse),
        (status = 404, description = "`event_not_found` (also while its transaction has not committed)"),
    )
)]
#[get("/events/{id}")]
pub async fn get_event(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<EventResponse>> {
    let event = events::get(&state, EventId(*id)).await?;
    // An event of a family the key cannot read is not there for it.
    if !caller.grant().reads(event.event_type.scope_family()) {
        return Err(AppError::not_found(EventId(*id)).into());
    }
    Ok(web::Json(EventResponse::from(event)))
}
