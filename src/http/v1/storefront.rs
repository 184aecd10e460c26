//! `/api/v1/store/products`, `/store/categories`, `/store/workshops`: the public catalog a
//! storefront reads with its publishable key (`X-Publishable-Key`), without anyone signing in.
//! Its own response types show what a shop window shows: a price and whether a product is in
//! stock, never the stock; seats left, never an online workshop's link.

use crate::app::{storefront, AppState};
use crate::domain::catalog::{Category, Product, ProductFilter};
use crate::domain::ids::{CategoryId, InterestId, ProductId, WorkshopId};
use crate::domain::money::Money;
use crate::domain::workshops::{Modality, Workshop, WorkshopFilter};
use crate::http::access::Caller;
use crate::http::dto::PageOf;
use crate::http::extract::{list_query, search_text, Query, SearchParams};
use crate::http::problem::ApiResult;
use crate::http::v1::catalog::ProductSortParam;
use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreProductResponse {
    pub id: ProductId,
    pub category_id: Option<CategoryId>,
    #[schema(example = "Dovetail starter kit")]
    pub name: String,
    #[schema(example = "dovetail-starter-kit")]
    pub slug: String,
    pub description: Option<String>,
    pub price: Money,
    /// Whether at least one unit is on hand now (checked again when an order is placed).
    pub in_stock: bool,
}

impl From<Product> for StoreProductResponse {
    fn from(p: Product) -> Self {
        StoreProductResponse {
            id: p.id,
            category_id: p.category_id,
            name: p.name,
            slug: p.slug,
            description: p.description,
            price: p.price,
            in_stock: p.stock > 0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreCategoryResponse {
    pub id: CategoryId,
    #[schema(example = "Hand tools")]
    pub name: String,
    #[schema(example = "hand-tools")]
    pub slug: String,
    pub description: Option<String>,
}

impl From<Category> for StoreCategoryResponse {
    fn from(c: Category) -> Self {
        StoreCategoryResponse { id: c.id, name: c.name, slug: c.slug, description: c.description }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreWorkshopResponse {
    pub id: WorkshopId,
    #[schema(example = "Hand-cut dovetails")]
    pub name: String,
    pub description: Option<String>,
    /// The interest (topic) the workshop belongs to.
    pub category_id: InterestId,
    pub starts_at: DateTime<Utc>,
    #[schema(example = 180)]
    pub duration_minutes: i32,
    pub modality: Modality,
    /// Where an `in_person` workshop happens (an online one's link goes to those enrolled).
    #[schema(example = "Workshop hall, 12 Mill Lane")]
    pub location: Option<String>,
    pub price: Money,
    /// Seats still free now (checked again when enrolling).
    #[schema(example = 3)]
    pub seats_left: i32,
    /// Until when those enrolled may cancel an unpaid seat themselves.
    pub cancellable_until: DateTime<Utc>,
}

impl From<Workshop> for StoreWorkshopResponse {
    fn from(w: Workshop) -> Self {
        let cancellable_until = w.cancellable_until();
        StoreWorkshopResponse {
            id: w.id,
            name: w.name,
            description: w.description,
            category_id: w.category_id,
            starts_at: w.starts_at,
            duration_minutes: w.duration_minutes,
            modality: w.modality,
            location: w.location,
            price: w.price,
            cancellable_until,
            seats_left: w.seats_available,
        }
    }
}

list_query! {
    /// Filters and sort for `GET /store/products`.
    pub struct StoreProductQuery {
        pub category_id: Option<Uuid>,
        /// Case-insensitive text search in name, slug and description.
        #[param(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
        #[validate(length(max = 100), custom(function = crate::http::validation::search_text))]
        pub q: Option<String>,
        #[param(inline)]
        pub sort: Option<ProductSortParam>,
    }
}

list_query! {
    /// Filters for `GET /store/workshops`.
    pub struct StoreWorkshopQuery {
        /// The interest (topic).
        pub category_id: Option<Uuid>,
        #[param(inline)]
        pub modality: Option<Modality>,
        /// `true`: only workshops with a free seat; `false`: only sold-out ones.
        pub has_seats: Option<bool>,
        /// Case-insensitive text search in name and description.
        #[param(max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
        #[validate(length(max = 100), custom(function = crate::http::validation::search_text))]
        pub q: Option<String>,
    }
}

/// List the store's products
///
/// Active products, a page at a time, with their price and whether they are in stock.
#[utoipa::path(
    security(("publishable_key" = [])),
    tag = "storefront",
    params(StoreProductQuery),
    responses((status = 200, description = "A page of products", body = PageOf<StoreProductResponse>))
)]
#[get("/store/products")]
pub async fn list_store_products(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<StoreProductQuery>,
) -> ApiResult<web::Json<PageOf<StoreProductResponse>>> {
    let filter = ProductFilter {
        category_id: query.category_id.map(CategoryId),
        search: search_text(&query.q),
        ..Default::default()
    };
    let sort = query.sort.unwrap_or_default().into();
    let page = storefront::products(&state, filter, sort, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, StoreProductResponse::from)))
}

/// Get a store product
///
/// An active product; an inactive one answers 404 as if it did not exist.
#[utoipa::path(
    security(("publishable_key" = [])),
    tag = "storefront",
    params(("id" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, description = "The product", body = StoreProductResponse),
        (status = 404, description = "`product_not_found`"),
    )
)]
#[get("/store/products/{id}")]
pub async fn get_store_product(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<StoreProductResponse>> {
    Ok(web::Json(storefront::product(&state, ProductId(*id)).await?.into()))
}

/// List the store's categories
///
/// Every category, in creation order; `q` searches name and slug.
#[utoipa::path(
    security(("publishable_key" = [])),
    tag = "storefront",
    params(SearchParams),
    responses((status = 200, description = "A page of categories", body = PageOf<StoreCategoryResponse>))
)]
#[get("/store/categories")]
pub async fn list_store_categories(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<SearchParams>,
) -> ApiResult<web::Json<PageOf<StoreCategoryResponse>>> {
    let page = storefront::categories(&state, query.search(), query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, StoreCategoryResponse::from)))
}

/// List upcoming workshops
///
/// Active workshops that have not started, by start time, with their seats left.
#[utoipa::path(
    security(("publishable_key" = [])),
    tag = "storefront",
    params(StoreWorkshopQuery),
    responses((status = 200, description = "A page of workshops", body = PageOf<StoreWorkshopResponse>))
)]
#[get("/store/workshops")]
pub async fn list_store_workshops(
    _caller: Caller,
    state: web::Data<AppState>,
    Query(query): Query<StoreWorkshopQuery>,
) -> ApiResult<web::Json<PageOf<StoreWorkshopResponse>>> {
    let filter = WorkshopFilter {
        category_id: query.category_id.map(InterestId),
        modality: query.modality,
        has_seats: query.has_seats,
        search: search_text(&query.q),
        ..Default::default()
    };
    let page = storefront::workshops(&state, filter, query.page()).await?;
    Ok(web::Json(PageOf::from_page(page, StoreWorkshopResponse::from)))
}

/// Get an upcoming workshop
///
/// An active workshop that has not started; any other answers 404 as if it did not exist.
#[utoipa::path(
    security(("publishable_key" = [])),
    tag = "storefront",
    params(("id" = Uuid, Path, description = "Workshop id")),
    responses(
        (status = 200, description = "The workshop", body = StoreWorkshopResponse),
        (status = 404, description = "`workshop_not_found`"),
    )
)]
#[get("/store/workshops/{id}")]
pub async fn get_store_workshop(
    _caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<web::Json<StoreWorkshopResponse>> {
    Ok(web::Json(storefront::workshop(&state, WorkshopId(*id)).await?.into()))
}
