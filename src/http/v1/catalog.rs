//! `/api/v1/categories`, `/api/v1/products` and `/api/v1/products/{id}/stock-movements`

use crate::app::{catalog, AppState};
use crate::domain::catalog::{
    Category, CategoryChanges, MovementKind, NewCategory, NewMovement, NewProduct, Product, ProductChanges,
    ProductFilter, ProductSort, StockMovement, StockStatus,
};
use crate::domain::ids::{CategoryId, Located, OrderId, ProductId, StockMovementId};
use crate::domain::money::Money;
use crate::http::access::Caller;
use crate::http::crud::crud_endpoints;
use crate::http::dto::{created, created_tagged, no_content, tagged, PageOf};
use crate::http::extract::{list_query, search_text, IfMatch, JsonBody, PageParams, Query, SearchParams};
use crate::http::problem::ApiResult;
use crate::http::validation::double_option;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CategoryRequest {
    /// Unique regardless of case.
    #[validate(length(min = 1, max = 100), custom(function = crate::http::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 100,
        example = "Woodworking kits"
    )]
    pub name: String,
    /// Unique; derived from `name` when absent.
    #[validate(length(max = 100), custom(function = crate::http::validation::slug))]
    #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 100, example = "woodworking-kits")]
    pub slug: Option<String>,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000)]
    pub description: Option<String>,
}

impl From<CategoryRequest> for NewCategory {
    fn from(r: CategoryRequest) -> Self {
        NewCategory { name: r.name, slug: r.slug, description: r.description }
    }
}

/// Only the fields present change; `null` clears `description`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatchRequest {
    #[validate(length(min = 1, max = 100), custom(function = crate::http::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[validate(length(max = 100), custom(function = crate::http::validation::slug))]
    #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 100)]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 1000))]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<Option<String>>,
}

impl From<CategoryPatchRequest> for CategoryChanges {
    fn from(r: CategoryPatchRequest) -> Self {
        CategoryChanges { name: r.name, slug: r.slug, description: r.description }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryResponse {
    pub id: CategoryId,
    #[schema(example = "Woodworking kits")]
    pub name: String,
    #[schema(example = "woodworking-kits")]
    pub slug: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Category> for CategoryResponse {
    fn from(c: Category) -> Self {
        CategoryResponse {
            id: c.id,
            name: c.name,
            slug: c.slug,
            description: c.description,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    pub category_id: Option<CategoryId>,
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 200,
        example = "Dovetail starter kit"
    )]
    pub name: String,
    /// Unique; derived from `name` when absent.
    #[validate(length(max = 200), custom(function = crate::http::validation::slug))]
    #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 200, example = "dovetail-starter-kit")]
    pub slug: Option<String>,
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    pub description: Option<String>,
    /// More than 0, at most 1000000.00.
    #[validate(custom(function = crate::http::validation::price))]
    #[schema(example = "24.90")]
    pub price: Money,
    /// Initial stock (default 0), recorded as the first `in` movement.
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 40)]
    pub stock: Option<i32>,
    /// Default 0.
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 10)]
    pub reorder_point: Option<i32>,
    /// Default `true`; inactive products cannot be ordered.
    pub active: Option<bool>,
}

impl From<ProductRequest> for NewProduct {
    fn from(r: ProductRequest) -> Self {
        NewProduct {
            category_id: r.category_id,
            name: r.name,
            slug: r.slug,
            description: r.description,
            price: r.price,
            stock: r.stock.unwrap_or(0),
            reorder_point: r.reorder_point.unwrap_or(0),
            active: r.active.unwrap_or(true),
        }
    }
}

/// Only the fields present change; `null` clears `category_id` or `description`. Stock changes
/// through `/stock-movements` only.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct ProductPatchRequest {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub category_id: Option<Option<CategoryId>>,
    #[validate(length(min = 1, max = 200), custom(function = crate::http::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[validate(length(max = 200), custom(function = crate::http::validation::slug))]
    #[schema(pattern = r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length = 200)]
    pub slug: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 5000))]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub description: Option<Option<String>>,
    #[validate(custom(function = crate::http::validation::price))]
    pub price: Option<Money>,
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000)]
    pub reorder_point: Option<i32>,
    pub active: Option<bool>,
}

impl From<ProductPatchRequest> for ProductChanges {
    fn from(r: ProductPatchRequest) -> Self {
        ProductChanges {
            category_id: r.category_id,
            name: r.name,
            slug: r.slug,
            description: r.description,
            price: r.price,
            reorder_point: r.reorder_point,
            active: r.active,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductResponse {
    pub id: ProductId,
    pub category_id: Option<CategoryId>,
    #[schema(example = "Dovetail starter kit")]
    pub name: String,
    #[schema(example = "dovetail-starter-kit")]
    pub slug: String,
    pub description: Option<String>,
    pub price: Money,
    /// Units on hand; changed only by stock movements (manual, orders, cancellations).
    #[schema(example = 42)]
    pub stock: i32,
    #[schema(example = 10)]
    pub reorder_point: i32,
    pub stock_status: StockStatus,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Product> for ProductResponse {
    fn from(p: Product) -> Self {
        ProductResponse {
            id: p.id,
            category_id: p.category_id,
            name: p.name,
            slug: p.slug,
            description: p.description,
            price: p.price,
            stock: p.stock,
            reorder_point: p.reorder_point,
            stock_status: p.stock_status,
            active: p.active,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// `created_at` (default), `-created_at`, `name`, `-name`, `price` or `-price`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub enum ProductSortParam {
    #[default]
    #[serde(rename = "created_at")]
    CreatedAt,
    #[serde(rename = "-created_at")]
    CreatedAtDesc,
    #[serde(rename = "name")]
    Name,
    #[serde(rename = "-name")]
    NameDesc,
    #[serde(rename = "price")]
    Price,
    #[serde(rename = "-price")]
    PriceDesc,
}

impl From<ProductSortParam> for ProductSort {
    fn from(sort: ProductSortParam) -> Self {
        match sort {
            ProductSortParam::CreatedAt => ProductSort::CreatedAt,
            ProductSortParam::CreatedAtDesc => ProductSort::CreatedAtDesc,
            ProductSortParam::Name => ProductSort::Name,
            ProductSortParam::NameDesc => ProductSort::NameDesc,
            ProductSortParam::Price => ProductSort::Price,
            ProductSortParam::PriceDesc => ProductSort::PriceDesc,
        }
    }
}

list_query! {
    /// Filters and sort for `GET /products`.
    pub struct ProductListQuery {
        pub category_id: Option<Uuid>,
        pub active: Option<bool>,
        #[param(inline)]
        pub stock_status: Option<StockStatus>,
        /// Case-insensitive text search in name, slug and description.
        #[param(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
        #[validate(length(max = 100), custom(function = crate::http::validation::search_text))]
        pub q: Option<String>,
        #[param(inline)]
        pub sort: Option<ProductSortParam>,
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct MovementRequest {
    pub kind: MovementKind,
    /// Units in or out (at least 1), or the counted stock for `adjust` (0 or more).
    #[validate(range(min = 0, max = 1_000_000_000))]
    #[schema(minimum = 0, maximum = 1_000_000_000, example = 12)]
    pub quantity: i32,
    #[validate(length(min = 1, max = 500), custom(function = crate::http::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 500,
        example = "supplier delivery 2026-11"
    )]
    pub reason: String,
}

/// One change of a product's stock and the stock it left.
#[derive(Debug, Serialize, ToSchema)]
pub struct StockMovementResponse {
    pub id: StockMovementId,
    pub product_id: ProductId,
    pub kind: MovementKind,
    /// As requested: units in or out, or the counted stock for `adjust`.
    pub quantity: i32,
    /// The signed change it made.
    #[schema(example = -2)]
    pub delta: i32,
    pub resulting_stock: i32,
    #[schema(example = "order 0192f5e2-7a1c-7cc0-b1d4-2f1e9a6c1a10")]
    pub reason: String,
    /// The order that caused it, for order and cancellation movements.
    pub order_id: Option<OrderId>,
    pub created_at: DateTime<Utc>,
}

impl From<StockMovement> for StockMovementResponse {
    fn from(m: StockMovement) -> Self {
        StockMovementResponse {
            id: m.id,
            product_id: m.product_id,
            kind: m.kind,
            quantity: m.quantity,
            delta: m.delta,
            resulting_stock: m.resulting_stock,
            reason: m.reason,
            order_id: m.order_id,
            created_at: m.created_at,
        }
    }
}

crud_endpoints! {
    tag: "catalog", read: "catalog:read", write: "catalog:write",
    collection: "/categories", item: "/categories/{id}", id: CategoryId, id_doc: "Category id",
    not_found: "`category_not_found`", request: CategoryRequest, patch: CategoryPatchRequest, response: CategoryResponse,
    create: create_category = catalog::create_category, [
        "Create a category",
        "Names are unique regardless of case; the slug (unique) is derived from the name when absent.",
        "Category created", "URL of the new category", "`name_taken` or `slug_taken`",
    ],
    list: list_categories = catalog::list_categories, ["List categories", "Categories in creation order, a page at a time; `q` searches name and slug.", "A page of categories"],
    get: get_category = catalog::get_category, ["Get a category", "The category with its slug and description.", "The category"],
    update: update_category = catalog::update_category, [
        "Update a category",
        "Changes only the fields sent; `null` clears `description`.",
        "The updated category", "`name_taken` or `slug_taken`",
    ],
    delete: delete_category = catalog::delete_category, [
        "Delete a category",
        "Refused while products belong to the category (409 `category_in_use`).",
        "`category_in_use`: products still belong to it",
    ],
}

/// Create a product
///
/// The price is a decimal string; the slug (unique) is derived from the name when absent. An
/// initial stock is recorded as the product's first `in` movement.
#[utoipa::path(
    security(("api_key" = ["catalog:write"])),
    tag = "catalog",
    request_body = ProductRequest,
    responses(
        (status = 201, description = "Product created", body = ProductResponse,
            headers(("Location" = String, description = "URL of the new product"))),
        (status = 409, description = "`slug_taken`"),
        (status = 422, description = "Invalid fields, or `unknown_category`"),
    )
)]
#[post("/products")]
pub async fn create_product(
    _caller: Caller,
    state: web::Data<AppState>,
    JsonBody(input): JsonBody<ProductRequest>,
) -> ApiResult<HttpResponse> {
    let product = catalog::create_product(&state, input.into()).await?;
    Ok(created_tagged::<_, ProductResponse>(product.id.path(), product))
}

/// List products
///
/// Filter by category, activity and stock status (`critical` at or below the reorder point,
/// `low` up to 1.5 × it, `optimal` above); `q` searches name, slug and description. Sorted by
/// creation (default), name or price, either way.
#[utoipa::path(
    security(("api_key" = ["catalog:read"])),
    tag = "catalog",
    params(ProductListQuery),
    responses((status = 200, description = "A page of products", body = PageOf<ProductResponse>))
)]
#[get("/products")]
pub async fn list_products(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<ProductListQuery>,
) -> ApiResult<web::Json<PageOf<ProductResponse>>> {
    let filter = ProductFilter {
        category_id: query.category_id.map(CategoryId),
        active: query.active,
        stock_status: query.stock_status,
        search: search_text(&query.q),
    };
    let sort = query.sort.unwrap_or_default().into();
    let page = catalog::list_products(&state, filter, sort, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, ProductResponse::from)))
}

/// Get a product
///
/// The product with its stock and the `stock_status` derived from it.
#[utoipa::path(
    security(("api_key" = ["catalog:read"])),
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = ProductResponse),
        (status = 404, description = "`product_not_found`"),
    )
)]
#[get("/products/{id}")]
pub async fn get_product(_caller: Caller, state: web::Data<AppState>, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, ProductResponse>(catalog::get_product(&state, ProductId(*id)).await?))
}

/// Update a product
///
/// Changes only the fields sent; `null` clears `category_id` or `description`. The stock
/// changes through stock movements only.
#[utoipa::path(
    security(("api_key" = ["catalog:write"])),
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id"), IfMatch),
    request_body = ProductPatchRequest,
    responses(
        (status = 200, description = "The updated product", body = ProductResponse),
        (status = 404, description = "`product_not_found`"),
        (status = 409, description = "`slug_taken`"),
        (status = 422, description = "Invalid fields, or `unknown_category`"),
    )
)]
#[patch("/products/{id}")]
pub async fn update_product(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
    JsonBody(patch): JsonBody<ProductPatchRequest>,
) -> ApiResult<HttpResponse> {
    Ok(tagged::<_, ProductResponse>(catalog::update_product(&state, ProductId(*id), patch.into(), precondition).await?))
}

/// Delete a product
///
/// Deletes the product with its stock history. Products that orders include are kept for those
/// orders (409 `product_in_use`): deactivate them instead.
#[utoipa::path(
    security(("api_key" = ["catalog:write"])),
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id"), IfMatch),
    responses(
        (status = 204, description = "Deleted with its stock history"),
        (status = 404, description = "`product_not_found`"),
        (status = 409, description = "`product_in_use`: orders include it (deactivate it instead)"),
    )
)]
#[delete("/products/{id}")]
pub async fn delete_product(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    IfMatch(precondition): IfMatch,
) -> ApiResult<HttpResponse> {
    catalog::delete_product(&state, ProductId(*id), precondition).await?;
    Ok(no_content())
}

/// Record a stock movement
///
/// `in` adds units, `out` removes them (409 `insufficient_stock` beyond the stock on hand),
/// `adjust` sets the stock to a physical count. Recorded with the stock it leaves, under the
/// product's lock, so concurrent movements and orders see each other.
#[utoipa::path(
    security(("api_key" = ["catalog:write"])),
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id")),
    request_body = MovementRequest,
    responses(
        (status = 201, description = "Movement recorded with the resulting stock", body = StockMovementResponse),
        (status = 404, description = "`product_not_found`"),
        (status = 409, description = "`insufficient_stock` (an `out` beyond the stock) or `stock_limit`"),
    )
)]
#[post("/products/{id}/stock-movements")]
pub async fn record_movement(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<MovementRequest>,
) -> ApiResult<HttpResponse> {
    let movement = NewMovement { kind: input.kind, quantity: input.quantity, reason: input.reason };
    let movement = catalog::record_movement(&state, ProductId(*id), movement).await?;
    Ok(created(format!("{}/stock-movements", ProductId(*id).path()), &StockMovementResponse::from(movement)))
}

/// List a product's stock movements
///
/// The stock history, newest first: manual movements, orders (`out`) and cancellations (`in`),
/// each with the stock it left.
#[utoipa::path(
    security(("api_key" = ["catalog:read"])),
    tag = "catalog",
    params(("id" = Uuid, Path, description = "Product id"), PageParams),
    responses(
        (status = 200, description = "The product's stock history, newest first", body = PageOf<StockMovementResponse>),
        (status = 404, description = "`product_not_found`"),
    )
)]
#[get("/products/{id}/stock-movements")]
pub async fn list_movements(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    Query(query): Query<PageParams>,
) -> ApiResult<web::Json<PageOf<StockMovementResponse>>> {
    let page = catalog::list_movements(&state, ProductId(*id), query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, StockMovementResponse::from)))
}
