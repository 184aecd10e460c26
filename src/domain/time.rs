//! Instants the API accepts: RFC 3339 timestamps in years 0001 to 9999. RFC 3339 writes four-digit
//! years, and PostgreSQL cannot store some instants chrono can parse (year −10000), so anything
//! outside that range is refused as `out_of_range` before it reaches a query.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, SubsecRound, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use utoipa::openapi::{KnownFormat, ObjectBuilder, RefOr, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

pub const MIN_YEAR: i32 = 1;
pub const MAX_YEAR: i32 = 9999;

/// The text every out-of-range refusal carries: extractors recognise it in deserialization
/// errors and report the field with the code `out_of_range`.
pub const OUT_OF_RANGE: &str = "must fall in years 0001 to 9999";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeError {
    /// Not a timestamp at all.
    Invalid(String),
    /// A timestamp, but outside the years the API stores.
    OutOfRange,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::Invalid(reason) => write!(f, "is not an RFC 3339 timestamp: {reason}"),
            TimeError::OutOfRange => write!(f, "is out of range: it {OUT_OF_RANGE}"),
        }
    }
}

/// Whether PostgreSQL stores the instant and RFC 3339 can write it.
pub fn is_storable(at: &DateTime<Utc>) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&at.year())
}

/// Parses an RFC 3339 timestamp (chrono's relaxed form: a space may stand for `T`) into UTC,
/// at PostgreSQL's precision (microseconds).
pub fn parse(text: &str) -> Result<DateTime<Utc>, TimeError> {
    match text.parse::<DateTime<FixedOffset>>() {
        Ok(at) => {
            let at = at.with_timezone(&Utc).trunc_subsecs(6);
            if is_storable(&at) {
                Ok(at)
            } else {
                Err(TimeError::OutOfRange)
            }
        }
        Err(_) if has_extended_year(text) => Err(TimeError::OutOfRange),
        Err(err) => Err(TimeError::Invalid(err.to_string())),
    }
}

/// `+12345-…`, `-10000-…` or `300000-…`: shaped like a date, with a year of five or more digits
/// or a sign.
fn has_extended_year(text: &str) -> bool {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    let signed = unsigned.len() != text.len();
    digits >= 4 && (signed || digits >= 5) && unsigned.as_bytes().get(digits) == Some(&b'-')
}

/// A timestamp as callers send it: parsed strictly, in range, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn get(self) -> DateTime<Utc> {
        self.0
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(at: Timestamp) -> Self {
        at.0
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp such as \"2026-05-01T09:00:00Z\"")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
                parse(text).map(Timestamp).map_err(|err| E::custom(format!("{text:?} {err}")))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339 timestamp, years 0001 to 9999"))
            .into()
    }
}

impl ToSchema for Timestamp {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Timestamp")
    }
}

/// A calendar day as callers send it (`YYYY-MM-DD`), in years 0001 to 9999: a report period's
/// arithmetic and PostgreSQL's `date` both stay in range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub NaiveDate);

impl Day {
    pub fn get(self) -> NaiveDate {
        self.0
    }
}

/// Parses a `YYYY-MM-DD` day in years 0001 to 9999.
pub fn parse_day(text: &str) -> Result<NaiveDate, TimeError> {
    match text.parse::<NaiveDate>() {
        Ok(day) if (MIN_YEAR..=MAX_YEAR).contains(&day.year()) => Ok(day),
        Ok(_) => Err(TimeError::OutOfRange),
        Err(_) if has_extended_year(text) => Err(TimeError::OutOfRange),
        Err(err) => Err(TimeError::Invalid(err.to_string())),
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Day;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a day such as \"2026-05-01\"")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Day, E> {
                match parse_day(text) {
                    Ok(day) => Ok(Day(day)),
                    Err(TimeError::OutOfRange) => {
                        Err(E::custom(format!("{text:?} is out of range: a day {OUT_OF_RANGE}")))
                    }
                    Err(TimeError::Invalid(reason)) => {
                        Err(E::custom(format!("{text:?} is not a YYYY-MM-DD day: {reason}")))
                    }
                }
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

impl PartialSchema for Day {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .description(Some("A day (YYYY-MM-DD), years 0001 to 9999"))
            .into()
    }
}

impl ToSchema for Day {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Day")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_the_four_digit_years_parse() {
        assert!(parse("2026-05-01T09:00:00Z").is_ok());
        assert!(parse("2026-05-01T09:00:00.123456789+02:00").is_ok());
        assert!(parse("0001-01-01T00:00:00Z").is_ok());
        assert!(parse("9999-12-31T23:59:59Z").is_ok());
    }

    #[test]
    fn years_postgresql_or_rfc_3339_cannot_hold_are_out_of_range() {
        for text in
            ["-10000-01-01T00:00:00Z", "300000-01-01T00:00:00Z", "+12345-01-01T00:00:00Z", "0000-06-01T00:00:00Z"]
        {
            assert_eq!(parse(text), Err(TimeError::OutOfRange), "{text}");
        }
        assert_eq!(parse("0001-01-01T00:00:00+01:00"), Err(TimeError::OutOfRange), "lands in year 0 in UTC");
    }

    #[test]
    fn text_that_is_not_a_timestamp_is_invalid() {
        assert!(matches!(parse("yesterday"), Err(TimeError::Invalid(_))));
        assert!(matches!(parse("2026-13-01T00:00:00Z"), Err(TimeError::Invalid(_))));
    }

    #[test]
    fn refusals_carry_the_out_of_range_marker() {
        let err = serde_json::from_str::<Timestamp>("\"-10000-01-01T00:00:00Z\"").unwrap_err();
        assert!(err.to_string().contains(OUT_OF_RANGE), "{err}");
    }

    #[test]
    fn days_outside_the_four_digit_years_are_out_of_range() {
        assert!(parse_day("2026-05-01").is_ok());
        assert!(parse_day("0001-01-01").is_ok());
        assert!(parse_day("9999-12-31").is_ok());
        for text in ["-262143-01-01", "-262144-01-01", "0000-01-01", "+10000-01-01", "-5000-01-01", "262143-12-31"] {
            assert_eq!(parse_day(text), Err(TimeError::OutOfRange), "{text}");
        }
        assert!(matches!(parse_day("2026-02-30"), Err(TimeError::Invalid(_))));
        let err = serde_json::from_str::<Day>("\"-262143-01-01\"").unwrap_err();
        assert!(err.to_string().contains(OUT_OF_RANGE), "{err}");
    }
}
