//! Notifications: messages for events, sent once over SMTP to a local sink (or to the log),
//! skipped when the client's MongoDB preferences say so, held while MongoDB is down, retried
//! when the SMTP server refuses, and the two reminders.

use crate::events::publish;
use crate::harness::{get, json_with, send, Passage, Server, SmtpSink, TestApp, TestContext};
use crate::{app, create_client, create_interest, create_product, order_body, post};
use actix_web::body::MessageBody;
use actix_web::http::Method;
use hybrid_crm::app::notifications::{self, Mailer};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

async fn send_all(ctx: &TestContext) -> usize {
    notifications::send_all_due(&ctx.state).await.expect("send notifications")
}

async fn of_client<S: TestApp<B>, B: MessageBody>(app: &S, client: &str) -> Vec<Value> {
    let reply = send(app, get(&format!("/api/v1/notifications?client_id={client}&limit=100"))).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

fn templates(notifications: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = notifications.iter().map(|n| n["template"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

fn workshop_starting_in(hours: i64, category: &str) -> Value {
    let starts = (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339();
    json!({"name": format!("Carving {}", uuid::Uuid::now_v7().simple()), "category_id": category, "starts_at": starts,
           "duration_minutes": 90, "modality": "online", "link": "https://meet.example.com/carving",
           "price": "60.00", "capacity": 10})
}

#[actix_web::test]
async fn events_send_their_messages_over_smtp_once() {
    let sink = SmtpSink::start(0).await;
    let ctx = TestContext::with_smtp(&sink.url).await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada Mail", "ada.mail@example.com").await;
    let product = create_product(&app, "Spokeshave", "30.00", 10).await;
    let order =
        post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": product, "quantity": 2}]))).await;
    let order = order.body["id"].as_str().unwrap().to_string();
    let key = uuid::Uuid::now_v7().to_string();
    let paid = send(
        &app,
        json_with(
            Method::POST,
            "/api/v1/payments",
            json!({"subject": {"type": "order", "id": order}, "amount": "60.00", "method": "cash"}),
            &[("Idempotency-Key", &key)],
        ),
    )
    .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let interest = create_interest(&app, "Carving").await;
    let workshop = post(&app, "/api/v1/workshops", workshop_starting_in(72, &interest)).await;
    let workshop_name = workshop.body["name"].as_str().unwrap().to_string();
    let workshop = workshop.body["id"].as_str().unwrap().to_string();
    let enrolled = post(&app, &format!("/api/v1/workshops/{workshop}/enrollments"), json!({"client_id": client})).await;
    let enrollment = enrolled.body["id"].as_str().unwrap().to_string();
    assert_eq!(post(&app, &format!("/api/v1/enrollments/{enrollment}/cancel"), json!({})).await.status, 200);

    publish(&ctx).await;
    send_all(&ctx).await;
    let mails = sink.mails();
    assert_eq!(mails.len(), 5, "{mails:#?}");
    assert!(mails.iter().all(|m| m.to == ["ada.mail@example.com"]));
    let subjects: Vec<&str> =
        mails.iter().map(|m| m.data.lines().find(|l| l.starts_with("Subject:")).unwrap_or("")).collect();
    assert!(subjects.contains(&"Subject: Welcome to Hybrid CRM"), "{subjects:?}");
    assert!(subjects.contains(&format!("Subject: Order confirmation {order}").as_str()), "{subjects:?}");
    assert!(subjects.contains(&"Subject: Payment receipt: 60.00"), "{subjects:?}");
    let confirmation = mails.iter().find(|m| m.data.contains("Order confirmation")).unwrap();
    assert!(confirmation.data.contains("Hello Ada Mail,"), "{}", confirmation.data);
    assert!(
        confirmation.data.contains("2 x Spokeshave - 60.00") && confirmation.data.contains("Total: 60.00"),
        "{}",
        confirmation.data
    );
    assert!(mails.iter().any(|m| m.data.contains(&format!("You are enrolled: {workshop_name}"))));
    assert!(mails.iter().any(|m| m.data.contains("Cancelled: your enrollment in")));

    let listed = of_client(&app, &client).await;
    assert_eq!(
        templates(&listed),
        ["cancellation", "enrollment_confirmed", "order_confirmation", "payment_receipt", "welcome"]
    );
    assert!(
        listed.iter().all(|n| n["status"] == "sent" && n["transport"] == "smtp" && n["attempts"] == 1),
        "{listed:?}"
    );

    // Publishing and sending again sends nothing twice.
    publish(&ctx).await;
    send_all(&ctx).await;
    assert_eq!(sink.mails().len(), 5);
}

#[actix_web::test]
async fn without_smtp_messages_go_to_the_log_and_preferences_can_turn_them_off() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let quiet = crate::post_client(
        &app,
        json!({"name": "Quiet", "email": "quiet@example.com", "kind": "b2c",
                                                "preferences": {"notifications": false}}),
    )
    .await;
    let quiet = quiet.body["id"].as_str().unwrap().to_string();
    let picky = crate::post_client(
        &app,
        json!({"name": "Picky", "email": "picky@example.com", "kind": "b2c",
                                                "preferences": {"notifications": {"welcome": false}}}),
    )
    .await;
    let picky = picky.body["id"].as_str().unwrap().to_string();
    let chatty = create_client(&app, "Chatty", "chatty@example.com").await;
    publish(&ctx).await;
    send_all(&ctx).await;

    let skipped = &of_client(&app, &quiet).await[0];
    assert_eq!((skipped["status"].clone(), skipped["transport"].clone()), (json!("skipped"), Value::Null));
    assert!(skipped["reason"].as_str().unwrap().contains("notifications: false"), "{skipped}");
    let picky_one = &of_client(&app, &picky).await[0];
    assert_eq!(picky_one["status"], "skipped");
    assert!(picky_one["reason"].as_str().unwrap().contains("notifications.welcome"));
    let sent = &of_client(&app, &chatty).await[0];
    assert_eq!(
        (sent["status"].clone(), sent["transport"].clone(), sent["recipient"].clone()),
        (json!("sent"), json!("log"), json!("chatty@example.com"))
    );
    let by_id = send(&app, get(&format!("/api/v1/notifications/{}", sent["id"].as_str().unwrap()))).await;
    assert_eq!(by_id.body["subject"], "Welcome to Hybrid CRM");
    let filtered = send(&app, get("/api/v1/notifications?status=skipped")).await.body;
    assert_eq!(filtered["items"].as_array().unwrap().len(), 2);
    send(&app, get(&format!("/api/v1/notifications/{}", uuid::Uuid::now_v7())))
        .await
        .problem(404, "notification_not_found");
}

#[actix_web::test]
async fn while_mongodb_is_down_the_sender_waits_instead_of_guessing() {
    let sink = SmtpSink::start(0).await;
    let mut ctx = TestContext::behind_proxies().await;
    ctx.state.mailer =
        Arc::new(Mailer::from_settings(Some(&sink.url), "CRM <crm@example.com>", Duration::from_secs(2)).unwrap());
    let app = app!(ctx);
    let client = create_client(&app, "Held", "held@example.com").await;
    publish(&ctx).await;
    ctx.mongo_proxy.as_ref().unwrap().set(Passage::Cut);
    send_all(&ctx).await;
    let held = &of_client(&app, &client).await[0];
    assert_eq!((held["status"].clone(), held["attempts"].clone()), (json!("pending"), json!(0)));
    assert!(held["reason"].as_str().unwrap().contains("waiting for MongoDB"), "{held}");
    assert!(sink.mails().is_empty());

    ctx.mongo_proxy.as_ref().unwrap().set(Passage::Open);
    let side = ctx.side_connection().await;
    side.execute("UPDATE notifications SET next_attempt_at = now()").await;
    send_all(&ctx).await;
    assert_eq!(of_client(&app, &client).await[0]["status"], "sent");
    assert_eq!(sink.mails().len(), 1);
}

#[actix_web::test]
async fn a_message_the_smtp_server_refuses_for_now_is_retried() {
    let sink = SmtpSink::start(1).await;
    let ctx = TestContext::with_smtp(&sink.url).await;
    let app = app!(ctx);
    let client = create_client(&app, "Retry Mail", "retry.mail@example.com").await;
    publish(&ctx).await;
    send_all(&ctx).await;
    let first = &of_client(&app, &client).await[0];
    assert_eq!((first["status"].clone(), first["attempts"].clone()), (json!("pending"), json!(1)));
    assert!(first["reason"].as_str().unwrap().contains("451"), "{first}");
    tokio::time::sleep(Duration::from_millis(150)).await;
    send_all(&ctx).await;
    let sent = &of_client(&app, &client).await[0];
    assert_eq!((sent["status"].clone(), sent["attempts"].clone()), (json!("sent"), json!(2)));
    assert_eq!(sink.mails().len(), 1);
}

#[actix_web::test]
async fn payment_reminders_reach_each_debtor_once_a_day_and_workshop_reminders_come_a_day_ahead() {
    let sink = SmtpSink::start(0).await;
    let ctx = TestContext::with_smtp(&sink.url).await;
    let app = app!(ctx);
    let interest = create_interest(&app, "Turning").await;
    let soon = post(&app, "/api/v1/workshops", workshop_starting_in(20, &interest)).await;
    let soon = soon.body["id"].as_str().unwrap().to_string();
    let mut enrollments = Vec::new();
    for name in ["Owes", "Owes Too", "Paid Up"] {
        let email = format!("{}@example.com", name.to_lowercase().replace(' ', "."));
        let client = create_client(&app, name, &email).await;
        let enrolled = post(&app, &format!("/api/v1/workshops/{soon}/enrollments"), json!({"client_id": client})).await;
        enrollments.push(enrolled.body["id"].as_str().unwrap().to_string());
    }
    let paid = post(
        &app,
        &format!("/api/v1/enrollments/{}/payments", enrollments[2]),
        json!({"amount": "60.00", "method": "cash"}),
    )
    .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    publish(&ctx).await;
    send_all(&ctx).await;
    let before = sink.mails().len();

    let first = post(&app, &format!("/api/v1/workshops/{soon}/payment-reminders"), json!({})).await;
    assert_eq!(first.status.as_u16(), 202, "{}", first.body);
    assert_eq!(first.body, json!({"debtors": 2, "queued": 2, "already_reminded_today": 0}));
    let again = post(&app, &format!("/api/v1/workshops/{soon}/payment-reminders"), json!({})).await;
    assert_eq!(again.body, json!({"debtors": 2, "queued": 0, "already_reminded_today": 2}));
    let missing = post(&app, &format!("/api/v1/workshops/{}/payment-reminders", uuid::Uuid::now_v7()), json!({})).await;
    missing.problem(404, "workshop_not_found");

    // The workshop starts within 24 h: every live enrollment gets its reminder, once.
    assert_eq!(notifications::sweep_workshop_reminders(&ctx.state).await.unwrap(), 3);
    assert_eq!(notifications::sweep_workshop_reminders(&ctx.state).await.unwrap(), 0);
    send_all(&ctx).await;
    let mails = sink.mails()[before..].to_vec();
    let reminders: Vec<_> = mails.iter().filter(|m| m.data.contains("Subject: Payment reminder")).collect();
    assert_eq!(reminders.len(), 2);
    assert!(reminders.iter().all(|m| m.data.contains("60.00 of 60.00 is still to be paid")), "{reminders:?}");
    assert!(!reminders.iter().any(|m| m.to == ["paid.up@example.com"]));
    assert_eq!(mails.iter().filter(|m| m.data.contains("Subject: Tomorrow:")).count(), 3);
}

#[actix_web::test]
async fn a_message_whose_server_is_killed_mid_send_is_sent_by_the_restarted_server() {
    // The SMTP server takes the first message's data and never answers; the next is taken.
    let sink = SmtpSink::hanging(1).await;
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let settings = [
        ("EVENTS_POLL_MS", "100"),
        ("NOTIFY_POLL_MS", "100"),
        ("SMTP_URL", sink.url.as_str()),
        ("SMTP_TIMEOUT_MS", "1000"),
        ("NOTIFY_RETRY_SCHEDULE", "100ms"),
    ];
    let server = Server::start_with(&ctx, &settings).await;
    let body = json!({"name": "Killed Mid Send", "email": "killed.mid.send@example.com", "kind": "b2c"});
    let (status, _, created) = server.request("POST", "/api/v1/clients", Some(&body), &[]).await.unwrap();
    assert_eq!(status, 201);
    let client = created["id"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sink.received() == 0 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sink.received(), 1, "the welcome is being sent");
    server.kill();
    let stuck = &of_client(&app, &client).await[0];
    assert_eq!(stuck["status"], "sending", "claimed under a lease when the server died: {stuck}");

    // The dead sender's lease (twice the SMTP timeout and 5 s) runs out; a restarted server's
    // sender claims the message again and sends it.
    let restarted = Server::start_with(&ctx, &settings).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sink.mails().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sink.mails().len(), 1, "sent after the restart");
    assert_eq!(sink.mails()[0].to, ["killed.mid.send@example.com"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let mut sent = Value::Null;
    while std::time::Instant::now() < deadline {
        sent = of_client(&app, &client).await[0].clone();
        if sent["status"] == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((sent["status"].clone(), sent["transport"].clone()), (json!("sent"), json!("smtp")), "{sent}");
    drop(restarted);
}
