//! Report figures as values: a period of days, the daily sales, and their sums by week or month.
//! Days are UTC days; money stays exact (decimal), averages are rounded half away from zero to
//! the cent.

use crate::domain::ids::{CategoryId, ClientId, InterestId, ProductId, WorkshopId};
use crate::domain::money::Money;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

/// The longest period a report covers: three years of days.
pub const MAX_DAYS: i64 = 3 * 366;
/// The period when none is asked for: the last 30 days, today included.
pub const DEFAULT_DAYS: u64 = 30;

/// Inclusive UTC dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodError {
    Reversed,
    TooLong,
}

impl Period {
    /// `from`/`to` as given, each defaulting to the last 30 days ending today.
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>, today: NaiveDate) -> Result<Period, PeriodError> {
        let to = to.unwrap_or(today);
        // Callers' days are in years 1 to 9999 (`time::Day`); the default start may fall in
        // year 0, which chrono and PostgreSQL both hold.
        let from = match from {
            Some(from) => from,
            None => to.checked_sub_days(Days::new(DEFAULT_DAYS - 1)).ok_or(PeriodError::Reversed)?,
        };
        if from > to {
            return Err(PeriodError::Reversed);
        }
        if (to - from).num_days() + 1 > MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(Period { from, to })
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of the same length just before this one (for growth).
    pub fn previous(&self) -> Period {
        let length = Days::new(self.days() as u64);
        let back = |day: NaiveDate| day.checked_sub_days(length).unwrap_or(NaiveDate::MIN);
        Period { from: back(self.from), to: back(self.to) }
    }
}

/// One UTC day of sales: orders placed that day and not cancelled (their units and totals), the
/// succeeded refunds of order payments completed that day, the orders of the day cancelled, the
/// clients created that day and those whose first order not cancelled was placed that day.
#[derive(Debug, Clone, PartialEq)]
pub struct DailySales {
    pub day: NaiveDate,
    pub orders: i64,
    pub items: i64,
    pub gross: Money,
    pub refunds: Money,
    pub cancelled_orders: i64,
    pub new_clients: i64,
    pub first_time_buyers: i64,
}

/// Who bought on a day: one entry per order not cancelled, the client's number and the order's
/// total in cents.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyClientOrders {
    pub day: NaiveDate,
    pub client_numbers: Vec<i32>,
    pub order_cents: Vec<i64>,
}

/// Sales of a period by the client's kind and plan when each order was placed.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentFigures {
    pub kind: String,
    pub plan: String,
    pub orders: i64,
    pub gross: Money,
    pub refunds: Money,
}

/// Succeeded payments of a period by method.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodFigures {
    pub method: String,
    pub payments: i64,
    pub amount: Money,
}

impl DailySales {
    /// A day without sales.
    pub fn zero(day: NaiveDate) -> DailySales {
        DailySales {
            day,
            orders: 0,
            items: 0,
            gross: Money::ZERO,
            refunds: Money::ZERO,
            cancelled_orders: 0,
            new_clients: 0,
            first_time_buyers: 0,
        }
    }
}

/// Every day of the period in order: the given days where present, zeros elsewhere (days after
/// today, which the store leaves out).
pub fn zero_filled(days: Vec<DailySales>, period: Period) -> Vec<DailySales> {
    let mut given = days.into_iter().peekable();
    period
        .from
        .iter_days()
        .take_while(|day| *day <= period.to)
        .map(|day| match given.peek() {
            Some(next) if next.day == day => given.next().unwrap_or_else(|| DailySales::zero(day)),
            _ => DailySales::zero(day),
        })
        .collect()
}

text_enum!(
    /// How a sales series is cut: by day, by ISO week (Monday to Sunday) or by calendar month.
    Granularity { Day => "day", Week => "week", Month => "month" }
);

/// Sales of one bucket of a series; `start`/`end` are clipped to the period asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct SalesBucket {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub orders: i64,
    pub items: i64,
    pub gross: Money,
    pub refunds: Money,
}

impl SalesBucket {
    /// Gross order value less refunds (negative when refunds of older orders outweigh the day).
    pub fn revenue(&self) -> Money {
        Money::from_decimal(self.gross.amount() - self.refunds.amount())
    }

    /// Revenue per order, to the cent; zero without orders.
    pub fn average_order_value(&self) -> Money {
        average(self.revenue(), self.orders)
    }
}

/// `total / count` to the cent (half away from zero); zero when `count` is zero.
pub fn average(total: Money, count: i64) -> Money {
    if count == 0 {
        return Money::ZERO;
    }
    let exact = total.amount() / Decimal::from(count);
    Money::from_decimal(exact.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

fn bucket_start(day: NaiveDate, granularity: Granularity) -> NaiveDate {
    match granularity {
        Granularity::Day => day,
        Granularity::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
        Granularity::Month => day.with_day(1).unwrap_or(day),
    }
}

/// Sums daily sales (one per day, in order, zeros included) into buckets.
pub fn buckets(days: &[DailySales], granularity: Granularity) -> Vec<SalesBucket> {
    let mut out: Vec<(NaiveDate, SalesBucket)> = Vec::new();
    for day in days {
        let key = bucket_start(day.day, granularity);
        match out.last_mut() {
            Some((current, bucket)) if *current == key => {
                bucket.end = day.day;
                bucket.orders += day.orders;
                bucket.items += day.items;
                bucket.gross = bucket.gross + day.gross;
                bucket.refunds = bucket.refunds + day.refunds;
            }
            _ => out.push((
                key,
                SalesBucket {
                    start: day.day,
                    end: day.day,
                    orders: day.orders,
                    items: day.items,
                    gross: day.gross,
                    refunds: day.refunds,
                },
            )),
        }
    }
    out.into_iter().map(|(_, bucket)| bucket).collect()
}

/// Active products by stock status (`critical` ≤ reorder point < `low` ≤ 1.5 × reorder point <
/// `optimal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockCounts {
    pub critical: i64,
    pub low: i64,
    pub optimal: i64,
}

/// Money owed for workshops now: enrollments not cancelled and not paid in full.
#[derive(Debug, Clone, PartialEq)]
pub struct Debts {
    pub clients: i64,
    pub enrollments: i64,
    pub owed: Money,
}

/// The buyers of a period: distinct clients with an order not cancelled, and those with two or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Buyers {
    pub active: i64,
    pub repeat: i64,
}

/// Counts buyers by client number: an array indexed by number, not a hash set (a year holds
/// hundreds of thousands of entries).
pub fn buyers(days: &[Vec<i32>]) -> Buyers {
    let max = days.iter().flatten().copied().max().unwrap_or(0).max(0) as usize;
    let mut orders = vec![0u8; max + 1];
    for number in days.iter().flatten() {
        if let Some(count) = usize::try_from(*number).ok().and_then(|n| orders.get_mut(n)) {
            *count = count.saturating_add(1);
        }
    }
    let active = orders.iter().filter(|n| **n > 0).count() as i64;
    let repeat = orders.iter().filter(|n| **n > 1).count() as i64;
    Buyers { active, repeat }
}

/// `part / whole` in percent, two decimals (half away from zero); `None` when `whole` is zero.
pub fn percent(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    Some((part * Decimal::from(100) / whole).round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// Revenue and orders of one value of a breakdown (a plan, a kind).
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    pub key: String,
    pub orders: i64,
    pub revenue: Money,
}

/// Segment figures summed by `key` (the plan or the kind), in key order.
pub fn breakdown(segments: &[SegmentFigures], key: impl Fn(&SegmentFigures) -> &str) -> Vec<Breakdown> {
    let mut out: std::collections::BTreeMap<String, (i64, Decimal)> = std::collections::BTreeMap::new();
    for segment in segments {
        let entry = out.entry(key(segment).to_string()).or_default();
        entry.0 += segment.orders;
        entry.1 += segment.gross.amount() - segment.refunds.amount();
    }
    out.into_iter()
        .map(|(key, (orders, revenue))| Breakdown { key, orders, revenue: Money::from_decimal(revenue) })
        .collect()
}

/// The key figures of a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Kpis {
    pub period: Period,
    pub sales: SalesBucket,
    /// Revenue of the period of the same length just before.
    pub previous_revenue: Money,
    /// Change of revenue against the previous period, in percent; `None` when that was zero.
    pub growth_percent: Option<Decimal>,
    pub new_clients: i64,
    pub buyers: Buyers,
    /// Share of the period's buyers who ordered more than once in it, in percent.
    pub repeat_purchase_rate_percent: Option<Decimal>,
    /// Everything up to the period's last day.
    pub revenue_to_date: Money,
    pub paying_clients_to_date: i64,
    /// `revenue_to_date / paying_clients_to_date`.
    pub clv: Money,
}

/// Computes the key figures from the daily sales of every day up to the period's end (the
/// previous period and the whole history included) and the period's buyers.
pub fn kpis(period: Period, history: &[DailySales], buyers: Buyers) -> Kpis {
    let within = |p: Period| history.iter().filter(move |d| d.day >= p.from && d.day <= p.to);
    let in_period: Vec<DailySales> = within(period).cloned().collect();
    let sales = total(&in_period, period);
    let previous: Vec<DailySales> = within(period.previous()).cloned().collect();
    let previous_revenue = total(&previous, period.previous()).revenue();
    let to_date: Vec<&DailySales> = history.iter().filter(|d| d.day <= period.to).collect();
    let revenue_to_date =
        Money::from_decimal(to_date.iter().map(|d| d.gross.amount() - d.refunds.amount()).sum::<Decimal>());
    let paying_clients_to_date = to_date.iter().map(|d| d.first_time_buyers).sum();
    Kpis {
        period,
        growth_percent: percent(sales.revenue().amount() - previous_revenue.amount(), previous_revenue.amount()),
        previous_revenue,
        new_clients: in_period.iter().map(|d| d.new_clients).sum(),
        repeat_purchase_rate_percent: percent(Decimal::from(buyers.repeat), Decimal::from(buyers.active)),
        buyers,
        clv: average(revenue_to_date, paying_clients_to_date),
        revenue_to_date,
        paying_clients_to_date,
        sales,
    }
}

/// A product's sales over a period (orders not cancelled; line totals at the prices sold, before
/// order-level coupon discounts), with its current name and category.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductSales {
    pub product_id: ProductId,
    pub name: String,
    pub category_id: Option<CategoryId>,
    pub category: Option<String>,
    pub units: i64,
    pub revenue: Money,
}

/// A category's sales over a period; `category_id: None` gathers the products without one.
#[derive(Debug, Clone, PartialEq)]
pub struct CategorySales {
    pub category_id: Option<CategoryId>,
    pub name: Option<String>,
    pub units: i64,
    pub revenue: Money,
}

/// An active product with stock on hand that sold nothing in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct SlowMover {
    pub product_id: ProductId,
    pub name: String,
    pub stock: i32,
}

/// What a ranking orders by first (ties go to the other measure, then the name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RankBy {
    Units,
    Revenue,
}

fn ranked<T: Clone>(items: &[T], by: RankBy, limit: usize, measures: impl Fn(&T) -> (i64, Decimal, String)) -> Vec<T> {
    let mut sorted: Vec<(T, (i64, Decimal, String))> = items.iter().map(|i| (i.clone(), measures(i))).collect();
    sorted.sort_by(|(_, a), (_, b)| {
        let first = match by {
            RankBy::Units => b.0.cmp(&a.0).then(b.1.cmp(&a.1)),
            RankBy::Revenue => b.1.cmp(&a.1).then(b.0.cmp(&a.0)),
        };
        first.then_with(|| a.2.cmp(&b.2))
    });
    sorted.into_iter().take(limit).map(|(item, _)| item).collect()
}

/// The best-selling products by units or by revenue.
pub fn top_products(products: &[ProductSales], by: RankBy, limit: usize) -> Vec<ProductSales> {
    ranked(products, by, limit, |p| (p.units, p.revenue.amount(), format!("{}{}", p.name, p.product_id.0)))
}

/// Products' sales summed by category, ranked.
pub fn top_categories(products: &[ProductSales], by: RankBy, limit: usize) -> Vec<CategorySales> {
    let mut sums: std::collections::BTreeMap<Option<CategoryId>, CategorySales> = std::collections::BTreeMap::new();
    for product in products {
        let entry = sums.entry(product.category_id).or_insert_with(|| CategorySales {
            category_id: product.category_id,
            name: product.category.clone(),
            units: 0,
            revenue: Money::ZERO,
        });
        entry.units += product.units;
        entry.revenue = entry.revenue + product.revenue;
    }
    let categories: Vec<CategorySales> = sums.into_values().collect();
    ranked(&categories, by, limit, |c| (c.units, c.revenue.amount(), c.name.clone().unwrap_or_default()))
}

/// A client's orders (not cancelled) and their totals over a period, by client number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSpend {
    pub number: i32,
    pub orders: i64,
    pub spend_cents: i64,
}

/// A client as reports name it, by its number.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberedClient {
    pub number: i32,
    pub client_id: ClientId,
    pub name: String,
    pub email: String,
    pub kind: String,
    pub plan: String,
}

/// The clients who spent most over `days` (ties: more orders, then the lower number).
pub fn top_spenders(days: &[DailyClientOrders], limit: usize) -> Vec<ClientSpend> {
    let mut by_client: std::collections::HashMap<i32, ClientSpend> = std::collections::HashMap::new();
    for day in days {
        for (number, cents) in day.client_numbers.iter().zip(&day.order_cents) {
            let entry = by_client.entry(*number).or_insert(ClientSpend { number: *number, orders: 0, spend_cents: 0 });
            entry.orders += 1;
            entry.spend_cents += cents;
        }
    }
    let mut spenders: Vec<ClientSpend> = by_client.into_values().collect();
    spenders
        .sort_by(|a, b| b.spend_cents.cmp(&a.spend_cents).then(b.orders.cmp(&a.orders)).then(a.number.cmp(&b.number)));
    spenders.truncate(limit);
    spenders
}

/// The clients whose first order (not cancelled) fell in one month, and how many of them ordered
/// in each month since: `active[0]` is the month itself (all of them), `active[k]` k months later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cohort {
    /// The first day of the month.
    pub month: NaiveDate,
    pub clients: i64,
    pub active: Vec<i64>,
}

fn month_index(day: NaiveDate) -> i32 {
    day.year() * 12 + day.month0() as i32
}

fn month_start(index: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1)
}

/// Cohorts by first-order month for the months of `from..=to`, from every day's buyers up to `to`
/// (`history` in day order, from the first order on: a client's first order may precede `from`).
/// Months active are followed for at most 120 months.
pub fn cohorts(history: &[DailyClientOrders], from: NaiveDate, to: NaiveDate) -> Vec<Cohort> {
    const MAX_MONTHS: usize = 120;
    let (first, last) = (month_index(from), month_index(to));
    // Per client: its first month and the months (offsets from it) it ordered in.
    let mut clients: std::collections::HashMap<i32, (i32, Vec<bool>)> = std::collections::HashMap::new();
    for day in history.iter().filter(|d| d.day <= to) {
        let month = month_index(day.day);
        for number in &day.client_numbers {
            let (start, months) = clients.entry(*number).or_insert_with(|| (month, Vec::new()));
            let offset = (month - *start) as usize;
            if offset < MAX_MONTHS {
                if months.len() <= offset {
                    months.resize(offset + 1, false);
                }
                months[offset] = true;
            }
        }
    }
    (first..=last)
        .filter_map(|cohort| {
            let span = ((last - cohort + 1) as usize).min(MAX_MONTHS);
            let mut active = vec![0i64; span];
            let mut size = 0;
            for (_, months) in clients.values().filter(|(start, _)| *start == cohort) {
                size += 1;
                for (offset, ordered) in months.iter().enumerate().take(span) {
                    if *ordered {
                        active[offset] += 1;
                    }
                }
            }
            month_start(cohort).map(|month| Cohort { month, clients: size, active })
        })
        .collect()
}

/// All of `days` as one bucket spanning the period.
pub fn total(days: &[DailySales], period: Period) -> SalesBucket {
    days.iter().fold(
        SalesBucket {
            start: period.from,
            end: period.to,
            orders: 0,
            items: 0,
            gross: Money::ZERO,
            refunds: Money::ZERO,
        },
        |sum, day| SalesBucket {
            orders: sum.orders + day.orders,
            items: sum.items + day.items,
            gross: sum.gross + day.gross,
            refunds: sum.refunds + day.refunds,
            ..sum
        },
    )
}

/// A client owing for workshop enrollments now.
#[derive(Debug, Clone, PartialEq)]
pub struct Debtor {
    pub client_id: ClientId,
    pub name: String,
    pub email: String,
    /// Enrollments not cancelled and not paid in full.
    pub enrollments: i64,
    pub owed: Money,
}

/// Money and enrollments of one workshop on one UTC day (a rollup row, or the same figures from
/// the base tables), with the workshop's current modality and category.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkshopDay {
    pub day: NaiveDate,
    pub workshop_id: WorkshopId,
    pub modality: String,
    pub category_id: InterestId,
    pub category: String,
    /// Enrollments made that day and not cancelled.
    pub enrollments: i64,
    /// Succeeded enrollment payments completed that day.
    pub received: Money,
    /// Succeeded refunds of them completed that day.
    pub refunded: Money,
}

/// A workshop held in the period, as it stands now.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkshopStanding {
    pub workshop_id: WorkshopId,
    pub name: String,
    pub category_id: InterestId,
    pub category: String,
    pub modality: String,
    pub starts_at: DateTime<Utc>,
    pub active: bool,
    pub capacity: i64,
    /// Enrollments not cancelled (each holds a seat).
    pub seats_taken: i64,
    /// Their prices less what was refunded of them (a refund is credited, not owed again).
    pub billed: Money,
    /// What they have paid.
    pub paid: Money,
    /// Every payment for the workshop's enrollments (cancelled ones too) less succeeded refunds.
    pub income: Money,
}

impl WorkshopStanding {
    pub fn owed(&self) -> Money {
        Money::from_decimal(self.billed.amount() - self.paid.amount())
    }
}

/// How the workshops of a report are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkshopGrouping {
    /// One group for everything (the totals).
    All,
    Modality,
    Category,
}

impl WorkshopGrouping {
    fn key(self, modality: &str, category_id: InterestId, category: &str) -> (String, Option<InterestId>) {
        match self {
            WorkshopGrouping::All => ("all".to_string(), None),
            WorkshopGrouping::Modality => (modality.to_string(), None),
            WorkshopGrouping::Category => (category.to_string(), Some(category_id)),
        }
    }
}

/// Workshops of a group: those held in the period as they stand now, and the enrollments and
/// money of the period's days.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkshopGroup {
    /// The modality, the category's name, or `all`.
    pub key: String,
    pub category_id: Option<InterestId>,
    /// Workshops held (starting) in the period.
    pub held: i64,
    pub capacity: i64,
    pub seats_taken: i64,
    pub owed: Money,
    /// Enrollments made in the period and not cancelled (for workshops held any time).
    pub enrollments: i64,
    pub received: Money,
    pub refunded: Money,
}

impl WorkshopGroup {
    pub fn empty(key: String, category_id: Option<InterestId>) -> WorkshopGroup {
        WorkshopGroup {
            key,
            category_id,
            held: 0,
            capacity: 0,
            seats_taken: 0,
            owed: Money::ZERO,
            enrollments: 0,
            received: Money::ZERO,
            refunded: Money::ZERO,
        }
    }

    /// Money kept from the period's days: received less refunded.
    pub fn income(&self) -> Money {
        Money::from_decimal(self.received.amount() - self.refunded.amount())
    }

    /// Seats taken of the capacity of the workshops held, in percent.
    pub fn occupancy_percent(&self) -> Option<Decimal> {
        percent(Decimal::from(self.seats_taken), Decimal::from(self.capacity))
    }
}

/// The groups of `standings` and `days` by `grouping`, by key.
pub fn workshop_groups(
    standings: &[WorkshopStanding],
    days: &[WorkshopDay],
    grouping: WorkshopGrouping,
) -> Vec<WorkshopGroup> {
    fn group(
        groups: &mut std::collections::BTreeMap<String, WorkshopGroup>,
        (key, category_id): (String, Option<InterestId>),
    ) -> &mut WorkshopGroup {
        groups.entry(key.clone()).or_insert_with(|| WorkshopGroup::empty(key, category_id))
    }
    let mut groups = std::collections::BTreeMap::new();
    for w in standings {
        let g = group(&mut groups, grouping.key(&w.modality, w.category_id, &w.category));
        g.held += 1;
        g.capacity += w.capacity;
        g.seats_taken += w.seats_taken;
        g.owed = g.owed + w.owed();
    }
    for d in days {
        let g = group(&mut groups, grouping.key(&d.modality, d.category_id, &d.category));
        g.enrollments += d.enrollments;
        g.received = g.received + d.received;
        g.refunded = g.refunded + d.refunded;
    }
    groups.into_values().collect()
}

/// The period's workshop money and enrollments per day, week or month, zero-filled.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkshopIncomeBucket {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub enrollments: i64,
    pub received: Money,
    pub refunded: Money,
}

impl WorkshopIncomeBucket {
    pub fn income(&self) -> Money {
        Money::from_decimal(self.received.amount() - self.refunded.amount())
    }
}

/// Sums `days` (any order) into one bucket per day, ISO week or month of the period, each
/// clipped to the period.
pub fn workshop_income(days: &[WorkshopDay], period: Period, granularity: Granularity) -> Vec<WorkshopIncomeBucket> {
    let mut out: Vec<WorkshopIncomeBucket> = Vec::new();
    for day in period.from.iter_days().take_while(|day| *day <= period.to) {
        match out.last_mut() {
            Some(bucket) if bucket_start(bucket.start, granularity) == bucket_start(day, granularity) => {
                bucket.end = day
            }
            _ => out.push(WorkshopIncomeBucket {
                start: day,
                end: day,
                enrollments: 0,
                received: Money::ZERO,
                refunded: Money::ZERO,
            }),
        }
    }
    for d in days {
        let at = out.partition_point(|b| b.end < d.day);
        if let Some(bucket) = out.get_mut(at).filter(|b| b.start <= d.day) {
            bucket.enrollments += d.enrollments;
            bucket.received = bucket.received + d.received;
            bucket.refunded = bucket.refunded + d.refunded;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn day(text: &str, orders: i64, gross: i64, refunds: i64) -> DailySales {
        DailySales {
            day: date(text),
            orders,
            items: orders * 2,
            gross: Money::from_cents(gross),
            refunds: Money::from_cents(refunds),
            cancelled_orders: 0,
            new_clients: 0,
            first_time_buyers: 0,
        }
    }

    #[test]
    fn a_period_defaults_to_the_last_thirty_days_and_refuses_reversed_or_long_ones() {
        let today = date("2026-11-29");
        assert_eq!(Period::new(None, None, today), Ok(Period { from: date("2026-10-31"), to: today }));
        assert_eq!(Period::new(Some(today), Some(date("2026-11-28")), today), Err(PeriodError::Reversed));
        assert_eq!(Period::new(Some(date("2020-01-01")), Some(today), today), Err(PeriodError::TooLong));
        let period = Period::new(Some(date("2026-11-01")), Some(date("2026-11-10")), today).unwrap();
        assert_eq!(period.previous(), Period { from: date("2026-10-22"), to: date("2026-10-31") });
    }

    #[test]
    fn weeks_start_on_monday_months_on_the_first_and_both_are_clipped_to_the_period() {
        // 2026-11-29 is a Sunday; 2026-11-30 a Monday.
        let days = [day("2026-11-28", 1, 1000, 0), day("2026-11-29", 2, 3000, 500), day("2026-11-30", 1, 999, 0)];
        let weeks = buckets(&days, Granularity::Week);
        assert_eq!(weeks.len(), 2);
        assert_eq!((weeks[0].start, weeks[0].end), (date("2026-11-28"), date("2026-11-29")));
        assert_eq!((weeks[0].orders, weeks[0].items), (3, 6));
        assert_eq!(weeks[0].revenue(), Money::from_cents(3500));
        assert_eq!(weeks[0].average_order_value(), Money::from_cents(1167));
        let months = buckets(&days, Granularity::Month);
        assert_eq!(months.len(), 1);
        assert_eq!(months[0].revenue(), Money::from_cents(4499));
        assert_eq!(buckets(&days, Granularity::Day).len(), 3);
    }

    #[test]
    fn buyers_count_each_client_once_and_repeat_ones_across_days() {
        let days = [vec![3, 7, 7], vec![1, 3], vec![]];
        assert_eq!(buyers(&days), Buyers { active: 3, repeat: 2 });
        assert_eq!(buyers(&[]), Buyers::default());
    }

    #[test]
    fn kpis_compare_with_the_previous_period_and_count_clv_over_all_history() {
        let today = date("2026-11-10");
        let period = Period::new(Some(date("2026-11-06")), Some(date("2026-11-10")), today).unwrap();
        let mut history = vec![
            day("2026-10-01", 1, 5000, 0),
            day("2026-11-02", 2, 2000, 0),
            day("2026-11-07", 2, 4000, 1000),
            day("2026-11-11", 9, 90000, 0),
        ];
        history[0].first_time_buyers = 1;
        history[1].first_time_buyers = 1;
        history[2].first_time_buyers = 1;
        history[2].new_clients = 4;
        let kpis = kpis(period, &history, Buyers { active: 2, repeat: 1 });
        assert_eq!(kpis.sales.revenue(), Money::from_cents(3000));
        assert_eq!(kpis.previous_revenue, Money::from_cents(2000));
        assert_eq!(kpis.growth_percent, Some(Decimal::new(5000, 2)));
        assert_eq!(kpis.new_clients, 4);
        assert_eq!(kpis.repeat_purchase_rate_percent, Some(Decimal::new(5000, 2)));
        assert_eq!((kpis.revenue_to_date, kpis.paying_clients_to_date), (Money::from_cents(10000), 3));
        assert_eq!(kpis.clv, Money::from_cents(3333));
        let quiet = super::kpis(period.previous().previous(), &history, Buyers::default());
        assert_eq!((quiet.growth_percent, quiet.repeat_purchase_rate_percent), (None, None));
    }

    #[test]
    fn rankings_order_by_one_measure_then_the_other_then_the_name() {
        let product = |name: &str, category: Option<u128>, units: i64, cents: i64| ProductSales {
            product_id: ProductId(uuid::Uuid::from_u128(name.len() as u128)),
            name: name.into(),
            category_id: category.map(|c| CategoryId(uuid::Uuid::from_u128(c))),
            category: category.map(|c| format!("cat{c}")),
            units,
            revenue: Money::from_cents(cents),
        };
        let products = [product("a", Some(1), 5, 500), product("bb", Some(1), 2, 9000), product("ccc", None, 5, 700)];
        let names = |ps: Vec<ProductSales>| ps.into_iter().map(|p| p.name).collect::<Vec<_>>();
        assert_eq!(names(top_products(&products, RankBy::Units, 10)), ["ccc", "a", "bb"]);
        assert_eq!(names(top_products(&products, RankBy::Revenue, 2)), ["bb", "ccc"]);
        let categories = top_categories(&products, RankBy::Units, 10);
        assert_eq!(categories.len(), 2);
        assert_eq!((categories[0].name.as_deref(), categories[0].units), (Some("cat1"), 7));
        assert_eq!(categories[0].revenue, Money::from_cents(9500));
        assert_eq!((categories[1].category_id, categories[1].units), (None, 5));
    }

    #[test]
    fn spenders_and_cohorts_follow_each_client_from_its_first_order() {
        let day = |text: &str, orders: Vec<(i32, i64)>| DailyClientOrders {
            day: date(text),
            client_numbers: orders.iter().map(|o| o.0).collect(),
            order_cents: orders.iter().map(|o| o.1).collect(),
        };
        let history = [
            day("2026-08-20", vec![(1, 500)]),
            day("2026-09-02", vec![(2, 100), (3, 700)]),
            day("2026-10-15", vec![(1, 200), (2, 300), (2, 300)]),
            day("2026-11-01", vec![(4, 50), (3, 100)]),
        ];
        let top = top_spenders(&history[1..], 2);
        assert_eq!(
            top,
            vec![
                ClientSpend { number: 3, orders: 2, spend_cents: 800 },
                ClientSpend { number: 2, orders: 3, spend_cents: 700 },
            ]
        );
        let cohorts = cohorts(&history, date("2026-09-10"), date("2026-11-30"));
        assert_eq!(cohorts.len(), 3, "September to November");
        assert_eq!(
            (cohorts[0].month, cohorts[0].clients, cohorts[0].active.clone()),
            (date("2026-09-01"), 2, vec![2, 1, 1])
        );
        assert_eq!((cohorts[1].clients, cohorts[1].active.clone()), (0, vec![0, 0]), "client 1 began in August");
        assert_eq!((cohorts[2].clients, cohorts[2].active.clone()), (1, vec![1]));
    }

    #[test]
    fn a_period_is_zero_filled_after_the_days_given() {
        let period = Period { from: date("2026-11-28"), to: date("2026-12-01") };
        let filled = zero_filled(vec![day("2026-11-28", 1, 100, 0), day("2026-11-29", 2, 200, 0)], period);
        assert_eq!(
            filled.iter().map(|d| d.day.to_string()).collect::<Vec<_>>(),
            ["2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01"]
        );
        assert_eq!(filled.iter().map(|d| d.orders).collect::<Vec<_>>(), [1, 2, 0, 0]);
    }

    #[test]
    fn averages_round_half_away_from_zero_and_are_zero_without_orders() {
        assert_eq!(average(Money::from_cents(1), 2), Money::from_cents(1));
        assert_eq!(average(Money::from_cents(-1), 2), Money::from_cents(-1));
        assert_eq!(average(Money::from_cents(1000), 3), Money::from_cents(333));
        assert_eq!(average(Money::from_cents(1000), 0), Money::ZERO);
    }

    fn workshop_day(text: &str, modality: &str, category: &str, enrollments: i64, received: i64) -> WorkshopDay {
        WorkshopDay {
            day: date(text),
            workshop_id: WorkshopId(uuid::Uuid::nil()),
            modality: modality.to_string(),
            category_id: InterestId(uuid::Uuid::nil()),
            category: category.to_string(),
            enrollments,
            received: Money::from_cents(received),
            refunded: Money::from_cents(received / 10),
        }
    }

    #[test]
    fn workshop_income_fills_every_bucket_clipped_to_the_period() {
        let period = Period { from: date("2026-01-28"), to: date("2026-03-02") };
        let days = [
            workshop_day("2026-03-02", "online", "Glazing", 1, 1_000),
            workshop_day("2026-01-28", "online", "Glazing", 2, 5_000),
            workshop_day("2026-01-31", "in_person", "Joinery", 1, 2_000),
        ];
        let months = workshop_income(&days, period, Granularity::Month);
        let spans: Vec<(String, String, i64, Money)> =
            months.iter().map(|b| (b.start.to_string(), b.end.to_string(), b.enrollments, b.income())).collect();
        assert_eq!(
            spans,
            [
                ("2026-01-28".into(), "2026-01-31".into(), 3, Money::from_cents(6_300)),
                ("2026-02-01".into(), "2026-02-28".into(), 0, Money::ZERO),
                ("2026-03-01".into(), "2026-03-02".into(), 1, Money::from_cents(900)),
            ]
        );
        assert_eq!(workshop_income(&days, period, Granularity::Day).len(), 34);
        let by_modality = workshop_groups(&[], &days, WorkshopGrouping::Modality);
        let keys: Vec<(&str, i64)> = by_modality.iter().map(|g| (g.key.as_str(), g.enrollments)).collect();
        assert_eq!(keys, [("in_person", 1), ("online", 3)]);
        assert_eq!(by_modality[0].occupancy_percent(), None, "no workshop held: no occupancy");
    }
}
