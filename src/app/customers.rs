//! Customer accounts: registering (the client and its MongoDB document, as any client, and the
//! account), verifying the email through a mailed single-use link, resetting a forgotten
//! password, and a customer's own profile. Answers never tell whether an email has an account;
//! the links' tokens exist only in the mail (PostgreSQL keeps their SHA-256), and no staff API
//! ever shows one.

use super::constraints::{conflict, gone, length, Meaning, Rule};
use super::{auth, clients, clock, AppError, AppResult, AppState, Found};
use crate::domain::access;
use crate::domain::auth::{self as rules, EmailPurpose, EndReason, SessionOf, EMAIL_TOKEN_PREFIX};
use crate::domain::client::{Client, ClientChanges, NewClient};
use crate::domain::customers::CustomerAccount;
use crate::domain::ids::{AccountId, ClientId};
use crate::outside::smtp::Outgoing;
use crate::store::pg::{audit, auth as sessions, clients as client_repo, customers as repo};
use chrono::{DateTime, Utc};

pub const CONSTRAINTS: &[Rule] = &[
    Rule::Unique("customer_accounts_email_key", conflict("email_taken", Some("email"), "an account has this email")),
    Rule::Unique("customer_accounts_client_id_key", conflict("client_has_account", None, "the client has an account")),
    Rule::Check("customer_accounts_email_check", length("email", 3, 254)),
    Rule::Check("customer_accounts_check", Meaning::Invariant),
    Rule::foreign_key("customer_accounts_client_id_fkey", gone("client"), None),
    Rule::Check("email_tokens_purpose_check", Meaning::Invariant),
    Rule::Check("email_tokens_new_email_check", Meaning::Invariant),
    Rule::foreign_key("email_tokens_account_id_fkey", gone("customer_account"), None),
];

const INVALID_LINK: AppError = AppError::Unauthenticated {
    code: "invalid_token",
    message: "the link is not valid: it was used already, has expired, or was replaced by a newer one",
};

/// A message to mail once the transaction that made its token committed.
struct Mail {
    to: String,
    template: &'static str,
    subject: &'static str,
    body: String,
}

/// Sends a message; a failure is logged, never answered: the caller's request already
/// committed, and asking again (registering again, another reset) sends a new link.
async fn deliver(state: &AppState, account: AccountId, mail: Mail) {
    let id = account.to_string();
    let outgoing =
        Outgoing { id: &id, template: mail.template, recipient: &mail.to, subject: mail.subject, body: &mail.body };
    if let Err(err) = state.mailer.send(outgoing).await {
        let detail = match err {
            crate::outside::smtp::SendError::Permanent(detail) | crate::outside::smtp::SendError::Transient(detail) => {
                detail
            }
        };
        tracing::warn!(account = %account, template = mail.template, error = %detail, "an account email was not sent");
    }
}

/// The answer of a request that must not tell whether an email has an account: its mails go out
/// beside it (a slow mail server does not show in its timing), and it comes no sooner than
/// `AUTH_ANSWER_FLOOR_MS` after the request began, whatever work the email's state made.
struct EvenAnswer {
    due: tokio::time::Instant,
    mails: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl EvenAnswer {
    fn start(state: &AppState) -> Self {
        let due = tokio::time::Instant::now() + state.settings.access.auth.answer_floor;
        EvenAnswer { due, mails: std::sync::Mutex::new(Vec::new()) }
    }

    fn send(&self, state: &AppState, account: AccountId, mail: Mail) {
        use tracing::Instrument;
        let state = state.clone();
        let sending = tokio::spawn(async move { deliver(&state, account, mail).await }.in_current_span());
        if let Ok(mut mails) = self.mails.lock() {
            mails.push(sending);
        }
    }

    /// Waits for the floor (and for the mails, within it: a reader of the mailbox finds them as
    /// soon as the answer comes, unless the mail server is slower than the floor).
    async fn finish<T>(self, outcome: AppResult<T>) -> AppResult<T> {
        let mails = self.mails.into_inner().unwrap_or_default();
        for mail in mails {
            let _ = tokio::time::timeout_at(self.due, mail).await;
        }
        tokio::time::sleep_until(self.due).await;
        outcome
    }
}

/// A new single-use link of `purpose` for the account: its token (only its hash is stored).
fn new_link(
    conn: &mut diesel::PgConnection,
    state: &AppState,
    account: AccountId,
    purpose: EmailPurpose,
    new_email: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<String> {
    let token = rules::new_token(EMAIL_TOKEN_PREFIX)
        .map_err(|err| AppError::Internal(anyhow::anyhow!("no randomness for a link: {err}")))?;
    let settings = &state.settings.access.auth;
    let ttl = match purpose {
        EmailPurpose::VerifyEmail | EmailPurpose::ChangeEmail => settings.verify_ttl,
        EmailPurpose::ResetPassword => settings.reset_ttl,
    };
    repo::insert_token(conn, account, purpose, &access::secret_hash(&token), new_email, now, now + ttl)?;
    Ok(token)
}

fn verification_mail(state: &AppState, to: &str, token: &str) -> Mail {
    let base = &state.settings.access.auth.link_base;
    let hours = state.settings.access.auth.verify_ttl.as_secs() / 3600;
    Mail {
        to: to.to_string(),
        template: "verify_email",
        subject: "Confirm your email",
        body: format!(
            "Confirm this email address for your account by opening:\n\n{base}/verify-email?token={token}\n\n\
             The link works once, for {hours} hours. If you did not register, ignore this message."
        ),
    }
}

/// Registers a customer. The answer is the same whatever the email's state, so registering does
/// not tell who has an account: a new email gets a client (when none has it) and an account, and
/// a verification link; an email whose account is not verified yet gets the new password and a
/// new link (whoever registered it first without the mailbox loses it); an email with a verified
/// account gets a note saying so. An account whose email belonged to an existing client is
/// attached to that client only when the link is followed.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn register(state: &AppState, name: String, email: String, password: String) -> AppResult<()> {
    let answer = EvenAnswer::start(state);
    let outcome = register_as(state, name, email, password, &answer).await;
    answer.finish(outcome).await
}

async fn register_as(
    state: &AppState,
    name: String,
    email: String,
    password: String,
    answer: &EvenAnswer,
) -> AppResult<()> {
    let email = email.trim().to_string();
    let hash = auth::hash_password(state, "password", password).await?;
    let lookup = email.clone();
    let (account, client) = state
        .db
        .read(move |conn| Ok((repo::find_by_email(conn, &lookup)?, client_repo::id_by_email(conn, &lookup)?)))
        .await?;
    if let Some((account, _)) = account {
        return register_again(state, account, hash, answer).await;
    }
    // The client, and whether this registration created it.
    let (client, created) = match client {
        Some(existing) => (existing, false),
        None => match new_client(state, &name, &email).await {
            Ok(created) => (created.id, true),
            // Someone else created a client with this email meanwhile: treat it as existing.
            Err(AppError::Conflict { code: "email_taken", .. }) => {
                let lookup = email.clone();
                let existing = state.db.run(move |conn| Ok(client_repo::id_by_email(conn, &lookup)?)).await?;
                (existing.ok_or_else(|| AppError::Internal(anyhow::anyhow!("a taken email has no client")))?, false)
            }
            Err(err) => return Err(err),
        },
    };
    let now = clock::now();
    let account = CustomerAccount {
        id: AccountId::new(),
        // Only a client this registration created is attached before the email is verified.
        client_id: created.then_some(client),
        email: email.clone(),
        email_verified_at: None,
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    audit::identify(access::Owner::Account(account.id));
    let stored = state.clone();
    let made = state
        .db
        .tx(move |conn| {
            let account = repo::insert(conn, &account, &hash)?;
            let token = new_link(conn, &stored, account.id, EmailPurpose::VerifyEmail, None, now)?;
            Ok((account, token))
        })
        .await;
    match made {
        Ok((account, token)) => answer.send(state, account.id, verification_mail(state, &email, &token)),
        // Registered meanwhile by a simultaneous request: that one mails its link.
        Err(AppError::Conflict { code: "email_taken", .. }) => {}
        Err(err) => return Err(err),
    }
    Ok(())
}

/// Registering an email that already has an account.
async fn register_again(
    state: &AppState,
    account: CustomerAccount,
    hash: String,
    answer: &EvenAnswer,
) -> AppResult<()> {
    audit::identify(access::Owner::Account(account.id));
    if account.email_verified_at.is_some() {
        let mail = Mail {
            to: account.email.clone(),
            template: "already_registered",
            subject: "You already have an account",
            body: "Someone (you, perhaps) tried to register this email again. You already have an account: sign \
                   in, or ask for a password reset if you forgot the password. If it was not you, nothing changed."
                .into(),
        };
        answer.send(state, account.id, mail);
        return Ok(());
    }
    let now = clock::now();
    let stored = state.clone();
    let id = account.id;
    let token = state
        .db
        .tx(move |conn| {
            repo::set_password(conn, id, &hash, now)?;
            new_link(conn, &stored, id, EmailPurpose::VerifyEmail, None, now)
        })
        .await?;
    answer.send(state, account.id, verification_mail(state, &account.email, &token));
    Ok(())
}

async fn new_client(state: &AppState, name: &str, email: &str) -> AppResult<Client> {
    // Not the registering request's unit of work: the client stands on its own, like one staff
    // created (its audit entry is the registration's).
    clients::create(state, NewClient::b2c(name, email)).await
}

/// Follows a verification link: the email is verified, and the account attached to the client
/// with that email if it was not yet.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn verify_email(state: &AppState, token: String) -> AppResult<CustomerAccount> {
    if !rules::looks_like(EMAIL_TOKEN_PREFIX, &token) {
        return Err(INVALID_LINK);
    }
    let hash = access::secret_hash(&token);
    let now = clock::now();
    let account = state
        .db
        .tx(move |conn| {
            let id = repo::use_token(conn, &hash, EmailPurpose::VerifyEmail, now)?.ok_or(INVALID_LINK)?;
            attach_verified(conn, id, now)
        })
        .await?;
    audit::identify(access::Owner::Account(account.id));
    Ok(account)
}

/// Marks the account's email verified, attaching it to its client (the one with its email).
fn attach_verified(conn: &mut diesel::PgConnection, id: AccountId, now: DateTime<Utc>) -> AppResult<CustomerAccount> {
    let account = repo::find(conn, id)?.found(id)?;
    let client = match account.client_id {
        Some(client) => client,
        None => client_repo::id_by_email(conn, &account.email)?.ok_or_else(|| {
            AppError::conflict("client_gone", None, "the client with this email was deleted: register again")
        })?,
    };
    Ok(repo::verify(conn, id, client, now)?)
}

/// Asks for a password reset: the answer is the same whether or not the email has an account; an
/// active account gets a link that works once, for `AUTH_RESET_MINUTES`.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn request_reset(state: &AppState, email: String) -> AppResult<()> {
    let answer = EvenAnswer::start(state);
    let outcome = request_reset_as(state, email, &answer).await;
    answer.finish(outcome).await
}

async fn request_reset_as(state: &AppState, email: String, answer: &EvenAnswer) -> AppResult<()> {
    let now = clock::now();
    let stored = state.clone();
    let made = state
        .db
        .tx(move |conn| {
            let Some((account, _)) = repo::find_by_email(conn, email.trim())? else {
                return Ok(None);
            };
            if !account.active {
                return Ok(None);
            }
            let token = new_link(conn, &stored, account.id, EmailPurpose::ResetPassword, None, now)?;
            Ok(Some((account, token)))
        })
        .await?;
    if let Some((account, token)) = made {
        audit::identify(access::Owner::Account(account.id));
        let base = &state.settings.access.auth.link_base;
        let minutes = state.settings.access.auth.reset_ttl.as_secs() / 60;
        let mail = Mail {
            to: account.email.clone(),
            template: "reset_password",
            subject: "Reset your password",
            body: format!(
                "Choose a new password by opening:\n\n{base}/reset-password?token={token}\n\nThe link works once, \
                 for {minutes} minutes, and signs you out everywhere. If you did not ask for it, ignore this message."
            ),
        };
        answer.send(state, account.id, mail);
    }
    Ok(())
}

/// Follows a reset link with the new password: it is set, every session of the account ends, and
/// (the link proved the mailbox) the email counts as verified.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn confirm_reset(state: &AppState, token: String, password: String) -> AppResult<()> {
    if !rules::looks_like(EMAIL_TOKEN_PREFIX, &token) {
        return Err(INVALID_LINK);
    }
    let hash = auth::hash_password(state, "new_password", password).await?;
    let token_hash = access::secret_hash(&token);
    let now = clock::now();
    let account = state
        .db
        .tx(move |conn| {
            let id = repo::use_token(conn, &token_hash, EmailPurpose::ResetPassword, now)?.ok_or(INVALID_LINK)?;
            repo::set_password(conn, id, &hash, now)?;
            sessions::end_sessions_of(conn, SessionOf::Account(id), None, EndReason::PasswordReset, now)?;
            let account = repo::find(conn, id)?.found(id)?;
            if account.email_verified_at.is_none() {
                return attach_verified(conn, id, now);
            }
            Ok(account)
        })
        .await?;
    audit::identify(access::Owner::Account(account.id));
    Ok(())
}

/// The signed-in customer's client record.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn profile(state: &AppState, client: ClientId) -> AppResult<Client> {
    clients::get(state, client).await
}

/// The fields a customer may change of their own record: name and phone (a new email needs its
/// own verification, and the rest is the business's).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update_profile(
    state: &AppState,
    client: ClientId,
    name: Option<String>,
    phone: Option<Option<String>>,
    precondition: crate::domain::precondition::Precondition,
) -> AppResult<Client> {
    let changes = ClientChanges { name, phone, ..Default::default() };
    clients::update(state, client, changes, precondition).await
}

/// The customer account of a client (staff: `GET /clients/{id}/account`).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn account_of(state: &AppState, client: ClientId) -> AppResult<CustomerAccount> {
    state
        .db
        .run(move |conn| {
            repo::of_client(conn, client, false)?
                .ok_or_else(|| AppError::NotFound { resource: "customer_account", id: client.to_string() })
        })
        .await
}

/// Disables or enables a client's account; disabling ends every session of it at once (its
/// tokens stop on every replica) and refuses its sign-ins.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_account_active(
    state: &AppState,
    client: ClientId,
    active: bool,
    precondition: crate::domain::precondition::Precondition,
) -> AppResult<CustomerAccount> {
    let now = clock::now();
    state
        .db
        .tx(move |conn| {
            let account = repo::of_client(conn, client, true)?
                .ok_or_else(|| AppError::NotFound { resource: "customer_account", id: client.to_string() })?;
            precondition.check(&account)?;
            let changed = repo::set_active(conn, account.id, active, now)?;
            if !active {
                sessions::end_sessions_of(conn, SessionOf::Account(account.id), None, EndReason::UserDisabled, now)?;
            }
            Ok(changed)
        })
        .await
}

/// A signed-in customer asks to change their email; the password proves it is them. A link goes
/// to the new address (the change happens only when it is followed, within `AUTH_VERIFY_HOURS`)
/// and a notice to the current one. The answer does not tell whether another account has the new
/// address: that address gets a note instead of a link.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn request_email_change(
    state: &AppState,
    account: AccountId,
    password: String,
    new_email: String,
) -> AppResult<()> {
    let answer = EvenAnswer::start(state);
    let outcome = request_email_change_as(state, account, password, new_email, &answer).await;
    answer.finish(outcome).await
}

async fn request_email_change_as(
    state: &AppState,
    account: AccountId,
    password: String,
    new_email: String,
    answer: &EvenAnswer,
) -> AppResult<()> {
    let hash = state.db.run(move |conn| Ok(repo::password_hash(conn, account)?)).await?;
    if !auth::verify(state, hash, password).await? {
        return Err(AppError::invalid("password", "incorrect", "is not the current password"));
    }
    let now = clock::now();
    let stored = state.clone();
    let (current, mail) = state
        .db
        .tx(move |conn| {
            let current = repo::find(conn, account)?.found(account)?;
            if current.email.eq_ignore_ascii_case(&new_email) {
                return Err(AppError::invalid("new_email", "unchanged", "is the account's email already"));
            }
            if repo::find_by_email(conn, &new_email)?.is_some() {
                return Ok((current, in_use_mail(&new_email)));
            }
            let token = new_link(conn, &stored, account, EmailPurpose::ChangeEmail, Some(&new_email), now)?;
            Ok((current, change_mail(&stored, &new_email, &token)))
        })
        .await?;
    answer.send(state, account, mail);
    let notice = Mail {
        to: current.email,
        template: "email_change_requested",
        subject: "Your email is being changed",
        body: "Someone signed in to your account asked to move it to another email address. The change \
               happens only when the link sent to that address is followed. If it was not you, change your \
               password now."
            .into(),
    };
    answer.send(state, account, notice);
    Ok(())
}

fn change_mail(state: &AppState, to: &str, token: &str) -> Mail {
    let base = &state.settings.access.auth.link_base;
    let hours = state.settings.access.auth.verify_ttl.as_secs() / 3600;
    Mail {
        to: to.to_string(),
        template: "change_email",
        subject: "Confirm your new email",
        body: format!(
            "Confirm this address as your account's new email by opening:\n\n{base}/confirm-email?token={token}\n\n\
             The link works once, for {hours} hours. If you did not ask for it, ignore this message."
        ),
    }
}

fn in_use_mail(to: &str) -> Mail {
    Mail {
        to: to.to_string(),
        template: "email_in_use",
        subject: "This email already has an account",
        body: "Someone asked to move their account to this address, but an account already uses it: \
               nothing changed. Sign in with this address, or reset its password if it is forgotten."
            .into(),
    }
}

/// Follows an email-change link: the account's email — and its client's — becomes the new
/// address, verified; the old address is told.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn confirm_email_change(state: &AppState, token: String) -> AppResult<CustomerAccount> {
    if !rules::looks_like(EMAIL_TOKEN_PREFIX, &token) {
        return Err(INVALID_LINK);
    }
    let hash = access::secret_hash(&token);
    let now = clock::now();
    let (old_email, account) = state
        .db
        .tx(move |conn| {
            let (id, new_email) = repo::use_change_token(conn, &hash, now)?.ok_or(INVALID_LINK)?;
            let before = repo::find(conn, id)?.found(id)?;
            let account = repo::set_email(conn, id, &new_email, now)?;
            if let Some(client) = account.client_id {
                let current = client_repo::lock_for_update(conn, client)?.found(client)?;
                let changes = ClientChanges { email: Some(new_email), ..Default::default() };
                clients::update_in(conn, &current, changes, now)?;
            }
            Ok((before.email, account))
        })
        .await?;
    audit::identify(access::Owner::Account(account.id));
    let notice = Mail {
        to: old_email,
        template: "email_changed",
        subject: "Your email was changed",
        body: format!(
            "Your account's email is now {}. If you did not make this change, contact us at once.",
            account.email
        ),
    };
    deliver(state, account.id, notice).await;
    Ok(account)
}
