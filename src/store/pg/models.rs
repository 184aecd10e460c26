//! Row, insert and changeset structs per table. Rows never leave the store/app boundary as
//! responses: they become domain types first.

use super::schema::{client_interests, clients, companies, interests};
use crate::domain::client::{Client, ClientKind, Company, Interest, Plan, PlanStatus};
use crate::domain::ids::{ClientId, CompanyId, InterestId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = companies, check_for_backend(diesel::pg::Pg))]
pub struct CompanyRow {
    pub id: Uuid,
    pub legal_name: String,
    pub tax_id: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<CompanyRow> for Company {
    fn from(row: CompanyRow) -> Self {
        Company {
            id: CompanyId(row.id),
            legal_name: row.legal_name,
            tax_id: row.tax_id,
            address: row.address,
            phone: row.phone,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = companies)]
pub struct NewCompany<'a> {
    pub id: Uuid,
    pub legal_name: &'a str,
    pub tax_id: &'a str,
    pub address: Option<&'a str>,
    pub phone: Option<&'a str>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = companies)]
pub struct CompanyChangeset {
    pub legal_name: Option<String>,
    pub tax_id: Option<String>,
    pub address: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = interests, check_for_backend(diesel::pg::Pg))]
pub struct InterestRow {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<InterestRow> for Interest {
    fn from(row: InterestRow) -> Self {
        Interest {
            id: InterestId(row.id),
            name: row.name,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = interests)]
pub struct NewInterest<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub description: Option<&'a str>,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = interests)]
pub struct InterestChangeset {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = clients, check_for_backend(diesel::pg::Pg))]
pub struct ClientRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub kind: String,
    pub company_id: Option<Uuid>,
    pub plan: String,
    pub plan_status: String,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ClientRow {
    /// Joins the row with its interest ids. Unknown enum text can only come from a schema this
    /// build does not know; it is reported as a deserialization error, not guessed.
    pub fn into_client(self, interest_ids: Vec<Uuid>) -> QueryResult<Client> {
        let corrupt = |column: &str, value: &str| {
            diesel::result::Error::DeserializationError(
                format!("clients.{column} holds unknown value {value:?}").into(),
            )
        };
        Ok(Client {
            id: ClientId(self.id),
            kind: ClientKind::parse(&self.kind).ok_or_else(|| corrupt("kind", &self.kind))?,
            plan: Plan::parse(&self.plan).ok_or_else(|| corrupt("plan", &self.plan))?,
            plan_status: PlanStatus::parse(&self.plan_status)
                .ok_or_else(|| corrupt("plan_status", &self.plan_status))?,
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
pub struct NewClient<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub email: &'a str,
    pub phone: Option<&'a str>,
    pub kind: &'a str,
    pub company_id: Option<Uuid>,
    pub plan: &'a str,
    pub plan_status: &'a str,
    pub active: bool,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = clients)]
pub struct ClientChangeset {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<Option<String>>,
    pub kind: Option<String>,
    pub company_id: Option<Option<Uuid>>,
    pub plan: Option<String>,
    pub plan_status: Option<String>,
    pub active: Option<bool>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = client_interests)]
pub struct NewClientInterest {
    pub client_id: Uuid,
    pub interest_id: Uuid,
}
