//! `/api/v1/categories`, `/api/v1/products` and `/api/v1/products/{id}/stock-movements`

use crate::app::catalog::{
    self, CategoryInput, CategoryPatch, MovementInput, ProductInput, ProductListParams, ProductPatch,
};
use crate::app::AppState;
use crate::domain::catalog::{Category, Product, StockMovement};
use crate::domain::ids::{CategoryId, ProductId};
use crate::http::dto::PageOf;
use crate::http::extract::{JsonBody, PageParams};
use crate::http::problem::{ApiResult, Problem};
use actix_web::{delete, get, patch, post, web, HttpResponse};
use uuid::Uuid;

/// 201 with the new resource's `Location`.
pub(crate) fn created<T: serde::Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created().insert_header(("Location", location)).json(body)
}

#[utoipa::path(
    tag = "catalog",
    request_body = CategoryInput,
    responses(
        (status = 201, description = "Category created", body = Category,
            headers(("Location" = String, description = "URL of the new category"))),
        (status = 409, description = "`name_taken` or `slug_taken`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/categories")]
pub async fn create_category(
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<CategoryInput>,
) -> ApiResult<HttpResponse> {
    let category = catalog::create_category(&state, input).await?;
    Ok(created(format!("/api/v1/categories/{}", category.id), &category))
}

#[utoipa::path(
    tag = "catalog",
    params(PageParams),
    responses((status = 200, description = "Categories in creation order; `q` searches name and slug", body = PageOf<Category>))
)]
#[get("/categories")]
pub async fn list_categories(
    state: web::Data<AppState>,
    query: web::Query<PageParams>,
) -> ApiResult<web::Json<PageOf<Category>>> {
    let limit = query.limit()?;
    let page = catalog::list_categories(&state, query.search(), query.cursor(), limit).await?;
    Ok(web::Json(PageOf::from_page(page, |c| c)))
}

#[utoipa::path(
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Category id")),
    responses(
        (status = 200, description = "The category", body = Category),
        (status = 404, description = "`category_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/categories/{id}")]
pub async fn get_category(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<Category>> {
    Ok(web::Json(catalog::get_category(&state, CategoryId(*id)).await?))
}

#[utoipa::path(
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Category id")),
    request_body = CategoryPatch,
    responses(
        (status = 200, description = "The updated category", body = Category),
        (status = 404, description = "`category_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`name_taken` or `slug_taken`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/categories/{id}")]
pub async fn update_category(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(patch): JsonBody<CategoryPatch>,
) -> ApiResult<web::Json<Category>> {
    Ok(web::Json(catalog::update_category(&state, CategoryId(*id), patch).await?))
}

#[utoipa::path(
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Category id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "`category_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`category_in_use`: products still belong to it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/categories/{id}")]
pub async fn delete_category(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    catalog::delete_category(&state, CategoryId(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "catalog",
    request_body = ProductInput,
    responses(
        (status = 201, description = "Product created; an initial stock is recorded as an `in` movement", body = Product,
            headers(("Location" = String, description = "URL of the new product"))),
        (status = 409, description = "`slug_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or `unknown_category`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/products")]
pub async fn create_product(
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<ProductInput>,
) -> ApiResult<HttpResponse> {
    let product = catalog::create_product(&state, input).await?;
    Ok(created(format!("/api/v1/products/{}", product.id), &product))
}

#[utoipa::path(
    tag = "catalog",
    params(ProductListParams),
    responses((status = 200, description = "Products, filtered and sorted", body = PageOf<Product>))
)]
#[get("/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    query: web::Query<ProductListParams>,
) -> ApiResult<web::Json<PageOf<Product>>> {
    let page = catalog::list_products(&state, query.into_inner()).await?;
    Ok(web::Json(PageOf::from_page(page, |p| p)))
}

#[utoipa::path(
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product with its derived `stock_status`", body = Product),
        (status = 404, description = "`product_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/products/{id}")]
pub async fn get_product(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<web::Json<Product>> {
    Ok(web::Json(catalog::get_product(&state, ProductId(*id)).await?))
}

#[utoipa::path(
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")),
    request_body = ProductPatch,
    responses(
        (status = 200, description = "The updated product", body = Product),
        (status = 404, description = "`product_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`slug_taken`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or `unknown_category`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/products/{id}")]
pub async fn update_product(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(patch): JsonBody<ProductPatch>,
) -> ApiResult<web::Json<Product>> {
    Ok(web::Json(catalog::update_product(&state, ProductId(*id), patch).await?))
}

#[utoipa::path(
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 204, description = "Deleted with its stock history"),
        (status = 404, description = "`product_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`product_in_use`: orders include it (deactivate it instead)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/products/{id}")]
pub async fn delete_product(state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    catalog::delete_product(&state, ProductId(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")),
    request_body = MovementInput,
    responses(
        (status = 201, description = "Movement recorded with the resulting stock", body = StockMovement),
        (status = 404, description = "`product_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`insufficient_stock` (an `out` beyond the stock) or `stock_limit`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/products/{id}/stock-movements")]
pub async fn record_movement(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<MovementInput>,
) -> ApiResult<HttpResponse> {
    let movement = catalog::record_movement(&state, ProductId(*id), input).await?;
    Ok(HttpResponse::Created().json(movement))
}

#[utoipa::path(
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id"), PageParams),
    responses(
        (status = 200, description = "The product's stock history, newest first", body = PageOf<StockMovement>),
        (status = 404, description = "`product_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/products/{id}/stock-movements")]
pub async fn list_movements(
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    query: web::Query<PageParams>,
) -> ApiResult<web::Json<PageOf<StockMovement>>> {
    let limit = query.limit()?;
    let page = catalog::list_movements(&state, ProductId(*id), query.cursor(), limit).await?;
    Ok(web::Json(PageOf::from_page(page, |m| m)))
}
