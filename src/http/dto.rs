//! Wire types shared by every resource. Each resource's own request and response types live
//! beside its handlers (`v1/<resource>.rs`); domain types are mapped there, and database rows
//! never get this far.

use crate::domain::page::Page;
use crate::domain::view::Degraded;
use actix_web::http::header;
use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// One page of a list. Pass `next_cursor` as `cursor` to get the next page; `null` means last.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageOf<T: ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> PageOf<T> {
    pub fn from_page<D>(page: Page<D>, map: impl FnMut(D) -> T) -> Self {
        PageOf { items: page.items.into_iter().map(map).collect(), next_cursor: page.next_cursor }
    }
}

/// Present when part of the answer could not be read; names the missing parts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DegradedResponse {
    #[schema(example = json!(["info"]))]
    pub missing: Vec<String>,
    #[schema(example = "MongoDB is unavailable")]
    pub reason: String,
}

impl From<Degraded> for DegradedResponse {
    fn from(d: Degraded) -> Self {
        DegradedResponse { missing: d.missing.into_iter().map(str::to_string).collect(), reason: d.reason }
    }
}

/// 201 with the new resource's `Location`.
pub fn created<T: Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created().insert_header((header::LOCATION, location)).json(body)
}

/// 204 for a delete.
pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
