//! Staff users: created by an admin (or `hybrid-crm user create`), listed, given another role,
//! disabled. Disabling a user or changing their role ends every session of theirs: a token
//! never carries scopes its user no longer has.

use super::constraints::{conflict, length, Meaning, Rule};
use super::{auth, clock, id_page, AppResult, AppState, Found, Keyed};
use crate::domain::auth::{EndReason, SessionOf};
use crate::domain::ids::{Located, UserId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::precondition::Precondition;
use crate::domain::users::{NewUser, User, UserChanges};
use crate::store::pg::{auth as sessions, users as repo};

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Unique("users_email_key", conflict("email_taken", Some("email"), "a user has this email")),
    Rule::Check("users_name_check", length("name", 1, 200)),
    Rule::Check("users_email_check", length("email", 3, 254)),
    Rule::Check("users_role_check", Meaning::Invariant),
];

impl Keyed for User {
    fn key(&self) -> uuid::Uuid {
        self.id.0
    }
}

/// A new user with their first password (the policy applies).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn create(state: &AppState, new: NewUser, password: String) -> AppResult<User> {
    let hash = auth::hash_password(state, "password", password).await?;
    let now = clock::now();
    let user = User {
        id: UserId::new(),
        name: new.name,
        email: new.email.trim().to_string(),
        role: new.role,
        has_password: true,
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    state
        .db
        .tx(move |conn| {
            let created = repo::insert(conn, &user)?;
            repo::set_password(conn, created.id, &hash, now)?;
            super::idempotency::recovery_point(created.id.path());
            Ok(User { has_password: true, ..created })
        })
        .await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn get(state: &AppState, id: UserId) -> AppResult<User> {
    state.db.run(move |conn| repo::find(conn, id)?.found(id)).await
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn list(state: &AppState, search: Option<String>, page: PageRequest) -> AppResult<Page<User>> {
    id_page(state, page, move |conn, after, limit| Ok(repo::list(conn, search.as_deref(), after, limit)?)).await
}

/// Changes a user; a new role or `active: false` ends their sessions in the same transaction.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(state: &AppState, id: UserId, changes: UserChanges, precondition: Precondition) -> AppResult<User> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let before = repo::lock(conn, id)?.found(id)?;
            precondition.check(&before)?;
            let user = repo::update(conn, id, &changes, now)?.found(id)?;
            let reason = if before.active && !user.active {
                Some(EndReason::UserDisabled)
            } else if before.role != user.role {
                Some(EndReason::RoleChanged)
            } else {
                None
            };
            if let Some(reason) = reason {
                sessions::end_sessions_of(conn, SessionOf::User(id), None, reason, now)?;
            }
            Ok(user)
        })
        .await
}

/// Sets a user's password from the command line (`hybrid-crm user create` reads it from stdin);
/// their other sessions end, as with a change through the API.
pub async fn set_password(state: &AppState, id: UserId, password: String) -> AppResult<()> {
    let hash = auth::hash_password(state, "password", password).await?;
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            repo::set_password(conn, id, &hash, now)?.then_some(()).found(id)?;
            sessions::end_sessions_of(conn, SessionOf::User(id), None, EndReason::PasswordChanged, now)?;
            Ok(())
        })
        .await
}

/// The user with this email, if any (the command line creates or updates by email).
pub async fn find_by_email(state: &AppState, email: String) -> AppResult<Option<User>> {
    state.db.run(move |conn| Ok(repo::find_for_sign_in(conn, &email)?.map(|(user, _)| user))).await
}
