//! Turns `validator` results and custom checks into `FieldIssue`s with dotted field paths.

use crate::domain::free_form::FieldIssue;
use crate::domain::money::Money;
use std::borrow::Cow;
use validator::{ValidationError, ValidationErrors, ValidationErrorsKind};

pub fn issues(errors: &ValidationErrors) -> Vec<FieldIssue> {
    let (mut out, mut across) = (Vec::new(), Vec::new());
    collect("", errors, &mut out, &mut across);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out.append(&mut across);
    out
}

/// A type's rules across fields, as the result of a validator `schema` function:
/// `#[validate(schema(function = "…", skip_on_field_errors = false))]`. The issues travel in the
/// error's parameters and come out beside the fields' own, so one 422 names everything wrong.
pub fn rules(found: Vec<FieldIssue>) -> Result<(), ValidationError> {
    if found.is_empty() {
        return Ok(());
    }
    let mut error = ValidationError::new(RULES);
    let listed: Vec<_> = found
        .into_iter()
        .map(|issue| serde_json::json!({"field": issue.field, "code": issue.code, "message": issue.message}))
        .collect();
    error.add_param(Cow::Borrowed(RULES), &listed);
    Err(error)
}

const RULES: &str = "rules";

fn unpack_rules(prefix: &str, error: &ValidationError, out: &mut Vec<FieldIssue>) {
    let listed = error.params.get(RULES).and_then(|v| v.as_array()).into_iter().flatten();
    out.extend(listed.map(|issue| {
        let text = |key: &str| issue.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let field = if prefix.is_empty() { text("field") } else { format!("{prefix}.{}", text("field")) };
        FieldIssue { field, code: Cow::Owned(text("code")), message: text("message") }
    }));
}

/// The fields' own issues go to `out`, the rules' (in the order the rules found them) to `across`.
fn collect(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldIssue>, across: &mut Vec<FieldIssue>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            ValidationErrorsKind::Field(list) if field == "__all__" => {
                list.iter().for_each(|error| unpack_rules(prefix, error, across));
            }
            ValidationErrorsKind::Field(list) => {
                out.extend(list.iter().map(|error| to_issue(&path, error)));
            }
            ValidationErrorsKind::Struct(nested) => collect(&path, nested, out, across),
            ValidationErrorsKind::List(items) => {
                for (index, nested) in items {
                    collect(&format!("{path}[{index}]"), nested, out, across);
                }
            }
        }
    }
}

fn to_issue(path: &str, error: &ValidationError) -> FieldIssue {
    let message = error.message.clone().map(Cow::into_owned).unwrap_or_else(|| describe(error));
    let code: &'static str = match error.code.as_ref() {
        "length" => "invalid_length",
        "email" => "invalid_email",
        "range" => "out_of_range",
        "phone" => "invalid_phone",
        "blank" => "blank",
        "too_many" => "too_many",
        "required" => "required",
        "slug" => "invalid_slug",
        "invalid_character" => "invalid_character",
        "invalid_length" => "invalid_length",
        "too_common" => "too_common",
        _ => "invalid",
    };
    FieldIssue::new(path, code, message)
}

fn describe(error: &ValidationError) -> String {
    let param = |name: &str| error.params.get(name).map(|v| v.to_string());
    // The length rule counts a list's items and a text's characters.
    let list = error.params.get("value").is_some_and(serde_json::Value::is_array);
    match (error.code.as_ref(), param("min"), param("max")) {
        ("length", Some(min), Some(max)) if list => format!("must list {min} to {max} items"),
        ("length", None, Some(max)) if list => format!("must list at most {max} items"),
        ("length", Some(min), None) if list => format!("must list at least {min} items"),
        ("length", Some(min), Some(max)) => format!("must be {min} to {max} characters long"),
        ("length", None, Some(max)) => format!("must be at most {max} characters long"),
        ("length", Some(min), None) => format!("must be at least {min} characters long"),
        ("range", Some(min), Some(max)) => format!("must be between {min} and {max}"),
        ("email", ..) => "must be a valid email address".into(),
        ("required", ..) => "is required".into(),
        _ => format!("is invalid ({})", error.code),
    }
}

/// Phone numbers: digits with optional `+`, spaces, dashes, dots and parentheses; 6–40 chars
/// and at least 6 digits.
pub fn phone(value: &str) -> Result<(), ValidationError> {
    let allowed = value.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let digits = value.chars().filter(char::is_ascii_digit).count();
    if allowed && digits >= 6 && value.chars().count() <= 40 {
        Ok(())
    } else {
        Err(ValidationError::new("phone").with_message("must be a phone number such as +1 555 0100 200".into()))
    }
}

/// Search text: no control characters (NUL cannot be compared by PostgreSQL, and the search
/// columns join their parts with one).
pub fn search_text(value: &str) -> Result<(), ValidationError> {
    if value.chars().any(char::is_control) {
        Err(ValidationError::new("invalid_character").with_message("must not contain control characters".into()))
    } else {
        Ok(())
    }
}

/// Text that is not only white space (empty text is left to the length rule, to report it once).
pub fn not_blank(value: &str) -> Result<(), ValidationError> {
    if !value.is_empty() && value.chars().all(crate::domain::free_form::is_ecma_space) {
        Err(ValidationError::new("blank").with_message("must not be blank".into()))
    } else {
        Ok(())
    }
}

/// A new password: 8 to 128 characters and not one of the most common (NIST SP 800-63B); no
/// composition rules.
pub fn new_password(value: &str) -> Result<(), ValidationError> {
    match crate::domain::auth::password_issue(value) {
        Some((code, message)) => Err(ValidationError::new(code).with_message(message.into())),
        None => Ok(()),
    }
}

/// URL slugs: lowercase letters and digits in words joined by single dashes.
pub fn slug(value: &str) -> Result<(), ValidationError> {
    let shaped = !value.is_empty()
        && value
            .split('-')
            .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    if shaped {
        Ok(())
    } else {
        Err(ValidationError::new("slug").with_message("must be lowercase words of a-z and 0-9 joined by dashes".into()))
    }
}

/// Largest price or fixed amount the shop handles.
pub const MAX_PRICE: Money = Money::from_cents_const(100_000_000);

/// Prices: more than zero, at most 1,000,000.00.
pub fn price(value: &Money) -> Result<(), ValidationError> {
    if value.is_zero() || *value > MAX_PRICE {
        Err(ValidationError::new("range").with_message("must be more than 0 and at most 1000000.00".into()))
    } else {
        Ok(())
    }
}

/// Payment and refund amounts: more than 0 (the money format caps them at ten integer digits).
pub fn positive(value: &Money) -> Result<(), ValidationError> {
    if value.is_zero() {
        Err(ValidationError::new("range").with_message("must be more than 0".into()))
    } else {
        Ok(())
    }
}

/// Amounts that may be zero (minimums), at most 1,000,000.00.
pub fn amount(value: &Money) -> Result<(), ValidationError> {
    if *value > MAX_PRICE {
        Err(ValidationError::new("range").with_message("must be at most 1000000.00".into()))
    } else {
        Ok(())
    }
}

/// For PATCH bodies: a present key (even `null`) becomes `Some(..)`, an absent key stays `None`
/// through `#[serde(default)]`, so `null` can clear a nullable field.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}

/// An optional count that JSON may write as `4710` or `4710.0` (JSON Schema's `integer` admits
/// both); a fraction, a negative or a number past `u32` is refused naming the field.
pub fn optional_whole<'de, D>(deserializer: D) -> Result<Option<u32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error;
    let Some(number) = <Option<serde_json::Number> as serde::Deserialize>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = match number.as_u64() {
        Some(n) => Some(n),
        None => {
            number.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX)).map(|f| f as u64)
        }
    };
    whole.and_then(|n| u32::try_from(n).ok()).map(Some).ok_or_else(|| {
        D::Error::custom(format!("invalid value: {number}, expected a whole number from 0 to {}", u32::MAX))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use validator::Validate;

    #[test]
    fn rules_across_fields_are_named_after_the_fields_own_issues_even_when_those_fail() {
        #[derive(Validate)]
        #[validate(schema(function = pair_rules, skip_on_field_errors = false))]
        struct Pair {
            #[validate(length(max = 1))]
            b: String,
            a: Option<u8>,
        }
        fn pair_rules(pair: &Pair) -> Result<(), ValidationError> {
            let mut found = vec![FieldIssue::new("z", "first", "found first")];
            if pair.a.is_none() {
                found.push(FieldIssue::new("a", "required", "give a"));
            }
            rules(found)
        }
        let found = issues(&Pair { b: "too long".into(), a: None }.validate().unwrap_err());
        let named: Vec<_> = found.iter().map(|i| (i.field.as_str(), i.code.as_ref(), i.message.as_str())).collect();
        assert_eq!(
            named,
            [
                ("b", "invalid_length", "must be at most 1 characters long"),
                ("z", "first", "found first"),
                ("a", "required", "give a")
            ]
        );
        assert!(Pair { b: String::new(), a: Some(1) }.validate().is_err());
    }

    #[test]
    fn whole_numbers_may_be_written_with_a_zero_fraction() {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "optional_whole")]
            n: Option<u32>,
        }
        let read = |text: &str| serde_json::from_str::<Body>(text).map(|b| b.n);
        assert_eq!(read(r#"{"n": 4710}"#).ok(), Some(Some(4710)));
        assert_eq!(read(r#"{"n": 4710.0}"#).ok(), Some(Some(4710)));
        assert_eq!(read(r#"{"n": null}"#).ok(), Some(None));
        assert_eq!(read(r#"{}"#).ok(), Some(None));
        for bad in [r#"{"n": 1.5}"#, r#"{"n": -1}"#, r#"{"n": 5000000000}"#, r#"{"n": "7"}"#] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phone_numbers_need_digits_and_no_letters() {
        assert!(phone("+1 (555) 010-0200").is_ok());
        assert!(phone("12345").is_err());
        assert!(phone("555-CALL-NOW").is_err());
    }

    #[test]
    fn slugs_are_checked_and_derived_from_names() {
        assert!(slug("dovetail-kit-2").is_ok());
        for bad in ["", "-a", "a-", "a--b", "A", "a b", "ñ"] {
            assert!(slug(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn blank_text_is_refused() {
        assert!(not_blank("  \t").is_err());
        assert!(not_blank(" a ").is_ok());
    }
}
