//! Workshops, race-free enrollments, payments and the client view's activity summary.

use crate::harness::{delete, get, json, send, TestContext};
use crate::{app, create_client, create_interest, create_workshop as workshop, in_days, post, workshop_body};
use actix_web::http::Method;
use futures_util::future::join_all;
use serde_json::json;

#[actix_web::test]
async fn workshops_have_full_crud_with_validation_and_filters() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let woodworking = create_interest(&app, "Woodworking").await;
    let id = workshop(&app, "Dovetails", &woodworking, 2).await;
    let read = send(&app, get(&format!("/api/v1/workshops/{id}"))).await;
    assert_eq!((read.body["seats_available"].clone(), read.body["price"].clone()), (json!(2), json!("80.00")));

    post(&app, "/api/v1/workshops", workshop_body("DOVETAILS", &woodworking, 5)).await.problem(409, "name_taken");
    let mut online = workshop_body("Online finishing", &woodworking, 5);
    online["modality"] = json!("online");
    let refused = post(&app, "/api/v1/workshops", online.clone()).await;
    refused.problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), vec!["link"]);
    online["link"] = json!("https://meet.example.com/finishing");
    assert_eq!(post(&app, "/api/v1/workshops", online).await.status, 201);
    let mut past = workshop_body("Yesterday", &woodworking, 5);
    past["starts_at"] = json!(in_days(-1));
    assert_eq!(post(&app, "/api/v1/workshops", past).await.error_fields(), vec!["starts_at"]);
    let unknown = workshop_body("Nowhere", "00000000-0000-7000-8000-000000000000", 5);
    assert_eq!(post(&app, "/api/v1/workshops", unknown).await.error_fields(), vec!["category_id"]);

    let by_modality = send(&app, get("/api/v1/workshops?modality=online&upcoming=true")).await;
    assert_eq!(by_modality.body["items"].as_array().unwrap().len(), 1);
    let by_category =
        send(&app, get(&format!("/api/v1/workshops?category_id={woodworking}&has_seats=true&limit=1"))).await;
    assert_eq!(by_category.body["items"].as_array().unwrap().len(), 1);
    assert!(by_category.body["next_cursor"].is_string());

    let patched = send(
        &app,
        json(
            Method::PATCH,
            &format!("/api/v1/workshops/{id}"),
            json!({"capacity": 3, "modality": "online", "link": "https://x.example"}),
        ),
    )
    .await;
    assert_eq!((patched.status.as_u16(), patched.body["seats_available"].clone()), (200, json!(3)), "{}", patched.body);
    send(&app, json(Method::PATCH, &format!("/api/v1/workshops/{id}"), json!({"link": null})))
        .await
        .problem(422, "validation_failed");
    send(&app, delete(&format!("/api/v1/interests/{woodworking}"))).await.problem(409, "interest_in_use");
    assert_eq!(send(&app, delete(&format!("/api/v1/workshops/{id}"))).await.status, 204);
    send(&app, get(&format!("/api/v1/workshops/{id}"))).await.problem(404, "workshop_not_found");
}

#[actix_web::test]
async fn enrolling_takes_a_seat_adds_the_interest_and_payments_move_the_status() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let woodworking = create_interest(&app, "Woodworking").await;
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let id = workshop(&app, "Dovetails", &woodworking, 2).await;
    let enroll_uri = format!("/api/v1/workshops/{id}/enrollments");

    let enrolled = post(&app, &enroll_uri, json!({"client_id": client})).await;
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    assert_eq!(enrolled.body["status"], "pending_payment");
    assert_eq!(enrolled.body["balance"], "80.00");
    let enrollment = enrolled.body["id"].as_str().unwrap().to_string();
    assert_eq!(enrolled.header("location").unwrap(), format!("/api/v1/enrollments/{enrollment}"));
    assert_eq!(send(&app, get(&format!("/api/v1/workshops/{id}"))).await.body["seats_available"], 1);
    let client_now = send(&app, get(&format!("/api/v1/clients/{client}"))).await;
    assert_eq!(client_now.body["interest_ids"], json!([woodworking]));
    assert_eq!(client_now.body["version"], 2, "the new interest changed the client");
    post(&app, &enroll_uri, json!({"client_id": client})).await.problem(409, "already_enrolled");

    let pay_uri = format!("/api/v1/enrollments/{enrollment}/payments");
    let partial = post(&app, &pay_uri, json!({"amount": "30.00", "method": "cash"})).await;
    assert_eq!(
        (partial.body["status"].clone(), partial.body["balance"].clone()),
        (json!("partially_paid"), json!("50.00"))
    );
    let over = post(&app, &pay_uri, json!({"amount": "50.01", "method": "card"})).await;
    assert_eq!(over.problem(409, "overpayment")["details"]["balance"], "50.00");
    let debtors = send(&app, get("/api/v1/enrollments?unpaid=true")).await;
    assert_eq!(debtors.body["items"][0]["id"], enrollment.as_str());
    let paid = post(&app, &pay_uri, json!({"amount": "50", "method": "card"})).await;
    assert_eq!((paid.body["status"].clone(), paid.body["balance"].clone()), (json!("paid"), json!("0.00")));
    assert_eq!(send(&app, get("/api/v1/enrollments?unpaid=true")).await.body["items"], json!([]));
    let payments = send(&app, get(&pay_uri)).await;
    assert_eq!(
        payments.body["items"].as_array().unwrap().iter().map(|p| p["amount"].clone()).collect::<Vec<_>>(),
        [json!("30.00"), json!("50.00")]
    );

    let cancel_uri = format!("/api/v1/enrollments/{enrollment}/cancel");
    let cancelled = send(&app, actix_web::test::TestRequest::post().uri(&cancel_uri).to_request()).await;
    assert_eq!(cancelled.body["status"], "cancelled", "{}", cancelled.body);
    send(&app, actix_web::test::TestRequest::post().uri(&cancel_uri).to_request())
        .await
        .problem(409, "already_cancelled");
    assert_eq!(send(&app, get(&format!("/api/v1/workshops/{id}"))).await.body["seats_available"], 2, "released once");
    post(&app, &pay_uri, json!({"amount": "1", "method": "card"})).await.problem(409, "enrollment_cancelled");
    assert_eq!(
        post(&app, &enroll_uri, json!({"client_id": client})).await.status,
        201,
        "a cancelled enrollment does not block"
    );
    let listed =
        send(&app, get(&format!("/api/v1/enrollments?workshop_id={id}&client_id={client}&status=cancelled"))).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    send(&app, delete(&format!("/api/v1/workshops/{id}"))).await.problem(409, "workshop_in_use");
    send(&app, get("/api/v1/enrollments/00000000-0000-7000-8000-000000000000"))
        .await
        .problem(404, "enrollment_not_found");
}

#[actix_web::test]
async fn inactive_started_and_sold_out_workshops_refuse_enrollments() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let interest = create_interest(&app, "Ceramics").await;
    let (ada, alan) =
        (create_client(&app, "Ada", "ada@example.com").await, create_client(&app, "Alan", "alan@example.com").await);
    let id = workshop(&app, "Wheel throwing", &interest, 1).await;
    let uri = format!("/api/v1/workshops/{id}/enrollments");
    assert_eq!(post(&app, &uri, json!({"client_id": ada})).await.status, 201);
    let sold_out = post(&app, &uri, json!({"client_id": alan})).await;
    assert_eq!(sold_out.problem(409, "sold_out")["details"]["seats_available"], 0);
    send(&app, json(Method::PATCH, &format!("/api/v1/workshops/{id}"), json!({"capacity": 2, "active": false}))).await;
    post(&app, &uri, json!({"client_id": alan})).await.problem(409, "workshop_inactive");
    send(
        &app,
        json(Method::PATCH, &format!("/api/v1/workshops/{id}"), json!({"active": true, "starts_at": in_days(-1)})),
    )
    .await;
    post(&app, &uri, json!({"client_id": alan})).await.problem(409, "workshop_started");
    send(
        &app,
        json(Method::PATCH, &format!("/api/v1/workshops/{id}"), json!({"capacity": 1, "starts_at": in_days(3)})),
    )
    .await;
    send(&app, json(Method::PATCH, &format!("/api/v1/workshops/{id}"), json!({"capacity": 0})))
        .await
        .problem(422, "validation_failed");
    let two = workshop(&app, "Glazing", &interest, 2).await;
    post(&app, &format!("/api/v1/workshops/{two}/enrollments"), json!({"client_id": ada})).await;
    post(&app, &format!("/api/v1/workshops/{two}/enrollments"), json!({"client_id": alan})).await;
    send(&app, json(Method::PATCH, &format!("/api/v1/workshops/{two}"), json!({"capacity": 1})))
        .await
        .problem(409, "capacity_below_seats_taken");
    post(&app, &uri, json!({"client_id": "00000000-0000-7000-8000-000000000000"}))
        .await
        .problem(422, "validation_failed");
    post(&app, "/api/v1/workshops/00000000-0000-7000-8000-000000000000/enrollments", json!({"client_id": ada}))
        .await
        .problem(404, "workshop_not_found");
}

#[actix_web::test]
async fn sixty_concurrent_enrollments_for_seven_seats_take_exactly_seven() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let interest = create_interest(&app, "Robotics").await;
    let id = workshop(&app, "Line followers", &interest, 7).await;
    let mut clients = Vec::new();
    for i in 0..60 {
        clients.push(create_client(&app, "Maker", &format!("maker{i}@example.com")).await);
    }
    let uri = format!("/api/v1/workshops/{id}/enrollments");
    let replies = join_all(clients.iter().map(|client| post(&app, &uri, json!({"client_id": client})))).await;
    let enrolled = replies.iter().filter(|r| r.status == 201).count();
    let sold_out = replies.iter().filter(|r| r.status == 409 && r.body["code"] == "sold_out").count();
    assert_eq!((enrolled, sold_out), (7, 53));
    let read = send(&app, get(&format!("/api/v1/workshops/{id}"))).await;
    assert_eq!((read.body["seats_taken"].clone(), read.body["seats_available"].clone()), (json!(7), json!(0)));
    let listed = send(&app, get(&format!("/api/v1/enrollments?workshop_id={id}&limit=100"))).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 7);
}

#[actix_web::test]
async fn one_client_enrolling_ten_times_at_once_gets_one_seat() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let interest = create_interest(&app, "Baking").await;
    let id = workshop(&app, "Sourdough", &interest, 20).await;
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let uri = format!("/api/v1/workshops/{id}/enrollments");
    let replies = join_all((0..10).map(|_| post(&app, &uri, json!({"client_id": client})))).await;
    assert_eq!(replies.iter().filter(|r| r.status == 201).count(), 1);
    assert!(replies.iter().filter(|r| r.status != 201).all(|r| r.body["code"] == "already_enrolled"));
    assert_eq!(send(&app, get(&format!("/api/v1/workshops/{id}"))).await.body["seats_taken"], 1);
}

#[actix_web::test]
async fn the_client_view_summarizes_orders_and_enrollments() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let empty = send(&app, get(&format!("/api/v1/clients/{client}/view"))).await;
    assert_eq!(
        empty.body["activity"],
        json!({"order_count": 0, "total_spent": "0.00", "orders_owed": "0.00", "total_paid": "0.00", "last_order": null,
               "upcoming_workshops": [], "unpaid_enrollments": []})
    );

    let product = post(&app, "/api/v1/products", json!({"name": "Kit", "price": "12.50", "stock": 10})).await;
    let item = product.body["id"].as_str().unwrap();
    let order = |quantity: i32| json!({"client_id": client, "items": [{"product_id": item, "quantity": quantity}], "shipping_address": "1 Main St", "payment_method": "card"});
    post(&app, "/api/v1/orders", order(2)).await;
    let cancelled = post(&app, "/api/v1/orders", order(1)).await;
    let cancelled_id = cancelled.body["id"].as_str().unwrap();
    post(&app, &format!("/api/v1/orders/{cancelled_id}/cancel"), json!({})).await;
    let interest = create_interest(&app, "Woodworking").await;
    let id = workshop(&app, "Dovetails", &interest, 5).await;
    let enrolled = post(&app, &format!("/api/v1/workshops/{id}/enrollments"), json!({"client_id": client})).await;

    let view = send(&app, get(&format!("/api/v1/clients/{client}/view"))).await;
    let activity = &view.body["activity"];
    assert_eq!(activity["order_count"], 2);
    assert_eq!(activity["total_spent"], "25.00", "cancelled orders are not spent");
    assert_eq!(activity["last_order"]["id"], cancelled_id);
    assert_eq!(activity["last_order"]["status"], "cancelled");
    assert_eq!(activity["upcoming_workshops"][0]["workshop_name"], "Dovetails");
    assert_eq!(activity["unpaid_enrollments"][0]["enrollment_id"], enrolled.body["id"]);
    assert_eq!(activity["unpaid_enrollments"][0]["balance"], "80.00");
    assert_eq!(view.body["interests"][0]["name"], "Woodworking");
}

#[actix_web::test]
async fn lowering_capacity_while_clients_enroll_never_leaves_more_enrollments_than_seats() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let interest = create_interest(&app, "Textiles").await;
    let id = workshop(&app, "Weaving", &interest, 10).await;
    let mut clients = Vec::new();
    for i in 0..20 {
        clients.push(create_client(&app, "Weaver", &format!("weaver{i}@example.com")).await);
    }
    let uri = format!("/api/v1/workshops/{id}/enrollments");
    let patch_uri = format!("/api/v1/workshops/{id}");
    let enrollments = join_all(clients.iter().map(|client| post(&app, &uri, json!({"client_id": client}))));
    let shrink = send(&app, json(Method::PATCH, &patch_uri, json!({"capacity": 5})));
    let (replies, shrunk) = futures_util::join!(enrollments, shrink);
    let enrolled = replies.iter().filter(|r| r.status == 201).count() as i64;
    let read = send(&app, get(&patch_uri)).await;
    let capacity = read.body["capacity"].as_i64().unwrap();
    assert_eq!(read.body["seats_taken"], enrolled, "every enrollment holds exactly one seat");
    assert!(enrolled <= capacity, "{enrolled} enrollments for {capacity} seats");
    match shrunk.status.as_u16() {
        200 => assert_eq!((capacity, enrolled), (5, 5)),
        409 => assert_eq!((capacity, enrolled), (10, 10)),
        other => panic!("unexpected {other}: {}", shrunk.body),
    }
}
