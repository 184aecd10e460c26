//! Webhooks: endpoints, signed deliveries verified with the Standard Webhooks reference
//! library, retries, per-endpoint order, a server killed mid-delivery, pings, manual retries,
//! and endpoints disabled after failing for too long.

use crate::events::{feed, publish};
use crate::harness::{get, json, send, Answer, Receiver, Server, TestApp, TestContext};
use crate::{app, create_client, post};
use actix_web::body::MessageBody;
use actix_web::http::Method;
use hybrid_crm::app::webhooks;
use hybrid_crm::store;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn deliver(ctx: &TestContext) -> usize {
    webhooks::deliver_all_due(&ctx.state).await.expect("deliver")
}

/// Registers an endpoint; returns (id, secret).
async fn endpoint<S: TestApp<B>, B: MessageBody>(app: &S, url: &str, types: Value) -> (String, String) {
    let reply = post(app, "/api/v1/webhook-endpoints", json!({"url": url, "event_types": types})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    (reply.body["id"].as_str().unwrap().to_string(), reply.body["secret"].as_str().unwrap().to_string())
}

/// Delivers (retrying as scheduled) until `n` requests reached the receiver.
async fn deliver_until(ctx: &TestContext, receiver: &Receiver, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while receiver.received().len() < n && Instant::now() < deadline {
        deliver(ctx).await;
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
}

#[actix_web::test]
async fn endpoints_show_their_secret_once_and_refuse_bad_urls_and_types() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let created = post(&app, "/api/v1/webhook-endpoints", json!({"url": "https://hooks.example.com/crm", "event_types": ["order.*", "order.placed", "payment.failed"], "description": "Sync"})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(created.header("location").unwrap(), format!("/api/v1/webhook-endpoints/{id}"));
    let secret = created.body["secret"].as_str().unwrap();
    let key = secret.strip_prefix("whsec_").expect("a whsec_ secret");
    use base64::Engine;
    assert_eq!(base64::engine::general_purpose::STANDARD.decode(key).unwrap().len(), 32);
    assert_eq!(created.body["event_types"], json!(["order.*", "order.placed", "payment.failed"]));
    assert_eq!(created.body["active"], true);

    let fetched = send(&app, get(&format!("/api/v1/webhook-endpoints/{id}"))).await.body;
    assert!(fetched.get("secret").is_none(), "{fetched}");
    let listed = send(&app, get("/api/v1/webhook-endpoints")).await.body;
    assert!(listed["items"][0].get("secret").is_none() && listed["items"][0]["id"] == id);

    for (url, why) in [
        ("http://169.254.169.254/latest/meta-data", "metadata"),
        ("ftp://example.com/x", "scheme"),
        ("http://[fe80::1]/x", "link-local"),
    ] {
        let refused = post(&app, "/api/v1/webhook-endpoints", json!({"url": url, "event_types": ["*"]})).await;
        assert_eq!(refused.problem(422, "validation_failed")["errors"][0]["code"], "url_refused", "{why}");
    }
    let unknown = post(
        &app,
        "/api/v1/webhook-endpoints",
        json!({"url": "https://a.example.com", "event_types": ["order.*", "orders.placed"]}),
    )
    .await;
    assert_eq!(unknown.error_fields(), ["event_types[1]"]);
    let empty =
        post(&app, "/api/v1/webhook-endpoints", json!({"url": "https://a.example.com", "event_types": []})).await;
    assert_eq!(empty.error_fields(), ["event_types"]);

    let patched = send(
        &app,
        json(
            Method::PATCH,
            &format!("/api/v1/webhook-endpoints/{id}"),
            json!({"event_types": ["*"], "description": null, "active": false}),
        ),
    )
    .await;
    assert_eq!(
        (patched.body["event_types"].clone(), patched.body["description"].clone(), patched.body["active"].clone()),
        (json!(["*"]), Value::Null, json!(false))
    );
    let ping = post(&app, &format!("/api/v1/webhook-endpoints/{id}/test"), json!({})).await;
    ping.problem(409, "endpoint_inactive");
    assert_eq!(send(&app, crate::harness::delete(&format!("/api/v1/webhook-endpoints/{id}"))).await.status, 204);
    send(&app, get(&format!("/api/v1/webhook-endpoints/{id}"))).await.problem(404, "webhook_endpoint_not_found");
}

#[actix_web::test]
async fn deliveries_carry_the_event_and_verify_with_the_standard_webhooks_library() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[]).await;
    let (_, secret) = endpoint(&app, &receiver.url, json!(["client.*"])).await;
    let (_, other_secret) = endpoint(&app, &receiver.url, json!(["order.placed"])).await;
    let client = create_client(&app, "Signed", "signed@example.com").await;
    publish(&ctx).await;
    deliver(&ctx).await;

    let received = receiver.until_received(1, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 1, "only the endpoint subscribed to client events gets it");
    let delivery = &received[0];
    standardwebhooks::Webhook::new(&secret)
        .expect("secret")
        .verify(&delivery.body, &delivery.headers)
        .expect("the signature verifies");
    assert!(standardwebhooks::Webhook::new(&other_secret).unwrap().verify(&delivery.body, &delivery.headers).is_err());
    let mut tampered = delivery.body.clone();
    tampered[5] ^= 1;
    assert!(standardwebhooks::Webhook::new(&secret).unwrap().verify(&tampered, &delivery.headers).is_err());

    let event = &feed(&app, "").await[0];
    assert_eq!(&delivery.json(), event, "the body is the event as the feed shows it");
    assert_eq!(delivery.header("webhook-id"), event["id"].as_str().unwrap());
    assert_eq!(delivery.header("content-type"), "application/json");
    assert_eq!(event["subject"]["id"], client.as_str());
}

#[actix_web::test]
async fn a_receiver_that_fails_twice_then_succeeds_gets_the_event_exactly_once_more() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[Answer::Status(500), Answer::Status(503)]).await;
    let (id, _) = endpoint(&app, &receiver.url, json!(["*"])).await;
    create_client(&app, "Retried", "retried@example.com").await;
    publish(&ctx).await;
    deliver_until(&ctx, &receiver, 3).await;
    // Nothing more arrives once it succeeded.
    tokio::time::sleep(Duration::from_millis(300)).await;
    deliver(&ctx).await;
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    assert!(
        received.iter().all(|r| r.header("webhook-id") == received[0].header("webhook-id")),
        "one message id across retries"
    );

    let deliveries = send(&app, get(&format!("/api/v1/webhook-endpoints/{id}/deliveries"))).await.body;
    let delivery = &deliveries["items"][0];
    assert_eq!(delivery["status"], "succeeded");
    let codes: Vec<Value> = delivery["attempts"].as_array().unwrap().iter().map(|a| a["status_code"].clone()).collect();
    assert_eq!(codes, [json!(500), json!(503), json!(200)]);
    assert!(delivery["attempts"][0]["error"].as_str().unwrap().contains("500"));
    assert!(delivery["attempts"].as_array().unwrap().iter().all(|a| a["duration_ms"].as_i64().unwrap() >= 0));
    let endpoint = send(&app, get(&format!("/api/v1/webhook-endpoints/{id}"))).await.body;
    assert_eq!(endpoint["failing_since"], Value::Null, "a success ends the failure streak");
}

#[actix_web::test]
async fn an_endpoint_receives_its_events_in_sequence_order_even_when_one_is_retried() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[Answer::Status(500)]).await;
    endpoint(&app, &receiver.url, json!(["client.created"])).await;
    for i in 0..5 {
        create_client(&app, &format!("Ordered {i}"), &format!("ordered{i}@example.com")).await;
    }
    publish(&ctx).await;
    deliver_until(&ctx, &receiver, 6).await;
    let received = receiver.received();
    assert_eq!(received.len(), 6, "five events, the first one twice");
    let sequences: Vec<i64> = received.iter().map(|r| r.json()["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, [1, 1, 2, 3, 4, 5], "the failed first event held the others back");
}

#[actix_web::test]
async fn pings_and_manual_retries_are_delivered_and_listed() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[]).await;
    let (id, secret) = endpoint(&app, &receiver.url, json!(["client.created"])).await;
    let ping = post(&app, &format!("/api/v1/webhook-endpoints/{id}/test"), json!({})).await;
    assert_eq!(ping.status, 202, "{}", ping.body);
    let delivery = ping.body["id"].as_str().unwrap().to_string();
    assert_eq!((ping.body["event_type"].clone(), ping.body["status"].clone()), (json!("ping"), json!("pending")));
    deliver(&ctx).await;
    let received = receiver.until_received(1, Duration::from_secs(5)).await;
    assert_eq!(received[0].json()["type"], "ping");
    assert_eq!(received[0].header("webhook-id"), delivery);
    standardwebhooks::Webhook::new(&secret).unwrap().verify(&received[0].body, &received[0].headers).expect("signed");
    let location = ping.header("location").unwrap();
    assert_eq!(send(&app, get(&location)).await.body["status"], "succeeded");

    // A finished delivery can be sent again; one still pending cannot.
    let retried = post(&app, &format!("{location}/retry"), json!({})).await;
    assert_eq!((retried.status.as_u16(), retried.body["status"].clone()), (202, json!("pending")));
    post(&app, &format!("{location}/retry"), json!({})).await.problem(409, "delivery_in_progress");
    deliver(&ctx).await;
    assert_eq!(receiver.until_received(2, Duration::from_secs(5)).await.len(), 2);
    let after = send(&app, get(&location)).await.body;
    assert_eq!((after["status"].clone(), after["attempts"].as_array().unwrap().len()), (json!("succeeded"), 2));
    let listed = send(&app, get(&format!("/api/v1/webhook-endpoints/{id}/deliveries?status=succeeded"))).await.body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
    let none = send(&app, get(&format!("/api/v1/webhook-endpoints/{id}/deliveries?status=failed"))).await.body;
    assert_eq!(none["items"], json!([]));
}

#[actix_web::test]
async fn a_delivery_that_exhausts_its_retries_fails_and_an_endpoint_failing_for_days_is_disabled() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[Answer::Status(500); 10]).await;
    let (id, _) = endpoint(&app, &receiver.url, json!(["*"])).await;
    create_client(&app, "Doomed", "doomed@example.com").await;
    publish(&ctx).await;
    // One attempt and the three retries of the test schedule.
    deliver_until(&ctx, &receiver, 4).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    deliver(&ctx).await;
    assert_eq!(receiver.received().len(), 4);
    let deliveries = send(&app, get(&format!("/api/v1/webhook-endpoints/{id}/deliveries"))).await.body;
    assert_eq!(deliveries["items"][0]["status"], "failed");
    let endpoint = send(&app, get(&format!("/api/v1/webhook-endpoints/{id}"))).await.body;
    assert_eq!(endpoint["active"], true, "failing for less than three days");
    assert!(endpoint["failing_since"].is_string());

    // Failing since four days ago: the next failure disables it.
    let side = ctx.side_connection().await;
    side.execute(&format!("UPDATE webhook_endpoints SET failing_since = now() - interval '4 days' WHERE id = '{id}'"))
        .await;
    create_client(&app, "Doomed Again", "doomed.again@example.com").await;
    publish(&ctx).await;
    deliver_until(&ctx, &receiver, 5).await;
    let endpoint = send(&app, get(&format!("/api/v1/webhook-endpoints/{id}"))).await.body;
    assert_eq!(endpoint["active"], false, "{endpoint}");
    assert!(endpoint["disabled_reason"].as_str().unwrap().contains("failed"));
    // Disabled: nothing more is sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    deliver(&ctx).await;
    assert_eq!(receiver.received().len(), 5);

    // Turned back on, its waiting delivery resumes.
    let on = send(&app, json(Method::PATCH, &format!("/api/v1/webhook-endpoints/{id}"), json!({"active": true}))).await;
    assert_eq!((on.body["active"].clone(), on.body["disabled_reason"].clone()), (json!(true), Value::Null));
}

#[actix_web::test]
async fn a_server_killed_mid_delivery_delivers_after_restart() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    // The first request hangs until the server is gone; the next is answered.
    let receiver = Receiver::start(&[Answer::Hang(Duration::from_secs(30))]).await;
    endpoint(&app, &receiver.url, json!(["client.created"])).await;
    let settings = [
        ("EVENTS_POLL_MS", "100"),
        ("WEBHOOK_POLL_MS", "100"),
        ("WEBHOOK_TIMEOUT_MS", "1000"),
        ("WEBHOOK_RETRY_SCHEDULE", "100ms"),
    ];
    let server = Server::start_with(&ctx, &settings).await;
    let body = json!({"name": "Killed Mid Delivery", "email": "killed.mid@example.com", "kind": "b2c"});
    let (status, _, _) = server.request("POST", "/api/v1/clients", Some(&body), &[]).await.unwrap();
    assert_eq!(status, 201);
    assert_eq!(receiver.until_received(1, Duration::from_secs(10)).await.len(), 1, "the delivery is under way");
    server.kill();

    // The killed server's lease (twice the timeout and 5 s) runs out; the restarted server's
    // dispatcher takes the delivery over.
    let restarted = Server::start_with(&ctx, &settings).await;
    let received = receiver.until_received(2, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 2, "delivered again after the restart");
    assert_eq!(received[0].header("webhook-id"), received[1].header("webhook-id"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut delivery = Value::Null;
    while Instant::now() < deadline {
        let listed = send(&app, get(&feed_endpoint_deliveries(&app).await)).await.body;
        delivery = listed["items"][0].clone();
        if delivery["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivery["status"], "succeeded", "{delivery}");
    drop(restarted);
}

async fn feed_endpoint_deliveries<S: TestApp<B>, B: MessageBody>(app: &S) -> String {
    let endpoints = send(app, get("/api/v1/webhook-endpoints")).await.body;
    format!("/api/v1/webhook-endpoints/{}/deliveries", endpoints["items"][0]["id"].as_str().unwrap())
}

#[actix_web::test]
async fn dispatchers_running_at_once_deliver_each_event_once_and_in_order() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[]).await;
    endpoint(&app, &receiver.url, json!(["client.created"])).await;
    for i in 0..30 {
        create_client(&app, &format!("Concurrent {i}"), &format!("concurrent{i}@example.com")).await;
    }
    publish(&ctx).await;
    let (a, b, c) = tokio::join!(deliver(&ctx), deliver(&ctx), deliver(&ctx));
    deliver(&ctx).await;
    assert!(a + b + c <= 30, "no delivery attempted twice");
    let received = receiver.until_received(30, Duration::from_secs(10)).await;
    let sequences: Vec<i64> = received.iter().map(|r| r.json()["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, (1..=30).collect::<Vec<_>>(), "each event once, in order");
}

#[actix_web::test]
async fn a_dispatcher_leaves_alone_an_endpoint_another_is_claiming() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[]).await;
    let (id, _) = endpoint(&app, &receiver.url, json!(["client.created"])).await;
    create_client(&app, "Claimed", "claimed@example.com").await;
    publish(&ctx).await;
    // Another dispatcher's claim, not yet committed, holds the endpoint's row. A claim that
    // went ahead meanwhile would read the deliveries before that claim's were marked under way
    // and could send later ones first.
    let side = ctx.side_connection().await;
    side.execute("BEGIN").await;
    let claimed = side
        .run(|conn| {
            let now = chrono::Utc::now();
            // A lease already over: once committed, the claimed delivery is due again.
            store::pg::webhooks::claim_due(conn, now, now - chrono::Duration::seconds(1), 50, 32)
        })
        .await
        .expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].endpoint_id.to_string(), id);
    assert_eq!(deliver(&ctx).await, 0, "nothing claimed while another claim holds the endpoint");
    assert!(receiver.received().is_empty());
    // That claim does not hold up the sequencer: a new event's delivery to the endpoint (whose
    // foreign key check locks the endpoint's key) is created meanwhile.
    create_client(&app, "Published meanwhile", "meanwhile@example.com").await;
    let published = tokio::time::timeout(Duration::from_secs(10), publish(&ctx)).await;
    assert_eq!(published.expect("the sequencer waited for a claim's endpoint lock"), 1);
    side.execute("COMMIT").await;
    assert_eq!(deliver(&ctx).await, 2);
    let sequences: Vec<i64> = receiver.received().iter().map(|r| r.json()["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, [1, 2]);
}

/// The `background_backlog` gauge's counts: an open delivery (pending, also while it waits for a
/// retry) and a queued notification count until they are finished.
#[actix_web::test]
async fn the_backlog_counts_deliveries_and_notifications_until_they_are_finished() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[Answer::Status(500)]).await;
    endpoint(&app, &receiver.url, json!(["client.created"])).await;
    create_client(&app, "Queued", "queued@example.com").await;
    publish(&ctx).await;
    let side = ctx.side_connection().await;
    let backlogs = || side.run(|conn| store::pg::jobs::backlogs(conn).expect("backlogs"));
    let queued = backlogs().await;
    assert_eq!((queued.webhook_deliveries, queued.notifications), (1, 1), "the delivery and the welcome");

    deliver(&ctx).await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(backlogs().await.webhook_deliveries, 1, "waiting for its retry");
    deliver_until(&ctx, &receiver, 2).await;
    hybrid_crm::app::notifications::send_all_due(&ctx.state).await.expect("send notifications");
    let finished = backlogs().await;
    assert_eq!((finished.webhook_deliveries, finished.notifications), (0, 0));
}

/// Every row of every table, as text (binary columns as their bytes: a stored response is
/// `bytea`).
async fn every_row(ctx: &TestContext) -> Vec<String> {
    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        data_type: String,
    }
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        text: String,
    }
    let side = ctx.side_connection().await;
    side.run(|conn| {
        use diesel::RunQueryDsl;
        let columns = diesel::sql_query(
            "SELECT c.table_name::text, c.column_name::text, c.data_type::text
               FROM information_schema.columns c
               JOIN information_schema.tables t USING (table_schema, table_name)
              WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              ORDER BY c.table_name, c.ordinal_position",
        )
        .load::<Column>(conn)
        .expect("columns");
        let mut tables: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for c in columns {
            let expr = match c.data_type.as_str() {
                "bytea" => format!("encode(\"{}\", 'escape')", c.column_name),
                _ => format!("\"{}\"::text", c.column_name),
            };
            tables.entry(c.table_name).or_default().push(expr);
        }
        let mut rows = Vec::new();
        for (table, exprs) in tables {
            let query = format!("SELECT concat_ws(E'\\t', {}) AS text FROM \"{table}\"", exprs.join(", "));
            rows.extend(diesel::sql_query(query).load::<Row>(conn).expect("rows").into_iter().map(|r| r.text));
        }
        rows
    })
    .await
}

#[actix_web::test]
async fn no_api_key_or_signing_secret_is_stored_in_clear_and_replays_withhold_them() {
    use crate::harness::json_with;
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let with_key = |uri: &str, body: Value, key: &str| json_with(Method::POST, uri, body, &[("Idempotency-Key", key)]);
    let key_body = json!({"name": "Stored nowhere", "role": "readonly"});
    let created = send(&app, with_key("/api/v1/api-keys", key_body.clone(), "secret-key-1")).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let api_key = created.body["key"].as_str().expect("shown once").to_string();
    assert_eq!(created.body["secret_withheld"], false);
    let endpoint_body = json!({"url": "https://hooks.example.com/crm", "event_types": ["order.*"]});
    let endpoint = send(&app, with_key("/api/v1/webhook-endpoints", endpoint_body.clone(), "secret-endpoint-1")).await;
    assert_eq!(endpoint.status, 201, "{}", endpoint.body);
    let secret = endpoint.body["secret"].as_str().expect("shown once").to_string();
    let id = endpoint.body["id"].as_str().unwrap().to_string();
    let rotate = format!("/api/v1/webhook-endpoints/{id}/rotate-secret");
    let rotated = send(&app, with_key(&rotate, json!({"overlap_secs": 60}), "secret-rotate-1")).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_secret = rotated.body["secret"].as_str().expect("shown once").to_string();
    assert_ne!(new_secret, secret);

    // Replays answer the resource with the secret withheld, and say so.
    for (uri, body, idempotency, field, id) in [
        ("/api/v1/api-keys", key_body, "secret-key-1", "key", &created.body["id"]),
        ("/api/v1/webhook-endpoints", endpoint_body, "secret-endpoint-1", "secret", &endpoint.body["id"]),
        (rotate.as_str(), json!({"overlap_secs": 60}), "secret-rotate-1", "secret", &endpoint.body["id"]),
    ] {
        let replay = send(&app, with_key(uri, body, idempotency)).await;
        assert_eq!(replay.header("idempotent-replayed").as_deref(), Some("true"), "{uri}");
        assert_eq!(&replay.body["id"], id, "{uri}");
        assert_eq!(replay.body[field], Value::Null, "{uri}: {}", replay.body);
        assert_eq!(replay.body["secret_withheld"], true, "{uri}");
    }

    // No table holds any of them, nor the key bytes of the signing secrets.
    let rows = every_row(&ctx).await.join("\n");
    for needle in [&api_key, &secret, &new_secret] {
        let tail = needle.trim_start_matches("whsec_").trim_start_matches("hcrm_");
        assert!(!rows.contains(tail), "a secret is stored in clear");
    }
    assert!(rows.contains("sealed:v1:"), "the signing secrets are stored sealed");
}

#[actix_web::test]
async fn a_rotated_secret_signs_beside_the_new_one_until_its_overlap_ends() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[]).await;
    let (id, old) = endpoint(&app, &receiver.url, json!(["client.*"])).await;
    let rotated = post(&app, &format!("/api/v1/webhook-endpoints/{id}/rotate-secret"), json!({})).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new = rotated.body["secret"].as_str().unwrap().to_string();
    assert!(rotated.body["previous_secret_until"].is_string(), "a day of overlap by default");
    create_client(&app, "Rotated", "rotated@example.com").await;
    publish(&ctx).await;
    deliver(&ctx).await;
    let received = receiver.until_received(1, Duration::from_secs(5)).await;
    let delivery = &received[0];
    assert_eq!(delivery.header("webhook-signature").split(' ').count(), 2, "two signatures during the overlap");
    for secret in [&old, &new] {
        standardwebhooks::Webhook::new(secret).unwrap().verify(&delivery.body, &delivery.headers).expect("verifies");
    }

    // A count written as 3600.0 is a count; a fraction is not.
    let rotate = format!("/api/v1/webhook-endpoints/{id}/rotate-secret");
    let fraction = post(&app, &rotate, json!({"overlap_secs": 1.5})).await;
    fraction.problem(422, "validation_failed");
    assert_eq!(fraction.error_fields(), ["overlap_secs"]);
    let whole = post(&app, &rotate, json!({"overlap_secs": 3600.0})).await;
    assert_eq!(whole.status, 200, "{}", whole.body);
    let new = whole.body["secret"].as_str().unwrap().to_string();

    // Without an overlap the old secret stops signing at once.
    let retired =
        post(&app, &format!("/api/v1/webhook-endpoints/{id}/rotate-secret"), json!({"overlap_secs": 0})).await;
    let newest = retired.body["secret"].as_str().unwrap().to_string();
    assert_eq!(retired.body["previous_secret_until"], Value::Null);
    create_client(&app, "Rotated again", "rotated.again@example.com").await;
    publish(&ctx).await;
    deliver(&ctx).await;
    let received = receiver.until_received(2, Duration::from_secs(5)).await;
    let delivery = &received[1];
    assert_eq!(delivery.header("webhook-signature").split(' ').count(), 1);
    standardwebhooks::Webhook::new(&newest).unwrap().verify(&delivery.body, &delivery.headers).expect("verifies");
    assert!(standardwebhooks::Webhook::new(&new).unwrap().verify(&delivery.body, &delivery.headers).is_err());
}

#[actix_web::test]
async fn a_secret_stored_in_clear_before_sealing_is_sealed_at_start_and_still_signs() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[]).await;
    let (id, secret) = endpoint(&app, &receiver.url, json!(["client.*"])).await;
    let side = ctx.side_connection().await;
    side.execute(&format!("UPDATE webhook_endpoints SET secret = '{secret}' WHERE id = '{id}'")).await;
    assert_eq!(webhooks::reseal_secrets(&ctx.state).await.expect("resealed"), 1);
    assert_eq!(webhooks::reseal_secrets(&ctx.state).await.expect("resealed"), 0, "once");
    assert!(!every_row(&ctx).await.join("\n").contains(secret.trim_start_matches("whsec_")));
    create_client(&app, "Resealed", "resealed@example.com").await;
    publish(&ctx).await;
    deliver(&ctx).await;
    let received = receiver.until_received(1, Duration::from_secs(5)).await;
    standardwebhooks::Webhook::new(&secret).unwrap().verify(&received[0].body, &received[0].headers).expect("verifies");
}
