//! The client timeline: what happened to a client, from both stores, newest first.

use crate::domain::events::EventSubject;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

text_enum!(
    /// Where an entry comes from: an event (orders, payments, enrollments, subscriptions, the
    /// client record), a MongoDB comment, or a notification sent to the client.
    EntryKind { Event => "event", Comment => "comment", Notification => "notification" }
);

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub kind: EntryKind,
    /// The event type, `comment`, or the notification's template.
    pub entry_type: String,
    pub at: DateTime<Utc>,
    /// The entry's own id (event, comment or notification).
    pub id: Uuid,
    pub summary: String,
    /// The resource the entry is about (an event's subject; a notification's event's subject).
    pub subject: Option<EventSubject>,
}

/// Where a page ended: entries are ordered by (`at`, `id`), newest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub at: crate::domain::time::Timestamp,
    pub id: Uuid,
}

impl Entry {
    pub fn position(&self) -> Position {
        Position { at: crate::domain::time::Timestamp(self.at), id: self.id }
    }

    /// Whether the entry comes after `position` in the timeline (is older).
    pub fn after(&self, position: &Position) -> bool {
        (self.at, self.id) < (position.at.get(), position.id)
    }
}

/// Merges the sources' pages (each newest first, each holding up to `limit + 1` entries after
/// the cursor) into one page of `limit`, newest first; `true` when more follow.
pub fn merge(sources: Vec<Vec<Entry>>, limit: usize) -> (Vec<Entry>, bool) {
    let mut all: Vec<Entry> = sources.into_iter().flatten().collect();
    all.sort_by_key(|entry| std::cmp::Reverse((entry.at, entry.id)));
    let more = all.len() > limit;
    all.truncate(limit);
    (all, more)
}

fn text<'a>(data: &'a Value, key: &str) -> &'a str {
    data.get(key).and_then(Value::as_str).unwrap_or("?")
}

/// A line saying what an event did, from its data (the resource as the API showed it).
pub fn summarize_event(event_type: &str, data: &Value) -> String {
    match event_type {
        "client.created" => "Became a client".into(),
        "client.updated" => "Client record updated".into(),
        "client.deleted" => "Client deleted".into(),
        "client.preferences_changed" => "Preferences changed".into(),
        "order.placed" => format!("Placed order {} ({})", text(data, "id"), text(data, "total")),
        "order.status_changed" => format!("Order {} is now {}", text(data, "id"), text(data, "status")),
        "order.cancelled" => format!("Order {} cancelled", text(data, "id")),
        "payment.succeeded" => format!("Paid {} by {}", text(data, "amount"), text(data, "method")),
        "payment.failed" => format!("Payment of {} failed: {}", text(data, "amount"), text(data, "failure_message")),
        "refund.created" => format!("Refund of {}: {}", text(data, "amount"), text(data, "reason")),
        "refund.succeeded" => format!("Refunded {}", text(data, "amount")),
        "refund.failed" => format!("Refund of {} failed", text(data, "amount")),
        "payment.refunded" => format!("Payment of {} refunded in full", text(data, "amount")),
        "enrollment.created" => format!("Enrolled in workshop {} ({})", text(data, "workshop_id"), text(data, "price")),
        "enrollment.paid" => format!("Enrollment in workshop {} paid", text(data, "workshop_id")),
        "enrollment.cancelled" => format!("Enrollment in workshop {} cancelled", text(data, "workshop_id")),
        "subscription.activated" => format!("Plan {} active until {}", text(data, "plan"), text(data, "paid_until")),
        "subscription.past_due" => format!("Plan {} past due", text(data, "plan")),
        other => other.to_string(),
    }
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn entry(kind: EntryKind, second: u32, id: u128) -> Entry {
        Entry {
            kind,
            entry_type: "x".into(),
            at: Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, second).single().expect("time"),
            id: Uuid::from_u128(id),
            summary: String::new(),
            subject: None,
        }
    }

    #[test]
    fn sources_merge_newest_first_and_say_whether_more_follow() {
        let events = vec![entry(EntryKind::Event, 5, 1), entry(EntryKind::Event, 1, 2)];
        let comments = vec![entry(EntryKind::Comment, 4, 3), entry(EntryKind::Comment, 4, 9)];
        let notes = vec![entry(EntryKind::Notification, 6, 4)];
        let (page, more) = merge(vec![events, comments, notes], 3);
        let ids: Vec<u128> = page.iter().map(|e| e.id.as_u128()).collect();
        assert_eq!(ids, [4, 1, 9]);
        assert!(more);
        assert!(page[2].after(&page[1].position()) && !page[0].after(&page[1].position()));
    }

    #[test]
    fn long_comments_are_clipped() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }
}
