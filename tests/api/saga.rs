//! The payment saga survives `kill -9`: a real server process takes a payment, is killed while
//! the gateway call is in flight, and a restarted server's worker finishes it (a refund too).
//! Also: the enrollment payments recorded before the ledger migrate into it with nothing lost.

use crate::harness::{empty_database, get, request, send, Server, TestContext};
use crate::{app, create_client, create_product, order_in};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::MigrationHarness;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

#[actix_web::test]
async fn a_payment_whose_server_is_killed_mid_charge_is_finished_by_the_restarted_server() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Killed", "killed@example.com").await;
    let product = create_product(&app, "Sturdy chair", "55.00", 5).await;
    let order = order_in(&app, &client, &product, "pending").await;

    let server = Server::start(&ctx).await;
    let body =
        json!({"subject": {"type": "order", "id": order}, "amount": "55.00", "method": "card", "token": "tok_slow"});
    let headers = [("Idempotency-Key", "kill-9-test")];
    // The request waits for the gateway (3 s) up to PAYMENT_SYNC_WAIT_MS (2.5 s); the server
    // dies before it answers, so the caller never learns the payment's id.
    let addr = server.addr.clone();
    let in_flight = {
        let body = body.clone();
        tokio::spawn(async move {
            let _ =
                request(&addr, "POST", "/api/v1/payments", Some(&body), &[("Idempotency-Key", "kill-9-test")]).await;
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let listed = send(&app, get(&format!("/api/v1/payments?subject_id={order}"))).await.body;
    let running = listed["items"][0].clone();
    let id = running["id"].as_str().expect("the payment is recorded").to_string();
    assert_eq!(
        (running["status"].clone(), running["steps"][1]["status"].clone()),
        (json!("processing"), json!("running"))
    );
    server.kill();
    let _ = in_flight.await;

    // Nothing finishes it while no server runs.
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    let stalled = send(&app, get(&format!("/api/v1/payments/{id}"))).await.body;
    assert_eq!(stalled["status"], "processing", "{stalled}");
    assert_eq!(send(&app, get(&format!("/api/v1/orders/{order}"))).await.body["status"], "pending");

    // A restarted server's worker takes it over once the lease ran out and charges again
    // (the gateway call is idempotent per payment id).
    let restarted = Server::start(&ctx).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut done = Value::Null;
    while Instant::now() < deadline {
        let (_, _, payment) = restarted.request("GET", &format!("/api/v1/payments/{id}"), None, &[]).await.unwrap();
        if payment["status"] != "processing" {
            done = payment;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done["steps"][1]["attempts"].as_i64().unwrap() >= 1);
    let confirmed = send(&app, get(&format!("/api/v1/orders/{order}"))).await.body;
    assert_eq!((confirmed["status"].clone(), confirmed["amount_paid"].clone()), (json!("confirmed"), json!("55.00")));

    // The killed request's key committed with the payment but kept no response: a retry is
    // sent to the payment instead of charging again.
    let (status, head, _) = restarted.request("POST", "/api/v1/payments", Some(&body), &headers).await.unwrap();
    assert_eq!(status, 303, "{head}");
    assert!(head.to_ascii_lowercase().contains(&format!("location: /api/v1/payments/{id}")), "{head}");
    let listed = send(&app, get(&format!("/api/v1/payments?subject_id={order}"))).await.body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "charged once");
}

#[test]
fn enrollment_payments_recorded_before_the_ledger_move_into_it_with_nothing_lost() {
    let url = empty_database();
    let mut conn = PgConnection::establish(&url).expect("connect");
    // Every migration before the ledger's.
    loop {
        let pending = conn.pending_migrations(hybrid_crm::store::pg::MIGRATIONS).expect("pending");
        let next = pending.first().expect("the payments migration exists").name().to_string();
        if next.contains("payments") {
            break;
        }
        conn.run_next_migration(hybrid_crm::store::pg::MIGRATIONS).expect("migrate");
    }
    conn.batch_execute(
        "INSERT INTO interests (id, name) VALUES ('00000000-0000-7000-8000-000000000001', 'Wood');
         INSERT INTO clients (id, name, email, kind) VALUES ('00000000-0000-7000-8000-000000000002', 'Old', 'old@example.com', 'b2c');
         INSERT INTO workshops (id, name, category_id, starts_at, duration_minutes, modality, link, price, capacity)
              VALUES ('00000000-0000-7000-8000-000000000003', 'Old one', '00000000-0000-7000-8000-000000000001',
                      now() + interval '7 days', 60, 'online', 'https://meet.example.com/x', 80, 5);
         INSERT INTO enrollments (id, workshop_id, client_id, status, price, amount_paid)
              VALUES ('00000000-0000-7000-8000-000000000004', '00000000-0000-7000-8000-000000000003',
                      '00000000-0000-7000-8000-000000000002', 'partially_paid', 80, 50);
         INSERT INTO enrollment_payments (id, enrollment_id, amount, method, created_at) VALUES
              ('00000000-0000-7000-8000-000000000005', '00000000-0000-7000-8000-000000000004', 20, 'cash', '2026-01-02T10:00:00Z'),
              ('00000000-0000-7000-8000-000000000006', '00000000-0000-7000-8000-000000000004', 30, 'card', '2026-01-03T10:00:00Z');",
    )
    .expect("data recorded before the ledger");
    conn.run_pending_migrations(hybrid_crm::store::pg::MIGRATIONS).expect("the rest");
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Moved {
        #[diesel(sql_type = diesel::sql_types::Text)]
        row: String,
    }
    let rows: Vec<Moved> = diesel::sql_query(
        "SELECT concat_ws(' ', id, subject_type, enrollment_id, client_id, amount, method, status, created_at AT TIME ZONE 'UTC') AS row
           FROM payments ORDER BY id",
    )
    .load(&mut conn)
    .expect("payments");
    let rows: Vec<String> = rows.into_iter().map(|m| m.row).collect();
    assert_eq!(
        rows,
        [
            "00000000-0000-7000-8000-000000000005 enrollment 00000000-0000-7000-8000-000000000004 00000000-0000-7000-8000-000000000002 20.00 cash succeeded 2026-01-02 10:00:00",
            "00000000-0000-7000-8000-000000000006 enrollment 00000000-0000-7000-8000-000000000004 00000000-0000-7000-8000-000000000002 30.00 card succeeded 2026-01-03 10:00:00",
        ]
    );
}

#[actix_web::test]
async fn a_refund_whose_server_is_killed_mid_gateway_is_credited_once_by_the_restarted_server() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Refunded", "refunded.kill@example.com").await;
    let product = create_product(&app, "Sturdy stool", "60.00", 5).await;
    let order = order_in(&app, &client, &product, "pending").await;
    // Paid with a charge whose refunds take the sandbox's slow path (3 s, past the 2.5 s wait).
    let body =
        json!({"subject": {"type": "order", "id": order}, "amount": "60.00", "method": "card", "token": "tok_slow"});
    let paid = send(
        &app,
        crate::harness::json_with(
            actix_web::http::Method::POST,
            "/api/v1/payments",
            body,
            &[("Idempotency-Key", "slow-charge")],
        ),
    )
    .await;
    let payment = paid.body["id"].as_str().expect("payment").to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while send(&app, get(&format!("/api/v1/payments/{payment}"))).await.body["status"] == "processing" {
        assert!(Instant::now() < deadline, "the slow charge never finished");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let server = Server::start(&ctx).await;
    let addr = server.addr.clone();
    let uri = format!("/api/v1/payments/{payment}/refunds");
    let goodwill = json!({"amount": "15.00", "reason": "Goodwill"});
    let in_flight = {
        let (uri, goodwill) = (uri.clone(), goodwill.clone());
        tokio::spawn(async move {
            let _ = request(&addr, "POST", &uri, Some(&goodwill), &[("Idempotency-Key", "kill-refund")]).await;
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let refunds = send(&app, get(&format!("/api/v1/payments/{payment}/refunds"))).await.body["items"].clone();
    let refund = refunds[0]["id"].as_str().expect("the refund is recorded").to_string();
    assert_eq!(refunds[0]["status"], "processing");
    server.kill();
    let _ = in_flight.await;
    // Nothing is credited while no server runs.
    let order_now = send(&app, get(&format!("/api/v1/orders/{order}"))).await.body;
    assert_eq!(
        (order_now["amount_paid"].clone(), order_now["amount_refunded"].clone()),
        (json!("60.00"), json!("0.00"))
    );

    // The restarted server's worker finishes it after the lease: credited once, nothing owed.
    let restarted = Server::start(&ctx).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut done = Value::Null;
    while Instant::now() < deadline {
        let (_, _, found) =
            restarted.request("GET", &format!("/api/v1/payments/{payment}/refunds/{refund}"), None, &[]).await.unwrap();
        if found["status"] != "processing" {
            done = found;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(done["status"], "succeeded", "{done}");
    let credited = send(&app, get(&format!("/api/v1/orders/{order}"))).await.body;
    assert_eq!(
        (credited["amount_paid"].clone(), credited["amount_refunded"].clone(), credited["balance"].clone()),
        (json!("45.00"), json!("15.00"), json!("0.00"))
    );
    // The killed request's retry is sent to the refund; no second refund.
    let (status, head, _) =
        restarted.request("POST", &uri, Some(&goodwill), &[("Idempotency-Key", "kill-refund")]).await.unwrap();
    assert_eq!(status, 303, "{head}");
    let refunds = send(&app, get(&format!("/api/v1/payments/{payment}/refunds"))).await.body["items"].clone();
    assert_eq!(refunds.as_array().unwrap().len(), 1, "refunded once");
}
