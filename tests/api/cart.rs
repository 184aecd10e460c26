//! The store's server-side cart: shared by a customer's devices, conditional writes, totals as
//! checkout would make them, and checkout into an order in one idempotent command that never
//! oversells, however many customers race for the last unit.

use crate::harness::{bearer, send, send_as_is, Reply, TestContext, STAFF_PASSWORD};
use crate::{create_product, post, stock_of};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use futures_util::future::join_all;
use serde_json::{json, Value};

/// A request of the customer `token`, with these headers.
fn mine(method: Method, uri: &str, token: &str, body: Option<Value>, headers: &[(&str, &str)]) -> actix_http::Request {
    let mut request = TestRequest::default().method(method).uri(uri).insert_header(("Authorization", bearer(token)));
    for header in headers {
        request = request.insert_header(*header);
    }
    if let Some(body) = body {
        request = request.set_json(body);
    }
    request.to_request()
}

const CART: &str = "/api/v1/store/me/cart";
const LINES: &str = "/api/v1/store/me/cart/lines";
const CHECKOUT: &str = "/api/v1/store/me/cart/checkout";

fn checkout_body() -> Value {
    json!({"shipping_address": "5 Shop Street", "payment_method": "card"})
}

fn tag(reply: &Reply) -> String {
    reply.header("etag").expect("ETag")
}

#[actix_web::test]
async fn a_customer_s_cart_is_shared_by_their_devices_and_checked_out_once_into_an_order() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let (client, phone) = crate::harness::new_customer_session(&ctx, "cart-owner").await;
    let phone = phone.access_token;
    let browser = hybrid_crm::app::auth::sign_in(
        &ctx.state,
        hybrid_crm::domain::auth::Audience::Customers,
        "cart-owner@customers.example.com".into(),
        STAFF_PASSWORD.into(),
        Some("browser".into()),
        None,
    )
    .await
    .expect("a second device")
    .access_token;
    let (_, other) = crate::harness::new_customer(&ctx, "cart-other").await;
    let chisel = create_product(&app, "Chisel", "10.00", 5).await;
    let last_plane = create_product(&app, "Plane", "4.50", 1).await;
    let retired = create_product(&app, "Old saw", "9.00", 3).await;
    send(&app, crate::harness::json(Method::PATCH, &format!("/api/v1/products/{retired}"), json!({"active": false})))
        .await;
    let coupon = post(&app, "/api/v1/coupons", json!({"code": "WELCOME10", "kind": "percentage", "value": "10"})).await;
    assert_eq!(coupon.status, 201, "{}", coupon.body);

    let empty = send_as_is(&app, mine(Method::GET, CART, &phone, None, &[])).await;
    assert_eq!((empty.body["lines"].clone(), empty.body["ready"].as_bool()), (json!([]), Some(false)));
    let added =
        send_as_is(&app, mine(Method::POST, LINES, &phone, Some(json!({"product_id": chisel, "quantity": 2})), &[]))
            .await;
    assert_eq!((added.status.as_u16(), added.body["subtotal"].as_str()), (200, Some("20.00")), "{}", added.body);
    let stale = tag(&added);
    // The browser sees the phone's cart and adds to the same line.
    let more =
        send_as_is(&app, mine(Method::POST, LINES, &browser, Some(json!({"product_id": chisel, "quantity": 1})), &[]))
            .await;
    assert_eq!(more.body["lines"][0]["quantity"], 3);
    let line = format!("{LINES}/{last_plane}");
    let refused =
        send_as_is(&app, mine(Method::PUT, &line, &phone, Some(json!({"quantity": 1})), &[("If-Match", &stale)])).await;
    refused.problem(412, "version_mismatch");
    let current = tag(&more);
    let set =
        send_as_is(&app, mine(Method::PUT, &line, &phone, Some(json!({"quantity": 1})), &[("If-Match", &current)]))
            .await;
    assert_eq!((set.status.as_u16(), set.body["total"].as_str()), (200, Some("34.50")), "{}", set.body);
    assert_eq!(set.body["lines"][1]["product"]["in_stock"], true);
    assert!(set.body["lines"][1]["product"].get("stock").is_none(), "the stock is not shown");

    let coupon = |code: Value| mine(Method::PATCH, CART, &browser, Some(json!({"coupon_code": code})), &[]);
    let unknown = send_as_is(&app, coupon(json!("NOPE"))).await;
    assert_eq!((unknown.status.as_u16(), unknown.error_fields()), (422, vec!["coupon_code".to_string()]));
    let discounted = send_as_is(&app, coupon(json!("welcome10"))).await;
    assert_eq!(
        (discounted.body["discount"].as_str(), discounted.body["total"].as_str(), discounted.body["ready"].as_bool()),
        (Some("3.45"), Some("31.05"), Some(true)),
        "{}",
        discounted.body
    );
    let add =
        |product: &str| mine(Method::POST, LINES, &phone, Some(json!({"product_id": product, "quantity": 1})), &[]);
    send_as_is(&app, add(&retired)).await.problem(409, "product_inactive");
    send_as_is(&app, add(&uuid::Uuid::now_v7().to_string())).await.problem(404, "product_not_found");
    let too_many = mine(Method::POST, LINES, &phone, Some(json!({"product_id": chisel, "quantity": 999})), &[]);
    assert_eq!(send_as_is(&app, too_many).await.error_fields(), vec!["quantity".to_string()]);
    let absent = format!("{LINES}/{retired}");
    send_as_is(&app, mine(Method::DELETE, &absent, &phone, None, &[])).await.problem(404, "cart_line_not_found");
    let theirs = send_as_is(&app, mine(Method::GET, CART, &other, None, &[])).await;
    assert_eq!(theirs.body["lines"], json!([]), "another customer's cart is their own");

    // Checkout: a key is required; the order takes the stock, the coupon and empties the cart.
    send_as_is(&app, mine(Method::POST, CHECKOUT, &phone, Some(checkout_body()), &[]))
        .await
        .problem(400, "idempotency_key_required");
    let key = [("Idempotency-Key", "cart-checkout-1")];
    let placed = send_as_is(&app, mine(Method::POST, CHECKOUT, &phone, Some(checkout_body()), &key)).await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let order = placed.body["id"].as_str().unwrap().to_string();
    assert_eq!(placed.header("location"), Some(format!("/api/v1/store/me/orders/{order}")));
    assert_eq!(
        (placed.body["total"].as_str(), placed.body["items"].as_array().map(Vec::len)),
        (Some("31.05"), Some(2))
    );
    assert_eq!((stock_of(&app, &chisel).await, stock_of(&app, &last_plane).await), (2, 0));
    // The key belongs to the account, not the device: the browser's retry is the same checkout.
    let again = send_as_is(&app, mine(Method::POST, CHECKOUT, &browser, Some(checkout_body()), &key)).await;
    assert_eq!(
        (again.body["id"].as_str(), again.header("idempotent-replayed").as_deref()),
        (Some(order.as_str()), Some("true"))
    );
    let replayed = send_as_is(&app, mine(Method::POST, CHECKOUT, &phone, Some(checkout_body()), &key)).await;
    assert_eq!(
        (replayed.body["id"].as_str(), replayed.header("idempotent-replayed").as_deref()),
        (Some(order.as_str()), Some("true"))
    );
    let emptied = send_as_is(&app, mine(Method::GET, CART, &browser, None, &[])).await;
    assert_eq!((emptied.body["lines"].clone(), emptied.body["coupon_code"].clone()), (json!([]), Value::Null));
    let key2 = [("Idempotency-Key", "cart-checkout-2")];
    send_as_is(&app, mine(Method::POST, CHECKOUT, &phone, Some(checkout_body()), &key2))
        .await
        .problem(409, "cart_empty");
    let mine_now = send_as_is(&app, mine(Method::GET, "/api/v1/store/me/orders", &browser, None, &[])).await;
    assert_eq!(mine_now.body["items"][0]["id"], order.as_str());
    let staff = send(&app, crate::harness::get(&format!("/api/v1/orders/{order}"))).await;
    assert_eq!(
        (staff.body["client_id"].as_str(), staff.body["coupon_code"].as_str()),
        (Some(client.as_str()), Some("WELCOME10"))
    );

    // A line the stock no longer covers: shown, and refused at checkout with the cart kept.
    let sold_out = send_as_is(&app, add(&last_plane)).await;
    assert_eq!(
        (sold_out.body["lines"][0]["issue"].as_str(), sold_out.body["ready"].as_bool()),
        (Some("insufficient_stock"), Some(false))
    );
    let key3 = [("Idempotency-Key", "cart-checkout-3")];
    let short = send_as_is(&app, mine(Method::POST, CHECKOUT, &phone, Some(checkout_body()), &key3)).await;
    assert_eq!(short.problem(409, "insufficient_stock")["details"]["product_id"], last_plane.as_str());
    let kept = send_as_is(&app, mine(Method::GET, CART, &phone, None, &[])).await;
    assert_eq!(kept.body["lines"].as_array().map(Vec::len), Some(1), "a refused checkout leaves the cart as it was");
}

#[actix_web::test]
async fn customers_racing_to_check_out_the_last_unit_make_exactly_one_order() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let last = create_product(&app, "Last lathe", "250.00", 1).await;
    let mut tokens = Vec::new();
    for i in 0..16 {
        let (_, token) = crate::harness::new_customer(&ctx, &format!("racer-{i}")).await;
        let added =
            send_as_is(&app, mine(Method::POST, LINES, &token, Some(json!({"product_id": last, "quantity": 1})), &[]))
                .await;
        assert_eq!(added.status, 200, "{}", added.body);
        tokens.push(token);
    }
    let replies = join_all(tokens.iter().enumerate().map(|(i, token)| {
        let key = format!("race-{i}");
        send_as_is(
            &app,
            mine(Method::POST, CHECKOUT, token, Some(checkout_body()), &[("Idempotency-Key", key.as_str())]),
        )
    }))
    .await;
    let placed = replies.iter().filter(|r| r.status == 201).count();
    let refused = replies.iter().filter(|r| r.status == 409 && r.body["code"] == "insufficient_stock").count();
    assert_eq!((placed, refused), (1, 15), "{:?}", replies.iter().map(|r| &r.body["code"]).collect::<Vec<_>>());
    assert_eq!(stock_of(&app, &last).await, 0);
    let orders = send(&app, crate::harness::get("/api/v1/orders?limit=100")).await;
    assert_eq!(orders.body["items"].as_array().map(Vec::len), Some(1), "one order in all");

    // One customer's checkout sent five times at once with one key: one order, the rest replays
    // or told it is in progress.
    let (_, token) = crate::harness::new_customer(&ctx, "hasty").await;
    let plenty = create_product(&app, "Sandpaper", "2.00", 100).await;
    send_as_is(&app, mine(Method::POST, LINES, &token, Some(json!({"product_id": plenty, "quantity": 3})), &[])).await;
    let replies = join_all((0..5).map(|_| {
        send_as_is(&app, mine(Method::POST, CHECKOUT, &token, Some(checkout_body()), &[("Idempotency-Key", "hasty-1")]))
    }))
    .await;
    let ids: std::collections::HashSet<&str> =
        replies.iter().filter(|r| r.status == 201).filter_map(|r| r.body["id"].as_str()).collect();
    assert_eq!(ids.len(), 1, "{:?}", replies.iter().map(|r| (r.status, &r.body)).collect::<Vec<_>>());
    for reply in &replies {
        assert!(
            reply.status == 201 || (reply.status == 409 && reply.body["code"] == "idempotency_key_in_use"),
            "{}",
            reply.body
        );
    }
    assert_eq!(stock_of(&app, &plenty).await, 97, "taken once");
}
