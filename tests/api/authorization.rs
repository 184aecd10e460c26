//! Authorization decided on the operation the router matched, tried as an attacker would: every
//! operation of the spec under other spellings of its path, the access layer taken away, paths
//! that match no operation, and the two requests of the security review verbatim against a
//! server process.

use crate::harness::{bearer, send_as_is, Server, TestContext, TEST_KEY};
use crate::outages::sample;
use actix_web::http::{header, Method};
use actix_web::test::TestRequest;
use hybrid_crm::app::access;
use hybrid_crm::domain::access::Role;
use hybrid_crm::http::access::{declared_requirement, Requirement};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Every table's row count and the number of MongoDB documents: what "nothing was written" means.
/// The audit log is left out: refused writes are audited (see `only_refusals_were_audited`).
async fn everything_stored(ctx: &TestContext) -> BTreeMap<String, i64> {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rows: i64,
    }
    let side = ctx.side_connection().await;
    let counts = side
        .run(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query(
                "SELECT table_name::text AS name, \
                 (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', table_name), false, true, '')))[1]::text::bigint AS rows \
                 FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
                 AND table_name NOT IN ('__diesel_schema_migrations', 'audit_log')",
            )
            .load::<Count>(conn)
            .expect("row counts")
        })
        .await;
    let mut stored: BTreeMap<String, i64> = counts.into_iter().map(|c| (c.name, c.rows)).collect();
    let documents = ctx.documents().await.count_documents(mongodb::bson::doc! {}).await.expect("documents");
    stored.insert("mongodb client_info".into(), documents as i64);
    stored
}

/// Every audit entry is a refusal (once the pending outcomes are written).
async fn only_refusals_were_audited(ctx: &TestContext) {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let side = ctx.side_connection().await;
    let others = side
        .run(|conn| {
            use diesel::RunQueryDsl;
            // The test's own read of the audit log is recorded too (a 200).
            diesel::sql_query(
                "SELECT count(*) AS n FROM audit_log WHERE status IS DISTINCT FROM 403 AND operation_id <> 'list_audit_log'",
            )
                .get_result::<Count>(conn)
                .expect("audit count")
                .n
        })
        .await;
    assert_eq!(others, 0, "an audit entry that is not a refusal");
}

/// The spec's operations under `/api/v1`: method, template, a path with fresh ids, a body its
/// schema accepts, and what it declares callers need.
pub(crate) fn api_operations(spec: &Value) -> Vec<(Method, String, String, Option<Value>, Requirement)> {
    let mut out = Vec::new();
    for (template, item) in spec["paths"].as_object().expect("paths") {
        if !template.starts_with("/api/v1/") {
            continue;
        }
        for (method, operation) in item.as_object().expect("path item") {
            let path = template
                .split('/')
                .map(|s| if s.starts_with('{') { uuid::Uuid::now_v7().to_string() } else { s.to_string() })
                .collect::<Vec<_>>()
                .join("/");
            let body = operation["requestBody"]["content"]
                .as_object()
                .and_then(|content| content.values().next())
                .map(|media| sample(spec, &media["schema"]));
            let requirement = declared_requirement(operation);
            assert_ne!(requirement, Requirement::Undeclared, "{method} {template} declares no requirement");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            out.push((method, template.clone(), path, body, requirement));
        }
    }
    out
}

fn escape(byte: u8, upper: bool) -> String {
    if upper {
        format!("%{byte:02X}")
    } else {
        format!("%{byte:02x}")
    }
}

/// The other ways a client or proxy may write `path`: each character after the leading slash
/// percent-escaped in turn,
/// the whole path escaped with upper-case and lower-case hex, dot segments, doubled slashes and a
/// trailing slash.
fn spellings(path: &str) -> Vec<String> {
    let bytes = path.as_bytes();
    // The leading slash stays: a request target without one is not a path (HTTP parsers refuse it).
    let mut out: Vec<String> =
        (1..bytes.len()).map(|i| format!("{}{}{}", &path[..i], escape(bytes[i], false), &path[i + 1..])).collect();
    for upper in [true, false] {
        out.push(bytes.iter().map(|&b| if b == b'/' { "/".to_string() } else { escape(b, upper) }).collect());
    }
    let rest = path.trim_start_matches("/api/v1");
    out.extend([
        format!("/api/v1/.{rest}"),
        format!("/api/v1/%2e{rest}"),
        format!("/api/v1/%2E{rest}"),
        format!("/api/v1/clients/..{rest}"),
        format!("/api/v1/x/%2e%2e{rest}"),
        format!("/api/v2/../v1{rest}"),
        format!("/{}", path[1..].replace('/', "//")),
        format!("{path}/"),
        format!("{path}//"),
        format!("/{}", path[1..].replacen('/', "%2F", 2)),
    ]);
    out
}

fn request(method: &Method, uri: &str, body: &Option<Value>, key: Option<&str>) -> actix_http::Request {
    assert!(uri.parse::<http::Uri>().is_ok(), "{uri} is not a request target");
    let mut request = TestRequest::default().method(method.clone()).uri(uri);
    if let Some(key) = key {
        request = request.insert_header((header::AUTHORIZATION, bearer(key)));
    }
    if *method == Method::POST {
        request = request.insert_header(("idempotency-key", uuid::Uuid::now_v7().to_string()));
    }
    if let Some(body) = body {
        request = request.set_json(body);
    }
    request.to_request()
}

/// A key that holds one scope only.
async fn key_with(ctx: &TestContext, scope: &str) -> String {
    crate::harness::new_key(ctx, Role::Custom, vec![scope.parse().expect("scope")]).await
}

#[actix_web::test]
async fn every_operation_under_every_spelling_of_its_path_needs_a_key_and_its_scope() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let spec = hybrid_crm::http::openapi();
    let catalog_reader = key_with(&ctx, "catalog:read").await;
    let clients_reader = key_with(&ctx, "clients:read").await;
    // A staff user of the narrowest role: its token lacks every scope `readonly` does not grant.
    let (_, readonly_staff) = crate::harness::new_staff(&ctx, Role::Readonly, "spellings").await;
    let readonly = hybrid_crm::domain::access::Grant::of(&Role::Readonly.scopes());
    let before = everything_stored(&ctx).await;
    let mut tried = 0;
    for (method, template, path, body, requirement) in api_operations(&spec) {
        let scope = match requirement {
            Requirement::Scope(scope) => Some(scope),
            Requirement::SignedIn | Requirement::Customer => None,
            // The catalog reads only `X-Publishable-Key`: a bearer key of any scope is no
            // credential there, under any spelling.
            Requirement::Storefront => {
                for uri in spellings(&path) {
                    for key in [None, Some(catalog_reader.as_str())] {
                        let reply = send_as_is(&app, request(&method, &uri, &body, key)).await;
                        assert_eq!(reply.status, 401, "{method} {uri} ({template}): {}", reply.body);
                        assert_eq!(reply.body["code"], "unauthenticated", "{method} {uri}");
                        tried += 1;
                    }
                }
                continue;
            }
            // Signing in is open to anyone (and counts failures): `auth.rs` tries it.
            Requirement::Public | Requirement::Undeclared => continue,
        };
        let lacking =
            if scope.is_some_and(|s| s.to_string() == "catalog:read") { &clients_reader } else { &catalog_reader };
        for uri in spellings(&path) {
            let anonymous = send_as_is(&app, request(&method, &uri, &body, None)).await;
            assert_eq!(anonymous.status, 401, "{method} {uri} ({template}) without a key: {}", anonymous.body);
            assert_eq!(anonymous.body["code"], "unauthenticated", "{method} {uri}");
            let refused = send_as_is(&app, request(&method, &uri, &body, Some(lacking))).await;
            assert_eq!(refused.status, 403, "{method} {uri} ({template}) with a key lacking it: {}", refused.body);
            assert_eq!(
                refused.body["details"]["required_scope"],
                scope.map_or(Value::Null, |s| Value::String(s.to_string())),
                "{method} {uri}"
            );
            assert_eq!(refused.header("cache-control").as_deref(), Some("no-store"), "{method} {uri}");
            assert!(refused.header("ratelimit-remaining").is_some(), "{method} {uri}: the key's limit was charged");
            tried += 2;
            if let Some(scope) = scope.filter(|s| !readonly.allows(*s)) {
                let refused = send_as_is(&app, request(&method, &uri, &body, Some(&readonly_staff))).await;
                assert_eq!(
                    refused.status, 403,
                    "{method} {uri} ({template}) with a readonly staff token: {}",
                    refused.body
                );
                assert_eq!(refused.body["details"]["required_scope"], scope.to_string(), "{method} {uri}");
                tried += 1;
            }
        }
    }
    assert!(tried > 5_000, "{tried} requests");
    let after = everything_stored(&ctx).await;
    assert_eq!(before, after, "a refused request wrote something");
    access::write_audit_outcomes(&ctx.state).await.expect("audit outcomes");
    only_refusals_were_audited(&ctx).await;
}

#[actix_web::test]
async fn the_review_s_requests_verbatim_are_refused_by_a_server_process_and_mint_no_key() {
    let ctx = TestContext::new().await;
    let low = key_with(&ctx, "catalog:read").await;
    let server = Server::start(&ctx).await;
    let before = everything_stored(&ctx).await;
    let admin = json!({"name": "x", "role": "admin"});
    let none = [("Authorization", "none")];
    let low_header = bearer(&low);
    let low = [("Authorization", low_header.as_str())];
    for (method, path, body, headers, status) in [
        ("POST", "/%61pi/v1/api-keys", Some(&admin), &none, 401),
        ("GET", "/%61pi/v1/clients", None, &none, 401),
        ("GET", "/api/%761/audit-log", None, &none, 401),
        ("GET", "/a%70i/v1/clients?limit=100", None, &none, 401),
        ("POST", "/api/v1/api-k%65ys", Some(&admin), &low, 403),
        ("GET", "/api/v1/api-k%65ys", None, &low, 403),
        ("POST", "/api/v1/p%61yments", Some(&json!({})), &low, 403),
        ("POST", "/api//v1/./api-keys/", Some(&admin), &low, 403),
    ] {
        let (got, head, reply) = server.request(method, path, body, headers).await.expect("request");
        assert_eq!(got, status, "{method} {path}: {reply}");
        assert!(reply.get("key").is_none(), "{method} {path} answered a key: {reply}");
        assert!(head.to_ascii_lowercase().contains("cache-control: no-store"), "{method} {path}: {head}");
    }
    assert_eq!(everything_stored(&ctx).await, before, "nothing was written, no key was minted");
    // Reading the audit log writes the server's pending outcomes first.
    let (status, _, _) = server.request("GET", "/api/v1/audit-log", None, &[]).await.expect("audit log");
    assert_eq!(status, 200);
    only_refusals_were_audited(&ctx).await;
}

#[actix_web::test]
async fn a_handler_mounted_without_the_access_layer_refuses_even_an_admin_key() {
    use actix_web::App;
    use utoipa_actix_web::{scope, AppExt};
    let ctx = TestContext::new().await;
    let spec = hybrid_crm::http::openapi();
    let operations = hybrid_crm::http::access::Operations::from_document(&spec);
    // The API's handlers alone: the state they need, and no access middleware.
    let bare = App::new()
        .into_utoipa_app()
        .app_data(ctx.data())
        .app_data(actix_web::web::Data::new(operations))
        .service(scope::scope("/api/v1").configure(hybrid_crm::http::v1::routes))
        .into_app();
    let app = actix_web::test::init_service(bare).await;
    let before = everything_stored(&ctx).await;
    let mut tried = 0;
    for (method, template, path, body, _) in api_operations(&spec) {
        let reply = send_as_is(&app, request(&method, &path, &body, Some(TEST_KEY))).await;
        assert_eq!(reply.status, 401, "{method} {template} ran without the access layer: {}", reply.body);
        assert_eq!(reply.body["code"], "unauthenticated", "{method} {template}");
        tried += 1;
    }
    assert!(tried > 90, "{tried} operations");
    assert_eq!(everything_stored(&ctx).await, before, "a handler wrote without the access layer");
}

#[actix_web::test]
async fn a_path_under_the_api_that_matches_no_operation_is_answered_by_the_access_layer() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    for uri in ["/api/v1/nothing-here", "/api/v1", "/api/v1/clients/x/y/z", "/%61pi/v1/nothing", "/api/v1/clients%00"] {
        let anonymous = send_as_is(&app, request(&Method::GET, uri, &None, None)).await;
        assert_eq!(anonymous.status, 401, "{uri}: {}", anonymous.body);
        let known = send_as_is(&app, request(&Method::GET, uri, &None, Some(TEST_KEY))).await;
        assert_eq!(known.status, 404, "{uri}: {}", known.body);
        assert_eq!(known.body["code"], "route_not_found");
    }
    let wrong_method = send_as_is(&app, request(&Method::PUT, "/api/v1/clients", &None, Some(TEST_KEY))).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow").as_deref(), Some("GET, POST"));
    let anonymous = send_as_is(&app, request(&Method::PUT, "/api/v1/clients", &None, None)).await;
    assert_eq!(anonymous.status, 401, "the method is not revealed before the key");
    // Outside the API the fallback still answers.
    let page = send_as_is(&app, request(&Method::GET, "/nothing", &None, None)).await;
    assert_eq!(page.status, 404);
}
