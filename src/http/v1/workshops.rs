//! `/api/v1/workshops` and `/api/v1/enrollments`

use super::catalog::created;
use crate::app::workshops::{
    self, EnrollInput, EnrollmentListParams, PaymentInput, WorkshopInput, WorkshopListParams, WorkshopPatch,
};
use crate::app::AppState;
use crate::domain::ids::{EnrollmentId, WorkshopId};
use crate::domain::workshops::{Enrollment, Payment, Workshop};
use crate::http::dto::PageOf;
use crate::http::extract::JsonBody;
use crate::http::problem::{ApiResult, Problem};
use actix_web::{delete, get, patch, post, web, HttpResponse};
use uuid::Uuid;

#[utoipa::path(
    tag = "workshops",
    request_body = WorkshopInput,
    responses(
        (status = 201, description = "Workshop created", body = Workshop,
            headers(("Location" = String, description = "URL of the new workshop"))),
        (status = 409, description = "`name_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, `unknown_category`, a start in the past, or a missing location/link", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workshops")]
pub async fn create_workshop(
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<WorkshopInput>,
) -> ApiResult<HttpResponse> {
    let workshop = workshops::create(&state, input).await?;
    Ok(created(format!("/api/v1/workshops/{}", workshop.id), &workshop))
}

#[utoipa::path(
    tag = "workshops",
    params(WorkshopListParams),
    responses((status = 200, description = "Workshops by start time, each with `seats_available`", body = PageOf<Workshop>))
)]
#[get("/workshops")]
pub async fn list_workshops(
    state: web::Data<AppState>,
    query: web::Query<WorkshopListParams>,
) -> ApiResult<web::Json<PageOf<Workshop>>> {
    let page = workshops::list(&state, query.into_inner()).await?;
    Ok(web::Json(PageOf::from_page(page, |w| w)))
}

#[utoipa::path(
    tag = "workshops",
    params(("id" = Uuid, Path, description = "Workshop id")),
    responses(
        (status = 200, description = "The workshop", body = Workshop),
        (status = 404, description = "`workshop_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/workshops/{id}")]
pub async fn get_workshop(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<Workshop>> {
    Ok(web::Json(workshops::get(&state, WorkshopId(*id)).await?))
}

#[utoipa::path(
    tag = "workshops",
    params(("id" = Uuid, Path, description = "Workshop id")),
    request_body = WorkshopPatch,
    responses(
        (status = 200, description = "The updated workshop", body = Workshop),
        (status = 404, description = "`workshop_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`capacity_below_seats_taken` or `name_taken`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/workshops/{id}")]
pub async fn update_workshop(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(patch): JsonBody<WorkshopPatch>,
) -> ApiResult<web::Json<Workshop>> {
    Ok(web::Json(workshops::update(&state, WorkshopId(*id), patch).await?))
}

#[utoipa::path(
    tag = "workshops",
    params(("id" = Uuid, Path, description = "Workshop id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`workshop_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`workshop_in_use`: it has enrollments (deactivate it instead)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/workshops/{id}")]
pub async fn delete_workshop(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    workshops::delete(&state, WorkshopId(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "workshops",
    params(("id" = Uuid, Path, description = "Workshop id")),
    request_body = EnrollInput,
    responses(
        (status = 201, description = "Enrolled: a seat is taken and the workshop's category joins the client's interests", body = Enrollment,
            headers(("Location" = String, description = "URL of the new enrollment"))),
        (status = 404, description = "`workshop_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`sold_out`, `already_enrolled`, `workshop_inactive`, `workshop_started` or `client_inactive`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown_client`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/workshops/{id}/enrollments")]
pub async fn enroll(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<EnrollInput>,
) -> ApiResult<HttpResponse> {
    let enrollment = workshops::enroll(&state, WorkshopId(*id), input).await?;
    Ok(created(format!("/api/v1/enrollments/{}", enrollment.id), &enrollment))
}

#[utoipa::path(
    tag = "enrollments",
    params(EnrollmentListParams),
    responses((status = 200, description = "Enrollments, newest first; `unpaid=true` is the debtors list", body = PageOf<Enrollment>))
)]
#[get("/enrollments")]
pub async fn list_enrollments(
    state: web::Data<AppState>,
    query: web::Query<EnrollmentListParams>,
) -> ApiResult<web::Json<PageOf<Enrollment>>> {
    let page = workshops::list_enrollments(&state, query.into_inner()).await?;
    Ok(web::Json(PageOf::from_page(page, |e| e)))
}

#[utoipa::path(
    tag = "enrollments",
    params(("id" = Uuid, Path, description = "Enrollment id")),
    responses(
        (status = 200, description = "The enrollment", body = Enrollment),
        (status = 404, description = "`enrollment_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/enrollments/{id}")]
pub async fn get_enrollment(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<Enrollment>> {
    Ok(web::Json(workshops::get_enrollment(&state, EnrollmentId(*id)).await?))
}

#[utoipa::path(
    tag = "enrollments",
    params(("id" = Uuid, Path, description = "Enrollment id")),
    responses(
        (status = 200, description = "Cancelled; the seat is released", body = Enrollment),
        (status = 404, description = "`enrollment_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`already_cancelled`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/enrollments/{id}/cancel")]
pub async fn cancel_enrollment(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<Enrollment>> {
    Ok(web::Json(workshops::cancel_enrollment(&state, EnrollmentId(*id)).await?))
}

#[utoipa::path(
    tag = "enrollments",
    params(("id" = Uuid, Path, description = "Enrollment id")),
    request_body = PaymentInput,
    responses(
        (status = 201, description = "Payment recorded; the enrollment becomes `partially_paid` or `paid`", body = Enrollment),
        (status = 404, description = "`enrollment_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`overpayment` (`details.balance` says what is due) or `enrollment_cancelled`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/enrollments/{id}/payments")]
pub async fn pay_enrollment(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<PaymentInput>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Created().json(workshops::pay(&state, EnrollmentId(*id), input).await?))
}

#[utoipa::path(
    tag = "enrollments",
    params(("id" = Uuid, Path, description = "Enrollment id")),
    responses(
        (status = 200, description = "The enrollment's payments, oldest first", body = Vec<Payment>),
        (status = 404, description = "`enrollment_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/enrollments/{id}/payments")]
pub async fn list_payments(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<Vec<Payment>>> {
    Ok(web::Json(workshops::payments(&state, EnrollmentId(*id)).await?))
}
