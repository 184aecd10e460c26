//! Who may do what: API keys, scopes (`family:read|write`) and the roles that bundle them.

use crate::domain::ids::{AccountId, ApiKeyId, ClientId, SessionId, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Every key starts with this, so leaked keys are easy to spot (and to scan for).
pub const KEY_PREFIX: &str = "hcrm_";
/// A publishable key's prefix: it is meant to be seen (it ships inside a storefront's pages).
pub const PUBLISHABLE_PREFIX: &str = "hcrm_pk_";
/// The header a publishable key travels in.
pub const PUBLISHABLE_HEADER: &str = "x-publishable-key";
/// Most origins one publishable key names.
pub const MAX_ORIGINS: usize = 16;
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

text_enum!(
    /// `secret`: an integrator's or a back office's key, sent as `Authorization: Bearer`, holding
    /// its role's scopes. `publishable`: a storefront's, sent as `X-Publishable-Key` from the
    /// browser origins it names, reading the public catalog and nothing else.
    KeyKind { Secret => "secret", Publishable => "publishable" }
);

impl KeyKind {
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::Secret => KEY_PREFIX,
            KeyKind::Publishable => PUBLISHABLE_PREFIX,
        }
    }
}

/// What is known about a key; never its secret.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub kind: KeyKind,
    pub name: String,
    pub role: Role,
    /// For a named role, its scopes; for `Custom`, the key's list.
    pub scopes: Vec<Scope>,
    pub last_four: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// For a publishable key: the exact browser origins (`scheme://host[:port]`) that may use it.
    pub allowed_origins: Vec<String>,
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
    /// A publishable key: a storefront reading the public catalog, nobody in particular.
    Storefront(ApiKeyId),
    User {
        id: UserId,
        session: SessionId,
    },
    Customer {
        account: AccountId,
        client: ClientId,
        session: SessionId,
    },
}

impl Actor {
    /// What owns what the actor creates (webhook endpoints) and scopes its idempotency keys.
    pub fn owner(self) -> Owner {
        match self {
            Actor::Key(id) | Actor::Storefront(id) => Owner::Key(id),
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
    /// A secret key holds its role's scopes; a publishable one none (only the storefront's
    /// catalog operations let it in).
    pub fn of_key(key: &ApiKey) -> Principal {
        match key.kind {
            KeyKind::Secret => Principal { actor: Actor::Key(key.id), role: key.role, grant: key.grant() },
            KeyKind::Publishable => {
                Principal { actor: Actor::Storefront(key.id), role: Role::Custom, grant: Grant::default() }
            }
        }
    }

    /// A customer holds no scope: only the store's own operations let them in.
    pub fn customer(account: AccountId, client: ClientId, session: SessionId) -> Principal {
        Principal { actor: Actor::Customer { account, client, session }, role: Role::Custom, grant: Grant::default() }
    }

    /// The name its rate limit is configured under (`RATE_LIMITS`): its role, `customer` or
    /// `publishable`.
    pub fn rate_class(&self) -> &'static str {
        match self.actor {
            Actor::Customer { .. } => "customer",
            Actor::Storefront(_) => "publishable",
            _ => self.role.as_str(),
        }
    }
}

/// What a new key is for.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub kind: KeyKind,
    pub name: String,
    pub role: Role,
    /// Only for `Role::Custom`.
    pub scopes: Vec<Scope>,
    pub expires_at: Option<DateTime<Utc>>,
    /// Only for publishable keys, which need at least one.
    pub allowed_origins: Vec<String>,
}

impl NewApiKey {
    /// A secret key with a role (or, for `Role::Custom`, its own scopes).
    pub fn secret(name: String, role: Role, scopes: Vec<Scope>, expires_at: Option<DateTime<Utc>>) -> NewApiKey {
        NewApiKey { kind: KeyKind::Secret, name, role, scopes, expires_at, allowed_origins: Vec::new() }
    }
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

/// A fresh secret: the kind's prefix and the base64url of 32 random bytes.
pub fn new_secret(kind: KeyKind) -> Result<String, getrandom::Error> {
    use base64::Engine;
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(format!("{}{}", kind.prefix(), base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)))
}

/// What is stored of a secret and what it is looked up by.
pub fn secret_hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The last four characters, shown to tell keys apart.
pub fn last_four(secret: &str) -> String {
    secret.chars().rev().take(4).collect::<Vec<_>>().into_iter().rev().collect()
}

/// Whether text could be a key of either kind at all (before any lookup).
pub fn looks_like_key(text: &str) -> bool {
    let random = |prefix: &str| {
        text.len() == prefix.len() + 43
            && text.starts_with(prefix)
            && text[prefix.len()..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    random(KEY_PREFIX) || random(PUBLISHABLE_PREFIX)
}

/// Whether text is a browser origin exactly as browsers send it (`scheme://host[:port]`, no
/// path, no trailing slash, the default port left out).
pub fn is_origin(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.origin().ascii_serialization() == text)
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
        let (a, b) = (new_secret(KeyKind::Secret).unwrap(), new_secret(KeyKind::Secret).unwrap());
        assert_ne!(a, b);
        assert!(looks_like_key(&a), "{a}");
        assert!(!looks_like_key("hcrm_short"));
        assert_eq!(last_four("hcrm_abcdWXYZ"), "WXYZ");
        assert_ne!(secret_hash(&a), secret_hash(&b));
        let publishable = new_secret(KeyKind::Publishable).unwrap();
        assert!(publishable.starts_with("hcrm_pk_") && looks_like_key(&publishable), "{publishable}");
    }

    #[test]
    fn origins_are_taken_only_as_browsers_send_them() {
        assert!(is_origin("https://shop.example.com"));
        assert!(is_origin("http://127.0.0.1:5173"));
        for not in [
            "https://shop.example.com/",
            "https://shop.example.com/store",
            "shop.example.com",
            "https://shop.example.com:443",
            "ftp://shop.example.com",
            "*",
            "null",
            "HTTPS://SHOP.example.com",
        ] {
            assert!(!is_origin(not), "{not}");
        }
    }

    impl Role {
        fn grant_has(self, scope: Scope) -> bool {
            Grant::of(&self.scopes()).allows(scope)
        }
    }
}
