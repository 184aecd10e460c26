//! Row, insert and changeset structs per table. Rows never leave the store/app boundary as
//! responses: they become domain types first.

use super::schema::{client_interests, clients, companies, interests};
use crate::domain::client::{Client, ClientKind, Company, Interest, Plan, PlanStatus};
use crate::domain::ids::{ClientId, CompanyId, InterestId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Deserialize)]
#[diesel(table_name = companies, check_for_backend(diesel::pg::Pg))]
pub struct CompanyRow {
    pub id: Uuid,
    pub legal_name: String,
    pub tax_id: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<CompanyRow> for Company {
    fn from(row: CompanyRow) -> Self {
        Company {
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

#[derive(Debug, Insertable)]
#[diesel(table_name = companies)]
pub struct NewCompany<'a> {
    pub id: Uuid,
    pub legal_name: &'a str,
    pub tax_id: &'a str,
    pub address: Option<&'a str>,
    pub phone: Option<&'a str>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = companies)]
pub struct CompanyChangeset {
    pub legal_name: Option<String>,
    pub tax_id: Option<String>,
    pub address: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Deserialize)]
#[diesel(table_name = interests, check_for_backend(diesel::pg::Pg))]
pub struct InterestRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<InterestRow> for Interest {
    fn from(row: InterestRow) -> Self {
        Interest {
            id: InterestId(row.id),
            name: row.name,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = interests)]
pub struct NewInterest<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub description: Option<&'a str>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = interests)]
pub struct InterestChangeset {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, serde::Deserialize)]
#[diesel(table_name = clients, check_for_backend(diesel::pg::Pg))]
pub struct ClientRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub kind: String,
    pub company_id: Option<Uuid>,
    pub plan: String,
    pub plan_status: String,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ClientRow {
    /// Joins the row with its interest ids. Unknown enum text can only come from a schema this
    /// build does not know; it is reported as a deserialization error, not guessed.
    pub fn into_client(self, interest_ids: Vec<Uuid>) -> QueryResult<Client> {
        let corrupt = |column: &str, value: &str| {
            diesel::result::Error::DeserializationError(
                format!("clients.{column} holds unknown value {value:?}").into(),
            )
        };
        Ok(Client {
            id: ClientId(self.id),
            kind: ClientKind::parse(&self.kind).ok_or_else(|| corrupt("kind", &self.kind))?,
            plan: Plan::parse(&self.plan).ok_or_else(|| corrupt("plan", &self.plan))?,
            plan_status: PlanStatus::parse(&self.plan_status)
                .ok_or_else(|| corrupt("plan_status", &self.plan_status))?,
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
pub struct NewClient<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub kind: &'a str,
    pub company_id: Option<Uuid>,
    pub plan: &'a str,
    pub plan_status: &'a str,
    pub active: bool,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = clients)]
pub struct ClientChangeset {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<Option<String>>,
    pub kind: Option<String>,
    pub company_id: Option<Option<Uuid>>,
    pub plan: Option<String>,
    pub plan_status: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = client_interests)]
pub struct NewClientInterest {
    pub client_id: Uuid,
    pub interest_id: Uuid,
}

// --- Commerce: catalog, coupons, orders ---------------------------------------------------

use super::schema::{
    categories, coupon_redemptions, coupons, enrollment_payments, enrollments, order_items, order_status_history,
    orders, products, stock_movements, workshops,
};
use crate::domain::money::Money;
use rust_decimal::Decimal;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = categories, check_for_backend(diesel::pg::Pg))]
pub struct CategoryRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = categories)]
pub struct CategoryChangeset {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = products, check_for_backend(diesel::pg::Pg))]
pub struct ProductRow {
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
}

/// Stock never changes through a changeset: only movements change it.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = products)]
pub struct ProductChangeset {
    pub category_id: Option<Option<Uuid>>,
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<Option<String>>,
    pub price: Option<Decimal>,
    pub reorder_point: Option<i32>,
    pub active: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = stock_movements, check_for_backend(diesel::pg::Pg))]
pub struct StockMovementRow {
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

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = coupons, check_for_backend(diesel::pg::Pg))]
pub struct CouponRow {
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
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = coupons)]
pub struct CouponChangeset {
    pub description: Option<Option<String>>,
    pub kind: Option<String>,
    pub value: Option<Decimal>,
    pub valid_from: Option<Option<DateTime<Utc>>>,
    pub valid_until: Option<Option<DateTime<Utc>>>,
    pub min_order_amount: Option<Decimal>,
    pub max_redemptions: Option<Option<i32>>,
    pub once_per_client: Option<bool>,
    pub active: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = orders, check_for_backend(diesel::pg::Pg))]
pub struct OrderRow {
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
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_items, check_for_backend(diesel::pg::Pg))]
pub struct OrderItemRow {
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
pub struct StatusChangeRow {
    pub id: Uuid,
    pub order_id: Uuid,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
    pub changed_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = coupon_redemptions)]
pub struct NewRedemption {
    pub order_id: Uuid,
    pub coupon_id: Uuid,
    pub client_id: Uuid,
    pub once_per_client: bool,
}

/// Text a CHECK constraint should have kept out: a schema this build does not know.
fn corrupt(column: &str, value: &str) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("{column} holds unknown value {value:?}").into())
}

fn parse_text<T>(column: &str, value: &str, parse: fn(&str) -> Option<T>) -> QueryResult<T> {
    parse(value).ok_or_else(|| corrupt(column, value))
}

impl From<CategoryRow> for crate::domain::catalog::Category {
    fn from(row: CategoryRow) -> Self {
        crate::domain::catalog::Category {
            id: row.id.into(),
            name: row.name,
            slug: row.slug,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

impl From<ProductRow> for crate::domain::catalog::Product {
    fn from(row: ProductRow) -> Self {
        use crate::domain::catalog::StockStatus;
        crate::domain::catalog::Product {
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

impl StockMovementRow {
    pub fn into_domain(self) -> QueryResult<crate::domain::catalog::StockMovement> {
        use crate::domain::catalog::MovementKind;
        Ok(crate::domain::catalog::StockMovement {
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

impl CouponRow {
    pub fn into_domain(self) -> QueryResult<crate::domain::orders::Coupon> {
        use crate::domain::orders::CouponKind;
        Ok(crate::domain::orders::Coupon {
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

impl OrderRow {
    /// The order with its items and history (rows of this order only).
    pub fn into_domain(
        self,
        items: Vec<OrderItemRow>,
        history: Vec<StatusChangeRow>,
    ) -> QueryResult<crate::domain::orders::Order> {
        use crate::domain::orders::{Order, OrderItem, OrderStatus, PaymentMethod, StatusChange};
        let status = parse_text("orders.status", &self.status, OrderStatus::parse)?;
        let status_history = history
            .into_iter()
            .map(|change| {
                Ok(StatusChange {
                    from: match change.from_status.as_deref() {
                        Some(text) => Some(parse_text("order_status_history.from_status", text, OrderStatus::parse)?),
                        None => None,
                    },
                    to: parse_text("order_status_history.to_status", &change.to_status, OrderStatus::parse)?,
                    note: change.note,
                    changed_at: change.changed_at,
                })
            })
            .collect::<QueryResult<_>>()?;
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
            items: items
                .into_iter()
                .map(|item| OrderItem {
                    product_id: item.product_id.into(),
                    product_name: item.product_name,
                    product_slug: item.product_slug,
                    unit_price: Money::from_decimal(item.unit_price),
                    quantity: item.quantity,
                    line_total: Money::from_decimal(item.line_total),
                })
                .collect(),
            status_history,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = workshops, check_for_backend(diesel::pg::Pg))]
pub struct WorkshopRow {
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
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = workshops)]
pub struct WorkshopChangeset {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub category_id: Option<Uuid>,
    pub starts_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i32>,
    pub modality: Option<String>,
    pub location: Option<Option<String>>,
    pub link: Option<Option<String>>,
    pub price: Option<Decimal>,
    pub capacity: Option<i32>,
    pub active: Option<bool>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = enrollments, check_for_backend(diesel::pg::Pg))]
pub struct EnrollmentRow {
    pub id: Uuid,
    pub workshop_id: Uuid,
    pub client_id: Uuid,
    pub status: String,
    pub price: Decimal,
    pub amount_paid: Decimal,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = enrollment_payments, check_for_backend(diesel::pg::Pg))]
pub struct PaymentRow {
    pub id: Uuid,
    pub enrollment_id: Uuid,
    pub amount: Decimal,
    pub method: String,
    pub created_at: DateTime<Utc>,
}

impl WorkshopRow {
    /// The workshop with `seats_taken` live enrollments holding seats.
    pub fn into_domain(self, seats_taken: i32) -> QueryResult<crate::domain::workshops::Workshop> {
        use crate::domain::workshops::{Modality, Workshop};
        Ok(Workshop {
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

impl EnrollmentRow {
    pub fn into_domain(self) -> QueryResult<crate::domain::workshops::Enrollment> {
        use crate::domain::workshops::{Enrollment, EnrollmentStatus};
        let status = parse_text("enrollments.status", &self.status, EnrollmentStatus::parse)?;
        let (price, paid) = (Money::from_decimal(self.price), Money::from_decimal(self.amount_paid));
        Ok(Enrollment {
            id: self.id.into(),
            workshop_id: self.workshop_id.into(),
            client_id: self.client_id.into(),
            balance: if status == EnrollmentStatus::Cancelled { Money::ZERO } else { price.saturating_sub(paid) },
            status,
            price,
            amount_paid: paid,
            created_at: self.created_at,
            updated_at: self.updated_at,
            cancelled_at: self.cancelled_at,
        })
    }
}

impl PaymentRow {
    pub fn into_domain(self) -> QueryResult<crate::domain::workshops::Payment> {
        use crate::domain::orders::PaymentMethod;
        Ok(crate::domain::workshops::Payment {
            id: self.id.into(),
            enrollment_id: self.enrollment_id.into(),
            amount: Money::from_decimal(self.amount),
            method: parse_text("enrollment_payments.method", &self.method, PaymentMethod::parse)?,
            created_at: self.created_at,
        })
    }
}
