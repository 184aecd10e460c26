//! The client timeline: the client's events (orders, payments, enrollments, subscriptions, the
//! record itself) and notifications from PostgreSQL, and its comments from MongoDB, read
//! concurrently and merged newest first. If MongoDB does not answer, the page holds what
//! PostgreSQL has and says comments are missing (like the client view).

use super::clients::ensure_exists;
use super::{cursor_position, degraded_reason, AppResult, AppState};
use crate::domain::access::{Family, Grant};
use crate::domain::events::{EventSubject, EventType, SubjectKind};
use crate::domain::ids::{ClientId, CommentId};
use crate::domain::notifications::Template;
use crate::domain::page::{encode_cursor, PageRequest};
use crate::domain::timeline::{clip, merge, summarize_event, Entry, EntryKind, Position};
use crate::domain::view::Degraded;
use crate::store::pg::{events, notifications};

/// Longest comment text a timeline entry shows.
const SUMMARY_CHARS: usize = 140;

#[derive(Debug, Clone)]
pub struct TimelinePage {
    pub items: Vec<Entry>,
    pub next_cursor: Option<String>,
    pub degraded: Option<Degraded>,
    /// The kinds of entries left out for the caller, with the family that would show them.
    pub withheld: Vec<(Family, String)>,
}

/// The entries `grant` may read: events of the families it reads, notifications whose message
/// shows only such families, and comments (the client's own family). What is left out is listed
/// in `withheld` as (family, kind of entry).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn timeline(state: &AppState, client: ClientId, page: PageRequest, grant: Grant) -> AppResult<TimelinePage> {
    let after = cursor_position::<Position>(&page)?;
    let limit = page.overfetch();
    let before = after.map(|p| (p.at.get(), p.id));
    let mut withheld = Vec::new();
    let mut event_types = Vec::new();
    for event_type in EventType::ALL.iter().filter(|t| **t != EventType::ClientCommentAdded) {
        let left_out = (event_type.scope_family(), format!("{}.* events", event_type.family()));
        match grant.reads(event_type.scope_family()) {
            true => event_types.push(event_type.as_str()),
            false if !withheld.contains(&left_out) => withheld.push(left_out),
            false => {}
        }
    }
    let mut templates = Vec::new();
    for template in Template::ALL {
        match template.scope_families().iter().find(|family| !grant.reads(**family)) {
            None => templates.push(template.as_str()),
            Some(family) => withheld.push((*family, format!("{} notifications", template.as_str()))),
        }
    }
    let postgres = state.db.read(move |conn| {
        let events = events::of_client(conn, client.0, &event_types, before, limit)?;
        let notifications = notifications::of_client(conn, client, &templates, before, limit)?;
        let sent_for: Vec<uuid::Uuid> = notifications.iter().filter_map(|n| n.5).collect();
        let subjects = events::subjects_of(conn, &sent_for)?;
        Ok((events, notifications, subjects))
    });
    // Comments are ordered by their time-ordered ids: everything up to the cursor's millisecond
    // is fetched, and the exact (time, id) order is applied below.
    let comment_bound = after.map(|p| {
        let millis = u64::try_from(p.at.get().timestamp_millis()).unwrap_or(0);
        CommentId(uuid::Builder::from_unix_timestamp_millis(millis, &[0xff; 10]).into_uuid())
    });
    let (exists, rows, comments) =
        tokio::join!(ensure_exists(state, client), postgres, state.info.comments_page(client, comment_bound, limit));
    exists?;
    let (event_rows, notification_rows, subject_rows) = rows?;
    let subject = |kind: &str, id| SubjectKind::parse(kind).map(|kind| EventSubject { kind, id });
    let subjects: std::collections::HashMap<uuid::Uuid, EventSubject> =
        subject_rows.into_iter().filter_map(|(event, kind, id)| Some((event, subject(&kind, id)?))).collect();

    let events: Vec<Entry> = event_rows
        .into_iter()
        .map(|(event_type, at, id, data, subject_type, subject_id)| Entry {
            kind: EntryKind::Event,
            summary: summarize_event(&event_type, &data),
            entry_type: event_type,
            at,
            id,
            subject: subject(&subject_type, subject_id),
        })
        .collect();
    let notifications: Vec<Entry> = notification_rows
        .into_iter()
        .map(|(template, status, at, id, line, event)| Entry {
            kind: EntryKind::Notification,
            summary: format!("{line} ({status})"),
            entry_type: template,
            at,
            id,
            subject: event.and_then(|event| subjects.get(&event).copied()),
        })
        .collect();
    let (comments, degraded) = match comments {
        Ok(found) => (found.unwrap_or_default(), None),
        Err(err) => {
            tracing::warn!(client_id = %client, error = %err, "timeline degraded: comments missing");
            (Vec::new(), Some(Degraded { missing: vec!["comments"], reason: degraded_reason(&err) }))
        }
    };
    let comments: Vec<Entry> = comments
        .into_iter()
        .map(|c| Entry {
            kind: EntryKind::Comment,
            entry_type: "comment".into(),
            at: c.created_at,
            id: c.id.0,
            summary: clip(&c.text, SUMMARY_CHARS),
            subject: None,
        })
        .filter(|entry| after.is_none_or(|p| entry.after(&p)))
        .collect();

    let (items, more) = merge(vec![events, notifications, comments], (limit - 1) as usize);
    let next_cursor = if more { items.last().map(|e| encode_cursor(&e.position())) } else { None };
    Ok(TimelinePage { items, next_cursor, degraded, withheld })
}
