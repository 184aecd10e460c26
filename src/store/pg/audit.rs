//! The audit log (`audit_log`). A write request's entry is inserted by the request's first unit
//! of work, inside its transaction, so no write commits without its entry; the response's status
//! is filled in once known. A MongoDB-only write commits its entry in a unit of its own right
//! after the document write (`Db::commit_request`); a request refused before any unit of work
//! gets its entry after the response.
//!
//! Like idempotency keys, the entry reaches `Db::tx` through a task-local set around the
//! request's handler by the HTTP layer.

use super::schema::audit_log;
use crate::domain::access::Owner;
use crate::domain::access::{AuditEntry, AuditFilter};
use crate::domain::ids::{AccountId, ApiKeyId, AuditEntryId, UserId};
use diesel::prelude::*;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use uuid::Uuid;

/// A request's entry while the request runs.
#[derive(Debug)]
pub struct AuditUnit {
    pub entry: AuditEntry,
    /// The person a public request turned out to be about (a sign-in names its user or account
    /// once the email is matched): written as the entry's `user_id` or `account_id`.
    person: std::sync::OnceLock<Owner>,
    /// Set once a committed transaction holds the entry.
    committed: AtomicBool,
}

impl AuditUnit {
    pub fn new(entry: AuditEntry) -> Arc<AuditUnit> {
        Arc::new(AuditUnit { entry, person: std::sync::OnceLock::new(), committed: AtomicBool::new(false) })
    }
}

tokio::task_local! {
    static REQUEST_AUDIT: Arc<AuditUnit>;
}

/// Runs a write request's handler with its audit entry known to its units of work.
pub async fn scoped<F: Future>(unit: Arc<AuditUnit>, handler: F) -> F::Output {
    REQUEST_AUDIT.scope(unit, handler).await
}

impl AuditUnit {
    /// The person `identify` named, if any.
    pub fn person(&self) -> Option<Owner> {
        self.person.get().copied()
    }
}

/// Names the person behind the request this task serves, when its entry has none (a sign-in,
/// a refresh): its audit entry is theirs.
pub fn identify(person: Owner) {
    let _ = REQUEST_AUDIT.try_with(|unit| unit.person.set(person));
}

/// Whether this task serves a request that is audited (a write, or an audited read).
pub(super) fn in_request() -> bool {
    REQUEST_AUDIT.try_with(|_| ()).is_ok()
}

/// The entry of the write request this task serves, unless a transaction already holds it.
pub(super) fn pending_unit() -> Option<Arc<AuditUnit>> {
    REQUEST_AUDIT.try_with(Clone::clone).ok().filter(|unit| !unit.committed.load(Ordering::Acquire))
}

#[derive(Insertable)]
#[diesel(table_name = audit_log)]
struct EntryRow<'a> {
    id: Uuid,
    occurred_at: chrono::DateTime<chrono::Utc>,
    key_id: Option<Uuid>,
    user_id: Option<Uuid>,
    account_id: Option<Uuid>,
    operation_id: &'a str,
    method: &'a str,
    path: &'a str,
    subject_id: Option<&'a str>,
    status: Option<i16>,
    request_id: Option<&'a str>,
}

impl<'a> From<&'a AuditEntry> for EntryRow<'a> {
    fn from(e: &'a AuditEntry) -> Self {
        EntryRow {
            id: e.id.0,
            occurred_at: e.occurred_at,
            key_id: e.key_id.map(|k| k.0),
            user_id: e.user_id.map(|u| u.0),
            account_id: e.account_id.map(|a| a.0),
            operation_id: &e.operation_id,
            method: &e.method,
            path: &e.path,
            subject_id: e.subject_id.as_deref(),
            status: e.status,
            request_id: e.request_id.as_deref(),
        }
    }
}

/// Inside a unit of work's transaction: the entry, without its status yet. Two units of one
/// request may race here; the second finds the row and leaves it.
pub(super) fn insert_in_unit(conn: &mut PgConnection, unit: &AuditUnit) -> QueryResult<()> {
    let mut row = EntryRow::from(&unit.entry);
    match unit.person.get() {
        Some(Owner::User(id)) => row.user_id = row.user_id.or(Some(id.0)),
        Some(Owner::Account(id)) => row.account_id = row.account_id.or(Some(id.0)),
        _ => {}
    }
    diesel::insert_into(audit_log::table).values(row).on_conflict(audit_log::id).do_nothing().execute(conn).map(drop)
}

pub(super) fn mark_committed(unit: &AuditUnit) {
    unit.committed.store(true, Ordering::Release);
}

/// After the responses: each entry's status, and its subject if the path had none (a created
/// resource). Inserts the whole entry when no transaction did.
pub fn finish_all(conn: &mut PgConnection, entries: &[AuditEntry]) -> QueryResult<()> {
    use diesel::upsert::excluded;
    // Each request finishes its entry once, so no statement updates a row twice; chunks keep a
    // statement within the protocol's limit of bind parameters.
    let rows: Vec<EntryRow> = entries.iter().map(EntryRow::from).collect();
    for chunk in rows.chunks(1_000) {
        diesel::insert_into(audit_log::table)
            .values(chunk)
            .on_conflict(audit_log::id)
            .do_update()
            .set((
                audit_log::status.eq(excluded(audit_log::status)),
                audit_log::user_id.eq(diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>>(
                    "COALESCE(audit_log.user_id, excluded.user_id)",
                )),
                audit_log::account_id.eq(diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>>(
                    "COALESCE(audit_log.account_id, excluded.account_id)",
                )),
                audit_log::subject_id.eq(diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(
                    "COALESCE(audit_log.subject_id, excluded.subject_id)",
                )),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = audit_log)]
struct AuditRow {
    id: Uuid,
    occurred_at: chrono::DateTime<chrono::Utc>,
    key_id: Option<Uuid>,
    user_id: Option<Uuid>,
    account_id: Option<Uuid>,
    operation_id: String,
    method: String,
    path: String,
    subject_id: Option<String>,
    status: Option<i16>,
    request_id: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: AuditEntryId(r.id),
            occurred_at: r.occurred_at,
            key_id: r.key_id.map(ApiKeyId),
            user_id: r.user_id.map(UserId),
            account_id: r.account_id.map(AccountId),
            operation_id: r.operation_id,
            method: r.method,
            path: r.path,
            subject_id: r.subject_id,
            status: r.status,
            request_id: r.request_id,
        }
    }
}

pub fn find(conn: &mut PgConnection, id: AuditEntryId) -> QueryResult<Option<AuditEntry>> {
    audit_log::table
        .find(id.0)
        .select(AuditRow::as_select())
        .first::<AuditRow>(conn)
        .optional()
        .map(|r| r.map(Into::into))
}

/// Newest first (ids are time-ordered).
pub fn list(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<AuditEntry>> {
    let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
    if let Some(key) = filter.key_id {
        query = query.filter(audit_log::key_id.eq(key.0));
    }
    if let Some(user) = filter.user_id {
        query = query.filter(audit_log::user_id.eq(user.0));
    }
    if let Some(account) = filter.account_id {
        query = query.filter(audit_log::account_id.eq(account.0));
    }
    if let Some(subject) = &filter.subject_id {
        query = query.filter(audit_log::subject_id.eq(subject.clone()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::occurred_at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::occurred_at.le(to));
    }
    if let Some(before) = before {
        query = query.filter(audit_log::id.lt(before));
    }
    Ok(query.order(audit_log::id.desc()).limit(limit).load::<AuditRow>(conn)?.into_iter().map(Into::into).collect())
}
