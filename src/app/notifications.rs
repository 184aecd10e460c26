//! Notifications: the email log, done for real. The sequencer queues one message per event
//! that sends one (in its transaction, so each event is notified once); a sweep queues
//! workshop reminders 24 h ahead; staff ask for payment reminders to a workshop's debtors (each
//! debtor once a day). The sender claims due messages under a lease (`FOR UPDATE SKIP LOCKED`:
//! several replicas send each once), reads the client's preferences from MongoDB — when MongoDB
//! does not answer it waits and retries rather than guessing — and sends over SMTP when
//! `SMTP_URL` is set, else writes the message to the log (transport `log`).

use super::constraints::{gone, Meaning, Rule};
use super::events::representation_of;
use super::{clock, id_page, AppResult, AppState, Found, Keyed};
use crate::domain::events::EventType;
use crate::domain::ids::{ClientId, NotificationId, WorkshopId};
use crate::domain::notifications::{refusal, render, Notification, NotificationStatus, Template, Transport};
use crate::domain::page::{Page, PageRequest};
use crate::domain::webhooks::retry_after;
pub use crate::outside::smtp::Mailer;
use crate::outside::smtp::{Outgoing, SendError, SendError::Permanent, SendError::Transient};
use crate::store::pg::events::Sequenced;
use crate::store::pg::notifications::{self as repo, Claimed, NewNotification, Outcome};
use crate::store::pg::{clients, enrollments, workshops};
use chrono::{DateTime, Utc};
use diesel::PgConnection;
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Check("notifications_template_check", Meaning::Invariant),
    Rule::Check("notifications_status_check", Meaning::Invariant),
    Rule::Check("notifications_transport_check", Meaning::Invariant),
    Rule::Unique("notifications_dedupe_key_key", Meaning::Invariant),
    // A client's notifications go with the client.
    Rule::foreign_key("notifications_client_id_fkey", gone("client"), None),
];

/// Messages claimed per sender round (their outcomes are recorded in one transaction).
const BATCH: i64 = 100;
/// How long to wait for MongoDB before asking it for a client's preferences again.
const MONGODB_WAIT: Duration = Duration::from_secs(5);

impl Keyed for Notification {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

/// Queues the messages a batch of published events sends (in the sequencer's transaction):
/// the clients' contacts in one query, each workshop read once, one insert.
pub(crate) fn queue_for_events(conn: &mut PgConnection, batch: &[Sequenced], now: DateTime<Utc>) -> AppResult<usize> {
    let notifying: Vec<(&Sequenced, Template, ClientId)> = batch
        .iter()
        .filter_map(|event| {
            let template = EventType::parse(&event.event_type).and_then(Template::for_event)?;
            Some((event, template, ClientId(event.client_id?)))
        })
        .collect();
    if notifying.is_empty() {
        return Ok(0);
    }
    let clients: Vec<ClientId> = notifying.iter().map(|(_, _, client)| *client).collect();
    let contacts = clients::contacts(conn, &clients)?;
    let mut workshops_seen: HashMap<WorkshopId, Option<Value>> = HashMap::new();
    let mut messages = Vec::with_capacity(notifying.len());
    for (event, template, client) in notifying {
        // A client deleted since is not written to.
        let Some((name, email)) = contacts.get(&client) else {
            continue;
        };
        let workshop = match event.data.get("workshop_id").and_then(Value::as_str).and_then(|id| id.parse().ok()) {
            Some(id) => match workshops_seen.get(&WorkshopId(id)) {
                Some(data) => data.clone(),
                None => {
                    let data = workshop_data(conn, WorkshopId(id))?;
                    workshops_seen.insert(WorkshopId(id), data.clone());
                    data
                }
            },
            None => None,
        };
        let message = render(template, name, &event.data, workshop.as_ref());
        messages.push(NewNotification {
            client_id: client,
            template,
            dedupe_key: format!("{}:{}", event.id, template),
            event_id: Some(event.id),
            recipient: email.clone(),
            subject: message.subject,
            body: message.body,
        });
    }
    Ok(repo::enqueue(conn, &messages, now)?)
}

fn workshop_data(conn: &mut PgConnection, id: WorkshopId) -> AppResult<Option<Value>> {
    let Some(workshop) = workshops::find(conn, id)? else {
        return Ok(None);
    };
    let data = representation_of(&workshop)?;
    Ok(Some(data))
}

/// Renders and queues a message to the client (unless its `dedupe_key` was queued before, or
/// the client is gone); `true` when queued.
fn queue(
    conn: &mut PgConnection,
    client_id: ClientId,
    template: Template,
    dedupe_key: String,
    data: &Value,
    workshop: Option<&Value>,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let contacts = clients::contacts(conn, &[client_id])?;
    let Some((name, email)) = contacts.get(&client_id) else {
        return Ok(false);
    };
    let message = render(template, name, data, workshop);
    let new = NewNotification {
        client_id,
        template,
        dedupe_key,
        event_id: None,
        recipient: email.clone(),
        subject: message.subject,
        body: message.body,
    };
    Ok(repo::enqueue(conn, std::slice::from_ref(&new), now)? == 1)
}

/// Queues the reminder of every live enrollment in a workshop that starts within 24 h (once per
/// enrollment); returns how many were queued.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sweep_workshop_reminders(state: &AppState) -> AppResult<usize> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let mut queued = 0;
            for (enrollment, workshop) in enrollments::starting_between(conn, now, now + chrono::Duration::hours(24))? {
                let data = representation_of(&enrollment)?;
                let workshop = representation_of(&workshop)?;
                let key = format!("workshop_reminder:{}", enrollment.id);
                queued += usize::from(queue(
                    conn,
                    enrollment.client_id,
                    Template::WorkshopReminder,
                    key,
                    &data,
                    Some(&workshop),
                    now,
                )?);
            }
            Ok(queued)
        })
        .await
}

/// What a payment-reminder request did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reminders {
    pub debtors: usize,
    pub queued: usize,
    /// Debtors already reminded today (UTC): each gets one a day.
    pub already_reminded_today: usize,
}

/// Queues a payment reminder to every debtor of the workshop (live enrollments with a balance),
/// each at most once per UTC day.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn remind_debtors(state: &AppState, workshop: WorkshopId) -> AppResult<Reminders> {
    let now = clock::now();
    let reminders = state
        .db
        .tx(move |conn| {
            let current = workshops::find(conn, workshop)?.found(workshop)?;
            let workshop_data = representation_of(&current)?;
            let debtors = enrollments::debtors_of(conn, workshop)?;
            let mut queued = 0;
            for enrollment in &debtors {
                let data = representation_of(enrollment)?;
                let key = format!("payment_reminder:{}:{}", enrollment.id, now.date_naive());
                queued += usize::from(queue(
                    conn,
                    enrollment.client_id,
                    Template::PaymentReminder,
                    key,
                    &data,
                    Some(&workshop_data),
                    now,
                )?);
            }
            Ok(Reminders { debtors: debtors.len(), queued, already_reminded_today: debtors.len() - queued })
        })
        .await?;
    state.signals.notifications.notify_one();
    Ok(reminders)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: NotificationId) -> AppResult<Notification> {
    state.db.run(move |conn| repo::find(conn, id)?.found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(
    state: &AppState,
    client: Option<ClientId>,
    status: Option<NotificationStatus>,
    page: PageRequest,
) -> AppResult<Page<Notification>> {
    id_page(state, page, move |conn, before, limit| Ok(repo::list(conn, client, status, before, limit)?)).await
}

/// One sender round: claims due messages, checks each client's preferences in MongoDB, sends
/// (no transaction or connection held meanwhile) and records the outcomes. Returns how many
/// were claimed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn send_due(state: &AppState) -> AppResult<usize> {
    let now = clock::now();
    let lease_until = now + super::jobs::lease_for(state.settings.smtp_timeout);
    let claimed = state.db.tx(move |conn| Ok(repo::claim_due(conn, now, lease_until, BATCH)?)).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    // Every client's preferences in one read: absent means no document (default preferences).
    let mut clients: Vec<ClientId> = claimed.iter().map(|c| c.client_id).collect();
    clients.sort_unstable();
    clients.dedup();
    let preferences = state.info.preferences_of(&clients).await.map_err(|err| err.to_string());
    let sends = claimed.into_iter().map(|message| {
        let preferences = match &preferences {
            Ok(found) => Ok(found.get(&message.client_id).cloned().unwrap_or_default()),
            Err(error) => Err(error.clone()),
        };
        async move {
            let outcome = deliver(state, &message, preferences).await;
            (message, outcome)
        }
    });
    let outcomes = futures_util::future::join_all(sends).await;
    let count = outcomes.len();
    let now = clock::now();
    state.db.tx(move |conn| Ok(repo::finish(conn, &outcomes, now)?)).await?;
    Ok(count)
}

/// Sends until nothing is due (tests and the worker).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn send_all_due(state: &AppState) -> AppResult<usize> {
    super::jobs::until_idle(|| send_due(state)).await
}

async fn deliver(
    state: &AppState,
    message: &Claimed,
    preferences: Result<serde_json::Map<String, Value>, String>,
) -> Outcome {
    let preferences = match preferences {
        Ok(preferences) => preferences,
        Err(error) => {
            return Outcome::Retry {
                at: clock::now() + MONGODB_WAIT,
                reason: format!("waiting for MongoDB to read the client's preferences: {error}"),
                counts: false,
            }
        }
    };
    if let Some(reason) = refusal(&preferences, message.template) {
        return Outcome::Skipped(reason);
    }
    match send(&state.mailer, message).await {
        Ok(transport) => Outcome::Sent(transport),
        Err(Permanent(error)) => Outcome::Failed(error),
        Err(Transient(error)) => {
            let failed = usize::try_from(message.attempts).unwrap_or(0) + 1;
            match retry_after(&state.settings.notify_retry_schedule, failed) {
                Some(wait) => Outcome::Retry { at: clock::now() + wait, reason: error, counts: true },
                None => Outcome::Failed(error),
            }
        }
    }
}

/// The notification through the mailer.
async fn send(mailer: &Mailer, message: &Claimed) -> Result<Transport, SendError> {
    let (id, template) = (message.id.to_string(), message.template.to_string());
    let outgoing = Outgoing {
        id: &id,
        template: &template,
        recipient: &message.recipient,
        subject: &message.subject,
        body: &message.body,
    };
    mailer.send(outgoing).await
}
