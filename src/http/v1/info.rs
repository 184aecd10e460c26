//! `/api/v1/clients/{id}/comments`, `/preferences` and `/attributes` (the MongoDB document).

use crate::app::info::{self, NewCommentInput};
use crate::app::AppState;
use crate::domain::free_form::{FreeFormObject, Preferences};
use crate::domain::ids::{ClientId, CommentId};
use crate::http::dto::{CommentResponse, PageOf};
use crate::http::extract::{JsonBody, PageParams};
use crate::http::problem::{ApiResult, Problem};
use crate::store::mongo::InfoMap;
use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use serde_json::{Map, Value};
use uuid::Uuid;

#[utoipa::path(
    tag = "client info",
    params(("id" = Uuid, Path, description = "Client id")),
    request_body = NewCommentInput,
    responses(
        (status = 201, description = "Comment added", body = CommentResponse,
            headers(("Location" = String, description = "URL of the comment"))),
        (status = 404, description = "`client_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`comment_limit_reached`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid text", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/clients/{id}/comments")]
pub async fn add_comment(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<NewCommentInput>,
) -> ApiResult<HttpResponse> {
    let comment = info::add_comment(&state, ClientId(*id), input).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/clients/{}/comments/{}", *id, comment.id)))
        .json(CommentResponse::from(comment)))
}

#[utoipa::path(
    tag = "client info",
    params(("id" = Uuid, Path, description = "Client id"), PageParams),
    responses(
        (status = 200, description = "Comments, newest first", body = PageOf<CommentResponse>),
        (status = 404, description = "`client_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/clients/{id}/comments")]
pub async fn list_comments(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<PageParams>,
) -> ApiResult<web::Json<PageOf<CommentResponse>>> {
    let limit = query.limit()?;
    let page = info::list_comments(&state, ClientId(*id), query.cursor(), limit).await?;
    Ok(web::Json(PageOf::from_page(page, CommentResponse::from)))
}

#[utoipa::path(
    tag = "client info",
    params(("id" = Uuid, Path, description = "Client id"), ("comment_id" = Uuid, Path, description = "Comment id")),
    responses(
        (status = 204, description = "Comment deleted"),
        (status = 404, description = "`client_not_found` or `comment_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/clients/{id}/comments/{comment_id}")]
pub async fn delete_comment(state: web::Data<AppState>, path: web::Path<(Uuid, Uuid)>) -> ApiResult<HttpResponse> {
    let (id, comment_id) = path.into_inner();
    info::delete_comment(&state, ClientId(id), CommentId(comment_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// GET (read), PUT (replace) and PATCH (RFC 7396 merge) for one free-form map of the document.
macro_rules! map_endpoints {
    ($which:expr, $schema:ty, $path:tt, $get:ident, $put:ident, $patch:ident) => {
        #[utoipa::path(
            tag = "client info",
            params(("id" = Uuid, Path, description = "Client id")),
            responses(
                (status = 200, description = "The stored object (empty when never set)", body = $schema),
                (status = 404, description = "`client_not_found`", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[get($path)]
        pub async fn $get(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<Map<String, Value>>> {
            Ok(web::Json(info::get_map(&state, ClientId(*id), $which).await?))
        }

        #[utoipa::path(
            tag = "client info",
            params(("id" = Uuid, Path, description = "Client id")),
            request_body(content = $schema, description = "The new object: keys must not start with `$` or contain `.`; 16 KiB at most"),
            responses(
                (status = 200, description = "The stored object", body = $schema),
                (status = 404, description = "`client_not_found`", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Invalid keys, values or size", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[put($path)]
        pub async fn $put(state: web::Data<AppState>, id: web::Path<Uuid>, JsonBody(body): JsonBody<Map<String, Value>>) -> ApiResult<web::Json<Map<String, Value>>> {
            Ok(web::Json(info::replace_map(&state, ClientId(*id), $which, body).await?))
        }

        #[utoipa::path(
            tag = "client info",
            params(("id" = Uuid, Path, description = "Client id")),
            request_body(content = $schema, description = "An RFC 7396 merge patch: `null` removes a key, objects merge", content_type = "application/merge-patch+json"),
            responses(
                (status = 200, description = "The merged object", body = $schema),
                (status = 404, description = "`client_not_found`", body = Problem, content_type = "application/problem+json"),
                (status = 409, description = "`concurrent_update`: too many simultaneous changes; retry", body = Problem, content_type = "application/problem+json"),
                (status = 422, description = "Invalid keys, values or size", body = Problem, content_type = "application/problem+json"),
            )
        )]
        #[patch($path)]
        pub async fn $patch(state: web::Data<AppState>, id: web::Path<Uuid>, JsonBody(body): JsonBody<Map<String, Value>>) -> ApiResult<web::Json<Map<String, Value>>> {
            Ok(web::Json(info::merge_map(&state, ClientId(*id), $which, body).await?))
        }
    };
}

map_endpoints!(
    InfoMap::Preferences,
    Preferences,
    "/clients/{id}/preferences",
    get_preferences,
    replace_preferences,
    merge_preferences
);
map_endpoints!(
    InfoMap::Attributes,
    FreeFormObject,
    "/clients/{id}/attributes",
    get_attributes,
    replace_attributes,
    merge_attributes
);
