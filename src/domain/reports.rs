//! Report figures as values: a period of days, the daily sales, and their sums by week or month.
//! Days are UTC days; money stays exact (decimal), averages are rounded half away from zero to
//! the cent.

use crate::domain::money::Money;
use chrono::{Datelike, Days, NaiveDate};
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
        let from = from.unwrap_or_else(|| to - Days::new(DEFAULT_DAYS - 1));
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
        Period { from: self.from - length, to: self.to - length }
    }
}

/// One UTC day of sales: orders placed that day and not cancelled (their units and totals), the
/// succeeded refunds of order payments completed that day, and the orders of the day cancelled.
#[derive(Debug, Clone, PartialEq)]
pub struct DailySales {
    pub day: NaiveDate,
    pub orders: i64,
    pub items: i64,
    pub gross: Money,
    pub refunds: Money,
    pub cancelled_orders: i64,
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
    fn averages_round_half_away_from_zero_and_are_zero_without_orders() {
        assert_eq!(average(Money::from_cents(1), 2), Money::from_cents(1));
        assert_eq!(average(Money::from_cents(-1), 2), Money::from_cents(-1));
        assert_eq!(average(Money::from_cents(1000), 3), Money::from_cents(333));
        assert_eq!(average(Money::from_cents(1000), 0), Money::ZERO);
    }
}
