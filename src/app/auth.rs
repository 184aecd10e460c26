//! Signing in and out: passwords (argon2id), sessions and their rotating tokens, recognizing an
//! access token on each request, and throttling failed sign-ins.

use super::constraints::{gone, length, Meaning, Rule};
use super::{clock, id_page, AppError, AppResult, AppState, Keyed};
use crate::domain::access::{self, Actor, Principal};
use crate::domain::auth::{
    self as rules, Audience, EndReason, Session, SessionOf, SignedInAs, ACCESS_PREFIX, REFRESH_PREFIX,
};
use crate::domain::ids::{AccountId, ClientId, SessionId, UserId};
use crate::domain::page::{Page, PageRequest};
use crate::store::pg::audit;
use crate::store::pg::auth::{self as repo, Refreshed};
use crate::store::pg::{customers, users};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{DateTime, TimeDelta, Utc};
use std::net::IpAddr;
use std::sync::{Arc, LazyLock};

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Check("sessions_device_check", length("device", 1, 200)),
    Rule::Check("sessions_end_reason_check", Meaning::Invariant),
    Rule::Check("sessions_check", Meaning::Invariant),
    // 32 random bytes: a collision is not something a caller can cause.
    Rule::Unique("sessions_refresh_hash_key", Meaning::Invariant),
    Rule::foreign_key("sessions_user_id_fkey", gone("user"), None),
    Rule::foreign_key("used_refresh_tokens_session_id_fkey", gone("session"), None),
    Rule::foreign_key("access_tokens_session_id_fkey", gone("session"), None),
    Rule::Check("sessions_one_person", Meaning::Invariant),
    Rule::foreign_key("sessions_account_id_fkey", gone("customer_account"), None),
    Rule::Check("sign_in_failures_subject_check", Meaning::Invariant),
    Rule::Check("sign_in_failures_failures_check", Meaning::Invariant),
];

/// How often a session's `last_used_at` is written, at most.
const LAST_USED_RESOLUTION: TimeDelta = TimeDelta::minutes(1);

impl Keyed for Session {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

/// What a sign-in or a refresh hands out. The secrets exist only here: PostgreSQL has hashes.
#[derive(Debug)]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds the access token works.
    pub expires_in: u64,
    pub session: Session,
}

/// OWASP's argon2id parameters: 19 MiB, two passes, one lane.
fn hasher() -> AppResult<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|err| AppError::Internal(anyhow::anyhow!("argon2 parameters: {err}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

type HashJob = Box<dyn FnOnce() + Send>;

/// How much lower than the requests' the hashing threads' priority is (nice levels).
const HASHING_NICENESS: i32 = 10;

/// The threads that hash passwords, `AUTH_HASH_CONCURRENCY` of them, and nothing else: a flood of
/// sign-ins queues here instead of taking the blocking threads and the cores the other requests
/// need. They run 10 nice levels below the rest of the process: while requests want the CPU the
/// scheduler gives it to them first (measured against Linux's `SCHED_IDLE` too, which did no
/// better on two cores; see docs/BENCHMARKS.md).
pub struct HashPool {
    jobs: std::sync::mpsc::Sender<HashJob>,
}

impl HashPool {
    pub fn new(threads: usize) -> std::io::Result<HashPool> {
        let (jobs, queue) = std::sync::mpsc::channel::<HashJob>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new().name(format!("password-hash-{i}")).spawn(move || {
                // Linux keeps a nice value per thread: this one only, lowered from the process's
                // (raising a nice value needs no privilege).
                // SAFETY: get/setpriority read no memory of ours; 0 names the calling thread.
                let lowered = unsafe {
                    let current = libc::getpriority(libc::PRIO_PROCESS, 0);
                    libc::setpriority(libc::PRIO_PROCESS, 0, (current + HASHING_NICENESS).min(19))
                };
                if lowered != 0 {
                    tracing::warn!("the password-hashing thread keeps the requests' CPU priority");
                }
                loop {
                    let job = match queue.lock() {
                        Ok(queue) => queue.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })?;
        }
        Ok(HashPool { jobs })
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> AppResult<T> + Send + 'static) -> AppResult<T> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let job: HashJob = Box::new(move || {
            let _ = done.send(work());
        });
        self.jobs
            .send(job)
            .map_err(|_| AppError::Internal(anyhow::anyhow!("the password-hashing threads are gone")))?;
        outcome.await.map_err(|_| AppError::Internal(anyhow::anyhow!("password hashing failed")))?
    }
}

/// A password hash or verification, on the hashing threads.
async fn hashing<T: Send + 'static>(
    state: &AppState,
    operation: &'static str,
    work: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let _timer = state.metrics.password_hashing.with_label_values(&[operation]).start_timer();
    state.hashing.run(work).await
}

/// A new password's PHC string, after the policy (length, not common) accepted it.
pub async fn hash_password(state: &AppState, field: &'static str, password: String) -> AppResult<String> {
    if let Some((code, message)) = rules::password_issue(&password) {
        return Err(AppError::invalid(field, code, message));
    }
    hashing(state, "hash", move || {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|err| AppError::Internal(anyhow::anyhow!("no randomness: {err}")))?;
        let salt = SaltString::encode_b64(&salt).map_err(|err| AppError::Internal(anyhow::anyhow!("{err}")))?;
        let hash = hasher()?
            .hash_password(password.as_bytes(), &salt)
            .map_err(|err| AppError::Internal(anyhow::anyhow!("argon2: {err}")))?;
        Ok(hash.to_string())
    })
    .await
}

/// A hash no password matches, verified when there is no real one (an unknown email, a user
/// without a password), so that those take as long as a wrong password.
static DECOY: LazyLock<Option<String>> = LazyLock::new(|| {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    let salt = SaltString::encode_b64(&bytes[..16]).ok()?;
    let hash = hasher().ok()?.hash_password(&bytes, &salt).ok()?;
    Some(hash.to_string())
});

/// Whether the password matches the stored hash (`None`: the decoy, which never matches).
pub(crate) async fn verify(state: &AppState, stored: Option<String>, password: String) -> AppResult<bool> {
    hashing(state, "verify", move || {
        let real = stored.is_some();
        let Some(stored) = stored.or_else(|| DECOY.clone()) else {
            return Ok(false);
        };
        let hash = PasswordHash::new(&stored)
            .map_err(|err| AppError::Internal(anyhow::anyhow!("a stored password hash is malformed: {err}")))?;
        Ok(hasher()?.verify_password(password.as_bytes(), &hash).is_ok() && real)
    })
    .await
}

const INVALID_CREDENTIALS: AppError =
    AppError::Unauthenticated { code: "invalid_credentials", message: "the email or the password is not right" };
const INVALID_REFRESH: AppError = AppError::Unauthenticated {
    code: "invalid_refresh_token",
    message: "the refresh token is not valid (expired, used, or its session ended): sign in again",
};

/// The throttle's subjects for a sign-in: the account and the source address.
fn throttle_subjects(audience: Audience, email: &str, ip: Option<IpAddr>) -> [String; 2] {
    let address = ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    let account = match audience {
        Audience::Staff => "email",
        Audience::Customers => "customer",
    };
    [format!("{account}:{}", email.trim().to_lowercase()), format!("ip:{address}")]
}

/// Seconds until a subject with `failures` (the last at `last`) may try again, if it must wait:
/// nothing for the first `allowed`, then 1 s, 2 s, 4 s … up to `max_wait`.
fn wait_for(failures: i32, last: DateTime<Utc>, now: DateTime<Utc>, allowed: u32, max_wait: u64) -> Option<u64> {
    let over = i64::from(failures) - i64::from(allowed);
    if over <= 0 {
        return None;
    }
    let wait = 1u64.checked_shl((over - 1).min(62) as u32).unwrap_or(u64::MAX).min(max_wait);
    let until = last + TimeDelta::seconds(wait as i64);
    (now < until).then(|| (until - now).num_seconds().max(1) as u64)
}

/// Who an email names at sign-in, as far as signing in is concerned.
struct Candidate {
    person: SessionOf,
    hash: Option<String>,
    /// May sign in (an active user; an active, verified account).
    usable: bool,
    /// An active customer account whose email is not verified yet: told so, but only to someone
    /// who gave its password.
    unverified: bool,
}

fn candidate(conn: &mut diesel::PgConnection, audience: Audience, email: &str) -> AppResult<Option<Candidate>> {
    Ok(match audience {
        Audience::Staff => users::find_for_sign_in(conn, email)?.map(|(user, hash)| Candidate {
            person: SessionOf::User(user.id),
            hash,
            usable: user.active,
            unverified: false,
        }),
        Audience::Customers => customers::find_by_email(conn, email)?.map(|(account, hash)| Candidate {
            person: SessionOf::Account(account.id),
            hash: Some(hash),
            usable: account.usable(),
            unverified: account.active && account.email_verified_at.is_none(),
        }),
    })
}

/// Signs a staff user or a customer in with email and password: a new session and its first
/// tokens. Every refusal is the same 401 and costs the same work (an unknown email verifies a
/// decoy hash), so neither the answer nor its timing tells whether the email has an account;
/// failures are counted per account and per address, and past `AUTH_FAILURES_ALLOWED` each
/// doubles the wait (429 with `Retry-After`) up to `AUTH_MAX_WAIT_SECS`. A customer whose email
/// is not verified yet, having given the right password, is told so (403).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_in(
    state: &AppState,
    audience: Audience,
    email: String,
    password: String,
    device: Option<String>,
    ip: Option<IpAddr>,
) -> AppResult<Tokens> {
    let settings = state.settings.access.auth.clone();
    let now = clock::now();
    let subjects = throttle_subjects(audience, &email, ip);
    let (found, waits) = {
        let subjects = subjects.clone();
        state
            .db
            .read(move |conn| {
                let found = candidate(conn, audience, email.trim())?;
                let mut waits = Vec::new();
                for subject in &subjects {
                    if let Some((failures, last)) = repo::failures(conn, subject)? {
                        let (allowed, cap) = (settings.failures_allowed, settings.max_wait.as_secs());
                        waits.extend(wait_for(failures, last, now, allowed, cap));
                    }
                }
                Ok((found, waits))
            })
            .await?
    };
    if let Some(found) = &found {
        audit::identify(found.person.owner());
    }
    if let Some(retry_after_secs) = waits.into_iter().max() {
        return Err(AppError::Throttled {
            retry_after_secs,
            message: format!("too many failed sign-ins; retry in {retry_after_secs} s"),
        });
    }
    // Whoever may not sign in (an unknown email, a disabled person) verifies the decoy.
    let found = found.filter(|found| found.usable || found.unverified);
    let stored = found.as_ref().and_then(|found| found.hash.clone());
    let (true, Some(found)) = (verify(state, stored, password).await?, found) else {
        return Err(failed_sign_in(state, subjects, now).await);
    };
    if !found.usable {
        return Err(AppError::NotAllowed {
            code: "email_not_verified",
            message: "the email is not verified yet: follow the link sent to it (registering again sends a new one)",
        });
    }
    let tokens = new_tokens()?;
    let session = Session {
        id: SessionId::new(),
        person: found.person,
        device: device.map(|d| d.trim().to_string()).filter(|d| !d.is_empty()),
        created_at: now,
        last_used_at: now,
        expires_at: now + settings.refresh_ttl,
        ended_at: None,
        end_reason: None,
    };
    let access_expires_at = now + settings.access_ttl;
    let account_subject = subjects[0].clone();
    let stored_session = session.clone();
    let (refresh_hash, access_hash) = (access::secret_hash(&tokens.1), access::secret_hash(&tokens.0));
    state
        .db
        .tx(move |conn| {
            repo::insert_session(conn, &stored_session, &refresh_hash, &access_hash, access_expires_at)?;
            // A success forgives the account's failures (not the address's: one person signing
            // in does not clear a flood from the same address at other accounts).
            repo::clear_failures(conn, &account_subject)?;
            Ok(())
        })
        .await?;
    Ok(Tokens { access_token: tokens.0, refresh_token: tokens.1, expires_in: settings.access_ttl.as_secs(), session })
}

/// Counts a failed sign-in at its account and its address; the refusal to answer.
async fn failed_sign_in(state: &AppState, subjects: [String; 2], now: DateTime<Utc>) -> AppError {
    let forgiven_before = now - TimeDelta::seconds(2 * state.settings.access.auth.max_wait.as_secs() as i64);
    let counted = state
        .db
        .tx(move |conn| {
            for subject in &subjects {
                repo::add_failure(conn, subject, now, forgiven_before)?;
            }
            Ok(())
        })
        .await;
    match counted {
        Ok(()) => INVALID_CREDENTIALS,
        Err(err) => err,
    }
}

/// A fresh access token and refresh token.
fn new_tokens() -> AppResult<(String, String)> {
    let token = |prefix| {
        rules::new_token(prefix).map_err(|err| AppError::Internal(anyhow::anyhow!("no randomness for a token: {err}")))
    };
    Ok((token(ACCESS_PREFIX)?, token(REFRESH_PREFIX)?))
}

/// Exchanges a refresh token for new tokens; the one presented stops working. One presented
/// again (a copy was stolen, or a client retried with an old one) ends the whole session: the
/// thief's tokens and the owner's both stop, and the owner signs in again (OAuth 2.0 Security
/// BCP, refresh token rotation). A staff session refreshes at `/auth/refresh`, a customer's at
/// `/store/auth/refresh` (`audience`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn refresh(state: &AppState, audience: Audience, refresh_token: String) -> AppResult<Tokens> {
    if !rules::looks_like(REFRESH_PREFIX, &refresh_token) {
        return Err(INVALID_REFRESH);
    }
    let settings = state.settings.access.auth.clone();
    let now = clock::now();
    let tokens = new_tokens()?;
    let presented = access::secret_hash(&refresh_token);
    let (new_refresh, new_access) = (access::secret_hash(&tokens.1), access::secret_hash(&tokens.0));
    let (access_expires_at, refresh_expires_at) = (now + settings.access_ttl, now + settings.refresh_ttl);
    let outcome = state
        .db
        .tx(move |conn| {
            let (access_until, refresh_until) = (access_expires_at, refresh_expires_at);
            Ok(repo::rotate(conn, audience, &presented, &new_refresh, &new_access, access_until, refresh_until, now)?)
        })
        .await?;
    // The audit entry (written with the outcome) names the session's person.
    if let Refreshed::Rotated(session) | Refreshed::Reused(session) = &outcome {
        audit::identify(session.person.owner());
    }
    match outcome {
        Refreshed::Rotated(session) => Ok(Tokens {
            access_token: tokens.0,
            refresh_token: tokens.1,
            expires_in: settings.access_ttl.as_secs(),
            session,
        }),
        Refreshed::Reused(session) => {
            tracing::warn!(session = %session.id, "a used refresh token was presented: session ended");
            Err(INVALID_REFRESH)
        }
        Refreshed::Unknown => Err(INVALID_REFRESH),
    }
}

/// A signed-in person acting on their own account: a staff user's or a customer's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Me {
    pub person: SessionOf,
    pub session: SessionId,
}

/// A signed-in staff user and the session they act in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Staff {
    pub user: UserId,
    pub session: SessionId,
}

impl Staff {
    pub fn of(actor: Actor) -> Option<Staff> {
        match actor {
            Actor::User { id, session } => Some(Staff { user: id, session }),
            _ => None,
        }
    }

    pub fn me(self) -> Me {
        Me { person: SessionOf::User(self.user), session: self.session }
    }
}

/// A signed-in customer: their account, the client they are, and the session they act in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Customer {
    pub account: AccountId,
    pub client: ClientId,
    pub session: SessionId,
}

impl Customer {
    pub fn of(actor: Actor) -> Option<Customer> {
        match actor {
            Actor::Customer { account, client, session } => Some(Customer { account, client, session }),
            _ => None,
        }
    }

    pub fn me(self) -> Me {
        Me { person: SessionOf::Account(self.account), session: self.session }
    }
}

/// Ends the caller's own session at once, on every replica (the next request with its tokens,
/// wherever it lands, finds it ended).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sign_out(state: &AppState, me: Me) -> AppResult<()> {
    let now = clock::now();
    state.db.tx(move |conn| Ok(repo::end_session(conn, me.session, EndReason::SignOut, now)?)).await?;
    Ok(())
}

/// The person's live sessions, newest first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn sessions(state: &AppState, me: Me, page: PageRequest) -> AppResult<Page<Session>> {
    let now = clock::now();
    id_page(state, page, move |conn, before, limit| Ok(repo::live_sessions(conn, me.person, now, before, limit)?)).await
}

/// Ends one of the person's own sessions; another person's is answered as if it did not exist.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn end_session(state: &AppState, me: Me, id: SessionId) -> AppResult<()> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let own = repo::find_session(conn, id)?.is_some_and(|s| s.person == me.person && s.ended_at.is_none());
            if !own {
                return Err(AppError::not_found(id));
            }
            repo::end_session(conn, id, EndReason::EndedByUser, now)?;
            Ok(())
        })
        .await
}

/// Changes the person's password after checking the current one; every other session of theirs
/// ends (the one asking stays signed in).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn change_password(state: &AppState, me: Me, current: String, new: String) -> AppResult<()> {
    let stored = state
        .db
        .run(move |conn| {
            Ok(match me.person {
                SessionOf::User(id) => users::password_hash(conn, id)?,
                SessionOf::Account(id) => customers::password_hash(conn, id)?,
            })
        })
        .await?;
    if !verify(state, stored, current).await? {
        return Err(AppError::invalid("current_password", "incorrect", "is not the current password"));
    }
    let hash = hash_password(state, "new_password", new).await?;
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            match me.person {
                SessionOf::User(id) => users::set_password(conn, id, &hash, now)?,
                SessionOf::Account(id) => customers::set_password(conn, id, &hash, now)?,
            };
            repo::end_sessions_of(conn, me.person, Some(me.session), EndReason::PasswordChanged, now)?;
            Ok(())
        })
        .await
}

/// The principal an access token belongs to, looked up on every request (an ended session is
/// refused everywhere at once; the statement is one index lookup).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn authenticate(state: &AppState, token: &str) -> AppResult<Option<Principal>> {
    if !rules::looks_like(ACCESS_PREFIX, token) {
        return Ok(None);
    }
    let hash = access::secret_hash(token);
    let now = clock::now();
    let Some(signed_in) = state.db.run(move |conn| Ok(repo::signed_in(conn, &hash, now)?)).await? else {
        return Ok(None);
    };
    if now - signed_in.last_used_at >= LAST_USED_RESOLUTION {
        let (db, id) = (state.db.clone(), signed_in.session_id);
        tokio::spawn(async move {
            if let Err(err) = db.run(move |conn| Ok(repo::touch_session(conn, id, now)?)).await {
                tracing::debug!(error = %err, "could not record a session's last use");
            }
        });
    }
    Ok(Some(match signed_in.who {
        SignedInAs::User { id, role } => Principal {
            actor: Actor::User { id, session: signed_in.session_id },
            role,
            grant: access::Grant::of(&role.scopes()),
        },
        SignedInAs::Customer { account, client } => Principal::customer(account, client, signed_in.session_id),
    }))
}

/// Drops tokens that can no longer work (expired access tokens, the spent refresh tokens of
/// sessions over) a day after: the upkeep job runs it.
pub async fn sweep_expired_tokens(state: &AppState) -> AppResult<usize> {
    let before = clock::now() - TimeDelta::days(1);
    state.db.tx(move |conn| Ok(repo::sweep(conn, before)?)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_past_the_allowance_up_to_the_cap() {
        let now = clock::now();
        assert_eq!(wait_for(5, now, now, 5, 900), None, "the allowance waits for nothing");
        assert_eq!(wait_for(6, now, now, 5, 900), Some(1));
        assert_eq!(wait_for(8, now, now, 5, 900), Some(4));
        assert_eq!(wait_for(30, now, now, 5, 900), Some(900), "capped");
        assert_eq!(wait_for(i32::MAX, now, now, 5, 900), Some(900), "no overflow");
        assert_eq!(wait_for(8, now - TimeDelta::seconds(5), now, 5, 900), None, "the wait ran out");
    }

    #[test]
    fn the_decoy_never_matches() {
        let decoy = DECOY.clone().expect("a decoy hash");
        let hash = PasswordHash::new(&decoy).expect("a PHC string");
        assert!(hasher().unwrap().verify_password(b"", &hash).is_err());
        assert!(decoy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{decoy}");
    }

    #[tokio::test]
    async fn passwords_are_hashed_on_threads_of_their_own_below_the_requests_priority() {
        let pool = HashPool::new(2).expect("threads");
        // SAFETY: getpriority reads no memory of ours; 0 names the calling thread.
        let here = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let (name, niceness) = pool
            .run(|| {
                let name = std::thread::current().name().map(str::to_string);
                Ok((name, unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }))
            })
            .await
            .expect("a job");
        assert!(name.is_some_and(|n| n.starts_with("password-hash-")));
        assert_eq!(niceness, (here + HASHING_NICENESS).min(19), "the hashing thread yields to requests");
        assert_eq!(unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }, here, "only the hashing threads changed");
    }
}
