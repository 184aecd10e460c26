//! The client's MongoDB document: comments, preferences and attributes. Every operation checks
//! the client in PostgreSQL (the system of record); writes never create a document (see
//! `clients::with_document`), so none can outlive its client.

use super::clients::{ensure_exists, with_document};
use super::events::{self, CommentAdded};
use super::{clock, cursor_position, AppError, AppResult, AppState, Found};
use crate::domain::events::{EventSubject, EventType, SubjectKind};
use crate::domain::free_form::{check_object, check_preferences, FieldIssue};
use crate::domain::ids::{ClientId, CommentId};
use crate::domain::page::{encode_cursor, Page, PageRequest};
use crate::domain::precondition::Precondition;
use crate::domain::view::Comment;
use crate::domain::view::{InfoMap, InfoMapValue};
use serde_json::{Map, Value};

fn check_map(which: InfoMap, map: &Map<String, Value>) -> Vec<FieldIssue> {
    match which {
        InfoMap::Preferences => check_preferences(map),
        InfoMap::Attributes => check_object("attributes", map),
    }
}

/// Adds a comment; its `created_at` has MongoDB's precision (milliseconds), so what this returns
/// is what later reads return.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn add_comment(state: &AppState, client_id: ClientId, text: String) -> AppResult<Comment> {
    let comment = Comment { id: CommentId::new(), text, created_at: clock::now_millis() };
    with_document(state, client_id, || state.info.add_comment(client_id, &comment)).await?;
    let added = CommentAdded { client_id, comment };
    events::record_resource_after_document_write(state, EventType::ClientCommentAdded, &added).await;
    Ok(added.comment)
}

/// Comments newest first; each page reads only that page from MongoDB. The cursor is the last
/// comment id seen: comments are ordered by their (time-ordered) ids, so a page after a comment
/// deleted meanwhile still continues where it stood.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_comments(state: &AppState, client_id: ClientId, page: PageRequest) -> AppResult<Page<Comment>> {
    let before = cursor_position::<uuid::Uuid>(&page)?.map(CommentId);
    let limit = page.overfetch();
    let (exists, comments) =
        tokio::join!(ensure_exists(state, client_id), state.info.comments_page(client_id, before, limit));
    exists?;
    let comments = comments?.unwrap_or_default();
    Ok(Page::from_overfetch(comments, limit - 1, |c| encode_cursor(&c.id.0)))
}

/// One comment; 404 `client_not_found` or `comment_not_found`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_comment(state: &AppState, client_id: ClientId, comment_id: CommentId) -> AppResult<Comment> {
    let (exists, comment) = tokio::join!(ensure_exists(state, client_id), state.info.comment(client_id, comment_id));
    exists?;
    comment?.found(comment_id)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_comment(state: &AppState, client_id: ClientId, comment_id: CommentId) -> AppResult<()> {
    ensure_exists(state, client_id).await?;
    if state.info.delete_comment(client_id, comment_id).await? {
        commit_request(state).await;
        Ok(())
    } else {
        Err(AppError::not_found(comment_id))
    }
}

/// Preferences or attributes. A client whose document was lost answers 404
/// `client_info_not_found` rather than an empty map that would pass for data; a PUT or PATCH
/// recreates the document, and so does reconcile.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_map(state: &AppState, client_id: ClientId, which: InfoMap) -> AppResult<InfoMapValue> {
    let (exists, found) = tokio::join!(ensure_exists(state, client_id), state.info.read_map(client_id, which));
    exists?;
    let (map, rev) = found?.ok_or_else(|| AppError::NotFound { resource: "client_info", id: client_id.to_string() })?;
    Ok(InfoMapValue { map, rev })
}

/// What a PUT or a PATCH does to preferences or attributes.
pub enum MapWrite {
    /// The map becomes this one.
    Replace(Map<String, Value>),
    /// RFC 7396 merge; the merged result is validated as a whole before it is written.
    Merge(Map<String, Value>),
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn write_map(
    state: &AppState,
    client_id: ClientId,
    which: InfoMap,
    write: MapWrite,
    precondition: Precondition,
) -> AppResult<InfoMapValue> {
    let (map, rev) = match write {
        MapWrite::Replace(map) => {
            AppError::unless_issues(check_map(which, &map))?;
            let replace = || state.info.replace_map(client_id, which, &map, &precondition);
            let rev = with_document(state, client_id, replace).await?;
            (map, rev)
        }
        MapWrite::Merge(patch) => {
            // Keys of the patch itself are checked first so `{"$set": null}` is refused, not ignored.
            AppError::unless_issues(check_object(which.field(), &patch))?;
            let merge =
                || state.info.merge_map(client_id, which, &patch, &precondition, |merged| check_map(which, merged));
            with_document(state, client_id, merge).await?
        }
    };
    announce(state, client_id, which, &map).await;
    Ok(InfoMapValue { map, rev })
}

/// The preference keys every customer may set on their own: the rest are the business's, or the
/// ones it lists in `STORE_EDITABLE_PREFERENCES`.
pub const CUSTOMER_PREFERENCES: [&str; 2] = ["language", "notifications"];

fn customer_may_set(state: &AppState, key: &str) -> bool {
    CUSTOMER_PREFERENCES.contains(&key) || state.settings.access.auth.editable_preferences.iter().any(|k| k == key)
}

/// The preferences a customer sees of their own: the keys they may set (a document that was lost
/// reads as none set).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn customer_preferences(state: &AppState, client_id: ClientId) -> AppResult<InfoMapValue> {
    let found = state.info.read_map(client_id, InfoMap::Preferences).await?;
    let (map, rev) = found.unwrap_or_default();
    Ok(only_customers(state, InfoMapValue { map, rev }))
}

/// A customer's merge patch of their own preferences: only the keys they may set (422 naming any
/// other, which stays the staff's), merged like any preferences patch.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_customer_preferences(
    state: &AppState,
    client_id: ClientId,
    patch: Map<String, Value>,
    precondition: Precondition,
) -> AppResult<InfoMapValue> {
    let issues: Vec<FieldIssue> = patch
        .keys()
        .filter(|key| !customer_may_set(state, key))
        .map(|key| {
            FieldIssue::new(format!("preferences.{key}"), "not_editable", "this preference is the business's to set")
        })
        .collect();
    AppError::unless_issues(issues)?;
    let merged = write_map(state, client_id, InfoMap::Preferences, MapWrite::Merge(patch), precondition).await?;
    Ok(only_customers(state, merged))
}

fn only_customers(state: &AppState, value: InfoMapValue) -> InfoMapValue {
    let map = value.map.into_iter().filter(|(key, _)| customer_may_set(state, key)).collect();
    InfoMapValue { map, rev: value.rev }
}

/// Preferences decide what the client is sent, so their changes are events (attributes are
/// free-form notes and are not: their request commits its audit entry in a unit of its own).
async fn announce(state: &AppState, client_id: ClientId, which: InfoMap, map: &Map<String, Value>) {
    if which == InfoMap::Preferences {
        let subject = EventSubject { kind: SubjectKind::Client, id: client_id.0 };
        let data = Value::Object(map.clone());
        events::record_after_document_write(state, EventType::ClientPreferencesChanged, subject, data).await;
    } else {
        commit_request(state).await;
    }
}

/// A MongoDB-only change's audit entry and idempotency mark, committed right after the document
/// write (like its event would be). If PostgreSQL fails in between the write stands, and the
/// entry is still written with the response's outcome.
async fn commit_request(state: &AppState) {
    if let Err(err) = state.db.commit_request().await {
        tracing::warn!(error = %err, "the audit entry of a MongoDB write waits for the response's outcome");
    }
}
