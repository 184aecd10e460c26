//! Who may do what: API keys, scopes (`family:read|write`) and the roles that bundle them.

use crate::domain::ids::{AccountId, ApiKeyId, ClientId, SessionId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Every key starts with this, so leaked keys are easy to spot (and to scan for).
pub const KEY_PREFIX: &str = "hcrm_";
/// Random bytes in a key's secret.
pub const KEY_BYTES: usize = 32;

/// A family of resources that scopes are granted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    Clients,
    Catalog,
    Orders,
    Workshops,
    Payments,
    Reports,
    Webhooks,
    Admin,
}

impl Family {
    pub const ALL: [Family; 8] = [
        Family::Clients,
        Family::Catalog,
        Family::Orders,
        Family::Workshops,
        Family::Payments,
        Family::Reports,
        Family::Webhooks,
        Family::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Family::Clients => "clients",
            Family::Catalog => "catalog",
            Family::Orders => "orders",
            Family::Workshops => "workshops",
            Family::Payments => "payments",
            Family::Reports => "reports",
            Family::Webhooks => "webhooks",
            Family::Admin => "admin",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Read,
    /// Includes `Read` of the same family.
    Write,
}

/// `clients:read`, `orders:write`, …
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    pub family: Family,
    pub level: Level,
}

impl Scope {
    pub const fn new(family: Family, level: Level) -> Self {
        Scope { family, level }
    }

    /// Every scope there is, in a stable order.
    pub fn all() -> Vec<Scope> {
        Family::ALL
            .iter()
            .flat_map(|&family| [Scope::new(family, Level::Read), Scope::new(family, Level::Write)])
            .collect()
    }

    /// One bit per scope, for `Grant`.
    fn bit(self) -> u32 {
        1 << (self.family as u32 * 2 + u32::from(self.level == Level::Write))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            Level::Read => "read",
            Level::Write => "write",
        };
        write!(f, "{}:{level}", self.family.as_str())
    }
}

impl FromStr for Scope {
    type Err = ();

    fn from_str(text: &str) -> Result<Self, ()> {
        let (family, level) = text.split_once(':').ok_or(())?;
        let family = Family::ALL.into_iter().find(|f| f.as_str() == family).ok_or(())?;
        let level = match level {
            "read" => Level::Read,
            "write" => Level::Write,
            _ => return Err(()),
        };
        Ok(Scope { family, level })
    }
}

/// A named bundle of scopes, or `Custom` (the key's own list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including API keys and the audit log.
    Admin,
    /// Everything but `admin`.
    Manager,
    /// Clients, orders, workshops and payments; reads the catalog and reports.
    Sales,
    /// The catalog; reads orders, workshops and reports.
    Inventory,
    /// Clients; reads orders, workshops, payments and the catalog.
    Support,
    /// Reads everything but `admin` and `webhooks`.
    Readonly,
    /// The scopes listed on the key.
    Custom,
}

impl Role {
    pub const NAMED: [Role; 6] =
        [Role::Admin, Role::Manager, Role::Sales, Role::Inventory, Role::Support, Role::Readonly];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Sales => "sales",
            Role::Inventory => "inventory",
            Role::Support => "support",
            Role::Readonly => "readonly",
            Role::Custom => "custom",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        [Role::Custom].into_iter().chain(Role::NAMED).find(|r| r.as_str() == text)
    }

    /// The scopes a named role grants (none for `Custom`: its key lists them).
    pub fn scopes(self) -> Vec<Scope> {
        use Family::*;
        use Level::*;
        let write = |families: &[Family]| families.iter().map(|&f| Scope::new(f, Write)).collect::<Vec<_>>();
        let read = |families: &[Family]| families.iter().map(|&f| Scope::new(f, Read)).collect::<Vec<_>>();
        match self {
            Role::Admin => write(&Family::ALL),
            Role::Manager => write(&[Clients, Catalog, Orders, Workshops, Payments, Reports, Webhooks]),
            Role::Sales => [write(&[Clients, Orders, Workshops, Payments]), read(&[Catalog, Reports])].concat(),
            Role::Inventory => [write(&[Catalog]), read(&[Orders, Workshops, Reports])].concat(),
            Role::Support => [write(&[Clients]), read(&[Orders, Workshops, Payments, Catalog])].concat(),
            Role::Readonly => read(&[Clients, Catalog, Orders, Workshops, Payments, Reports]),
            Role::Custom => Vec::new(),
        }
    }
}

/// The scopes a key holds, as a set of bits; `write` on a family includes `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Grant(u32);

impl Grant {
    pub fn of(scopes: &[Scope]) -> Grant {
        Grant(scopes.iter().fold(0, |bits, scope| {
            let implied = if scope.level == Level::Write { Scope::new(scope.family, Level::Read).bit() } else { 0 };
            bits | scope.bit() | implied
        }))
    }

    pub fn allows(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether the key may read the family's data, wherever it appears.
    pub fn reads(self, family: Family) -> bool {
        self.allows(Scope::new(family, Level::Read))
    }
}

/// What is known about a key; never its secret.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub role: Role,
    /// For a named role, its scopes; for `Custom`, the key's list.
    pub scopes: Vec<Scope>,
    pub last_four: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Whether the key may be used at `now` (not revoked, not expired).
    pub fn usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| at > now)
    }

    pub fn grant(&self) -> Grant {
        Grant::of(&self.scopes)
    }
}

/// Who makes a request: an API key, a staff user in one of their sessions, or a customer signed in
/// to the store as their client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    Key(ApiKeyId),
    User { id: UserId, session: SessionId },
    Customer { account: AccountId, client: ClientId, session: SessionId },
}

impl Actor {
    /// What owns what the actor creates (webhook endpoints) and scopes its idempotency keys.
    pub fn owner(self) -> Owner {
        match self {
            Actor::Key(id) => Owner::Key(id),
            Actor::User { id, .. } => Owner::User(id),
            Actor::Customer { account, .. } => Owner::Account(account),
        }
    }
}

/// A key or a person, without the session a person acts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    Key(ApiKeyId),
    User(UserId),
    Account(AccountId),
}

impl fmt::Display for Owner {
    /// A key's id as it always was (idempotency keys stored before people existed keep
    /// matching); a user's with a prefix no key id has.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Owner::Key(id) => write!(f, "{id}"),
            Owner::User(id) => write!(f, "user:{id}"),
            Owner::Account(id) => write!(f, "account:{id}"),
        }
    }
}

/// A caller the access layer recognized: who, and what they may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Principal {
    pub actor: Actor,
    pub role: Role,
    pub grant: Grant,
}

impl Principal {
    pub fn of_key(key: &ApiKey) -> Principal {
        Principal { actor: Actor::Key(key.id), role: key.role, grant: key.grant() }
    }

    /// A customer holds no scope: only the store's own operations let them in.
    pub fn customer(account: AccountId, client: ClientId, session: SessionId) -> Principal {
        Principal { actor: Actor::Customer { account, client, session }, role: Role::Custom, grant: Grant::default() }
    }

    /// The name its rate limit is configured under (`RATE_LIMITS`): its role, or `customer`.
    pub fn rate_class(&self) -> &'static str {
        match self.actor {
            Actor::Customer { .. } => "customer",
            _ => self.role.as_str(),
        }
    }
}

/// What a new key is for.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub name: String,
    pub role: Role,
    /// Only for `Role::Custom`.
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// One write under `/api/v1`: who, what, when, and how it ended.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub id: crate::domain::ids::AuditEntryId,
    pub occurred_at: DateTime<Utc>,
    /// The API key of the request, if a key made it.
    pub key_id: Option<ApiKeyId>,
    /// The staff user of the request: a staff session's, or the person a sign-in named.
    pub user_id: Option<UserId>,
    /// The customer account of the request: a store session's, or the one a store sign-in named.
    pub account_id: Option<AccountId>,
    pub operation_id: String,
    pub method: String,
    pub path: String,
    /// The resource the write was about: the first id in the path, or the created resource.
    pub subject_id: Option<String>,
    /// The HTTP status; `None` when the write committed but its process died before answering.
    pub status: Option<i16>,
    pub request_id: Option<String>,
}

/// Which audit entries to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub key_id: Option<ApiKeyId>,
    pub user_id: Option<UserId>,
    pub account_id: Option<AccountId>,
    pub subject_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A fresh secret: `hcrm_` and the base64url of 32 random bytes.
pub fn new_secret() -> Result<String, getrandom::Error> {
    use base64::Engine;
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{KEY_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// What is stored of a secret and what it is looked up by.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The last four characters, shown to tell keys apart.
pub fn last_four(secret: &str) -> String {
    secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect()
}

/// Whether text could be a key at all (before any lookup).
pub fn looks_like_key(text: &str) -> bool {
    text.len() == KEY_PREFIX.len() + 43
        && text.starts_with(KEY_PREFIX)
        && text[KEY_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_includes_read_and_nothing_else() {
        let grant = Grant::of(&[Scope::new(Family::Orders, Level::Write)]);
        assert!(grant.allows(Scope::new(Family::Orders, Level::Read)));
        assert!(grant.allows(Scope::new(Family::Orders, Level::Write)));
        assert!(!grant.allows(Scope::new(Family::Clients, Level::Read)));
        assert!(!Grant::of(&[Scope::new(Family::Orders, Level::Read)]).allows(Scope::new(Family::Orders, Level::Write)));
    }

    #[test]
    fn scopes_round_trip_and_roles_parse() {
        for scope in Scope::all() {
            assert_eq!(scope.to_string().parse::<Scope>(), Ok(scope));
        }
        assert!("clients:delete".parse::<Scope>().is_err());
        assert!("users:read".parse::<Scope>().is_err());
        for role in Role::NAMED {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!(Role::Admin.scopes().contains(&Scope::new(Family::Admin, Level::Write)));
        assert!(!Role::Manager.grant_has(Scope::new(Family::Admin, Level::Read)));
    }

    #[test]
    fn secrets_are_long_random_and_recognizable() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_ne!(a, b);
        assert!(looks_like_key(&a), "{a}");
        assert!(!looks_like_key("hcrm_short"));
        assert_eq!(last_four("hcrm_abcdWXYZ"), "WXYZ");
        assert_ne!(secret_hash(&a), secret_hash(&b));
    }

    impl Role {
        fn grant_has(self, scope: Scope) -> bool {
            Grant::of(&self.scopes()).allows(scope)
        }
    }
}
