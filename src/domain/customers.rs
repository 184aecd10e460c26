//! Customer accounts: a person who signs in to the store API as one client.

use crate::domain::ids::{AccountId, ClientId};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct CustomerAccount {
    pub id: AccountId,
    /// `None` until the email is verified when a client with that email existed before the
    /// registration.
    pub client_id: Option<ClientId>,
    pub email: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` (`If-Match` names it).
    pub version: i32,
}

impl CustomerAccount {
    /// Whether the account may sign in: active, its email verified (and so attached).
    pub fn usable(&self) -> bool {
        self.active && self.email_verified_at.is_some() && self.client_id.is_some()
    }
}
