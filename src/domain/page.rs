//! Keyset pagination: opaque cursors (base64url of a small JSON position) and pages.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Default and largest page sizes for every list endpoint.
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;
/// Longest cursor accepted; the API's own are far shorter.
pub const MAX_CURSOR_LENGTH: usize = 1024;

/// Which page of a list: how many items, after which position.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// 1 to `MAX_LIMIT`.
    pub limit: i64,
    /// `next_cursor` of the previous page; `None` (or empty) for the first page.
    pub cursor: Option<String>,
}

impl PageRequest {
    pub fn first(limit: i64) -> Self {
        PageRequest { limit: limit.clamp(1, MAX_LIMIT), cursor: None }
    }

    /// The cursor, unless absent or empty (an empty `cursor=` means the first page).
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }

    /// Rows to fetch: one more than the page, to know whether another page follows.
    pub fn overfetch(&self) -> i64 {
        self.limit.clamp(1, MAX_LIMIT) + 1
    }
}

/// Why a cursor was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorError {
    /// Not a cursor this API produced for this list and sort.
    Invalid,
    /// A cursor-shaped position with a timestamp the API cannot store.
    OutOfRange,
}

pub fn encode_cursor<T: Serialize>(position: &T) -> String {
    // Serializing plain structs of strings, ids and timestamps cannot fail.
    let json = serde_json::to_vec(position).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor into its position. Crafted cursors are refused whatever they hold: text
/// that is not base64url JSON of the position's shape, strings with NUL characters (which
/// PostgreSQL cannot compare), and timestamps outside the storable years.
pub fn decode_cursor<T: DeserializeOwned>(cursor: &str) -> Result<T, CursorError> {
    if cursor.len() > MAX_CURSOR_LENGTH {
        return Err(CursorError::Invalid);
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor.as_bytes()).map_err(|_| CursorError::Invalid)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| CursorError::Invalid)?;
    if holds_nul(&value) {
        return Err(CursorError::Invalid);
    }
    serde_json::from_value(value).map_err(|err| {
        if err.to_string().contains(crate::domain::time::OUT_OF_RANGE) {
            CursorError::OutOfRange
        } else {
            CursorError::Invalid
        }
    })
}

fn holds_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(holds_nul),
        Value::Object(map) => map.iter().any(|(key, v)| key.contains('\0') || holds_nul(v)),
        _ => false,
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

    /// `map` with a conversion that may fail (the first error is the page's).
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Page<U>, E> {
        Ok(Page { items: self.items.into_iter().map(f).collect::<Result<_, E>>()?, next_cursor: self.next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::Timestamp;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = encode_cursor(&("Ann", 7));
        assert_eq!(decode_cursor::<(String, i32)>(&cursor), Ok(("Ann".to_string(), 7)));
        assert_eq!(decode_cursor::<(String, i32)>("not a cursor!"), Err(CursorError::Invalid));
        assert_eq!(decode_cursor::<(String, i32)>(&encode_cursor(&[1, 2])), Err(CursorError::Invalid));
    }

    #[test]
    fn cursors_holding_nul_characters_are_refused() {
        let crafted = URL_SAFE_NO_PAD.encode(br#"["a\u0000b", 7]"#);
        assert_eq!(decode_cursor::<(String, i32)>(&crafted), Err(CursorError::Invalid));
    }

    #[test]
    fn cursors_with_unstorable_timestamps_are_out_of_range() {
        let crafted = URL_SAFE_NO_PAD.encode(br#"["-10000-01-01T00:00:00Z", 7]"#);
        assert_eq!(decode_cursor::<(Timestamp, i32)>(&crafted), Err(CursorError::OutOfRange));
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
