//! Rules for user-supplied free-form JSON (preferences, attributes) that is stored in MongoDB.
//!
//! Such JSON must never be able to act as a query or an update operator, so keys that start
//! with `$` or contain `.` are refused, as are empty keys and NUL bytes. Size and depth are capped
//! so one client cannot grow a document towards MongoDB's 16 MiB limit.

use serde_json::{Map, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, Schema};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Largest serialized size of one free-form object (preferences or attributes).
pub const MAX_OBJECT_BYTES: usize = 16 * 1024;
/// Deepest nesting of objects/arrays inside one free-form object.
pub const MAX_DEPTH: usize = 8;
/// Longest key.
pub const MAX_KEY_CHARS: usize = 100;

// Names for the OpenAPI schemas of free-form documents; the HTTP layer's spec module fills in
// their full JSON Schema (key rules, known preference keys).
macro_rules! named_object_schema {
    ($name:ident, $description:literal) => {
        #[doc = $description]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new().description(Some($description)).into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

named_object_schema!(FreeFormObject, "Free-form JSON object stored in MongoDB.");
named_object_schema!(Preferences, "Client preferences stored in MongoDB.");

/// A client tag: 1 to 50 characters, starting with neither white space nor `$`, without NUL.
pub struct Tag;

pub const TAG_PATTERN: &str = r"^[^$\s\u0000][^\u0000]{0,49}$";

impl PartialSchema for Tag {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(50))
            .pattern(Some(TAG_PATTERN))
            .examples([serde_json::json!("newsletter")])
            .into()
    }
}

impl ToSchema for Tag {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Tag")
    }
}

/// Whether a tag follows `TAG_PATTERN`.
pub fn is_valid_tag(tag: &str) -> bool {
    let count = tag.chars().count();
    let first_ok = tag.chars().next().is_some_and(|c| c != '$' && !crate::domain::free_form::is_ecma_space(c));
    first_ok && count <= 50 && !tag.contains('\0')
}

/// White space as JavaScript's `\s` defines it, which is what the spec's patterns use.
pub fn is_ecma_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{feff}')
}

/// One problem found in user input, addressed by a JSON-pointer-like dotted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: String,
    pub code: Cow<'static, str>,
    pub message: String,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, code: &'static str, message: impl Into<String>) -> Self {
        Self { field: field.into(), code: Cow::Borrowed(code), message: message.into() }
    }
}

/// Checks keys, depth and size of a free-form object; `root` names the field in messages.
pub fn check_object(root: &str, object: &Map<String, Value>) -> Vec<FieldIssue> {
    let mut issues = Vec::new();
    check_map(root, object, 1, &mut issues);
    if issues.is_empty() {
        let size = serde_json::to_vec(object).map(|bytes| bytes.len()).unwrap_or(usize::MAX);
        if size > MAX_OBJECT_BYTES {
            issues.push(FieldIssue::new(
                root,
                "too_large",
                format!("is {size} bytes serialized; at most {MAX_OBJECT_BYTES} are allowed"),
            ));
        }
    }
    issues
}

fn check_map(path: &str, map: &Map<String, Value>, depth: usize, issues: &mut Vec<FieldIssue>) {
    if depth > MAX_DEPTH {
        issues.push(FieldIssue::new(path, "too_deep", format!("nests deeper than {MAX_DEPTH} levels")));
        return;
    }
    for (key, value) in map {
        let child = format!("{path}.{key}");
        if let Some(problem) = key_problem(key) {
            issues.push(FieldIssue::new(child.clone(), "invalid_key", problem));
            continue;
        }
        check_value(&child, value, depth, issues);
    }
}

fn check_value(path: &str, value: &Value, depth: usize, issues: &mut Vec<FieldIssue>) {
    match value {
        Value::Object(map) => check_map(path, map, depth + 1, issues),
        Value::Array(items) => {
            if depth + 1 > MAX_DEPTH {
                issues.push(FieldIssue::new(path, "too_deep", format!("nests deeper than {MAX_DEPTH} levels")));
                return;
            }
            for (index, item) in items.iter().enumerate() {
                check_value(&format!("{path}[{index}]"), item, depth + 1, issues);
            }
        }
        _ => {}
    }
}

fn key_problem(key: &str) -> Option<String> {
    if key.is_empty() {
        Some("keys must not be empty".into())
    } else if key.starts_with('$') {
        Some("keys must not start with '$'".into())
    } else if key.contains('.') {
        Some("keys must not contain '.'".into())
    } else if key.contains('\0') {
        Some("keys must not contain NUL characters".into())
    } else if key.chars().count() > MAX_KEY_CHARS {
        Some(format!("keys must be at most {MAX_KEY_CHARS} characters"))
    } else {
        None
    }
}

/// Extra rules for the well-known preference keys; any other key is free-form.
pub fn check_preferences(preferences: &Map<String, Value>) -> Vec<FieldIssue> {
    let mut issues = check_object("preferences", preferences);
    match preferences.get("language") {
        None | Some(Value::Null) => {}
        Some(Value::String(tag)) if is_language_tag(tag) => {}
        Some(_) => issues.push(FieldIssue::new(
            "preferences.language",
            "invalid_value",
            "must be a language tag such as \"en\" or \"pt-BR\"",
        )),
    }
    match preferences.get("payment_method") {
        None | Some(Value::Null) => {}
        Some(Value::String(method)) if (1..=50).contains(&method.chars().count()) => {}
        Some(_) => issues.push(FieldIssue::new(
            "preferences.payment_method",
            "invalid_value",
            "must be a string of 1 to 50 characters",
        )),
    }
    match preferences.get("notifications") {
        None | Some(Value::Null) | Some(Value::Bool(_)) => {}
        Some(Value::Object(channels)) if channels.values().all(Value::is_boolean) => {}
        Some(_) => issues.push(FieldIssue::new(
            "preferences.notifications",
            "invalid_value",
            "must be a boolean or an object of booleans per channel, e.g. {\"email\": true}",
        )),
    }
    issues
}

fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok =
        parts.next().is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    primary_ok && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

/// RFC 7396 JSON Merge Patch: `null` removes a key, objects merge recursively, anything else
/// replaces.
pub fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, patch_value) in patch {
        match patch_value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(patch_map) => {
                let entry = target.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                if let Value::Object(target_map) = entry {
                    merge_patch(target_map, patch_map);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("test input is an object")
    }

    #[test]
    fn operator_and_dotted_keys_are_rejected_at_any_depth() {
        let issues = check_object("attributes", &object(json!({"ok": {"$where": 1, "a.b": 2}, "$set": 3})));
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, vec!["attributes.ok.$where", "attributes.ok.a.b", "attributes.$set"]);
        assert!(issues.iter().all(|i| i.code == "invalid_key"));
    }

    #[test]
    fn keys_inside_arrays_are_checked_too() {
        let issues = check_object("attributes", &object(json!({"list": [{"$gt": 1}]})));
        assert_eq!(issues[0].field, "attributes.list[0].$gt");
    }

    #[test]
    fn plain_nested_objects_pass() {
        assert!(check_object("attributes", &object(json!({"size": "M", "shoe": {"eu": 42}}))).is_empty());
    }

    #[test]
    fn oversized_objects_are_rejected() {
        let big = "x".repeat(MAX_OBJECT_BYTES);
        let issues = check_object("attributes", &object(json!({ "blob": big })));
        assert_eq!(issues[0].code, "too_large");
    }

    #[test]
    fn deep_nesting_is_rejected() {
        let mut value = json!(1);
        for _ in 0..MAX_DEPTH + 1 {
            value = json!({ "n": value });
        }
        let issues = check_object("attributes", &object(value));
        assert_eq!(issues[0].code, "too_deep");
    }

    #[test]
    fn well_known_preferences_are_type_checked() {
        let issues =
            check_preferences(&object(json!({"language": 5, "notifications": {"email": "yes"}, "theme": "dark"})));
        let fields: Vec<_> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(fields, vec!["preferences.language", "preferences.notifications"]);
        assert!(check_preferences(&object(json!({"language": "pt-BR", "notifications": true}))).is_empty());
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut target = object(json!({"a": "b", "c": {"d": "e", "f": "g"}, "scalar": 1}));
        merge_patch(&mut target, &object(json!({"a": "z", "c": {"f": null}, "scalar": {"now": "object"}, "new": [1]})));
        assert_eq!(Value::Object(target), json!({"a": "z", "c": {"d": "e"}, "scalar": {"now": "object"}, "new": [1]}));
    }
}
