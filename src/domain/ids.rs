//! Typed ids: a `ClientId` can never be passed where a `CompanyId` is expected.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A kind of resource, named the way errors name it (`client_not_found`).
pub trait Resource: std::fmt::Display {
    const NAME: &'static str;
}

macro_rules! typed_id {
    ($($name:ident => $resource:literal),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// New ids are UUIDv7: time-ordered, so the primary key doubles as a creation order.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Uuid)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl Resource for $name {
            const NAME: &'static str = $resource;
        }
    )*};
}

typed_id!(
    ClientId => "client",
    CompanyId => "company",
    InterestId => "interest",
    CommentId => "comment",
    CategoryId => "category",
    ProductId => "product",
    StockMovementId => "stock_movement",
    CouponId => "coupon",
    OrderId => "order",
    StatusChangeId => "status_change",
    WorkshopId => "workshop",
    EnrollmentId => "enrollment",
    PaymentId => "payment",
    RefundId => "refund",
    SubscriptionId => "subscription",
    EventId => "event",
    WebhookEndpointId => "webhook_endpoint",
    DeliveryId => "delivery",
    NotificationId => "notification",
    ApiKeyId => "api_key",
    AuditEntryId => "audit_entry",
    UserId => "user",
    SessionId => "session",
    AccountId => "customer_account",
);

/// Where the API is mounted. Every resource URL is built from it by `Located` and `Nested`, the
/// one place each is written: `Location` headers and idempotency recovery points alike.
pub const API_BASE: &str = "/api/v1";

/// A resource with a URL of its own: `/api/v1/<collection>/<id>`.
pub trait Located: std::fmt::Display {
    const COLLECTION: &'static str;

    fn path(&self) -> String {
        format!("{API_BASE}/{}/{self}", Self::COLLECTION)
    }
}

/// Where a signed-in customer reaches one of their own records: `/api/v1/store/me/<collection>[/<id>]`
/// (`Location` of what they create, and the recovery point of their retried requests).
pub fn own_path(collection: &str, id: Option<&dyn std::fmt::Display>) -> String {
    match id {
        Some(id) => format!("{API_BASE}/store/me/{collection}/{id}"),
        None => format!("{API_BASE}/store/me/{collection}"),
    }
}

/// A resource whose URL is under its parent's: `<parent's path>/<collection>/<id>`.
pub trait Nested: std::fmt::Display {
    type Parent: Located;
    const COLLECTION: &'static str;

    fn path(&self, parent: Self::Parent) -> String {
        format!("{}/{}/{self}", parent.path(), Self::COLLECTION)
    }
}

macro_rules! located {
    ($($name:ident => $collection:literal),* $(,)?) => {
        $(
            impl Located for $name {
                const COLLECTION: &'static str = $collection;
            }
        )*
        /// Every `Located` collection (a test finds each `/api/v1/<collection>/{id}` in the spec).
        pub const COLLECTIONS: &[&str] = &[$($collection),*];
    };
}

located!(
    ClientId => "clients",
    CompanyId => "companies",
    InterestId => "interests",
    CategoryId => "categories",
    ProductId => "products",
    CouponId => "coupons",
    OrderId => "orders",
    WorkshopId => "workshops",
    EnrollmentId => "enrollments",
    PaymentId => "payments",
    SubscriptionId => "subscriptions",
    EventId => "events",
    WebhookEndpointId => "webhook-endpoints",
    NotificationId => "notifications",
    ApiKeyId => "api-keys",
    AuditEntryId => "audit-log",
    UserId => "users",
);

macro_rules! nested {
    ($($name:ident => $parent:ident / $collection:literal),* $(,)?) => {$(
        impl Nested for $name {
            type Parent = $parent;
            const COLLECTION: &'static str = $collection;
        }
    )*};
}

nested!(
    RefundId => PaymentId / "refunds",
    CommentId => ClientId / "comments",
    DeliveryId => WebhookEndpointId / "deliveries",
);
