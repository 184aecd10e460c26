//! Interests: topics clients care about (workshop categories, product lines).

use crate::domain::ids::InterestId;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct Interest {
    pub id: InterestId,
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; the `ETag` (`If-Match` names it).
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewInterest {
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InterestChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
}
