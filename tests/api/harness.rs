//! Test harness: every test gets its own PostgreSQL database (a copy of a migrated template)
//! and its own MongoDB database, so tests run in parallel against the real servers.

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::{test, web};
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use hybrid_crm::app::AppState;
use hybrid_crm::config::{LogFormat, Settings};
use hybrid_crm::domain::ids::ClientId;
use serde_json::Value;
use std::time::Duration;

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

/// The template's name changes whenever a migration changes, so stale templates are never used.
fn template_name() -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
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

fn create_database() -> String {
    let template = template_name();
    let name = format!("crm_test_{}", uuid::Uuid::new_v4().simple());
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
        diesel::sql_query(format!("CREATE DATABASE {template}")).execute(&mut admin).expect("create template");
        let mut conn = PgConnection::establish(&url_for(&template)).expect("connect to template");
        conn.run_pending_migrations(hybrid_crm::store::pg::MIGRATIONS).expect("migrate template");
    }
    let mut attempts = 0;
    loop {
        match diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut admin) {
            Ok(_) => break,
            Err(err) if attempts < 50 => {
                attempts += 1;
                eprintln!("retrying test database creation: {err}");
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(err) => panic!("create test database: {err}"),
        }
    }
    diesel::sql_query("SELECT pg_advisory_unlock(7262001)").execute(&mut admin).expect("unlock");
    name
}

pub struct TestContext {
    pub state: AppState,
    pg_database: String,
    mongo_database: String,
}

impl TestContext {
    pub async fn new() -> Self {
        Self::with_mongodb(&mongodb_uri(), Duration::from_secs(5)).await
    }

    /// A context whose MongoDB is unreachable (nothing listens on the port).
    pub async fn with_mongodb_down() -> Self {
        Self::with_mongodb("mongodb://127.0.0.1:9/?directConnection=true", Duration::from_millis(500)).await
    }

    async fn with_mongodb(uri: &str, timeout: Duration) -> Self {
        let pg_database = tokio::task::spawn_blocking(create_database).await.expect("create database");
        let mongo_database = format!("crm_test_{}", uuid::Uuid::new_v4().simple());
        let settings = Settings {
            host: "127.0.0.1".into(),
            port: 0,
            database_url: url_for(&pg_database),
            pg_pool_size: 8,
            pg_checkout_timeout: Duration::from_secs(10),
            mongodb_uri: uri.into(),
            mongodb_db: mongo_database.clone(),
            mongodb_timeout: timeout,
            mongodb_pool_size: 8,
            workers: 1,
            body_limit_bytes: 64 * 1024,
            shutdown_timeout: Duration::from_secs(1),
            log_format: LogFormat::Pretty,
        };
        let state = AppState::from_settings(settings).await.expect("state");
        if timeout > Duration::from_secs(1) {
            state.info.ensure_indexes().await.expect("indexes");
        }
        TestContext { state, pg_database, mongo_database }
    }

    /// Writes a client to PostgreSQL only, as if its document write had been lost.
    pub async fn insert_client_without_document(&self, name: &'static str, email: &'static str) -> ClientId {
        let id = ClientId::new();
        self.state
            .db
            .run(move |conn| {
                let new = hybrid_crm::store::pg::models::NewClient {
                    id: id.0,
                    name,
                    email,
                    phone: None,
                    kind: "b2c",
                    company_id: None,
                    plan: "basic",
                    plan_status: "active",
                    active: true,
                };
                hybrid_crm::store::pg::clients::insert(conn, &new, &[])
                    .map(|_| ())
                    .map_err(hybrid_crm::app::AppError::from)
            })
            .await
            .expect("insert client");
        id
    }

    pub fn data(&self) -> web::Data<AppState> {
        web::Data::new(self.state.clone())
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
}

pub async fn send<S, B>(app: &S, request: Request) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
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
