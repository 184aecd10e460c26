//! What a storefront may show anyone: active products (whether in stock, never how many), every
//! category, and the active workshops that have not started, with their seats left. The staff
//! catalog's reads, narrowed here so the rule lives in one place.

use super::{catalog, clock, workshops, AppError, AppResult, AppState};
use crate::domain::catalog::{Category, Product, ProductFilter, ProductSort};
use crate::domain::ids::{ProductId, WorkshopId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::workshops::{Workshop, WorkshopFilter};

/// Active products only; the stock-status filter is the staff's.
pub async fn products(
    state: &AppState,
    filter: ProductFilter,
    sort: ProductSort,
    page: PageRequest,
) -> AppResult<Page<Product>> {
    let filter = ProductFilter { active: Some(true), stock_status: None, ..filter };
    catalog::list_products(state, filter, sort, page).await
}

/// An inactive product is as if it did not exist.
pub async fn product(state: &AppState, id: ProductId) -> AppResult<Product> {
    let product = catalog::get_product(state, id).await?;
    if !product.active {
        return Err(AppError::not_found(id));
    }
    Ok(product)
}

pub async fn categories(state: &AppState, search: Option<String>, page: PageRequest) -> AppResult<Page<Category>> {
    catalog::list_categories(state, search, page).await
}

/// Active workshops that have not started, by start time.
pub async fn workshops(state: &AppState, filter: WorkshopFilter, page: PageRequest) -> AppResult<Page<Workshop>> {
    let filter = WorkshopFilter { upcoming: true, active: Some(true), ..filter };
    workshops::list(state, filter, page).await
}

/// An inactive or started workshop is as if it did not exist.
pub async fn workshop(state: &AppState, id: WorkshopId) -> AppResult<Workshop> {
    let workshop = workshops::get(state, id).await?;
    if !workshop.active || workshop.starts_at <= clock::now() {
        return Err(AppError::not_found(id));
    }
    Ok(workshop)
}
