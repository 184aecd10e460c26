//! Clients: the PostgreSQL record, its interests, and the MongoDB document created with it.
//!
//! Cross-store writes (there is no distributed transaction):
//! - create: PostgreSQL first (client + interests in one transaction), then the document. If
//!   the document write fails, the PostgreSQL row is deleted again (compensation), the document
//!   is tombstoned in case the failed write applied after all (a timeout), and the caller gets
//!   503: no half-client survives. Should a compensation step fail too, the mismatch is logged
//!   and the periodic reconcile repairs it.
//! - delete: PostgreSQL first (the system of record), then the document becomes a tombstone. A
//!   failed tombstone write leaves an orphan no API can reach; it is logged and reconcile
//!   tombstones it.

use super::constraints::{conflict, gone, invalid, length, Meaning, Rule};
use super::events::record;
use super::idempotency::recovery_point;
use super::{clock, cursor_position, AppError, AppResult, AppState, Found};
use crate::domain::client::{
    company_issue, Client, ClientChanges, ClientFilter, ClientSort, NewClient, COMPANY_REQUIRED,
};
use crate::domain::events::EventType;
use crate::domain::free_form::{check_object, check_preferences, is_valid_tag, FieldIssue};
use crate::domain::ids::{ClientId, InterestId, Located};
use crate::domain::page::{encode_cursor, Page, PageRequest};
use crate::domain::precondition::Precondition;
use crate::domain::time::Timestamp;
use crate::domain::view::{merge_view, ClientView, InfoLookup};
use crate::store::mongo::InfoError;
use crate::store::pg::clients::{self as repo, Position};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Most interests one client can hold, and most tags.
pub const MAX_INTERESTS: usize = 50;
pub const MAX_TAGS: usize = 50;
/// Comments embedded in the complete view (the newest ones); the rest are paginated.
pub const VIEW_COMMENTS: i64 = 10;

/// Clients that have orders, enrollments or redemptions are kept: deactivate them instead.
pub(crate) const IN_USE: Meaning = conflict(
    "client_in_use",
    None,
    "the client has orders or enrollments (cancelled ones too); deactivate the client instead",
);
/// A write that names a client deleted meanwhile.
const GONE: Meaning = gone("client");

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Unique("clients_email_key", conflict("email_taken", Some("email"), "a client with this email exists")),
    Rule::Check("clients_b2b_requires_company", invalid(COMPANY_REQUIRED.0, COMPANY_REQUIRED.1, COMPANY_REQUIRED.2)),
    Rule::Check("clients_name_check", length("name", 1, 200)),
    Rule::Check("clients_email_check", length("email", 3, 254)),
    Rule::Check("clients_phone_check", invalid("phone", "invalid_phone", "must be at most 40 characters long")),
    Rule::Check("clients_kind_check", invalid("kind", "invalid", "must be b2c or b2b")),
    Rule::Check("clients_plan_check", invalid("plan", "invalid", "must be basic, premium or enterprise")),
    Rule::Check(
        "clients_plan_status_check",
        invalid("plan_status", "invalid", "must be trial, active, past_due or cancelled"),
    ),
    Rule::foreign_key(
        "clients_company_id_fkey",
        invalid("company_id", "unknown_company", "no company has this id"),
        Some(super::companies::IN_USE),
    ),
    Rule::foreign_key("client_interests_client_id_fkey", GONE, None),
    Rule::foreign_key(
        "client_interests_interest_id_fkey",
        invalid("interest_ids", "unknown_interest", "an interest id does not exist"),
        Some(super::interests::IN_USE),
    ),
];

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k")]
enum ClientCursor {
    #[serde(rename = "n")]
    Name { v: String, id: Uuid },
    #[serde(rename = "c")]
    CreatedAt { v: Timestamp, id: Uuid },
}

/// The tags that break the tag rules, by position.
pub fn tag_issues(tags: &[String]) -> Vec<FieldIssue> {
    tags.iter()
        .enumerate()
        .filter(|(_, tag)| !is_valid_tag(tag))
        .map(|(i, _)| {
            FieldIssue::new(
                format!("tags[{i}]"),
                "invalid_tag",
                "tags are 1 to 50 characters and start with neither white space nor '$'",
            )
        })
        .collect()
}

fn dedup(ids: &[InterestId]) -> Vec<InterestId> {
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    unique
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(state: &AppState, input: NewClient) -> AppResult<Client> {
    let mut issues = check_preferences(&input.preferences);
    issues.extend(check_object("attributes", &input.attributes));
    issues.extend(tag_issues(&input.tags));
    issues.extend(company_issue(input.kind, input.company_id));
    AppError::unless_issues(issues)?;

    let now = clock::now();
    let client = Client {
        id: ClientId::new(),
        name: input.name,
        email: input.email,
        phone: input.phone,
        kind: input.kind,
        company_id: input.company_id,
        interest_ids: dedup(&input.interest_ids),
        plan: input.plan,
        plan_status: input.plan_status,
        paid_until: None,
        active: input.active,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    let id = client.id;
    let stored = client.clone();
    state
        .db
        .tx(move |conn| {
            repo::insert(conn, &stored)?;
            record(conn, EventType::ClientCreated, &stored)?;
            // The recovery point of a keyed create: if the process dies before the document is
            // written, a retry is sent to the client (and reconcile writes its document).
            recovery_point(id.path());
            Ok(())
        })
        .await?;

    if let Err(err) = state.info.create(id, &input.preferences, &input.attributes, &input.tags, &[]).await {
        tracing::warn!(client_id = %id, error = %err, "client document write failed; undoing the client");
        compensate_create(state, client).await;
        return Err(err.into());
    }
    Ok(client)
}

/// Undoes a create whose document write failed: the row goes (with a `client.deleted` event
/// after its `client.created`), and the document — which a timed-out write may still have
/// created — becomes a tombstone.
async fn compensate_create(state: &AppState, client: Client) {
    let id = client.id;
    let undo = state.db.tx(move |conn| {
        if repo::delete(conn, id)? {
            record(conn, EventType::ClientDeleted, &client)?;
        }
        Ok(())
    });
    if let Err(undo) = undo.await {
        tracing::error!(client_id = %id, error = %undo, "compensation failed: client has no document until reconcile runs");
    }
    if let Err(undo) = state.info.delete(id).await {
        tracing::error!(client_id = %id, error = %undo, "compensation could not tombstone the document; reconcile will");
    }
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: ClientId) -> AppResult<Client> {
    state.db.run(move |conn| repo::find(conn, id)?.found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    state: &AppState,
    filter: ClientFilter,
    sort: ClientSort,
    page: PageRequest,
) -> AppResult<Page<Client>> {
    let (by_name, descending) = match sort {
        ClientSort::CreatedAt => (false, false),
        ClientSort::CreatedAtDesc => (false, true),
        ClientSort::Name => (true, false),
        ClientSort::NameDesc => (true, true),
    };
    let after = match cursor_position::<ClientCursor>(&page)? {
        None => None,
        Some(ClientCursor::Name { v, id }) if by_name => Some(Position::Name(v, id)),
        Some(ClientCursor::CreatedAt { v, id }) if !by_name => Some(Position::CreatedAt(v.get(), id)),
        Some(_) => return Err(super::invalid_cursor()),
    };
    let limit = page.overfetch();
    let rows =
        state.db.run(move |conn| Ok(repo::list(conn, &filter, by_name, descending, after.as_ref(), limit)?)).await?;
    Ok(Page::from_overfetch(rows, limit - 1, |client| {
        encode_cursor(&if by_name {
            ClientCursor::Name { v: client.name.clone(), id: client.id.0 }
        } else {
            ClientCursor::CreatedAt { v: Timestamp(client.created_at), id: client.id.0 }
        })
    }))
}

/// Applies a patch under the client's row lock, so the precondition check and the write are
/// one atomic step (412 when `If-Match` names another version).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    state: &AppState,
    id: ClientId,
    changes: ClientChanges,
    precondition: Precondition,
) -> AppResult<Client> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let current = repo::lock_for_update(conn, id)?.found(id)?;
            precondition.check(&current)?;
            update_in(conn, &current, changes, now)
        })
        .await
}

/// Applies the changes to the client read under its lock (`current`), with its event.
pub(crate) fn update_in(
    conn: &mut PgConnection,
    current: &Client,
    changes: ClientChanges,
    now: DateTime<Utc>,
) -> AppResult<Client> {
    let id = current.id;
    let kind = changes.kind.unwrap_or(current.kind);
    let company = changes.company_id.unwrap_or(current.company_id);
    if let Some(issue) = company_issue(kind, company) {
        return Err(AppError::Validation(vec![issue]));
    }
    let changes = ClientChanges { interest_ids: changes.interest_ids.as_deref().map(dedup), ..changes };
    repo::update(conn, id, &changes, now)?;
    let updated = repo::find(conn, id)?.found(id)?;
    record(conn, EventType::ClientUpdated, &updated)?;
    Ok(updated)
}

/// Deletes the client, refused (409 `client_in_use`) while orders, enrollments or coupon
/// redemptions reference it; then tombstones its document.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete(state: &AppState, id: ClientId, precondition: Precondition) -> AppResult<()> {
    state
        .db
        .tx(move |conn| {
            let client = repo::lock_for_update(conn, id)?.found(id)?;
            precondition.check(&client)?;
            repo::delete(conn, id)?;
            record(conn, EventType::ClientDeleted, &client)
        })
        .await?;
    if let Err(err) = state.info.delete(id).await {
        tracing::error!(client_id = %id, error = %err, "client deleted but its document remains; reconcile tombstones it");
    }
    Ok(())
}

/// The complete client view: both stores queried concurrently, then merged.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn view(state: &AppState, id: ClientId) -> AppResult<ClientView> {
    let now = clock::now();
    let pg = state.db.run(move |conn| Ok(repo::view(conn, id, now)?));
    let mongo = state.info.get(id, Some(VIEW_COMMENTS));
    let (pg, mongo) = tokio::join!(pg, mongo);
    let record = pg?.found(id)?;
    let lookup = match mongo {
        Ok(Some(info)) => InfoLookup::Found(info),
        Ok(None) => {
            tracing::warn!(client_id = %id, "client has no MongoDB document; reconcile recreates it");
            InfoLookup::Missing
        }
        Err(err) => {
            tracing::warn!(client_id = %id, error = %err, "client view degraded: MongoDB part missing");
            InfoLookup::Unavailable(super::degraded_reason(&err))
        }
    };
    Ok(merge_view(record.client, record.company, record.interests, record.activity, lookup))
}

/// 404 unless the client exists in PostgreSQL (the system of record).
#[tracing::instrument(level = "debug", skip_all)]
pub(crate) async fn ensure_exists(state: &AppState, id: ClientId) -> AppResult<()> {
    state.db.run(move |conn| repo::exists(conn, id)?.then_some(()).found(id)).await
}

/// Runs a document write for an existing client. The client is checked in PostgreSQL first;
/// if its document is gone (lost, never written), an empty one is recreated — unless a
/// tombstone says the client was deleted meanwhile — and the write is tried once more.
#[tracing::instrument(level = "debug", skip_all)]
pub(crate) async fn with_document<T, F, Fut>(state: &AppState, id: ClientId, write: F) -> AppResult<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, InfoError>>,
{
    ensure_exists(state, id).await?;
    match write().await {
        Err(InfoError::NoDocument) => {}
        other => return Ok(other?),
    }
    ensure_exists(state, id).await?;
    match state.info.ensure(id).await {
        Ok(()) => tracing::warn!(client_id = %id, "recreated a missing client document"),
        Err(InfoError::Deleted) => return Err(AppError::not_found(id)),
        Err(err) => return Err(err.into()),
    }
    match write().await {
        Err(InfoError::NoDocument | InfoError::Deleted) => Err(AppError::not_found(id)),
        other => Ok(other?),
    }
}
