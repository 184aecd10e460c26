//! Test harness: every test gets its own PostgreSQL database (a copy of a migrated template)
//! and its own MongoDB database, so tests run in parallel against the real servers. Helpers
//! reach the stores directly where a test must set up a state the API cannot produce (a lost
//! document, a lock held by another session) and put a cuttable TCP proxy between the app and
//! a store to try outages for real.

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::{test, web};
use diesel::prelude::*;
use hybrid_crm::app::AppState;
use hybrid_crm::config::{AccessSettings, LogFormat, RateLimit, Settings};
use hybrid_crm::domain::ids::ClientId;
use serde_json::Value;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a payment request waits for the sandbox gateway in tests, and how long `tok_slow`
/// takes (longer, so it answers 202).
pub const PAYMENT_SYNC_WAIT_MS: u64 = 400;
pub const SANDBOX_SLOW_MS: u64 = 1_200;

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://crm:crm@127.0.0.1:5432/crm".into())
}

fn mongodb_uri() -> String {
    std::env::var("TEST_MONGODB_URI").unwrap_or_else(|_| "mongodb://127.0.0.1:27017/?directConnection=true".into())
}

fn url_for(database: &str) -> String {
    let admin = admin_url();
    let base = admin.rsplit_once('/').map(|(base, _)| base).unwrap_or(&admin);
    format!("{base}/{database}")
}

/// The template's name changes whenever a migration or the replaceable schema changes, so stale
/// templates are never used.
fn template_name() -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    // The test key is part of the template too.
    TEST_KEY_ID.hash(&mut hasher);
    TEST_KEY.hash(&mut hasher);
    hybrid_crm::store::pg::migrations::REPLACEABLE.hash(&mut hasher);
    // What the binary embeds, beside what is on disk: a build that missed a new migration makes a
    // template of another name rather than a stale one under the current name.
    let embedded = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(
        &hybrid_crm::store::pg::migrations::MIGRATIONS,
    )
    .expect("embedded migrations");
    for migration in embedded {
        migration.name().to_string().hash(&mut hasher);
    }
    let mut entries: Vec<_> = walk(&dir);
    entries.sort();
    for path in entries {
        path.file_name().hash(&mut hasher);
        std::fs::read(&path).unwrap_or_default().hash(&mut hasher);
    }
    format!("crm_test_template_{:016x}", hasher.finish())
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("migrations dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn ensure_template() -> PgConnection {
    let template = template_name();
    let mut admin = PgConnection::establish(&admin_url()).expect("connect to PostgreSQL (run scripts/services.sh up)");
    // One process at a time builds the template; the others wait on the advisory lock.
    diesel::sql_query("SELECT pg_advisory_lock(7262001)").execute(&mut admin).expect("lock");
    #[derive(QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let exists =
        diesel::sql_query(format!("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = '{template}') AS exists"))
            .get_result::<Exists>(&mut admin)
            .expect("template lookup")
            .exists;
    if !exists {
        // Built under another name and renamed when complete, so a run that fails halfway (a
        // migration that does not apply) leaves nothing later runs would take for a template.
        let partial = format!("{template}_partial");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {partial}")).execute(&mut admin).expect("drop partial");
        diesel::sql_query(format!("CREATE DATABASE {partial}")).execute(&mut admin).expect("create template");
        {
            let mut conn = PgConnection::establish(&url_for(&partial)).expect("connect to template");
            hybrid_crm::store::pg::migrations::apply(&mut conn).expect("migrate template");
            install_test_key(&mut conn);
        }
        diesel::sql_query(format!("ALTER DATABASE {partial} RENAME TO {template}"))
            .execute(&mut admin)
            .expect("name the template");
    }
    diesel::sql_query("SELECT pg_advisory_unlock(7262001)").execute(&mut admin).expect("unlock");
    admin
}

/// What seals webhook signing secrets in tests (`WEBHOOK_SECRET_KEY`).
pub const TEST_SEALING_KEY: &str = "the test suite's webhook sealing key, not a secret";

/// The admin key every test database has; requests sent through `send` and `request` carry it
/// unless they set `Authorization` themselves.
pub const TEST_KEY: &str = "hcrm_TestAdminKeyOfTheIntegrationSuite0000000000";
/// Its id: idempotency keys are stored as `<key id>:<Idempotency-Key>`.
pub const TEST_KEY_ID: &str = "00000000-0000-7000-8000-000000000001";

fn install_test_key(conn: &mut PgConnection) {
    use diesel::sql_types::{Bytea, Timestamptz, Uuid as SqlUuid};
    diesel::sql_query(
        "INSERT INTO api_keys (id, name, role, secret_hash, last_four, created_at) VALUES ($1, 'test suite', 'admin', $2, '0000', $3)",
    )
    .bind::<SqlUuid, _>(uuid::Uuid::parse_str(TEST_KEY_ID).expect("uuid"))
    .bind::<Bytea, _>(hybrid_crm::domain::access::secret_hash(TEST_KEY).to_vec())
    .bind::<Timestamptz, _>(chrono::Utc::now())
    .execute(conn)
    .expect("install the test key");
}

/// A new API key of `role` (or, for `Role::Custom`, of `scopes`); its secret.
pub async fn new_key(
    ctx: &TestContext,
    role: hybrid_crm::domain::access::Role,
    scopes: Vec<hybrid_crm::domain::access::Scope>,
) -> String {
    let name: String = format!("{role:?} {scopes:?}").chars().take(100).collect();
    let new = hybrid_crm::domain::access::NewApiKey::secret(name, role, scopes, None);
    hybrid_crm::app::access::create_key(&ctx.state, new).await.expect("key").1
}

/// A new publishable key for `origins`; its secret.
pub async fn new_publishable_key(ctx: &TestContext, origins: &[&str]) -> String {
    let new = hybrid_crm::domain::access::NewApiKey {
        kind: hybrid_crm::domain::access::KeyKind::Publishable,
        name: format!("storefront {origins:?}"),
        role: hybrid_crm::domain::access::Role::Custom,
        scopes: Vec::new(),
        expires_at: None,
        allowed_origins: origins.iter().map(ToString::to_string).collect(),
    };
    hybrid_crm::app::access::create_key(&ctx.state, new).await.expect("publishable key").1
}

/// A password no test guesses and the policy accepts.
pub const STAFF_PASSWORD: &str = "a long test passphrase nobody types";

/// A new staff user of `role` (email `<name>@staff.example.com`), signed in: their id and access
/// token.
pub async fn new_staff(ctx: &TestContext, role: hybrid_crm::domain::access::Role, name: &str) -> (String, String) {
    let new =
        hybrid_crm::domain::users::NewUser { name: name.to_string(), email: format!("{name}@staff.example.com"), role };
    let user = hybrid_crm::app::users::create(&ctx.state, new, STAFF_PASSWORD.into()).await.expect("user");
    let tokens = hybrid_crm::app::auth::sign_in(
        &ctx.state,
        hybrid_crm::domain::auth::Audience::Staff,
        user.email.clone(),
        STAFF_PASSWORD.into(),
        Some("test".into()),
        None,
    )
    .await
    .expect("sign-in");
    (user.id.to_string(), tokens.access_token)
}

/// A new customer (`<name>@customers.example.com`) whose email is verified, signed in to the
/// store: their client's id and access token.
pub async fn new_customer(ctx: &TestContext, name: &str) -> (String, String) {
    let (client, tokens) = new_customer_session(ctx, name).await;
    (client, tokens.access_token)
}

/// A verified customer account for an existing client (signing in with `STAFF_PASSWORD`).
pub async fn attach_account(ctx: &TestContext, client: &str, email: &str) {
    let hash = hybrid_crm::app::auth::hash_password(&ctx.state, "password", STAFF_PASSWORD.into()).await.expect("hash");
    let now = chrono::Utc::now();
    let account = hybrid_crm::domain::customers::CustomerAccount {
        id: hybrid_crm::domain::ids::AccountId::new(),
        client_id: Some(hybrid_crm::domain::ids::ClientId(client.parse().expect("client id"))),
        email: email.to_string(),
        email_verified_at: Some(now),
        active: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    ctx.state
        .db
        .tx(move |conn| Ok(hybrid_crm::store::pg::customers::insert(conn, &account, &hash)?))
        .await
        .expect("account");
}

/// `new_customer`, with all the sign-in's tokens.
pub async fn new_customer_session(ctx: &TestContext, name: &str) -> (String, hybrid_crm::app::auth::Tokens) {
    let email = format!("{name}@customers.example.com");
    let new = hybrid_crm::domain::client::NewClient::b2c(name, &email);
    let client = hybrid_crm::app::clients::create(&ctx.state, new).await.expect("client");
    attach_account(ctx, &client.id.to_string(), &email).await;
    let tokens = hybrid_crm::app::auth::sign_in(
        &ctx.state,
        hybrid_crm::domain::auth::Audience::Customers,
        email,
        STAFF_PASSWORD.into(),
        Some("test".into()),
        None,
    )
    .await
    .expect("sign-in");
    (client.id.to_string(), tokens)
}

pub fn bearer(key: &str) -> String {
    format!("Bearer {key}")
}

/// A test database's name (PostgreSQL and MongoDB): `crm_test_p<pid>_<uuid>`, so a later run can
/// tell which ones a killed run left behind.
fn test_database_name() -> String {
    format!("{LEAVINGS}{}_{}", std::process::id(), uuid::Uuid::now_v7().simple())
}

const LEAVINGS: &str = "crm_test_p";

/// Whether a test database's process is gone. Names of the earlier form (`crm_test_<uuid>`,
/// without a process) are no longer made, so those are left behind too.
fn left_behind(name: &str) -> bool {
    if name
        .strip_prefix("crm_test_")
        .is_some_and(|rest| rest.len() == 32 && rest.chars().all(|c| c.is_ascii_hexdigit()))
    {
        return true;
    }
    let Some(pid) = name.strip_prefix(LEAVINGS).and_then(|rest| rest.split('_').next()) else {
        return false;
    };
    pid.parse::<u32>()
        .is_ok_and(|pid| pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists())
}

/// Drops what runs that were killed left behind: their PostgreSQL and MongoDB test databases
/// (their process is gone), and templates of other migrations no session uses. Runs once per
/// test process, before its first database; returns the names dropped.
pub fn sweep_leftovers() -> Vec<String> {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let mut dropped = Vec::new();
    let Ok(mut admin) = PgConnection::establish(&admin_url()) else {
        return dropped;
    };
    let current = template_name();
    let names: Vec<Name> =
        diesel::sql_query("SELECT datname::text FROM pg_database WHERE datname LIKE 'crm\\_test\\_%'")
            .load(&mut admin)
            .unwrap_or_default();
    for Name { datname } in names {
        let stale_template = datname.starts_with("crm_test_template_") && datname != current;
        // A template another build still copies from has sessions: then it stays (no FORCE).
        let drop = if stale_template {
            format!("DROP DATABASE IF EXISTS {datname}")
        } else if left_behind(&datname) {
            format!("DROP DATABASE IF EXISTS {datname} WITH (FORCE)")
        } else {
            continue;
        };
        if diesel::sql_query(drop).execute(&mut admin).is_ok() {
            dropped.push(datname);
        }
    }
    if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
        runtime.block_on(async {
            let Ok(client) = mongodb::Client::with_uri_str(mongodb_uri()).await else { return };
            let listed = tokio::time::timeout(Duration::from_secs(5), client.list_database_names()).await;
            for name in listed.ok().and_then(Result::ok).unwrap_or_default() {
                if left_behind(&name) && client.database(&name).drop().await.is_ok() {
                    dropped.push(name);
                }
            }
        });
    }
    dropped
}

fn create_database() -> String {
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| {
        let dropped = sweep_leftovers();
        if !dropped.is_empty() {
            eprintln!("dropped {} test databases that killed runs left behind", dropped.len());
        }
    });
    let template = template_name();
    let name = test_database_name();
    let mut admin = ensure_template();
    let mut attempts = 0;
    loop {
        // Copying a template needs it to have no other sessions: retry while one is open.
        match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin) {
            Ok(_) => break,
            Err(err) if attempts < 100 => {
                attempts += 1;
                if attempts % 10 == 0 {
                    eprintln!("retrying test database creation: {err}");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(err) => panic!("create test database: {err}"),
        }
    }
    name
}

/// A new database with no tables (for tests that run migrations step by step); its URL.
pub fn empty_database() -> String {
    let name = test_database_name();
    let mut admin = PgConnection::establish(&admin_url()).expect("admin connection");
    diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create database");
    url_for(&name)
}

/// How the app reaches its stores in a test.
#[derive(Debug, Clone)]
struct Reach {
    mongodb_uri: String,
    mongodb_timeout: Duration,
    pg_url: Option<String>,
    pg_checkout_timeout: Duration,
    smtp_url: Option<String>,
}

pub struct TestContext {
    pub state: AppState,
    pg_database: String,
    mongo_database: String,
    /// Proxies between the app and the stores, when the test cuts them.
    pub pg_proxy: Option<Proxy>,
    pub mongo_proxy: Option<Proxy>,
}

impl TestContext {
    pub async fn new() -> Self {
        Self::build(Reach {
            mongodb_uri: mongodb_uri(),
            mongodb_timeout: Duration::from_secs(5),
            pg_url: None,
            pg_checkout_timeout: Duration::from_secs(10),
            smtp_url: None,
        })
        .await
    }

    /// A context that sends notifications to an SMTP server at `url`.
    pub async fn with_smtp(url: &str) -> Self {
        Self::build(Reach {
            mongodb_uri: mongodb_uri(),
            mongodb_timeout: Duration::from_secs(5),
            pg_url: None,
            pg_checkout_timeout: Duration::from_secs(10),
            smtp_url: Some(url.to_string()),
        })
        .await
    }

    /// A context whose MongoDB is unreachable (nothing listens on the port).
    pub async fn with_mongodb_down() -> Self {
        Self::build(Reach {
            mongodb_uri: "mongodb://127.0.0.1:9/?directConnection=true".into(),
            mongodb_timeout: Duration::from_millis(500),
            pg_url: None,
            pg_checkout_timeout: Duration::from_secs(10),
            smtp_url: None,
        })
        .await
    }

    /// A context that reaches both stores through proxies the test can cut and restore.
    pub async fn behind_proxies() -> Self {
        let pg_proxy = Proxy::start("127.0.0.1:5432".parse().expect("address")).await;
        let mongo_upstream = mongodb_uri()
            .trim_start_matches("mongodb://")
            .split(['/', '?'])
            .next()
            .unwrap_or("127.0.0.1:27017")
            .parse()
            .expect("MongoDB address");
        let mongo_proxy = Proxy::start(mongo_upstream).await;
        let mut ctx = Self::build(Reach {
            mongodb_uri: format!("mongodb://{}/?directConnection=true", mongo_proxy.addr),
            mongodb_timeout: Duration::from_millis(800),
            pg_url: Some(pg_proxy.addr.to_string()),
            pg_checkout_timeout: Duration::from_millis(800),
            smtp_url: None,
        })
        .await;
        ctx.pg_proxy = Some(pg_proxy);
        ctx.mongo_proxy = Some(mongo_proxy);
        ctx
    }

    async fn build(reach: Reach) -> Self {
        let pg_database = tokio::task::spawn_blocking(create_database).await.expect("create database");
        let mongo_database = test_database_name();
        let database_url = match &reach.pg_url {
            Some(host) => url_for(&pg_database).replace("127.0.0.1:5432", host),
            None => url_for(&pg_database),
        };
        let settings = Settings {
            host: "127.0.0.1".into(),
            port: 0,
            database_url,
            pg_pool_size: 8,
            pg_checkout_timeout: reach.pg_checkout_timeout,
            mongodb_uri: reach.mongodb_uri.clone(),
            mongodb_db: mongo_database.clone(),
            mongodb_timeout: reach.mongodb_timeout,
            mongodb_pool_size: 8,
            workers: 1,
            body_limit_bytes: 64 * 1024,
            shutdown_timeout: Duration::from_secs(1),
            log_format: LogFormat::Pretty,
            reconcile_interval: None,
            stats_refresh_interval: None,
            payment_sync_wait: Duration::from_millis(PAYMENT_SYNC_WAIT_MS),
            payment_lease: Duration::from_secs(5),
            // Tests resume stalled sagas themselves (`payments::resume_stalled`).
            payment_worker_interval: None,
            gateway_attempts: 3,
            gateway_timeout: Duration::from_secs(3),
            payment_gateway: hybrid_crm::outside::gateway::GatewayChoice::Sandbox,
            sandbox_slow: Duration::from_millis(SANDBOX_SLOW_MS),
            billing_interval: None,
            rollup_interval: None,
            idempotency_ttl: Duration::from_secs(24 * 3600),
            idempotency_lease: Duration::from_secs(60),
            // Tests publish events and deliver webhooks themselves (`events::publish`,
            // `webhooks::deliver_due`), except where a test starts a server process.
            events_poll_interval: None,
            webhook_poll_interval: None,
            webhook_timeout: Duration::from_secs(2),
            webhook_endpoints_per_key: 1_000,
            webhook_secret_key: Some(TEST_SEALING_KEY.into()),
            webhook_retry_schedule: vec![Duration::from_millis(100); 3],
            webhook_disable_after: Duration::from_secs(3 * 24 * 3600),
            webhook_allow_private: true,
            smtp_url: reach.smtp_url.clone(),
            smtp_from: "Hybrid CRM <no-reply@hybrid-crm.test>".into(),
            smtp_timeout: Duration::from_secs(2),
            // Tests send notifications themselves (`notifications::send_all_due`).
            notify_poll_interval: None,
            notify_retry_schedule: vec![Duration::from_millis(100); 2],
            // Tests relay to NATS themselves (`relay::relay_once`), on a stream of their own.
            nats_url: None,
            nats_stream: "CRM_EVENTS".into(),
            nats_subject_prefix: "crm.events".into(),
            // Concurrency tests send hundreds of requests at once with the test key.
            access: AccessSettings {
                default_rate_limit: RateLimit { per_second: 1_000_000.0, burst: 1_000_000 },
                anonymous_rate_limit: RateLimit { per_second: 1_000_000.0, burst: 1_000_000 },
                key_cache_ttl: Duration::from_secs(1),
                ..AccessSettings::default()
            },
        };
        let state = AppState::from_settings(settings).await.expect("state");
        if reach.mongodb_timeout > Duration::from_millis(600) {
            state.info.ensure_indexes().await.expect("indexes");
        }
        TestContext { state, pg_database, mongo_database, pg_proxy: None, mongo_proxy: None }
    }

    /// The test's PostgreSQL database, as a server process would be given it.
    pub fn database_url(&self) -> String {
        url_for(&self.pg_database)
    }

    /// The MongoDB URI and database, as a server process would be given them.
    pub fn mongodb(&self) -> (String, String) {
        (mongodb_uri(), self.mongo_database.clone())
    }

    pub fn data(&self) -> web::Data<AppState> {
        web::Data::new(self.state.clone())
    }

    /// A PostgreSQL session of the test's own on the test database (not the app's pool).
    pub async fn side_connection(&self) -> SideConnection {
        let url = url_for(&self.pg_database);
        let conn = tokio::task::spawn_blocking(move || PgConnection::establish(&url).expect("side connection"))
            .await
            .expect("connect");
        SideConnection { conn: Arc::new(Mutex::new(conn)) }
    }

    /// Writes a client to PostgreSQL only, as if its document write had been lost.
    pub async fn insert_client_without_document(&self, name: &str, email: &str) -> ClientId {
        let id = ClientId::new();
        let side = self.side_connection().await;
        side.execute(&format!(
            "INSERT INTO clients (id, name, email, kind) VALUES ('{}', '{}', '{}', 'b2c')",
            id.0,
            name.replace('\'', "''"),
            email.replace('\'', "''")
        ))
        .await;
        id
    }

    /// The test's MongoDB collection, reached directly (not through the app).
    pub async fn documents(&self) -> mongodb::Collection<mongodb::bson::Document> {
        let client = mongodb::Client::with_uri_str(mongodb_uri()).await.expect("MongoDB client");
        client.database(&self.mongo_database).collection(hybrid_crm::store::mongo::COLLECTION)
    }

    /// Deletes the client's document outright, as if MongoDB had lost it.
    pub async fn lose_document(&self, id: ClientId) {
        let filter = mongodb::bson::doc! { "client_id": id.to_string() };
        self.documents().await.delete_one(filter).await.expect("delete the document");
    }

    /// Writes a live document for a client id without going through the app (an orphan when no
    /// such client exists).
    pub async fn plant_document(&self, id: ClientId) {
        let document = mongodb::bson::doc! {
            "client_id": id.to_string(), "comments": [], "comments_count": 0_i64,
            "preferences": {}, "attributes": {}, "tags": [], "rev": 0_i64,
        };
        self.documents().await.insert_one(document).await.expect("insert the document");
    }

    /// Every document of the client: live, tombstone, or none.
    pub async fn document_of(&self, id: ClientId) -> Option<mongodb::bson::Document> {
        let filter = mongodb::bson::doc! { "client_id": id.to_string() };
        self.documents().await.find_one(filter).await.expect("find the document")
    }

    /// `client_id`s of live documents, in order.
    pub async fn live_document_ids(&self) -> Vec<String> {
        use futures_util::TryStreamExt;
        let filter = mongodb::bson::doc! { "deleted": { "$ne": true } };
        let cursor =
            self.documents().await.find(filter).sort(mongodb::bson::doc! {"client_id": 1}).await.expect("find");
        let documents: Vec<mongodb::bson::Document> = cursor.try_collect().await.expect("documents");
        documents.iter().filter_map(|d| d.get_str("client_id").ok().map(str::to_string)).collect()
    }
}

impl Drop for TestContext {
    fn drop(&mut self) {
        let pg = self.pg_database.clone();
        let mongo = self.mongo_database.clone();
        // Clean-up runs on its own thread: Drop cannot await, and the test's runtime is ending.
        let _ = std::thread::spawn(move || {
            if let Ok(mut admin) = PgConnection::establish(&admin_url()) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {pg} WITH (FORCE)")).execute(&mut admin);
            }
            if let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                runtime.block_on(async {
                    if let Ok(client) = mongodb::Client::with_uri_str(mongodb_uri()).await {
                        let _ = tokio::time::timeout(Duration::from_secs(5), client.database(&mongo).drop()).await;
                    }
                });
            }
        })
        .join();
    }
}

/// A session of the test's own, for holding locks and uncommitted changes while requests run.
#[derive(Clone)]
pub struct SideConnection {
    conn: Arc<Mutex<PgConnection>>,
}

impl SideConnection {
    pub async fn execute(&self, sql: &str) -> usize {
        let conn = self.conn.clone();
        let sql = sql.to_string();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().expect("side connection");
            diesel::sql_query(&sql).execute(&mut *conn).unwrap_or_else(|err| panic!("{sql}: {err}"))
        })
        .await
        .expect("side statement")
    }

    /// Runs `work` on this session (for the store's own functions, inside a transaction the
    /// test opened with `execute("BEGIN")`).
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce(&mut PgConnection) -> T + Send + 'static) -> T {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || work(&mut conn.lock().expect("side connection"))).await.expect("side work")
    }

    /// How many other sessions of this database wait for a lock now.
    pub async fn sessions_waiting_for_locks(&self) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().expect("side connection");
            // Inside a transaction PostgreSQL answers statistics views from a snapshot taken at
            // their first read; clear it to see sessions as they are now.
            diesel::sql_query("SELECT pg_stat_clear_snapshot()").execute(&mut *conn).expect("clear snapshot");
            diesel::sql_query(
                "SELECT count(*) AS n FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
            )
            .get_result::<Count>(&mut *conn)
            .expect("pg_stat_activity")
            .n
        })
        .await
        .expect("count waiters")
    }

    /// Waits until `n` sessions wait for a lock (the requests under test are blocked where the
    /// test wants them), or `limit` passes; returns whether they did.
    pub async fn until_waiting(&self, n: i64, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if self.sessions_waiting_for_locks().await >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }
}

/// What a proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passage {
    Open,
    /// Drops every connection and refuses new ones, as a stopped server would.
    Cut,
    /// Forwards requests but swallows the answers: the store acts, the caller times out.
    Mute,
}

/// A TCP proxy between the app and a store, whose passage the test sets.
pub struct Proxy {
    pub addr: SocketAddr,
    passage: tokio::sync::watch::Sender<Passage>,
}

impl Proxy {
    /// The proxy runs on a thread and runtime of its own, so it keeps forwarding while the
    /// test's runtime is busy (or blocked, as in `TestContext`'s clean-up).
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("proxy listener");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("proxy address");
        let (passage, watch) = tokio::sync::watch::channel(Passage::Open);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("proxy runtime");
            runtime.block_on(Self::serve(listener, upstream, watch));
        });
        Proxy { addr, passage }
    }

    async fn serve(
        listener: std::net::TcpListener,
        upstream: SocketAddr,
        watch: tokio::sync::watch::Receiver<Passage>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        {
            while let Ok((inbound, _)) = listener.accept().await {
                if *watch.borrow() == Passage::Cut {
                    drop(inbound);
                    continue;
                }
                let watch = watch.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(upstream).await else { return };
                    let (mut client_read, mut client_write) = inbound.into_split();
                    let (mut server_read, mut server_write) = outbound.into_split();
                    let requests = async {
                        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                    };
                    let answers = async {
                        let mut buffer = vec![0u8; 16 * 1024];
                        while let Ok(n) = server_read.read(&mut buffer).await {
                            if n == 0 {
                                break;
                            }
                            if *watch.borrow() == Passage::Mute {
                                continue;
                            }
                            if client_write.write_all(&buffer[..n]).await.is_err() {
                                break;
                            }
                        }
                    };
                    let mut cut = watch.clone();
                    tokio::select! {
                        _ = async { tokio::join!(requests, answers) } => {}
                        _ = cut.wait_for(|passage| *passage == Passage::Cut) => {}
                    }
                });
            }
        }
    }

    pub fn set(&self, passage: Passage) {
        let _ = self.passage.send(passage);
    }
}

/// The application under test, as helpers take it.
pub trait TestApp<B>: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error> {}

impl<S, B> TestApp<B> for S where S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error> {}

/// A response read whole: status, headers and the body as JSON (`Value::Null` when empty).
pub struct Reply {
    pub status: StatusCode,
    pub headers: header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    /// Asserts a problem document with the given status and code, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.body);
        assert_eq!(self.header("content-type").as_deref(), Some("application/problem+json"));
        assert_eq!(self.body["code"], code, "unexpected code; body: {}", self.body);
        assert_eq!(self.body["status"], status);
        &self.body
    }

    /// The field names listed in a validation problem.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// The codes listed in a validation problem.
    pub fn error_codes(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["code"].as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }
}

/// Sends a request with the test key, unless it has an `Authorization` header of its own.
pub async fn send<S: TestApp<B>, B: MessageBody>(app: &S, mut request: Request) -> Reply {
    if !actix_web::HttpMessage::headers(&request).contains_key(header::AUTHORIZATION) {
        let value = header::HeaderValue::from_str(&bearer(TEST_KEY)).expect("header");
        request.headers_mut().insert(header::AUTHORIZATION, value);
    }
    send_as_is(app, request).await
}

/// Sends the request exactly as built (no key unless it has one).
pub async fn send_as_is<S: TestApp<B>, B: MessageBody>(app: &S, request: Request) -> Reply {
    let response = test::call_service(app, request).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Reply { status, headers, body }
}

pub fn get(uri: &str) -> Request {
    test::TestRequest::get().uri(uri).to_request()
}

pub fn delete(uri: &str) -> Request {
    test::TestRequest::delete().uri(uri).to_request()
}

pub fn json(method: Method, uri: &str, body: Value) -> Request {
    test::TestRequest::default().method(method).uri(uri).set_json(body).to_request()
}

/// A JSON request with extra headers (`Idempotency-Key`, `Prefer`).
pub fn json_with(method: Method, uri: &str, body: Value, headers: &[(&str, &str)]) -> Request {
    let mut request = test::TestRequest::default().method(method).uri(uri).set_json(body);
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    request.to_request()
}

pub fn raw(method: Method, uri: &str, content_type: &str, body: impl Into<actix_web::web::Bytes>) -> Request {
    test::TestRequest::default()
        .method(method)
        .uri(uri)
        .insert_header((header::CONTENT_TYPE, content_type))
        .set_payload(body.into())
        .to_request()
}

/// Builds the real application for a context: `let app = app!(ctx);`
#[macro_export]
macro_rules! app {
    ($ctx:expr) => {
        actix_web::test::init_service(hybrid_crm::http::build_app($ctx.data())).await
    };
}

/// A server process on the test's databases, on a free port.
pub struct Server {
    child: Child,
    pub addr: String,
}

impl Server {
    pub async fn start(ctx: &TestContext) -> Server {
        Self::start_with(ctx, &[]).await
    }

    /// A server with settings of the test's own on top of the defaults below.
    pub async fn start_with(ctx: &TestContext, settings: &[(&str, &str)]) -> Server {
        Self::spawn(ctx, settings, Stdio::null()).await
    }

    /// A server whose log (stderr) goes to `log`.
    pub async fn start_logging(ctx: &TestContext, settings: &[(&str, &str)], log: std::fs::File) -> Server {
        Self::spawn(ctx, settings, Stdio::from(log)).await
    }

    async fn spawn(ctx: &TestContext, settings: &[(&str, &str)], stderr: Stdio) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (mongodb_uri, mongodb_db) = ctx.mongodb();
        let child = Command::new(env!("CARGO_BIN_EXE_hybrid-crm"))
            .args(["serve", "--no-migrate"])
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DATABASE_URL", ctx.database_url())
            .env("MONGODB_URI", mongodb_uri)
            .env("MONGODB_DB", mongodb_db)
            .env("RUST_LOG", "warn")
            .env("RECONCILE_INTERVAL_SECS", "0")
            .env("STATS_REFRESH_SECS", "0")
            .env("BILLING_INTERVAL_SECS", "0")
            .env("ROLLUP_INTERVAL_SECS", "0")
            .env("PAYMENT_GATEWAY", "sandbox")
            .env("WEBHOOK_ENDPOINTS_PER_KEY", "1000")
            .env("WEBHOOK_SECRET_KEY", TEST_SEALING_KEY)
            .env("SANDBOX_SLOW_MS", "3000")
            .env("PAYMENT_SYNC_WAIT_MS", "2500")
            .env("GATEWAY_TIMEOUT_MS", "3500")
            .env("PAYMENT_LEASE_MS", "4000")
            .env("IDEMPOTENCY_LEASE_MS", "3000")
            .env("PAYMENT_WORKER_INTERVAL_MS", "200")
            .env("WEBHOOK_ALLOW_PRIVATE", "true")
            .env("RATE_LIMITS", "default=1000000/1000000")
            .env("RATE_LIMIT_ANONYMOUS", "1000000/1000000")
            .env("API_KEY_CACHE_SECS", "1")
            .envs(settings.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start the server");
        let server = Server { child, addr: format!("127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok((200, _, _)) = server.request("GET", "/health/ready", None, &[]).await {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not become ready");
    }

    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> std::io::Result<(u16, String, Value)> {
        request(&self.addr, method, path, body, headers).await
    }

    /// SIGTERM, as an orchestrator stops a server, and waits for it to exit; its exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "SIGTERM not delivered");
        self.child.wait().expect("reap the server")
    }

    /// Sends SIGTERM and returns at once (the server drains meanwhile).
    pub fn terminate(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "SIGTERM not delivered");
    }

    /// The exit status once the process exited, waiting at most `limit`.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `kill -9`: no shutdown, no draining.
    pub fn kill(mut self) {
        self.child.kill().expect("kill the server");
        self.child.wait().expect("reap the server");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on its own connection: (status, head, body).
pub async fn request(
    addr: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String, Value)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // `Authorization: none` sends no key at all.
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("authorization")) {
        head.push_str(&format!("Authorization: {}\r\n", bearer(TEST_KEY)));
    }
    let mut head = head.replace("Authorization: none\r\n", "");
    if !body.is_empty() {
        head.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len()));
    }
    stream.write_all(format!("{head}\r\n{body}").as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, head.to_string(), serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// What a test receiver answers to the next delivery.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Waits this long before answering 200 (longer than the timeout: no answer).
    Hang(Duration),
}

/// One request a test receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string()
    }
}

#[derive(Default)]
struct ReceiverLog {
    received: Mutex<Vec<Received>>,
    script: Mutex<std::collections::VecDeque<Answer>>,
}

/// A local webhook receiver (a real HTTP server on a free loopback port) that records every
/// request and answers as scripted (200 once the script runs out).
pub struct Receiver {
    pub url: String,
    log: Arc<ReceiverLog>,
    handle: actix_web::dev::ServerHandle,
}

impl Receiver {
    pub async fn start(script: &[Answer]) -> Receiver {
        let log = Arc::new(ReceiverLog::default());
        log.script.lock().unwrap().extend(script.iter().copied());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the receiver");
        let url = format!("http://{}/hooks", listener.local_addr().expect("address"));
        let shared = web::Data::from(log.clone());
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new().app_data(shared.clone()).default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Receiver { url, log, handle }
    }

    pub fn received(&self) -> Vec<Received> {
        self.log.received.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived (or `limit` passed); what arrived.
    pub async fn until_received(&self, n: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        while self.received().len() < n && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.received()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::spawn(async move { handle.stop(false).await });
    }
}

async fn receive(
    log: web::Data<ReceiverLog>,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> actix_web::HttpResponse {
    let mut headers = http::HeaderMap::new();
    for (name, value) in req.headers() {
        if let (Ok(name), Ok(value)) =
            (http::HeaderName::from_bytes(name.as_str().as_bytes()), http::HeaderValue::from_bytes(value.as_bytes()))
        {
            headers.append(name, value);
        }
    }
    log.received.lock().unwrap().push(Received { headers, body: body.to_vec() });
    let answer = log.script.lock().unwrap().pop_front().unwrap_or(Answer::Status(200));
    match answer {
        Answer::Status(code) => {
            actix_web::HttpResponse::build(StatusCode::from_u16(code).expect("status")).body("scripted answer")
        }
        Answer::Hang(wait) => {
            tokio::time::sleep(wait).await;
            actix_web::HttpResponse::Ok().finish()
        }
    }
}

/// A message an SMTP sink took.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Default)]
struct SinkState {
    mails: Mutex<Vec<Mail>>,
    /// How many DATA commands to refuse with a transient 451 first.
    refuse: Mutex<usize>,
    /// How many DATA commands to leave unanswered first (a server that hangs).
    hang: Mutex<usize>,
    /// Messages whose data arrived, answered or not.
    received: Mutex<usize>,
}

/// A local SMTP server (plain SMTP on a free loopback port) that keeps every message it takes.
pub struct SmtpSink {
    pub url: String,
    state: Arc<SinkState>,
}

impl SmtpSink {
    /// A sink that refuses the first `refuse` messages with `451` (a transient error).
    pub async fn start(refuse: usize) -> SmtpSink {
        Self::start_with(refuse, 0).await
    }

    /// A sink that leaves the first `hang` messages unanswered, then takes the rest.
    pub async fn hanging(hang: usize) -> SmtpSink {
        Self::start_with(0, hang).await
    }

    async fn start_with(refuse: usize, hang: usize) -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the SMTP sink");
        let url = format!("smtp://{}", listener.local_addr().expect("address"));
        let state = Arc::new(SinkState::default());
        *state.refuse.lock().unwrap() = refuse;
        *state.hang.lock().unwrap() = hang;
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(smtp_session(stream, shared.clone()));
            }
        });
        SmtpSink { url, state }
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.state.mails.lock().unwrap().clone()
    }

    /// Messages whose data arrived (taken, refused or left hanging).
    pub fn received(&self) -> usize {
        *self.state.received.lock().unwrap()
    }
}

async fn smtp_session(stream: tokio::net::TcpStream, state: Arc<SinkState>) -> std::io::Result<()> {
    use tokio::io::AsyncBufReadExt;
    let (read, mut write) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(read).lines();
    write.write_all(b"220 sink.test ESMTP\r\n").await?;
    let mut to = Vec::new();
    while let Some(line) = lines.next_line().await? {
        let command = line.to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") || command.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if command.starts_with("MAIL FROM") {
            to.clear();
            b"250 OK\r\n"
        } else if command.starts_with("RCPT TO") {
            to.push(line[8..].trim().trim_start_matches(':').trim().trim_matches(['<', '>']).to_string());
            b"250 OK\r\n"
        } else if command == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                data.push_str(&line);
                data.push('\n');
            }
            *state.received.lock().unwrap() += 1;
            let hang = {
                let mut left = state.hang.lock().unwrap();
                let hang = *left > 0;
                *left = left.saturating_sub(1);
                hang
            };
            if hang {
                tokio::time::sleep(Duration::from_secs(60)).await;
                return Ok(());
            }
            let refuse = {
                let mut left = state.refuse.lock().unwrap();
                let refuse = *left > 0;
                *left = left.saturating_sub(1);
                refuse
            };
            if refuse {
                b"451 4.3.0 try again later\r\n"
            } else {
                state.mails.lock().unwrap().push(Mail { to: to.clone(), data });
                b"250 OK queued\r\n"
            }
        } else if command == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"250 OK\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}
