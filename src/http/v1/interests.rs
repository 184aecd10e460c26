//! `/api/v1/interests`

use crate::app::{interests, AppState};
use crate::domain::ids::{InterestId, Located};
use crate::domain::interests::{Interest, InterestChanges, NewInterest};
use crate::http::access::Caller;
use crate::http::crud::crud_endpoints;
use crate::http::dto::PageOf;
use crate::http::extract::{IfMatch, JsonBody, Query, SearchParams};
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
pub struct InterestRequest {
    /// Unique regardless of case.
    #[validate(length(min = 1, max = 100), custom(function = crate::http::validation::not_blank))]
    #[schema(
        pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$",
        min_length = 1,
        max_length = 100,
        example = "Woodworking"
    )]
    pub name: String,
    #[validate(length(max = 1000))]
    #[schema(max_length = 1000, example = "Hand tools, joinery and finishing")]
    pub description: Option<String>,
}

impl From<InterestRequest> for NewInterest {
    fn from(r: InterestRequest) -> Self {
        NewInterest { name: r.name, description: r.description }
    }
}

/// Only the fields present change; `null` clears `description`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct InterestPatchRequest {
    #[validate(length(min = 1, max = 100), custom(function = crate::http::validation::not_blank))]
    #[schema(pattern = r"^[^\u0000]*[^\s\u0000][^\u0000]*$", min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 1000))]
    #[schema(value_type = Option<String>, max_length = 1000)]
    pub description: Option<Option<String>>,
}

impl From<InterestPatchRequest> for InterestChanges {
    fn from(r: InterestPatchRequest) -> Self {
        InterestChanges { name: r.name, description: r.description }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestResponse {
    pub id: Uuid,
    #[schema(example = "Woodworking")]
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Interest> for InterestResponse {
    fn from(i: Interest) -> Self {
        InterestResponse {
            id: i.id.0,
            name: i.name,
            description: i.description,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

crud_endpoints! {
    tag: "interests", read: "clients:read", write: "clients:write",
    collection: "/interests", item: "/interests/{id}", id: InterestId, id_doc: "Interest id",
    not_found: "`interest_not_found`", request: InterestRequest, patch: InterestPatchRequest, response: InterestResponse,
    create: create_interest = interests::create, [
        "Create an interest",
        "A topic clients care about; workshops belong to one. Names are unique regardless of case.",
        "Interest created", "URL of the new interest", "`name_taken`",
    ],
    list: list_interests = interests::list, ["List interests", "Interests in creation order, a page at a time; `q` searches the name.", "A page of interests"],
    get: get_interest = interests::get, ["Get an interest", "The interest with its description.", "The interest"],
    update: update_interest = interests::update, [
        "Update an interest",
        "Changes only the fields sent; `null` clears `description`.",
        "The updated interest", "`name_taken`",
    ],
    delete: delete_interest = interests::delete, [
        "Delete an interest",
        "Refused while clients have the interest or workshops belong to it (409 `interest_in_use`).",
        "`interest_in_use`: clients or workshops still use it",
    ],
}
