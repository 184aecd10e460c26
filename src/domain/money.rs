//! Exact money: decimal amounts with at most two decimals, written in JSON as strings
//! (`"19.99"`) so no client ever parses them as floating point.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use utoipa::openapi::{ObjectBuilder, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// What a money string looks like: up to ten integer digits, up to two decimals.
pub const MONEY_PATTERN: &str = r"^[0-9]{1,10}(\.[0-9]{1,2})?$";

/// A non-negative amount in the shop's currency, exact to the cent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

impl Money {
    pub const ZERO: Money = Money(Decimal::ZERO);

    /// `cents / 100`, exactly.
    pub fn from_cents(cents: i64) -> Self {
        Money(Decimal::new(cents, 2))
    }

    /// `from_cents` for constants.
    pub const fn from_cents_const(cents: u32) -> Self {
        Money(Decimal::from_parts(cents, 0, 0, false, 2))
    }

    /// Wraps a database value; the schema stores two decimals, so nothing is rounded here.
    pub fn from_decimal(value: Decimal) -> Self {
        Money(value.round_dp(2))
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    /// Parses `"12"`, `"12.5"` or `"12.50"`; refuses signs, exponents, more than two decimals
    /// and more than ten integer digits.
    pub fn parse(text: &str) -> Option<Self> {
        let (whole, cents) = text.split_once('.').unwrap_or((text, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let shaped = (1..=10).contains(&whole.len())
            && digits(whole)
            && digits(cents)
            && cents.len() <= 2
            && !text.ends_with('.');
        if !shaped {
            return None;
        }
        Decimal::from_str_exact(text).ok().map(Money)
    }

    pub fn times(self, quantity: u32) -> Money {
        Money(self.0 * Decimal::from(quantity))
    }

    /// `percent` % of the amount, rounded half to even to the cent (banker's rounding, so
    /// rounding errors do not drift one way over many orders).
    pub fn percent(self, percent: Money) -> Money {
        let exact = self.0 * percent.0 / Decimal::ONE_HUNDRED;
        Money(exact.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven))
    }

    /// `self - other`, never below zero.
    pub fn saturating_sub(self, other: Money) -> Money {
        Money((self.0 - other.0).max(Decimal::ZERO))
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl std::ops::Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Money;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal string such as \"19.99\" (at most two decimals)")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Money, E> {
                Money::parse(text).ok_or_else(|| E::invalid_value(serde::de::Unexpected::Str(text), &self))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl PartialSchema for Money {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(MONEY_PATTERN))
            .description(Some("Exact amount as a decimal string with at most two decimals."))
            .examples([serde_json::json!("19.99")])
            .into()
    }
}

impl ToSchema for Money {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Money")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact() {
        let ten_cents = Money::parse("0.10").unwrap();
        assert_eq!(ten_cents.times(3), Money::parse("0.30").unwrap());
        assert_eq!(ten_cents.times(3).to_string(), "0.30");
        assert_eq!([ten_cents, ten_cents, ten_cents].into_iter().sum::<Money>().to_string(), "0.30");
        assert_eq!(Money::parse("7").unwrap().to_string(), "7.00");
    }

    #[test]
    fn percentages_round_half_to_even_cents() {
        let percent = |amount: &str, p: &str| Money::parse(amount).unwrap().percent(Money::parse(p).unwrap());
        assert_eq!(percent("0.25", "10").to_string(), "0.02"); // 0.025 → 0.02 (2 is even)
        assert_eq!(percent("0.35", "10").to_string(), "0.04"); // 0.035 → 0.04 (4 is even)
        assert_eq!(percent("19.99", "15").to_string(), "3.00"); // 2.9985 → 3.00
        assert_eq!(percent("100.00", "33.33").to_string(), "33.33");
    }

    #[test]
    fn only_plain_decimal_strings_parse() {
        for bad in ["", "-1", "+1", "1e3", "1.234", "1.", ".5", "abc", "12345678901", " 1", "1,00", "NaN"] {
            assert_eq!(Money::parse(bad), None, "{bad:?}");
        }
        assert_eq!(serde_json::from_str::<Money>("\"12.5\"").unwrap().to_string(), "12.50");
        assert!(serde_json::from_str::<Money>("12.5").is_err(), "numbers are refused: they may be floats");
        assert_eq!(serde_json::to_string(&Money::from_cents(1999)).unwrap(), "\"19.99\"");
    }

    #[test]
    fn subtraction_never_goes_below_zero() {
        assert_eq!(Money::from_cents(500).saturating_sub(Money::from_cents(800)), Money::ZERO);
    }
}
