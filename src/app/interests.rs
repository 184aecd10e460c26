//! Interests: topics clients care about (workshop categories, product lines).

use super::companies::decode_id_cursor;
use super::validation::{double_option, validate};
use super::{AppError, AppResult, AppState};
use crate::domain::client::Interest;
use crate::domain::ids::InterestId;
use crate::domain::page::{encode_cursor, Page};
use crate::store::pg::interests;
use crate::store::pg::models::{InterestChangeset, NewInterest};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct InterestInput {
    /// Unique regardless of case.
    #[validate(length(min = 1, max = 100), custom(function = crate::app::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 100,
        example = "Woodworking"
    )]
    pub name: String,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000, example = "Hand tools, joinery and finishing")]
    pub description: Option<String>,
}

/// Only the fields present change; `null` clears `description`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct InterestPatch {
    #[validate(length(min = 1, max = 100), custom(function = crate::app::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 1000))]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<Option<String>>,
}

pub async fn create(state: &AppState, input: InterestInput) -> AppResult<Interest> {
    validate(&input)?;
    state
        .db
        .run(move |conn| {
            let new =
                NewInterest { id: InterestId::new().0, name: &input.name, description: input.description.as_deref() };
            Ok(interests::insert(conn, &new)?.into())
        })
        .await
}

pub async fn get(state: &AppState, id: InterestId) -> AppResult<Interest> {
    state
        .db
        .run(move |conn| {
            interests::find(conn, id.0)?.map(Interest::from).ok_or_else(|| AppError::not_found("interest", id))
        })
        .await
}

pub async fn list(
    state: &AppState,
    search: Option<String>,
    cursor: Option<String>,
    limit: i64,
) -> AppResult<Page<Interest>> {
    let after = decode_id_cursor(cursor.as_deref())?;
    let rows = state
        .db
        .run(move |conn| Ok::<_, AppError>(interests::list(conn, search.as_deref(), after, limit + 1)?))
        .await?;
    Ok(Page::from_overfetch(rows, limit, |row| encode_cursor(&row.id)).map(Interest::from))
}

pub async fn update(state: &AppState, id: InterestId, patch: InterestPatch) -> AppResult<Interest> {
    validate(&patch)?;
    let changes =
        InterestChangeset { name: patch.name, description: patch.description, updated_at: Some(chrono::Utc::now()) };
    state
        .db
        .run(move |conn| {
            interests::update(conn, id.0, &changes)?
                .map(Interest::from)
                .ok_or_else(|| AppError::not_found("interest", id))
        })
        .await
}

pub async fn delete(state: &AppState, id: InterestId) -> AppResult<()> {
    state
        .db
        .run(move |conn| {
            super::deleted(
                interests::delete(conn, id.0),
                "interest",
                id,
                "interest_in_use",
                "clients or workshops still use this interest",
            )
        })
        .await
}
