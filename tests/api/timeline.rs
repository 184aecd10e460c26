//! The client timeline: events, notifications (PostgreSQL) and comments (MongoDB), newest
//! first, paginated; degraded, not failed, when MongoDB is down.

use crate::events::publish;
use crate::harness::{get, json_with, send, Passage, TestContext};
use crate::{app, create_client, create_product, order_body, post};
use actix_web::http::Method;
use hybrid_crm::app::notifications;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[actix_web::test]
async fn the_timeline_merges_events_notifications_and_comments_newest_first() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Timeline Ada", "timeline.ada@example.com").await;
    let other = create_client(&app, "Someone Else", "someone.else@example.com").await;
    let product = create_product(&app, "Mallet", "15.00", 10).await;
    let order =
        post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": product, "quantity": 1}]))).await;
    let order = order.body["id"].as_str().unwrap().to_string();
    let key = uuid::Uuid::now_v7().to_string();
    let body = json!({"subject": {"type": "order", "id": order}, "amount": "15.00", "method": "cash"});
    assert_eq!(
        send(&app, json_with(Method::POST, "/api/v1/payments", body, &[("Idempotency-Key", &key)])).await.status,
        201
    );
    post(&app, &format!("/api/v1/clients/{client}/comments"), json!({"text": "Prefers morning deliveries"})).await;
    post(&app, &format!("/api/v1/clients/{other}/comments"), json!({"text": "Not on Ada's timeline"})).await;
    publish(&ctx).await;
    notifications::send_all_due(&ctx.state).await.unwrap();

    let all = send(&app, get(&format!("/api/v1/clients/{client}/timeline?limit=100"))).await;
    assert_eq!(all.status, 200, "{}", all.body);
    let items = all.body["items"].as_array().unwrap().clone();
    let kinds: BTreeSet<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["comment", "event", "notification"].into_iter().collect());
    let types: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    for expected in [
        "client.created",
        "order.placed",
        "payment.succeeded",
        "order.status_changed",
        "comment",
        "welcome",
        "order_confirmation",
        "payment_receipt",
    ] {
        assert!(types.contains(&expected), "{expected} missing from {types:?}");
    }
    assert!(!types.contains(&"client.comment_added"), "comments come from MongoDB, once");
    assert!(items.iter().all(|i| !i["summary"].as_str().unwrap().contains("Ada's timeline")));
    let comment = items.iter().find(|i| i["kind"] == "comment").unwrap();
    assert_eq!(comment["summary"], "Prefers morning deliveries");
    // What an entry is about is named as fields, not only in its text.
    let about = |entry_type: &str| items.iter().find(|i| i["type"] == entry_type).unwrap()["subject"].clone();
    assert_eq!(about("order.placed"), json!({"type": "order", "id": order}));
    assert_eq!(
        about("order_confirmation"),
        json!({"type": "order", "id": order}),
        "the notification's event's subject"
    );
    assert_eq!(about("payment.succeeded")["type"], "payment");
    assert_eq!(about("client.created"), json!({"type": "client", "id": client}));
    assert_eq!(comment["subject"], Value::Null);
    let times: Vec<&str> = items.iter().map(|i| i["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    assert_eq!(all.body["degraded"], Value::Null);

    // Page by page: the same entries, each once.
    let mut paged = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = send(&app, get(&format!("/api/v1/clients/{client}/timeline?limit=2&cursor={cursor}"))).await.body;
        paged.extend(page["items"].as_array().unwrap().iter().map(|i| i["id"].clone()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(paged, items.iter().map(|i| i["id"].clone()).collect::<Vec<_>>());

    send(&app, get(&format!("/api/v1/clients/{}/timeline", uuid::Uuid::now_v7())))
        .await
        .problem(404, "client_not_found");
    send(&app, get(&format!("/api/v1/clients/{client}/timeline?cursor=bogus"))).await.problem(422, "validation_failed");
}

#[actix_web::test]
async fn with_mongodb_down_the_timeline_answers_without_comments_and_says_so() {
    let ctx = TestContext::behind_proxies().await;
    let app = app!(ctx);
    let client = create_client(&app, "Degraded Timeline", "degraded.timeline@example.com").await;
    post(&app, &format!("/api/v1/clients/{client}/comments"), json!({"text": "A comment"})).await;
    publish(&ctx).await;
    ctx.mongo_proxy.as_ref().unwrap().set(Passage::Cut);
    let reply = send(&app, get(&format!("/api/v1/clients/{client}/timeline"))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["degraded"]["missing"], json!(["comments"]));
    let types: Vec<&str> =
        reply.body["items"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["welcome", "client.created"], "its notification (queued) and its event, no comment");
}
