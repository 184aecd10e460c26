//! Clients: the PostgreSQL record, its interests, and the MongoDB document created with it.
//!
//! Cross-store writes (there is no distributed transaction):
//! - create: PostgreSQL first (client + interests in one transaction), then an idempotent
//!   MongoDB upsert. If that upsert fails, the PostgreSQL row is deleted again (compensation)
//!   and the caller gets 503, so no half-client survives. Should the compensation fail too,
//!   the client is left without a document: logged as an error, readable (the view shows empty
//!   info) and repaired by `reconcile`, which creates the missing document.
//! - delete: PostgreSQL first (the system of record), then MongoDB. A failed document delete
//!   leaves an orphan that no API can reach; it is logged and `reconcile` removes it.

use super::validation::{double_option, validate};
use super::{AppError, AppResult, AppState};
use crate::domain::client::{Client, ClientKind, Plan, PlanStatus};
use crate::domain::free_form::{check_object, check_preferences, is_valid_tag, FieldIssue};
use crate::domain::ids::ClientId;
use crate::domain::page::{decode_cursor, encode_cursor, Page};
use crate::domain::view::{merge_view, ClientView, InfoLookup};
use crate::store::pg::clients::{self as repo, ClientFilter, Position, SortKey};
use crate::store::pg::models::{ClientChangeset, ClientRow, NewClient};
use chrono::{DateTime, Utc};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

/// Most interests one client can hold, and most tags.
pub const MAX_INTERESTS: usize = 50;
pub const MAX_TAGS: usize = 50;
/// Comments embedded in the complete view (the newest ones); the rest are paginated.
pub const VIEW_COMMENTS: i64 = 10;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewClientInput {
    #[validate(length(min = 1, max = 200), custom(function = crate::app::validation::not_blank))]
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
    #[validate(custom(function = crate::app::validation::phone))]
    #[schema(max_length = 40, pattern = r"^(?:[ +().-]*[0-9]){6}[0-9 +().-]*$", example = "+44 20 7946 0000")]
    pub phone: Option<String>,
    pub kind: ClientKind,
    /// Required when `kind` is `b2b`.
    pub company_id: Option<Uuid>,
    #[serde(default)]
    #[validate(length(max = 50, code = "too_many"))]
    #[schema(max_items = 50)]
    pub interest_ids: Vec<Uuid>,
    /// Defaults to `basic`.
    pub plan: Option<Plan>,
    /// Defaults to `active`.
    pub plan_status: Option<PlanStatus>,
    /// Defaults to `true`.
    pub active: Option<bool>,
    /// Stored in MongoDB. Known keys: `language` (tag like "en"), `payment_method` (string),
    /// `notifications` (boolean or object of booleans); any other key is kept as given.
    #[schema(value_type = Option<crate::domain::free_form::Preferences>)]
    pub preferences: Option<Map<String, Value>>,
    /// Free-form, stored in MongoDB. Keys must not start with `$` or contain `.`; 16 KiB at most.
    #[schema(value_type = Option<crate::domain::free_form::FreeFormObject>)]
    pub attributes: Option<Map<String, Value>>,
    #[validate(length(max = 50, code = "too_many"))]
    #[schema(value_type = Option<Vec<crate::domain::free_form::Tag>>, max_items = 50)]
    pub tags: Option<Vec<String>>,
}

/// Only the fields present change; `null` clears `phone` or `company_id`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    #[validate(length(min = 1, max = 200), custom(function = crate::app::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[validate(email, length(max = 254))]
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(custom(function = crate::app::validation::phone))]
    #[schema(value_type = Option<String>, max_length = 40, pattern = r"^(?:[ +().-]*[0-9]){6}[0-9 +().-]*$")]
    pub phone: Option<Option<String>>,
    pub kind: Option<ClientKind>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub company_id: Option<Option<Uuid>>,
    /// Replaces the client's interests when present.
    #[validate(length(max = 50, code = "too_many"))]
    #[schema(max_items = 50)]
    pub interest_ids: Option<Vec<Uuid>>,
    pub plan: Option<Plan>,
    pub plan_status: Option<PlanStatus>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub enum ClientSort {
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

/// Filters and sort for `GET /clients`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientListParams {
    #[param(inline)]
    pub kind: Option<ClientKind>,
    #[param(inline)]
    pub plan: Option<Plan>,
    pub company_id: Option<Uuid>,
    pub interest_id: Option<Uuid>,
    pub active: Option<bool>,
    /// Case-insensitive text search in name and email.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// `created_at` (default), `-created_at`, `name` or `-name`.
    #[param(inline)]
    pub sort: Option<ClientSort>,
    /// Page size, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k")]
enum ClientCursor {
    #[serde(rename = "n")]
    Name { v: String, id: Uuid },
    #[serde(rename = "c")]
    CreatedAt { v: DateTime<Utc>, id: Uuid },
}

fn dedup(ids: &[Uuid]) -> Vec<Uuid> {
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    unique
}

fn check_tags(tags: &[String]) -> Vec<FieldIssue> {
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

pub(crate) fn with_interests(conn: &mut diesel::PgConnection, row: ClientRow) -> AppResult<Client> {
    let ids = repo::interest_ids_of(conn, &[row.id])?.remove(&row.id).unwrap_or_default();
    Ok(row.into_client(ids)?)
}

pub async fn create(state: &AppState, input: NewClientInput) -> AppResult<Client> {
    let mut issues = input.validate().err().map(|e| super::validation::issues(&e)).unwrap_or_default();
    let preferences = input.preferences.clone().unwrap_or_default();
    let attributes = input.attributes.clone().unwrap_or_default();
    let tags = input.tags.clone().unwrap_or_default();
    issues.extend(check_preferences(&preferences));
    issues.extend(check_object("attributes", &attributes));
    issues.extend(check_tags(&tags));
    if input.kind == ClientKind::B2b && input.company_id.is_none() {
        issues.push(FieldIssue::new("company_id", "required_for_b2b", "b2b clients need a company"));
    }
    if !issues.is_empty() {
        return Err(AppError::Validation(issues));
    }

    let id = ClientId::new();
    let interest_ids = dedup(&input.interest_ids);
    let client = state
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let new = NewClient {
                    id: id.0,
                    name: &input.name,
                    email: &input.email,
                    phone: input.phone.as_deref(),
                    kind: input.kind.as_str(),
                    company_id: input.company_id,
                    plan: input.plan.unwrap_or(Plan::Basic).as_str(),
                    plan_status: input.plan_status.unwrap_or(PlanStatus::Active).as_str(),
                    active: input.active.unwrap_or(true),
                };
                let row = repo::insert(conn, &new, &interest_ids)?;
                Ok::<_, AppError>(row.into_client(interest_ids.clone())?)
            })
        })
        .await?;

    if let Err(err) = state.info.create(id, &preferences, &attributes, &tags, &[]).await {
        tracing::warn!(client_id = %id, error = %err, "client document write failed; removing the PostgreSQL row");
        let compensated = state.db.run(move |conn| Ok::<_, AppError>(repo::delete(conn, id.0)?)).await;
        if let Err(undo) = compensated {
            tracing::error!(client_id = %id, error = %undo, "compensation failed: client has no document until reconcile runs");
        }
        return Err(err.into());
    }
    Ok(client)
}

pub async fn get(state: &AppState, id: ClientId) -> AppResult<Client> {
    state
        .db
        .run(move |conn| match repo::find(conn, id.0)? {
            Some(row) => with_interests(conn, row),
            None => Err(AppError::not_found("client", id)),
        })
        .await
}

pub async fn list(state: &AppState, params: ClientListParams) -> AppResult<Page<Client>> {
    let limit = super::page_limit(params.limit, params.q.as_deref())?;
    let sort = params.sort.unwrap_or_default();
    let (key, descending) = match sort {
        ClientSort::CreatedAt => (SortKey::CreatedAt, false),
        ClientSort::CreatedAtDesc => (SortKey::CreatedAt, true),
        ClientSort::Name => (SortKey::Name, false),
        ClientSort::NameDesc => (SortKey::Name, true),
    };
    let after = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(text) => match (decode_cursor::<ClientCursor>(text), key) {
            (Some(ClientCursor::Name { v, id }), SortKey::Name) => Some(Position::Name(v, id)),
            (Some(ClientCursor::CreatedAt { v, id }), SortKey::CreatedAt) => Some(Position::CreatedAt(v, id)),
            _ => return Err(super::invalid_cursor()),
        },
    };
    let filter = ClientFilter {
        kind: params.kind.map(ClientKind::as_str),
        plan: params.plan.map(Plan::as_str),
        company_id: params.company_id,
        interest_id: params.interest_id,
        active: params.active,
        search: params.q.filter(|q| !q.trim().is_empty()),
    };
    let rows = state
        .db
        .run(move |conn| {
            let rows = repo::list(conn, &filter, key, descending, after.as_ref(), limit + 1)?;
            let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
            let mut interests = repo::interest_ids_of(conn, &ids)?;
            rows.into_iter()
                .map(|row| {
                    let ids = interests.remove(&row.id).unwrap_or_default();
                    Ok(row.into_client(ids)?)
                })
                .collect::<AppResult<Vec<Client>>>()
        })
        .await?;
    Ok(Page::from_overfetch(rows, limit, |client| {
        encode_cursor(&match key {
            SortKey::Name => ClientCursor::Name { v: client.name.clone(), id: client.id.0 },
            SortKey::CreatedAt => ClientCursor::CreatedAt { v: client.created_at, id: client.id.0 },
        })
    }))
}

/// Applies a patch. With `if_match`, refuses (412) unless it equals the stored version; the
/// row lock makes the check and the write one atomic step.
pub async fn update(state: &AppState, id: ClientId, patch: ClientPatch, if_match: Option<i32>) -> AppResult<Client> {
    validate(&patch)?;
    state
        .db
        .run(move |conn| {
            conn.transaction(|conn| {
                let current = repo::find_for_update(conn, id.0)?.ok_or_else(|| AppError::not_found("client", id))?;
                if let Some(expected) = if_match {
                    if expected != current.version {
                        return Err(AppError::PreconditionFailed { current_version: current.version });
                    }
                }
                let kind = patch.kind.map(ClientKind::as_str).unwrap_or(current.kind.as_str());
                let company = patch.company_id.unwrap_or(current.company_id);
                if kind == ClientKind::B2b.as_str() && company.is_none() {
                    return Err(AppError::invalid("company_id", "required_for_b2b", "b2b clients need a company"));
                }
                let changes = ClientChangeset {
                    name: patch.name.clone(),
                    email: patch.email.clone(),
                    phone: patch.phone.clone(),
                    kind: patch.kind.map(|k| k.as_str().to_string()),
                    company_id: patch.company_id,
                    plan: patch.plan.map(|p| p.as_str().to_string()),
                    plan_status: patch.plan_status.map(|s| s.as_str().to_string()),
                    active: patch.active,
                };
                let row = repo::update(conn, id.0, &changes)?;
                if let Some(ids) = &patch.interest_ids {
                    repo::replace_interests(conn, id.0, &dedup(ids))?;
                }
                with_interests(conn, row)
            })
        })
        .await
}

pub async fn delete(state: &AppState, id: ClientId) -> AppResult<()> {
    let deleted = state.db.run(move |conn| Ok::<_, AppError>(repo::delete(conn, id.0)?)).await?;
    if !deleted {
        return Err(AppError::not_found("client", id));
    }
    if let Err(err) = state.info.delete(id).await {
        tracing::error!(client_id = %id, error = %err, "client deleted but its document remains; reconcile removes it");
    }
    Ok(())
}

/// The complete client view: both stores queried concurrently, then merged.
pub async fn view(state: &AppState, id: ClientId) -> AppResult<ClientView> {
    let now = super::now();
    let pg = state.db.run(move |conn| Ok::<_, AppError>(repo::view(conn, id.0, now)?));
    let mongo = state.info.get(id, Some(VIEW_COMMENTS));
    let (pg, mongo) = tokio::join!(pg, mongo);
    let Some(record) = pg? else {
        return Err(AppError::not_found("client", id));
    };
    let activity = super::workshops::activity(&record.activity, now)?;
    let repo::ViewRecord { client: row, company, interests, .. } = record;
    let interest_ids = interests.iter().map(|interest| interest.id).collect();
    let client = row.into_client(interest_ids)?;
    let lookup = match mongo {
        Ok(Some(info)) => InfoLookup::Found(info),
        Ok(None) => InfoLookup::Missing,
        Err(err) => {
            tracing::warn!(client_id = %id, error = %err, "client view degraded: MongoDB part missing");
            InfoLookup::Unavailable(super::degraded_reason(&err))
        }
    };
    let interests = interests.into_iter().map(Into::into).collect();
    Ok(merge_view(client, company.map(Into::into), interests, activity, lookup))
}

/// 404 unless the client exists (for the document endpoints, whose data lives in MongoDB).
pub async fn ensure_exists(state: &AppState, id: ClientId) -> AppResult<()> {
    let found = state.db.run(move |conn| Ok::<_, AppError>(repo::find(conn, id.0)?.is_some())).await?;
    if found {
        Ok(())
    } else {
        Err(AppError::not_found("client", id))
    }
}
