//! Store outages tried for real: a proxy between the app and each store is cut while requests
//! run, then restored, without touching the machine's servers.

use crate::harness::{get, send, Passage, TestContext};
use crate::{app, create_client, post};
use actix_http::Request;
use actix_web::http::Method;
use actix_web::test::TestRequest;
use futures_util::future::join_all;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};

/// A value the schema accepts: its example, else one made from its type and format.
pub(crate) fn sample(spec: &Value, schema: &Value) -> Value {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap_or_default();
        return sample(spec, &spec["components"]["schemas"][name]);
    }
    if let Some(example) = schema.get("example").or_else(|| schema["examples"].get(0)) {
        return example.clone();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(first) = schema[key].as_array().and_then(|options| options.iter().find(|o| o["type"] != "null")) {
            return sample(spec, first);
        }
    }
    if let Some(values) = schema["enum"].as_array() {
        return values[0].clone();
    }
    let kind = match &schema["type"] {
        Value::Array(types) => types.iter().find(|t| *t != "null").cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    match (kind.as_str(), schema["format"].as_str()) {
        (Some("string"), Some("uuid")) => json!(uuid::Uuid::now_v7()),
        (Some("string"), Some("date-time")) => json!("2099-01-01T00:00:00Z"),
        (Some("string"), Some("email")) => json!(format!("{}@example.com", uuid::Uuid::now_v7().simple())),
        (Some("string"), _) => json!("sample"),
        (Some("integer"), _) => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        (Some("number"), _) => json!(1),
        (Some("boolean"), _) => json!(true),
        (Some("array"), _) => {
            let count = schema["minItems"].as_u64().unwrap_or(0);
            Value::Array((0..count).map(|_| sample(spec, &schema["items"])).collect())
        }
        _ => {
            let mut object = Map::new();
            let required: Vec<&str> =
                schema["required"].as_array().into_iter().flatten().filter_map(|r| r.as_str()).collect();
            // Required properties, and optional ones the spec gives an example of (which keeps
            // rules across fields, such as an in-person workshop's location, satisfied).
            for (name, property) in schema["properties"].as_object().into_iter().flatten() {
                let exemplified = property.get("example").is_some() || property.get("examples").is_some();
                if required.contains(&name.as_str()) || exemplified {
                    object.insert(name.clone(), sample(spec, property));
                }
            }
            Value::Object(object)
        }
    }
}

/// One request per operation of the spec, with fresh ids and a body its schema accepts; the
/// operations on one's own account carry the staff access token `staff`, the store's the
/// customer's `customer`, the storefront's catalog the publishable key `publishable`.
fn every_operation(staff: &str, customer: &str, publishable: &str) -> Vec<(String, Request)> {
    let spec = hybrid_crm::http::openapi();
    let mut requests = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let uri = path
                .split('/')
                .map(
                    |segment| {
                        if segment.starts_with('{') {
                            uuid::Uuid::now_v7().to_string()
                        } else {
                            segment.to_string()
                        }
                    },
                )
                .collect::<Vec<_>>()
                .join("/");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut request = TestRequest::default().method(method.clone()).uri(&uri);
            use hybrid_crm::http::access::{declared_requirement, Requirement};
            let token = match declared_requirement(operation) {
                Requirement::SignedIn => Some(staff),
                Requirement::Customer => Some(customer),
                _ => None,
            };
            if let Some(token) = token {
                request = request.insert_header(("authorization", crate::harness::bearer(token)));
            }
            if declared_requirement(operation) == Requirement::Storefront {
                request = request.insert_header(("x-publishable-key", publishable));
            }
            if method == Method::POST {
                // As the spec documents (required on payments and refunds).
                request = request.insert_header(("idempotency-key", uuid::Uuid::now_v7().to_string()));
            }
            let body = &operation["requestBody"]["content"];
            if let Some((content_type, media)) = body.as_object().and_then(|content| content.iter().next()) {
                let value = sample(&spec, &media["schema"]);
                request = request.insert_header(("content-type", content_type.as_str())).set_payload(value.to_string());
            }
            requests.push((format!("{method} {path}"), request.to_request()));
        }
    }
    requests
}

#[actix_web::test]
async fn with_postgresql_cut_every_route_answers_503_in_time_and_recovers_when_it_is_back() {
    let ctx = TestContext::behind_proxies().await;
    let app = app!(ctx);
    // Pooled connections exist (and will be broken by the cut), as in a server that has served.
    let client = create_client(&app, "Before", "before@example.com").await;
    let (_, staff) = crate::harness::new_staff(&ctx, hybrid_crm::domain::access::Role::Support, "outage").await;
    let (_, customer) = crate::harness::new_customer(&ctx, "outage").await;
    let publishable = crate::harness::new_publishable_key(&ctx, &["https://shop.example.com"]).await;
    // Looked up once, as a storefront in use has been: the key is known when PostgreSQL goes.
    let browsed =
        TestRequest::get().uri("/api/v1/store/categories").insert_header(("x-publishable-key", publishable.as_str()));
    assert_eq!(send(&app, browsed.to_request()).await.status, 200);
    let pg = ctx.pg_proxy.as_ref().unwrap();
    pg.set(Passage::Cut);

    let started = Instant::now();
    let replies = join_all(every_operation(&staff, &customer, &publishable).into_iter().map(|(what, request)| {
        let app = &app;
        async move {
            let begun = Instant::now();
            let reply = send(app, request).await;
            (what, reply, begun.elapsed())
        }
    }))
    .await;
    let mut store_bound = 0;
    for (what, reply, took) in &replies {
        assert!(reply.status.as_u16() < 500 || reply.status == 503, "{what} answered {}: {}", reply.status, reply.body);
        assert!(*took < Duration::from_secs(5), "{what} took {took:?}");
        match what.as_str() {
            "GET /health/live" | "GET /metrics" | "GET /dashboard" => assert_eq!(reply.status, 200),
            // The file name here is a random id: no such file, and no store asked.
            "GET /dashboard/assets/{file}" => {
                reply.problem(404, "route_not_found");
            }
            "GET /health/ready" => assert_eq!(reply.body["stores"][0]["status"], "down"),
            _ => {
                reply.problem(503, "store_unavailable");
                assert_eq!(reply.header("retry-after").as_deref(), Some("5"), "{what}");
                store_bound += 1;
            }
        }
    }
    assert_eq!(store_bound, replies.len() - 5, "every API route needs PostgreSQL");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?} for all", started.elapsed());

    pg.set(Passage::Open);

    // The first request after the outage may meet one more broken connection; the pool drops
    // it, checks its older connections, and the next request is served.
    let mut recovered = false;
    for _ in 0..5 {
        let reply = send(&app, get(&format!("/api/v1/clients/{client}"))).await;
        assert!(reply.status == 200 || reply.status == 503, "{}", reply.body);
        if reply.status == 200 {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "PostgreSQL is served again without a restart");
    let list = send(&app, get("/api/v1/clients")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(send(&app, get("/health/ready")).await.status, 200);
}

#[actix_web::test]
async fn with_mongodb_cut_the_view_degrades_in_time_and_recovers_when_it_is_back() {
    let ctx = TestContext::behind_proxies().await;
    let app = app!(ctx);
    let created = post(
        &app,
        "/api/v1/clients",
        json!({"name": "Ada", "email": "ada@example.com", "kind": "b2c", "preferences": {"language": "en"}}),
    )
    .await;
    let client = created.body["id"].as_str().unwrap().to_string();
    let mongo = ctx.mongo_proxy.as_ref().unwrap();
    mongo.set(Passage::Cut);

    let began = Instant::now();
    let view = send(&app, get(&format!("/api/v1/clients/{client}/view"))).await;
    assert!(began.elapsed() < Duration::from_secs(3), "answered within the MongoDB timeout: {:?}", began.elapsed());
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.body["info_status"], "unavailable");
    assert_eq!(view.body["degraded"]["missing"], json!(["info"]));
    assert_eq!(view.body["client"]["name"], "Ada", "PostgreSQL's part is still there");
    let comment = post(&app, &format!("/api/v1/clients/{client}/comments"), json!({"text": "while down"})).await;
    comment.problem(503, "store_unavailable");
    assert_eq!(send(&app, get("/health/ready")).await.body["stores"][1]["status"], "down");
    let other = post(&app, "/api/v1/clients", json!({"name": "Bo", "email": "bo@example.com", "kind": "b2c"})).await;
    other.problem(503, "store_unavailable");

    mongo.set(Passage::Open);
    let mut recovered = Value::Null;
    for _ in 0..20 {
        let view = send(&app, get(&format!("/api/v1/clients/{client}/view"))).await;
        if view.body["info_status"] == "present" {
            recovered = view.body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(recovered["info"]["preferences"], json!({"language": "en"}), "the view recovers: {recovered}");
    assert_eq!(recovered["degraded"], Value::Null);
    let listed = send(&app, get("/api/v1/clients")).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1, "the refused create left no client behind");
}
