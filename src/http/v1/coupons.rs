//! `/api/v1/coupons`

use super::catalog::created;
use crate::app::coupons::{self, CouponInput, CouponPatch};
use crate::app::AppState;
use crate::domain::ids::CouponId;
use crate::domain::orders::Coupon;
use crate::http::dto::PageOf;
use crate::http::extract::{JsonBody, PageParams};
use crate::http::problem::{ApiResult, Problem};
use actix_web::{delete, get, patch, post, web, HttpResponse};
use uuid::Uuid;

#[utoipa::path(
    tag = "coupons",
    request_body = CouponInput,
    responses(
        (status = 201, description = "Coupon created", body = Coupon,
            headers(("Location" = String, description = "URL of the new coupon"))),
        (status = 409, description = "`code_taken` (codes are unique regardless of case)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/coupons")]
pub async fn create_coupon(
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<CouponInput>,
) -> ApiResult<HttpResponse> {
    let coupon = coupons::create(&state, input).await?;
    Ok(created(format!("/api/v1/coupons/{}", coupon.id), &coupon))
}

#[utoipa::path(
    tag = "coupons",
    params(PageParams),
    responses((status = 200, description = "Coupons in creation order; `q` searches code and description", body = PageOf<Coupon>))
)]
#[get("/coupons")]
pub async fn list_coupons(
    state: web::Data<AppState>,
    query: web::Query<PageParams>,
) -> ApiResult<web::Json<PageOf<Coupon>>> {
    let limit = query.limit()?;
    let page = coupons::list(&state, query.search(), query.cursor(), limit).await?;
    Ok(web::Json(PageOf::from_page(page, |c| c)))
}

#[utoipa::path(
    tag = "coupons",
    params(("id" = Uuid, Path, description = "Coupon id")),
    responses(
        (status = 200, description = "The coupon with its redemption count", body = Coupon),
        (status = 404, description = "`coupon_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/coupons/{id}")]
pub async fn get_coupon(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<Coupon>> {
    Ok(web::Json(coupons::get(&state, CouponId(*id)).await?))
}

#[utoipa::path(
    tag = "coupons",
    params(("id" = Uuid, Path, description = "Coupon id")),
    request_body = CouponPatch,
    responses(
        (status = 200, description = "The updated coupon", body = Coupon),
        (status = 404, description = "`coupon_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`max_redemptions_below_used`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/coupons/{id}")]
pub async fn update_coupon(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(patch): JsonBody<CouponPatch>,
) -> ApiResult<web::Json<Coupon>> {
    Ok(web::Json(coupons::update(&state, CouponId(*id), patch).await?))
}

#[utoipa::path(
    tag = "coupons",
    params(("id" = Uuid, Path, description = "Coupon id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`coupon_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`coupon_in_use`: orders used it (deactivate it instead)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/coupons/{id}")]
pub async fn delete_coupon(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    coupons::delete(&state, CouponId(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
