//! Webhook endpoints, their deliveries and every attempt. Deliveries are created by the
//! sequencer (one per published event and matching endpoint), claimed by dispatchers under a
//! lease, and finished with the receiver's answer.

use super::column;
use super::events::event_type_matches;
use super::schema::{events, webhook_attempts, webhook_deliveries, webhook_endpoints};
use crate::domain::access::Owner;
use crate::domain::ids::{ApiKeyId, DeliveryId, EventId, UserId, WebhookEndpointId};
use crate::domain::webhooks::{
    Attempt, Delivery, DeliveryStatus, NewWebhookEndpoint, WebhookEndpoint, WebhookEndpointChanges,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz};
use std::collections::HashSet;
use uuid::Uuid;

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
struct EndpointRow {
    id: Uuid,
    url: String,
    description: Option<String>,
    event_types: Vec<String>,
    active: bool,
    disabled_reason: Option<String>,
    failing_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    owner_key_id: Option<Uuid>,
    owner_user_id: Option<Uuid>,
    previous_secret_until: Option<DateTime<Utc>>,
    version: i32,
}

impl From<EndpointRow> for WebhookEndpoint {
    fn from(r: EndpointRow) -> Self {
        WebhookEndpoint {
            version: r.version,
            id: WebhookEndpointId(r.id),
            url: r.url,
            description: r.description,
            event_types: r.event_types,
            active: r.active,
            disabled_reason: r.disabled_reason,
            failing_since: r.failing_since,
            created_at: r.created_at,
            updated_at: r.updated_at,
            owner: match (r.owner_key_id, r.owner_user_id) {
                (Some(key), _) => Some(Owner::Key(ApiKeyId(key))),
                (None, Some(user)) => Some(Owner::User(UserId(user))),
                (None, None) => None,
            },
            previous_secret_until: r.previous_secret_until,
        }
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
struct EndpointChangeset {
    url: Option<String>,
    description: Option<Option<String>>,
    event_types: Option<Vec<String>>,
    active: Option<bool>,
    disabled_reason: Option<Option<String>>,
    failing_since: Option<Option<DateTime<Utc>>>,
    updated_at: DateTime<Utc>,
}

pub fn insert_endpoint(
    conn: &mut PgConnection,
    id: WebhookEndpointId,
    new: &NewWebhookEndpoint,
    secret: &str,
    owner: Owner,
    now: DateTime<Utc>,
) -> QueryResult<WebhookEndpoint> {
    let (key, user) = owner_columns(owner);
    diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::id.eq(id.0),
            webhook_endpoints::owner_key_id.eq(key),
            webhook_endpoints::owner_user_id.eq(user),
            webhook_endpoints::url.eq(&new.url),
            webhook_endpoints::description.eq(&new.description),
            webhook_endpoints::event_types.eq(&new.event_types),
            webhook_endpoints::secret.eq(secret),
            webhook_endpoints::active.eq(new.active),
            webhook_endpoints::created_at.eq(now),
            webhook_endpoints::updated_at.eq(now),
        ))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .map(Into::into)
}

by_id!(find_endpoint, lock_endpoint: webhook_endpoints, EndpointRow, WebhookEndpointId => WebhookEndpoint, |row| Ok(row.into()));

/// The owner columns of an endpoint. A customer holds no scope and never reaches webhook
/// operations; were one to, the endpoint would have no owner (admins only).
fn owner_columns(owner: Owner) -> (Option<Uuid>, Option<Uuid>) {
    match owner {
        Owner::Key(id) => (Some(id.0), None),
        Owner::User(id) => (None, Some(id.0)),
        Owner::Account(_) => (None, None),
    }
}

/// Takes the owner's row lock (creations by one key or user queue here) and counts its
/// endpoints.
pub fn lock_and_count_owned(conn: &mut PgConnection, owner: Owner) -> QueryResult<i64> {
    use super::schema::{api_keys, users};
    let owned = webhook_endpoints::table.into_boxed();
    let owned = match owner {
        Owner::Key(id) => {
            api_keys::table.find(id.0).select(api_keys::id).for_no_key_update().first::<Uuid>(conn).optional()?;
            owned.filter(webhook_endpoints::owner_key_id.eq(id.0))
        }
        Owner::User(id) => {
            users::table.find(id.0).select(users::id).for_no_key_update().first::<Uuid>(conn).optional()?;
            owned.filter(webhook_endpoints::owner_user_id.eq(id.0))
        }
        // Fails closed: no customer may create endpoints (see `owner_columns`).
        Owner::Account(_) => return Ok(i64::MAX),
    };
    owned.count().get_result(conn)
}

/// Newest first, after the cursor's id; only `owner`'s when given.
pub fn list_endpoints(
    conn: &mut PgConnection,
    owner: Option<Owner>,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<WebhookEndpoint>> {
    let mut query = webhook_endpoints::table.select(EndpointRow::as_select()).into_boxed();
    match owner {
        Some(Owner::Key(id)) => query = query.filter(webhook_endpoints::owner_key_id.eq(id.0)),
        Some(Owner::User(id)) => query = query.filter(webhook_endpoints::owner_user_id.eq(id.0)),
        // Fails closed: a customer owns no endpoint.
        Some(Owner::Account(_)) => query = query.filter(webhook_endpoints::id.is_null()),
        None => {}
    }
    if let Some(before) = before {
        query = query.filter(webhook_endpoints::id.lt(before));
    }
    Ok(query.order(webhook_endpoints::id.desc()).limit(limit).load(conn)?.into_iter().map(Into::into).collect())
}

/// Applies a patch. Turning an endpoint on again clears why it was disabled and its failure
/// streak.
pub fn update_endpoint(
    conn: &mut PgConnection,
    id: WebhookEndpointId,
    changes: &WebhookEndpointChanges,
    now: DateTime<Utc>,
) -> QueryResult<Option<WebhookEndpoint>> {
    let reactivated = changes.active == Some(true);
    diesel::update(webhook_endpoints::table.find(id.0))
        .set(EndpointChangeset {
            url: changes.url.clone(),
            description: changes.description.clone(),
            event_types: changes.event_types.clone(),
            active: changes.active,
            disabled_reason: reactivated.then_some(None),
            failing_since: reactivated.then_some(None),
            updated_at: now,
        })
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .optional()
        .map(|r| r.map(Into::into))
}

/// A new sealed secret; the current one keeps signing beside it until `until`.
pub fn rotate_secret(
    conn: &mut PgConnection,
    id: WebhookEndpointId,
    sealed: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<Option<WebhookEndpoint>> {
    diesel::update(webhook_endpoints::table.find(id.0))
        .set((
            webhook_endpoints::previous_secret.eq(webhook_endpoints::secret.nullable()),
            webhook_endpoints::previous_secret_until.eq(until),
            webhook_endpoints::secret.eq(sealed),
            webhook_endpoints::updated_at.eq(now),
        ))
        .returning(EndpointRow::as_returning())
        .get_result(conn)
        .optional()
        .map(|r| r.map(Into::into))
}

/// Endpoints whose secrets (current or previous) are still stored in clear: (id, secret,
/// previous secret).
pub fn unsealed_secrets(conn: &mut PgConnection) -> QueryResult<Vec<(Uuid, String, Option<String>)>> {
    webhook_endpoints::table
        .filter(
            webhook_endpoints::secret.not_like("sealed:v1:%").or(webhook_endpoints::previous_secret
                .is_not_null()
                .and(webhook_endpoints::previous_secret.not_like("sealed:v1:%"))),
        )
        .select((webhook_endpoints::id, webhook_endpoints::secret, webhook_endpoints::previous_secret))
        .load(conn)
}

/// Replaces an endpoint's secrets in clear by their sealed forms.
pub fn reseal(conn: &mut PgConnection, id: Uuid, secret: &str, previous: Option<&str>) -> QueryResult<usize> {
    diesel::update(webhook_endpoints::table.find(id))
        .set((webhook_endpoints::secret.eq(secret), webhook_endpoints::previous_secret.eq(previous)))
        .execute(conn)
}

pub fn delete_endpoint(conn: &mut PgConnection, id: WebhookEndpointId) -> QueryResult<bool> {
    diesel::delete(webhook_endpoints::table.find(id.0)).execute(conn).map(|n| n > 0)
}

/// One delivery per event in `from..=to` and active endpoint subscribed to its type.
pub fn fan_out(conn: &mut PgConnection, from: i64, to: i64, now: DateTime<Utc>) -> QueryResult<usize> {
    let pairs: Vec<(Uuid, Uuid, Option<i64>, String)> =
        events::table
            .inner_join(webhook_endpoints::table.on(
                webhook_endpoints::active.and(event_type_matches(webhook_endpoints::event_types, events::event_type)),
            ))
            .filter(events::sequence.between(from, to))
            .select((webhook_endpoints::id, events::id, events::sequence, events::event_type))
            .load(conn)?;
    if pairs.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = pairs
        .into_iter()
        .map(|(endpoint, event, sequence, event_type)| {
            (
                webhook_deliveries::id.eq(Uuid::now_v7()),
                webhook_deliveries::endpoint_id.eq(endpoint),
                webhook_deliveries::event_id.eq(Some(event)),
                webhook_deliveries::sequence.eq(sequence),
                webhook_deliveries::event_type.eq(event_type),
                webhook_deliveries::next_attempt_at.eq(now),
                webhook_deliveries::created_at.eq(now),
                webhook_deliveries::updated_at.eq(now),
            )
        })
        .collect();
    diesel::insert_into(webhook_deliveries::table).values(&rows).on_conflict_do_nothing().execute(conn)
}

/// A ping to one endpoint (no event, no place in the endpoint's order).
pub fn insert_ping(
    conn: &mut PgConnection,
    id: DeliveryId,
    endpoint: WebhookEndpointId,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::id.eq(id.0),
            webhook_deliveries::endpoint_id.eq(endpoint.0),
            webhook_deliveries::event_type.eq("ping"),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
            webhook_deliveries::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A delivery claimed for one attempt: where to, with which key, and what.
#[derive(Debug, Clone, QueryableByName)]
pub struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub endpoint_id: Uuid,
    #[diesel(sql_type = Text)]
    pub url: String,
    /// Sealed (or, in rows older than sealing, in clear).
    #[diesel(sql_type = Text)]
    pub secret: String,
    /// A rotated-out secret that still signs until `previous_secret_until`.
    #[diesel(sql_type = Nullable<Text>)]
    pub previous_secret: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub previous_secret_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
    pub event_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub sequence: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
}

/// Claims due deliveries under a lease until `lease_until`: for each active endpoint whose
/// oldest open delivery is due (pending and due, or under way with an expired lease), up to
/// `per_endpoint` of its open deliveries in sequence order; and due pings. Another dispatcher
/// (on this or another replica) sees the endpoint's head under way and leaves the endpoint
/// alone until the claim is finished or its lease ran out. Ordered by endpoint, then sequence.
pub fn claim_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    per_endpoint: i64,
    endpoints: i64,
) -> QueryResult<Vec<Claimed>> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    // First the endpoints with open deliveries that no other dispatcher is claiming for this
    // moment, locked until this claim commits. The claim below then reads with a snapshot
    // taken after any other claim for them committed, so it sees their heads under way: without
    // the lock, a claim that read before another committed found the head pending and took the
    // deliveries behind the other's run, sending them first. `NO KEY UPDATE`, not `UPDATE`: the
    // sequencer's new deliveries check their endpoint's key (`FOR KEY SHARE`), and must not wait
    // for a claim.
    let endpoints_free: Vec<Uuid> = diesel::sql_query(
        "SELECT ep.id FROM webhook_endpoints ep
          WHERE ep.active
            AND EXISTS (SELECT 1 FROM webhook_deliveries d
                         WHERE d.endpoint_id = ep.id AND d.sequence IS NOT NULL AND d.completed_at IS NULL)
          FOR NO KEY UPDATE OF ep SKIP LOCKED",
    )
    .load::<Locked>(conn)?
    .into_iter()
    .map(|row| row.id)
    .collect();
    // Each endpoint's run is read from the head of its open deliveries (the `(endpoint_id,
    // sequence)` index), however long its backlog. Candidates are re-checked by the UPDATE
    // itself: of two dispatchers that picked the same rows (pings), the second finds them under
    // way (READ COMMITTED re-reads a row it waited for) and claims nothing.
    diesel::sql_query(
        "WITH runs AS (
             SELECT r.* FROM unnest($5::uuid[]) AS ep(id)
             CROSS JOIN LATERAL (
                 SELECT d.id, d.endpoint_id, d.status, d.next_attempt_at, d.lease_until,
                        row_number() OVER (ORDER BY d.sequence) AS position
                 FROM webhook_deliveries d
                 WHERE d.endpoint_id = ep.id AND d.completed_at IS NULL AND d.sequence IS NOT NULL
                 ORDER BY d.sequence
                 LIMIT $3
             ) r
         ), ready AS (
             SELECT endpoint_id FROM runs
             WHERE position = 1
               AND ((status = 'pending' AND next_attempt_at <= $1) OR (status = 'delivering' AND lease_until < $1))
             ORDER BY next_attempt_at
             LIMIT $4
         ), candidates AS (
             SELECT r.id FROM runs r JOIN ready USING (endpoint_id)
             UNION ALL
             (SELECT p.id FROM webhook_deliveries p
              JOIN webhook_endpoints ep ON ep.id = p.endpoint_id AND ep.active
              WHERE p.sequence IS NULL AND p.completed_at IS NULL
                AND ((p.status = 'pending' AND p.next_attempt_at <= $1) OR (p.status = 'delivering' AND p.lease_until < $1))
              LIMIT $4)
         )
         UPDATE webhook_deliveries w
         SET status = 'delivering', lease_until = $2, updated_at = $1
         FROM candidates c, webhook_endpoints e
         WHERE w.id = c.id AND e.id = w.endpoint_id
           AND ((w.status = 'pending' AND w.next_attempt_at <= $1) OR (w.status = 'delivering' AND w.lease_until < $1))
         RETURNING w.id, w.endpoint_id, e.url, e.secret, e.previous_secret, e.previous_secret_until,
                   w.event_id, w.sequence, w.attempts",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(lease_until)
    .bind::<BigInt, _>(per_endpoint)
    .bind::<BigInt, _>(endpoints)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(endpoints_free)
    .load::<Claimed>(conn)
    .map(|mut claimed| {
        claimed.sort_by_key(|c| (c.endpoint_id, c.sequence));
        claimed
    })
}

/// Gives claimed deliveries that were not attempted back (their endpoint failed earlier in the
/// batch, or the batch ran out of time): pending again, due at once, attempts unchanged.
pub fn release(conn: &mut PgConnection, claimed: &[Claimed], now: DateTime<Utc>) -> QueryResult<()> {
    for delivery in claimed {
        diesel::update(
            webhook_deliveries::table
                .find(delivery.id)
                .filter(webhook_deliveries::status.eq(DeliveryStatus::Delivering.as_str()))
                .filter(webhook_deliveries::attempts.eq(delivery.attempts)),
        )
        .set((
            webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
            webhook_deliveries::lease_until.eq(None::<DateTime<Utc>>),
            webhook_deliveries::updated_at.eq(now),
        ))
        .execute(conn)?;
    }
    Ok(())
}

/// What an attempt came to.
pub struct AttemptOutcome {
    pub attempt: Attempt,
    /// When to try again; `None` with a failed attempt means give up.
    pub retry_at: Option<DateTime<Utc>>,
}

impl AttemptOutcome {
    /// Where the delivery goes next: done, back to `pending` for a retry, or given up.
    fn delivery_status(&self) -> DeliveryStatus {
        match (self.attempt.succeeded, self.retry_at) {
            (true, _) => DeliveryStatus::Succeeded,
            (false, Some(_)) => DeliveryStatus::Pending,
            (false, None) => DeliveryStatus::Failed,
        }
    }
}

/// Records the attempts of claimed deliveries and moves each on: `succeeded`, back to `pending`
/// for a retry, or `failed` — two statements for the whole batch. Returns the deliveries
/// recorded; one no longer `delivering` under its claim's attempt count (the lease ran out and
/// another dispatcher took it over) is left to that dispatcher, and its attempt not recorded.
pub fn record_attempts(
    conn: &mut PgConnection,
    outcomes: &[(Claimed, AttemptOutcome)],
    now: DateTime<Utc>,
) -> QueryResult<HashSet<Uuid>> {
    use diesel::sql_types::{Array, Integer, Uuid as SqlUuid};
    #[derive(QueryableByName)]
    struct Recorded {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    if outcomes.is_empty() {
        return Ok(HashSet::new());
    }
    let recorded: HashSet<Uuid> = diesel::sql_query(
        "UPDATE webhook_deliveries d
            SET status = u.status, attempts = u.attempts + 1, next_attempt_at = u.next, lease_until = NULL,
                last_status_code = u.code, last_error = u.error, updated_at = $1,
                completed_at = CASE WHEN u.status <> $8 THEN $1 END
           FROM unnest($2, $3, $4, $5, $6, $7) AS u(id, attempts, status, next, code, error)
          WHERE d.id = u.id AND d.status = $9 AND d.attempts = u.attempts
      RETURNING d.id",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Array<SqlUuid>, _>(column(outcomes, |(claimed, _)| claimed.id))
    .bind::<Array<Integer>, _>(column(outcomes, |(claimed, _)| claimed.attempts))
    .bind::<Array<Text>, _>(column(outcomes, |(_, outcome)| outcome.delivery_status().as_str()))
    .bind::<Array<Timestamptz>, _>(column(outcomes, |(_, outcome)| outcome.retry_at.unwrap_or(now)))
    .bind::<Array<Nullable<Integer>>, _>(column(outcomes, |(_, outcome)| outcome.attempt.status_code))
    .bind::<Array<Nullable<Text>>, _>(column(outcomes, |(_, outcome)| outcome.attempt.error.as_deref()))
    .bind::<Text, _>(DeliveryStatus::Pending.as_str())
    .bind::<Text, _>(DeliveryStatus::Delivering.as_str())
    .load::<Recorded>(conn)?
    .into_iter()
    .map(|row| row.id)
    .collect();
    let attempt_rows: Vec<_> = outcomes
        .iter()
        .filter(|(claimed, _)| recorded.contains(&claimed.id))
        .map(|(claimed, outcome)| {
            let attempt = &outcome.attempt;
            (
                webhook_attempts::id.eq(Uuid::now_v7()),
                webhook_attempts::delivery_id.eq(claimed.id),
                webhook_attempts::attempted_at.eq(attempt.attempted_at),
                webhook_attempts::status_code.eq(attempt.status_code),
                webhook_attempts::duration_ms.eq(attempt.duration_ms),
                webhook_attempts::error.eq(attempt.error.as_deref()),
                webhook_attempts::succeeded.eq(attempt.succeeded),
            )
        })
        .collect();
    if !attempt_rows.is_empty() {
        diesel::insert_into(webhook_attempts::table).values(attempt_rows).execute(conn)?;
    }
    Ok(recorded)
}

/// Keeps the endpoint's failure streak: a success ends it; a failure starts it, and a streak
/// older than `disable_after` disables the endpoint. `true` when this call disabled it.
pub fn note_endpoint_health(
    conn: &mut PgConnection,
    endpoint: Uuid,
    succeeded: bool,
    disable_after: std::time::Duration,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    if succeeded {
        diesel::update(webhook_endpoints::table.find(endpoint).filter(webhook_endpoints::failing_since.is_not_null()))
            .set(webhook_endpoints::failing_since.eq(None::<DateTime<Utc>>))
            .execute(conn)?;
        return Ok(false);
    }
    diesel::update(webhook_endpoints::table.find(endpoint).filter(webhook_endpoints::failing_since.is_null()))
        .set(webhook_endpoints::failing_since.eq(Some(now)))
        .execute(conn)?;
    let horizon = now - chrono::Duration::from_std(disable_after).unwrap_or(chrono::Duration::days(3));
    let disabled = diesel::update(
        webhook_endpoints::table
            .find(endpoint)
            .filter(webhook_endpoints::active.eq(true))
            .filter(webhook_endpoints::failing_since.le(horizon)),
    )
    .set((
        webhook_endpoints::active.eq(false),
        webhook_endpoints::disabled_reason
            .eq(Some("every delivery failed for too long; fix the receiver and set active to true")),
        webhook_endpoints::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(disabled == 1)
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_deliveries)]
struct DeliveryRow {
    id: Uuid,
    endpoint_id: Uuid,
    event_id: Option<Uuid>,
    event_type: String,
    sequence: Option<i64>,
    status: String,
    next_attempt_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    completed_at: Option<DateTime<Utc>>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhook_attempts)]
struct AttemptRow {
    delivery_id: Uuid,
    attempted_at: DateTime<Utc>,
    status_code: Option<i32>,
    duration_ms: i32,
    error: Option<String>,
    succeeded: bool,
}

fn with_attempts(conn: &mut PgConnection, rows: Vec<DeliveryRow>) -> QueryResult<Vec<Delivery>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let attempts: Vec<AttemptRow> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order((webhook_attempts::delivery_id, webhook_attempts::attempted_at))
        .select(AttemptRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .map(|row| {
            let status = super::parse_text("webhook_deliveries.status", &row.status, DeliveryStatus::parse)?;
            Ok(Delivery {
                id: DeliveryId(row.id),
                endpoint_id: WebhookEndpointId(row.endpoint_id),
                event_id: row.event_id.map(EventId),
                event_type: row.event_type,
                sequence: row.sequence,
                status,
                attempts: attempts
                    .iter()
                    .filter(|a| a.delivery_id == row.id)
                    .map(|a| Attempt {
                        attempted_at: a.attempted_at,
                        status_code: a.status_code,
                        duration_ms: a.duration_ms,
                        error: a.error.clone(),
                        succeeded: a.succeeded,
                    })
                    .collect(),
                next_attempt_at: (status == DeliveryStatus::Pending).then_some(row.next_attempt_at),
                created_at: row.created_at,
                completed_at: row.completed_at,
            })
        })
        .collect()
}

pub fn find_delivery(
    conn: &mut PgConnection,
    endpoint: WebhookEndpointId,
    id: DeliveryId,
) -> QueryResult<Option<Delivery>> {
    let row = webhook_deliveries::table
        .find(id.0)
        .filter(webhook_deliveries::endpoint_id.eq(endpoint.0))
        .select(DeliveryRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(|row| with_attempts(conn, vec![row])).transpose()?.and_then(|mut d| d.pop()))
}

/// The endpoint's deliveries, newest first.
pub fn list_deliveries(
    conn: &mut PgConnection,
    endpoint: WebhookEndpointId,
    status: Option<DeliveryStatus>,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    let mut query = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint.0))
        .select(DeliveryRow::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(webhook_deliveries::id.lt(before));
    }
    let rows = query.order(webhook_deliveries::id.desc()).limit(limit).load(conn)?;
    with_attempts(conn, rows)
}

/// Sends a finished (succeeded or failed) delivery again: back to `pending`, due now. `false`
/// when it is still pending or under way.
pub fn requeue(conn: &mut PgConnection, id: DeliveryId, now: DateTime<Utc>) -> QueryResult<bool> {
    diesel::update(webhook_deliveries::table.find(id.0).filter(
        webhook_deliveries::status.eq_any([DeliveryStatus::Succeeded.as_str(), DeliveryStatus::Failed.as_str()]),
    ))
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::completed_at.eq(None::<DateTime<Utc>>),
        webhook_deliveries::updated_at.eq(now),
    ))
    .execute(conn)
    .map(|n| n == 1)
}
