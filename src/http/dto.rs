//! Wire types shared by every resource. Each resource's own request and response types live
//! beside its handlers (`v1/<resource>.rs`); domain types are mapped there, and database rows
//! never get this far. Responses of tagged resources go out through `tagged`/`created_tagged`
//! (with their strong `ETag`).

use super::extract::etag;
use crate::domain::access::{Family, Grant, Level, Scope};
use crate::domain::page::Page;
use crate::domain::precondition::Tagged;
use crate::domain::view::Degraded;
use actix_web::http::header::{self, EntityTag};
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

/// A part of the response left out because the calling key cannot read its family: the part is
/// `null` (or absent from a list) and named here with the scope that would show it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Withheld {
    /// The field left out (`client`, `activity.total_paid`, `items.name`), or for lists the kinds
    /// of entries left out (`payment.*` events).
    #[schema(example = "client")]
    pub part: String,
    #[schema(example = "clients:read")]
    pub required_scope: String,
}

/// Decides, part by part, what of another family a response may show the caller, and records
/// what it leaves out.
#[derive(Debug)]
pub struct Disclosure {
    grant: Grant,
    pub withheld: Vec<Withheld>,
}

impl Disclosure {
    pub fn new(grant: Grant) -> Self {
        Disclosure { grant, withheld: Vec::new() }
    }

    /// Whether the caller reads `family`; if not, every one of `parts` is listed as withheld.
    pub fn shows(&mut self, family: Family, parts: &[&str]) -> bool {
        let shown = self.grant.reads(family);
        if !shown {
            parts.iter().for_each(|part| self.withhold(family, part));
        }
        shown
    }

    /// `value` when the caller reads `family`; otherwise `None`, and `part` is listed as withheld.
    pub fn part<T>(&mut self, family: Family, part: &str, value: T) -> Option<T> {
        self.shows(family, &[part]).then_some(value)
    }

    /// Lists `part` as withheld (once).
    pub fn withhold(&mut self, family: Family, part: &str) {
        let entry = Withheld { part: part.to_string(), required_scope: Scope::new(family, Level::Read).to_string() };
        if !self.withheld.contains(&entry) {
            self.withheld.push(entry);
        }
    }
}

/// 201 with the new resource's `Location`.
pub fn created<T: Serialize>(location: String, body: &T) -> HttpResponse {
    HttpResponse::Created().insert_header((header::LOCATION, location)).json(body)
}

/// 200 with the resource as `R` and its strong `ETag`, the tag `If-Match` names.
pub fn tagged<T: Tagged, R: Serialize + From<T>>(resource: T) -> HttpResponse {
    let tag = etag(&resource);
    HttpResponse::Ok().insert_header(header::ETag(tag)).json(R::from(resource))
}

/// 201 with the new resource as `R`, its `Location` and its strong `ETag`.
pub fn created_tagged<T: Tagged, R: Serialize + From<T>>(location: String, resource: T) -> HttpResponse {
    let tag = etag(&resource);
    created_with_tag(location, tag, &R::from(resource))
}

/// 201 with `Location` and `ETag`, for a body that is more than the resource (a webhook
/// endpoint's with its secret shown once).
pub fn created_with_tag<T: Serialize>(location: String, tag: EntityTag, body: &T) -> HttpResponse {
    HttpResponse::Created().insert_header((header::LOCATION, location)).insert_header(header::ETag(tag)).json(body)
}

/// 204 for a delete.
pub fn no_content() -> HttpResponse {
    HttpResponse::NoContent().finish()
}
