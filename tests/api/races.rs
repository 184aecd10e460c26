//! Races forced to overlap: a session of the test's own holds a lock or an uncommitted change
//! while requests run, and lets go only once they wait on it. Each test fails on the code
//! before the fix it guards (noted per test).

use crate::harness::{get, json, send, SideConnection, TestContext};
use crate::{
    app, create_client, create_interest, create_product, create_workshop, order_body, order_in, post, stock_of,
};
use actix_web::http::Method;
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// Waits until `n` sessions wait for a lock, then commits the side session.
async fn release_when_waiting(side: &SideConnection, n: i64) -> bool {
    let waited = side.until_waiting(n, WAIT).await;
    side.execute("COMMIT").await;
    waited
}

/// Before: the coupon's terms were read without a lock, and the redemption only checked the
/// count — an order that read "active" before a deactivation committed after it, discounted.
#[actix_web::test]
async fn orders_in_flight_while_a_coupon_is_deactivated_never_commit_with_it() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let item = create_product(&app, "Kit", "10.00", 1000).await;
    let coupon = post(&app, "/api/v1/coupons", json!({"code": "GOING", "kind": "percentage", "value": "10"})).await;
    let coupon_id = coupon.body["id"].as_str().unwrap().to_string();
    let mut clients = Vec::new();
    for i in 0..30 {
        clients.push(create_client(&app, "Buyer", &format!("buyer{i}@example.com")).await);
    }

    // The deactivation is under way (uncommitted) while the 30 orders come in.
    let side = ctx.side_connection().await;
    side.execute("BEGIN").await;
    side.execute(&format!("UPDATE coupons SET active = false WHERE id = '{coupon_id}'")).await;
    let orders = join_all(clients.iter().map(|client| {
        let mut body = order_body(client, json!([{"product_id": item, "quantity": 1}]));
        body["coupon_code"] = json!("GOING");
        post(&app, "/api/v1/orders", body)
    }));
    // The pool admits 8 at a time: the first 8 are in flight when the deactivation commits.
    let (replies, waited) = futures_util::join!(orders, release_when_waiting(&side, 8));
    assert!(waited, "the orders were held behind the deactivation");
    let discounted = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies.iter().filter(|r| r.status == 409 && r.body["code"] == "coupon_inactive").count();
    assert_eq!((discounted, refused), (0, 30), "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
    assert_eq!(send(&app, get(&format!("/api/v1/coupons/{coupon_id}"))).await.body["redemptions"], 0);
    assert_eq!(stock_of(&app, &item).await, 1000, "refused orders took no stock");
}

/// The same race through the API: whatever interleaving, the orders holding the coupon are
/// exactly those the deactivation saw committed.
#[actix_web::test]
async fn a_coupon_deactivated_through_the_api_while_30_orders_use_it_counts_every_discount() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let item = create_product(&app, "Kit", "10.00", 1000).await;
    let coupon = post(&app, "/api/v1/coupons", json!({"code": "RACE", "kind": "fixed_amount", "value": "1"})).await;
    let coupon_id = coupon.body["id"].as_str().unwrap().to_string();
    let mut clients = Vec::new();
    for i in 0..30 {
        clients.push(create_client(&app, "Buyer", &format!("buyer{i}@example.com")).await);
    }
    let orders = join_all(clients.iter().map(|client| {
        let mut body = order_body(client, json!([{"product_id": item, "quantity": 1}]));
        body["coupon_code"] = json!("RACE");
        post(&app, "/api/v1/orders", body)
    }));
    let deactivate = async {
        actix_web::rt::time::sleep(Duration::from_millis(30)).await;
        send(&app, json(Method::PATCH, &format!("/api/v1/coupons/{coupon_id}"), json!({"active": false}))).await
    };
    let (replies, deactivated) = futures_util::join!(orders, deactivate);
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    let discounted = replies.iter().filter(|r| r.status == 201).count() as i64;
    assert!(replies.iter().all(|r| r.status == 201 || r.body["code"] == "coupon_inactive"));
    assert_eq!(deactivated.body["redemptions"], discounted, "no order committed after the deactivation has the coupon");
}

/// Before: the client was read without a lock; a delete committing meanwhile made the order's
/// insert fail on the foreign key, reported as a misleading 409 `client_in_use`.
#[actix_web::test]
async fn an_order_or_enrollment_for_a_client_deleted_meanwhile_is_422_unknown_client() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let item = create_product(&app, "Kit", "1.00", 10).await;
    let interest = create_interest(&app, "Knots").await;
    let workshop = create_workshop(&app, "Sailor knots", &interest, 5).await;
    for (what, uri, body) in [
        ("order", "/api/v1/orders".to_string(), order_body("{client}", json!([{"product_id": item, "quantity": 1}]))),
        ("enrollment", format!("/api/v1/workshops/{workshop}/enrollments"), json!({"client_id": "{client}"})),
    ] {
        let client = create_client(&app, "Leaving", &format!("leaving-{what}@example.com")).await;
        let body: Value = serde_json::from_str(&body.to_string().replace("{client}", &client)).unwrap();
        let side = ctx.side_connection().await;
        side.execute("BEGIN").await;
        side.execute(&format!("DELETE FROM clients WHERE id = '{client}'")).await;
        let (reply, waited) = futures_util::join!(post(&app, &uri, body), release_when_waiting(&side, 1));
        assert!(waited, "the {what} waited for the delete");
        reply.problem(422, "validation_failed");
        assert_eq!(
            (reply.error_fields(), reply.error_codes()),
            (vec!["client_id".into()], vec!["unknown_client".into()])
        );
    }
    assert_eq!(stock_of(&app, &item).await, 10);
}

/// Before: a deactivation committing while an order or enrollment was in flight was not seen,
/// and the inactive client was admitted.
#[actix_web::test]
async fn an_order_or_enrollment_for_a_client_deactivated_meanwhile_is_409_client_inactive() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let item = create_product(&app, "Kit", "1.00", 10).await;
    let interest = create_interest(&app, "Rope").await;
    let workshop = create_workshop(&app, "Splicing", &interest, 5).await;
    for (what, uri, body) in [
        ("order", "/api/v1/orders".to_string(), order_body("{client}", json!([{"product_id": item, "quantity": 1}]))),
        ("enrollment", format!("/api/v1/workshops/{workshop}/enrollments"), json!({"client_id": "{client}"})),
    ] {
        let client = create_client(&app, "Pausing", &format!("pausing-{what}@example.com")).await;
        let body: Value = serde_json::from_str(&body.to_string().replace("{client}", &client)).unwrap();
        let side = ctx.side_connection().await;
        side.execute("BEGIN").await;
        side.execute(&format!("UPDATE clients SET active = false WHERE id = '{client}'")).await;
        let (reply, waited) = futures_util::join!(post(&app, &uri, body), release_when_waiting(&side, 1));
        assert!(waited, "the {what} waited for the deactivation");
        reply.problem(409, "client_inactive");
    }
    assert_eq!(stock_of(&app, &item).await, 10);
}

/// Before the order row was locked, both requests read the old status and both applied.
#[actix_web::test]
async fn a_cancel_and_an_advance_held_at_the_same_moment_let_exactly_one_win() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let item = create_product(&app, "Kit", "1.00", 100).await;
    for (from, next) in [("confirmed", "processing"), ("processing", "shipped")] {
        let id = order_in(&app, &client, &item, from).await;
        let side = ctx.side_connection().await;
        side.execute("BEGIN").await;
        side.execute(&format!("SELECT 1 FROM orders WHERE id = '{id}' FOR UPDATE")).await;
        let (cancel_uri, status_uri) = (format!("/api/v1/orders/{id}/cancel"), format!("/api/v1/orders/{id}/status"));
        let cancel = post(&app, &cancel_uri, json!({}));
        let advance = post(&app, &status_uri, json!({"status": next}));
        let (cancel, advance, waited) = futures_util::join!(cancel, advance, release_when_waiting(&side, 2));
        assert!(
            waited,
            "both requests waited on the order: {} {} / {} {}",
            cancel.status, cancel.body, advance.status, advance.body
        );
        let winners = [&cancel, &advance].iter().filter(|r| r.status == 200).count();
        assert_eq!(winners, 1, "{from}: cancel {} / {next} {}", cancel.body, advance.body);
        let loser = if cancel.status == 200 { &advance } else { &cancel };
        loser.problem(409, "invalid_transition");
        let order = send(&app, get(&format!("/api/v1/orders/{id}"))).await;
        let history = order.body["status_history"].as_array().unwrap();
        assert_eq!(history.len() as i64, order.body["version"].as_i64().unwrap());
        assert_eq!(history.last().unwrap()["to"], order.body["status"]);
    }
}

/// Before free seats were taken `FOR UPDATE` when the capacity shrank, a seat an enrollment was
/// claiming (not yet committed) looked free and was deleted under it: more enrollments than
/// seats.
#[actix_web::test]
async fn lowering_capacity_while_an_enrollment_claims_the_last_seat_keeps_every_enrollment_seated() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let interest = create_interest(&app, "Weaving").await;
    let workshop = create_workshop(&app, "Looms", &interest, 3).await;
    for i in 0..2 {
        let client = create_client(&app, "Weaver", &format!("weaver{i}@example.com")).await;
        let enrolled =
            post(&app, &format!("/api/v1/workshops/{workshop}/enrollments"), json!({"client_id": client})).await;
        assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    }
    // A third enrollment is claiming the last free seat, not yet committed.
    let third = create_client(&app, "Weaver", "weaver2@example.com").await;
    let enrollment = uuid::Uuid::now_v7();
    let side = ctx.side_connection().await;
    side.execute("BEGIN").await;
    side.execute(&format!(
        "INSERT INTO enrollments (id, workshop_id, client_id, price) VALUES ('{enrollment}', '{workshop}', '{third}', 80)"
    ))
    .await;
    side.execute(&format!(
        "UPDATE workshop_seats SET enrollment_id = '{enrollment}' WHERE workshop_id = '{workshop}' AND enrollment_id IS NULL"
    ))
    .await;
    let shrink = send(&app, json(Method::PATCH, &format!("/api/v1/workshops/{workshop}"), json!({"capacity": 2})));
    let (shrunk, waited) = futures_util::join!(shrink, release_when_waiting(&side, 1));
    assert!(waited, "the capacity change waited for the seat being claimed");
    shrunk.problem(409, "capacity_below_seats_taken");
    let read = send(&app, get(&format!("/api/v1/workshops/{workshop}"))).await;
    assert_eq!((read.body["capacity"].as_i64(), read.body["seats_taken"].as_i64()), (Some(3), Some(3)));
}

/// Before the workshop's terms were read under a share lock, an enrollment could commit with
/// the price a concurrent change was replacing.
#[actix_web::test]
async fn an_enrollment_held_behind_a_price_change_commits_with_the_new_price() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let interest = create_interest(&app, "Ceramics").await;
    let workshop = create_workshop(&app, "Glazing", &interest, 5).await;
    let client = create_client(&app, "Potter", "potter@example.com").await;
    let side = ctx.side_connection().await;
    side.execute("BEGIN").await;
    side.execute(&format!("UPDATE workshops SET price = 95.50 WHERE id = '{workshop}'")).await;
    let uri = format!("/api/v1/workshops/{workshop}/enrollments");
    let enroll = post(&app, &uri, json!({"client_id": client}));
    let (enrolled, waited) = futures_util::join!(enroll, release_when_waiting(&side, 1));
    assert!(waited, "the enrollment waited for the price change");
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    assert_eq!(enrolled.body["price"], "95.50");
}
