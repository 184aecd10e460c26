//! Companies: the legal entities B2B clients buy for.

use crate::domain::ids::CompanyId;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub id: CompanyId,
    pub legal_name: String,
    pub tax_id: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` (`If-Match` names it).
    pub version: i32,
}

/// What a new company is made of (id and timestamps are added when it is created).
#[derive(Debug, Clone, PartialEq)]
pub struct NewCompany {
    pub legal_name: String,
    pub tax_id: String,
    pub address: Option<String>,
    pub phone: Option<String>,
}

/// The fields a patch changes; `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompanyChanges {
    pub legal_name: Option<String>,
    pub tax_id: Option<String>,
    pub address: Option<Option<String>>,
    pub phone: Option<Option<String>>,
}
