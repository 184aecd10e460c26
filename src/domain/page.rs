//! Opaque cursors for keyset pagination: base64url of a small JSON position.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Default and largest page sizes for every list endpoint.
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

pub fn encode_cursor<T: Serialize>(position: &T) -> String {
    // Serializing plain structs of strings/ids cannot fail.
    let json = serde_json::to_vec(position).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// `None` when the text is not a cursor this API produced (callers answer 400).
pub fn decode_cursor<T: DeserializeOwned>(cursor: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Problems with a `q` search text: too long, or a NUL character (which PostgreSQL refuses).
pub fn search_text_issue(text: &str) -> Option<crate::domain::free_form::FieldIssue> {
    use crate::domain::free_form::FieldIssue;
    if text.chars().count() > 100 {
        Some(FieldIssue::new("q", "invalid_length", "must be at most 100 characters long"))
    } else if text.contains('\0') {
        Some(FieldIssue::new("q", "invalid_character", "must not contain NUL characters"))
    } else {
        None
    }
}

/// A page of items plus the cursor of the next page, if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only proves a next page exists.
    pub fn from_overfetch(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(cursor_of)
        } else {
            None
        };
        Page { items: rows, next_cursor }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next_cursor: self.next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = encode_cursor(&("Ann", 7));
        assert_eq!(decode_cursor::<(String, i32)>(&cursor), Some(("Ann".to_string(), 7)));
        assert_eq!(decode_cursor::<(String, i32)>("not a cursor!"), None);
    }

    #[test]
    fn overfetched_rows_yield_a_next_cursor_only_when_more_exist() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let last = Page::from_overfetch(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.next_cursor, None);
    }
}
