//! Payments: the ledger, the sandbox gateway, 202 and polling, refunds, subscriptions,
//! compensation, concurrency and idempotency keys.

use crate::harness::{get, json, json_with, send, Reply, TestApp, TestContext, SANDBOX_SLOW_MS, TEST_KEY_ID};
use crate::{app, create_client, create_interest, create_product, create_workshop, order_in, post};
use actix_web::body::MessageBody;
use actix_web::http::Method;
use futures_util::future::join_all;
use serde_json::{json, Value};
use std::time::Duration;

fn key() -> String {
    uuid::Uuid::now_v7().to_string()
}

async fn pay<S: TestApp<B>, B: MessageBody>(app: &S, body: Value) -> Reply {
    send(app, json_with(Method::POST, "/api/v1/payments", body, &[("Idempotency-Key", &key())])).await
}

fn payment(kind: &str, id: &str, amount: &str, method: &str, token: Option<&str>) -> Value {
    let mut body = json!({"subject": {"type": kind, "id": id}, "amount": amount, "method": method});
    if let Some(token) = token {
        body["token"] = json!(token);
    }
    body
}

async fn refund<S: TestApp<B>, B: MessageBody>(app: &S, payment: &str, body: Value) -> Reply {
    let uri = format!("/api/v1/payments/{payment}/refunds");
    send(app, json_with(Method::POST, &uri, body, &[("Idempotency-Key", &key())])).await
}

/// A pending order for one unit of a product at `price`; returns (client, product, order).
async fn order_for<S: TestApp<B>, B: MessageBody>(app: &S, price: &str) -> (String, String, String) {
    let client = create_client(app, "Payer", &format!("{}@example.com", uuid::Uuid::now_v7().simple())).await;
    let product = create_product(app, &format!("Item {}", uuid::Uuid::now_v7().simple()), price, 10).await;
    let order = order_in(app, &client, &product, "pending").await;
    (client, product, order)
}

/// A new enrollment (price 80.00) in a new workshop; returns (workshop, enrollment).
async fn enrollment_for<S: TestApp<B>, B: MessageBody>(app: &S, capacity: i32) -> (String, String) {
    let interest = create_interest(app, &format!("Craft {}", uuid::Uuid::now_v7().simple())).await;
    let workshop =
        create_workshop(app, &format!("Joinery {}", uuid::Uuid::now_v7().simple()), &interest, capacity).await;
    let client = create_client(app, "Learner", &format!("{}@example.com", uuid::Uuid::now_v7().simple())).await;
    let enrolled = post(app, &format!("/api/v1/workshops/{workshop}/enrollments"), json!({"client_id": client})).await;
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    (workshop, enrolled.body["id"].as_str().unwrap().to_string())
}

/// Polls a payment or refund until it is no longer `processing`.
async fn settled<S: TestApp<B>, B: MessageBody>(app: &S, uri: &str) -> Value {
    for _ in 0..100 {
        let reply = send(app, get(uri)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        if reply.body["status"] != "processing" {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{uri} still processing");
}

fn steps(payment: &Value) -> Vec<(String, String)> {
    payment["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap().to_string(), s["status"].as_str().unwrap().to_string()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[actix_web::test]
async fn a_card_payment_in_full_confirms_the_order_and_the_order_shows_what_is_owed() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (client, _, order) = order_for(&app, "20.00").await;

    let partial = pay(&app, payment("order", &order, "5.00", "cash", None)).await;
    assert_eq!(partial.status, 201, "{}", partial.body);
    assert_eq!(partial.body["status"], "succeeded");
    assert_eq!(steps(&partial.body), pairs(&[("reserve", "succeeded"), ("charge", "skipped"), ("apply", "succeeded")]));
    let pending = send(&app, get(&format!("/api/v1/orders/{order}"))).await.body;
    assert_eq!(
        (pending["status"].clone(), pending["amount_paid"].clone(), pending["balance"].clone()),
        (json!("pending"), json!("5.00"), json!("15.00"))
    );
    let activity = send(&app, get(&format!("/api/v1/clients/{client}/view"))).await.body["activity"].clone();
    assert_eq!((activity["total_paid"].clone(), activity["orders_owed"].clone()), (json!("5.00"), json!("15.00")));

    let paid = pay(&app, payment("order", &order, "15.00", "card", Some("tok_visa"))).await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let location = paid.header("location").unwrap();
    assert_eq!(location, format!("/api/v1/payments/{}", paid.body["id"].as_str().unwrap()));
    assert_eq!(paid.body["status"], "succeeded");
    assert_eq!(paid.body["client_id"], client.as_str());
    assert!(paid.body["gateway_reference"].as_str().unwrap().starts_with("ch_sandbox_"));
    assert_eq!(steps(&paid.body), pairs(&[("reserve", "succeeded"), ("charge", "succeeded"), ("apply", "succeeded")]));
    assert!(paid.body.get("token").is_none(), "tokens are not echoed");

    let confirmed = send(&app, get(&format!("/api/v1/orders/{order}"))).await.body;
    assert_eq!((confirmed["status"].clone(), confirmed["balance"].clone()), (json!("confirmed"), json!("0.00")));
    let last = confirmed["status_history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["to"].clone(), last["note"].clone()), (json!("confirmed"), json!("paid")));
    let view = send(&app, get(&format!("/api/v1/orders/{order}/view"))).await.body;
    assert_eq!(view["order"]["amount_paid"], "20.00");

    // Nothing left to pay.
    let more = pay(&app, payment("order", &order, "0.01", "cash", None)).await;
    assert_eq!(more.problem(409, "overpayment")["details"]["balance"], "0.00");
    let listed = send(&app, get(&format!("/api/v1/payments?subject_id={order}"))).await.body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    let by_client = send(&app, get(&format!("/api/v1/payments?client_id={client}&method=card"))).await.body;
    assert_eq!(by_client["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn declined_cards_fail_with_the_gateways_code_and_transient_errors_are_retried_then_fail() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (_, _, order) = order_for(&app, "30.00").await;
    for (token, code) in [
        ("tok_declined", "card_declined"),
        ("tok_insufficient_funds", "insufficient_funds"),
        ("tok_processing_error", "processing_error"),
    ] {
        let reply = pay(&app, payment("order", &order, "30.00", "card", Some(token))).await;
        // Three attempts with backoff outlast the tests' 400 ms wait: 202, then poll.
        let failed = match reply.status.as_u16() {
            201 => reply.body,
            202 => settled(&app, &reply.header("location").unwrap()).await,
            other => panic!("{other}: {}", reply.body),
        };
        assert_eq!((failed["status"].clone(), failed["failure_code"].clone()), (json!("failed"), json!(code)));
        assert!(failed["failure_message"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(steps(&failed), pairs(&[("reserve", "succeeded"), ("charge", "failed"), ("apply", "skipped")]));
        let attempts = failed["steps"][1]["attempts"].as_i64().unwrap();
        assert_eq!(attempts, if token == "tok_processing_error" { 3 } else { 1 }, "{token}");
    }
    // Failed payments hold nothing: the whole balance can still be paid.
    let order_now = send(&app, get(&format!("/api/v1/orders/{order}"))).await.body;
    assert_eq!((order_now["status"].clone(), order_now["balance"].clone()), (json!("pending"), json!("30.00")));
    assert_eq!(
        pay(&app, payment("order", &order, "30.00", "paypal", Some("tok_visa"))).await.body["status"],
        "succeeded"
    );
}

#[actix_web::test]
async fn tokens_are_checked_before_any_money_is_reserved() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (_, _, order) = order_for(&app, "10.00").await;
    let missing = pay(&app, payment("order", &order, "10.00", "card", None)).await;
    missing.problem(422, "validation_failed");
    assert_eq!(
        (missing.error_fields(), missing.error_codes()),
        (vec!["token".to_string()], vec!["required".to_string()])
    );
    let extra = pay(&app, payment("order", &order, "10.00", "cash", Some("tok_visa"))).await;
    assert_eq!(extra.error_codes(), vec!["not_allowed"]);
    let unknown = pay(&app, payment("order", &order, "10.00", "card", Some("tok_nope"))).await;
    assert_eq!(unknown.error_codes(), vec!["unknown_token"]);
    let zero = pay(&app, payment("order", &order, "0.00", "cash", None)).await;
    assert_eq!(zero.error_fields(), vec!["amount"]);
    let unknown_subject = pay(&app, payment("order", &uuid::Uuid::now_v7().to_string(), "1.00", "cash", None)).await;
    unknown_subject.problem(404, "order_not_found");
    let bad_type =
        pay(&app, json!({"subject": {"type": "invoice", "id": order}, "amount": "1.00", "method": "cash"})).await;
    assert_eq!(bad_type.status, 422, "{}", bad_type.body);
    let listed = send(&app, get(&format!("/api/v1/payments?subject_id={order}"))).await.body;
    assert_eq!(listed["items"], json!([]), "nothing was recorded");
}

#[actix_web::test]
async fn a_slow_gateway_answers_202_and_the_payment_is_polled_to_its_end() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (_, _, order) = order_for(&app, "12.00").await;
    let accepted = pay(&app, payment("order", &order, "12.00", "card", Some("tok_slow"))).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    assert_eq!(accepted.body["status"], "processing");
    assert_eq!(accepted.header("retry-after").as_deref(), Some("1"));
    let location = accepted.header("location").unwrap();
    // A processing payment holds its amount: nothing more can be paid meanwhile.
    let meanwhile = pay(&app, payment("order", &order, "0.01", "cash", None)).await;
    assert_eq!(meanwhile.problem(409, "overpayment")["details"]["processing"], "12.00");
    let done = settled(&app, &location).await;
    assert_eq!(done["status"], "succeeded");
    assert_eq!(send(&app, get(&format!("/api/v1/orders/{order}"))).await.body["status"], "confirmed");

    // `Prefer: respond-async` does not wait even for a fast gateway.
    let (_, _, other) = order_for(&app, "3.00").await;
    let headers = [("Idempotency-Key", key()), ("Prefer", "respond-async".to_string())];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let quick = send(
        &app,
        json_with(
            Method::POST,
            "/api/v1/payments",
            payment("order", &other, "3.00", "card", Some("tok_visa")),
            &headers,
        ),
    )
    .await;
    assert_eq!((quick.status.as_u16(), quick.body["status"].clone()), (202, json!("processing")), "{}", quick.body);
    assert_eq!(settled(&app, &quick.header("location").unwrap()).await["status"], "succeeded");
}

#[actix_web::test]
async fn enrollments_are_paid_through_the_ledger_and_a_full_refund_releases_the_seat() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (workshop, enrollment) = enrollment_for(&app, 2).await;
    let by_card = pay(&app, payment("enrollment", &enrollment, "30.00", "card", Some("tok_visa"))).await;
    assert_eq!(by_card.body["status"], "succeeded", "{}", by_card.body);
    let read = send(&app, get(&format!("/api/v1/enrollments/{enrollment}"))).await.body;
    assert_eq!((read["status"].clone(), read["balance"].clone()), (json!("partially_paid"), json!("50.00")));
    // The desk endpoint records into the same ledger.
    let desk =
        post(&app, &format!("/api/v1/enrollments/{enrollment}/payments"), json!({"amount": "50.00", "method": "cash"}))
            .await;
    assert_eq!((desk.status.as_u16(), desk.body["status"].clone()), (201, json!("paid")), "{}", desk.body);
    let listed = send(&app, get(&format!("/api/v1/enrollments/{enrollment}/payments"))).await.body;
    let methods: Vec<&str> =
        listed["items"].as_array().unwrap().iter().map(|p| p["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["card", "cash"]);
    assert_eq!(send(&app, get(&format!("/api/v1/workshops/{workshop}"))).await.body["seats_available"], 1);

    // Refunding the card payment through the gateway, then the cash one by hand.
    let card_id = by_card.body["id"].as_str().unwrap();
    let back = refund(&app, card_id, json!({"reason": "Changed plans"})).await;
    assert_eq!(
        (back.status.as_u16(), back.body["status"].clone(), back.body["amount"].clone()),
        (201, json!("succeeded"), json!("30.00")),
        "{}",
        back.body
    );
    assert!(back.body["gateway_reference"].as_str().unwrap().starts_with("re_sandbox_"));
    // A refund is money going back, not a new debt: the enrollment still owes nothing.
    let credited = send(&app, get(&format!("/api/v1/enrollments/{enrollment}"))).await.body;
    assert_eq!(
        (
            credited["status"].clone(),
            credited["amount_paid"].clone(),
            credited["amount_refunded"].clone(),
            credited["balance"].clone()
        ),
        (json!("paid"), json!("50.00"), json!("30.00"), json!("0.00"))
    );
    let cash_id = desk_payment_id(&app, &enrollment).await;
    let cash_back = refund(&app, &cash_id, json!({"reason": "Changed plans"})).await;
    assert_eq!(
        (cash_back.body["status"].clone(), cash_back.body["gateway_reference"].clone()),
        (json!("succeeded"), Value::Null)
    );
    let cancelled = send(&app, get(&format!("/api/v1/enrollments/{enrollment}"))).await.body;
    assert_eq!((cancelled["status"].clone(), cancelled["amount_paid"].clone()), (json!("cancelled"), json!("0.00")));
    assert_eq!(
        send(&app, get(&format!("/api/v1/workshops/{workshop}"))).await.body["seats_available"],
        2,
        "seat released"
    );
    assert_eq!(send(&app, get(&format!("/api/v1/payments/{card_id}"))).await.body["status"], "refunded");
    let refunds = send(&app, get(&format!("/api/v1/payments/{card_id}/refunds"))).await.body;
    assert_eq!(refunds["items"].as_array().unwrap().len(), 1);
    let one =
        send(&app, get(&format!("/api/v1/payments/{card_id}/refunds/{}", back.body["id"].as_str().unwrap()))).await;
    assert_eq!(one.body["reason"], "Changed plans");
    send(&app, get(&format!("/api/v1/payments/{cash_id}/refunds/{}", back.body["id"].as_str().unwrap())))
        .await
        .problem(404, "refund_not_found");
}

async fn desk_payment_id<S: TestApp<B>, B: MessageBody>(app: &S, enrollment: &str) -> String {
    let listed = send(app, get(&format!("/api/v1/enrollments/{enrollment}/payments"))).await.body;
    let cash = listed["items"].as_array().unwrap().iter().find(|p| p["method"] == "cash").unwrap();
    cash["id"].as_str().unwrap().to_string()
}

#[actix_web::test]
async fn refunds_never_exceed_the_payment_and_end_orders_as_the_goods_stand() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    // Not shipped: a full refund cancels the order and puts the stock back.
    let (_, product, order) = order_for(&app, "40.00").await;
    let paid = pay(&app, payment("order", &order, "40.00", "card", Some("tok_visa"))).await;
    let id = paid.body["id"].as_str().unwrap().to_string();
    assert_eq!(crate::stock_of(&app, &product).await, 9);
    let part = refund(&app, &id, json!({"amount": "15.00", "reason": "Scratched"})).await;
    assert_eq!(part.status, 201, "{}", part.body);
    let too_much = refund(&app, &id, json!({"amount": "25.01", "reason": "Again"})).await;
    assert_eq!(too_much.problem(409, "refund_exceeds_payment")["details"]["refundable"], "25.00");
    let partly = send(&app, get(&format!("/api/v1/orders/{order}"))).await.body;
    assert_eq!((partly["status"].clone(), partly["amount_paid"].clone()), (json!("confirmed"), json!("25.00")));
    let rest = refund(&app, &id, json!({"reason": "Returned"})).await;
    assert_eq!(rest.body["amount"], "25.00", "no amount: everything left");
    let cancelled = send(&app, get(&format!("/api/v1/orders/{order}"))).await.body;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["status_history"].as_array().unwrap().last().unwrap()["note"], "refunded in full");
    assert_eq!(crate::stock_of(&app, &product).await, 10, "stock back");
    refund(&app, &id, json!({"reason": "Once more"})).await.problem(409, "payment_not_refundable");

    // Shipped: the order becomes `refunded` and nothing goes back into stock.
    let (client, product, _) = order_for(&app, "8.00").await;
    let shipped = order_in(&app, &client, &product, "pending").await;
    let paid = pay(&app, payment("order", &shipped, "8.00", "cash", None)).await;
    for status in ["processing", "shipped"] {
        let moved = post(&app, &format!("/api/v1/orders/{shipped}/status"), json!({"status": status})).await;
        assert_eq!(moved.status, 200, "{}", moved.body);
    }
    let stock = crate::stock_of(&app, &product).await;
    refund(&app, paid.body["id"].as_str().unwrap(), json!({"reason": "Lost in transit"})).await;
    let refunded = send(&app, get(&format!("/api/v1/orders/{shipped}"))).await.body;
    assert_eq!((refunded["status"].clone(), refunded["allowed_transitions"].clone()), (json!("refunded"), json!([])));
    assert_eq!(crate::stock_of(&app, &product).await, stock);
    pay(&app, payment("order", &shipped, "1.00", "cash", None)).await.problem(409, "order_closed");

    // A failed payment has nothing to refund.
    let (_, _, other) = order_for(&app, "5.00").await;
    let declined = pay(&app, payment("order", &other, "5.00", "card", Some("tok_declined"))).await;
    refund(&app, declined.body["id"].as_str().unwrap(), json!({"reason": "x"}))
        .await
        .problem(409, "payment_not_refundable");
}

#[actix_web::test]
async fn a_subject_cancelled_while_the_gateway_charges_gets_the_money_back_automatically() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (_, _, order) = order_for(&app, "25.00").await;
    let accepted = pay(&app, payment("order", &order, "25.00", "card", Some("tok_slow"))).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let cancel = post(&app, &format!("/api/v1/orders/{order}/cancel"), json!({})).await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
    let done = settled(&app, &accepted.header("location").unwrap()).await;
    assert_eq!(
        (done["status"].clone(), done["failure_code"].clone()),
        (json!("refunded"), json!("subject_unavailable"))
    );
    assert_eq!(
        steps(&done),
        pairs(&[("reserve", "succeeded"), ("charge", "succeeded"), ("apply", "failed"), ("compensate", "succeeded")])
    );
    assert_eq!(done["amount_refunded"], "25.00");
    let refunds = send(&app, get(&format!("/api/v1/payments/{}/refunds", done["id"].as_str().unwrap()))).await.body;
    let automatic = &refunds["items"].as_array().unwrap()[0];
    assert_eq!((automatic["automatic"].clone(), automatic["status"].clone()), (json!(true), json!("succeeded")));
    assert!(automatic["reason"].as_str().unwrap().contains("cancelled"));
    let order_now = send(&app, get(&format!("/api/v1/orders/{order}"))).await.body;
    assert_eq!((order_now["status"].clone(), order_now["amount_paid"].clone()), (json!("cancelled"), json!("0.00")));
}

#[actix_web::test]
async fn fifty_simultaneous_payments_never_exceed_an_enrollments_price() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (_, enrollment) = enrollment_for(&app, 1).await;
    let replies =
        join_all((0..50).map(|_| pay(&app, payment("enrollment", &enrollment, "10.00", "card", Some("tok_visa")))))
            .await;
    // A busy machine may answer some with 202 (the saga outlived PAYMENT_SYNC_WAIT_MS): those
    // count by how they end.
    let mut succeeded = 0;
    for reply in replies.iter().filter(|r| r.status == 201 || r.status == 202) {
        let status = match reply.status.as_u16() {
            202 => settled(&app, &reply.header("location").unwrap()).await["status"].clone(),
            _ => reply.body["status"].clone(),
        };
        succeeded += usize::from(status == "succeeded");
    }
    let refused = replies.iter().filter(|r| r.status == 409 && r.body["code"] == "overpayment").count();
    assert_eq!((succeeded, refused), (8, 42), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    let read = send(&app, get(&format!("/api/v1/enrollments/{enrollment}"))).await.body;
    assert_eq!((read["status"].clone(), read["amount_paid"].clone()), (json!("paid"), json!("80.00")));
}

#[actix_web::test]
async fn twenty_simultaneous_refunds_never_return_more_than_was_paid() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (_, enrollment) = enrollment_for(&app, 1).await;
    let paid = pay(&app, payment("enrollment", &enrollment, "80.00", "card", Some("tok_visa"))).await;
    let id = paid.body["id"].as_str().unwrap().to_string();
    let replies = join_all((0..20).map(|_| refund(&app, &id, json!({"amount": "10.00", "reason": "Split"})))).await;
    // As with payments, a busy machine may answer some with 202: those count by how they end.
    let mut done = 0;
    for reply in replies.iter().filter(|r| r.status == 201 || r.status == 202) {
        let status = match reply.status.as_u16() {
            202 => settled(&app, &reply.header("location").unwrap()).await["status"].clone(),
            _ => reply.body["status"].clone(),
        };
        done += usize::from(status == "succeeded");
    }
    // A refusal names the limit while refunds are still in flight, or the payment's end once the
    // eighth refund has come back from the gateway and made it `refunded`: both refuse the money.
    let refused = replies
        .iter()
        .filter(|r| {
            r.status == 409
                && (r.body["code"] == "refund_exceeds_payment"
                    || (r.body["code"] == "payment_not_refundable" && r.body["details"]["status"] == "refunded"))
        })
        .count();
    assert_eq!((done, refused), (8, 12), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    let after = send(&app, get(&format!("/api/v1/payments/{id}"))).await.body;
    assert_eq!((after["status"].clone(), after["amount_refunded"].clone()), (json!("refunded"), json!("80.00")));
    assert_eq!(send(&app, get(&format!("/api/v1/enrollments/{enrollment}"))).await.body["status"], "cancelled");
}

#[actix_web::test]
async fn a_paid_subscription_sets_the_clients_plan_and_a_failed_one_makes_it_past_due() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let plans = send(&app, get("/api/v1/plans")).await.body["items"].clone();
    let codes: Vec<&str> = plans.as_array().unwrap().iter().map(|p| p["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["basic", "premium", "enterprise"]);
    // A page at a time, like every list.
    let first = send(&app, get("/api/v1/plans?limit=2")).await.body;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let rest = send(&app, get(&format!("/api/v1/plans?limit=2&cursor={cursor}"))).await.body;
    assert_eq!((first["items"].as_array().unwrap().len(), rest["items"][0]["code"].as_str()), (2, Some("enterprise")));
    assert_eq!(rest["next_cursor"], Value::Null);
    let premium = plans[1]["monthly_price"].as_str().unwrap().parse::<f64>().unwrap();

    let client = create_client(&app, "Subscriber", "subscriber@example.com").await;
    let created =
        post(&app, &format!("/api/v1/clients/{client}/subscription"), json!({"plan": "premium", "months": 3})).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let subscription = created.body["id"].as_str().unwrap().to_string();
    let due = created.body["amount_due"].as_str().unwrap().to_string();
    assert_eq!(due.parse::<f64>().unwrap(), premium * 3.0);
    assert_eq!(created.body["status"], "pending_payment");
    let second =
        post(&app, &format!("/api/v1/clients/{client}/subscription"), json!({"plan": "basic", "months": 1})).await;
    assert_eq!(second.problem(409, "subscription_unpaid")["details"]["subscription_id"], subscription.as_str());

    let paid = pay(&app, payment("subscription", &subscription, &due, "card", Some("tok_visa"))).await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let active = send(&app, get(&format!("/api/v1/subscriptions/{subscription}"))).await.body;
    assert_eq!((active["status"].clone(), active["amount_due"].clone()), (json!("active"), json!("0.00")));
    let client_now = send(&app, get(&format!("/api/v1/clients/{client}"))).await.body;
    assert_eq!((client_now["plan"].clone(), client_now["plan_status"].clone()), (json!("premium"), json!("active")));
    let paid_until = chrono::DateTime::parse_from_rfc3339(client_now["paid_until"].as_str().unwrap()).unwrap();
    let days = (paid_until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days();
    assert!((88..=92).contains(&days), "three months ahead, got {days} days");
    let view = send(&app, get(&format!("/api/v1/clients/{client}/view"))).await.body;
    assert_eq!(view["client"]["paid_until"], client_now["paid_until"]);
    assert_eq!(
        send(&app, get(&format!("/api/v1/clients/{client}/subscription"))).await.body["id"],
        subscription.as_str()
    );

    // Another client whose card is declined: past due.
    let other = create_client(&app, "Declined", "declined@example.com").await;
    let pending =
        post(&app, &format!("/api/v1/clients/{other}/subscription"), json!({"plan": "basic", "months": 1})).await;
    let id = pending.body["id"].as_str().unwrap();
    let amount = pending.body["amount_due"].as_str().unwrap();
    let failed = pay(&app, payment("subscription", id, amount, "card", Some("tok_declined"))).await;
    assert_eq!(failed.body["status"], "failed");
    assert_eq!(send(&app, get(&format!("/api/v1/subscriptions/{id}"))).await.body["status"], "past_due");
    assert_eq!(send(&app, get(&format!("/api/v1/clients/{other}"))).await.body["plan_status"], "past_due");

    // The periodic task: a period that ended makes an active subscription past due.
    let side = ctx.side_connection().await;
    side.execute(&format!(
        "UPDATE subscriptions SET paid_until = now() - interval '1 day' WHERE id = '{subscription}'"
    ))
    .await;
    side.execute(&format!("UPDATE clients SET paid_until = now() - interval '1 day' WHERE id = '{client}'")).await;
    assert_eq!(hybrid_crm::app::subscriptions::lapse(&ctx.state).await.unwrap(), 1);
    assert_eq!(send(&app, get(&format!("/api/v1/clients/{client}"))).await.body["plan_status"], "past_due");
    send(&app, get(&format!("/api/v1/clients/{other}/subscription"))).await;
    let never = create_client(&app, "Never", "never@example.com").await;
    send(&app, get(&format!("/api/v1/clients/{never}/subscription"))).await.problem(404, "subscription_not_found");
}

#[actix_web::test]
async fn the_same_key_replays_the_first_response_and_a_different_request_is_refused() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (_, _, order) = order_for(&app, "9.00").await;
    let body = payment("order", &order, "4.00", "card", Some("tok_visa"));

    send(&app, json(Method::POST, "/api/v1/payments", body.clone())).await.problem(400, "idempotency_key_required");
    let bad =
        send(&app, json_with(Method::POST, "/api/v1/payments", body.clone(), &[("Idempotency-Key", "has space")]))
            .await;
    bad.problem(400, "invalid_idempotency_key");

    let first_key = key();
    let first =
        send(&app, json_with(Method::POST, "/api/v1/payments", body.clone(), &[("Idempotency-Key", &first_key)])).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("idempotent-replayed"), None);
    let again =
        send(&app, json_with(Method::POST, "/api/v1/payments", body.clone(), &[("Idempotency-Key", &first_key)])).await;
    assert_eq!(
        (again.status, &again.body, again.header("location")),
        (first.status, &first.body, first.header("location"))
    );
    assert_eq!(again.header("idempotent-replayed").as_deref(), Some("true"));
    let listed = send(&app, get(&format!("/api/v1/payments?subject_id={order}"))).await.body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "charged once");

    let mut changed = body.clone();
    changed["amount"] = json!("5.00");
    let reused =
        send(&app, json_with(Method::POST, "/api/v1/payments", changed, &[("Idempotency-Key", &first_key)])).await;
    reused.problem(422, "idempotency_key_reused");

    // Refused requests replay their refusal too (and change nothing).
    let over = payment("order", &order, "100.00", "cash", None);
    let refused_key = key();
    let refused =
        send(&app, json_with(Method::POST, "/api/v1/payments", over.clone(), &[("Idempotency-Key", &refused_key)]))
            .await;
    refused.problem(409, "overpayment");
    let replayed =
        send(&app, json_with(Method::POST, "/api/v1/payments", over, &[("Idempotency-Key", &refused_key)])).await;
    assert_eq!((replayed.status, replayed.header("idempotent-replayed").as_deref()), (refused.status, Some("true")));

    // Optional elsewhere: a keyed client create happens once.
    let client = json!({"name": "Once", "email": "once@example.com", "kind": "b2c"});
    let client_key = key();
    let created =
        send(&app, json_with(Method::POST, "/api/v1/clients", client.clone(), &[("Idempotency-Key", &client_key)]))
            .await;
    let twice =
        send(&app, json_with(Method::POST, "/api/v1/clients", client, &[("Idempotency-Key", &client_key)])).await;
    assert_eq!((created.status.as_u16(), twice.status.as_u16()), (201, 201), "{}", twice.body);
    assert_eq!(created.body["id"], twice.body["id"]);
}

#[actix_web::test]
async fn a_key_in_flight_is_refused_and_only_one_payment_is_made() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (_, _, order) = order_for(&app, "7.00").await;
    let key = key();
    let body = payment("order", &order, "7.00", "card", Some("tok_slow"));
    let replies =
        join_all((0..10).map(|_| {
            send(&app, json_with(Method::POST, "/api/v1/payments", body.clone(), &[("Idempotency-Key", &key)]))
        }))
        .await;
    let accepted = replies.iter().filter(|r| r.status == 202 && r.header("idempotent-replayed").is_none()).count();
    let in_use = replies.iter().filter(|r| r.status == 409 && r.body["code"] == "idempotency_key_in_use").count();
    let replays = replies.iter().filter(|r| r.header("idempotent-replayed").is_some()).count();
    assert_eq!(accepted, 1);
    assert!(in_use >= 1 && accepted + in_use + replays == 10, "{in_use} in use, {replays} replays");
    tokio::time::sleep(Duration::from_millis(SANDBOX_SLOW_MS + 300)).await;
    let listed = send(&app, get(&format!("/api/v1/payments?subject_id={order}"))).await.body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn an_effect_whose_response_was_lost_sends_the_retry_to_the_resource() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (_, _, order) = order_for(&app, "6.00").await;
    let body = payment("order", &order, "6.00", "cash", None);
    let paid = pay(&app, body.clone()).await;
    let id = paid.body["id"].as_str().unwrap();
    // As a process killed between the payment's commit and keeping its response leaves it.
    let key = key();
    let text = serde_json::to_string(&body).unwrap().replace('\'', "''");
    ctx.side_connection()
        .await
        .execute(&format!(
            "INSERT INTO idempotency_keys (key, method, path, request_hash, state, locked_until, recovery_path, expires_at)
             VALUES ('{TEST_KEY_ID}:{key}', 'POST', '/api/v1/payments', encode(sha256(convert_to('{text}', 'UTF8')), 'hex'), 'committed',
                     now() - interval '1 second', '/api/v1/payments/{id}', now() + interval '1 day')"
        ))
        .await;
    let retry = send(&app, json_with(Method::POST, "/api/v1/payments", body, &[("Idempotency-Key", &key)])).await;
    assert_eq!(retry.status, 303, "{}", retry.body);
    assert_eq!(retry.header("location"), Some(format!("/api/v1/payments/{id}")));
    let listed = send(&app, get(&format!("/api/v1/payments?subject_id={order}"))).await.body;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn a_server_error_does_not_pin_the_key() {
    let ctx = TestContext::behind_proxies().await;
    let app = app!(ctx);
    let body = json!({"name": "Retried", "email": "retried@example.com", "kind": "b2c"});
    let key = key();
    ctx.mongo_proxy.as_ref().unwrap().set(crate::harness::Passage::Cut);
    let failed =
        send(&app, json_with(Method::POST, "/api/v1/clients", body.clone(), &[("Idempotency-Key", &key)])).await;
    assert_eq!(failed.status.as_u16() / 100, 5, "{}", failed.body);
    ctx.mongo_proxy.as_ref().unwrap().set(crate::harness::Passage::Open);
    let retried = send(&app, json_with(Method::POST, "/api/v1/clients", body, &[("Idempotency-Key", &key)])).await;
    assert_eq!((retried.status.as_u16(), retried.header("idempotent-replayed")), (201, None), "{}", retried.body);
}

#[actix_web::test]
async fn a_subscription_refunded_in_full_is_cancelled_with_the_clients_plan() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Refunded", "refunded@example.com").await;
    let created =
        post(&app, &format!("/api/v1/clients/{client}/subscription"), json!({"plan": "enterprise", "months": 1})).await;
    let id = created.body["id"].as_str().unwrap();
    let due = created.body["amount_due"].as_str().unwrap();
    let paid = pay(&app, payment("subscription", id, due, "bank_transfer", None)).await;
    assert_eq!(send(&app, get(&format!("/api/v1/clients/{client}"))).await.body["plan"], "enterprise");
    let back = refund(&app, paid.body["id"].as_str().unwrap(), json!({"reason": "Cancelled the contract"})).await;
    assert_eq!(back.status, 201, "{}", back.body);
    let subscription = send(&app, get(&format!("/api/v1/subscriptions/{id}"))).await.body;
    assert_eq!(
        (subscription["status"].clone(), subscription["amount_due"].clone()),
        (json!("cancelled"), json!("0.00"))
    );
    let client_now = send(&app, get(&format!("/api/v1/clients/{client}"))).await.body;
    assert_eq!(
        (client_now["plan_status"].clone(), client_now["paid_until"].clone()),
        (json!("cancelled"), Value::Null)
    );
    pay(&app, payment("subscription", id, "1.00", "cash", None)).await.problem(409, "subscription_cancelled");
}

#[actix_web::test]
async fn expired_keys_are_forgotten_and_can_be_used_again() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let body = json!({"name": "Expiring", "email": "expiring@example.com", "kind": "b2c"});
    let first = send(&app, json_with(Method::POST, "/api/v1/clients", body, &[("Idempotency-Key", "expiring")])).await;
    assert_eq!(first.status, 201);
    let side = ctx.side_connection().await;
    side.execute(&format!(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = '{TEST_KEY_ID}:expiring'"
    ))
    .await;
    // An expired key is a new key, even for another request.
    let other = json!({"name": "Reused", "email": "reused@example.com", "kind": "b2c"});
    let again = send(&app, json_with(Method::POST, "/api/v1/clients", other, &[("Idempotency-Key", "expiring")])).await;
    assert_eq!((again.status.as_u16(), again.header("idempotent-replayed")), (201, None), "{}", again.body);
    side.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'").await;
    assert_eq!(hybrid_crm::app::idempotency::purge_expired(&ctx.state).await.unwrap(), 1);
}

#[actix_web::test]
async fn an_enrollment_cancelled_while_its_payment_is_charged_gets_the_money_back() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (workshop, enrollment) = enrollment_for(&app, 3).await;
    let accepted = pay(&app, payment("enrollment", &enrollment, "80.00", "card", Some("tok_slow"))).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let cancelled = post(&app, &format!("/api/v1/enrollments/{enrollment}/cancel"), json!({})).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    let done = settled(&app, &accepted.header("location").unwrap()).await;
    assert_eq!(
        (done["status"].clone(), done["failure_code"].clone()),
        (json!("refunded"), json!("subject_unavailable"))
    );
    let read = send(&app, get(&format!("/api/v1/enrollments/{enrollment}"))).await.body;
    assert_eq!((read["status"].clone(), read["amount_paid"].clone()), (json!("cancelled"), json!("0.00")));
    assert_eq!(send(&app, get(&format!("/api/v1/workshops/{workshop}"))).await.body["seats_available"], 3);
}

#[actix_web::test]
async fn every_keyed_create_names_its_recovery_point_in_its_own_transaction() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Recovering", "recovering@example.com").await;
    let product = create_product(&app, "Oak board", "12.00", 5).await;
    let body = crate::order_body(&client, json!([{"product_id": product, "quantity": 1}]));
    let placed =
        send(&app, json_with(Method::POST, "/api/v1/orders", body.clone(), &[("Idempotency-Key", "order-1")])).await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let order = placed.body["id"].as_str().unwrap();
    // As a process that died after the order's commit and before keeping its response leaves it.
    let side = ctx.side_connection().await;
    let marked = side
        .execute(&format!(
            "UPDATE idempotency_keys SET state = 'committed', locked_until = now() - interval '1 second',
                    response_status = NULL, response_headers = NULL, response_body = NULL
              WHERE key = '{TEST_KEY_ID}:order-1' AND recovery_path = '/api/v1/orders/{order}'"
        ))
        .await;
    assert_eq!(marked, 1, "the order's transaction recorded where it went");
    let retry = send(&app, json_with(Method::POST, "/api/v1/orders", body, &[("Idempotency-Key", "order-1")])).await;
    assert_eq!((retry.status.as_u16(), retry.header("location")), (303, Some(format!("/api/v1/orders/{order}"))));
    assert_eq!(crate::stock_of(&app, &product).await, 4, "placed once");
}

#[actix_web::test]
async fn a_request_refused_before_any_work_does_not_pin_its_idempotency_key() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (_, _, order) = order_for(&app, "12.00").await;
    let with = |body: Value, key: &str| json_with(Method::POST, "/api/v1/payments", body, &[("Idempotency-Key", key)]);
    // As a new user would: the amount as a JSON number (422), then corrected with the same key.
    let key = key();
    let wrong = json!({"subject": {"type": "order", "id": order}, "amount": 12.0, "method": "cash"});
    send(&app, with(wrong, &key)).await.problem(422, "validation_failed");
    let malformed = json_with(Method::POST, "/api/v1/payments", json!("not an object"), &[("Idempotency-Key", &key)]);
    assert!(matches!(send(&app, malformed).await.status.as_u16(), 400 | 422));
    let corrected = payment("order", &order, "12.00", "cash", None);
    let paid = send(&app, with(corrected.clone(), &key)).await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let replay = send(&app, with(corrected, &key)).await;
    assert_eq!((replay.status.as_u16(), replay.header("idempotent-replayed").as_deref()), (201, Some("true")));
    // A refusal after work began (a 409 of the rules) keeps its key: the same key with another
    // request is still `idempotency_key_reused`.
    let over_key = uuid::Uuid::now_v7().to_string();
    send(&app, with(payment("order", &order, "1.00", "cash", None), &over_key)).await.problem(409, "overpayment");
    send(&app, with(payment("order", &order, "2.00", "cash", None), &over_key))
        .await
        .problem(422, "idempotency_key_reused");
}

#[actix_web::test]
async fn a_refund_gives_money_back_without_making_the_subject_owe_it_again() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    // As a new user would: an order of 296.61 paid by card, 85.24 refunded as a goodwill gesture.
    let (client, _, order) = order_for(&app, "296.61").await;
    let paid = pay(&app, payment("order", &order, "296.61", "card", Some("tok_visa"))).await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let goodwill =
        refund(&app, paid.body["id"].as_str().unwrap(), json!({"amount": "85.24", "reason": "Goodwill"})).await;
    assert_eq!(goodwill.body["status"], "succeeded", "{}", goodwill.body);
    let read = send(&app, get(&format!("/api/v1/orders/{order}"))).await.body;
    assert_eq!(
        (read["amount_paid"].clone(), read["amount_refunded"].clone(), read["balance"].clone(), read["status"].clone()),
        (json!("211.37"), json!("85.24"), json!("0.00"), json!("confirmed"))
    );
    let view = send(&app, get(&format!("/api/v1/clients/{client}/view"))).await.body;
    assert_eq!(view["activity"]["orders_owed"], "0.00", "{view}");
    assert_eq!(view["activity"]["total_paid"], "211.37");
    let again = pay(&app, payment("order", &order, "85.24", "card", Some("tok_visa"))).await;
    again.problem(409, "overpayment");

    // An enrollment paid in full, part refunded: still paid, owes nothing, is no debtor.
    let (_, enrollment) = enrollment_for(&app, 3).await;
    let desk = pay(&app, payment("enrollment", &enrollment, "80.00", "cash", None)).await;
    refund(&app, desk.body["id"].as_str().unwrap(), json!({"amount": "20.00", "reason": "Goodwill"})).await;
    let read = send(&app, get(&format!("/api/v1/enrollments/{enrollment}"))).await.body;
    assert_eq!((read["status"].clone(), read["balance"].clone()), (json!("paid"), json!("0.00")), "{read}");
    pay(&app, payment("enrollment", &enrollment, "20.00", "cash", None)).await.problem(409, "overpayment");
    let report = send(&app, get("/api/v1/reports/workshops")).await.body;
    let debtors = report["debtors"].as_array().expect("debtors");
    assert!(debtors.iter().all(|d| d["owed"] != "20.00"), "a refund made no debtor: {debtors:?}");

    // A subscription paid in full, part refunded: nothing due, still active.
    let subscribed =
        post(&app, &format!("/api/v1/clients/{client}/subscription"), json!({"plan": "premium", "months": 1})).await;
    let (sub, due) = (subscribed.body["id"].as_str().unwrap(), subscribed.body["amount_due"].as_str().unwrap());
    let paid = pay(&app, payment("subscription", sub, due, "cash", None)).await;
    refund(&app, paid.body["id"].as_str().unwrap(), json!({"amount": "1.00", "reason": "Goodwill"})).await;
    let read = send(&app, get(&format!("/api/v1/subscriptions/{sub}"))).await.body;
    assert_eq!((read["status"].clone(), read["amount_due"].clone()), (json!("active"), json!("0.00")), "{read}");
    assert_eq!(read["amount_refunded"], "1.00");
    pay(&app, payment("subscription", sub, "1.00", "cash", None)).await.problem(409, "overpayment");
}
