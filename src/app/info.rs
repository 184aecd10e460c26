//! The client's MongoDB document: comments, preferences and attributes.
//! Every operation first checks the client exists in PostgreSQL (the system of record), so no
//! document is ever created for a client that does not exist.

use super::clients::ensure_exists;
use super::{AppError, AppResult, AppState};
use crate::domain::free_form::{check_object, check_preferences, FieldIssue};
use crate::domain::ids::{ClientId, CommentId};
use crate::domain::page::{decode_cursor, encode_cursor, Page};
use crate::domain::view::Comment;
use crate::store::mongo::InfoMap;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewCommentInput {
    #[validate(length(min = 1, max = 2000), custom(function = crate::app::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 2000,
        example = "Asked about the spring woodworking workshop."
    )]
    pub text: String,
}

fn check_map(which: InfoMap, map: &Map<String, Value>) -> Vec<FieldIssue> {
    match which {
        InfoMap::Preferences => check_preferences(map),
        InfoMap::Attributes => check_object("attributes", map),
    }
}

pub async fn add_comment(state: &AppState, client_id: ClientId, input: NewCommentInput) -> AppResult<Comment> {
    super::validation::validate(&input)?;
    ensure_exists(state, client_id).await?;
    let comment = Comment { id: CommentId::new(), text: input.text, created_at: chrono::Utc::now() };
    state.info.add_comment(client_id, &comment).await?;
    Ok(comment)
}

/// Comments newest first; the cursor is the last comment id seen.
pub async fn list_comments(
    state: &AppState,
    client_id: ClientId,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Page<Comment>> {
    let after = cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|text| {
            decode_cursor::<Uuid>(text)
                .ok_or_else(|| AppError::invalid("cursor", "invalid_cursor", "is not a cursor from this API"))
        })
        .transpose()?;
    ensure_exists(state, client_id).await?;
    let comments = state.info.get(client_id, None).await?.map(|info| info.comments).unwrap_or_default();
    let start = match after {
        Some(id) => comments.iter().position(|c| c.id.0 == id).map(|i| i + 1).unwrap_or(comments.len()),
        None => 0,
    };
    let window: Vec<Comment> = comments.into_iter().skip(start).take(usize::try_from(limit + 1).unwrap_or(0)).collect();
    Ok(Page::from_overfetch(window, limit, |c| encode_cursor(&c.id.0)))
}

pub async fn delete_comment(state: &AppState, client_id: ClientId, comment_id: CommentId) -> AppResult<()> {
    ensure_exists(state, client_id).await?;
    if state.info.delete_comment(client_id, comment_id).await? {
        Ok(())
    } else {
        Err(AppError::not_found("comment", comment_id))
    }
}

pub async fn get_map(state: &AppState, client_id: ClientId, which: InfoMap) -> AppResult<Map<String, Value>> {
    ensure_exists(state, client_id).await?;
    let info = state.info.get(client_id, Some(0)).await?.unwrap_or_default();
    Ok(match which {
        InfoMap::Preferences => info.preferences,
        InfoMap::Attributes => info.attributes,
    })
}

pub async fn replace_map(
    state: &AppState,
    client_id: ClientId,
    which: InfoMap,
    map: Map<String, Value>,
) -> AppResult<Map<String, Value>> {
    let issues = check_map(which, &map);
    if !issues.is_empty() {
        return Err(AppError::Validation(issues));
    }
    ensure_exists(state, client_id).await?;
    state.info.replace_map(client_id, which, &map).await?;
    Ok(map)
}

/// RFC 7396 merge; the merged result is validated as a whole before it is written.
pub async fn merge_map(
    state: &AppState,
    client_id: ClientId,
    which: InfoMap,
    patch: Map<String, Value>,
) -> AppResult<Map<String, Value>> {
    // Keys of the patch itself are checked first so `{"$set": null}` is refused, not ignored.
    let issues = check_object(which.field(), &patch);
    if !issues.is_empty() {
        return Err(AppError::Validation(issues));
    }
    ensure_exists(state, client_id).await?;
    Ok(state.info.merge_map(client_id, which, &patch, |merged| check_map(which, merged)).await?)
}
