//! Webhook endpoints (registered by integrators) and the dispatcher that delivers published
//! events to them. A dispatcher locks the endpoints no other one is claiming
//! (`FOR NO KEY UPDATE … SKIP LOCKED`) and claims their open deliveries under a lease with a
//! conditional UPDATE (`store::pg::webhooks::claim_due`), so several replicas deliver each event
//! once and each endpoint's in sequence order; the POST, signed with Standard Webhooks headers,
//! runs outside any transaction and is retried on the configured schedule.

use super::constraints::{gone, invalid, length, Meaning, Rule};
use super::sealed::Sealer;
use super::{check_precondition, clock, id_page, AppError, AppResult, AppState, Found, Keyed};
use crate::domain::access::{Level, Scope};
use crate::domain::events::{Event, EventPattern};
use crate::domain::free_form::FieldIssue;
use crate::domain::ids::{DeliveryId, Located, WebhookEndpointId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::precondition::Precondition;
use crate::domain::webhooks::{
    decode_secret, encode_secret, retry_after, signature, url_refusal, Attempt, Delivery, DeliveryStatus,
    EndpointActor, NewWebhookEndpoint, WebhookEndpoint, WebhookEndpointChanges,
};
use crate::outside::webhook_http::{self, Signed};
use crate::store::pg::webhooks::{self as repo, AttemptOutcome, Claimed};
use futures_util::future::join_all;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Check("webhook_endpoints_url_check", length("url", 1, 2000)),
    Rule::Check("webhook_endpoints_description_check", length("description", 0, 500)),
    Rule::Check(
        "webhook_endpoints_event_types_check",
        invalid("event_types", "invalid_length", "must list 1 to 50 types"),
    ),
    // A rotated-out secret always has the end of its overlap.
    Rule::Check("webhook_endpoints_previous_secret_check", Meaning::Invariant),
    Rule::Check("webhook_deliveries_status_check", Meaning::Invariant),
    Rule::Check("webhook_deliveries_completed_check", Meaning::Invariant),
    Rule::Unique("webhook_deliveries_endpoint_id_event_id_key", Meaning::Invariant),
    // Deleting an endpoint deletes its deliveries and their attempts; an event is never deleted
    // while deliveries name it (the outbox is kept).
    Rule::foreign_key("webhook_deliveries_endpoint_id_fkey", gone("webhook_endpoint"), None),
    Rule::foreign_key("webhook_deliveries_event_id_fkey", Meaning::Invariant, None),
    // The owner is the key creating the endpoint (a deleted key leaves it to admins).
    Rule::foreign_key("webhook_endpoints_owner_key_id_fkey", Meaning::Invariant, None),
    Rule::foreign_key("webhook_endpoints_owner_user_id_fkey", Meaning::Invariant, None),
    Rule::foreign_key("webhook_attempts_delivery_id_fkey", gone("delivery"), None),
];

/// Deliveries one endpoint gets per dispatcher round (one after another, in order), and
/// endpoints served per round (concurrently).
const PER_ENDPOINT: i64 = 50;
const ENDPOINTS_PER_ROUND: i64 = 32;
/// The longest receiver error kept with an attempt.
const MAX_ERROR_CHARS: usize = 300;

impl Keyed for WebhookEndpoint {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

impl Keyed for Delivery {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

fn check_url(state: &AppState, url: &str) -> Option<FieldIssue> {
    url_refusal(url, state.settings.webhook_allow_private).map(|reason| FieldIssue::new("url", "url_refused", reason))
}

/// Canonical patterns, or the issues of those that name nothing.
fn check_patterns(patterns: &[String]) -> Result<Vec<String>, Vec<FieldIssue>> {
    let mut canonical = Vec::new();
    let mut issues = Vec::new();
    for (index, text) in patterns.iter().enumerate() {
        match EventPattern::parse(text) {
            Some(pattern) if !canonical.contains(&pattern.as_text()) => canonical.push(pattern.as_text()),
            Some(_) => {}
            None => issues.push(FieldIssue::new(
                format!("event_types[{index}]"),
                "unknown_event_type",
                "is not an event type, a `family.*` wildcard or `*`",
            )),
        }
    }
    if issues.is_empty() {
        Ok(canonical)
    } else {
        Err(issues)
    }
}

/// Refuses patterns that select events of a family the key cannot read (`*` included): an
/// endpoint would be pushed what its key may not see.
fn check_readable(actor: EndpointActor, patterns: &[String]) -> AppResult<()> {
    for text in patterns {
        let Some(pattern) = EventPattern::parse(text) else { continue };
        if let Some(family) = pattern.scope_families().into_iter().find(|family| !actor.grant.reads(*family)) {
            let scope = Scope::new(family, Level::Read).to_string();
            return Err(AppError::Forbidden {
                message: format!("subscribing to {text} needs {scope}: this key cannot read those events"),
                scope,
            });
        }
    }
    Ok(())
}

/// The endpoint, if the actor may see it (otherwise it does not exist for them).
fn visible_endpoint(
    conn: &mut diesel::PgConnection,
    actor: EndpointActor,
    id: WebhookEndpointId,
) -> AppResult<WebhookEndpoint> {
    repo::find_endpoint(conn, id)?.filter(|endpoint| actor.may_see(endpoint)).found(id)
}

/// A new endpoint, owned by the key that creates it, and its secret, which is shown this once.
/// A key owns at most `WEBHOOK_ENDPOINTS_PER_KEY` endpoints (409 `endpoint_limit_reached`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_endpoint(
    state: &AppState,
    actor: EndpointActor,
    new: NewWebhookEndpoint,
) -> AppResult<(WebhookEndpoint, String)> {
    let mut issues: Vec<FieldIssue> = check_url(state, &new.url).into_iter().collect();
    let event_types = check_patterns(&new.event_types).unwrap_or_else(|more| {
        issues.extend(more);
        Vec::new()
    });
    AppError::unless_issues(issues)?;
    check_readable(actor, &event_types)?;
    let limit = state.settings.webhook_endpoints_per_key;
    let (secret, stored) = new_secret(state)?;
    let now = clock::now();
    let new = NewWebhookEndpoint { event_types, ..new };
    let endpoint = state
        .db
        .tx(move |conn| {
            if repo::lock_and_count_owned(conn, actor.owner)? >= limit {
                return Err(AppError::conflict_with(
                    "endpoint_limit_reached",
                    None,
                    format!(
                        "this key owns {limit} webhook endpoints already (WEBHOOK_ENDPOINTS_PER_KEY); delete one first"
                    ),
                    serde_json::json!({"limit": limit}),
                ));
            }
            let id = WebhookEndpointId::new();
            let endpoint = repo::insert_endpoint(conn, id, &new, &stored, actor.owner, now)?;
            super::idempotency::recovery_point(id.path());
            Ok(endpoint)
        })
        .await?;
    Ok((endpoint, secret))
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_endpoint(state: &AppState, actor: EndpointActor, id: WebhookEndpointId) -> AppResult<WebhookEndpoint> {
    state.db.run(move |conn| visible_endpoint(conn, actor, id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_endpoints(
    state: &AppState,
    actor: EndpointActor,
    page: PageRequest,
) -> AppResult<Page<WebhookEndpoint>> {
    let owner = actor.owner_filter();
    id_page(state, page, move |conn, before, limit| Ok(repo::list_endpoints(conn, owner, before, limit)?)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_endpoint(
    state: &AppState,
    actor: EndpointActor,
    id: WebhookEndpointId,
    changes: WebhookEndpointChanges,
    precondition: Precondition,
) -> AppResult<WebhookEndpoint> {
    let mut issues: Vec<FieldIssue> =
        changes.url.as_deref().and_then(|url| check_url(state, url)).into_iter().collect();
    let event_types = match changes.event_types.as_deref().map(check_patterns) {
        Some(Ok(canonical)) => Some(canonical),
        Some(Err(more)) => {
            issues.extend(more);
            None
        }
        None => None,
    };
    AppError::unless_issues(issues)?;
    if let Some(patterns) = &event_types {
        check_readable(actor, patterns)?;
    }
    let changes = WebhookEndpointChanges { event_types, ..changes };
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            visible_endpoint(conn, actor, id)?;
            check_precondition(conn, &precondition, id, repo::lock_endpoint)?;
            repo::update_endpoint(conn, id, &changes, now)?.found(id)
        })
        .await
}

/// Deletes the endpoint with its deliveries and their attempts.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn delete_endpoint(
    state: &AppState,
    actor: EndpointActor,
    id: WebhookEndpointId,
    precondition: Precondition,
) -> AppResult<()> {
    state
        .db
        .tx(move |conn| {
            visible_endpoint(conn, actor, id)?;
            check_precondition(conn, &precondition, id, repo::lock_endpoint)?;
            repo::delete_endpoint(conn, id)?.then_some(()).found(id)
        })
        .await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_deliveries(
    state: &AppState,
    actor: EndpointActor,
    endpoint: WebhookEndpointId,
    status: Option<DeliveryStatus>,
    page: PageRequest,
) -> AppResult<Page<Delivery>> {
    id_page(state, page, move |conn, before, limit| {
        visible_endpoint(conn, actor, endpoint)?;
        Ok(repo::list_deliveries(conn, endpoint, status, before, limit)?)
    })
    .await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_delivery(
    state: &AppState,
    actor: EndpointActor,
    endpoint: WebhookEndpointId,
    id: DeliveryId,
) -> AppResult<Delivery> {
    state
        .db
        .read(move |conn| {
            visible_endpoint(conn, actor, endpoint)?;
            repo::find_delivery(conn, endpoint, id)?.found(id)
        })
        .await
}

/// Queues a finished delivery once more (409 while it is still pending or under way).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn retry_delivery(
    state: &AppState,
    actor: EndpointActor,
    endpoint: WebhookEndpointId,
    id: DeliveryId,
) -> AppResult<Delivery> {
    let now = clock::now();
    let delivery = state
        .db
        .tx(move |conn| {
            visible_endpoint(conn, actor, endpoint)?;
            let current = repo::find_delivery(conn, endpoint, id)?.found(id)?;
            if !repo::requeue(conn, id, now)? {
                return Err(AppError::conflict_with(
                    "delivery_in_progress",
                    None,
                    "this delivery has not finished yet; it is retried on its own schedule",
                    serde_json::json!({"status": current.status}),
                ));
            }
            repo::find_delivery(conn, endpoint, id)?.found(id)
        })
        .await?;
    state.signals.deliveries.notify_one();
    Ok(delivery)
}

/// Queues a `ping` to the endpoint (409 when it is inactive: it would never be sent).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn ping(state: &AppState, actor: EndpointActor, endpoint: WebhookEndpointId) -> AppResult<Delivery> {
    let now = clock::now();
    let delivery = state
        .db
        .tx(move |conn| {
            let current = visible_endpoint(conn, actor, endpoint)?;
            if !current.active {
                return Err(AppError::conflict(
                    "endpoint_inactive",
                    None,
                    "this endpoint is inactive; set active to true first",
                ));
            }
            let id = DeliveryId::new();
            repo::insert_ping(conn, id, endpoint, now)?;
            repo::find_delivery(conn, endpoint, id)?.found(id)
        })
        .await?;
    state.signals.deliveries.notify_one();
    Ok(delivery)
}

/// One dispatcher round: claims due deliveries (a run of each ready endpoint's, in sequence
/// order, and pings), sends each endpoint's run one after another while endpoints go
/// concurrently — no transaction or connection is held meanwhile — and records the answers in
/// one transaction. A failure stops its endpoint's run: the rest go back to pending, behind the
/// retry. Returns how many were attempted.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn deliver_due(state: &AppState) -> AppResult<usize> {
    let now = clock::now();
    let timeout = state.settings.webhook_timeout;
    // A run stops sending once less than a receiver's timeout is left of its lease.
    let lease = super::jobs::lease_for(timeout);
    let lease_until = now + lease;
    let claimed = state
        .db
        .tx(move |conn| Ok(repo::claim_due(conn, now, lease_until, PER_ENDPOINT, ENDPOINTS_PER_ROUND)?))
        .await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let events: Vec<uuid::Uuid> = claimed.iter().filter_map(|c| c.event_id).collect();
    let payloads = state.db.run(move |conn| Ok(crate::store::pg::events::by_ids(conn, &events)?)).await?;
    let payloads: HashMap<uuid::Uuid, Event> = payloads.into_iter().map(|e| (e.id.0, e)).collect();

    // Runs: an endpoint's events in order; each ping on its own.
    let mut runs: Vec<Vec<Claimed>> = Vec::new();
    for delivery in claimed {
        match runs.last_mut() {
            Some(run)
                if delivery.sequence.is_some()
                    && run[0].sequence.is_some()
                    && run[0].endpoint_id == delivery.endpoint_id =>
            {
                run.push(delivery)
            }
            _ => runs.push(vec![delivery]),
        }
    }
    let deadline = Instant::now() + lease - timeout - Duration::from_secs(1);
    let outcomes = join_all(runs.into_iter().map(|run| deliver_run(state, run, &payloads, deadline))).await;
    let mut attempted = 0;
    let mut results = Vec::new();
    let mut untried = Vec::new();
    for (done, rest) in outcomes {
        attempted += done.len();
        results.extend(done);
        untried.extend(rest);
    }
    let disable_after = state.settings.webhook_disable_after;
    let now = clock::now();
    let disabled = state
        .db
        .tx(move |conn| {
            // A delivery taken over by another dispatcher (this one outlived its lease) is
            // theirs to record.
            let recorded = repo::record_attempts(conn, &results, now)?;
            let mut disabled = Vec::new();
            for (endpoint, succeeded) in health_notes(&results, &recorded) {
                if repo::note_endpoint_health(conn, endpoint, succeeded, disable_after, now)? {
                    disabled.push(endpoint);
                }
            }
            repo::release(conn, &untried, now)?;
            Ok(disabled)
        })
        .await?;
    for endpoint in disabled {
        tracing::warn!(%endpoint, "webhook endpoint disabled: its deliveries failed for too long");
    }
    Ok(attempted)
}

/// The health notes that leave each endpoint's failure streak as noting every recorded attempt
/// in order would: a last attempt that succeeded ends the streak; one that failed starts one
/// (or continues it) — after a success noted first if any attempt of the batch succeeded.
fn health_notes(results: &[(Claimed, AttemptOutcome)], recorded: &HashSet<uuid::Uuid>) -> Vec<(uuid::Uuid, bool)> {
    // Per endpoint, in order of first appearance: (any success, last attempt succeeded).
    let mut endpoints: Vec<(uuid::Uuid, bool, bool)> = Vec::new();
    for (claimed, outcome) in results.iter().filter(|(claimed, _)| recorded.contains(&claimed.id)) {
        let succeeded = outcome.attempt.succeeded;
        match endpoints.iter_mut().find(|(endpoint, _, _)| *endpoint == claimed.endpoint_id) {
            Some((_, any, last)) => (*any, *last) = (*any || succeeded, succeeded),
            None => endpoints.push((claimed.endpoint_id, succeeded, succeeded)),
        }
    }
    endpoints
        .into_iter()
        .flat_map(|(endpoint, any_succeeded, last_succeeded)| match (any_succeeded, last_succeeded) {
            (_, true) => vec![(endpoint, true)],
            (true, false) => vec![(endpoint, true), (endpoint, false)],
            (false, false) => vec![(endpoint, false)],
        })
        .collect()
}

/// Sends one endpoint's run in order until one fails or time runs out; returns the attempts
/// and what was not tried.
async fn deliver_run(
    state: &AppState,
    run: Vec<Claimed>,
    payloads: &HashMap<uuid::Uuid, Event>,
    deadline: Instant,
) -> (Vec<(Claimed, AttemptOutcome)>, Vec<Claimed>) {
    let mut done = Vec::new();
    let mut rest = run.into_iter();
    for claimed in rest.by_ref() {
        let attempt = match payload(&claimed, payloads) {
            Ok((message_id, body)) => send(state, &claimed, &message_id, body).await,
            Err(error) => Attempt {
                attempted_at: clock::now(),
                status_code: None,
                duration_ms: 0,
                error: Some(error),
                succeeded: false,
            },
        };
        let failed_attempts = usize::try_from(claimed.attempts).unwrap_or(0) + 1;
        let retry_at = (!attempt.succeeded)
            .then(|| retry_after(&state.settings.webhook_retry_schedule, failed_attempts))
            .flatten()
            .map(|wait| clock::now() + wait);
        let succeeded = attempt.succeeded;
        done.push((claimed, AttemptOutcome { attempt, retry_at }));
        if !succeeded || Instant::now() >= deadline {
            break;
        }
    }
    (done, rest.collect())
}

/// Delivers until nothing is due (tests and the worker).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn deliver_all_due(state: &AppState) -> AppResult<usize> {
    super::jobs::until_idle(|| deliver_due(state)).await
}

/// The webhook id and body of a delivery: the event's wire form (the same as the feed's), or a
/// ping.
fn payload(claimed: &Claimed, payloads: &HashMap<uuid::Uuid, Event>) -> Result<(String, Vec<u8>), String> {
    let (delivery, endpoint) = (claimed.id, claimed.endpoint_id);
    match claimed.event_id {
        Some(event) => {
            let event = payloads.get(&event).ok_or_else(|| format!("event {event} is not published"))?;
            Ok((event.id.to_string(), serde_json::to_vec(event).map_err(|err| err.to_string())?))
        }
        None => {
            let ping = serde_json::json!({
                "id": delivery,
                "type": "ping",
                "occurred_at": clock::now(),
                "subject": {"type": "webhook_endpoint", "id": endpoint},
                "data": {"message": "a test delivery from Hybrid CRM"},
            });
            Ok((delivery.to_string(), serde_json::to_vec(&ping).map_err(|err| err.to_string())?))
        }
    }
}

async fn send(state: &AppState, claimed: &Claimed, message_id: &str, body: Vec<u8>) -> Attempt {
    let attempted_at = clock::now();
    let started = Instant::now();
    let outcome = post(state, claimed, message_id, body).await;
    let duration_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    match outcome {
        Ok((status, _)) if (200..300).contains(&status) => {
            Attempt { attempted_at, status_code: Some(status), duration_ms, error: None, succeeded: true }
        }
        Ok((status, text)) => Attempt {
            attempted_at,
            status_code: Some(status),
            duration_ms,
            error: Some(clip(&format!("the receiver answered {status}: {text}"))),
            succeeded: false,
        },
        Err(error) => {
            Attempt { attempted_at, status_code: None, duration_ms, error: Some(clip(&error)), succeeded: false }
        }
    }
}

async fn post(state: &AppState, claimed: &Claimed, message_id: &str, body: Vec<u8>) -> Result<(i32, String), String> {
    if let Some(reason) = url_refusal(&claimed.url, state.settings.webhook_allow_private) {
        return Err(format!("the endpoint's URL {reason}"));
    }
    let timestamp = clock::now().timestamp();
    let signature = signatures(state, claimed, message_id, timestamp, &body)?;
    webhook_http::post(&state.webhook_client, &claimed.url, Signed { message_id, timestamp, signature }, body).await
}

/// The sealer of signing secrets (every server has one: `serve` refuses to start without).
fn sealer(state: &AppState) -> AppResult<Arc<Sealer>> {
    state.sealer.clone().ok_or_else(|| AppError::Internal(anyhow::anyhow!("WEBHOOK_SECRET_KEY is not configured")))
}

/// A new Standard Webhooks secret (32 random bytes), and its sealed form for the database.
fn new_secret(state: &AppState) -> AppResult<(String, String)> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|err| AppError::Internal(anyhow::anyhow!("no randomness for a secret: {err}")))?;
    let secret = encode_secret(&key);
    let sealed = sealer(state)?.seal(&secret)?;
    Ok((secret, sealed))
}

/// The secret a stored value holds: sealed, or in clear in rows older than sealing.
fn opened(state: &AppState, stored: &str) -> Option<Vec<u8>> {
    let secret = if Sealer::is_sealed(stored) { state.sealer.as_deref()?.open(stored)? } else { stored.to_string() };
    decode_secret(&secret)
}

/// `webhook-signature`: the current secret's signature, and during a rotation's overlap the
/// previous secret's too, space-separated (Standard Webhooks lets receivers accept either).
fn signatures(
    state: &AppState,
    claimed: &Claimed,
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, String> {
    let key = opened(state, &claimed.secret).ok_or("the endpoint's secret cannot be opened with WEBHOOK_SECRET_KEY")?;
    let mut signed = signature(&key, message_id, timestamp, body);
    let overlapping = claimed.previous_secret_until.is_some_and(|until| clock::now() < until);
    if let Some(previous) = claimed.previous_secret.as_deref().filter(|_| overlapping).and_then(|p| opened(state, p)) {
        signed.push(' ');
        signed.push_str(&signature(&previous, message_id, timestamp, body));
    }
    Ok(signed)
}

/// A new signing secret for the endpoint, shown this once; the current one keeps signing beside
/// it for `overlap`, so receivers can switch without missing a delivery.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn rotate_secret(
    state: &AppState,
    actor: EndpointActor,
    id: WebhookEndpointId,
    overlap: Duration,
) -> AppResult<(WebhookEndpoint, String)> {
    let (secret, sealed) = new_secret(state)?;
    let now = clock::now();
    let until = now + chrono::Duration::from_std(overlap).unwrap_or_default();
    let endpoint = state
        .db
        .tx(move |conn| {
            visible_endpoint(conn, actor, id)?;
            repo::rotate_secret(conn, id, &sealed, until, now)?.found(id)
        })
        .await?;
    Ok((endpoint, secret))
}

/// Seals the secrets that rows written before sealing hold in clear (run at start).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn reseal_secrets(state: &AppState) -> AppResult<usize> {
    let sealer = sealer(state)?;
    state
        .db
        .tx(move |conn| {
            let rows = repo::unsealed_secrets(conn)?;
            for (id, secret, previous) in &rows {
                let seal = |text: &str| if Sealer::is_sealed(text) { Ok(text.to_string()) } else { sealer.seal(text) };
                let previous = previous.as_deref().map(seal).transpose()?;
                repo::reseal(conn, *id, &seal(secret)?, previous.as_deref())?;
            }
            Ok(rows.len())
        })
        .await
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::webhooks::Attempt;

    fn attempt(endpoint: uuid::Uuid, succeeded: bool) -> (Claimed, AttemptOutcome) {
        let claimed = Claimed {
            id: uuid::Uuid::now_v7(),
            endpoint_id: endpoint,
            url: "http://receiver.example/hook".into(),
            secret: "whsec_test".into(),
            previous_secret: None,
            previous_secret_until: None,
            event_id: None,
            sequence: None,
            attempts: 0,
        };
        let attempt = Attempt {
            attempted_at: clock::now(),
            status_code: Some(if succeeded { 200 } else { 500 }),
            duration_ms: 1,
            error: None,
            succeeded,
        };
        (claimed, AttemptOutcome { attempt, retry_at: None })
    }

    #[test]
    fn health_notes_leave_the_streak_that_noting_every_attempt_in_order_would() {
        let (a, b, c, d) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let results = vec![
            attempt(a, false), // a: failed, then succeeded: the streak ends
            attempt(b, true),  // b: succeeded, then failed: a new streak starts now
            attempt(a, true),
            attempt(b, true),
            attempt(b, false),
            attempt(c, false), // c: only failures: the streak goes on (or starts)
            attempt(c, false),
            attempt(d, false), // d: its one attempt was taken over by another dispatcher
        ];
        let recorded = results[..7].iter().map(|(claimed, _)| claimed.id).collect();
        assert_eq!(health_notes(&results, &recorded), vec![(a, true), (b, true), (b, false), (c, false)]);
    }
}
