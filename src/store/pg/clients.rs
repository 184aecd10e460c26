//! Repository functions for `clients` and `client_interests`.

use super::models::{ClientChangeset, ClientRow, CompanyRow, InterestRow, NewClient, NewClientInterest};
use super::schema::{client_interests, clients, companies, interests};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Default)]
pub struct ClientFilter {
    pub kind: Option<&'static str>,
    pub plan: Option<&'static str>,
    pub company_id: Option<Uuid>,
    pub interest_id: Option<Uuid>,
    pub active: Option<bool>,
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    CreatedAt,
}

/// Where the previous page ended, in the sort's own key (keyset pagination).
#[derive(Debug, Clone, PartialEq)]
pub enum Position {
    Name(String, Uuid),
    CreatedAt(DateTime<Utc>, Uuid),
}

pub fn insert(conn: &mut PgConnection, new: &NewClient<'_>, interest_ids: &[Uuid]) -> QueryResult<ClientRow> {
    let row = diesel::insert_into(clients::table).values(new).returning(ClientRow::as_returning()).get_result(conn)?;
    insert_interests(conn, row.id, interest_ids)?;
    Ok(row)
}

fn insert_interests(conn: &mut PgConnection, client_id: Uuid, interest_ids: &[Uuid]) -> QueryResult<()> {
    if interest_ids.is_empty() {
        return Ok(());
    }
    let links: Vec<_> = interest_ids.iter().map(|&interest_id| NewClientInterest { client_id, interest_id }).collect();
    diesel::insert_into(client_interests::table).values(&links).on_conflict_do_nothing().execute(conn)?;
    Ok(())
}

pub fn replace_interests(conn: &mut PgConnection, client_id: Uuid, interest_ids: &[Uuid]) -> QueryResult<()> {
    diesel::delete(client_interests::table.filter(client_interests::client_id.eq(client_id))).execute(conn)?;
    insert_interests(conn, client_id, interest_ids)
}

/// Interest ids per client, for a page of clients in one query.
pub fn interest_ids_of(conn: &mut PgConnection, client_ids: &[Uuid]) -> QueryResult<HashMap<Uuid, Vec<Uuid>>> {
    let pairs: Vec<(Uuid, Uuid)> = client_interests::table
        .filter(client_interests::client_id.eq_any(client_ids))
        .select((client_interests::client_id, client_interests::interest_id))
        .order((client_interests::client_id, client_interests::interest_id))
        .load(conn)?;
    let mut by_client: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for (client_id, interest_id) in pairs {
        by_client.entry(client_id).or_default().push(interest_id);
    }
    Ok(by_client)
}

pub fn find(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ClientRow>> {
    clients::table.find(id).select(ClientRow::as_select()).first(conn).optional()
}

/// Reads and row-locks the client for the rest of the transaction.
pub fn find_for_update(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ClientRow>> {
    clients::table.find(id).select(ClientRow::as_select()).for_update().first(conn).optional()
}

pub fn list(
    conn: &mut PgConnection,
    filter: &ClientFilter,
    sort: SortKey,
    descending: bool,
    after: Option<&Position>,
    limit: i64,
) -> QueryResult<Vec<ClientRow>> {
    let mut query = clients::table.select(ClientRow::as_select()).limit(limit).into_boxed();
    if let Some(kind) = filter.kind {
        query = query.filter(clients::kind.eq(kind));
    }
    if let Some(plan) = filter.plan {
        query = query.filter(clients::plan.eq(plan));
    }
    if let Some(company_id) = filter.company_id {
        query = query.filter(clients::company_id.eq(company_id));
    }
    if let Some(active) = filter.active {
        query = query.filter(clients::active.eq(active));
    }
    if let Some(interest_id) = filter.interest_id {
        let with_interest = client_interests::table
            .filter(client_interests::interest_id.eq(interest_id))
            .select(client_interests::client_id);
        query = query.filter(clients::id.eq_any(with_interest));
    }
    if let Some(text) = &filter.search {
        let pattern = super::like_pattern(text);
        query = query.filter(clients::name.ilike(pattern.clone()).or(clients::email.ilike(pattern)));
    }
    query = match (sort, descending) {
        (SortKey::Name, false) => query.order((clients::name.asc(), clients::id.asc())),
        (SortKey::Name, true) => query.order((clients::name.desc(), clients::id.desc())),
        (SortKey::CreatedAt, false) => query.order((clients::created_at.asc(), clients::id.asc())),
        (SortKey::CreatedAt, true) => query.order((clients::created_at.desc(), clients::id.desc())),
    };
    query = match (after, descending) {
        (None, _) => query,
        (Some(Position::Name(name, id)), false) => {
            query.filter(clients::name.gt(name.clone()).or(clients::name.eq(name.clone()).and(clients::id.gt(*id))))
        }
        (Some(Position::Name(name, id)), true) => {
            query.filter(clients::name.lt(name.clone()).or(clients::name.eq(name.clone()).and(clients::id.lt(*id))))
        }
        (Some(Position::CreatedAt(at, id)), false) => {
            query.filter(clients::created_at.gt(*at).or(clients::created_at.eq(*at).and(clients::id.gt(*id))))
        }
        (Some(Position::CreatedAt(at, id)), true) => {
            query.filter(clients::created_at.lt(*at).or(clients::created_at.eq(*at).and(clients::id.lt(*id))))
        }
    };
    query.load(conn)
}

/// Applies the changes and bumps the version (the `ETag`) in the same statement.
pub fn update(conn: &mut PgConnection, id: Uuid, changes: &ClientChangeset) -> QueryResult<ClientRow> {
    diesel::update(clients::table.find(id))
        .set((changes, clients::version.eq(clients::version + 1), clients::updated_at.eq(diesel::dsl::now)))
        .returning(ClientRow::as_returning())
        .get_result(conn)
}

pub fn delete(conn: &mut PgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::delete(clients::table.find(id)).execute(conn).map(|n| n > 0)
}

/// The client's newest order, as the complete view summarizes it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LastOrderRow {
    pub id: Uuid,
    pub status: String,
    pub total: rust_decimal::Decimal,
    pub created_at: DateTime<Utc>,
}

/// A live enrollment that is upcoming or unpaid, with its workshop's name and start.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct OpenEnrollmentRow {
    pub enrollment_id: Uuid,
    pub workshop_id: Uuid,
    pub workshop_name: String,
    pub starts_at: DateTime<Utc>,
    pub status: String,
    pub price: rust_decimal::Decimal,
    pub amount_paid: rust_decimal::Decimal,
}

/// A client's orders and enrollments at a glance.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct ActivityRecord {
    pub order_count: i64,
    pub total_spent: rust_decimal::Decimal,
    pub last_order: Option<LastOrderRow>,
    pub open_enrollments: Vec<OpenEnrollmentRow>,
}

/// The PostgreSQL half of the complete view.
#[derive(Debug, Clone)]
pub struct ViewRecord {
    pub client: ClientRow,
    pub company: Option<CompanyRow>,
    pub interests: Vec<InterestRow>,
    pub activity: ActivityRecord,
}

diesel::define_sql_function! {
    /// `migrations/…_client_activity`: the summary as JSON text.
    fn client_activity(id: diesel::sql_types::Uuid, now: diesel::sql_types::Timestamptz) -> diesel::sql_types::Text;
}

/// The client's activity from one call of the `client_activity` function (a cached prepared
/// statement; the function keeps its plan).
pub fn activity(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<ActivityRecord> {
    let json: String = diesel::select(client_activity(id, now)).get_result(conn)?;
    serde_json::from_str(&json)
        .map_err(|err| diesel::result::Error::DeserializationError(format!("client activity: {err}").into()))
}

/// Marks the client as having orders or enrollments (once; the view reads their summary only
/// for such clients). Runs in the transaction that creates the first one.
pub fn mark_active(conn: &mut PgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(clients::table.find(id).filter(clients::has_activity.eq(false)))
        .set(clients::has_activity.eq(true))
        .execute(conn)
        .map(|_| ())
}

/// The complete view's PostgreSQL part: the client joined with its company and each of its
/// interests in one query (one row per interest, or one row with none); the activity summary
/// in a second call only for clients that have any.
pub fn view(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> QueryResult<Option<ViewRecord>> {
    let rows: Vec<(ClientRow, bool, Option<CompanyRow>, Option<InterestRow>)> = clients::table
        .filter(clients::id.eq(id))
        .left_join(companies::table)
        .left_join(client_interests::table.inner_join(interests::table))
        .select((
            ClientRow::as_select(),
            clients::has_activity,
            Option::<CompanyRow>::as_select(),
            Option::<InterestRow>::as_select(),
        ))
        .order(interests::name.asc())
        .load(conn)?;
    let mut rows = rows.into_iter();
    let Some((client, has_activity, company, first)) = rows.next() else {
        return Ok(None);
    };
    let interests = first.into_iter().chain(rows.filter_map(|(_, _, _, interest)| interest)).collect();
    let activity = if has_activity { activity(conn, id, now)? } else { ActivityRecord::default() };
    Ok(Some(ViewRecord { client, company, interests, activity }))
}

/// Client ids in id order after `after` (batches for reconcile).
pub fn ids_after(conn: &mut PgConnection, after: Option<Uuid>, limit: i64) -> QueryResult<Vec<Uuid>> {
    let mut query = clients::table.select(clients::id).order(clients::id.asc()).limit(limit).into_boxed();
    if let Some(after) = after {
        query = query.filter(clients::id.gt(after));
    }
    query.load(conn)
}

/// Which of `ids` exist as clients.
pub fn existing_ids(conn: &mut PgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    clients::table.filter(clients::id.eq_any(ids)).select(clients::id).load(conn)
}

/// Client counts grouped by kind and plan, computed by PostgreSQL.
pub fn counts_by_kind_and_plan(conn: &mut PgConnection) -> QueryResult<Vec<(String, String, i64)>> {
    clients::table
        .group_by((clients::kind, clients::plan))
        .select((clients::kind, clients::plan, diesel::dsl::count_star()))
        .order((clients::kind, clients::plan))
        .load(conn)
}
