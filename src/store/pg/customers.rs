//! Repository functions for `customer_accounts` and `email_tokens`; the rows (private to the
//! store) and their conversions follow them. Password hashes leave this module only for
//! verification, tokens are looked up by their SHA-256.

use super::lower;
use super::schema::{customer_accounts, email_tokens};
use crate::domain::auth::EmailPurpose;
use crate::domain::customers::CustomerAccount;
use crate::domain::ids::{AccountId, ClientId};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

pub fn insert(conn: &mut PgConnection, account: &CustomerAccount, password_hash: &str) -> QueryResult<CustomerAccount> {
    diesel::insert_into(customer_accounts::table)
        .values((
            customer_accounts::id.eq(account.id.0),
            customer_accounts::client_id.eq(account.client_id.map(|c| c.0)),
            customer_accounts::email.eq(&account.email),
            customer_accounts::password_hash.eq(password_hash),
            customer_accounts::email_verified_at.eq(account.email_verified_at),
            customer_accounts::active.eq(account.active),
            customer_accounts::created_at.eq(account.created_at),
            customer_accounts::updated_at.eq(account.updated_at),
        ))
        .returning(AccountRow::as_returning())
        .get_result::<AccountRow>(conn)
        .map(Into::into)
}

/// The account with this email (regardless of case) and its password hash.
pub fn find_by_email(conn: &mut PgConnection, email: &str) -> QueryResult<Option<(CustomerAccount, String)>> {
    customer_accounts::table
        .filter(lower(customer_accounts::email).eq(lower(email)))
        .select((AccountRow::as_select(), customer_accounts::password_hash))
        .first::<(AccountRow, String)>(conn)
        .optional()
        .map(|found| found.map(|(row, hash)| (row.into(), hash)))
}

pub fn find(conn: &mut PgConnection, id: AccountId) -> QueryResult<Option<CustomerAccount>> {
    customer_accounts::table
        .find(id.0)
        .select(AccountRow::as_select())
        .first::<AccountRow>(conn)
        .optional()
        .map(|row| row.map(Into::into))
}

/// The account of a client, locked for a change when `lock`.
pub fn of_client(conn: &mut PgConnection, client: ClientId, lock: bool) -> QueryResult<Option<CustomerAccount>> {
    let query =
        customer_accounts::table.filter(customer_accounts::client_id.eq(client.0)).select(AccountRow::as_select());
    let found =
        if lock { query.for_no_key_update().first::<AccountRow>(conn) } else { query.first::<AccountRow>(conn) };
    found.optional().map(|row| row.map(Into::into))
}

pub fn set_active(
    conn: &mut PgConnection,
    id: AccountId,
    active: bool,
    now: DateTime<Utc>,
) -> QueryResult<CustomerAccount> {
    diesel::update(customer_accounts::table.find(id.0))
        .set((customer_accounts::active.eq(active), customer_accounts::updated_at.eq(now)))
        .returning(AccountRow::as_returning())
        .get_result::<AccountRow>(conn)
        .map(Into::into)
}

pub fn password_hash(conn: &mut PgConnection, id: AccountId) -> QueryResult<Option<String>> {
    customer_accounts::table.find(id.0).select(customer_accounts::password_hash).first(conn).optional()
}

pub fn set_password(conn: &mut PgConnection, id: AccountId, hash: &str, now: DateTime<Utc>) -> QueryResult<bool> {
    diesel::update(customer_accounts::table.find(id.0))
        .set((customer_accounts::password_hash.eq(hash), customer_accounts::updated_at.eq(now)))
        .execute(conn)
        .map(|n| n > 0)
}

/// Marks the email verified and attaches the account to `client` (its own, or the existing
/// client with that email).
pub fn verify(
    conn: &mut PgConnection,
    id: AccountId,
    client: ClientId,
    now: DateTime<Utc>,
) -> QueryResult<CustomerAccount> {
    diesel::update(customer_accounts::table.find(id.0))
        .set((
            customer_accounts::client_id.eq(client.0),
            customer_accounts::email_verified_at.eq(now),
            customer_accounts::updated_at.eq(now),
        ))
        .returning(AccountRow::as_returning())
        .get_result::<AccountRow>(conn)
        .map(Into::into)
}

/// A new single-use link's token (its hash), replacing the account's unused ones of the purpose.
/// A new link of `purpose` (replacing the account's unused one of that purpose); `new_email` is
/// the address a `change_email` link confirms.
pub fn insert_token(
    conn: &mut PgConnection,
    account: AccountId,
    purpose: EmailPurpose,
    hash: &[u8],
    new_email: Option<&str>,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::delete(
        email_tokens::table
            .filter(email_tokens::account_id.eq(account.0))
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null()),
    )
    .execute(conn)?;
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::hash.eq(hash),
            email_tokens::account_id.eq(account.0),
            email_tokens::purpose.eq(purpose.as_str()),
            email_tokens::created_at.eq(now),
            email_tokens::expires_at.eq(expires_at),
            email_tokens::new_email.eq(new_email),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Uses a link's token: the account it was for, if it is of `purpose`, unused and unexpired. One
/// conditional statement: of two simultaneous uses, one gets the account.
pub fn use_token(
    conn: &mut PgConnection,
    hash: &[u8],
    purpose: EmailPurpose,
    now: DateTime<Utc>,
) -> QueryResult<Option<AccountId>> {
    diesel::update(
        email_tokens::table
            .find(hash)
            .filter(email_tokens::purpose.eq(purpose.as_str()))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now)),
    )
    .set(email_tokens::used_at.eq(now))
    .returning(email_tokens::account_id)
    .get_result::<Uuid>(conn)
    .optional()
    .map(|id| id.map(AccountId))
}

/// Uses a `change_email` link: the account and the address it confirms (as `use_token`).
pub fn use_change_token(
    conn: &mut PgConnection,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<(AccountId, String)>> {
    diesel::update(
        email_tokens::table
            .find(hash)
            .filter(email_tokens::purpose.eq(EmailPurpose::ChangeEmail.as_str()))
            .filter(email_tokens::used_at.is_null())
            .filter(email_tokens::expires_at.gt(now)),
    )
    .set(email_tokens::used_at.eq(now))
    .returning((email_tokens::account_id, email_tokens::new_email))
    .get_result::<(Uuid, Option<String>)>(conn)
    .optional()
    .map(|found| found.and_then(|(id, email)| Some((AccountId(id), email?))))
}

/// The account's new email, verified now (the link to it was followed).
pub fn set_email(
    conn: &mut PgConnection,
    id: AccountId,
    email: &str,
    now: DateTime<Utc>,
) -> QueryResult<CustomerAccount> {
    diesel::update(customer_accounts::table.find(id.0))
        .set((
            customer_accounts::email.eq(email),
            customer_accounts::email_verified_at.eq(now),
            customer_accounts::updated_at.eq(now),
        ))
        .returning(AccountRow::as_returning())
        .get_result::<AccountRow>(conn)
        .map(Into::into)
}

// --- Rows: the table as diesel reads and writes it, and its conversions to domain types ---

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = customer_accounts, check_for_backend(diesel::pg::Pg))]
struct AccountRow {
    id: Uuid,
    client_id: Option<Uuid>,
    email: String,
    email_verified_at: Option<DateTime<Utc>>,
    active: bool,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: i32,
}

impl From<AccountRow> for CustomerAccount {
    fn from(r: AccountRow) -> Self {
        CustomerAccount {
            id: AccountId(r.id),
            client_id: r.client_id.map(ClientId),
            email: r.email,
            email_verified_at: r.email_verified_at,
            active: r.active,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}
