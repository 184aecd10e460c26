//! Repository functions for `clients` and `client_interests`; the table's rows (private to the store) and their
//! conversions to domain types follow them.

use super::companies::CompanyRow;
use super::custom_plan::custom_plan;
use super::interests::InterestRow;
use super::keyset;
use super::parse_text;
use super::schema::{client_interests, clients, companies, interests};
use crate::domain::client::PlanStatus;
use crate::domain::client::{Client, ClientChanges, ClientFilter, ClientKind, Plan};
use crate::domain::companies::Company;
use crate::domain::ids::CompanyId;
use crate::domain::ids::{ClientId, EnrollmentId, InterestId, OrderId, WorkshopId};
use crate::domain::interests::Interest;
use crate::domain::money::Money;
use crate::domain::orders::OrderStatus;
use crate::domain::view::{ClientActivity, EnrollmentSummary, OrderSummary};
use crate::domain::workshops::EnrollmentStatus;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Array;
use rust_decimal::Decimal;
use uuid::Uuid;

/// Where the previous page of clients ended, in the sort's own key.
#[derive(Debug, Clone, PartialEq)]
pub enum Position {
    Name(String, Uuid),
    CreatedAt(DateTime<Utc>, Uuid),
}

pub fn insert(conn: &mut PgConnection, client: &Client) -> QueryResult<()> {
    diesel::insert_into(clients::table).values(NewClientRow::from(client)).execute(conn)?;
    let interest_ids: Vec<Uuid> = client.interest_ids.iter().map(|id| id.0).collect();
    insert_interests(conn, client.id.0, &interest_ids)
}

fn insert_interests(conn: &mut PgConnection, client_id: Uuid, interest_ids: &[Uuid]) -> QueryResult<()> {
    if interest_ids.is_empty() {
        return Ok(());
    }
    let links: Vec<_> = interest_ids.iter().map(|&interest_id| NewClientInterest { client_id, interest_id }).collect();
    diesel::insert_into(client_interests::table).values(&links).on_conflict_do_nothing().execute(conn)?;
    Ok(())
}

pub fn replace_interests(conn: &mut PgConnection, id: ClientId, interest_ids: &[InterestId]) -> QueryResult<()> {
    diesel::delete(client_interests::table.filter(client_interests::client_id.eq(id.0))).execute(conn)?;
    let ids: Vec<Uuid> = interest_ids.iter().map(|id| id.0).collect();
    insert_interests(conn, id.0, &ids)
}

/// The client's interest ids, as a subquery of the client row: a client and its interests are
/// read by one statement (so from one snapshot), with no second round trip.
fn interest_ids() -> diesel::expression::SqlLiteral<Array<diesel::sql_types::Uuid>> {
    diesel::dsl::sql(
        "ARRAY(SELECT ci.interest_id FROM client_interests ci WHERE ci.client_id = clients.id ORDER BY ci.interest_id)",
    )
}

fn into_client((row, interest_ids): (ClientRow, Vec<Uuid>)) -> QueryResult<Client> {
    row.into_client(interest_ids)
}

/// The client with its interests.
pub fn find(conn: &mut PgConnection, id: ClientId) -> QueryResult<Option<Client>> {
    clients::table
        .find(id.0)
        .select((ClientRow::as_select(), interest_ids()))
        .first(conn)
        .optional()?
        .map(into_client)
        .transpose()
}

/// Reads the client with its interests and locks its row for update for the rest of the
/// transaction (patches of one client happen one after the other).
pub fn lock_for_update(conn: &mut PgConnection, id: ClientId) -> QueryResult<Option<Client>> {
    clients::table
        .find(id.0)
        .select((ClientRow::as_select(), interest_ids()))
        .for_update()
        .first(conn)
        .optional()?
        .map(into_client)
        .transpose()
}

/// What an order or enrollment needs to know of its client: whether it may buy, and whether it
/// has bought before (its first purchase marks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuyerStanding {
    pub active: bool,
    pub has_activity: bool,
}

/// The standing read without a lock: for refusing early what the locked read would refuse too.
pub fn buyer_standing(conn: &mut PgConnection, id: ClientId) -> QueryResult<Option<BuyerStanding>> {
    clients::table
        .find(id.0)
        .select((clients::active, clients::has_activity))
        .first::<(bool, bool)>(conn)
        .optional()
        .map(|row| row.map(|(active, has_activity)| BuyerStanding { active, has_activity }))
}

/// The standing read under a lock that holds until the transaction ends: a concurrent delete or
/// deactivation waits for the order (and then fails or applies after it), or the order waits for
/// it (and then sees it).
pub fn lock_for_purchase(conn: &mut PgConnection, id: ClientId) -> QueryResult<Option<BuyerStanding>> {
    clients::table
        .find(id.0)
        .select((clients::active, clients::has_activity))
        .for_no_key_update()
        .first::<(bool, bool)>(conn)
        .optional()
        .map(|row| row.map(|(active, has_activity)| BuyerStanding { active, has_activity }))
}

/// Marks the client as having orders or enrollments (the view reads their summary only for
/// such clients). Runs in the transaction that creates the first one, under `lock_for_purchase`.
pub fn mark_active(conn: &mut PgConnection, id: ClientId) -> QueryResult<()> {
    diesel::update(clients::table.find(id.0).filter(clients::has_activity.eq(false)))
        .set(clients::has_activity.eq(true))
        .execute(conn)
        .map(|_| ())
}

/// Adds the interest to the client unless it is there; a new interest touches the client's row,
/// so its version (its `ETag`) moves with its representation.
pub fn add_interest(
    conn: &mut PgConnection,
    id: ClientId,
    interest: InterestId,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let added = diesel::insert_into(client_interests::table)
        .values((client_interests::client_id.eq(id.0), client_interests::interest_id.eq(interest.0)))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if added > 0 {
        diesel::update(clients::table.find(id.0)).set(clients::updated_at.eq(now)).execute(conn)?;
    }
    Ok(())
}

/// One page of clients with their interests, in one statement.
///
/// A search picks the page's ids first, from the sort order's index alone (it holds
/// `search_text`: migration …_client_search_covering), and only then reads those rows: walking
/// the sort order for a text that one client in a few hundred matches tests thousands of entries,
/// which are cheap in the index and costly as table rows.
pub fn list(
    conn: &mut PgConnection,
    filter: &ClientFilter,
    by_name: bool,
    descending: bool,
    after: Option<&Position>,
    limit: i64,
) -> QueryResult<Vec<Client>> {
    let page = clients::table.select((ClientRow::as_select(), interest_ids())).into_boxed();
    let query = if filter.search.is_some() {
        let page_ids =
            page_of(clients::table.select(clients::id).into_boxed(), filter, by_name, descending, after, limit);
        sorted(page.filter(clients::id.eq_any(page_ids)), by_name, descending).limit(limit)
    } else {
        page_of(page, filter, by_name, descending, after, limit)
    };
    query.load(conn)?.into_iter().map(into_client).collect()
}

/// The query narrowed to the filter's clients after the position, sorted, one page long.
fn page_of<'a, ST: 'a>(
    mut query: clients::BoxedQuery<'a, diesel::pg::Pg, ST>,
    filter: &ClientFilter,
    by_name: bool,
    descending: bool,
    after: Option<&Position>,
    limit: i64,
) -> clients::BoxedQuery<'a, diesel::pg::Pg, ST> {
    if let Some(kind) = filter.kind {
        query = query.filter(clients::kind.eq(ClientKind::as_str(kind)));
    }
    if let Some(plan) = filter.plan {
        query = query.filter(clients::plan.eq(Plan::as_str(plan)));
    }
    if let Some(company_id) = filter.company_id {
        query = query.filter(clients::company_id.eq(company_id.0));
    }
    if let Some(active) = filter.active {
        query = query.filter(clients::active.eq(active));
    }
    if let Some(interest_id) = filter.interest_id {
        let with_interest = client_interests::table
            .filter(client_interests::interest_id.eq(interest_id.0))
            .select(client_interests::client_id);
        query = query.filter(clients::id.eq_any(with_interest));
    }
    if let Some(text) = &filter.search {
        // `search_text` is name and email lowercased, with a trigram index (migration
        // …_search_and_jobs).
        query = query.filter(custom_plan(clients::search_text.like(super::lower(super::like_pattern(text)))));
    }
    query = match after {
        None => query,
        Some(Position::Name(name, id)) => {
            query.filter(keyset::after(clients::name, clients::id, name.clone(), *id, descending))
        }
        Some(Position::CreatedAt(at, id)) => {
            query.filter(keyset::after(clients::created_at, clients::id, *at, *id, descending))
        }
    };
    sorted(query, by_name, descending).limit(limit)
}

fn sorted<'a, ST>(
    query: clients::BoxedQuery<'a, diesel::pg::Pg, ST>,
    by_name: bool,
    descending: bool,
) -> clients::BoxedQuery<'a, diesel::pg::Pg, ST> {
    match (by_name, descending) {
        (true, false) => query.order((clients::name.asc(), clients::id.asc())),
        (true, true) => query.order((clients::name.desc(), clients::id.desc())),
        (false, false) => query.order((clients::created_at.asc(), clients::id.asc())),
        (false, true) => query.order((clients::created_at.desc(), clients::id.desc())),
    }
}

/// Applies the changes (`r.next_version` bumps the version, the `ETag`).
pub fn update(conn: &mut PgConnection, id: ClientId, changes: &ClientChanges, now: DateTime<Utc>) -> QueryResult<()> {
    diesel::update(clients::table.find(id.0)).set(ClientChangeset::new(changes, now)).execute(conn)?;
    if let Some(ids) = &changes.interest_ids {
        replace_interests(conn, id, ids)?;
    }
    Ok(())
}

pub fn delete(conn: &mut PgConnection, id: ClientId) -> QueryResult<bool> {
    diesel::delete(clients::table.find(id.0)).execute(conn).map(|n| n > 0)
}

/// The complete view's PostgreSQL part.
#[derive(Debug, Clone)]
pub struct ViewRecord {
    pub client: Client,
    pub company: Option<Company>,
    pub interests: Vec<Interest>,
    pub activity: ClientActivity,
}

#[derive(Debug, serde::Deserialize)]
struct LastOrderJson {
    id: Uuid,
    status: String,
    total: Decimal,
    created_at: DateTime<Utc>,
}

#[derive(Debug, serde::Deserialize)]
struct OpenEnrollmentJson {
    enrollment_id: Uuid,
    workshop_id: Uuid,
    workshop_name: String,
    starts_at: DateTime<Utc>,
    status: String,
    price: Decimal,
    /// Paid and refunded: what no longer needs paying.
    settled: Decimal,
}

#[derive(Debug, Default, serde::Deserialize)]
struct ActivityJson {
    order_count: i64,
    total_spent: Decimal,
    orders_owed: Decimal,
    total_paid: Decimal,
    last_order: Option<LastOrderJson>,
    open_enrollments: Vec<OpenEnrollmentJson>,
}

#[derive(Debug, serde::Deserialize)]
struct ViewJson {
    client: ClientRow,
    company: Option<CompanyRow>,
    interests: Vec<InterestRow>,
    activity: Option<ActivityJson>,
}

diesel::define_sql_function! {
    /// `r.client_view` (`sql/replaceable.sql`): the view's PostgreSQL part as JSON text, `NULL`
    /// when the client does not exist. One statement, so one snapshot.
    #[sql_name = "r.client_view"]
    fn client_view(id: diesel::sql_types::Uuid, now: diesel::sql_types::Timestamptz) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

fn decode_error(what: &str, err: impl std::fmt::Display) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("{what}: {err}").into())
}

/// The client, its company and interests, and a summary of its orders and enrollments, each
/// read in one statement (so from one snapshot). Most clients have neither orders nor
/// enrollments: for them one typed join answers (a cached prepared statement, the fastest
/// path). For the others the whole view comes from one call of the `client_view` function,
/// so the summary cannot disagree with the rest.
pub fn view(conn: &mut PgConnection, id: ClientId, now: DateTime<Utc>) -> QueryResult<Option<ViewRecord>> {
    let rows: Vec<(ClientRow, bool, Option<CompanyRow>, Option<InterestRow>)> = clients::table
        .filter(clients::id.eq(id.0))
        .left_join(companies::table)
        .left_join(client_interests::table.inner_join(interests::table))
        .select((
            ClientRow::as_select(),
            clients::has_activity,
            Option::<CompanyRow>::as_select(),
            Option::<InterestRow>::as_select(),
        ))
        .order((interests::name.asc(), interests::id.asc()))
        .load(conn)?;
    let mut rows = rows.into_iter();
    let Some((client, has_activity, company, first)) = rows.next() else {
        return Ok(None);
    };
    if has_activity {
        return view_in_one_call(conn, id, now);
    }
    let interests: Vec<InterestRow> =
        first.into_iter().chain(rows.filter_map(|(_, _, _, interest)| interest)).collect();
    let interest_ids = interests.iter().map(|i| i.id).collect();
    Ok(Some(ViewRecord {
        client: client.into_client(interest_ids)?,
        company: company.map(Into::into),
        interests: interests.into_iter().map(Into::into).collect(),
        activity: ClientActivity::default(),
    }))
}

fn view_in_one_call(conn: &mut PgConnection, id: ClientId, now: DateTime<Utc>) -> QueryResult<Option<ViewRecord>> {
    let Some(json) = diesel::select(client_view(id.0, now)).get_result::<Option<String>>(conn)? else {
        return Ok(None);
    };
    let view: ViewJson = serde_json::from_str(&json).map_err(|err| decode_error("client view", err))?;
    let interest_ids = view.interests.iter().map(|i| i.id).collect();
    let activity = view.activity.unwrap_or_default();
    let last_order = match activity.last_order {
        Some(order) => Some(OrderSummary {
            id: OrderId(order.id),
            status: super::parse_text("orders.status", &order.status, OrderStatus::parse)?,
            total: Money::from_decimal(order.total),
            created_at: order.created_at,
        }),
        None => None,
    };
    let open = activity
        .open_enrollments
        .into_iter()
        .map(|e| {
            Ok(EnrollmentSummary {
                enrollment_id: EnrollmentId(e.enrollment_id),
                workshop_id: WorkshopId(e.workshop_id),
                workshop_name: e.workshop_name,
                starts_at: e.starts_at,
                status: super::parse_text("enrollments.status", &e.status, EnrollmentStatus::parse)?,
                balance: Money::from_decimal(e.price).saturating_sub(Money::from_decimal(e.settled)),
            })
        })
        .collect::<QueryResult<Vec<_>>>()?;
    Ok(Some(ViewRecord {
        client: view.client.into_client(interest_ids)?,
        company: view.company.map(Into::into),
        interests: view.interests.into_iter().map(Into::into).collect(),
        activity: ClientActivity {
            total_paid: Money::from_decimal(activity.total_paid),
            orders_owed: Money::from_decimal(activity.orders_owed),
            ..ClientActivity::new(
                activity.order_count,
                Money::from_decimal(activity.total_spent),
                last_order,
                open,
                now,
            )
        },
    }))
}

/// Client ids in id order after `after` (reconcile walks them beside MongoDB's).
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

/// The client with this email, regardless of case (the unique index is on `lower(email)`).
pub fn id_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<ClientId>> {
    clients::table
        .filter(super::lower(clients::email).eq(super::lower(email)))
        .select(clients::id)
        .first::<Uuid>(conn)
        .optional()
        .map(|id| id.map(ClientId))
}

pub fn exists(conn: &mut PgConnection, id: ClientId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(clients::table.find(id.0))).get_result(conn)
}

/// Client counts grouped by kind and plan, computed by PostgreSQL.
pub fn counts_by_kind_and_plan(conn: &mut PgConnection) -> QueryResult<Vec<(ClientKind, Plan, i64)>> {
    let rows: Vec<(String, String, i64)> = clients::table
        .group_by((clients::kind, clients::plan))
        .select((clients::kind, clients::plan, diesel::dsl::count_star()))
        .order((clients::kind, clients::plan))
        .load(conn)?;
    rows.into_iter()
        .map(|(kind, plan, count)| {
            Ok((
                super::parse_text("clients.kind", &kind, ClientKind::parse)?,
                super::parse_text("clients.plan", &plan, Plan::parse)?,
                count,
            ))
        })
        .collect()
}

/// Name and email of each client that exists among `ids` (for messages to them).
pub fn contacts(
    conn: &mut PgConnection,
    ids: &[ClientId],
) -> QueryResult<std::collections::HashMap<ClientId, (String, String)>> {
    let ids: Vec<Uuid> = ids.iter().map(|id| id.0).collect();
    let rows: Vec<(Uuid, String, String)> = clients::table
        .filter(clients::id.eq_any(&ids))
        .select((clients::id, clients::name, clients::email))
        .load(conn)?;
    Ok(rows.into_iter().map(|(id, name, email)| (ClientId(id), (name, email))).collect())
}

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = clients, check_for_backend(diesel::pg::Pg))]
pub(super) struct ClientRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub kind: String,
    pub company_id: Option<Uuid>,
    pub plan: String,
    pub plan_status: String,
    pub paid_until: Option<DateTime<Utc>>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ClientRow {
    /// Joins the row with its interest ids.
    pub fn into_client(self, interest_ids: Vec<Uuid>) -> QueryResult<Client> {
        Ok(Client {
            id: ClientId(self.id),
            kind: parse_text("clients.kind", &self.kind, ClientKind::parse)?,
            plan: parse_text("clients.plan", &self.plan, Plan::parse)?,
            plan_status: parse_text("clients.plan_status", &self.plan_status, PlanStatus::parse)?,
            paid_until: self.paid_until,
            name: self.name,
            email: self.email,
            phone: self.phone,
            company_id: self.company_id.map(CompanyId),
            interest_ids: interest_ids.into_iter().map(InterestId).collect(),
            active: self.active,
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = clients)]
pub(super) struct NewClientRow<'a> {
    id: Uuid,
    name: &'a str,
    email: &'a str,
    phone: Option<&'a str>,
    kind: &'static str,
    company_id: Option<Uuid>,
    plan: &'static str,
    plan_status: &'static str,
    active: bool,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl<'a> From<&'a Client> for NewClientRow<'a> {
    fn from(c: &'a Client) -> Self {
        NewClientRow {
            id: c.id.0,
            name: &c.name,
            email: &c.email,
            phone: c.phone.as_deref(),
            kind: c.kind.as_str(),
            company_id: c.company_id.map(|id| id.0),
            plan: c.plan.as_str(),
            plan_status: c.plan_status.as_str(),
            active: c.active,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = clients)]
pub(super) struct ClientChangeset {
    name: Option<String>,
    email: Option<String>,
    phone: Option<Option<String>>,
    kind: Option<&'static str>,
    company_id: Option<Option<Uuid>>,
    plan: Option<&'static str>,
    plan_status: Option<&'static str>,
    active: Option<bool>,
    updated_at: DateTime<Utc>,
}

impl ClientChangeset {
    pub fn new(changes: &ClientChanges, now: DateTime<Utc>) -> Self {
        ClientChangeset {
            name: changes.name.clone(),
            email: changes.email.clone(),
            phone: changes.phone.clone(),
            kind: changes.kind.map(ClientKind::as_str),
            company_id: changes.company_id.map(|company| company.map(|id| id.0)),
            plan: changes.plan.map(Plan::as_str),
            plan_status: changes.plan_status.map(PlanStatus::as_str),
            active: changes.active,
            updated_at: now,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = client_interests)]
pub(super) struct NewClientInterest {
    pub client_id: Uuid,
    pub interest_id: Uuid,
}
