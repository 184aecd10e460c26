//! API keys (create, list, revoke), recognizing a key on each request (with a short cache), the
//! per-key and per-IP rate limits, and the audit log.

use super::constraints::{length, Meaning, Rule};
use super::{clock, id_page, AppError, AppResult, AppState, Found, Keyed};
use crate::config::RateLimit;
use crate::domain::access::{self, ApiKey, AuditEntry, AuditFilter, KeyKind, NewApiKey, Role};
use crate::domain::ids::{ApiKeyId, AuditEntryId, Located};
use crate::domain::page::{Page, PageRequest};
use crate::store::pg::{access as repo, audit as audit_repo};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use crate::store::pg::audit::{scoped as audit_scoped, AuditUnit};

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Check("api_keys_name_check", length("name", 1, 100)),
    Rule::Check("api_keys_role_check", Meaning::Invariant),
    Rule::Check("api_keys_kind_check", Meaning::Invariant),
    // 32 random bytes: a collision is not something a caller can cause.
    Rule::Unique("api_keys_secret_hash_key", Meaning::Invariant),
];

/// How often a key's `last_used_at` is written, at most.
const LAST_USED_RESOLUTION: chrono::TimeDelta = chrono::TimeDelta::minutes(1);
/// How old a key lookup may be when PostgreSQL cannot be asked.
const STALE_IF_UNAVAILABLE: Duration = Duration::from_secs(300);
/// Past this many cached keys or buckets, stale ones are dropped.
const MAX_ENTRIES: usize = 10_000;
/// How many secrets that match no key are remembered (the oldest is forgotten first).
const MAX_UNKNOWN_KEYS: usize = 4_096;

impl Keyed for ApiKey {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

impl Keyed for AuditEntry {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

/// A new key and its secret, which is shown this once.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create_key(state: &AppState, new: NewApiKey) -> AppResult<(ApiKey, String)> {
    let now = clock::now();
    match (new.kind, new.role) {
        (KeyKind::Publishable, _) if new.role != Role::Custom || !new.scopes.is_empty() => {
            return Err(AppError::invalid("role", "not_allowed", "a publishable key holds no role and no scope"))
        }
        (KeyKind::Publishable, _) if new.allowed_origins.is_empty() => {
            return Err(AppError::invalid("allowed_origins", "required", "a publishable key needs its browser origins"))
        }
        (KeyKind::Publishable, _) => {}
        (KeyKind::Secret, _) if !new.allowed_origins.is_empty() => {
            return Err(AppError::invalid("allowed_origins", "not_allowed", "only publishable keys name origins"))
        }
        (KeyKind::Secret, Role::Custom) if new.scopes.is_empty() => {
            return Err(AppError::invalid("scopes", "required", "a key without a role needs at least one scope"))
        }
        (KeyKind::Secret, Role::Custom) => {}
        (KeyKind::Secret, _) if !new.scopes.is_empty() => {
            return Err(AppError::invalid("scopes", "not_allowed", "give either a role or a list of scopes, not both"))
        }
        _ => {}
    }
    if new.expires_at.is_some_and(|at| at <= now) {
        return Err(AppError::invalid("expires_at", "in_the_past", "must be in the future"));
    }
    let secret = access::new_secret(new.kind)
        .map_err(|err| AppError::Internal(anyhow::anyhow!("no randomness for a key: {err}")))?;
    let hash = access::secret_hash(&secret);
    let last_four = access::last_four(&secret);
    let key = state
        .db
        .tx(move |conn| {
            let id = ApiKeyId::new();
            let key = repo::insert_key(conn, id, &new, &hash, &last_four, now)?;
            super::idempotency::recovery_point(id.path());
            Ok(key)
        })
        .await?;
    state.callers.forget_origins();
    Ok((key, secret))
}

/// The origins some usable publishable key names, read at most once per `API_KEY_CACHE_SECS`
/// on each replica (at once on the one that created or revoked a key). While PostgreSQL cannot
/// be asked, the last list read stays (empty if none was).
pub async fn storefront_origins(state: &AppState) -> Arc<Vec<String>> {
    let ttl = state.settings.access.key_cache_ttl;
    let cached = state.callers.storefront_origins.lock().ok().and_then(|cached| cached.clone());
    if let Some((fetched, origins)) = &cached {
        if fetched.elapsed() < ttl {
            return origins.clone();
        }
    }
    let now = clock::now();
    match state.db.run(move |conn| Ok(repo::publishable_origins(conn, now)?)).await {
        Ok(mut origins) => {
            origins.sort();
            origins.dedup();
            let origins = Arc::new(origins);
            if let Ok(mut cached) = state.callers.storefront_origins.lock() {
                *cached = Some((Instant::now(), origins.clone()));
            }
            origins
        }
        Err(err) => {
            tracing::warn!(error = %err, "the publishable keys' origins could not be read");
            cached.map(|(_, origins)| origins).unwrap_or_default()
        }
    }
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_key(state: &AppState, id: ApiKeyId) -> AppResult<ApiKey> {
    state.db.run(move |conn| repo::find_key(conn, id)?.found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_keys(state: &AppState, page: PageRequest) -> AppResult<Page<ApiKey>> {
    id_page(state, page, |conn, before, limit| Ok(repo::list_keys(conn, before, limit)?)).await
}

/// Revokes a key: every replica refuses it once its cached lookup expires
/// (`API_KEY_CACHE_SECS`), this one at once.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn revoke_key(state: &AppState, id: ApiKeyId) -> AppResult<ApiKey> {
    let now = clock::now();
    let key = state.db.tx(move |conn| repo::revoke_key(conn, id, now)?.found(id)).await?;
    state.callers.forget(id);
    Ok(key)
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list_audit(state: &AppState, filter: AuditFilter, page: PageRequest) -> AppResult<Page<AuditEntry>> {
    write_audit_outcomes(state).await?;
    id_page(state, page, move |conn, before, limit| Ok(audit_repo::list(conn, &filter, before, limit)?)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get_audit_entry(state: &AppState, id: AuditEntryId) -> AppResult<AuditEntry> {
    write_audit_outcomes(state).await?;
    state.db.run(move |conn| audit_repo::find(conn, id)?.found(id)).await
}

/// Write requests' audit entries with their outcome (status, created subject), not written yet.
/// They are written in batches just after the responses (`AUDIT_BATCH_MS`), so that a write's
/// response does not wait for a second round trip and transaction; a read of the audit log
/// writes what is pending first, so this process's reads see every write it answered, and a
/// server that stops writes what is pending. An outcome still pending when the process dies is
/// lost: its entry stays with status `null`, as the audit log documents.
#[derive(Default)]
pub struct AuditOutcomes {
    pending: Mutex<Vec<AuditEntry>>,
    /// Held while a batch is written, so a read waits for a batch already taken.
    writing: tokio::sync::Mutex<()>,
}

impl AuditOutcomes {
    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<AuditEntry>> {
        self.pending.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Records a write request's entry with its outcome (see `store::pg::audit`), written with the
/// next batch.
pub fn finish_audit(state: &AppState, entry: AuditEntry) {
    let first = {
        let mut pending = state.audit_outcomes.pending();
        pending.push(entry);
        pending.len() == 1
    };
    if first {
        let state = state.clone();
        tokio::spawn(async move {
            tokio::time::sleep(state.settings.access.audit_batch_delay).await;
            if let Err(err) = write_audit_outcomes(&state).await {
                tracing::warn!(error = %err, "could not record the outcome of writes in the audit log");
            }
        });
    }
}

/// Writes the pending outcomes now (before a read of the audit log, and at shutdown).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn write_audit_outcomes(state: &AppState) -> AppResult<()> {
    let _writing = state.audit_outcomes.writing.lock().await;
    let batch = std::mem::take(&mut *state.audit_outcomes.pending());
    if batch.is_empty() {
        return Ok(());
    }
    // The write (if any) committed with its entry; only these outcomes are lost on failure.
    state.db.bookkeeping(move |conn| Ok(audit_repo::finish_all(conn, &batch)?)).await
}

/// Runs a key-management command of the command line (`hybrid-crm api-key …`) with its audit
/// entry — no key, method `CLI` — inserted in the command's own transaction like a request's,
/// then written with the status the HTTP operation would answer.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn audit_command<T>(
    state: &AppState,
    operation: &str,
    command: &str,
    subject: Option<String>,
    status: i16,
    work: impl std::future::Future<Output = AppResult<T>>,
    subject_of: impl FnOnce(&T) -> String,
) -> AppResult<T> {
    let entry = AuditEntry {
        id: AuditEntryId::new(),
        occurred_at: clock::now(),
        key_id: None,
        user_id: None,
        account_id: None,
        operation_id: operation.to_string(),
        method: "CLI".into(),
        path: command.to_string(),
        subject_id: subject,
        status: None,
        request_id: None,
    };
    let outcome = audit_scoped(AuditUnit::new(entry.clone()), work).await;
    let status = match &outcome {
        Ok(_) => status,
        Err(AppError::NotFound { .. }) => 404,
        Err(AppError::Validation(_)) => 422,
        Err(AppError::Conflict { .. }) => 409,
        Err(_) => 500,
    };
    let subject_id = entry.subject_id.clone().or_else(|| outcome.as_ref().ok().map(subject_of));
    finish_audit(state, AuditEntry { status: Some(status), subject_id, ..entry });
    write_audit_outcomes(state).await?;
    outcome
}

/// Why a request's credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Expired,
    Revoked,
}

/// The keys recently looked up and the rate-limit buckets of this process.
#[derive(Default)]
pub struct CallerCache {
    /// Keys that exist (valid, expired or revoked): only their owners' secrets can add one.
    keys: Mutex<HashMap<[u8; 32], CachedKey>>,
    /// Secrets that match no key, oldest first: bounded on its own, so a flood of made-up keys
    /// evicts only other made-up keys, never a real one.
    unknown: Mutex<UnknownKeys>,
    buckets: Mutex<HashMap<Bucket, TokenBucket>>,
    /// Lookups in flight, by secret: the requests that arrive with a secret while it is being
    /// looked up wait for that lookup instead of making their own (a cold cache under a burst
    /// of one key's requests costs one query, not one per request).
    flights: Mutex<HashMap<[u8; 32], Arc<tokio::sync::OnceCell<Lookup>>>>,
    /// Every usable publishable key's origins, as last read (the store's CORS preflights).
    storefront_origins: Mutex<Option<(Instant, Arc<Vec<String>>)>>,
}

/// A lookup's outcome as every request waiting on it sees it (the error as text: each waiter
/// answers with its own 503).
type Lookup = Result<Option<Arc<ApiKey>>, String>;

#[derive(Default)]
struct UnknownKeys {
    seen: HashMap<[u8; 32], Instant>,
    order: std::collections::VecDeque<[u8; 32]>,
}

struct CachedKey {
    /// Shared: every request made with the key gets the same one.
    key: Arc<ApiKey>,
    fetched: Instant,
}

/// Whose requests a bucket counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    Key(ApiKeyId),
    User(crate::domain::ids::UserId),
    Account(crate::domain::ids::AccountId),
    /// A publishable key, per address.
    Storefront(ApiKeyId, Option<IpAddr>),
    Ip(Option<IpAddr>),
}

struct TokenBucket {
    tokens: f64,
    updated: Instant,
}

/// The outcome of taking one token, with what the rate-limit headers say.
#[derive(Debug, Clone, Copy)]
pub struct RateDecision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    /// Seconds until the next request would be allowed (when refused).
    pub retry_after_secs: u64,
}

impl CallerCache {
    fn forget(&self, id: ApiKeyId) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.retain(|_, cached| cached.key.id != id);
        }
        self.forget_origins();
    }

    fn forget_origins(&self) {
        if let Ok(mut origins) = self.storefront_origins.lock() {
            *origins = None;
        }
    }

    /// A lookup younger than `age`: `Some(None)` for a secret known to match no key.
    fn cached(&self, hash: &[u8; 32], age: Duration) -> Option<Option<Arc<ApiKey>>> {
        if let Some(key) = self.keys.lock().ok()?.get(hash).filter(|cached| cached.fetched.elapsed() < age) {
            return Some(Some(key.key.clone()));
        }
        let unknown = self.unknown.lock().ok()?;
        unknown.seen.get(hash).filter(|at| at.elapsed() < age).map(|_| None)
    }

    /// Whether the secret matched a key when last looked up (however long ago).
    fn matched_before(&self, hash: &[u8; 32]) -> bool {
        self.keys.lock().is_ok_and(|keys| keys.contains_key(hash))
    }

    fn in_flight(&self, hash: &[u8; 32]) -> bool {
        self.flights.lock().is_ok_and(|flights| flights.contains_key(hash))
    }

    /// The lookup of `hash` in flight, or a new one this caller starts.
    fn flight(&self, hash: [u8; 32]) -> Arc<tokio::sync::OnceCell<Lookup>> {
        match self.flights.lock() {
            Ok(mut flights) => flights.entry(hash).or_default().clone(),
            Err(_) => Arc::default(),
        }
    }

    /// The lookup is over: later requests read the cache (or start another).
    fn land(&self, hash: &[u8; 32], flight: &Arc<tokio::sync::OnceCell<Lookup>>) {
        if let Ok(mut flights) = self.flights.lock() {
            if flights.get(hash).is_some_and(|current| Arc::ptr_eq(current, flight)) {
                flights.remove(hash);
            }
        }
    }

    fn remember(&self, hash: [u8; 32], key: Option<Arc<ApiKey>>, ttl: Duration) {
        match key {
            Some(key) => {
                if let Ok(mut keys) = self.keys.lock() {
                    if keys.len() >= MAX_ENTRIES {
                        keys.retain(|_, cached| cached.fetched.elapsed() < ttl.max(STALE_IF_UNAVAILABLE));
                    }
                    keys.insert(hash, CachedKey { key, fetched: Instant::now() });
                }
            }
            None => {
                if let Ok(mut unknown) = self.unknown.lock() {
                    if unknown.seen.insert(hash, Instant::now()).is_none() {
                        unknown.order.push_back(hash);
                    }
                    while unknown.order.len() > MAX_UNKNOWN_KEYS {
                        if let Some(oldest) = unknown.order.pop_front() {
                            unknown.seen.remove(&oldest);
                        }
                    }
                }
            }
        }
    }

    /// Whether the bucket has no token to give now (without taking one).
    pub fn exhausted(&self, bucket: Bucket, limit: RateLimit) -> bool {
        let Ok(buckets) = self.buckets.lock() else { return false };
        buckets
            .get(&bucket)
            .is_some_and(|state| state.tokens + state.updated.elapsed().as_secs_f64() * limit.per_second < 1.0)
    }

    /// Returns a token taken for work that turned out to be a real key's.
    pub fn give_back(&self, bucket: Bucket, limit: RateLimit) {
        if let Ok(mut buckets) = self.buckets.lock() {
            if let Some(state) = buckets.get_mut(&bucket) {
                state.tokens = (state.tokens + 1.0).min(f64::from(limit.burst));
            }
        }
    }

    /// Takes one token from the bucket, creating it full.
    pub fn take(&self, bucket: Bucket, limit: RateLimit) -> RateDecision {
        let now = Instant::now();
        let burst = f64::from(limit.burst);
        let Ok(mut buckets) = self.buckets.lock() else {
            return RateDecision {
                allowed: true,
                limit: limit.burst,
                remaining: limit.burst,
                reset_secs: 0,
                retry_after_secs: 0,
            };
        };
        if buckets.len() >= MAX_ENTRIES {
            // A bucket that has refilled is the same as no bucket.
            buckets.retain(|_, b| b.tokens + now.duration_since(b.updated).as_secs_f64() * limit.per_second < burst);
        }
        let state = buckets.entry(bucket).or_insert(TokenBucket { tokens: burst, updated: now });
        state.tokens = (state.tokens + now.duration_since(state.updated).as_secs_f64() * limit.per_second).min(burst);
        state.updated = now;
        let allowed = state.tokens >= 1.0;
        if allowed {
            state.tokens -= 1.0;
        }
        let seconds = |tokens: f64| (tokens.max(0.0) / limit.per_second).ceil() as u64;
        RateDecision {
            allowed,
            limit: limit.burst,
            remaining: state.tokens.floor() as u32,
            reset_secs: seconds(burst - state.tokens),
            retry_after_secs: seconds(1.0 - state.tokens).max(1),
        }
    }
}

/// What the cache knows of a secret without asking PostgreSQL.
pub enum Recognized {
    Known(Result<Arc<ApiKey>, Refusal>),
    /// Only a lookup can tell. `known` when the secret matched a key when it was last looked up
    /// (its cache entry aged out), or is being looked up now (the request waits for that
    /// lookup and costs no query): this costs the address nothing, else every request in flight
    /// with a real key when its entry ages out, or on a cold start, would spend the address's
    /// bucket. Otherwise the caller charges its per-address bucket first.
    NeedsLookup {
        known: bool,
    },
}

/// The key a secret belongs to, if the cache knows (malformed secrets are refused at once).
pub fn recognize(state: &AppState, secret: &str) -> Recognized {
    if !access::looks_like_key(secret) {
        return Recognized::Known(Err(Refusal::Unknown));
    }
    match state.callers.cached(&access::secret_hash(secret), state.settings.access.key_cache_ttl) {
        Some(key) => Recognized::Known(usable(key)),
        None => {
            let hash = access::secret_hash(secret);
            Recognized::NeedsLookup { known: state.callers.matched_before(&hash) || state.callers.in_flight(&hash) }
        }
    }
}

/// The key a secret belongs to, if it may be used now.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn authenticate(state: &AppState, secret: &str) -> AppResult<Result<Arc<ApiKey>, Refusal>> {
    if let Recognized::Known(known) = recognize(state, secret) {
        return Ok(known);
    }
    let hash = access::secret_hash(secret);
    let ttl = state.settings.access.key_cache_ttl;
    let flight = state.callers.flight(hash);
    let looked_up = flight
        .get_or_init(|| async {
            match state.db.run(move |conn| Ok(repo::find_key_by_hash(conn, &hash)?)).await {
                Ok(found) => {
                    let found = found.map(Arc::new);
                    state.callers.remember(hash, found.clone(), ttl);
                    if let Some(key) = &found {
                        note_use(state, key);
                    }
                    Ok(found)
                }
                Err(err) => Err(err.to_string()),
            }
        })
        .await
        .clone();
    state.callers.land(&hash, &flight);
    let key = match looked_up {
        Ok(found) => found,
        // While PostgreSQL is down a key seen recently still counts (nothing can be revoked
        // meanwhile): callers get the store's 503 from the operation, or readiness details.
        Err(detail) => state
            .callers
            .cached(&hash, STALE_IF_UNAVAILABLE)
            .ok_or(AppError::Unavailable { store: "postgresql", detail })?,
    };
    Ok(usable(key))
}

fn usable(key: Option<Arc<ApiKey>>) -> Result<Arc<ApiKey>, Refusal> {
    let now = clock::now();
    match key {
        None => Err(Refusal::Unknown),
        Some(key) if key.revoked_at.is_some() => Err(Refusal::Revoked),
        Some(key) if !key.usable_at(now) => Err(Refusal::Expired),
        Some(key) => Ok(key),
    }
}

/// `last_used_at`, written in the background when the lookup is refreshed and a minute old.
fn note_use(state: &AppState, key: &ApiKey) {
    let now = clock::now();
    if key.last_used_at.is_some_and(|at| now - at < LAST_USED_RESOLUTION) || !key.usable_at(now) {
        return;
    }
    let (db, id) = (state.db.clone(), key.id);
    tokio::spawn(async move {
        if let Err(err) = db.run(move |conn| Ok(repo::touch_key(conn, id, now)?)).await {
            tracing::debug!(error = %err, "could not record a key's last use");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Arc<ApiKey> {
        Arc::new(ApiKey {
            id: ApiKeyId::new(),
            kind: KeyKind::Secret,
            name: "real".into(),
            role: Role::Admin,
            scopes: Vec::new(),
            last_four: "abcd".into(),
            expires_at: None,
            created_at: clock::now(),
            last_used_at: None,
            revoked_at: None,
            allowed_origins: Vec::new(),
        })
    }

    #[test]
    fn a_flood_of_unknown_secrets_never_evicts_a_real_key() {
        let callers = CallerCache::default();
        let ttl = Duration::from_secs(60);
        let real = key();
        callers.remember([1; 32], Some(real.clone()), ttl);
        for n in 0..(MAX_UNKNOWN_KEYS as u32 * 3) {
            let mut hash = [0u8; 32];
            hash[..4].copy_from_slice(&n.to_be_bytes());
            hash[31] = 9;
            callers.remember(hash, None, ttl);
        }
        assert_eq!(callers.cached(&[1; 32], ttl).flatten().map(|k| k.id), Some(real.id), "the real key stays");
        let unknown = callers.unknown.lock().expect("lock");
        assert_eq!(unknown.seen.len(), MAX_UNKNOWN_KEYS, "unknown secrets are bounded");
        assert_eq!(unknown.order.len(), MAX_UNKNOWN_KEYS);
        drop(unknown);
        let mut newest = [0u8; 32];
        newest[..4].copy_from_slice(&(MAX_UNKNOWN_KEYS as u32 * 3 - 1).to_be_bytes());
        newest[31] = 9;
        assert!(matches!(callers.cached(&newest, ttl), Some(None)), "the newest unknown secret is remembered");
        assert_eq!(callers.cached(&[0; 32], ttl).map(|k| k.is_some()), None, "the oldest was forgotten");
    }

    #[test]
    fn a_token_given_back_refills_only_up_to_the_burst() {
        let callers = CallerCache::default();
        let limit = RateLimit { per_second: 0.001, burst: 2 };
        let bucket = Bucket::Ip(None);
        assert!(callers.take(bucket, limit).allowed);
        callers.give_back(bucket, limit);
        callers.give_back(bucket, limit);
        assert_eq!(callers.take(bucket, limit).remaining, 1);
        assert!(callers.take(bucket, limit).allowed);
        assert!(!callers.take(bucket, limit).allowed);
    }
}
