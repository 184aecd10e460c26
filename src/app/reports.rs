//! Reports, computed where the data lives. Whole past days come from the daily rollups, today and
//! any day changed since its rollup from the base tables, in one snapshot: every figure is exact
//! when it is read. The rollup job (`ROLLUP_INTERVAL_SECS`) only keeps the base-table part small.

use super::constraints::{Meaning, Rule};
use super::{clock, stats, AppError, AppResult, AppState};
use crate::domain::reports::{
    breakdown, buckets, buyers, cohorts, kpis as key_figures, percent, top_categories, top_products, top_spenders,
    total, zero_filled, Breakdown, CategorySales, ClientSpend, Cohort, DailySales, Debts, Granularity, Kpis,
    MethodFigures, NumberedClient, Period, PeriodError, ProductSales, RankBy, SalesBucket, SlowMover, StockCounts,
};
use crate::domain::reports::{
    workshop_groups, workshop_income, Debtor, WorkshopGroup, WorkshopGrouping, WorkshopIncomeBucket, WorkshopStanding,
};
use crate::store::pg::reports as repo;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

/// The rollup tables' constraints: the rollup writes them from the base tables, never a caller.
pub const CONSTRAINTS: &[Rule] = &[
    Rule::Check("daily_client_orders_aligned", Meaning::Invariant),
    Rule::foreign_key("daily_client_orders_day_fkey", Meaning::Invariant, None),
    Rule::foreign_key("daily_segment_sales_day_fkey", Meaning::Invariant, None),
    Rule::foreign_key("daily_product_sales_day_fkey", Meaning::Invariant, None),
    Rule::foreign_key("daily_payment_methods_day_fkey", Meaning::Invariant, None),
    Rule::foreign_key("daily_workshop_sales_day_fkey", Meaning::Invariant, None),
    // Numbered by PostgreSQL (an identity column), never given by a caller.
    Rule::Unique("clients_number_key", Meaning::Invariant),
];

/// A period from optional `from`/`to`, or a 422 naming the field at fault.
pub fn period(from: Option<NaiveDate>, to: Option<NaiveDate>) -> AppResult<Period> {
    Period::new(from, to, clock::now().date_naive()).map_err(|err| match err {
        PeriodError::Reversed => AppError::invalid("from", "period_reversed", "`from` is after `to`"),
        PeriodError::TooLong => AppError::invalid(
            "to",
            "period_too_long",
            format!("a report covers at most {} days", crate::domain::reports::MAX_DAYS),
        ),
    })
}

/// The daily sales of a period, every day present (zeros included).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn daily_sales(state: &AppState, period: Period) -> AppResult<Vec<DailySales>> {
    let today = clock::now().date_naive();
    let days = state.db.read(move |conn| Ok(repo::daily_sales(conn, period.from, period.to, today)?)).await?;
    Ok(zero_filled(days, period))
}

#[derive(Debug, Clone, PartialEq)]
pub struct SalesReport {
    pub period: Period,
    pub granularity: Granularity,
    pub buckets: Vec<SalesBucket>,
    pub totals: SalesBucket,
}

/// Revenue, orders, units and average order value by day, week or month.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sales(state: &AppState, period: Period, granularity: Granularity) -> AppResult<SalesReport> {
    let days = daily_sales(state, period).await?;
    let totals = total(&days, period);
    Ok(SalesReport { period, granularity, buckets: buckets(&days, granularity), totals })
}

/// MongoDB's share of the clients, from the client statistics snapshot (`/stats/clients`).
#[derive(Debug, Clone, PartialEq)]
pub struct InfoCoverage {
    pub documents: i64,
    pub clients: i64,
    pub percent: f64,
    pub computed_at: DateTime<Utc>,
}

/// A payment method's share of the period's payments.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodShare {
    pub figures: MethodFigures,
    /// Of the amount paid, in percent.
    pub share_percent: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct KpiReport {
    pub kpis: Kpis,
    pub by_plan: Vec<Breakdown>,
    pub by_kind: Vec<Breakdown>,
    pub payment_methods: Vec<MethodShare>,
    pub stock: StockCounts,
    pub debts: Debts,
    /// `None` when MongoDB did not answer for the latest snapshot.
    pub info_coverage: Option<InfoCoverage>,
}

/// The key figures of a period: PostgreSQL's in one snapshot, MongoDB's coverage from the client
/// statistics snapshot.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn kpis(state: &AppState, period: Period) -> AppResult<KpiReport> {
    let today = clock::now().date_naive();
    let figures = state.db.read(move |conn| {
        // From the first day anything happened: CLV counts every paying client to date.
        let first = repo::first_day(conn)?.unwrap_or(period.from).min(period.previous().from);
        let history = repo::daily_sales(conn, first, period.to, today)?;
        let buyers = buyers(&repo::daily_client_numbers(conn, period.from, period.to, today)?);
        let segments = repo::segments(conn, period.from, period.to, today)?;
        let methods = repo::payment_methods(conn, period.from, period.to, today)?;
        Ok((history, buyers, segments, methods, repo::stock_status(conn)?, repo::debts(conn)?))
    });
    let (figures, statistics) = tokio::join!(figures, stats::clients(state));
    let (history, buyers, segments, methods, stock, debts) = figures?;
    let info_coverage = statistics.ok().and_then(|s| {
        s.documents.map(|d| InfoCoverage {
            documents: d.documents,
            clients: s.total_clients,
            percent: d.info_coverage_percent,
            computed_at: s.computed_at,
        })
    });
    let paid: Decimal = methods.iter().map(|m| m.amount.amount()).sum();
    Ok(KpiReport {
        kpis: key_figures(period, &history, buyers),
        by_plan: breakdown(&segments, |s| &s.plan),
        by_kind: breakdown(&segments, |s| &s.kind),
        payment_methods: methods
            .into_iter()
            .map(|m| MethodShare { share_percent: percent(m.amount.amount(), paid), figures: m })
            .collect(),
        stock,
        debts,
        info_coverage,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProductReport {
    pub period: Period,
    pub top_by_units: Vec<ProductSales>,
    pub top_by_revenue: Vec<ProductSales>,
    pub categories_by_units: Vec<CategorySales>,
    pub categories_by_revenue: Vec<CategorySales>,
    pub slow_movers: Vec<SlowMover>,
    /// Every product sold in the period, by revenue (the CSV form).
    pub sold: Vec<ProductSales>,
}

/// What sold and what did not: top products and categories by units and by revenue (`limit`
/// each), and slow movers (stock on hand, nothing sold in the period).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn products(state: &AppState, period: Period, limit: usize) -> AppResult<ProductReport> {
    let today = clock::now().date_naive();
    let (sold, slow_movers) = state
        .db
        .read(move |conn| {
            let sold = repo::product_sales(conn, period.from, period.to, today)?;
            let slow = repo::slow_movers(conn, period.from, period.to, today, limit as i64)?;
            Ok((sold, slow))
        })
        .await?;
    Ok(ProductReport {
        period,
        top_by_units: top_products(&sold, RankBy::Units, limit),
        top_by_revenue: top_products(&sold, RankBy::Revenue, limit),
        categories_by_units: top_categories(&sold, RankBy::Units, limit),
        categories_by_revenue: top_categories(&sold, RankBy::Revenue, limit),
        slow_movers,
        sold: top_products(&sold, RankBy::Revenue, sold.len()),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientReport {
    pub period: Period,
    /// The period's top spenders with who they are now.
    pub top_clients: Vec<(NumberedClient, ClientSpend)>,
    pub cohorts: Vec<Cohort>,
}

/// Who buys: the top clients by spend over the period (`limit`), and the cohorts of the period's
/// months (first order that month × the months after in which they ordered again).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn clients(state: &AppState, period: Period, limit: usize) -> AppResult<ClientReport> {
    let today = clock::now().date_naive();
    state
        .db
        .read(move |conn| {
            // Cohorts need every buyer since the first order: a client's first order decides its cohort.
            let first = repo::first_day(conn)?.unwrap_or(period.from).min(period.from);
            let history = repo::daily_client_orders(conn, first, period.to, today)?;
            let in_period: Vec<_> = history.iter().filter(|d| d.day >= period.from).cloned().collect();
            let spenders = top_spenders(&in_period, limit);
            let numbers: Vec<i32> = spenders.iter().map(|s| s.number).collect();
            let mut known: std::collections::HashMap<i32, NumberedClient> =
                repo::clients_by_number(conn, &numbers)?.into_iter().map(|c| (c.number, c)).collect();
            let top_clients = spenders.into_iter().filter_map(|s| known.remove(&s.number).map(|c| (c, s))).collect();
            Ok(ClientReport { period, top_clients, cohorts: cohorts(&history, period.from, period.to) })
        })
        .await
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkshopReport {
    pub period: Period,
    pub granularity: Granularity,
    pub totals: WorkshopGroup,
    /// The workshops held (starting) in the period, by start.
    pub workshops: Vec<WorkshopStanding>,
    pub by_modality: Vec<WorkshopGroup>,
    pub by_category: Vec<WorkshopGroup>,
    pub income: Vec<WorkshopIncomeBucket>,
    /// The clients owing most now (`limit`).
    pub debtors: Vec<Debtor>,
}

/// Workshops: each one held in the period with its seats and money as they stand now, the same
/// by modality and by category with the enrollments and money of the period's days, and the
/// income series (money received less refunds, on the days they completed); and the clients owing
/// most now.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn workshops(
    state: &AppState,
    period: Period,
    granularity: Granularity,
    limit: usize,
) -> AppResult<WorkshopReport> {
    let today = clock::now().date_naive();
    let (standings, days, debtors) = state
        .db
        .read(move |conn| {
            let standings = repo::workshop_standings(conn, period.from, period.to)?;
            let days = repo::workshop_days(conn, period.from, period.to, today)?;
            Ok((standings, days, repo::top_debtors(conn, limit as i64)?))
        })
        .await?;
    let group = |grouping| workshop_groups(&standings, &days, grouping);
    let totals = group(WorkshopGrouping::All).pop().unwrap_or_else(|| WorkshopGroup::empty("all".to_string(), None));
    Ok(WorkshopReport {
        period,
        granularity,
        totals,
        by_modality: group(WorkshopGrouping::Modality),
        by_category: group(WorkshopGrouping::Category),
        income: workshop_income(&days, period, granularity),
        workshops: standings,
        debtors,
    })
}

/// What one rollup run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupOutcome {
    /// Days written (recomputed or new).
    pub days: i64,
    /// Days before this one were over and settled when the run began.
    pub settled_before: NaiveDate,
}

/// Rolls up every settled day not rolled up yet and every day changed since its rollup; with
/// `from`, rebuilds every settled day from `from` on. Idempotent: a day recomputed gives the
/// same row. Callers run it under the job's lock (one at a time among replicas).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn roll_up(state: &AppState, from: Option<NaiveDate>) -> AppResult<RollupOutcome> {
    let at = clock::now();
    state
        .db
        .run(move |conn| {
            let settled_before = repo::settled_before(conn)?;
            let start = match from {
                Some(from) => Some(from),
                None => repo::rollup_start(conn)?,
            };
            let days = repo::roll_up(conn, start, settled_before, at)?;
            Ok(RollupOutcome { days, settled_before })
        })
        .await
}
