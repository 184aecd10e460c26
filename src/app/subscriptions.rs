//! Plans and subscriptions: a client subscribes to a plan for some months, pays the
//! subscription like any subject (`payments`), and paying it in full sets the client's plan,
//! `plan_status = active` and `paid_until`. A periodic task marks subscriptions whose period
//! ended as `past_due`.

use super::constraints::{conflict, gone, invalid, out_of_range, Meaning, Rule};
use super::idempotency::recovery_point;
use super::{clock, cursor_position, AppError, AppResult, AppState, Found};
use crate::domain::client::Plan;
use crate::domain::events::EventType;
use crate::domain::ids::{own_path, ClientId, Located, SubscriptionId};
use crate::domain::money::Money;
use crate::domain::page::{encode_cursor, Page, PageRequest};
use crate::domain::payments::{PlanOffer, Subscription, SubscriptionStatus};
use crate::store::pg::{clients, subscriptions as repo};
use serde_json::json;

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Check("plans_code_check", Meaning::Invariant),
    Rule::Check("plans_name_check", Meaning::Invariant),
    Rule::Check("plans_description_check", Meaning::Invariant),
    Rule::Check("plans_monthly_price_check", Meaning::Invariant),
    Rule::foreign_key(
        "clients_plan_fkey",
        invalid("plan", "unknown_plan", "no plan has this code"),
        Some(conflict("plan_in_use", None, "clients are on this plan")),
    ),
    Rule::foreign_key(
        "subscriptions_plan_fkey",
        invalid("plan", "unknown_plan", "no plan has this code"),
        Some(conflict("plan_in_use", None, "subscriptions are on this plan")),
    ),
    Rule::foreign_key("subscriptions_client_id_fkey", gone("client"), Some(super::clients::IN_USE)),
    Rule::Check("subscriptions_months_check", out_of_range("months", "must be between 1 and 36")),
    Rule::Check("subscriptions_monthly_price_check", Meaning::Invariant),
    Rule::Check("subscriptions_status_check", Meaning::Invariant),
    Rule::Check("subscriptions_amount_is_price_times_months", Meaning::Invariant),
    Rule::Check("subscriptions_paid_within_amount", Meaning::Invariant),
];

/// The plans on offer, cheapest first.
#[tracing::instrument(level = "debug", skip_all)]
/// The plans in catalogue order, a page at a time (the cursor is a position and a code).
pub async fn plans(state: &AppState, page: PageRequest) -> AppResult<Page<PlanOffer>> {
    let after = cursor_position::<(i32, String)>(&page)?;
    let limit = page.overfetch();
    let rows = state.db.run(move |conn| Ok(repo::plans(conn, after, limit)?)).await?;
    let page = Page::from_overfetch(rows, limit - 1, |(position, plan)| encode_cursor(&(position, plan.code.as_str())));
    Ok(page.map(|(_, plan)| plan))
}

/// Subscribes the client to `plan` for `months` at the plan's current price. One unpaid
/// subscription at a time: a second is 409 `subscription_unpaid` naming the first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn subscribe(state: &AppState, client: ClientId, plan: Plan, months: u32) -> AppResult<Subscription> {
    subscribe_as(state, client, plan, months, false).await
}

/// A customer buys their own plan (a retry's recovery point is their own subscription).
pub async fn subscribe_own(state: &AppState, client: ClientId, plan: Plan, months: u32) -> AppResult<Subscription> {
    subscribe_as(state, client, plan, months, true).await
}

async fn subscribe_as(
    state: &AppState,
    client: ClientId,
    plan: Plan,
    months: u32,
    own: bool,
) -> AppResult<Subscription> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let standing = clients::lock_for_purchase(conn, client)?.found(client)?;
            if !standing.active {
                return Err(AppError::conflict("client_inactive", None, "inactive clients cannot subscribe"));
            }
            if let Some(open) =
                repo::latest_subscription(conn, client)?.filter(|s| s.status == SubscriptionStatus::PendingPayment)
            {
                return Err(AppError::conflict_with(
                    "subscription_unpaid",
                    None,
                    format!("subscription {} is waiting for its payment", open.id),
                    json!({"subscription_id": open.id, "amount_due": open.amount_due()}),
                ));
            }
            let offer = repo::plan(conn, plan)?
                .ok_or_else(|| AppError::invalid("plan", "unknown_plan", "no plan has this code"))?;
            let subscription = Subscription {
                id: SubscriptionId::new(),
                client_id: client,
                plan,
                months: months as i32,
                monthly_price: offer.monthly_price,
                amount: offer.monthly_price.times(months),
                amount_paid: Money::ZERO,
                amount_refunded: Money::ZERO,
                status: SubscriptionStatus::PendingPayment,
                paid_until: None,
                created_at: now,
                updated_at: now,
                cancelled_at: None,
            };
            repo::insert_subscription(conn, &subscription)?;
            recovery_point(if own { own_path("subscription", None) } else { subscription.id.path() });
            Ok(subscription)
        })
        .await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: SubscriptionId) -> AppResult<Subscription> {
    state.db.run(move |conn| repo::find_subscription(conn, id)?.found(id)).await
}

/// The client's latest subscription; 404 `subscription_not_found` when it never subscribed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn current(state: &AppState, client: ClientId) -> AppResult<Subscription> {
    state
        .db
        .read(move |conn| {
            clients::find(conn, client)?.found(client)?;
            repo::latest_subscription(conn, client)?
                .ok_or_else(|| AppError::NotFound { resource: "subscription", id: format!("of client {client}") })
        })
        .await
}

/// Marks active subscriptions whose paid period ended as `past_due` (and their clients).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn lapse(state: &AppState) -> AppResult<usize> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let lapsed = repo::lapse_subscriptions(conn, now)?;
            for id in &lapsed {
                let subscription = repo::find_subscription(conn, *id)?.found(*id)?;
                super::events::record(conn, EventType::SubscriptionPastDue, &subscription)?;
            }
            Ok(lapsed.len())
        })
        .await
}
