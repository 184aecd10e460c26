//! A scope sees only its family, embedded or not: every part of a response that belongs to
//! another family, tried with every role and with keys of one or two scopes, against the role ×
//! family table (`Role::scopes`), like the permission matrix; and webhook endpoints, which
//! belong to the key that made them and carry only the events it may read.

use crate::harness::{bearer, get, send, send_as_is, Receiver, TestContext, TEST_KEY};
use crate::{create_client, create_interest, create_product, create_workshop, order_in, post};
use actix_web::http::{header, Method};
use actix_web::test::TestRequest;
use actix_web::web;
use hybrid_crm::app::AppState;
use hybrid_crm::domain::access::{Family, Grant, Role, Scope};
use serde_json::{json, Value};
use std::sync::Arc;

async fn key(ctx: &TestContext, role: Role, scopes: &[&str]) -> (Grant, String) {
    let scopes: Vec<Scope> = scopes.iter().map(|s| s.parse().expect("scope")).collect();
    let grant = if role == Role::Custom { Grant::of(&scopes) } else { Grant::of(&role.scopes()) };
    (grant, crate::harness::new_key(ctx, role, scopes).await)
}

fn as_key(method: Method, uri: &str, key: &str, body: Option<Value>) -> actix_http::Request {
    let mut request =
        TestRequest::default().method(method).uri(uri).insert_header((header::AUTHORIZATION, bearer(key)));
    if let Some(body) = body {
        request = request.set_json(body);
    }
    request.to_request()
}

fn withheld(body: &Value) -> Vec<String> {
    body["withheld"]
        .as_array()
        .unwrap_or_else(|| panic!("no withheld list in {body}"))
        .iter()
        .map(|w| format!("{} {}", w["part"].as_str().unwrap_or("?"), w["required_scope"].as_str().unwrap_or("?")))
        .collect()
}

/// One embedded part: where it is in the response, the name `withheld` gives it, its family.
struct Part {
    pointer: &'static str,
    name: &'static str,
    family: Family,
}

const fn part(pointer: &'static str, name: &'static str, family: Family) -> Part {
    Part { pointer, name, family }
}

#[actix_web::test]
async fn every_embedded_part_of_another_family_shows_only_with_its_read_scope() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    // One of everything a client can have: info, an order with a payment, an unpaid enrollment,
    // and the notifications those events send.
    let client = create_client(&app, "Disclosed", "disclosed@example.com").await;
    let preferences = json!({"language": "en"});
    let put = as_key(Method::PUT, &format!("/api/v1/clients/{client}/preferences"), TEST_KEY, Some(preferences));
    assert_eq!(send(&app, put).await.status, 200);
    let product = create_product(&app, "Disclosed kit", "40.00", 10).await;
    let order = order_in(&app, &client, &product, "pending").await;
    let pay = crate::harness::json_with(
        Method::POST,
        "/api/v1/payments",
        json!({"subject": {"type": "order", "id": order}, "amount": "10.00", "method": "cash"}),
        &[("Idempotency-Key", "disclosed-pay")],
    );
    assert_eq!(send(&app, pay).await.status, 201);
    let interest = create_interest(&app, "Disclosure").await;
    let workshop = create_workshop(&app, "Disclosure workshop", &interest, 5).await;
    let enrolled = post(&app, &format!("/api/v1/workshops/{workshop}/enrollments"), json!({"client_id": client})).await;
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    hybrid_crm::app::events::publish_all(&ctx.state).await.expect("events numbered");
    let notifications = send(&app, get(&format!("/api/v1/notifications?client_id={client}&limit=100"))).await;
    let by_template = |template: &str| {
        notifications.body["items"]
            .as_array()
            .expect("notifications")
            .iter()
            .find(|n| n["template"] == template)
            .unwrap_or_else(|| panic!("no {template} notification"))["id"]
            .as_str()
            .expect("id")
            .to_string()
    };
    let (confirmation, receipt) = (by_template("order_confirmation"), by_template("payment_receipt"));

    // Each read that embeds another family, with the parts it embeds.
    let reads: Vec<(String, Vec<Part>)> = vec![
        (
            format!("/api/v1/orders/{order}/view"),
            vec![
                part("/client", "client", Family::Clients),
                part("/client_preferences", "client_preferences", Family::Clients),
            ],
        ),
        (
            format!("/api/v1/clients/{client}/view"),
            vec![
                part("/activity/order_count", "activity.order_count", Family::Orders),
                part("/activity/total_spent", "activity.total_spent", Family::Orders),
                part("/activity/orders_owed", "activity.orders_owed", Family::Orders),
                part("/activity/last_order", "activity.last_order", Family::Orders),
                part("/activity/total_paid", "activity.total_paid", Family::Payments),
                part("/activity/unpaid_enrollments", "activity.unpaid_enrollments", Family::Workshops),
                part("/activity/upcoming_workshops", "activity.upcoming_workshops", Family::Workshops),
            ],
        ),
        (
            format!("/api/v1/notifications/{confirmation}"),
            vec![part("/subject", "subject", Family::Orders), part("/body", "body", Family::Orders)],
        ),
        (
            format!("/api/v1/notifications/{receipt}"),
            vec![part("/subject", "subject", Family::Payments), part("/body", "body", Family::Payments)],
        ),
        (
            "/api/v1/reports/clients".to_string(),
            vec![
                part("/top_clients/0/name", "top_clients.name", Family::Clients),
                part("/top_clients/0/email", "top_clients.email", Family::Clients),
            ],
        ),
        (
            "/api/v1/reports/workshops".to_string(),
            vec![
                part("/debtors/0/name", "debtors.name", Family::Clients),
                part("/debtors/0/email", "debtors.email", Family::Clients),
            ],
        ),
    ];

    let mut keys = Vec::new();
    for role in Role::NAMED {
        keys.push((format!("{role:?}"), key(&ctx, role, &[]).await));
    }
    for scopes in [
        &["orders:read"][..],
        &["clients:read"],
        &["reports:read"],
        &["clients:read", "orders:read"],
        &["clients:write", "payments:read"],
        &["reports:read", "clients:read"],
    ] {
        keys.push((format!("{scopes:?}"), key(&ctx, Role::Custom, scopes).await));
    }

    let mut cells = 0;
    for (name, (grant, secret)) in &keys {
        for (uri, parts) in &reads {
            let reply = send_as_is(&app, as_key(Method::GET, uri, secret, None)).await;
            if reply.status == 403 {
                continue; // the operation's own scope: the permission matrix covers it
            }
            assert_eq!(reply.status, 200, "{name} GET {uri}: {}", reply.body);
            let listed = withheld(&reply.body);
            for part in parts {
                let value = reply.body.pointer(part.pointer).unwrap_or(&Value::Null);
                let scope = format!("{}:read", part.family.as_str());
                let named = listed.contains(&format!("{} {scope}", part.name));
                if grant.reads(part.family) {
                    assert!(!value.is_null(), "{name} GET {uri}: {} missing: {}", part.pointer, reply.body);
                    assert!(!named, "{name} GET {uri}: {} listed as withheld", part.name);
                } else {
                    assert!(
                        value.is_null(),
                        "{name} GET {uri}: {} shown without {scope}: {}",
                        part.pointer,
                        reply.body
                    );
                    assert!(named, "{name} GET {uri}: {} not listed as withheld: {listed:?}", part.name);
                }
                cells += 1;
            }
            if !listed.is_empty() && parts.iter().all(|p| grant.reads(p.family)) {
                panic!("{name} GET {uri}: withheld {listed:?} although it reads everything");
            }
        }

        // The timeline: entries of a family the key cannot read are left out and named.
        let timeline =
            send_as_is(&app, as_key(Method::GET, &format!("/api/v1/clients/{client}/timeline"), secret, None)).await;
        if timeline.status == 200 {
            let types: Vec<&str> =
                timeline.body["items"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
            let listed = withheld(&timeline.body);
            for (entry, family, kind) in [
                ("order.placed", Family::Orders, "order.* events"),
                ("payment.succeeded", Family::Payments, "payment.* events"),
                ("enrollment.created", Family::Workshops, "enrollment.* events"),
                ("order_confirmation", Family::Orders, "order_confirmation notifications"),
            ] {
                let scope = format!("{}:read", family.as_str());
                assert_eq!(types.contains(&entry), grant.reads(family), "{name} timeline {entry}: {types:?}");
                assert_eq!(listed.contains(&format!("{kind} {scope}")), !grant.reads(family), "{name}: {listed:?}");
                cells += 1;
            }
        }
    }
    assert!(cells > 150, "the matrix covered {cells} cells");
}

#[actix_web::test]
async fn the_event_feed_carries_only_the_families_the_key_reads() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let client = create_client(&app, "Fed", "fed@example.com").await;
    let product = create_product(&app, "Fed kit", "10.00", 5).await;
    order_in(&app, &client, &product, "pending").await;
    hybrid_crm::app::events::publish_all(&ctx.state).await.expect("events numbered");
    let (_, orders_only) = key(&ctx, Role::Custom, &["webhooks:read", "orders:read"]).await;
    let (_, feed_only) = key(&ctx, Role::Custom, &["webhooks:read"]).await;

    let page = send_as_is(&app, as_key(Method::GET, "/api/v1/events?limit=100", &orders_only, None)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let types: Vec<&str> = page.body["items"].as_array().unwrap().iter().filter_map(|e| e["type"].as_str()).collect();
    assert!(types.contains(&"order.placed"), "{types:?}");
    assert!(types.iter().all(|t| t.starts_with("order.")), "only order events: {types:?}");
    assert!(withheld(&page.body).contains(&"client.* clients:read".to_string()), "{}", page.body);
    // Asking for another family by name gets nothing of it, and says why.
    let asked = send_as_is(&app, as_key(Method::GET, "/api/v1/events?type=client.*", &orders_only, None)).await;
    assert_eq!(asked.body["items"], json!([]));
    assert_eq!(withheld(&asked.body), ["client.* clients:read"]);
    // A single event of an unreadable family is not there.
    let all = send(&app, get("/api/v1/events?type=client.created")).await;
    let client_event = all.body["items"][0]["id"].as_str().expect("a client event").to_string();
    let one =
        send_as_is(&app, as_key(Method::GET, &format!("/api/v1/events/{client_event}"), &orders_only, None)).await;
    one.problem(404, "event_not_found");
    // The feed scope alone reads no resource family: an empty feed.
    let bare = send_as_is(&app, as_key(Method::GET, "/api/v1/events", &feed_only, None)).await;
    assert_eq!(bare.body["items"], json!([]), "{}", bare.body);
    assert_eq!(withheld(&bare.body).len(), 8, "every event family is named: {}", bare.body);
}

/// The app with another cap on endpoints per key.
fn capped(ctx: &TestContext, per_key: i64) -> web::Data<AppState> {
    let mut settings = (*ctx.state.settings).clone();
    settings.webhook_endpoints_per_key = per_key;
    web::Data::new(AppState { settings: Arc::new(settings), ..ctx.state.clone() })
}

#[actix_web::test]
async fn a_webhook_endpoint_belongs_to_its_key_and_subscribes_only_to_what_the_key_reads() {
    let ctx = TestContext::new().await;
    let app = actix_web::test::init_service(hybrid_crm::http::build_app(capped(&ctx, 3))).await;
    let receiver = Receiver::start(&[]).await;
    let (_, owner) = key(&ctx, Role::Custom, &["webhooks:write", "orders:read"]).await;
    let (_, other) = key(&ctx, Role::Custom, &["webhooks:write", "orders:read", "clients:read"]).await;

    // Only the families the key reads.
    let everything = json!({"url": receiver.url, "event_types": ["*"]});
    let refused = send_as_is(&app, as_key(Method::POST, "/api/v1/webhook-endpoints", &owner, Some(everything))).await;
    assert_eq!(refused.problem(403, "forbidden")["details"]["required_scope"], "clients:read");
    let payments = json!({"url": receiver.url, "event_types": ["order.*", "payment.failed"]});
    let refused = send_as_is(&app, as_key(Method::POST, "/api/v1/webhook-endpoints", &owner, Some(payments))).await;
    assert_eq!(refused.problem(403, "forbidden")["details"]["required_scope"], "payments:read");
    let orders = json!({"url": receiver.url, "event_types": ["order.*"]});
    let created = send_as_is(&app, as_key(Method::POST, "/api/v1/webhook-endpoints", &owner, Some(orders))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(created.body["owner_key_id"].as_str().is_some(), "{}", created.body);
    let patch = as_key(
        Method::PATCH,
        &format!("/api/v1/webhook-endpoints/{id}"),
        &owner,
        Some(json!({"event_types": ["client.*"]})),
    );
    assert_eq!(send_as_is(&app, patch).await.problem(403, "forbidden")["details"]["required_scope"], "clients:read");

    // Another key cannot read, change, retarget, test, retry or delete it; its list is its own.
    let ping =
        send_as_is(&app, as_key(Method::POST, &format!("/api/v1/webhook-endpoints/{id}/test"), &owner, None)).await;
    assert_eq!(ping.status, 202, "{}", ping.body);
    let delivery = ping.body["id"].as_str().unwrap().to_string();
    hybrid_crm::app::webhooks::deliver_all_due(&ctx.state).await.expect("delivered");
    for (method, uri, body) in [
        (Method::GET, format!("/api/v1/webhook-endpoints/{id}"), None),
        (
            Method::PATCH,
            format!("/api/v1/webhook-endpoints/{id}"),
            Some(json!({"url": "https://elsewhere.example.com/"})),
        ),
        (Method::POST, format!("/api/v1/webhook-endpoints/{id}/test"), None),
        (Method::GET, format!("/api/v1/webhook-endpoints/{id}/deliveries"), None),
        (Method::GET, format!("/api/v1/webhook-endpoints/{id}/deliveries/{delivery}"), None),
        (Method::POST, format!("/api/v1/webhook-endpoints/{id}/deliveries/{delivery}/retry"), None),
        (Method::DELETE, format!("/api/v1/webhook-endpoints/{id}"), None),
    ] {
        let reply = send_as_is(&app, as_key(method.clone(), &uri, &other, body)).await;
        reply.problem(404, "webhook_endpoint_not_found");
    }
    let theirs = send_as_is(&app, as_key(Method::GET, "/api/v1/webhook-endpoints", &other, None)).await;
    assert_eq!(theirs.body["items"], json!([]));
    let mine = send_as_is(&app, as_key(Method::GET, &format!("/api/v1/webhook-endpoints/{id}"), &owner, None)).await;
    assert_eq!(mine.body["url"], receiver.url, "unchanged");
    // An admin key manages every endpoint.
    assert_eq!(send(&app, get(&format!("/api/v1/webhook-endpoints/{id}"))).await.status, 200);
    let listed = send(&app, get("/api/v1/webhook-endpoints")).await;
    assert!(listed.body["items"].as_array().unwrap().iter().any(|e| e["id"] == id.as_str()));

    // At most 3 endpoints a key, even when ten creations race.
    let creations = (0..10).map(|_| {
        let body = json!({"url": receiver.url, "event_types": ["order.placed"]});
        send_as_is(&app, as_key(Method::POST, "/api/v1/webhook-endpoints", &other, Some(body)))
    });
    let replies = futures_util::future::join_all(creations).await;
    let made = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(made, 3, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    for reply in replies.iter().filter(|r| r.status != 201) {
        assert_eq!(reply.problem(409, "endpoint_limit_reached")["details"]["limit"], 3);
    }
}
