//! Catalog, stock movements, coupons and orders: exact money, race-free stock and redemptions,
//! the status machine, and the merged order view.

use crate::harness::{get, json, send, TestContext};
use crate::{app, create_client, create_product as product, order_body, order_in, post, stock_of};
use actix_web::http::Method;
use futures_util::future::join_all;
use serde_json::{json, Value};

#[actix_web::test]
async fn categories_and_products_have_full_crud_with_derived_slugs_and_stock_status() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let category = post(&app, "/api/v1/categories", json!({"name": "Woodworking Kits"})).await;
    assert_eq!(category.status, 201, "{}", category.body);
    assert_eq!(category.body["slug"], "woodworking-kits");
    let category_id = category.body["id"].as_str().unwrap().to_string();
    post(&app, "/api/v1/categories", json!({"name": "WOODWORKING KITS", "slug": "other"}))
        .await
        .problem(409, "name_taken");
    post(&app, "/api/v1/categories", json!({"name": "Other", "slug": "Bad Slug"}))
        .await
        .problem(422, "validation_failed");

    let body =
        json!({"name": "Dovetail Kit", "price": "24.90", "stock": 12, "reorder_point": 8, "category_id": category_id});
    let created = post(&app, "/api/v1/products", body.clone()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["slug"], "dovetail-kit");
    assert_eq!(created.body["price"], "24.90");
    assert_eq!(created.body["stock_status"], "low", "12 ≤ 1.5 × 8");
    let id = created.body["id"].as_str().unwrap().to_string();
    post(&app, "/api/v1/products", body).await.problem(409, "slug_taken");
    post(
        &app,
        "/api/v1/products",
        json!({"name": "X", "price": "1", "category_id": "00000000-0000-7000-8000-000000000000"}),
    )
    .await
    .problem(422, "validation_failed");

    let patched = send(
        &app,
        json(Method::PATCH, &format!("/api/v1/products/{id}"), json!({"reorder_point": 12, "description": "Oak"})),
    )
    .await;
    assert_eq!(patched.body["stock_status"], "critical");
    assert_eq!(patched.body["description"], "Oak");
    send(&app, json(Method::PATCH, &format!("/api/v1/products/{id}"), json!({"stock": 99})))
        .await
        .problem(422, "validation_failed");

    let listed = send(&app, get(&format!("/api/v1/products?category_id={category_id}&stock_status=critical"))).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    let none = send(&app, get("/api/v1/products?stock_status=optimal")).await;
    assert_eq!(none.body["items"], json!([]));
    // Bands are computed without overflow at the largest reorder point.
    let huge = json!({"name": "Huge", "price": "1", "stock": 1_000_000_000, "reorder_point": 1_000_000_000});
    assert_eq!(post(&app, "/api/v1/products", huge).await.status, 201);
    for band in ["low", "optimal"] {
        assert_eq!(send(&app, get(&format!("/api/v1/products?stock_status={band}"))).await.status, 200);
    }

    send(&app, crate::harness::delete(&format!("/api/v1/categories/{category_id}")))
        .await
        .problem(409, "category_in_use");
    assert_eq!(send(&app, crate::harness::delete(&format!("/api/v1/products/{id}"))).await.status, 204);
    send(&app, get(&format!("/api/v1/products/{id}"))).await.problem(404, "product_not_found");
    assert_eq!(send(&app, crate::harness::delete(&format!("/api/v1/categories/{category_id}"))).await.status, 204);
}

#[actix_web::test]
async fn product_lists_sort_by_price_and_page_with_cursors() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    for (name, price) in [("A", "5.00"), ("B", "1.50"), ("C", "3.00"), ("D", "1.50"), ("E", "9.99")] {
        product(&app, &format!("Kit {name}"), price, 1).await;
    }
    let mut prices = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = send(&app, get(&format!("/api/v1/products?sort=-price&limit=2&cursor={cursor}"))).await;
        assert_eq!(page.status, 200, "{}", page.body);
        prices.extend(page.body["items"].as_array().unwrap().iter().map(|p| p["price"].as_str().unwrap().to_string()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(prices, ["9.99", "5.00", "3.00", "1.50", "1.50"]);
    let searched = send(&app, get("/api/v1/products?q=kit%20c")).await;
    assert_eq!(searched.body["items"][0]["name"], "Kit C");
    send(&app, get("/api/v1/products?sort=name&cursor=bm90IGEgY3Vyc29y")).await.problem(422, "validation_failed");
}

#[actix_web::test]
async fn prices_are_decimal_strings_with_at_most_two_decimals() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    for price in [json!(19.99), json!("1.234"), json!("0"), json!("-1"), json!("1e3"), json!("1000000.01")] {
        let reply = post(&app, "/api/v1/products", json!({"name": "Kit", "price": price})).await;
        reply.problem(422, "validation_failed");
        assert_eq!(reply.error_fields(), vec!["price"], "{price}");
    }
    assert_eq!(send(&app, get("/api/v1/products")).await.body["items"], json!([]));
}

#[actix_web::test]
async fn stock_movements_record_every_change_and_refuse_to_oversell() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let id = product(&app, "Chisel", "12.00", 5).await;
    let uri = format!("/api/v1/products/{id}/stock-movements");
    let moved = post(&app, &uri, json!({"kind": "in", "quantity": 10, "reason": "delivery"})).await;
    assert_eq!(moved.status, 201, "{}", moved.body);
    assert_eq!(moved.body["resulting_stock"], 15);
    let refused = post(&app, &uri, json!({"kind": "out", "quantity": 16, "reason": "breakage"})).await;
    refused.problem(409, "insufficient_stock");
    assert_eq!(stock_of(&app, &id).await, 15, "nothing changed");
    assert_eq!(post(&app, &uri, json!({"kind": "out", "quantity": 3, "reason": "breakage"})).await.body["delta"], -3);
    let adjusted = post(&app, &uri, json!({"kind": "adjust", "quantity": 4, "reason": "count"})).await;
    assert_eq!((adjusted.body["delta"].clone(), adjusted.body["resulting_stock"].clone()), (json!(-8), json!(4)));
    post(&app, &uri, json!({"kind": "in", "quantity": 0, "reason": "nothing"})).await.problem(422, "validation_failed");
    post(&app, &uri, json!({"kind": "steal", "quantity": 1, "reason": "x"})).await.problem(422, "validation_failed");

    let history = send(&app, get(&format!("{uri}?limit=10"))).await;
    let kinds: Vec<(String, i64)> = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["kind"].as_str().unwrap().to_string(), m["resulting_stock"].as_i64().unwrap()))
        .collect();
    let expected = [("adjust", 4), ("out", 12), ("in", 15), ("in", 5)];
    assert_eq!(kinds, expected.map(|(k, s)| (k.to_string(), s)), "newest first, initial stock included");
    send(&app, get("/api/v1/products/00000000-0000-7000-8000-000000000000/stock-movements"))
        .await
        .problem(404, "product_not_found");
}

#[actix_web::test]
async fn orders_price_exactly_merge_repeated_products_and_write_stock_history() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let dime = product(&app, "Dime", "0.10", 10).await;
    let kit = product(&app, "Kit", "19.99", 5).await;
    let placed = post(
        &app,
        "/api/v1/orders",
        order_body(&client, json!([{"product_id": dime, "quantity": 2}, {"product_id": kit, "quantity": 1}, {"product_id": dime, "quantity": 1}])),
    )
    .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let order = &placed.body;
    assert_eq!(order["items"].as_array().unwrap().len(), 2, "the repeated product is merged");
    let dime_line = order["items"].as_array().unwrap().iter().find(|i| i["product_id"] == dime.as_str()).unwrap();
    assert_eq!((dime_line["quantity"].clone(), dime_line["line_total"].clone()), (json!(3), json!("0.30")));
    assert_eq!(order["subtotal"], "20.29");
    assert_eq!(order["discount"], "0.00");
    assert_eq!(order["total"], "20.29");
    assert_eq!(order["status"], "pending");
    assert_eq!(order["allowed_transitions"], json!(["confirmed", "cancelled"]));
    assert_eq!(stock_of(&app, &dime).await, 7);
    let id = order["id"].as_str().unwrap();
    assert_eq!(placed.header("location").unwrap(), format!("/api/v1/orders/{id}"));

    let history = send(&app, get(&format!("/api/v1/products/{dime}/stock-movements"))).await;
    assert_eq!(history.body["items"][0]["order_id"], id);
    assert_eq!(history.body["items"][0]["delta"], -3);

    assert_eq!(send(&app, get(&format!("/api/v1/orders/{id}"))).await.body, placed.body);
    let listed = send(&app, get(&format!("/api/v1/orders?client_id={client}&status=pending"))).await;
    assert_eq!(listed.body["items"][0]["id"], id);
    let none = send(&app, get("/api/v1/orders?status=shipped")).await;
    assert_eq!(none.body["items"], json!([]));
    let future = send(&app, get("/api/v1/orders?created_from=2999-01-01T00:00:00Z")).await;
    assert_eq!(future.body["items"], json!([]));
}

#[actix_web::test]
async fn refused_orders_name_the_problem_and_write_nothing() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let scarce = product(&app, "Scarce", "5.00", 2).await;
    let plenty = product(&app, "Plenty", "1.00", 100).await;

    let short = post(
        &app,
        "/api/v1/orders",
        order_body(&client, json!([{"product_id": plenty, "quantity": 5}, {"product_id": scarce, "quantity": 3}])),
    )
    .await;
    let problem = short.problem(409, "insufficient_stock");
    assert_eq!(problem["details"], json!({"product_id": scarce, "requested": 3, "available": 2}));
    assert_eq!(short.error_fields(), vec!["items[1].quantity"]);
    assert_eq!(stock_of(&app, &plenty).await, 100, "the first line's stock was given back");
    assert_eq!(send(&app, get("/api/v1/orders")).await.body["items"], json!([]));

    let unknown = "00000000-0000-7000-8000-000000000000";
    let reply =
        post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": unknown, "quantity": 1}]))).await;
    reply.problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), vec!["items[0].product_id"]);
    post(&app, "/api/v1/orders", order_body(unknown, json!([{"product_id": plenty, "quantity": 1}])))
        .await
        .problem(422, "validation_failed");
    post(&app, "/api/v1/orders", order_body(&client, json!([]))).await.problem(422, "validation_failed");
    post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": plenty, "quantity": 0}])))
        .await
        .problem(422, "validation_failed");

    send(&app, json(Method::PATCH, &format!("/api/v1/products/{plenty}"), json!({"active": false}))).await;
    post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": plenty, "quantity": 1}])))
        .await
        .problem(409, "product_inactive");
    let mut with_coupon = order_body(&client, json!([{"product_id": scarce, "quantity": 1}]));
    with_coupon["coupon_code"] = json!("NOPE");
    post(&app, "/api/v1/orders", with_coupon).await.problem(422, "validation_failed");
    assert_eq!(stock_of(&app, &scarce).await, 2);
}

#[actix_web::test]
async fn coupons_discount_exactly_and_respect_their_terms() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let quarter = product(&app, "Quarter", "0.25", 100).await;
    let coupon = post(
        &app,
        "/api/v1/coupons",
        json!({"code": "Ten", "kind": "percentage", "value": "10", "once_per_client": true}),
    )
    .await;
    assert_eq!(coupon.status, 201, "{}", coupon.body);
    post(&app, "/api/v1/coupons", json!({"code": "TEN", "kind": "fixed_amount", "value": "1"}))
        .await
        .problem(409, "code_taken");
    post(&app, "/api/v1/coupons", json!({"code": "BIG", "kind": "percentage", "value": "100.01"}))
        .await
        .problem(422, "validation_failed");

    let mut body = order_body(&client, json!([{"product_id": quarter, "quantity": 1}]));
    body["coupon_code"] = json!("ten");
    let order = post(&app, "/api/v1/orders", body.clone()).await;
    assert_eq!(order.status, 201, "{}", order.body);
    assert_eq!(
        (order.body["subtotal"].clone(), order.body["discount"].clone(), order.body["total"].clone()),
        (json!("0.25"), json!("0.02"), json!("0.23")),
        "10 % of 0.25 is 0.025, rounded half to even"
    );
    assert_eq!(order.body["coupon_code"], "Ten");
    post(&app, "/api/v1/orders", body.clone()).await.problem(409, "coupon_already_used");

    // Cancelling gives the redemption back, so the client may use it again.
    let id = order.body["id"].as_str().unwrap();
    assert_eq!(send(&app, json(Method::POST, &format!("/api/v1/orders/{id}/cancel"), json!({}))).await.status, 200);
    let coupon_id = coupon.body["id"].as_str().unwrap();
    assert_eq!(send(&app, get(&format!("/api/v1/coupons/{coupon_id}"))).await.body["redemptions"], 0);
    assert_eq!(post(&app, "/api/v1/orders", body).await.status, 201);

    let fixed = post(
        &app,
        "/api/v1/coupons",
        json!({"code": "BIGFIX", "kind": "fixed_amount", "value": "50", "min_order_amount": "0.50"}),
    )
    .await;
    assert_eq!(fixed.status, 201, "{}", fixed.body);
    let mut small = order_body(&client, json!([{"product_id": quarter, "quantity": 1}]));
    small["coupon_code"] = json!("BIGFIX");
    post(&app, "/api/v1/orders", small.clone()).await.problem(409, "coupon_minimum_not_met");
    small["items"] = json!([{"product_id": quarter, "quantity": 4}]);
    let capped = post(&app, "/api/v1/orders", small).await;
    assert_eq!(
        (capped.body["discount"].clone(), capped.body["total"].clone()),
        (json!("1.00"), json!("0.00")),
        "never negative"
    );

    let expired = post(
        &app,
        "/api/v1/coupons",
        json!({"code": "OLD", "kind": "fixed_amount", "value": "1", "valid_until": "2020-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(expired.status, 201);
    let mut late = order_body(&client, json!([{"product_id": quarter, "quantity": 8}]));
    late["coupon_code"] = json!("old");
    post(&app, "/api/v1/orders", late).await.problem(409, "coupon_expired");

    let fixed_id = fixed.body["id"].as_str().unwrap();
    send(
        &app,
        json(
            Method::PATCH,
            &format!("/api/v1/coupons/{fixed_id}"),
            json!({"valid_from": "2030-01-01T00:00:00Z", "valid_until": "2029-01-01T00:00:00Z"}),
        ),
    )
    .await
    .problem(422, "validation_failed");
    send(&app, crate::harness::delete(&format!("/api/v1/coupons/{fixed_id}"))).await.problem(409, "coupon_in_use");
    let listed = send(&app, get("/api/v1/coupons?q=fix")).await;
    assert_eq!(listed.body["items"][0]["code"], "BIGFIX");
}

#[actix_web::test]
async fn every_status_transition_is_allowed_or_refused_as_the_machine_says() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let item = product(&app, "Kit", "1.00", 1000).await;
    let statuses = ["pending", "confirmed", "processing", "shipped", "delivered", "cancelled"];
    let allowed = [
        ("pending", "confirmed"),
        ("pending", "cancelled"),
        ("confirmed", "processing"),
        ("confirmed", "cancelled"),
        ("processing", "shipped"),
        ("shipped", "delivered"),
    ];
    for from in statuses {
        for to in statuses {
            let id = order_in(&app, &client, &item, from).await;
            let reply = post(&app, &format!("/api/v1/orders/{id}/status"), json!({"status": to, "note": "test"})).await;
            if allowed.contains(&(from, to)) {
                assert_eq!(reply.status, 200, "{from} -> {to}: {}", reply.body);
                assert_eq!(reply.body["status"], to);
                let last = reply.body["status_history"].as_array().unwrap().last().unwrap().clone();
                assert_eq!(
                    (last["from"].clone(), last["to"].clone(), last["note"].clone()),
                    (json!(from), json!(to), json!("test"))
                );
            } else {
                let problem = reply.problem(409, "invalid_transition");
                let expected: Vec<&str> = allowed.iter().filter(|(f, _)| *f == from).map(|(_, t)| *t).collect();
                assert_eq!(problem["details"]["allowed"], json!(expected), "{from} -> {to}");
            }
        }
    }
    send(&app, json(Method::POST, "/api/v1/orders/00000000-0000-7000-8000-000000000000/cancel", json!({})))
        .await
        .problem(404, "order_not_found");
}

#[actix_web::test]
async fn cancelling_restores_stock_with_history_and_works_without_a_body() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let item = product(&app, "Kit", "3.00", 5).await;
    let placed = post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": item, "quantity": 4}]))).await;
    let id = placed.body["id"].as_str().unwrap();
    assert_eq!(stock_of(&app, &item).await, 1);
    let request = actix_web::test::TestRequest::post().uri(&format!("/api/v1/orders/{id}/cancel")).to_request();
    let cancelled = send(&app, request).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(stock_of(&app, &item).await, 5);
    let history = send(&app, get(&format!("/api/v1/products/{item}/stock-movements"))).await;
    assert_eq!(
        (history.body["items"][0]["kind"].clone(), history.body["items"][0]["resulting_stock"].clone()),
        (json!("in"), json!(5))
    );
    post(&app, &format!("/api/v1/orders/{id}/cancel"), json!({"note": "again"}))
        .await
        .problem(409, "invalid_transition");
    assert_eq!(stock_of(&app, &item).await, 5, "stock is restored once");
}

#[actix_web::test]
async fn forty_concurrent_orders_for_ten_units_sell_exactly_ten() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let item = product(&app, "Limited", "9.99", 10).await;
    let mut clients = Vec::new();
    for i in 0..40 {
        clients.push(create_client(&app, "Buyer", &format!("buyer{i}@example.com")).await);
    }
    let replies =
        join_all(clients.iter().map(|client| {
            post(&app, "/api/v1/orders", order_body(client, json!([{"product_id": item, "quantity": 1}])))
        }))
        .await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts = replies.iter().filter(|r| r.status == 409 && r.body["code"] == "insufficient_stock").count();
    assert_eq!((created, conflicts), (10, 30));
    assert_eq!(stock_of(&app, &item).await, 0);
    let history = send(&app, get(&format!("/api/v1/products/{item}/stock-movements?limit=100"))).await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 11, "initial stock and ten sales");
}

#[actix_web::test]
async fn a_coupon_with_five_redemptions_discounts_exactly_five_of_thirty_concurrent_orders() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let item = product(&app, "Popular", "10.00", 1000).await;
    let coupon = post(
        &app,
        "/api/v1/coupons",
        json!({"code": "FIVE", "kind": "fixed_amount", "value": "2", "max_redemptions": 5}),
    )
    .await;
    let mut clients = Vec::new();
    for i in 0..30 {
        clients.push(create_client(&app, "Buyer", &format!("buyer{i}@example.com")).await);
    }
    let replies = join_all(clients.iter().map(|client| {
        let mut body = order_body(client, json!([{"product_id": item, "quantity": 1}]));
        body["coupon_code"] = json!("FIVE");
        post(&app, "/api/v1/orders", body)
    }))
    .await;
    let discounted = replies.iter().filter(|r| r.status == 201 && r.body["discount"] == "2.00").count();
    let exhausted = replies.iter().filter(|r| r.status == 409 && r.body["code"] == "coupon_exhausted").count();
    assert_eq!((discounted, exhausted), (5, 25));
    let id = coupon.body["id"].as_str().unwrap();
    assert_eq!(send(&app, get(&format!("/api/v1/coupons/{id}"))).await.body["redemptions"], 5);
    assert_eq!(stock_of(&app, &item).await, 995, "refused orders took no stock");
}

#[actix_web::test]
async fn the_order_view_merges_the_client_preferences_and_degrades_without_mongodb() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let created = crate::post_client(
        &app,
        json!({"name": "Ada", "email": "ada@example.com", "kind": "b2c", "preferences": {"language": "en"}}),
    )
    .await;
    let client = created.body["id"].as_str().unwrap().to_string();
    let item = product(&app, "Kit", "2.50", 10).await;
    let placed = post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": item, "quantity": 2}]))).await;
    let id = placed.body["id"].as_str().unwrap();
    let view = send(&app, get(&format!("/api/v1/orders/{id}/view"))).await;
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.body["order"]["total"], "5.00");
    assert_eq!(view.body["order"]["items"][0]["product_name"], "Kit");
    assert_eq!(view.body["client"]["email"], "ada@example.com");
    assert_eq!(view.body["client_preferences"], json!({"language": "en"}));
    assert_eq!(view.body["degraded"], Value::Null);
    send(&app, get("/api/v1/orders/00000000-0000-7000-8000-000000000000/view")).await.problem(404, "order_not_found");

    let down = TestContext::with_mongodb_down().await;
    let app = app!(down);
    let client = down.insert_client_without_document("Only PG", "only@example.com").await.to_string();
    let item = product(&app, "Kit", "2.50", 10).await;
    let placed = post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": item, "quantity": 1}]))).await;
    assert_eq!(placed.status, 201, "placing orders needs PostgreSQL only: {}", placed.body);
    let view = send(&app, get(&format!("/api/v1/orders/{}/view", placed.body["id"].as_str().unwrap()))).await;
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.body["client_preferences"], Value::Null);
    assert_eq!(view.body["degraded"]["missing"], json!(["client_preferences"]));
}

#[actix_web::test]
async fn clients_with_orders_cannot_be_deleted() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let item = product(&app, "Kit", "1.00", 10).await;
    post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": item, "quantity": 1}]))).await;
    send(&app, crate::harness::delete(&format!("/api/v1/clients/{client}"))).await.problem(409, "client_in_use");
    send(&app, crate::harness::delete(&format!("/api/v1/products/{item}"))).await.problem(409, "product_in_use");
}
