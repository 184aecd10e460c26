//! `ETag` and `If-Match` on every mutable resource: a strong tag on create, read and write; a
//! stale tag refuses the write (412 naming the current tag) and changes nothing; writes by other
//! paths (an order taking stock, an enrollment taking a seat, a payment) move the tag.

use crate::harness::{bearer, get, json, json_with, new_key, send, Reply, TestApp, TestContext};
use crate::{app, create_client, create_interest, create_product, order_body, post, workshop_body};
use actix_web::body::MessageBody;
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

fn etag(reply: &Reply) -> String {
    reply.header("etag").unwrap_or_else(|| panic!("no ETag: {} {}", reply.status, reply.body))
}

fn conditional(method: Method, uri: &str, tag: &str, body: Option<Value>) -> actix_http::Request {
    conditional_as(method, uri, tag, body, None)
}

/// The same, with another key's `Authorization` (which `send` then keeps).
fn conditional_as(method: Method, uri: &str, tag: &str, body: Option<Value>, key: Option<&str>) -> actix_http::Request {
    let mut request = TestRequest::default().method(method).uri(uri).insert_header(("If-Match", tag));
    if let Some(key) = key {
        request = request.insert_header(("Authorization", bearer(key)));
    }
    match body {
        Some(body) => request.set_json(body).to_request(),
        None => request.to_request(),
    }
}

/// Create → tagged; read → same tag; a stale PATCH or DELETE → 412 with the current tag and no
/// change; a current one → applied, with a new tag.
async fn walk<S: TestApp<B>, B: MessageBody>(app: &S, collection: &str, body: Value, patch: Value, field: &str) {
    let created = post(app, collection, body).await;
    assert_eq!(created.status, 201, "{collection}: {}", created.body);
    let first = etag(&created);
    assert!(first.starts_with('"'), "{collection}: a strong tag, not {first}");
    let uri = format!("{collection}/{}", created.body["id"].as_str().expect("id"));
    assert_eq!(etag(&send(app, get(&uri)).await), first, "{collection}: the read carries the create's tag");

    let stale = send(app, conditional(Method::PATCH, &uri, "\"999\"", Some(patch.clone()))).await;
    stale.problem(412, "version_mismatch");
    assert_eq!(stale.body["current_etag"], first.as_str(), "{collection}");
    assert_eq!(send(app, get(&uri)).await.body[field], created.body[field], "{collection}: nothing changed");

    let patched = send(app, conditional(Method::PATCH, &uri, &first, Some(patch.clone()))).await;
    assert_eq!(patched.status, 200, "{collection}: {}", patched.body);
    assert_eq!(patched.body[field], patch[field], "{collection}");
    let second = etag(&patched);
    assert_ne!(second, first, "{collection}: the write moved the tag");
    assert_eq!(etag(&send(app, get(&uri)).await), second, "{collection}");
    // A weak tag never matches (strong comparison), nor a list without the current tag.
    let weak = format!("W/{second}");
    send(app, conditional(Method::PATCH, &uri, &weak, Some(patch.clone()))).await.problem(412, "version_mismatch");

    send(app, conditional(Method::DELETE, &uri, &first, None)).await.problem(412, "version_mismatch");
    assert_eq!(send(app, get(&uri)).await.status, 200, "{collection}: a stale delete deletes nothing");
    let deleted = send(app, conditional(Method::DELETE, &uri, &format!("\"0\", {second}"), None)).await;
    assert_eq!(deleted.status, 204, "{collection}: {}", deleted.body);
    assert_eq!(send(app, get(&uri)).await.status, 404, "{collection}");
}

#[actix_web::test]
async fn every_mutable_resource_is_tagged_and_refuses_a_stale_write() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let topic = create_interest(&app, "Joinery").await;
    walk(&app, "/api/v1/interests", json!({"name": "Carving"}), json!({"name": "Wood carving"}), "name").await;
    walk(
        &app,
        "/api/v1/companies",
        json!({"legal_name": "Tagged Ltd", "tax_id": "B-1"}),
        json!({"legal_name": "Tagged Ltd."}),
        "legal_name",
    )
    .await;
    walk(&app, "/api/v1/categories", json!({"name": "Saws"}), json!({"name": "Hand saws"}), "name").await;
    walk(
        &app,
        "/api/v1/products",
        json!({"name": "Ryoba", "price": "42.00", "stock": 3}),
        json!({"price": "44.00"}),
        "price",
    )
    .await;
    walk(
        &app,
        "/api/v1/coupons",
        json!({"code": "TAG10", "kind": "percentage", "value": "10"}),
        json!({"active": false}),
        "active",
    )
    .await;
    walk(&app, "/api/v1/workshops", workshop_body("Sharpening", &topic, 4), json!({"capacity": 6}), "capacity").await;
    walk(
        &app,
        "/api/v1/webhook-endpoints",
        json!({"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}),
        json!({"description": "tagged"}),
        "description",
    )
    .await;
    walk(
        &app,
        "/api/v1/clients",
        json!({"name": "Tag", "email": "tag@example.com", "kind": "b2c"}),
        json!({"name": "Tagged"}),
        "name",
    )
    .await;
}

#[actix_web::test]
async fn writes_by_other_paths_move_the_tags_they_change() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    let product = create_product(&app, "Chisel", "20.00", 5).await;
    let coupon = post(&app, "/api/v1/coupons", json!({"code": "MOVE", "kind": "fixed_amount", "value": "1"})).await;
    let topic = create_interest(&app, "Edges").await;
    let workshop = post(&app, "/api/v1/workshops", workshop_body("Honing", &topic, 3)).await;
    let tag_of = |uri: String| {
        let app = &app;
        async move { etag(&send(app, get(&uri)).await) }
    };
    let product_uri = format!("/api/v1/products/{product}");
    let coupon_uri = format!("/api/v1/coupons/{}", coupon.body["id"].as_str().unwrap());
    let workshop_uri = format!("/api/v1/workshops/{}", workshop.body["id"].as_str().unwrap());
    let (product_before, coupon_before, workshop_before) =
        (tag_of(product_uri.clone()).await, tag_of(coupon_uri.clone()).await, tag_of(workshop_uri.clone()).await);
    assert_eq!(workshop_before, "\"1.0\"", "a workshop's tag is its version and its seats taken");

    let mut body = order_body(&client, json!([{"product_id": product, "quantity": 2}]));
    body["coupon_code"] = json!("MOVE");
    let order = post(&app, "/api/v1/orders", body).await;
    assert_eq!(order.status, 201, "{}", order.body);
    assert_ne!(tag_of(product_uri.clone()).await, product_before, "stock taken moves the product's tag");
    assert_ne!(tag_of(coupon_uri).await, coupon_before, "a redemption moves the coupon's tag");

    let enrolled = post(&app, &format!("{workshop_uri}/enrollments"), json!({"client_id": client})).await;
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    assert_eq!(tag_of(workshop_uri.clone()).await, "\"1.1\"", "a seat taken moves the workshop's tag");
    // A stale workshop tag refuses the patch even though only a seat changed.
    send(&app, conditional(Method::PATCH, &workshop_uri, &workshop_before, Some(json!({"capacity": 5}))))
        .await
        .problem(412, "version_mismatch");

    // An order's status changes honour If-Match, and a payment moves the order's tag.
    let order_uri = format!("/api/v1/orders/{}", order.body["id"].as_str().unwrap());
    let placed = etag(&order);
    let payment = json!({"subject": {"type": "order", "id": order.body["id"]}, "amount": "10.00", "method": "cash"});
    let paid =
        send(&app, json_with(Method::POST, "/api/v1/payments", payment, &[("Idempotency-Key", "precondition-pay")]))
            .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let after_payment = tag_of(order_uri.clone()).await;
    assert_ne!(after_payment, placed, "a payment moves the order's tag");
    let status_uri = format!("{order_uri}/status");
    let stale = send(&app, conditional(Method::POST, &status_uri, &placed, Some(json!({"status": "confirmed"})))).await;
    stale.problem(412, "version_mismatch");
    assert_eq!(stale.body["current_etag"], after_payment.as_str());
    let confirmed =
        send(&app, conditional(Method::POST, &status_uri, &after_payment, Some(json!({"status": "confirmed"})))).await;
    assert_eq!((confirmed.status.as_u16(), confirmed.body["status"].as_str()), (200, Some("confirmed")));
    let cancel_uri = format!("{order_uri}/cancel");
    send(&app, conditional(Method::POST, &cancel_uri, &after_payment, None)).await.problem(412, "version_mismatch");
    assert_eq!(send(&app, get(&order_uri)).await.body["status"], "confirmed", "a stale cancel changes nothing");
}

#[actix_web::test]
async fn preferences_and_attributes_take_if_match_on_their_document() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Grace", "grace@example.com").await;
    for map in ["preferences", "attributes"] {
        let uri = format!("/api/v1/clients/{client}/{map}");
        let first = etag(&send(&app, get(&uri)).await);
        assert!(first.starts_with('"'), "{map}: a strong tag, not {first}");
        let stale = send(&app, conditional(Method::PUT, &uri, "\"999\"", Some(json!({"language": "en"})))).await;
        stale.problem(412, "version_mismatch");
        assert_eq!(stale.body["current_etag"], first.as_str(), "{map}");
        assert_eq!(send(&app, get(&uri)).await.body, json!({}), "{map}: a stale PUT writes nothing");

        let put = send(&app, conditional(Method::PUT, &uri, &first, Some(json!({"language": "en"})))).await;
        assert_eq!((put.status.as_u16(), &put.body), (200, &json!({"language": "en"})));
        let second = etag(&put);
        assert_ne!(second, first, "{map}");
        assert_eq!(etag(&send(&app, get(&uri)).await), second, "{map}: the read carries the write's tag");

        let merge = |tag: &str, body: Value| {
            TestRequest::patch()
                .uri(&uri)
                .insert_header(("If-Match", tag))
                .insert_header(("Content-Type", "application/merge-patch+json"))
                .set_payload(body.to_string())
                .to_request()
        };
        send(&app, merge(&first, json!({"payment_method": "card"}))).await.problem(412, "version_mismatch");
        let merged = send(&app, merge(&second, json!({"payment_method": "card"}))).await;
        assert_eq!(merged.status, 200, "{map}: {}", merged.body);
        assert_eq!(merged.body, json!({"language": "en", "payment_method": "card"}));
        assert_ne!(etag(&merged), second, "{map}");
    }
}

/// Many writers holding the same tag: exactly one write lands, on PostgreSQL rows and on the
/// MongoDB document alike.
#[actix_web::test]
async fn of_many_simultaneous_writes_with_the_same_tag_exactly_one_lands() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let product = create_product(&app, "Plane", "90.00", 1).await;
    let client = create_client(&app, "Race", "race@example.com").await;
    let product_uri = format!("/api/v1/products/{product}");
    let preferences_uri = format!("/api/v1/clients/{client}/preferences");
    let rename = |i: usize| json!({"name": format!("Plane {i}")});
    let prefer = |i: usize| json!({"language": if i.is_multiple_of(2) { "en" } else { "es" }});
    type Body<'a> = &'a dyn Fn(usize) -> Value;
    let cases: [(&str, Method, Body); 2] =
        [(&product_uri, Method::PATCH, &rename), (&preferences_uri, Method::PUT, &prefer)];
    for (uri, method, body) in cases {
        let tag = etag(&send(&app, get(uri)).await);
        let writes = (0..20).map(|i| send(&app, conditional(method.clone(), uri, &tag, Some(body(i)))));
        let replies = futures_util::future::join_all(writes).await;
        let landed = replies.iter().filter(|r| r.status == 200).count();
        let refused = replies.iter().filter(|r| r.status == 412).count();
        assert_eq!((landed, refused), (1, 19), "{uri}");
    }
    let unconditional = send(&app, json(Method::PATCH, &product_uri, json!({"name": "Plane"}))).await;
    assert_eq!(unconditional.status, 200, "without If-Match a write applies to whatever is current");
}

/// A precondition is checked only after the caller may write the resource: another key's webhook
/// endpoint is 404 whatever tag is sent (its current tag is never told), a key without the
/// write scope is 403 before any tag is compared, and another spelling of the path is held to
/// the same scope.
#[actix_web::test]
async fn if_match_tells_nothing_to_a_caller_who_may_not_write() {
    use hybrid_crm::domain::access::Role;
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let endpoint =
        post(&app, "/api/v1/webhook-endpoints", json!({"url": "http://127.0.0.1:9/hook", "event_types": ["*"]})).await;
    let uri = format!("/api/v1/webhook-endpoints/{}", endpoint.body["id"].as_str().unwrap());
    let tag = etag(&endpoint);
    let other = new_key(&ctx, Role::Manager, Vec::new()).await;
    for sent in [tag.as_str(), "\"999\"", "*"] {
        let patch =
            send(&app, conditional_as(Method::PATCH, &uri, sent, Some(json!({"description": "x"})), Some(&other)));
        let reply = patch.await;
        reply.problem(404, "webhook_endpoint_not_found");
        assert!(reply.body.get("current_etag").is_none(), "{}", reply.body);
        send(&app, conditional_as(Method::DELETE, &uri, sent, None, Some(&other)))
            .await
            .problem(404, "webhook_endpoint_not_found");
    }
    assert_eq!(etag(&send(&app, get(&uri)).await), tag, "the owner's endpoint is untouched");

    let interest = post(&app, "/api/v1/interests", json!({"name": "Guarded"})).await;
    let interest_uri = format!("/api/v1/interests/{}", interest.body["id"].as_str().unwrap());
    let reader = new_key(&ctx, Role::Readonly, Vec::new()).await;
    let stale = conditional_as(Method::PATCH, &interest_uri, "\"999\"", Some(json!({"name": "x"})), Some(&reader));
    send(&app, stale).await.problem(403, "forbidden");
    send(&app, conditional_as(Method::DELETE, &interest_uri, "\"999\"", None, None))
        .await
        .problem(412, "version_mismatch");
    let spelled = interest_uri.replace("/api/", "/%61pi/");
    let odd = send(&app, conditional_as(Method::PATCH, &spelled, "\"999\"", Some(json!({"name": "x"})), Some(&reader)));
    odd.await.problem(403, "forbidden");
    assert_eq!(send(&app, get(&interest_uri)).await.body["name"], "Guarded", "nothing changed");
}
