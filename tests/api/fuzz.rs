//! Crafted and random cursors for every list, and timestamps PostgreSQL cannot store in every
//! query and body that takes one: the answer is always a 4xx problem (or a page), never a 500.
//! The lists and timestamp fields come from the spec, so a new list or timestamp is covered
//! without touching this test.

use crate::harness::{get, json, send, Reply, TestContext};
use crate::{app, create_client, create_interest};
use actix_web::http::Method;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hybrid_crm::app::seed::Rng;
use serde_json::{json, Value};

/// Random text and JSON from the seeder's deterministic generator, so a failure reproduces.
fn text(rng: &mut Rng) -> String {
    const PIECES: &[&str] =
        &["a", "Z", "\u{0}", "é", "😀", "'", "\"", "\\", "%", "_", "-", " ", "1", "9999", "T", ":", "\u{7f}"];
    (0..rng.below(12)).map(|_| PIECES[rng.below(PIECES.len())]).collect()
}

fn value(rng: &mut Rng, depth: u32) -> Value {
    match rng.below(if depth > 2 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => json!(rng.next_u64() as i64),
        3 => json!(f64::from_bits(rng.next_u64() >> 2)),
        4 | 5 => json!(text(rng)),
        6 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth + 1)).collect()),
        _ => {
            let keys = ["k", "v", "id", "at", "n", "c", "p"];
            Value::Object(
                (0..rng.below(4)).map(|_| (keys[rng.below(keys.len())].to_string(), value(rng, depth + 1))).collect(),
            )
        }
    }
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Hand-made cursors in the shape of the API's own, with what a crafted one might hold.
fn crafted_cursors() -> Vec<String> {
    let id = uuid::Uuid::now_v7();
    let mut cursors: Vec<String> = [
        json!({"k": "n", "v": "a\u{0}b", "id": id}),
        json!({"k": "c", "v": "-10000-01-01T00:00:00Z", "id": id}),
        json!({"k": "c", "v": "300000-01-01T00:00:00Z", "id": id}),
        json!({"k": "c", "v": "9999-12-31T23:59:59-01:00", "id": id}),
        json!({"k": "c", "v": "2026-01-01T00:00:00Z", "id": "not-a-uuid"}),
        json!({"k": "p", "v": "1e400", "id": id}),
        json!({"k": "p", "v": "NaN", "id": id}),
        json!({"k": "p", "v": "-99999999999999999999999999999", "id": id}),
        json!({"at": "-10000-01-01T00:00:00Z", "id": id}),
        json!({"at": "2026-01-01T00:00:00Z", "id": id, "extra": "\u{0}"}),
        json!({"k": "x"}),
        json!("\u{0}"),
        json!(id),
        json!([id, 1]),
        json!(null),
    ]
    .iter()
    .map(encode)
    .collect();
    cursors.extend(["", "!!!", "a", "%00", "\u{0}", &"A".repeat(5_000)].map(str::to_string));
    cursors
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[track_caller]
fn assert_client_error(reply: &Reply, what: &str) {
    assert!(reply.status.as_u16() < 500, "{what} answered {}: {}", reply.status, reply.body);
    if reply.status.as_u16() >= 400 {
        assert_eq!(reply.header("content-type").as_deref(), Some("application/problem+json"), "{what}");
    }
}

#[actix_web::test]
async fn crafted_and_random_cursors_never_give_a_500_on_any_list() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Fuzz", "fuzz@example.com").await;
    let product =
        send(&app, json(Method::POST, "/api/v1/products", json!({"name": "Fuzz kit", "price": "1.00"}))).await;
    let product = product.body["id"].as_str().unwrap().to_string();

    let spec = hybrid_crm::http::openapi();
    let mut lists = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let Some(get_op) = item.get("get") else { continue };
        let params = get_op["parameters"].as_array().cloned().unwrap_or_default();
        if !params.iter().any(|p| p["name"] == "cursor" && p["in"] == "query") {
            continue;
        }
        // Every value of a `sort` enum, so each sort's cursor shape is tried.
        let sorts: Vec<String> = params
            .iter()
            .find(|p| p["name"] == "sort")
            .and_then(|p| p["schema"]["enum"].as_array().or_else(|| p["schema"]["oneOf"][0]["enum"].as_array()))
            .map(|values| values.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let path = path
            .replace("/clients/{id}", &format!("/clients/{client}"))
            .replace("/products/{id}", &format!("/products/{product}"));
        lists.push((path, sorts));
    }
    assert!(lists.len() >= 11, "every list of the spec is tried: {lists:?}");

    let mut rng = Rng(0xF022);
    let mut cursors = crafted_cursors();
    cursors.extend((0..60).map(|_| encode(&value(&mut rng, 0))));
    cursors.extend((0..20).map(|_| {
        let bytes: Vec<u8> = (0..rng.below(64)).map(|_| rng.next_u64() as u8).collect();
        URL_SAFE_NO_PAD.encode(bytes)
    }));
    let mut tried = 0;
    for (path, sorts) in &lists {
        let sorts: Vec<Option<&String>> = if sorts.is_empty() { vec![None] } else { sorts.iter().map(Some).collect() };
        for sort in sorts {
            for cursor in &cursors {
                let sort = sort.map(|s| format!("&sort={}", percent_encode(s))).unwrap_or_default();
                let uri = format!("{path}?cursor={}{sort}", percent_encode(cursor));
                let reply = send(&app, get(&uri)).await;
                assert_client_error(&reply, &uri);
                tried += 1;
            }
        }
    }
    assert!(tried > 1_000, "{tried} requests");
}

/// Values that are not storable timestamps, and what each must be refused as.
fn unstorable_timestamps() -> Vec<(Value, &'static str)> {
    vec![
        (json!("-10000-01-01T00:00:00Z"), "out_of_range"),
        (json!("300000-01-01T00:00:00Z"), "out_of_range"),
        (json!("+12345-06-01T00:00:00Z"), "out_of_range"),
        (json!("0000-06-01T00:00:00Z"), "out_of_range"),
        (json!("9999-12-31T23:59:59-01:00"), "out_of_range"),
        (json!("0001-01-01T00:00:00+01:00"), "out_of_range"),
        (json!("yesterday"), "invalid_type"),
        (json!("2026-13-45T99:99:99Z"), "invalid_type"),
        (json!("2026-01-01T00:00:00Z\u{0}"), "invalid_character"),
        (json!(1_700_000_000), "invalid_type"),
        (json!(["2026-01-01T00:00:00Z"]), "invalid_type"),
    ]
}

#[actix_web::test]
async fn timestamps_postgresql_cannot_store_are_422_out_of_range_in_queries_and_bodies() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let category = create_interest(&app, "Timing").await;

    // Queries: every date-time query parameter of the spec.
    let spec = hybrid_crm::http::openapi();
    let mut query_fields = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for param in operation["parameters"].as_array().into_iter().flatten() {
                let schema = &param["schema"];
                let is_time = schema["format"] == "date-time" || schema["$ref"] == "#/components/schemas/Timestamp";
                if param["in"] == "query" && is_time {
                    query_fields.push((method.clone(), path.clone(), param["name"].as_str().unwrap().to_string()));
                }
            }
        }
    }
    assert!(query_fields.len() >= 2, "{query_fields:?}");
    for (method, path, field) in &query_fields {
        assert_eq!(method, "get");
        for (value, code) in unstorable_timestamps() {
            let Some(text) = value.as_str() else { continue };
            let reply = send(&app, get(&format!("{path}?{field}={}", percent_encode(text)))).await;
            reply.problem(422, "validation_failed");
            let expected = if code == "invalid_character" { "invalid_query" } else { code };
            let expected = if expected == "invalid_type" { "invalid_query" } else { expected };
            assert_eq!(reply.error_fields(), vec![field.clone()], "{path} {field}={text}");
            assert_eq!(reply.error_codes(), vec![expected.to_string()], "{path} {field}={text}: {}", reply.body);
        }
    }

    // Bodies: every timestamp of the coupon and workshop bodies.
    let workshop = json!({"name": "W", "category_id": category, "starts_at": "2099-01-01T10:00:00Z", "duration_minutes": 60,
                          "modality": "online", "link": "https://meet.example.com/w", "price": "10.00", "capacity": 3});
    let created = send(&app, json(Method::POST, "/api/v1/workshops", workshop.clone())).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let workshop_id = created.body["id"].as_str().unwrap().to_string();
    let coupon = json!({"code": "TIMING", "kind": "percentage", "value": "5"});
    let created = send(&app, json(Method::POST, "/api/v1/coupons", coupon.clone())).await;
    let coupon_id = created.body["id"].as_str().unwrap().to_string();
    let bodies = [
        (Method::POST, "/api/v1/workshops".to_string(), workshop.clone(), "starts_at"),
        (Method::PATCH, format!("/api/v1/workshops/{workshop_id}"), json!({}), "starts_at"),
        (
            Method::POST,
            "/api/v1/coupons".to_string(),
            json!({"code": "OTHER", "kind": "percentage", "value": "5"}),
            "valid_from",
        ),
        (
            Method::POST,
            "/api/v1/coupons".to_string(),
            json!({"code": "OTHER", "kind": "percentage", "value": "5"}),
            "valid_until",
        ),
        (Method::PATCH, format!("/api/v1/coupons/{coupon_id}"), json!({}), "valid_from"),
        (Method::PATCH, format!("/api/v1/coupons/{coupon_id}"), json!({}), "valid_until"),
    ];
    for (method, uri, base, field) in bodies {
        for (value, code) in unstorable_timestamps() {
            let mut body = base.clone();
            body[field] = value.clone();
            let reply = send(&app, json(method.clone(), &uri, body)).await;
            reply.problem(422, "validation_failed");
            assert_eq!(reply.error_fields(), vec![field.to_string()], "{method} {uri} {field}={value}");
            assert_eq!(reply.error_codes(), vec![code.to_string()], "{method} {uri} {field}={value}: {}", reply.body);
        }
    }

    // The edges of the range are stored and read back as sent.
    let edge = send(
        &app,
        json(
            Method::PATCH,
            &format!("/api/v1/coupons/{coupon_id}"),
            json!({"valid_from": "0001-01-01T00:00:00Z", "valid_until": "9999-12-31T23:59:59.999999Z"}),
        ),
    )
    .await;
    assert_eq!(edge.status, 200, "{}", edge.body);
    assert_eq!(edge.body["valid_until"], "9999-12-31T23:59:59.999999Z");
    let page =
        send(&app, get("/api/v1/orders?created_from=0001-01-01T00:00:00Z&created_until=9999-12-31T23:59:59Z")).await;
    assert_eq!(page.status, 200, "{}", page.body);
}
