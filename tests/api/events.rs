//! The outbox and the feed: every change that matters becomes an event in the transaction that
//! makes it; a refused change leaves none; the feed is numbered in commit order, so a reader
//! never skips an event that commits late.

use crate::harness::{get, json, json_with, send, Reply, Server, TestApp, TestContext};
use crate::{app, create_client, create_interest, create_workshop, order_body, post};
use actix_web::body::MessageBody;
use actix_web::http::Method;
use futures_util::future::join_all;
use hybrid_crm::app::events;
use serde_json::{json, Value};
use std::collections::BTreeSet;

pub async fn publish(ctx: &TestContext) -> usize {
    events::publish_all(&ctx.state).await.expect("publish events")
}

/// Every event of the feed (after `after`), page by page.
pub async fn feed<S: TestApp<B>, B: MessageBody>(app: &S, query: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after = 0;
    loop {
        let reply = send(app, get(&format!("/api/v1/events?after={after}&limit=100{query}"))).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        items.extend(reply.body["items"].as_array().expect("items").iter().cloned());
        after = reply.body["next_after"].as_i64().expect("next_after");
        if !reply.body["has_more"].as_bool().expect("has_more") {
            return items;
        }
    }
}

fn types(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["type"].as_str().expect("type").to_string()).collect()
}

async fn pay<S: TestApp<B>, B: MessageBody>(app: &S, kind: &str, id: &str, amount: &str, token: Option<&str>) -> Reply {
    let mut body = json!({"subject": {"type": kind, "id": id}, "amount": amount,
                          "method": if token.is_some() { "card" } else { "cash" }});
    if let Some(token) = token {
        body["token"] = json!(token);
    }
    let key = uuid::Uuid::now_v7().to_string();
    send(app, json_with(Method::POST, "/api/v1/payments", body, &[("Idempotency-Key", &key)])).await
}

#[actix_web::test]
async fn every_kind_of_change_becomes_an_event_with_its_subject_as_the_api_shows_it() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);

    // Clients, their comments and preferences.
    let client = create_client(&app, "Ada Event", "ada.event@example.com").await;
    let patched =
        send(&app, json(Method::PATCH, &format!("/api/v1/clients/{client}"), json!({"phone": "+44 20 1234"}))).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let comment = post(&app, &format!("/api/v1/clients/{client}/comments"), json!({"text": "Called about kits"})).await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    let prefs =
        send(&app, json(Method::PATCH, &format!("/api/v1/clients/{client}/preferences"), json!({"language": "en"})))
            .await;
    assert_eq!(prefs.status, 200, "{}", prefs.body);
    let gone = create_client(&app, "Short Lived", "short.lived@example.com").await;
    assert_eq!(send(&app, crate::harness::delete(&format!("/api/v1/clients/{gone}"))).await.status, 204);

    // An order that takes a product into critical stock, paid, refunded in part; another
    // declined and cancelled.
    let product =
        post(&app, "/api/v1/products", json!({"name": "Plane", "price": "40.00", "stock": 6, "reorder_point": 4}))
            .await;
    let product = product.body["id"].as_str().unwrap().to_string();
    let placed =
        post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": product, "quantity": 3}]))).await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let order = placed.body["id"].as_str().unwrap().to_string();
    let paid = pay(&app, "order", &order, "120.00", None).await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let payment = paid.body["id"].as_str().unwrap().to_string();
    let key = uuid::Uuid::now_v7().to_string();
    let refund = send(
        &app,
        json_with(
            Method::POST,
            &format!("/api/v1/payments/{payment}/refunds"),
            json!({"amount": "10.00", "reason": "Scratched"}),
            &[("Idempotency-Key", &key)],
        ),
    )
    .await;
    assert_eq!(refund.status, 201, "{}", refund.body);
    // A card payment whose refund the gateway declines, and a payment given back in full.
    let refund_of = |payment: String, amount: &'static str| {
        let app = &app;
        async move {
            let key = uuid::Uuid::now_v7().to_string();
            let uri = format!("/api/v1/payments/{payment}/refunds");
            send(
                app,
                json_with(
                    Method::POST,
                    &uri,
                    json!({"amount": amount, "reason": "Test"}),
                    &[("Idempotency-Key", &key)],
                ),
            )
            .await
        }
    };
    let third =
        post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": product, "quantity": 2}]))).await;
    let third = third.body["id"].as_str().unwrap().to_string();
    let card = pay(&app, "order", &third, "40.00", Some("tok_refund_declined")).await;
    assert_eq!(card.body["status"], "succeeded", "{}", card.body);
    let declined = refund_of(card.body["id"].as_str().unwrap().to_string(), "5.00").await;
    assert_eq!(declined.body["status"], "failed", "{}", declined.body);
    let cash = pay(&app, "order", &third, "40.00", None).await;
    assert_eq!(refund_of(cash.body["id"].as_str().unwrap().to_string(), "40.00").await.status, 201);
    let second =
        post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": product, "quantity": 1}]))).await;
    let second = second.body["id"].as_str().unwrap().to_string();
    assert_eq!(pay(&app, "order", &second, "40.00", Some("tok_declined")).await.body["status"], "failed");
    assert_eq!(post(&app, &format!("/api/v1/orders/{second}/cancel"), json!({})).await.status, 200);

    // A one-seat workshop: enrolled (sold out) and paid; another enrollment cancelled.
    let interest = create_interest(&app, "Joinery").await;
    let full = create_workshop(&app, "Dovetails", &interest, 1).await;
    let enrolled = post(&app, &format!("/api/v1/workshops/{full}/enrollments"), json!({"client_id": client})).await;
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    let enrollment = enrolled.body["id"].as_str().unwrap().to_string();
    assert_eq!(pay(&app, "enrollment", &enrollment, "80.00", None).await.status, 201);
    let other = create_workshop(&app, "Mortises", &interest, 5).await;
    let dropped = post(&app, &format!("/api/v1/workshops/{other}/enrollments"), json!({"client_id": client})).await;
    let dropped = dropped.body["id"].as_str().unwrap().to_string();
    assert_eq!(post(&app, &format!("/api/v1/enrollments/{dropped}/cancel"), json!({})).await.status, 200);

    // A subscription paid (active), another client's declined (past due).
    let sub =
        post(&app, &format!("/api/v1/clients/{client}/subscription"), json!({"plan": "basic", "months": 1})).await;
    let (sub, due) =
        (sub.body["id"].as_str().unwrap().to_string(), sub.body["amount_due"].as_str().unwrap().to_string());
    assert_eq!(pay(&app, "subscription", &sub, &due, Some("tok_visa")).await.body["status"], "succeeded");
    let debtor = create_client(&app, "Late Payer", "late.payer@example.com").await;
    let late =
        post(&app, &format!("/api/v1/clients/{debtor}/subscription"), json!({"plan": "basic", "months": 1})).await;
    let late = late.body["id"].as_str().unwrap().to_string();
    assert_eq!(pay(&app, "subscription", &late, &due, Some("tok_declined")).await.body["status"], "failed");

    publish(&ctx).await;
    let events = feed(&app, "").await;
    let seen: BTreeSet<String> = types(&events).into_iter().collect();
    let every: BTreeSet<String> =
        hybrid_crm::domain::events::EventType::ALL.iter().map(|t| t.as_str().to_string()).collect();
    assert_eq!(every.difference(&seen).collect::<Vec<_>>(), Vec::<&String>::new(), "types never recorded");

    // Numbered 1, 2, 3, … in one series; ids are UUIDv7.
    let sequences: Vec<i64> = events.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, (1..=events.len() as i64).collect::<Vec<_>>());
    assert!(events.iter().all(|e| e["id"].as_str().unwrap().as_bytes()[14] == b'7'));

    // Data is the subject as the API showed it at that moment.
    let of = |kind: &str, subject: &str| -> Vec<Value> {
        events.iter().filter(|e| e["type"] == kind && e["subject"]["id"] == subject).cloned().collect()
    };
    let placed_event = &of("order.placed", &order)[0];
    assert_eq!(placed_event["subject"], json!({"type": "order", "id": order}));
    assert_eq!(placed_event["data"], placed.body, "order.placed carries the order as POST answered it");
    let confirmed = &of("order.status_changed", &order)[0];
    assert_eq!(confirmed["data"]["status"], "confirmed");
    assert_eq!(of("stock.low", &product)[0]["data"]["stock_status"], "critical");
    assert_eq!(of("client.comment_added", &client)[0]["data"], comment.body);
    assert_eq!(of("client.preferences_changed", &client)[0]["data"], json!({"language": "en"}));
    assert_eq!(of("client.deleted", &gone)[0]["data"]["email"], "short.lived@example.com");
    assert_eq!(of("workshop.sold_out", &full)[0]["data"]["seats_available"], 0);
    assert_eq!(of("order.cancelled", &second).len(), 1);
    let by_id = send(&app, get(&format!("/api/v1/events/{}", placed_event["id"].as_str().unwrap()))).await;
    assert_eq!(&by_id.body, placed_event);
}

#[actix_web::test]
async fn a_refused_change_records_no_event() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Refused", "refused@example.com").await;
    let product = crate::create_product(&app, "Rare", "10.00", 1).await;
    publish(&ctx).await;
    let before = feed(&app, "").await.len();
    let refused =
        post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": product, "quantity": 2}]))).await;
    refused.problem(409, "insufficient_stock");
    let duplicate =
        post(&app, "/api/v1/clients", json!({"name": "Dup", "email": "refused@example.com", "kind": "b2c"})).await;
    assert_eq!(duplicate.status, 409);
    publish(&ctx).await;
    assert_eq!(feed(&app, "").await.len(), before, "no event for refused writes");
}

#[actix_web::test]
async fn an_event_that_commits_late_is_numbered_after_those_already_read() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    // A transaction that wrote an event and has not committed (its id is older than what
    // follows, as a slow writer's would be).
    let slow = ctx.side_connection().await;
    slow.execute("BEGIN").await;
    slow.execute(&format!(
        "INSERT INTO events (id, type, occurred_at, subject_type, subject_id, data)
         VALUES ('{}', 'client.updated', now(), 'client', '{}', '{{}}')",
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7()
    ))
    .await;
    let client = create_client(&app, "Fast", "fast@example.com").await;
    publish(&ctx).await;
    let first = feed(&app, "").await;
    assert_eq!(types(&first), ["client.created"]);
    assert_eq!(first[0]["subject"]["id"], client.as_str());

    slow.execute("COMMIT").await;
    publish(&ctx).await;
    let reply = send(&app, get("/api/v1/events?after=1")).await.body;
    assert_eq!(types(reply["items"].as_array().unwrap()), ["client.updated"], "the late event is not skipped");
    assert_eq!(reply["items"][0]["sequence"], 2);
    assert_eq!(reply["next_after"], 2);
}

#[actix_web::test]
async fn a_reader_polling_while_many_writers_commit_sees_every_event_once_in_order() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let writers = join_all((0..40).map(|i| {
        let app = &app;
        async move { create_client(app, &format!("Writer {i}"), &format!("writer{i}@example.com")).await }
    }));
    let sequencer = async {
        for _ in 0..40 {
            events::publish(&ctx.state).await.expect("publish");
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    let reader = async {
        let mut seen = Vec::new();
        let mut after = 0;
        for _ in 0..60 {
            let page = send(&app, get(&format!("/api/v1/events?after={after}&limit=7"))).await.body;
            seen.extend(page["items"].as_array().unwrap().iter().cloned());
            after = page["next_after"].as_i64().unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        (seen, after)
    };
    let (created, (), (mut seen, mut after)) = tokio::join!(writers, sequencer, reader);
    publish(&ctx).await;
    loop {
        let page = send(&app, get(&format!("/api/v1/events?after={after}&limit=100"))).await.body;
        seen.extend(page["items"].as_array().unwrap().iter().cloned());
        after = page["next_after"].as_i64().unwrap();
        if !page["has_more"].as_bool().unwrap() {
            break;
        }
    }
    let sequences: Vec<i64> = seen.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, (1..=40).collect::<Vec<_>>(), "every event once, in order, no gaps");
    let subjects: BTreeSet<String> = seen.iter().map(|e| e["subject"]["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(subjects, created.into_iter().collect::<BTreeSet<_>>());
}

#[actix_web::test]
async fn the_feed_filters_by_type_pattern_and_subject_and_refuses_unknown_types() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let ada = create_client(&app, "Ada", "ada.filter@example.com").await;
    let bob = create_client(&app, "Bob", "bob.filter@example.com").await;
    let product = crate::create_product(&app, "Chisel", "12.00", 20).await;
    crate::order_in(&app, &ada, &product, "confirmed").await;
    publish(&ctx).await;

    assert_eq!(types(&feed(&app, "&type=order.*").await), ["order.placed", "order.status_changed"]);
    assert_eq!(
        types(&feed(&app, "&type=client.created,order.placed").await),
        ["client.created", "client.created", "order.placed"]
    );
    let bobs = feed(&app, &format!("&subject_id={bob}")).await;
    assert_eq!(types(&bobs), ["client.created"]);
    assert_eq!(types(&feed(&app, "&type=*").await).len(), 4);

    let unknown = send(&app, get("/api/v1/events?type=orders.*")).await;
    assert_eq!(unknown.problem(422, "validation_failed")["errors"][0]["field"], "type");
    // As the spec's pattern says: spaces around commas are fine, an empty filter is not.
    assert_eq!(types(&feed(&app, "&type=client.created%20,%20order.placed").await).len(), 3);
    let empty = send(&app, get("/api/v1/events?type=")).await;
    assert_eq!(empty.problem(422, "validation_failed")["errors"][0]["field"], "type");
    assert_eq!(send(&app, get("/api/v1/events?after=-1")).await.status, 422);
    assert_eq!(send(&app, get("/api/v1/events?limit=0")).await.status, 422);
    let missing = send(&app, get(&format!("/api/v1/events/{}", uuid::Uuid::now_v7()))).await;
    missing.problem(404, "event_not_found");
    // Nothing after the end: an empty page that says where to resume.
    let end = send(&app, get("/api/v1/events?after=4")).await.body;
    assert_eq!(
        (end["items"].clone(), end["next_after"].clone(), end["has_more"].clone()),
        (json!([]), json!(4), json!(false))
    );
}

#[actix_web::test]
async fn events_a_killed_server_committed_but_never_numbered_are_numbered_by_the_restarted_one() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    // A server whose sequencer does not run: its writes commit their events, unnumbered — the
    // state a server killed before (or during: the round's transaction rolls back) numbering
    // them leaves.
    let server = Server::start_with(&ctx, &[("EVENTS_POLL_MS", "0")]).await;
    for i in 0..3 {
        let body =
            json!({"name": format!("Unnumbered {i}"), "email": format!("unnumbered{i}@example.com"), "kind": "b2c"});
        assert_eq!(server.request("POST", "/api/v1/clients", Some(&body), &[]).await.unwrap().0, 201);
    }
    server.kill();
    assert!(feed(&app, "").await.is_empty(), "nothing is in the feed before it is numbered");

    let restarted = Server::start_with(&ctx, &[("EVENTS_POLL_MS", "100")]).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut events = Vec::new();
    while events.len() < 3 && std::time::Instant::now() < deadline {
        events = feed(&app, "").await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(types(&events), ["client.created"; 3]);
    let sequences: Vec<i64> = events.iter().map(|e| e["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, [1, 2, 3]);
    drop(restarted);
}
