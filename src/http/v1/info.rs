//! `/api/v1/clients/{id}/comments`, `/preferences` and `/attributes` (the MongoDB document).

use crate::app::info::{self, MapWrite};
use crate::app::AppState;
use crate::domain::free_form::{FreeFormObject, Preferences};
use crate::domain::ids::{ClientId, CommentId, Nested};
use crate::domain::view::{Comment, InfoMap};
use crate::http::access::Caller;
use crate::http::dto::{created, no_content, tagged, PageOf};
use crate::http::extract::{IfMatch, JsonBody, PageParams, Query};
use crate::http::problem::ApiResult;
use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct NewCommentRequest {
    #[validate(length(min = 1, max = 2000), custom(function = crate::http::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 2000,
        example = "Asked about the spring woodworking workshop."
    )]
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentResponse {
    pub id: Uuid,
    #[schema(example = "Asked about the spring woodworking workshop.")]
    pub text: String,
    /// Millisecond precision, as stored.
    pub created_at: DateTime<Utc>,
}

impl From<Comment> for CommentResponse {
    fn from(c: Comment) -> Self {
        CommentResponse { id: c.id.0, text: c.text, created_at: c.created_at }
    }
}

/// A free-form JSON object; its keys and size are checked by the use case (domain rules), so
/// the body itself has no shape to validate.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct FreeFormBody(pub Map<String, Value>);

impl Validate for FreeFormBody {
    fn validate(&self) -> Result<(), validator::ValidationErrors> {
        Ok(())
    }
}

/// Add a comment
///
/// Adds a comment to the client's MongoDB document (newest first). A client keeps at most 1,000
/// comments: 409 `comment_limit_reached` beyond that — delete one to make room.
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "client info",
    params(("id" = Uuid, Path, description = "Client id")),
    request_body = NewCommentRequest,
    responses(
        (status = 201, description = "Comment added", body = CommentResponse,
            headers(("Location" = String, description = "URL of the comment"))),
        (status = 404, description = "`client_not_found`"),
        (status = 409, description = "`comment_limit_reached`"),
    )
)]
#[post("/clients/{id}/comments")]
pub async fn add_comment(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<NewCommentRequest>,
) -> ApiResult<HttpResponse> {
    let comment = info::add_comment(&state, ClientId(*id), input.text).await?;
    Ok(created(comment.id.path(ClientId(*id)), &CommentResponse::from(comment)))
}

/// List a client's comments
///
/// Newest first, a page at a time; each page reads only that page from MongoDB. A cursor keeps
/// its place even if the comment it names is deleted meanwhile.
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "client info",
    params(("id" = Uuid, Path, description = "Client id"), PageParams),
    responses(
        (status = 200, description = "Comments, newest first", body = PageOf<CommentResponse>),
        (status = 404, description = "`client_not_found`"),
    )
)]
#[get("/clients/{id}/comments")]
pub async fn list_comments(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    Query(query): Query<PageParams>,
) -> ApiResult<web::Json<PageOf<CommentResponse>>> {
    let page = info::list_comments(&state, ClientId(*id), query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, CommentResponse::from)))
}

/// Get a comment
///
/// One comment of the client's MongoDB document, where `POST …/comments` answered it was
/// (`Location`).
#[utoipa::path(
    security(("api_key" = ["clients:read"])),
    tag = "client info",
    params(("id" = Uuid, Path, description = "Client id"), ("comment_id" = Uuid, Path, description = "Comment id")),
    responses(
        (status = 200, description = "The comment", body = CommentResponse),
        (status = 404, description = "`client_not_found` or `comment_not_found`"),
    )
)]
#[get("/clients/{id}/comments/{comment_id}")]
pub async fn get_comment(
    _caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<web::Json<CommentResponse>> {
    let (id, comment_id) = path.into_inner();
    Ok(web::Json(info::get_comment(&state, ClientId(id), CommentId(comment_id)).await?.into()))
}

/// Delete a comment
///
/// Removes one comment from the client's document; the count drops by one, which makes room
/// for another when the client was at the limit.
#[utoipa::path(
    security(("api_key" = ["clients:write"])),
    tag = "client info",
    params(("id" = Uuid, Path, description = "Client id"), ("comment_id" = Uuid, Path, description = "Comment id")),
    responses(
        (status = 204, description = "Comment deleted"),
        (status = 404, description = "`client_not_found` or `comment_not_found`"),
    )
)]
#[delete("/clients/{id}/comments/{comment_id}")]
pub async fn delete_comment(
    _caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (id, comment_id) = path.into_inner();
    info::delete_comment(&state, ClientId(id), CommentId(comment_id)).await?;
    Ok(no_content())
}

/// GET (read), PUT (replace) and PATCH (RFC 7396 merge) for one free-form map of the document.
macro_rules! map_endpoints {
    ($which:expr, $schema:ty, $path:tt, $get:ident, $put:ident, $patch:ident, [$get_summary:literal, $get_doc:literal], [$put_summary:literal, $put_doc:literal], [$patch_summary:literal, $patch_doc:literal]) => {
        #[doc = $get_summary]
        #[doc = ""]
        #[doc = $get_doc]
        #[utoipa::path(
            security(("api_key" = ["clients:read"])),
            tag = "client info",
            params(("id" = Uuid, Path, description = "Client id")),
            responses(
                (status = 200, description = "The stored object (empty when never set)", body = $schema),
                (status = 404, description = "`client_not_found`, or `client_info_not_found` when the client's document was lost (PUT or PATCH recreates it)"),
            )
        )]
        #[get($path)]
        pub async fn $get(_caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
            Ok(tagged::<_, Map<String, Value>>(info::get_map(&state, ClientId(*id), $which).await?))
        }

        #[doc = $put_summary]
        #[doc = ""]
        #[doc = $put_doc]
        #[utoipa::path(
            security(("api_key" = ["clients:write"])),
            tag = "client info",
            params(("id" = Uuid, Path, description = "Client id"), IfMatch),
            request_body(content = $schema, description = "The new object: keys must not start with `$` or contain `.`; 16 KiB at most"),
            responses(
                (status = 200, description = "The stored object", body = $schema),
                (status = 404, description = "`client_not_found`"),
            )
        )]
        #[put($path)]
        pub async fn $put(_caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>, IfMatch(precondition): IfMatch, JsonBody(body): JsonBody<FreeFormBody>) -> ApiResult<HttpResponse> {
            Ok(tagged::<_, Map<String, Value>>(info::write_map(&state, ClientId(*id), $which, MapWrite::Replace(body.0), precondition).await?))
        }

        #[doc = $patch_summary]
        #[doc = ""]
        #[doc = $patch_doc]
        #[utoipa::path(
            security(("api_key" = ["clients:write"])),
            tag = "client info",
            params(("id" = Uuid, Path, description = "Client id"), IfMatch),
            request_body(content = $schema, description = "An RFC 7396 merge patch: `null` removes a key, objects merge", content_type = "application/merge-patch+json"),
            responses(
                (status = 200, description = "The merged object", body = $schema),
                (status = 404, description = "`client_not_found`"),
                (status = 409, description = "`concurrent_update`: too many simultaneous changes; retry"),
            )
        )]
        #[patch($path)]
        pub async fn $patch(_caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>, IfMatch(precondition): IfMatch, JsonBody(body): JsonBody<FreeFormBody>) -> ApiResult<HttpResponse> {
            Ok(tagged::<_, Map<String, Value>>(info::write_map(&state, ClientId(*id), $which, MapWrite::Merge(body.0), precondition).await?))
        }
    };
}

map_endpoints!(
    InfoMap::Preferences,
    Preferences,
    "/clients/{id}/preferences",
    get_preferences,
    replace_preferences,
    merge_preferences,
    ["Get a client's preferences", "The `preferences` object of the client's MongoDB document."],
    ["Replace a client's preferences", "Replaces the whole object. Known keys are typed (`language`, `payment_method`, `notifications`); keys must not start with `$` or contain `.`, nesting stops at 8 levels, and the object at 16 KiB."],
    ["Merge into a client's preferences", "Applies an RFC 7396 merge patch (`null` removes a key, objects merge); the merged result must satisfy the same rules as a replacement. Simultaneous patches all land."]
);
map_endpoints!(
    InfoMap::Attributes,
    FreeFormObject,
    "/clients/{id}/attributes",
    get_attributes,
    replace_attributes,
    merge_attributes,
    ["Get a client's attributes", "The free-form `attributes` object of the client's MongoDB document."],
    ["Replace a client's attributes", "Replaces the whole object: keys must not start with `$` or contain `.`, nesting stops at 8 levels, and the object at 16 KiB."],
    ["Merge into a client's attributes", "Applies an RFC 7396 merge patch (`null` removes a key, objects merge); the merged result must satisfy the same rules as a replacement. Simultaneous patches all land."]
);
