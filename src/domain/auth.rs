//! Signing in, for staff users and customer accounts alike: sessions and their tokens, the
//! single-use links mailed to customers, and the password policy.
//!
//! Tokens are opaque: `hcrm_at_` (access, minutes) or `hcrm_rt_` (refresh, days) and the
//! base64url of 32 random bytes, stored only as their SHA-256, like API keys.

use crate::domain::access::{Owner, Role};
use crate::domain::ids::{AccountId, ClientId, SessionId, UserId};
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::LazyLock;

pub const ACCESS_PREFIX: &str = "hcrm_at_";
pub const REFRESH_PREFIX: &str = "hcrm_rt_";

/// A password's length in characters (NIST SP 800-63B: at least 8, long passphrases allowed).
pub const PASSWORD_MIN: usize = 8;
pub const PASSWORD_MAX: usize = 128;

/// The common passwords a new one may not be (see assets/passwords/README.md), lowercased.
static COMMON: LazyLock<HashSet<String>> =
    LazyLock::new(|| include_str!("../../assets/passwords/common.txt").lines().map(str::to_lowercase).collect());

/// Why a new password is refused: length, or a known common one. No composition rules.
pub fn password_issue(password: &str) -> Option<(&'static str, String)> {
    let length = password.chars().count();
    if !(PASSWORD_MIN..=PASSWORD_MAX).contains(&length) {
        return Some(("invalid_length", format!("must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long")));
    }
    if COMMON.contains(&password.to_lowercase()) {
        return Some(("too_common", "is one of the most common passwords; choose another".into()));
    }
    None
}

text_enum!(
    /// Why a session ended.
    EndReason {
        SignOut => "sign_out",
        EndedByUser => "ended_by_user",
        RefreshReuse => "refresh_reuse",
        PasswordChanged => "password_changed",
        UserDisabled => "user_disabled",
        RoleChanged => "role_changed",
        PasswordReset => "password_reset",
        Expired => "expired"
    }
);

/// Whose a session is: a staff user's or a customer account's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionOf {
    User(UserId),
    Account(AccountId),
}

impl SessionOf {
    pub fn owner(self) -> Owner {
        match self {
            SessionOf::User(id) => Owner::User(id),
            SessionOf::Account(id) => Owner::Account(id),
        }
    }
}

/// Which sign-in a request uses: the staff's (`/auth/…`) or the store's (`/store/auth/…`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Staff,
    Customers,
}

impl Audience {
    pub fn of(person: SessionOf) -> Audience {
        match person {
            SessionOf::User(_) => Audience::Staff,
            SessionOf::Account(_) => Audience::Customers,
        }
    }
}

/// One sign-in on one device: the family of every token it issued.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: SessionId,
    pub person: SessionOf,
    pub device: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// When the current refresh token stops working; each refresh moves it (`AUTH_REFRESH_DAYS`).
    pub expires_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub end_reason: Option<EndReason>,
}

/// Who a valid access token belongs to, as the access layer needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedIn {
    pub session_id: SessionId,
    pub who: SignedInAs,
    pub last_used_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SignedInAs {
    User { id: UserId, role: Role },
    Customer { account: AccountId, client: ClientId },
}

text_enum!(
    /// What a mailed link is for.
    EmailPurpose { VerifyEmail => "verify_email", ResetPassword => "reset_password", ChangeEmail => "change_email" }
);

/// A mailed link's token: `hcrm_et_` and 32 random bytes, single use, kept only hashed.
pub const EMAIL_TOKEN_PREFIX: &str = "hcrm_et_";

/// A fresh token with its prefix.
pub fn new_token(prefix: &str) -> Result<String, getrandom::Error> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// Whether text could be a token of this kind at all (before any lookup).
pub fn looks_like(prefix: &str, text: &str) -> bool {
    text.len() == prefix.len() + 43
        && text.starts_with(prefix)
        && text[prefix.len()..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_checked_for_length_and_commonness_only() {
        assert_eq!(password_issue("short").map(|i| i.0), Some("invalid_length"));
        assert_eq!(password_issue(&"x".repeat(129)).map(|i| i.0), Some("invalid_length"));
        assert_eq!(password_issue("password").map(|i| i.0), Some("too_common"));
        assert_eq!(password_issue("PassWord1").map(|i| i.0), Some("too_common"), "case does not help");
        assert_eq!(password_issue("correct horse battery staple"), None, "no composition rules");
        assert_eq!(password_issue("ñandú-über-café"), None, "counted in characters");
        assert_eq!(password_issue(&"é".repeat(128)), None);
    }

    #[test]
    fn tokens_are_random_and_tell_their_kind() {
        let (a, b) = (new_token(ACCESS_PREFIX).unwrap(), new_token(ACCESS_PREFIX).unwrap());
        assert_ne!(a, b);
        assert!(looks_like(ACCESS_PREFIX, &a));
        assert!(!looks_like(REFRESH_PREFIX, &a));
        assert!(!crate::domain::access::looks_like_key(&a), "an access token is not an API key");
    }
}
