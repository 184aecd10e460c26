//! Staff users: people who sign in to work, with one of the roles API keys have.

use crate::domain::access::{Grant, Role};
use crate::domain::ids::UserId;
use chrono::{DateTime, Utc};

/// A staff user: signs in with email and password and carries its role's scopes.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: UserId,
    pub name: String,
    pub email: String,
    pub role: Role,
    /// Whether a password has been set (never the hash itself).
    pub has_password: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i32,
}

impl User {
    pub fn grant(&self) -> Grant {
        Grant::of(&self.role.scopes())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub role: Role,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserChanges {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// `false` ends every session of the user.
    pub active: Option<bool>,
}
