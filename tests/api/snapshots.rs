//! Every read is one snapshot: a session of the test's own changes what a read spans (and
//! holds an exclusive lock on one of the tables the read visits later) while the read runs,
//! then commits. A read made of separate statements would see part of the change; one
//! snapshot sees none of it.

use crate::harness::{get, send, SideConnection, TestContext};
use crate::{app, create_client, create_interest, create_product, create_workshop, order_in, post};
use serde_json::json;
use std::time::Duration;

async fn release_when_waiting(side: &SideConnection) -> bool {
    let waited = side.until_waiting(1, Duration::from_secs(10)).await;
    side.execute("COMMIT").await;
    waited
}

/// An order confirmed (status and history) by the side session, which holds the history table.
async fn confirm_behind_a_lock(side: &SideConnection, order: &str) {
    side.execute("BEGIN").await;
    side.execute("LOCK TABLE order_status_history IN ACCESS EXCLUSIVE MODE").await;
    side.execute(&format!("UPDATE orders SET status = 'confirmed', version = version + 1 WHERE id = '{order}'")).await;
    side.execute(&format!(
        "INSERT INTO order_status_history (id, order_id, from_status, to_status) VALUES ('{}', '{order}', 'pending', 'confirmed')",
        uuid::Uuid::now_v7()
    ))
    .await;
}

#[track_caller]
fn assert_status_agrees_with_history(order: &serde_json::Value) {
    let history = order["status_history"].as_array().expect("history");
    assert_eq!(history.last().expect("an entry")["to"], order["status"], "{order}");
    assert_eq!(history.len() as i64, order["version"].as_i64().unwrap(), "{order}");
    let allowed: Vec<&str> =
        order["allowed_transitions"].as_array().unwrap().iter().filter_map(|s| s.as_str()).collect();
    let expected: &[&str] =
        if order["status"] == "pending" { &["confirmed", "cancelled"] } else { &["processing", "cancelled"] };
    assert_eq!(allowed, expected, "{order}");
}

#[actix_web::test]
async fn an_order_read_during_a_status_change_shows_a_status_its_history_agrees_with() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let item = create_product(&app, "Kit", "1.00", 10).await;
    let order = order_in(&app, &client, &item, "pending").await;

    let side = ctx.side_connection().await;
    confirm_behind_a_lock(&side, &order).await;
    let uri = format!("/api/v1/orders/{order}");
    let (read, waited) = futures_util::join!(send(&app, get(&uri)), release_when_waiting(&side));
    assert!(waited, "the read reached the locked history");
    assert_eq!(read.status, 200, "{}", read.body);
    assert_status_agrees_with_history(&read.body);
    assert_status_agrees_with_history(&send(&app, get(&uri)).await.body);
}

#[actix_web::test]
async fn an_order_list_read_during_a_status_change_agrees_with_itself() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let item = create_product(&app, "Kit", "1.00", 10).await;
    let order = order_in(&app, &client, &item, "pending").await;

    let side = ctx.side_connection().await;
    confirm_behind_a_lock(&side, &order).await;
    let (list, waited) = futures_util::join!(send(&app, get("/api/v1/orders")), release_when_waiting(&side));
    assert!(waited, "the list reached the locked history");
    assert_eq!(list.status, 200, "{}", list.body);
    assert_status_agrees_with_history(&list.body["items"][0]);
}

#[actix_web::test]
async fn a_workshop_list_read_while_seats_change_never_shows_a_capacity_its_seats_contradict() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let interest = create_interest(&app, "Glass").await;
    let workshop = create_workshop(&app, "Blowing", &interest, 2).await;
    let first = create_client(&app, "One", "one@example.com").await;
    post(&app, &format!("/api/v1/workshops/{workshop}/enrollments"), json!({"client_id": first})).await;
    let others =
        [create_client(&app, "Two", "two@example.com").await, create_client(&app, "Three", "three@example.com").await];

    // The capacity grows to 3 and two more clients take seats, in one transaction that holds
    // the seats table while the list runs.
    let side = ctx.side_connection().await;
    side.execute("BEGIN").await;
    side.execute("LOCK TABLE workshop_seats IN ACCESS EXCLUSIVE MODE").await;
    side.execute(&format!("UPDATE workshops SET capacity = 3 WHERE id = '{workshop}'")).await;
    side.execute(&format!("INSERT INTO workshop_seats (workshop_id, seat_no) VALUES ('{workshop}', 3)")).await;
    for client in &others {
        let enrollment = uuid::Uuid::now_v7();
        side.execute(&format!(
            "INSERT INTO enrollments (id, workshop_id, client_id, price) VALUES ('{enrollment}', '{workshop}', '{client}', 80)"
        ))
        .await;
        side.execute(&format!(
            "UPDATE workshop_seats SET enrollment_id = '{enrollment}' WHERE (workshop_id, seat_no) =
                 (SELECT workshop_id, seat_no FROM workshop_seats WHERE workshop_id = '{workshop}' AND enrollment_id IS NULL LIMIT 1)"
        ))
        .await;
    }
    let (list, waited) = futures_util::join!(send(&app, get("/api/v1/workshops")), release_when_waiting(&side));
    assert!(waited, "the list reached the locked seats");
    let item = &list.body["items"][0];
    let (capacity, taken, available) = (
        item["capacity"].as_i64().unwrap(),
        item["seats_taken"].as_i64().unwrap(),
        item["seats_available"].as_i64().unwrap(),
    );
    assert!(taken <= capacity && available >= 0, "capacity {capacity}, taken {taken}, available {available}");
    assert!((capacity, taken) == (2, 1) || (capacity, taken) == (3, 3), "before or after, never a mix: {item}");
}

#[actix_web::test]
async fn a_client_view_read_while_the_client_enrolls_never_shows_half_the_enrollment() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let item = create_product(&app, "Kit", "1.00", 10).await;
    order_in(&app, &client, &item, "pending").await; // the view summarizes activity from now on
    let category = create_interest(&app, "Lace").await;
    let workshop = create_workshop(&app, "Bobbin lace", &category, 5).await;

    // Enrolling adds the workshop's category to the client's interests: both or neither show.
    let side = ctx.side_connection().await;
    side.execute("BEGIN").await;
    side.execute("LOCK TABLE enrollments IN ACCESS EXCLUSIVE MODE").await;
    let enrollment = uuid::Uuid::now_v7();
    side.execute(&format!(
        "INSERT INTO enrollments (id, workshop_id, client_id, price) VALUES ('{enrollment}', '{workshop}', '{client}', 80)"
    ))
    .await;
    side.execute(&format!("INSERT INTO client_interests (client_id, interest_id) VALUES ('{client}', '{category}')"))
        .await;
    let uri = format!("/api/v1/clients/{client}/view");
    let (view, waited) = futures_util::join!(send(&app, get(&uri)), release_when_waiting(&side));
    assert!(waited, "the view reached the locked enrollments");
    assert_eq!(view.status, 200, "{}", view.body);
    let has_interest = view.body["interests"].as_array().unwrap().iter().any(|i| i["id"] == category.as_str());
    let upcoming = view.body["activity"]["upcoming_workshops"].as_array().unwrap();
    let enrolled = upcoming.iter().any(|w| w["workshop_id"] == workshop.as_str());
    assert_eq!(has_interest, enrolled, "interests and activity from one snapshot: {}", view.body);
    assert_eq!(
        view.body["client"]["interest_ids"].as_array().unwrap().iter().any(|i| i == category.as_str()),
        has_interest
    );
}
