//! Notifications: queued once per `dedupe_key`, claimed by senders under a lease
//! (`FOR UPDATE SKIP LOCKED`, so several replicas send each once), finished with the outcome.

use super::column;
use super::schema::notifications;
use crate::domain::ids::{ClientId, NotificationId};
use crate::domain::notifications::{Notification, NotificationStatus, Template, Transport};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

pub struct NewNotification {
    pub client_id: ClientId,
    pub template: Template,
    pub dedupe_key: String,
    pub event_id: Option<Uuid>,
    pub recipient: String,
    pub subject: String,
    pub body: String,
}

/// Queues the notifications whose `dedupe_key` was not queued before, in one statement;
/// returns how many were queued.
pub fn enqueue(conn: &mut PgConnection, new: &[NewNotification], now: DateTime<Utc>) -> QueryResult<usize> {
    if new.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = new
        .iter()
        .map(|n| {
            (
                notifications::id.eq(Uuid::now_v7()),
                notifications::client_id.eq(n.client_id.0),
                notifications::template.eq(n.template.as_str()),
                notifications::dedupe_key.eq(&n.dedupe_key),
                notifications::event_id.eq(n.event_id),
                notifications::recipient.eq(&n.recipient),
                notifications::subject.eq(&n.subject),
                notifications::body.eq(&n.body),
                notifications::next_attempt_at.eq(now),
                notifications::created_at.eq(now),
                notifications::updated_at.eq(now),
            )
        })
        .collect();
    diesel::insert_into(notifications::table)
        .values(&rows)
        .on_conflict(notifications::dedupe_key)
        .do_nothing()
        .execute(conn)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = notifications)]
struct NotificationRow {
    id: Uuid,
    client_id: Uuid,
    template: String,
    recipient: String,
    subject: String,
    body: String,
    status: String,
    transport: Option<String>,
    reason: Option<String>,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl NotificationRow {
    fn into_domain(self) -> QueryResult<Notification> {
        let status = super::parse_text("notifications.status", &self.status, NotificationStatus::parse)?;
        Ok(Notification {
            id: NotificationId(self.id),
            client_id: ClientId(self.client_id),
            template: super::parse_text("notifications.template", &self.template, Template::parse)?,
            recipient: self.recipient,
            subject: self.subject,
            body: self.body,
            status,
            transport: self
                .transport
                .map(|t| super::parse_text("notifications.transport", &t, Transport::parse))
                .transpose()?,
            reason: self.reason,
            attempts: self.attempts,
            next_attempt_at: (status == NotificationStatus::Pending).then_some(self.next_attempt_at),
            created_at: self.created_at,
            sent_at: self.sent_at,
        })
    }
}

pub fn find(conn: &mut PgConnection, id: NotificationId) -> QueryResult<Option<Notification>> {
    notifications::table
        .find(id.0)
        .select(NotificationRow::as_select())
        .first(conn)
        .optional()?
        .map(NotificationRow::into_domain)
        .transpose()
}

/// Newest first, before the cursor's id.
pub fn list(
    conn: &mut PgConnection,
    client: Option<ClientId>,
    status: Option<NotificationStatus>,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Notification>> {
    let mut query = notifications::table.select(NotificationRow::as_select()).into_boxed();
    if let Some(client) = client {
        query = query.filter(notifications::client_id.eq(client.0));
    }
    if let Some(status) = status {
        query = query.filter(notifications::status.eq(status.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(notifications::id.lt(before));
    }
    query
        .order(notifications::id.desc())
        .limit(limit)
        .load(conn)?
        .into_iter()
        .map(NotificationRow::into_domain)
        .collect()
}

/// A notification claimed for one attempt.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub client_id: ClientId,
    pub template: Template,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: i32,
}

/// Claims up to `limit` due notifications (pending and due, or under way with an expired lease)
/// and leases them until `lease_until`.
pub fn claim_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Claimed>> {
    let due: Vec<Uuid> = notifications::table
        .filter(notifications::finished_at.is_null())
        .filter(
            notifications::status
                .eq(NotificationStatus::Pending.as_str())
                .and(notifications::next_attempt_at.le(now))
                .or(notifications::status
                    .eq(NotificationStatus::Sending.as_str())
                    .and(notifications::lease_until.lt(now))),
        )
        .order(notifications::next_attempt_at)
        .limit(limit)
        .select(notifications::id)
        .for_update()
        .skip_locked()
        .load(conn)?;
    let rows: Vec<(Uuid, Uuid, String, String, String, String, i32)> =
        diesel::update(notifications::table.filter(notifications::id.eq_any(&due)))
            .set((
                notifications::status.eq(NotificationStatus::Sending.as_str()),
                notifications::lease_until.eq(Some(lease_until)),
                notifications::updated_at.eq(now),
            ))
            .returning((
                notifications::id,
                notifications::client_id,
                notifications::template,
                notifications::recipient,
                notifications::subject,
                notifications::body,
                notifications::attempts,
            ))
            .get_results(conn)?;
    rows.into_iter()
        .map(|(id, client, template, recipient, subject, body, attempts)| {
            Ok(Claimed {
                id,
                client_id: ClientId(client),
                template: super::parse_text("notifications.template", &template, Template::parse)?,
                recipient,
                subject,
                body,
                attempts,
            })
        })
        .collect()
}

/// How an attempt ended.
pub enum Outcome {
    Sent(Transport),
    Skipped(String),
    /// Try again at the given time (a transport error, or MongoDB not answering); `counts` is
    /// whether it was a send attempt.
    Retry {
        at: DateTime<Utc>,
        reason: String,
        counts: bool,
    },
    Failed(String),
}

/// Records the outcomes of claimed attempts in one statement (except those whose lease was lost
/// to another sender); returns how many were recorded.
pub fn finish(conn: &mut PgConnection, outcomes: &[(Claimed, Outcome)], now: DateTime<Utc>) -> QueryResult<usize> {
    use diesel::sql_types::{Array, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
    if outcomes.is_empty() {
        return Ok(0);
    }
    // (status, transport, reason, attempts added, next attempt, sent at) of each outcome.
    let changes: Vec<_> = column(outcomes, |(_, outcome)| match outcome {
        Outcome::Sent(transport) => (NotificationStatus::Sent, Some(transport.as_str()), None, 1, now, Some(now)),
        Outcome::Skipped(why) => (NotificationStatus::Skipped, None, Some(why.as_str()), 0, now, None),
        Outcome::Retry { at, reason, counts } => {
            (NotificationStatus::Pending, None, Some(reason.as_str()), i32::from(*counts), *at, None)
        }
        Outcome::Failed(why) => (NotificationStatus::Failed, None, Some(why.as_str()), 1, now, None),
    });
    diesel::sql_query(
        "UPDATE notifications n
            SET status = u.status, transport = u.transport, reason = u.reason,
                attempts = n.attempts + u.added, next_attempt_at = u.next, lease_until = NULL,
                updated_at = $1, sent_at = u.sent_at,
                finished_at = CASE WHEN u.status <> $11 THEN $1 END
           FROM unnest($2, $3, $4, $5, $6, $7, $8, $9)
                AS u(id, attempts, status, transport, reason, added, next, sent_at)
          WHERE n.id = u.id AND n.status = $10 AND n.attempts = u.attempts",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Array<SqlUuid>, _>(column(outcomes, |(claimed, _)| claimed.id))
    .bind::<Array<Integer>, _>(column(outcomes, |(claimed, _)| claimed.attempts))
    .bind::<Array<Text>, _>(column(&changes, |change| change.0.as_str()))
    .bind::<Array<Nullable<Text>>, _>(column(&changes, |change| change.1))
    .bind::<Array<Nullable<Text>>, _>(column(&changes, |change| change.2))
    .bind::<Array<Integer>, _>(column(&changes, |change| change.3))
    .bind::<Array<Timestamptz>, _>(column(&changes, |change| change.4))
    .bind::<Array<Nullable<Timestamptz>>, _>(column(&changes, |change| change.5))
    .bind::<Text, _>(NotificationStatus::Sending.as_str())
    .bind::<Text, _>(NotificationStatus::Pending.as_str())
    .execute(conn)
}

/// (template, status, created_at, id, subject) of a notification on a client's timeline.
/// A notification of a client's timeline: template, status, time, id, subject line, and the
/// event it was sent for (none for reminders).
pub type TimelineNotification = (String, String, DateTime<Utc>, Uuid, String, Option<Uuid>);

/// A client's notifications, newest first, before `(at, id)`.
pub fn of_client(
    conn: &mut PgConnection,
    client: ClientId,
    templates: &[&str],
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<TimelineNotification>> {
    let mut query = notifications::table
        .filter(notifications::client_id.eq(client.0))
        .filter(notifications::template.eq_any(templates))
        .select((
            notifications::template,
            notifications::status,
            notifications::created_at,
            notifications::id,
            notifications::subject,
            notifications::event_id,
        ))
        .into_boxed();
    if let Some((at, id)) = before {
        query = query.filter(
            notifications::created_at.lt(at).or(notifications::created_at.eq(at).and(notifications::id.lt(id))),
        );
    }
    query.order((notifications::created_at.desc(), notifications::id.desc())).limit(limit).load(conn)
}
