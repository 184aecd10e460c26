//! Sessions and their tokens (`sessions`, `access_tokens`, `used_refresh_tokens`) and failed
//! sign-ins (`sign_in_failures`). Tokens are looked up by their SHA-256, never stored in clear.

use super::parse_text;
use super::schema::{access_tokens, customer_accounts, sessions, sign_in_failures, used_refresh_tokens, users};
use crate::domain::access::Role;
use crate::domain::auth::{Audience, EndReason, Session, SessionOf, SignedIn, SignedInAs};
use crate::domain::ids::{AccountId, ClientId, SessionId, UserId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

/// A new session with its first refresh and access tokens.
pub fn insert_session(
    conn: &mut PgConnection,
    session: &Session,
    refresh_hash: &[u8],
    access_hash: &[u8],
    access_expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(session.id.0),
            sessions::user_id.eq(match session.person {
                SessionOf::User(id) => Some(id.0),
                SessionOf::Account(_) => None,
            }),
            sessions::account_id.eq(match session.person {
                SessionOf::Account(id) => Some(id.0),
                SessionOf::User(_) => None,
            }),
            sessions::device.eq(&session.device),
            sessions::created_at.eq(session.created_at),
            sessions::last_used_at.eq(session.last_used_at),
            sessions::refresh_hash.eq(refresh_hash),
            sessions::expires_at.eq(session.expires_at),
        ))
        .execute(conn)?;
    insert_access_token(conn, session.id, access_hash, access_expires_at)
}

fn insert_access_token(
    conn: &mut PgConnection,
    session: SessionId,
    hash: &[u8],
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(access_tokens::table)
        .values((
            access_tokens::hash.eq(hash),
            access_tokens::session_id.eq(session.0),
            access_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Who a valid access token belongs to: the token unexpired, its session not ended, its person
/// able to sign in (an active user; an active, verified customer account). One indexed
/// statement, run on every request made with a token, so an ended session is refused by every
/// replica from the moment it ends.
pub fn signed_in(conn: &mut PgConnection, access_hash: &[u8], now: DateTime<Utc>) -> QueryResult<Option<SignedIn>> {
    type Found = (
        Uuid,
        DateTime<Utc>,
        Option<Uuid>,
        Option<String>,
        Option<bool>,
        Option<Uuid>,
        Option<Uuid>,
        Option<bool>,
        Option<DateTime<Utc>>,
    );
    let found: Option<Found> = access_tokens::table
        .inner_join(sessions::table.left_join(users::table).left_join(customer_accounts::table))
        .filter(access_tokens::hash.eq(access_hash))
        .filter(access_tokens::expires_at.gt(now))
        .filter(sessions::ended_at.is_null())
        .select((
            sessions::id,
            sessions::last_used_at,
            users::id.nullable(),
            users::role.nullable(),
            users::active.nullable(),
            customer_accounts::id.nullable(),
            customer_accounts::client_id.nullable(),
            customer_accounts::active.nullable(),
            customer_accounts::email_verified_at.nullable(),
        ))
        .first(conn)
        .optional()?;
    let Some((session, last_used_at, user, role, user_active, account, client, account_active, verified)) = found
    else {
        return Ok(None);
    };
    let who = match (user, role, account, client) {
        (Some(id), Some(role), _, _) if user_active == Some(true) => {
            SignedInAs::User { id: UserId(id), role: parse_text("users.role", &role, Role::parse)? }
        }
        (None, _, Some(account), Some(client)) if account_active == Some(true) && verified.is_some() => {
            SignedInAs::Customer { account: AccountId(account), client: ClientId(client) }
        }
        _ => return Ok(None),
    };
    Ok(Some(SignedIn { session_id: SessionId(session), who, last_used_at }))
}

pub fn touch_session(conn: &mut PgConnection, id: SessionId, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(sessions::table.find(id.0)).set(sessions::last_used_at.eq(now)).execute(conn).map(|_| ())
}

/// What presenting a refresh token found.
pub enum Refreshed {
    /// The token was current: the session now has the new tokens.
    Rotated(Session),
    /// The token was already used: its session has been ended (`refresh_reuse`).
    Reused(Session),
    /// No session has this token, or it has expired or ended.
    Unknown,
}

/// Rotates a session's refresh token: the one presented must be the current one of a live,
/// unexpired session of `audience` whose person may still sign in; it is exchanged for
/// `new_refresh_hash` and a new access token, and remembered as used. One presented again ends
/// its session. Run in a transaction: the row lock taken on the session makes a simultaneous
/// refresh with the same token wait, then find it spent.
#[allow(clippy::too_many_arguments)]
pub fn rotate(
    conn: &mut PgConnection,
    audience: Audience,
    refresh_hash: &[u8],
    new_refresh_hash: &[u8],
    new_access_hash: &[u8],
    access_expires_at: DateTime<Utc>,
    refresh_expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<Refreshed> {
    let current = sessions::table
        .filter(sessions::refresh_hash.eq(refresh_hash))
        .select(SessionRow::as_select())
        .for_update()
        .first::<SessionRow>(conn)
        .optional()?
        .map(SessionRow::into_domain)
        .transpose()?;
    if let Some(session) = current {
        let live = session.ended_at.is_none()
            && session.expires_at > now
            && Audience::of(session.person) == audience
            && may_sign_in(conn, session.person)?;
        if !live {
            return Ok(Refreshed::Unknown);
        }
        let row = diesel::update(sessions::table.find(session.id.0))
            .set((
                sessions::refresh_hash.eq(new_refresh_hash),
                sessions::expires_at.eq(refresh_expires_at),
                sessions::last_used_at.eq(now),
            ))
            .returning(SessionRow::as_returning())
            .get_result::<SessionRow>(conn)?;
        diesel::insert_into(used_refresh_tokens::table)
            .values((
                used_refresh_tokens::hash.eq(refresh_hash),
                used_refresh_tokens::session_id.eq(session.id.0),
                used_refresh_tokens::used_at.eq(now),
            ))
            .execute(conn)?;
        insert_access_token(conn, session.id, new_access_hash, access_expires_at)?;
        return Ok(Refreshed::Rotated(row.into_domain()?));
    }
    let reused: Option<Uuid> =
        used_refresh_tokens::table.find(refresh_hash).select(used_refresh_tokens::session_id).first(conn).optional()?;
    match reused {
        Some(id) => {
            end_session(conn, SessionId(id), EndReason::RefreshReuse, now)?;
            let session = sessions::table.find(id).select(SessionRow::as_select()).first::<SessionRow>(conn)?;
            Ok(Refreshed::Reused(session.into_domain()?))
        }
        None => Ok(Refreshed::Unknown),
    }
}

/// Whether the session's person may still sign in (an active user; an active, verified account).
fn may_sign_in(conn: &mut PgConnection, person: SessionOf) -> QueryResult<bool> {
    match person {
        SessionOf::User(id) => users::table
            .find(id.0)
            .select(users::active)
            .first::<bool>(conn)
            .optional()
            .map(|active| active == Some(true)),
        SessionOf::Account(id) => customer_accounts::table
            .find(id.0)
            .filter(customer_accounts::active.eq(true))
            .filter(customer_accounts::email_verified_at.is_not_null())
            .count()
            .get_result::<i64>(conn)
            .map(|n| n == 1),
    }
}

/// Ends a live session; `false` when it had already ended (or does not exist).
pub fn end_session(conn: &mut PgConnection, id: SessionId, reason: EndReason, now: DateTime<Utc>) -> QueryResult<bool> {
    diesel::update(sessions::table.find(id.0).filter(sessions::ended_at.is_null()))
        .set((sessions::ended_at.eq(now), sessions::end_reason.eq(reason.as_str())))
        .execute(conn)
        .map(|n| n > 0)
}

/// Ends every live session of a person but `keep`; how many ended.
pub fn end_sessions_of(
    conn: &mut PgConnection,
    person: SessionOf,
    keep: Option<SessionId>,
    reason: EndReason,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    let keep = keep.map_or(Uuid::nil(), |id| id.0);
    let live = sessions::table.filter(sessions::ended_at.is_null()).filter(sessions::id.ne(keep));
    let end = (sessions::ended_at.eq(now), sessions::end_reason.eq(reason.as_str()));
    match person {
        SessionOf::User(id) => diesel::update(live.filter(sessions::user_id.eq(id.0))).set(end).execute(conn),
        SessionOf::Account(id) => diesel::update(live.filter(sessions::account_id.eq(id.0))).set(end).execute(conn),
    }
}

pub fn find_session(conn: &mut PgConnection, id: SessionId) -> QueryResult<Option<Session>> {
    sessions::table
        .find(id.0)
        .select(SessionRow::as_select())
        .first::<SessionRow>(conn)
        .optional()?
        .map(SessionRow::into_domain)
        .transpose()
}

/// A person's live sessions, newest first (before `before`), at most `limit`.
pub fn live_sessions(
    conn: &mut PgConnection,
    person: SessionOf,
    now: DateTime<Utc>,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<Session>> {
    let mut query = sessions::table.into_boxed();
    query = match person {
        SessionOf::User(id) => query.filter(sessions::user_id.eq(id.0)),
        SessionOf::Account(id) => query.filter(sessions::account_id.eq(id.0)),
    };
    let mut query = query
        .filter(sessions::ended_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(SessionRow::as_select())
        .order(sessions::id.desc())
        .limit(limit);
    if let Some(before) = before {
        query = query.filter(sessions::id.lt(before));
    }
    query.load::<SessionRow>(conn)?.into_iter().map(SessionRow::into_domain).collect()
}

/// Drops what can no longer be used: access tokens that expired before `before`, and the spent
/// refresh tokens of sessions that ended or expired before it (reuse of one of those is refused
/// as unknown: there is no session left to end). The sessions stay, as history.
pub fn sweep(conn: &mut PgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
    let tokens = diesel::delete(access_tokens::table.filter(access_tokens::expires_at.lt(before))).execute(conn)?;
    let dead =
        sessions::table.filter(sessions::ended_at.lt(before).or(sessions::expires_at.lt(before))).select(sessions::id);
    let spent = diesel::delete(used_refresh_tokens::table.filter(used_refresh_tokens::session_id.eq_any(dead)))
        .execute(conn)?;
    Ok(tokens + spent)
}

/// Failures recorded for a subject: how many and when the last one was.
pub fn failures(conn: &mut PgConnection, subject: &str) -> QueryResult<Option<(i32, DateTime<Utc>)>> {
    sign_in_failures::table
        .find(subject)
        .select((sign_in_failures::failures, sign_in_failures::last_failure_at))
        .first(conn)
        .optional()
}

/// Counts one more failure; a count whose wait has run out (`forgiven_before`) starts again.
pub fn add_failure(
    conn: &mut PgConnection,
    subject: &str,
    now: DateTime<Utc>,
    forgiven_before: DateTime<Utc>,
) -> QueryResult<i32> {
    use diesel::dsl::case_when;
    use diesel::sql_types::Integer;
    use diesel::upsert::excluded;
    diesel::insert_into(sign_in_failures::table)
        .values((
            sign_in_failures::subject.eq(subject),
            sign_in_failures::failures.eq(1),
            sign_in_failures::last_failure_at.eq(now),
        ))
        .on_conflict(sign_in_failures::subject)
        .do_update()
        .set((
            sign_in_failures::failures.eq(case_when(
                sign_in_failures::last_failure_at.lt(forgiven_before),
                1.into_sql::<Integer>(),
            )
            .otherwise(sign_in_failures::failures + 1)),
            sign_in_failures::last_failure_at.eq(excluded(sign_in_failures::last_failure_at)),
        ))
        .returning(sign_in_failures::failures)
        .get_result(conn)
}

pub fn clear_failures(conn: &mut PgConnection, subject: &str) -> QueryResult<()> {
    diesel::delete(sign_in_failures::table.find(subject)).execute(conn).map(|_| ())
}

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
struct SessionRow {
    id: Uuid,
    user_id: Option<Uuid>,
    account_id: Option<Uuid>,
    device: Option<String>,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    end_reason: Option<String>,
}

impl SessionRow {
    fn into_domain(self) -> QueryResult<Session> {
        let person = match (self.user_id, self.account_id) {
            (Some(user), _) => SessionOf::User(UserId(user)),
            (None, Some(account)) => SessionOf::Account(AccountId(account)),
            (None, None) => return Err(super::corrupt("sessions.user_id", "neither a user nor an account")),
        };
        Ok(Session {
            id: SessionId(self.id),
            person,
            device: self.device,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
            ended_at: self.ended_at,
            end_reason: self.end_reason.map(|r| parse_text("sessions.end_reason", &r, EndReason::parse)).transpose()?,
        })
    }
}
