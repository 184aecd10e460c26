//! `/api/v1/coupons`

use crate::app::{coupons, AppState};
use crate::domain::coupons::{Coupon, CouponChanges, CouponKind, CouponTerms, NewCoupon};
use crate::domain::ids::{CouponId, Located};
use crate::domain::money::Money;
use crate::domain::time::Timestamp;
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
use validator::{Validate, ValidationError};

fn coupon_code(code: &str) -> Result<(), ValidationError> {
    let shaped =
        (3..=40).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if shaped {
        Ok(())
    } else {
        Err(ValidationError::new("code").with_message("must be 3 to 40 letters, digits, '-' or '_'".into()))
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CouponRequest {
    /// 3 to 40 letters, digits, `-` or `_`; unique regardless of case.
    #[validate(custom(function = coupon_code))]
    #[schema(pattern = r"^[A-Za-z0-9_-]{3,40}$", example = "SPRING10")]
    pub code: String,
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    pub kind: CouponKind,
    /// Percent off (more than 0, at most 100) or amount off (more than 0).
    #[validate(custom(function = crate::http::validation::price))]
    #[schema(example = "10")]
    pub value: Money,
    pub valid_from: Option<Timestamp>,
    /// Exclusive end; after `valid_from` when both are set.
    pub valid_until: Option<Timestamp>,
    /// Default 0.
    #[validate(custom(function = crate::http::validation::amount))]
    pub min_order_amount: Option<Money>,
    /// `null` or absent: unlimited.
    #[validate(range(min = 1, max = 100_000_000))]
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub max_redemptions: Option<i32>,
    /// Default `false`.
    pub once_per_client: Option<bool>,
    /// Default `true`.
    pub active: Option<bool>,
}

impl From<CouponRequest> for NewCoupon {
    fn from(r: CouponRequest) -> Self {
        let terms = CouponTerms {
            kind: r.kind,
            value: r.value,
            active: r.active.unwrap_or(true),
            valid_from: r.valid_from.map(Timestamp::get),
            valid_until: r.valid_until.map(Timestamp::get),
            min_order_amount: r.min_order_amount.unwrap_or(Money::ZERO),
        };
        NewCoupon {
            code: r.code,
            description: r.description,
            terms,
            max_redemptions: r.max_redemptions,
            once_per_client: r.once_per_client.unwrap_or(false),
        }
    }
}

/// Only the fields present change; `null` clears the nullable ones. The code cannot change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, Validate)]
#[serde(deny_unknown_fields)]
pub struct CouponPatchRequest {
    #[serde(default, deserialize_with = "double_option")]
    #[validate(length(max = 500))]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<String>>,
    pub kind: Option<CouponKind>,
    #[validate(custom(function = crate::http::validation::price))]
    pub value: Option<Money>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Timestamp>)]
    pub valid_from: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Timestamp>)]
    pub valid_until: Option<Option<Timestamp>>,
    #[validate(custom(function = crate::http::validation::amount))]
    pub min_order_amount: Option<Money>,
    #[serde(default, deserialize_with = "double_option")]
    #[validate(range(min = 1, max = 100_000_000))]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 100_000_000)]
    pub max_redemptions: Option<Option<i32>>,
    pub once_per_client: Option<bool>,
    pub active: Option<bool>,
}

impl From<CouponPatchRequest> for CouponChanges {
    fn from(r: CouponPatchRequest) -> Self {
        CouponChanges {
            description: r.description,
            kind: r.kind,
            value: r.value,
            valid_from: r.valid_from.map(|at| at.map(Timestamp::get)),
            valid_until: r.valid_until.map(|at| at.map(Timestamp::get)),
            min_order_amount: r.min_order_amount,
            max_redemptions: r.max_redemptions,
            once_per_client: r.once_per_client,
            active: r.active,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CouponResponse {
    pub id: CouponId,
    /// Unique regardless of case; clients type it at checkout.
    #[schema(example = "SPRING10")]
    pub code: String,
    pub description: Option<String>,
    pub kind: CouponKind,
    /// Percent off (up to 100) for `percentage`, amount off for `fixed_amount`.
    #[schema(example = "10.00")]
    pub value: Money,
    pub valid_from: Option<DateTime<Utc>>,
    /// Exclusive: the coupon stops working at this instant.
    pub valid_until: Option<DateTime<Utc>>,
    /// The subtotal an order needs for the coupon to apply.
    pub min_order_amount: Money,
    /// `null`: unlimited.
    pub max_redemptions: Option<i32>,
    /// Orders currently holding a redemption (cancelling an order gives its redemption back).
    pub redemptions: i32,
    pub once_per_client: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Coupon> for CouponResponse {
    fn from(c: Coupon) -> Self {
        let terms = c.terms;
        CouponResponse {
            id: c.id,
            code: c.code,
            description: c.description,
            kind: terms.kind,
            value: terms.value,
            valid_from: terms.valid_from,
            valid_until: terms.valid_until,
            min_order_amount: terms.min_order_amount,
            max_redemptions: c.max_redemptions,
            redemptions: c.redemptions,
            once_per_client: c.once_per_client,
            active: terms.active,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

crud_endpoints! {
    tag: "coupons", read: "orders:read", write: "orders:write",
    collection: "/coupons", item: "/coupons/{id}", id: CouponId, id_doc: "Coupon id",
    not_found: "`coupon_not_found`", request: CouponRequest, patch: CouponPatchRequest, response: CouponResponse,
    create: create_coupon = coupons::create, [
        "Create a coupon",
        "A percentage (at most 100) or a fixed amount off, with an optional validity window, minimum\norder amount, maximum number of redemptions and once-per-client rule.",
        "Coupon created", "URL of the new coupon", "`code_taken` (codes are unique regardless of case)",
    ],
    list: list_coupons = coupons::list, ["List coupons", "Coupons in creation order, a page at a time; `q` searches code and description.", "A page of coupons"],
    get: get_coupon = coupons::get, ["Get a coupon", "The coupon with the number of orders that hold a redemption of it.", "The coupon"],
    update: update_coupon = coupons::update, [
        "Update a coupon",
        "Changes only the fields sent (the code cannot change). Orders placed after the update see the\nnew terms; an update waits for orders that are redeeming the coupon at that moment.",
        "The updated coupon", "`max_redemptions_below_used`",
    ],
    delete: delete_coupon = coupons::delete, [
        "Delete a coupon",
        "Coupons that orders used are kept for those orders (409 `coupon_in_use`): deactivate them.",
        "`coupon_in_use`: orders used it (deactivate it instead)",
    ],
}
