//! `/api/v1/clients` and the complete client view.

use crate::app::clients::{self, ClientListParams, ClientPatch, NewClientInput};
use crate::app::AppState;
use crate::domain::ids::ClientId;
use crate::http::dto::{ClientResponse, ClientViewResponse, PageOf};
use crate::http::extract::{etag, IfMatch, JsonBody};
use crate::http::problem::{ApiResult, Problem};
use actix_web::http::header;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use uuid::Uuid;

fn with_etag(mut response: actix_web::HttpResponseBuilder, client: ClientResponse) -> HttpResponse {
    response.insert_header((header::ETAG, etag(client.version))).json(client)
}

#[utoipa::path(
    tag = "clients",
    request_body = NewClientInput,
    responses(
        (status = 201, description = "Client created in PostgreSQL, with its MongoDB document", body = ClientResponse,
            headers(("Location" = String, description = "URL of the new client"), ("ETag" = String, description = "Version tag for If-Match"))),
        (status = 409, description = "`email_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, unknown `company_id`/`interest_ids`, or b2b without a company", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/clients")]
pub async fn create_client(
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<NewClientInput>,
) -> ApiResult<HttpResponse> {
    let client = clients::create(&state, input).await?;
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("/api/v1/clients/{}", client.id)));
    Ok(with_etag(response, client.into()))
}

#[utoipa::path(
    tag = "clients",
    params(ClientListParams),
    responses(
        (status = 200, description = "A page of clients", body = PageOf<ClientResponse>),
        (status = 422, description = "Invalid filter, `limit` or `cursor`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/clients")]
pub async fn list_clients(
    state: web::Data<AppState>,
    query: web::Query<ClientListParams>,
) -> ApiResult<web::Json<PageOf<ClientResponse>>> {
    let page = clients::list(&state, query.into_inner()).await?;
    Ok(web::Json(PageOf::from_page(page, ClientResponse::from)))
}

#[utoipa::path(
    tag = "clients",
    params(("id" = Uuid, Path, description = "Client id")),
    responses(
        (status = 200, description = "The client", body = ClientResponse,
            headers(("ETag" = String, description = "Version tag for If-Match"))),
        (status = 404, description = "`client_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/clients/{id}")]
pub async fn get_client(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let client = clients::get(&state, ClientId(*id)).await?;
    Ok(with_etag(HttpResponse::Ok(), client.into()))
}

#[utoipa::path(
    tag = "clients",
    params(
        ("id" = Uuid, Path, description = "Client id"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` last read; the update is refused with 412 if the client changed since"),
    ),
    request_body = ClientPatch,
    responses(
        (status = 200, description = "The updated client", body = ClientResponse,
            headers(("ETag" = String, description = "The new version tag"))),
        (status = 404, description = "`client_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`version_mismatch`: `If-Match` is stale", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/clients/{id}")]
pub async fn update_client(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    JsonBody(patch): JsonBody<ClientPatch>,
) -> ApiResult<HttpResponse> {
    let client = clients::update(&state, ClientId(*id), patch, if_match.0).await?;
    Ok(with_etag(HttpResponse::Ok(), client.into()))
}

#[utoipa::path(
    tag = "clients",
    params(("id" = Uuid, Path, description = "Client id")),
    responses(
        (status = 204, description = "Deleted from PostgreSQL and MongoDB"),
        (status = 404, description = "`client_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/clients/{id}")]
pub async fn delete_client(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    clients::delete(&state, ClientId(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "clients",
    params(("id" = Uuid, Path, description = "Client id")),
    responses(
        (status = 200, description = "The complete client. If MongoDB is unavailable: still 200, with `info: null` and `degraded` naming what is missing", body = ClientViewResponse),
        (status = 404, description = "`client_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/clients/{id}/view")]
pub async fn client_view(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<ClientViewResponse>> {
    Ok(web::Json(clients::view(&state, ClientId(*id)).await?.into()))
}
