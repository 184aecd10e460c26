//! Repository functions for `plans` and `subscriptions`, and the billing a subscription leaves
//! on its client; the rows follow them.

use super::parse_text;
use super::schema::{clients, plans, subscriptions};
use crate::domain::client::{Plan, PlanStatus};
use crate::domain::ids::{ClientId, SubscriptionId};
use crate::domain::money::Money;
use crate::domain::payments::{PlanOffer, Subscription, SubscriptionStatus};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Plans in their catalogue order (position, then code) after `after`, at most `limit`.
pub fn plans(conn: &mut PgConnection, after: Option<(i32, String)>, limit: i64) -> QueryResult<Vec<(i32, PlanOffer)>> {
    let mut query = plans::table.select((plans::position, PlanRow::as_select())).into_boxed();
    if let Some((position, code)) = after {
        query = query.filter(plans::position.gt(position).or(plans::position.eq(position).and(plans::code.gt(code))));
    }
    query
        .order((plans::position, plans::code))
        .limit(limit)
        .load::<(i32, PlanRow)>(conn)?
        .into_iter()
        .map(|(position, row)| row.into_domain().map(|plan| (position, plan)))
        .collect()
}

pub fn plan(conn: &mut PgConnection, code: Plan) -> QueryResult<Option<PlanOffer>> {
    plans::table
        .find(code.as_str())
        .select(PlanRow::as_select())
        .first::<PlanRow>(conn)
        .optional()?
        .map(PlanRow::into_domain)
        .transpose()
}

pub fn insert_subscription(conn: &mut PgConnection, subscription: &Subscription) -> QueryResult<()> {
    diesel::insert_into(subscriptions::table).values(SubscriptionRow::from(subscription)).execute(conn)?;
    Ok(())
}

pub fn find_subscription(conn: &mut PgConnection, id: SubscriptionId) -> QueryResult<Option<Subscription>> {
    subscriptions::table
        .find(id.0)
        .select(SubscriptionRow::as_select())
        .first::<SubscriptionRow>(conn)
        .optional()?
        .map(SubscriptionRow::into_domain)
        .transpose()
}

/// The client's latest subscription, if any.
pub fn latest_subscription(conn: &mut PgConnection, client: ClientId) -> QueryResult<Option<Subscription>> {
    subscriptions::table
        .filter(subscriptions::client_id.eq(client.0))
        .order(subscriptions::id.desc())
        .select(SubscriptionRow::as_select())
        .first::<SubscriptionRow>(conn)
        .optional()?
        .map(SubscriptionRow::into_domain)
        .transpose()
}

pub fn update_subscription(
    conn: &mut PgConnection,
    id: SubscriptionId,
    paid: Money,
    refunded_now: Money,
    status: SubscriptionStatus,
    paid_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> QueryResult<Subscription> {
    let cancelled_at = (status == SubscriptionStatus::Cancelled).then_some(now);
    diesel::update(subscriptions::table.find(id.0))
        .set((
            subscriptions::amount_paid.eq(paid.amount()),
            subscriptions::amount_refunded.eq(subscriptions::amount_refunded + refunded_now.amount()),
            subscriptions::status.eq(status.as_str()),
            subscriptions::paid_until.eq(paid_until),
            subscriptions::cancelled_at.eq(cancelled_at),
            subscriptions::updated_at.eq(now),
        ))
        .returning(SubscriptionRow::as_returning())
        .get_result::<SubscriptionRow>(conn)?
        .into_domain()
}

/// The client's billing as the subscription leaves it.
pub fn set_client_plan(
    conn: &mut PgConnection,
    client: ClientId,
    plan: Plan,
    status: PlanStatus,
    paid_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(clients::table.find(client.0))
        .set((
            clients::plan.eq(plan.as_str()),
            clients::plan_status.eq(status.as_str()),
            clients::paid_until.eq(paid_until),
            clients::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn client_paid_until(conn: &mut PgConnection, client: ClientId) -> QueryResult<Option<DateTime<Utc>>> {
    clients::table.find(client.0).select(clients::paid_until).first(conn)
}

/// Marks active subscriptions whose period ended as `past_due`, with their clients; returns
/// how many.
/// Active subscriptions whose paid period ended become `past_due` (and so does their client's
/// plan, unless a newer subscription still runs); returns those that lapsed.
pub fn lapse_subscriptions(conn: &mut PgConnection, now: DateTime<Utc>) -> QueryResult<Vec<SubscriptionId>> {
    let lapsed: Vec<(Uuid, Uuid)> = diesel::update(
        subscriptions::table
            .filter(subscriptions::status.eq(SubscriptionStatus::Active.as_str()))
            .filter(subscriptions::paid_until.lt(now)),
    )
    .set((subscriptions::status.eq(SubscriptionStatus::PastDue.as_str()), subscriptions::updated_at.eq(now)))
    .returning((subscriptions::id, subscriptions::client_id))
    .get_results(conn)?;
    let clients_lapsed: Vec<Uuid> = lapsed.iter().map(|(_, client)| *client).collect();
    // A client whose newer subscription still runs stays active.
    diesel::update(
        clients::table
            .filter(clients::id.eq_any(&clients_lapsed))
            .filter(clients::plan_status.eq(PlanStatus::Active.as_str()))
            .filter(clients::paid_until.lt(now)),
    )
    .set((clients::plan_status.eq(PlanStatus::PastDue.as_str()), clients::updated_at.eq(now)))
    .execute(conn)?;
    Ok(lapsed.into_iter().map(|(id, _)| SubscriptionId(id)).collect())
}

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

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
