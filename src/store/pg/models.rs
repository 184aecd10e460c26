//! Row, insert and changeset structs per table, and their conversions to and from domain
//! types. Private to the store: repositories take and return domain types only.

use super::parse_text;
use super::schema::{
    categories, client_interests, clients, companies, coupon_redemptions, coupons, enrollments, interests, order_items,
    order_status_history, orders, payment_steps, payments, plans, products, refunds, stock_movements, subscriptions,
    workshops,
};
use crate::domain::catalog::{
    Category, CategoryChanges, MovementKind, Product, ProductChanges, StockMovement, StockStatus,
};
use crate::domain::client::{Client, ClientChanges, ClientKind, Company, CompanyChanges, Interest, InterestChanges};
use crate::domain::client::{Plan, PlanStatus};
use crate::domain::coupons::{Coupon, CouponChanges, CouponKind};
use crate::domain::ids::{ClientId, CompanyId, InterestId};
use crate::domain::money::Money;
use crate::domain::orders::{Order, OrderItem, OrderStatus, PaymentMethod, StatusChange};
use crate::domain::payments::{
    Failure, Payment, PaymentStatus, PlanOffer, Refund, RefundStatus, Step, StepName, StepStatus, Subject, SubjectType,
    Subscription, SubscriptionStatus,
};
use crate::domain::workshops::{Enrollment, EnrollmentStatus, Modality, Workshop, WorkshopChanges};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

// --- Companies, interests, clients --------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = companies, check_for_backend(diesel::pg::Pg))]
pub(super) struct CompanyRow {
    pub id: Uuid,
    pub legal_name: String,
    pub tax_id: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<CompanyRow> for Company {
    fn from(row: CompanyRow) -> Self {
        Company {
            version: row.version,
            id: CompanyId(row.id),
            legal_name: row.legal_name,
            tax_id: row.tax_id,
            address: row.address,
            phone: row.phone,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<&Company> for CompanyRow {
    fn from(c: &Company) -> Self {
        CompanyRow {
            version: c.version,
            id: c.id.0,
            legal_name: c.legal_name.clone(),
            tax_id: c.tax_id.clone(),
            address: c.address.clone(),
            phone: c.phone.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = companies)]
pub(super) struct CompanyChangeset {
    legal_name: Option<String>,
    tax_id: Option<String>,
    address: Option<Option<String>>,
    phone: Option<Option<String>>,
    updated_at: DateTime<Utc>,
}

impl CompanyChangeset {
    pub fn new(changes: &CompanyChanges, now: DateTime<Utc>) -> Self {
        CompanyChangeset {
            legal_name: changes.legal_name.clone(),
            tax_id: changes.tax_id.clone(),
            address: changes.address.clone(),
            phone: changes.phone.clone(),
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Deserialize)]
#[diesel(table_name = interests, check_for_backend(diesel::pg::Pg))]
pub(super) struct InterestRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<InterestRow> for Interest {
    fn from(row: InterestRow) -> Self {
        Interest {
            version: row.version,
            id: InterestId(row.id),
            name: row.name,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<&Interest> for InterestRow {
    fn from(i: &Interest) -> Self {
        InterestRow {
            version: i.version,
            id: i.id.0,
            name: i.name.clone(),
            description: i.description.clone(),
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = interests)]
pub(super) struct InterestChangeset {
    name: Option<String>,
    description: Option<Option<String>>,
    updated_at: DateTime<Utc>,
}

impl InterestChangeset {
    pub fn new(changes: &InterestChanges, now: DateTime<Utc>) -> Self {
        InterestChangeset { name: changes.name.clone(), description: changes.description.clone(), updated_at: now }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = clients, check_for_backend(diesel::pg::Pg))]
pub(super) struct ClientRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub kind: String,
    pub company_id: Option<Uuid>,
    pub plan: String,
    pub plan_status: String,
    pub paid_until: Option<DateTime<Utc>>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ClientRow {
    /// Joins the row with its interest ids.
    pub fn into_client(self, interest_ids: Vec<Uuid>) -> QueryResult<Client> {
        Ok(Client {
            id: ClientId(self.id),
            kind: parse_text("clients.kind", &self.kind, ClientKind::parse)?,
            plan: parse_text("clients.plan", &self.plan, Plan::parse)?,
            plan_status: parse_text("clients.plan_status", &self.plan_status, PlanStatus::parse)?,
            paid_until: self.paid_until,
            name: self.name,
            email: self.email,
            phone: self.phone,
            company_id: self.company_id.map(CompanyId),
            interest_ids: interest_ids.into_iter().map(InterestId).collect(),
            active: self.active,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = clients)]
pub(super) struct NewClientRow<'a> {
    id: Uuid,
    name: &'a str,
    email: &'a str,
    phone: Option<&'a str>,
    kind: &'static str,
    company_id: Option<Uuid>,
    plan: &'static str,
    plan_status: &'static str,
    active: bool,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl<'a> From<&'a Client> for NewClientRow<'a> {
    fn from(c: &'a Client) -> Self {
        NewClientRow {
            id: c.id.0,
            name: &c.name,
            email: &c.email,
            phone: c.phone.as_deref(),
            kind: c.kind.as_str(),
            company_id: c.company_id.map(|id| id.0),
            plan: c.plan.as_str(),
            plan_status: c.plan_status.as_str(),
            active: c.active,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = clients)]
pub(super) struct ClientChangeset {
    name: Option<String>,
    email: Option<String>,
    phone: Option<Option<String>>,
    kind: Option<&'static str>,
    company_id: Option<Option<Uuid>>,
    plan: Option<&'static str>,
    plan_status: Option<&'static str>,
    active: Option<bool>,
    updated_at: DateTime<Utc>,
}

impl ClientChangeset {
    pub fn new(changes: &ClientChanges, now: DateTime<Utc>) -> Self {
        ClientChangeset {
            name: changes.name.clone(),
            email: changes.email.clone(),
            phone: changes.phone.clone(),
            kind: changes.kind.map(ClientKind::as_str),
            company_id: changes.company_id.map(|company| company.map(|id| id.0)),
            plan: changes.plan.map(Plan::as_str),
            plan_status: changes.plan_status.map(PlanStatus::as_str),
            active: changes.active,
            updated_at: now,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = client_interests)]
pub(super) struct NewClientInterest {
    pub client_id: Uuid,
    pub interest_id: Uuid,
}

// --- Catalog ------------------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = categories, check_for_backend(diesel::pg::Pg))]
pub(super) struct CategoryRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<CategoryRow> for Category {
    fn from(row: CategoryRow) -> Self {
        Category {
            version: row.version,
            id: row.id.into(),
            name: row.name,
            slug: row.slug,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<&Category> for CategoryRow {
    fn from(c: &Category) -> Self {
        CategoryRow {
            version: c.version,
            id: c.id.0,
            name: c.name.clone(),
            slug: c.slug.clone(),
            description: c.description.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = categories)]
pub(super) struct CategoryChangeset {
    name: Option<String>,
    slug: Option<String>,
    description: Option<Option<String>>,
    updated_at: DateTime<Utc>,
}

impl CategoryChangeset {
    pub fn new(changes: &CategoryChanges, now: DateTime<Utc>) -> Self {
        CategoryChangeset {
            name: changes.name.clone(),
            slug: changes.slug.clone(),
            description: changes.description.clone(),
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = products, check_for_backend(diesel::pg::Pg))]
pub(super) struct ProductRow {
    pub id: Uuid,
    pub category_id: Option<Uuid>,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub price: Decimal,
    pub stock: i32,
    pub reorder_point: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl From<ProductRow> for Product {
    fn from(row: ProductRow) -> Self {
        Product {
            version: row.version,
            id: row.id.into(),
            category_id: row.category_id.map(Into::into),
            name: row.name,
            slug: row.slug,
            description: row.description,
            price: Money::from_decimal(row.price),
            stock_status: StockStatus::of(row.stock, row.reorder_point),
            stock: row.stock,
            reorder_point: row.reorder_point,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<&Product> for ProductRow {
    fn from(p: &Product) -> Self {
        ProductRow {
            version: p.version,
            id: p.id.0,
            category_id: p.category_id.map(|id| id.0),
            name: p.name.clone(),
            slug: p.slug.clone(),
            description: p.description.clone(),
            price: p.price.amount(),
            stock: p.stock,
            reorder_point: p.reorder_point,
            active: p.active,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Stock never changes through a changeset: only movements change it.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = products)]
pub(super) struct ProductChangeset {
    category_id: Option<Option<Uuid>>,
    name: Option<String>,
    slug: Option<String>,
    description: Option<Option<String>>,
    price: Option<Decimal>,
    reorder_point: Option<i32>,
    active: Option<bool>,
    updated_at: DateTime<Utc>,
}

impl ProductChangeset {
    pub fn new(changes: &ProductChanges, now: DateTime<Utc>) -> Self {
        ProductChangeset {
            category_id: changes.category_id.map(|category| category.map(|id| id.0)),
            name: changes.name.clone(),
            slug: changes.slug.clone(),
            description: changes.description.clone(),
            price: changes.price.map(Money::amount),
            reorder_point: changes.reorder_point,
            active: changes.active,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = stock_movements, check_for_backend(diesel::pg::Pg))]
pub(super) struct StockMovementRow {
    pub id: Uuid,
    pub product_id: Uuid,
    pub kind: String,
    pub quantity: i32,
    pub delta: i32,
    pub resulting_stock: i32,
    pub reason: String,
    pub order_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl StockMovementRow {
    pub fn into_domain(self) -> QueryResult<StockMovement> {
        Ok(StockMovement {
            id: self.id.into(),
            product_id: self.product_id.into(),
            kind: parse_text("stock_movements.kind", &self.kind, MovementKind::parse)?,
            quantity: self.quantity,
            delta: self.delta,
            resulting_stock: self.resulting_stock,
            reason: self.reason,
            order_id: self.order_id.map(Into::into),
            created_at: self.created_at,
        })
    }
}

impl From<&StockMovement> for StockMovementRow {
    fn from(m: &StockMovement) -> Self {
        StockMovementRow {
            id: m.id.0,
            product_id: m.product_id.0,
            kind: m.kind.as_str().to_string(),
            quantity: m.quantity,
            delta: m.delta,
            resulting_stock: m.resulting_stock,
            reason: m.reason.clone(),
            order_id: m.order_id.map(|id| id.0),
            created_at: m.created_at,
        }
    }
}

// --- Coupons and orders -------------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = coupons, check_for_backend(diesel::pg::Pg))]
pub(super) struct CouponRow {
    pub id: Uuid,
    pub code: String,
    pub description: Option<String>,
    pub kind: String,
    pub value: Decimal,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub min_order_amount: Decimal,
    pub max_redemptions: Option<i32>,
    pub redemptions: i32,
    pub once_per_client: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl CouponRow {
    pub fn into_domain(self) -> QueryResult<Coupon> {
        Ok(Coupon {
            version: self.version,
            id: self.id.into(),
            kind: parse_text("coupons.kind", &self.kind, CouponKind::parse)?,
            code: self.code,
            description: self.description,
            value: Money::from_decimal(self.value),
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            min_order_amount: Money::from_decimal(self.min_order_amount),
            max_redemptions: self.max_redemptions,
            redemptions: self.redemptions,
            once_per_client: self.once_per_client,
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl From<&Coupon> for CouponRow {
    fn from(c: &Coupon) -> Self {
        CouponRow {
            version: c.version,
            id: c.id.0,
            code: c.code.clone(),
            description: c.description.clone(),
            kind: c.kind.as_str().to_string(),
            value: c.value.amount(),
            valid_from: c.valid_from,
            valid_until: c.valid_until,
            min_order_amount: c.min_order_amount.amount(),
            max_redemptions: c.max_redemptions,
            redemptions: c.redemptions,
            once_per_client: c.once_per_client,
            active: c.active,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = coupons)]
pub(super) struct CouponChangeset {
    description: Option<Option<String>>,
    kind: Option<&'static str>,
    value: Option<Decimal>,
    valid_from: Option<Option<DateTime<Utc>>>,
    valid_until: Option<Option<DateTime<Utc>>>,
    min_order_amount: Option<Decimal>,
    max_redemptions: Option<Option<i32>>,
    once_per_client: Option<bool>,
    active: Option<bool>,
    updated_at: DateTime<Utc>,
}

impl CouponChangeset {
    pub fn new(changes: &CouponChanges, now: DateTime<Utc>) -> Self {
        CouponChangeset {
            description: changes.description.clone(),
            kind: changes.kind.map(CouponKind::as_str),
            value: changes.value.map(Money::amount),
            valid_from: changes.valid_from,
            valid_until: changes.valid_until,
            min_order_amount: changes.min_order_amount.map(Money::amount),
            max_redemptions: changes.max_redemptions,
            once_per_client: changes.once_per_client,
            active: changes.active,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders, check_for_backend(diesel::pg::Pg))]
pub(super) struct OrderRow {
    pub id: Uuid,
    pub client_id: Uuid,
    pub status: String,
    pub shipping_address: String,
    pub payment_method: String,
    pub coupon_id: Option<Uuid>,
    pub coupon_code: Option<String>,
    pub subtotal: Decimal,
    pub discount: Decimal,
    pub total: Decimal,
    pub amount_paid: Decimal,
    pub amount_refunded: Decimal,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_items, check_for_backend(diesel::pg::Pg))]
pub(super) struct OrderItemRow {
    pub order_id: Uuid,
    pub product_id: Uuid,
    pub product_name: String,
    pub product_slug: String,
    pub unit_price: Decimal,
    pub quantity: i32,
    pub line_total: Decimal,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_status_history, check_for_backend(diesel::pg::Pg))]
pub(super) struct StatusChangeRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    pub changed_at: DateTime<Utc>,
}

impl StatusChangeRow {
    pub fn new(order_id: Uuid, change: &StatusChange) -> Self {
        StatusChangeRow {
            id: change.id.0,
            order_id,
            from_status: change.from.map(|s| s.as_str().to_string()),
            to_status: change.to.as_str().to_string(),
            note: change.note.clone(),
            changed_at: change.changed_at,
        }
    }

    fn into_domain(self) -> QueryResult<StatusChange> {
        Ok(StatusChange {
            id: self.id.into(),
            from: match self.from_status.as_deref() {
                Some(text) => Some(parse_text("order_status_history.from_status", text, OrderStatus::parse)?),
                None => None,
            },
            to: parse_text("order_status_history.to_status", &self.to_status, OrderStatus::parse)?,
            note: self.note,
            changed_at: self.changed_at,
        })
    }
}

impl OrderRow {
    pub fn new(order: &Order, coupon_id: Option<Uuid>) -> Self {
        OrderRow {
            id: order.id.0,
            client_id: order.client_id.0,
            status: order.status.as_str().to_string(),
            shipping_address: order.shipping_address.clone(),
            payment_method: order.payment_method.as_str().to_string(),
            coupon_id,
            coupon_code: order.coupon_code.clone(),
            subtotal: order.subtotal.amount(),
            discount: order.discount.amount(),
            total: order.total.amount(),
            amount_paid: order.amount_paid.amount(),
            amount_refunded: order.amount_refunded.amount(),
            version: order.version,
            created_at: order.created_at,
            updated_at: order.updated_at,
        }
    }

    /// The order with its items and history (rows of this order only).
    pub fn into_domain(self, items: Vec<OrderItemRow>, history: Vec<StatusChangeRow>) -> QueryResult<Order> {
        let status = parse_text("orders.status", &self.status, OrderStatus::parse)?;
        Ok(Order {
            id: self.id.into(),
            client_id: self.client_id.into(),
            allowed_transitions: status.next().to_vec(),
            status,
            shipping_address: self.shipping_address,
            payment_method: parse_text("orders.payment_method", &self.payment_method, PaymentMethod::parse)?,
            coupon_code: self.coupon_code,
            subtotal: Money::from_decimal(self.subtotal),
            discount: Money::from_decimal(self.discount),
            total: Money::from_decimal(self.total),
            amount_paid: Money::from_decimal(self.amount_paid),
            amount_refunded: Money::from_decimal(self.amount_refunded),
            items: items.into_iter().map(OrderItemRow::into_domain).collect(),
            status_history: history.into_iter().map(StatusChangeRow::into_domain).collect::<QueryResult<_>>()?,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl OrderItemRow {
    pub fn into_domain(self) -> OrderItem {
        OrderItem {
            product_id: self.product_id.into(),
            product_name: self.product_name,
            product_slug: self.product_slug,
            unit_price: Money::from_decimal(self.unit_price),
            quantity: self.quantity,
            line_total: Money::from_decimal(self.line_total),
        }
    }

    pub fn new(order_id: Uuid, item: &OrderItem) -> Self {
        OrderItemRow {
            order_id,
            product_id: item.product_id.0,
            product_name: item.product_name.clone(),
            product_slug: item.product_slug.clone(),
            unit_price: item.unit_price.amount(),
            quantity: item.quantity,
            line_total: item.line_total.amount(),
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = coupon_redemptions)]
pub(super) struct NewRedemption {
    pub order_id: Uuid,
    pub coupon_id: Uuid,
    pub client_id: Uuid,
    pub once_per_client: bool,
    pub created_at: DateTime<Utc>,
}

// --- Workshops and enrollments ------------------------------------------------------------

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = workshops, check_for_backend(diesel::pg::Pg))]
pub(super) struct WorkshopRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub category_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub duration_minutes: i32,
    pub modality: String,
    pub location: Option<String>,
    pub link: Option<String>,
    pub price: Decimal,
    pub capacity: i32,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl WorkshopRow {
    /// The workshop with `seats_taken` live enrollments holding seats.
    pub fn into_domain(self, seats_taken: i64) -> QueryResult<Workshop> {
        let seats_taken = i32::try_from(seats_taken).unwrap_or(i32::MAX);
        Ok(Workshop {
            version: self.version,
            id: self.id.into(),
            modality: parse_text("workshops.modality", &self.modality, Modality::parse)?,
            name: self.name,
            description: self.description,
            category_id: self.category_id.into(),
            starts_at: self.starts_at,
            duration_minutes: self.duration_minutes,
            location: self.location,
            link: self.link,
            price: Money::from_decimal(self.price),
            capacity: self.capacity,
            seats_taken,
            seats_available: self.capacity - seats_taken,
            active: self.active,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl From<&Workshop> for WorkshopRow {
    fn from(w: &Workshop) -> Self {
        WorkshopRow {
            version: w.version,
            id: w.id.0,
            name: w.name.clone(),
            description: w.description.clone(),
            category_id: w.category_id.0,
            starts_at: w.starts_at,
            duration_minutes: w.duration_minutes,
            modality: w.modality.as_str().to_string(),
            location: w.location.clone(),
            link: w.link.clone(),
            price: w.price.amount(),
            capacity: w.capacity,
            active: w.active,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = workshops)]
pub(super) struct WorkshopChangeset {
    name: Option<String>,
    description: Option<Option<String>>,
    category_id: Option<Uuid>,
    starts_at: Option<DateTime<Utc>>,
    duration_minutes: Option<i32>,
    modality: Option<&'static str>,
    location: Option<Option<String>>,
    link: Option<Option<String>>,
    price: Option<Decimal>,
    capacity: Option<i32>,
    active: Option<bool>,
    updated_at: DateTime<Utc>,
}

impl WorkshopChangeset {
    pub fn new(changes: &WorkshopChanges, now: DateTime<Utc>) -> Self {
        WorkshopChangeset {
            name: changes.name.clone(),
            description: changes.description.clone(),
            category_id: changes.category_id.map(|id| id.0),
            starts_at: changes.starts_at,
            duration_minutes: changes.duration_minutes,
            modality: changes.modality.map(Modality::as_str),
            location: changes.location.clone(),
            link: changes.link.clone(),
            price: changes.price.map(Money::amount),
            capacity: changes.capacity,
            active: changes.active,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = enrollments, check_for_backend(diesel::pg::Pg))]
pub(super) struct EnrollmentRow {
    pub id: Uuid,
    pub workshop_id: Uuid,
    pub client_id: Uuid,
    pub status: String,
    pub price: Decimal,
    pub amount_paid: Decimal,
    pub amount_refunded: Decimal,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl EnrollmentRow {
    pub fn into_domain(self) -> QueryResult<Enrollment> {
        let status = parse_text("enrollments.status", &self.status, EnrollmentStatus::parse)?;
        let (price, paid) = (Money::from_decimal(self.price), Money::from_decimal(self.amount_paid));
        let refunded = Money::from_decimal(self.amount_refunded);
        Ok(Enrollment {
            id: self.id.into(),
            workshop_id: self.workshop_id.into(),
            client_id: self.client_id.into(),
            balance: if status == EnrollmentStatus::Cancelled {
                Money::ZERO
            } else {
                price.saturating_sub(refunded).saturating_sub(paid)
            },
            status,
            price,
            amount_paid: paid,
            amount_refunded: refunded,
            created_at: self.created_at,
            updated_at: self.updated_at,
            cancelled_at: self.cancelled_at,
        })
    }
}

impl From<&Enrollment> for EnrollmentRow {
    fn from(e: &Enrollment) -> Self {
        EnrollmentRow {
            id: e.id.0,
            workshop_id: e.workshop_id.0,
            client_id: e.client_id.0,
            status: e.status.as_str().to_string(),
            price: e.price.amount(),
            amount_paid: e.amount_paid.amount(),
            amount_refunded: e.amount_refunded.amount(),
            created_at: e.created_at,
            updated_at: e.updated_at,
            cancelled_at: e.cancelled_at,
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payments, check_for_backend(diesel::pg::Pg))]
pub(super) struct PaymentRow {
    pub id: Uuid,
    pub subject_type: String,
    pub order_id: Option<Uuid>,
    pub enrollment_id: Option<Uuid>,
    pub subscription_id: Option<Uuid>,
    pub client_id: Uuid,
    pub amount: Decimal,
    pub amount_refunded: Decimal,
    pub method: String,
    pub token: Option<String>,
    pub description: Option<String>,
    pub status: String,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub gateway_reference: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl PaymentRow {
    pub fn new(p: &Payment, lease_until: Option<DateTime<Utc>>) -> Self {
        let id = |kind: SubjectType| (p.subject.kind() == kind).then(|| p.subject.id());
        PaymentRow {
            id: p.id.0,
            subject_type: p.subject.kind().as_str().to_string(),
            order_id: id(SubjectType::Order),
            enrollment_id: id(SubjectType::Enrollment),
            subscription_id: id(SubjectType::Subscription),
            client_id: p.client_id.0,
            amount: p.amount.amount(),
            amount_refunded: p.amount_refunded.amount(),
            method: p.method.as_str().to_string(),
            token: p.token.clone(),
            description: p.description.clone(),
            status: p.status.as_str().to_string(),
            failure_code: p.failure.as_ref().map(|f| f.code.clone()),
            failure_message: p.failure.as_ref().map(|f| f.message.clone()),
            gateway_reference: p.gateway_reference.clone(),
            lease_until,
            created_at: p.created_at,
            updated_at: p.updated_at,
            completed_at: p.completed_at,
        }
    }

    pub fn into_domain(self, steps: Vec<Step>) -> QueryResult<Payment> {
        let kind = parse_text("payments.subject_type", &self.subject_type, SubjectType::parse)?;
        let subject_id = self.order_id.or(self.enrollment_id).or(self.subscription_id).ok_or_else(|| {
            diesel::result::Error::DeserializationError(format!("payment {} names no subject", self.id).into())
        })?;
        Ok(Payment {
            id: self.id.into(),
            subject: Subject::new(kind, subject_id),
            client_id: self.client_id.into(),
            amount: Money::from_decimal(self.amount),
            amount_refunded: Money::from_decimal(self.amount_refunded),
            method: parse_text("payments.method", &self.method, PaymentMethod::parse)?,
            token: self.token,
            description: self.description,
            status: parse_text("payments.status", &self.status, PaymentStatus::parse)?,
            failure: failure(self.failure_code, self.failure_message),
            gateway_reference: self.gateway_reference,
            created_at: self.created_at,
            updated_at: self.updated_at,
            completed_at: self.completed_at,
            steps,
        })
    }
}

fn failure(code: Option<String>, message: Option<String>) -> Option<Failure> {
    code.map(|code| Failure { message: message.unwrap_or_else(|| code.clone()), code })
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = payment_steps, check_for_backend(diesel::pg::Pg))]
pub(super) struct StepRow {
    pub payment_id: Uuid,
    pub step: String,
    pub status: String,
    pub attempts: i32,
    pub error: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl StepRow {
    pub fn new(payment_id: Uuid, step: &Step) -> Self {
        StepRow {
            payment_id,
            step: step.name.as_str().to_string(),
            status: step.status.as_str().to_string(),
            attempts: step.attempts,
            error: step.error.clone(),
            started_at: step.started_at,
            finished_at: step.finished_at,
        }
    }

    pub fn into_domain(self) -> QueryResult<Step> {
        Ok(Step {
            name: parse_text("payment_steps.step", &self.step, StepName::parse)?,
            status: parse_text("payment_steps.status", &self.status, StepStatus::parse)?,
            attempts: self.attempts,
            error: self.error,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refunds, check_for_backend(diesel::pg::Pg))]
pub(super) struct RefundRow {
    pub id: Uuid,
    pub payment_id: Uuid,
    pub amount: Decimal,
    pub reason: String,
    pub automatic: bool,
    pub status: String,
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
    pub gateway_reference: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

impl RefundRow {
    pub fn new(r: &Refund, lease_until: Option<DateTime<Utc>>) -> Self {
        RefundRow {
            id: r.id.0,
            payment_id: r.payment_id.0,
            amount: r.amount.amount(),
            reason: r.reason.clone(),
            automatic: r.automatic,
            status: r.status.as_str().to_string(),
            failure_code: r.failure.as_ref().map(|f| f.code.clone()),
            failure_message: r.failure.as_ref().map(|f| f.message.clone()),
            gateway_reference: r.gateway_reference.clone(),
            lease_until,
            created_at: r.created_at,
            updated_at: r.updated_at,
            completed_at: r.completed_at,
        }
    }

    pub fn into_domain(self) -> QueryResult<Refund> {
        Ok(Refund {
            id: self.id.into(),
            payment_id: self.payment_id.into(),
            amount: Money::from_decimal(self.amount),
            reason: self.reason,
            automatic: self.automatic,
            status: parse_text("refunds.status", &self.status, RefundStatus::parse)?,
            failure: failure(self.failure_code, self.failure_message),
            gateway_reference: self.gateway_reference,
            created_at: self.created_at,
            updated_at: self.updated_at,
            completed_at: self.completed_at,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = plans, check_for_backend(diesel::pg::Pg))]
pub(super) struct PlanRow {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub monthly_price: Decimal,
}

impl PlanRow {
    pub fn into_domain(self) -> QueryResult<PlanOffer> {
        Ok(PlanOffer {
            code: parse_text("plans.code", &self.code, Plan::parse)?,
            name: self.name,
            description: self.description,
            monthly_price: Money::from_decimal(self.monthly_price),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = subscriptions, check_for_backend(diesel::pg::Pg))]
pub(super) struct SubscriptionRow {
    pub id: Uuid,
    pub client_id: Uuid,
    pub plan: String,
    pub months: i32,
    pub monthly_price: Decimal,
    pub amount: Decimal,
    pub amount_paid: Decimal,
    pub amount_refunded: Decimal,
    pub status: String,
    pub paid_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl SubscriptionRow {
    pub fn into_domain(self) -> QueryResult<Subscription> {
        Ok(Subscription {
            id: self.id.into(),
            client_id: self.client_id.into(),
            plan: parse_text("subscriptions.plan", &self.plan, Plan::parse)?,
            months: self.months,
            monthly_price: Money::from_decimal(self.monthly_price),
            amount: Money::from_decimal(self.amount),
            amount_paid: Money::from_decimal(self.amount_paid),
            amount_refunded: Money::from_decimal(self.amount_refunded),
            status: parse_text("subscriptions.status", &self.status, SubscriptionStatus::parse)?,
            paid_until: self.paid_until,
            created_at: self.created_at,
            updated_at: self.updated_at,
            cancelled_at: self.cancelled_at,
        })
    }
}

impl From<&Subscription> for SubscriptionRow {
    fn from(s: &Subscription) -> Self {
        SubscriptionRow {
            id: s.id.0,
            client_id: s.client_id.0,
            plan: s.plan.as_str().to_string(),
            months: s.months,
            monthly_price: s.monthly_price.amount(),
            amount: s.amount.amount(),
            amount_paid: s.amount_paid.amount(),
            amount_refunded: s.amount_refunded.amount(),
            status: s.status.as_str().to_string(),
            paid_until: s.paid_until,
            created_at: s.created_at,
            updated_at: s.updated_at,
            cancelled_at: s.cancelled_at,
        }
    }
}
