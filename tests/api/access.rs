//! Access: API keys and roles (a permission matrix read from the spec), 401/403, revocation
//! across replicas, rate limits, the audit log, conditional GETs, security headers, CORS and
//! metrics.

use crate::harness::{
    bearer, get, json, new_key, send, send_as_is, Receiver, Reply, Server, TestContext, TEST_KEY, TEST_KEY_ID,
};
use crate::{app, create_client};
use actix_web::http::{header, Method};
use actix_web::test::TestRequest;
use actix_web::web;
use hybrid_crm::app::{access, AppState};
use hybrid_crm::config::RateLimit;
use hybrid_crm::domain::access::Role;
use hybrid_crm::domain::auth::EmailPurpose;
use hybrid_crm::domain::users::NewUser;
use hybrid_crm::http::access::{declared_requirement, Requirement};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn with_key(mut request: TestRequest, key: Option<&str>) -> actix_http::Request {
    if let Some(key) = key {
        request = request.insert_header((header::AUTHORIZATION, bearer(key)));
    }
    request.to_request()
}

fn if_none_match(uri: &str, tag: &str) -> actix_http::Request {
    TestRequest::get().uri(uri).insert_header((header::IF_NONE_MATCH, tag)).to_request()
}

/// Every operation of the spec, with ids in its path — existing resources for reads (from
/// `existing`, by the segment before the parameter), fresh ids for writes (their 401 and 403
/// cells change nothing; their successes are sent by `fitting_write`) — and a body its schema
/// accepts.
fn operations(spec: &Value, existing: &HashMap<&str, String>) -> Vec<(Method, String, String, Option<Value>, Value)> {
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("item") {
            let segments: Vec<&str> = path.split('/').collect();
            let uri = segments
                .iter()
                .enumerate()
                .map(|(i, s)| match s.starts_with('{') {
                    false => s.to_string(),
                    true if method == "get" => existing
                        .get(segments[i - 1])
                        .cloned()
                        .unwrap_or_else(|| panic!("no {} for GET {path}", segments[i - 1])),
                    true => uuid::Uuid::now_v7().to_string(),
                })
                .collect::<Vec<_>>()
                .join("/");
            let body = operation["requestBody"]["content"]
                .as_object()
                .and_then(|content| content.values().next())
                .map(|media| crate::outages::sample(spec, &media["schema"]));
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            out.push((method, path.clone(), uri, body, operation.clone()));
        }
    }
    out
}

/// One of every resource, by the path segment that precedes its id.
async fn one_of_each<S: crate::harness::TestApp<B>, B: actix_web::body::MessageBody>(
    ctx: &TestContext,
    app: &S,
) -> HashMap<&'static str, String> {
    let mut ids = HashMap::new();
    let id = |reply: &crate::harness::Reply| {
        reply.body["id"].as_str().unwrap_or_else(|| panic!("{}", reply.body)).to_string()
    };
    ids.insert("assets", "dashboard.js".to_string());
    ids.insert("companies", crate::create_company(app, "Matrix Ltd").await);
    let interest = crate::create_interest(app, "Matrix").await;
    ids.insert("interests", interest.clone());
    let client = create_client(app, "Matrix", "matrix@example.com").await;
    ids.insert("clients", client.clone());
    crate::harness::attach_account(ctx, &client, "matrix@example.com").await;
    let comment =
        send(app, json(Method::POST, &format!("/api/v1/clients/{client}/comments"), json!({"text": "hi"}))).await;
    ids.insert("comments", id(&comment));
    let category = send(app, json(Method::POST, "/api/v1/categories", json!({"name": "Matrix"}))).await;
    ids.insert("categories", id(&category));
    let product = crate::create_product(app, "Matrix kit", "10.00", 50).await;
    ids.insert("products", product.clone());
    let coupon = send(
        app,
        json(Method::POST, "/api/v1/coupons", json!({"code": "MATRIX", "kind": "percentage", "value": "10"})),
    )
    .await;
    ids.insert("coupons", id(&coupon));
    let order = crate::order_in(app, &client, &product, "pending").await;
    ids.insert("orders", order.clone());
    let workshop = crate::create_workshop(app, "Matrix workshop", &interest, 5).await;
    ids.insert("workshops", workshop.clone());
    let enrolled = send(
        app,
        json(Method::POST, &format!("/api/v1/workshops/{workshop}/enrollments"), json!({"client_id": client})),
    )
    .await;
    ids.insert("enrollments", id(&enrolled));
    let pay = |body: Value| {
        crate::harness::json_with(Method::POST, "/api/v1/payments", body, &[("Idempotency-Key", "matrix-pay")])
    };
    let payment =
        send(app, pay(json!({"subject": {"type": "order", "id": order}, "amount": "10.00", "method": "cash"}))).await;
    let payment = id(&payment);
    ids.insert("payments", payment.clone());
    let refund = send(
        app,
        crate::harness::json_with(
            Method::POST,
            &format!("/api/v1/payments/{payment}/refunds"),
            json!({"amount": "1.00", "reason": "matrix"}),
            &[("Idempotency-Key", "matrix-refund")],
        ),
    )
    .await;
    ids.insert("refunds", id(&refund));
    let subscription = send(
        app,
        json(Method::POST, &format!("/api/v1/clients/{client}/subscription"), json!({"plan": "premium", "months": 1})),
    )
    .await;
    ids.insert("subscriptions", id(&subscription));
    let (user, _) = crate::harness::new_staff(ctx, Role::Readonly, "matrix-existing").await;
    ids.insert("users", user);
    let endpoint = send(
        app,
        json(
            Method::POST,
            "/api/v1/webhook-endpoints",
            json!({"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}),
        ),
    )
    .await;
    let endpoint = id(&endpoint);
    ids.insert("webhook-endpoints", endpoint.clone());
    let ping = send(app, json(Method::POST, &format!("/api/v1/webhook-endpoints/{endpoint}/test"), Value::Null)).await;
    ids.insert("deliveries", id(&ping));
    hybrid_crm::app::events::publish_all(&ctx.state).await.expect("events numbered");
    let events = send(app, get("/api/v1/events?limit=1")).await;
    ids.insert("events", events.body["items"][0]["id"].as_str().expect("an event").to_string());
    let notifications = send(app, get(&format!("/api/v1/notifications?client_id={client}"))).await;
    ids.insert("notifications", notifications.body["items"][0]["id"].as_str().expect("a notification").to_string());
    let keys = send(app, get("/api/v1/api-keys?limit=1")).await;
    ids.insert("api-keys", keys.body["items"][0]["id"].as_str().unwrap().to_string());
    let audit = send(app, get("/api/v1/audit-log?limit=1")).await;
    ids.insert("audit-log", audit.body["items"][0]["id"].as_str().unwrap().to_string());
    ids
}

/// A write that fits the state it is sent in: the resources it needs made just for it (with the
/// test key), so each role's request succeeds on its own.
struct FittingWrite {
    uri: String,
    body: Option<Value>,
    content_type: &'static str,
    status: u16,
    /// Who sends it when not the matrix's caller: a signed-in person (their own account's
    /// operations), or nobody (signing in).
    sender: Option<Option<String>>,
}

impl FittingWrite {
    fn new(uri: String, body: Option<Value>, status: u16) -> Self {
        FittingWrite { uri, body, content_type: "application/json", status, sender: None }
    }

    fn sent_by(mut self, sender: Option<String>) -> Self {
        self.sender = Some(sender);
        self
    }

    /// The token the request is sent with: its own sender's, else `key`.
    fn caller<'a>(&'a self, key: &'a str) -> Option<&'a str> {
        match &self.sender {
            Some(sender) => sender.as_deref(),
            None => Some(key),
        }
    }

    fn request(&self, method: &Method, key: &str) -> actix_http::Request {
        let mut request = TestRequest::default().method(method.clone()).uri(&self.uri);
        if *method == Method::POST {
            request = request.insert_header(("idempotency-key", uuid::Uuid::now_v7().to_string()));
        }
        if let Some(body) = &self.body {
            request = request.insert_header((header::CONTENT_TYPE, self.content_type)).set_payload(body.to_string());
        }
        with_key(request, self.caller(key))
    }
}

/// A link's token for the account with `email`, as if mailed (a new one replaces the unused ones;
/// the mail itself is read from an SMTP sink in `store.rs`).
async fn mailed_token(ctx: &TestContext, email: &str, purpose: EmailPurpose) -> String {
    let token = hybrid_crm::domain::auth::new_token(hybrid_crm::domain::auth::EMAIL_TOKEN_PREFIX).expect("token");
    let (email, hash) = (email.to_string(), hybrid_crm::domain::access::secret_hash(&token));
    ctx.state
        .db
        .tx(move |conn| {
            let (account, _) = hybrid_crm::store::pg::customers::find_by_email(conn, &email)?.expect("account");
            let now = chrono::Utc::now();
            // A change link confirms an address of its own.
            let new_email = (purpose == EmailPurpose::ChangeEmail).then(|| format!("moved.{}", account.email));
            hybrid_crm::store::pg::customers::insert_token(
                conn,
                account.id,
                purpose,
                &hash,
                new_email.as_deref(),
                now,
                now + chrono::Duration::minutes(30),
            )?;
            Ok(())
        })
        .await
        .expect("token");
    token
}

/// A new support user signed in: their email and tokens.
async fn staff_session(ctx: &TestContext) -> (String, hybrid_crm::app::auth::Tokens) {
    let email = format!("{}@staff.example.com", uuid::Uuid::now_v7().simple());
    let user = NewUser { name: "Fitting".into(), email: email.clone(), role: Role::Support };
    hybrid_crm::app::users::create(&ctx.state, user, crate::harness::STAFF_PASSWORD.into()).await.expect("user");
    let tokens = hybrid_crm::app::auth::sign_in(
        &ctx.state,
        hybrid_crm::domain::auth::Audience::Staff,
        email.clone(),
        crate::harness::STAFF_PASSWORD.into(),
        None,
        None,
    )
    .await
    .expect("sign-in");
    (email, tokens)
}

fn created_id(reply: &Reply) -> String {
    assert!(reply.status.is_success(), "{}", reply.body);
    reply.body["id"].as_str().unwrap_or_else(|| panic!("no id in {}", reply.body)).to_string()
}

async fn fitting_write<S: crate::harness::TestApp<B>, B: actix_web::body::MessageBody>(
    ctx: &TestContext,
    app: &S,
    method: &Method,
    template: &str,
    receiver: &Receiver,
    key: &str,
) -> FittingWrite {
    use crate::{create_company, create_interest, create_product, create_workshop, order_body, order_in, post};
    let unique = uuid::Uuid::now_v7().simple().to_string()[20..].to_uppercase();
    let new_client =
        || async { create_client(app, "Fitting", &format!("fit.{}@example.com", uuid::Uuid::now_v7())).await };
    let new_order = || async {
        let client = new_client().await;
        let product = create_product(app, &format!("Fit {}", uuid::Uuid::now_v7()), "10.00", 10).await;
        order_in(app, &client, &product, "pending").await
    };
    let new_workshop = || async {
        let category = create_interest(app, &format!("Fit {}", uuid::Uuid::now_v7())).await;
        create_workshop(app, &format!("Fit {}", uuid::Uuid::now_v7()), &category, 5).await
    };
    let new_enrollment = || async {
        let (workshop, client) = (new_workshop().await, new_client().await);
        created_id(&post(app, &format!("/api/v1/workshops/{workshop}/enrollments"), json!({"client_id": client})).await)
    };
    let new_payment = || async {
        let order = new_order().await;
        let body = json!({"subject": {"type": "order", "id": order}, "amount": "10.00", "method": "cash"});
        let key = uuid::Uuid::now_v7().to_string();
        created_id(
            &send(app, crate::harness::json_with(Method::POST, "/api/v1/payments", body, &[("Idempotency-Key", &key)]))
                .await,
        )
    };
    // Endpoints belong to the key that creates them: made with the key that will change them.
    let new_endpoint = || async {
        let body = json!({"url": receiver.url, "event_types": ["*"]});
        let request = with_key(TestRequest::post().uri("/api/v1/webhook-endpoints").set_json(body), Some(key));
        created_id(&send(app, request).await)
    };
    let new_category = || async {
        created_id(&post(app, "/api/v1/categories", json!({"name": format!("Fit {}", uuid::Uuid::now_v7())})).await)
    };
    let new_coupon = || async {
        let body = json!({"code": format!("FIT{}", uuid::Uuid::now_v7().simple().to_string()[20..].to_uppercase()), "kind": "percentage", "value": "10"});
        created_id(&post(app, "/api/v1/coupons", body).await)
    };
    let path = template.trim_start_matches("/api/v1");
    let (uri, body, status) = match (method.as_str(), path) {
        ("POST", "/api-keys") => {
            ("/api-keys".to_string(), Some(json!({"name": format!("fit {unique}"), "role": "readonly"})), 201)
        }
        ("DELETE", "/api-keys/{id}") => {
            let key = created_id(&post(app, "/api/v1/api-keys", json!({"name": "fit", "role": "readonly"})).await);
            (format!("/api-keys/{key}"), None, 204)
        }
        ("POST", "/companies") => (
            "/companies".into(),
            Some(json!({"legal_name": format!("Fit {unique}"), "tax_id": format!("FIT-{unique}")})),
            201,
        ),
        ("PATCH", "/companies/{id}") => (
            format!("/companies/{}", create_company(app, &format!("Fit {unique}")).await),
            Some(json!({"address": "2 Side St"})),
            200,
        ),
        ("DELETE", "/companies/{id}") => {
            (format!("/companies/{}", create_company(app, &format!("Fit {unique}")).await), None, 204)
        }
        ("POST", "/interests") => ("/interests".into(), Some(json!({"name": format!("Fit {unique}")})), 201),
        ("PATCH", "/interests/{id}") => (
            format!("/interests/{}", create_interest(app, &format!("Fit {unique}")).await),
            Some(json!({"description": "x"})),
            200,
        ),
        ("DELETE", "/interests/{id}") => {
            (format!("/interests/{}", create_interest(app, &format!("Fit {unique}")).await), None, 204)
        }
        ("POST", "/clients") => (
            "/clients".into(),
            Some(json!({"name": "Fit", "email": format!("fit.{unique}@example.com"), "kind": "b2c"})),
            201,
        ),
        ("PATCH", "/clients/{id}") => (format!("/clients/{}", new_client().await), Some(json!({"active": false})), 200),
        ("DELETE", "/clients/{id}") => (format!("/clients/{}", new_client().await), None, 204),
        ("POST", "/clients/{id}/comments") => {
            (format!("/clients/{}/comments", new_client().await), Some(json!({"text": "hi"})), 201)
        }
        ("DELETE", "/clients/{id}/comments/{comment_id}") => {
            let client = new_client().await;
            let comment =
                created_id(&post(app, &format!("/api/v1/clients/{client}/comments"), json!({"text": "hi"})).await);
            (format!("/clients/{client}/comments/{comment}"), None, 204)
        }
        ("PUT", "/clients/{id}/preferences" | "/clients/{id}/attributes") => {
            (path.replace("{id}", &new_client().await), Some(json!({"theme": "dark"})), 200)
        }
        ("PATCH", "/clients/{id}/preferences" | "/clients/{id}/attributes") => {
            let write = FittingWrite {
                uri: format!("/api/v1{}", path.replace("{id}", &new_client().await)),
                body: Some(json!({"theme": "light"})),
                content_type: "application/merge-patch+json",
                status: 200,
                sender: None,
            };
            return write;
        }
        ("POST", "/clients/{id}/subscription") => (
            format!("/clients/{}/subscription", new_client().await),
            Some(json!({"plan": "premium", "months": 1})),
            201,
        ),
        ("POST", "/categories") => ("/categories".into(), Some(json!({"name": format!("Fit {unique}")})), 201),
        ("PATCH", "/categories/{id}") => {
            (format!("/categories/{}", new_category().await), Some(json!({"description": "x"})), 200)
        }
        ("DELETE", "/categories/{id}") => (format!("/categories/{}", new_category().await), None, 204),
        ("POST", "/products") => {
            ("/products".into(), Some(json!({"name": format!("Fit {unique}"), "price": "1.00", "stock": 5})), 201)
        }
        ("PATCH", "/products/{id}") => (
            format!("/products/{}", create_product(app, &format!("Fit {unique}"), "1.00", 5).await),
            Some(json!({"reorder_point": 3})),
            200,
        ),
        ("DELETE", "/products/{id}") => {
            (format!("/products/{}", create_product(app, &format!("Fit {unique}"), "1.00", 5).await), None, 204)
        }
        ("POST", "/products/{id}/stock-movements") => {
            let product = create_product(app, &format!("Fit {unique}"), "1.00", 5).await;
            (
                format!("/products/{product}/stock-movements"),
                Some(json!({"kind": "in", "quantity": 5, "reason": "delivery"})),
                201,
            )
        }
        ("POST", "/coupons") => {
            ("/coupons".into(), Some(json!({"code": format!("FIT{unique}"), "kind": "percentage", "value": "10"})), 201)
        }
        ("PATCH", "/coupons/{id}") => {
            (format!("/coupons/{}", new_coupon().await), Some(json!({"description": "x"})), 200)
        }
        ("DELETE", "/coupons/{id}") => (format!("/coupons/{}", new_coupon().await), None, 204),
        ("POST", "/orders") => {
            let client = new_client().await;
            let product = create_product(app, &format!("Fit {unique}"), "1.00", 5).await;
            ("/orders".into(), Some(order_body(&client, json!([{"product_id": product, "quantity": 1}]))), 201)
        }
        ("POST", "/orders/{id}/status") => {
            (format!("/orders/{}/status", new_order().await), Some(json!({"status": "confirmed"})), 200)
        }
        ("POST", "/orders/{id}/cancel") => {
            (format!("/orders/{}/cancel", new_order().await), Some(json!({"note": "fit"})), 200)
        }
        ("POST", "/workshops") => {
            let category = create_interest(app, &format!("Fit {unique}")).await;
            ("/workshops".into(), Some(crate::workshop_body(&format!("Fit {unique}"), &category, 5)), 201)
        }
        ("PATCH", "/workshops/{id}") => {
            (format!("/workshops/{}", new_workshop().await), Some(json!({"duration_minutes": 240})), 200)
        }
        ("DELETE", "/workshops/{id}") => (format!("/workshops/{}", new_workshop().await), None, 204),
        ("POST", "/workshops/{id}/enrollments") => {
            let (workshop, client) = (new_workshop().await, new_client().await);
            (format!("/workshops/{workshop}/enrollments"), Some(json!({"client_id": client})), 201)
        }
        ("POST", "/workshops/{id}/payment-reminders") => {
            (format!("/workshops/{}/payment-reminders", new_workshop().await), None, 202)
        }
        ("POST", "/enrollments/{id}/cancel") => (format!("/enrollments/{}/cancel", new_enrollment().await), None, 200),
        ("POST", "/enrollments/{id}/payments") => (
            format!("/enrollments/{}/payments", new_enrollment().await),
            Some(json!({"amount": "30.00", "method": "cash"})),
            201,
        ),
        ("POST", "/payments") => {
            let order = new_order().await;
            (
                "/payments".into(),
                Some(json!({"subject": {"type": "order", "id": order}, "amount": "10.00", "method": "cash"})),
                201,
            )
        }
        ("POST", "/payments/{id}/refunds") => (
            format!("/payments/{}/refunds", new_payment().await),
            Some(json!({"amount": "1.00", "reason": "fit"})),
            201,
        ),
        ("POST", "/webhook-endpoints") => {
            ("/webhook-endpoints".into(), Some(json!({"url": receiver.url, "event_types": ["*"]})), 201)
        }
        ("PATCH", "/webhook-endpoints/{id}") => {
            (format!("/webhook-endpoints/{}", new_endpoint().await), Some(json!({"description": "x"})), 200)
        }
        ("DELETE", "/webhook-endpoints/{id}") => (format!("/webhook-endpoints/{}", new_endpoint().await), None, 204),
        ("POST", "/webhook-endpoints/{id}/rotate-secret") => (
            format!("/webhook-endpoints/{}/rotate-secret", new_endpoint().await),
            Some(json!({"overlap_secs": 60})),
            200,
        ),
        ("POST", "/webhook-endpoints/{id}/test") => {
            (format!("/webhook-endpoints/{}/test", new_endpoint().await), None, 202)
        }
        ("POST", "/webhook-endpoints/{id}/deliveries/{delivery_id}/retry") => {
            // Only a finished delivery is sent again: a ping, delivered to the receiver.
            let endpoint = new_endpoint().await;
            let ping = created_id(&post(app, &format!("/api/v1/webhook-endpoints/{endpoint}/test"), json!({})).await);
            hybrid_crm::app::webhooks::deliver_all_due(&ctx.state).await.expect("delivered");
            (format!("/webhook-endpoints/{endpoint}/deliveries/{ping}/retry"), None, 202)
        }
        ("POST", "/auth/sign-in") => {
            let email = format!("{}@staff.example.com", uuid::Uuid::now_v7().simple());
            let user = NewUser { name: "Fitting".into(), email: email.clone(), role: Role::Support };
            hybrid_crm::app::users::create(&ctx.state, user, crate::harness::STAFF_PASSWORD.into())
                .await
                .expect("user");
            let body = json!({"email": email, "password": crate::harness::STAFF_PASSWORD});
            return FittingWrite::new("/api/v1/auth/sign-in".into(), Some(body), 200).sent_by(None);
        }
        ("POST", "/auth/refresh") => {
            let (_, tokens) = staff_session(ctx).await;
            let body = json!({"refresh_token": tokens.refresh_token});
            return FittingWrite::new("/api/v1/auth/refresh".into(), Some(body), 200).sent_by(None);
        }
        ("POST", "/auth/sign-out") => {
            let (_, tokens) = staff_session(ctx).await;
            return FittingWrite::new("/api/v1/auth/sign-out".into(), None, 204).sent_by(Some(tokens.access_token));
        }
        ("POST", "/auth/password") => {
            let (_, tokens) = staff_session(ctx).await;
            let body = json!({"current_password": crate::harness::STAFF_PASSWORD, "new_password": "another long test passphrase"});
            return FittingWrite::new("/api/v1/auth/password".into(), Some(body), 204)
                .sent_by(Some(tokens.access_token));
        }
        ("DELETE", "/auth/sessions/{id}") => {
            let (email, tokens) = staff_session(ctx).await;
            let other = hybrid_crm::app::auth::sign_in(
                &ctx.state,
                hybrid_crm::domain::auth::Audience::Staff,
                email,
                crate::harness::STAFF_PASSWORD.into(),
                None,
                None,
            )
            .await
            .expect("second session");
            let uri = format!("/api/v1/auth/sessions/{}", other.session.id);
            return FittingWrite::new(uri, None, 204).sent_by(Some(tokens.access_token));
        }
        ("POST", "/store/register") => {
            let email = format!("{}@customers.example.com", uuid::Uuid::now_v7().simple());
            let body = json!({"name": "Fitting", "email": email, "password": crate::harness::STAFF_PASSWORD});
            return FittingWrite::new("/api/v1/store/register".into(), Some(body), 202).sent_by(None);
        }
        ("POST", "/store/auth/confirm-email") => {
            let name = uuid::Uuid::now_v7().simple().to_string();
            crate::harness::new_customer(ctx, &name).await;
            let token = mailed_token(ctx, &format!("{name}@customers.example.com"), EmailPurpose::ChangeEmail).await;
            return FittingWrite::new("/api/v1/store/auth/confirm-email".into(), Some(json!({"token": token})), 204)
                .sent_by(None);
        }
        ("POST", "/store/me/email") => {
            let (_, token) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            let email = format!("{}@moved.example.com", uuid::Uuid::now_v7().simple());
            let body = json!({"new_email": email, "password": crate::harness::STAFF_PASSWORD});
            return FittingWrite::new("/api/v1/store/me/email".into(), Some(body), 202).sent_by(Some(token));
        }
        ("PATCH", "/store/me/preferences") => {
            let (_, token) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            let body = json!({"language": "es"});
            return FittingWrite::new("/api/v1/store/me/preferences".into(), Some(body), 200).sent_by(Some(token));
        }
        ("POST", "/store/auth/verify-email") => {
            let email = format!("{}@customers.example.com", uuid::Uuid::now_v7().simple());
            hybrid_crm::app::customers::register(
                &ctx.state,
                "Fitting".into(),
                email.clone(),
                crate::harness::STAFF_PASSWORD.into(),
            )
            .await
            .expect("registered");
            let token = mailed_token(ctx, &email, EmailPurpose::VerifyEmail).await;
            let body = json!({"token": token});
            return FittingWrite::new("/api/v1/store/auth/verify-email".into(), Some(body), 204).sent_by(None);
        }
        ("POST", "/store/auth/sign-in") => {
            let name = uuid::Uuid::now_v7().simple().to_string();
            crate::harness::new_customer(ctx, &name).await;
            let body =
                json!({"email": format!("{name}@customers.example.com"), "password": crate::harness::STAFF_PASSWORD});
            return FittingWrite::new("/api/v1/store/auth/sign-in".into(), Some(body), 200).sent_by(None);
        }
        ("POST", "/store/auth/refresh") => {
            let (_, tokens) =
                crate::harness::new_customer_session(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            let body = json!({"refresh_token": tokens.refresh_token});
            return FittingWrite::new("/api/v1/store/auth/refresh".into(), Some(body), 200).sent_by(None);
        }
        ("POST", "/store/auth/sign-out") => {
            let (_, token) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            return FittingWrite::new("/api/v1/store/auth/sign-out".into(), None, 204).sent_by(Some(token));
        }
        ("POST", "/store/auth/password") => {
            let (_, token) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            let body = json!({"current_password": crate::harness::STAFF_PASSWORD, "new_password": "another long test passphrase"});
            return FittingWrite::new("/api/v1/store/auth/password".into(), Some(body), 204).sent_by(Some(token));
        }
        ("DELETE", "/store/auth/sessions/{id}") => {
            let name = uuid::Uuid::now_v7().simple().to_string();
            let (_, token) = crate::harness::new_customer(ctx, &name).await;
            let other = hybrid_crm::app::auth::sign_in(
                &ctx.state,
                hybrid_crm::domain::auth::Audience::Customers,
                format!("{name}@customers.example.com"),
                crate::harness::STAFF_PASSWORD.into(),
                None,
                None,
            )
            .await
            .expect("second session");
            let uri = format!("/api/v1/store/auth/sessions/{}", other.session.id);
            return FittingWrite::new(uri, None, 204).sent_by(Some(token));
        }
        ("POST", "/store/auth/password-reset") => {
            let name = uuid::Uuid::now_v7().simple().to_string();
            crate::harness::new_customer(ctx, &name).await;
            let body = json!({"email": format!("{name}@customers.example.com")});
            return FittingWrite::new("/api/v1/store/auth/password-reset".into(), Some(body), 202).sent_by(None);
        }
        ("POST", "/store/auth/password-reset/confirm") => {
            let name = uuid::Uuid::now_v7().simple().to_string();
            crate::harness::new_customer(ctx, &name).await;
            let token = mailed_token(ctx, &format!("{name}@customers.example.com"), EmailPurpose::ResetPassword).await;
            let body = json!({"token": token, "new_password": "another long test passphrase"});
            return FittingWrite::new("/api/v1/store/auth/password-reset/confirm".into(), Some(body), 204)
                .sent_by(None);
        }
        ("POST", "/store/me/orders/{id}/cancel") => {
            let (client, token) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            let product = create_product(app, &format!("Fit {}", uuid::Uuid::now_v7()), "10.00", 10).await;
            let order = order_in(app, &client, &product, "pending").await;
            let uri = format!("/api/v1/store/me/orders/{order}/cancel");
            return FittingWrite::new(uri, None, 200).sent_by(Some(token));
        }
        ("POST", "/store/me/enrollments") => {
            let (_, token) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            let interest = create_interest(app, &format!("Fit {unique}")).await;
            let workshop = create_workshop(app, &format!("Fit {unique}"), &interest, 3).await;
            let body = json!({"workshop_id": workshop});
            return FittingWrite::new("/api/v1/store/me/enrollments".into(), Some(body), 201).sent_by(Some(token));
        }
        ("POST", "/store/me/enrollments/{id}/cancel") => {
            let (_, token) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            let interest = create_interest(app, &format!("Fit {unique}")).await;
            let workshop = create_workshop(app, &format!("Fit {unique}"), &interest, 3).await;
            let request = TestRequest::post()
                .uri("/api/v1/store/me/enrollments")
                .insert_header(("Authorization", crate::harness::bearer(&token)))
                .set_json(json!({"workshop_id": workshop}));
            let enrolled = crate::harness::send_as_is(app, request.to_request()).await;
            let uri = format!("/api/v1/store/me/enrollments/{}/cancel", enrolled.body["id"].as_str().expect("id"));
            return FittingWrite::new(uri, None, 200).sent_by(Some(token));
        }
        ("POST", "/store/me/payments") => {
            let (client, token) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            let product = create_product(app, &format!("Fit {}", uuid::Uuid::now_v7()), "10.00", 10).await;
            let order = order_in(app, &client, &product, "pending").await;
            let body = json!({"subject": {"type": "order", "id": order}, "amount": "10.00", "method": "card", "token": "tok_visa"});
            return FittingWrite::new("/api/v1/store/me/payments".into(), Some(body), 201).sent_by(Some(token));
        }
        ("POST", "/store/me/cart/lines")
        | ("PUT", "/store/me/cart/lines/{product_id}")
        | ("DELETE", "/store/me/cart/lines/{product_id}")
        | ("PATCH", "/store/me/cart")
        | ("POST", "/store/me/cart/checkout") => {
            let (_, token) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            let product = create_product(app, &format!("Fit {}", uuid::Uuid::now_v7()), "10.00", 10).await;
            if *method != Method::POST || path.ends_with("/checkout") {
                let request = TestRequest::post()
                    .uri("/api/v1/store/me/cart/lines")
                    .insert_header(("Authorization", crate::harness::bearer(&token)))
                    .set_json(json!({"product_id": product, "quantity": 1}));
                assert_eq!(crate::harness::send_as_is(app, request.to_request()).await.status, 200);
            }
            let (uri, body, status) = match (method.as_str(), path) {
                ("POST", "/store/me/cart/lines") => (
                    "/api/v1/store/me/cart/lines".to_string(),
                    Some(json!({"product_id": product, "quantity": 2})),
                    200,
                ),
                ("PUT", _) => (format!("/api/v1/store/me/cart/lines/{product}"), Some(json!({"quantity": 3})), 200),
                ("DELETE", _) => (format!("/api/v1/store/me/cart/lines/{product}"), None, 200),
                ("PATCH", _) => ("/api/v1/store/me/cart".to_string(), Some(json!({"coupon_code": null})), 200),
                _ => (
                    "/api/v1/store/me/cart/checkout".to_string(),
                    Some(json!({"shipping_address": "1 Fit Street", "payment_method": "card"})),
                    201,
                ),
            };
            return FittingWrite::new(uri, body, status).sent_by(Some(token));
        }
        ("POST", "/store/me/subscription") => {
            let (_, token) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            let body = json!({"plan": "basic", "months": 1});
            return FittingWrite::new("/api/v1/store/me/subscription".into(), Some(body), 201).sent_by(Some(token));
        }
        ("PATCH", "/clients/{id}/account") => {
            let (client, _) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            return FittingWrite::new(format!("/api/v1/clients/{client}/account"), Some(json!({"active": false})), 200);
        }
        ("PATCH", "/store/me") => {
            let (_, token) = crate::harness::new_customer(ctx, &uuid::Uuid::now_v7().simple().to_string()).await;
            let body = json!({"phone": "+34 600 000 000"});
            return FittingWrite::new("/api/v1/store/me".into(), Some(body), 200).sent_by(Some(token));
        }
        ("POST", "/users") => {
            let email = format!("{}@staff.example.com", uuid::Uuid::now_v7().simple());
            let body = json!({"name": "New staff", "email": email, "role": "support", "password": crate::harness::STAFF_PASSWORD});
            ("/users".into(), Some(body), 201)
        }
        ("PATCH", "/users/{id}") => {
            let (user, _) =
                crate::harness::new_staff(ctx, Role::Support, &uuid::Uuid::now_v7().simple().to_string()).await;
            (format!("/users/{user}"), Some(json!({"name": "Renamed"})), 200)
        }
        _ => panic!("{method} {template} has no fitting request in the permission matrix: add one"),
    };
    FittingWrite::new(format!("/api/v1{uri}"), body, status)
}

#[actix_web::test]
async fn every_operation_declares_one_scope_and_every_role_gets_exactly_what_it_grants() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let spec = hybrid_crm::http::openapi();
    let existing = one_of_each(&ctx, &app).await;
    let receiver = Receiver::start(&[]).await;
    let mut keys = Vec::new();
    for role in Role::NAMED {
        keys.push((format!("{role:?}"), Some(role.scopes()), new_key(&ctx, role, Vec::new()).await));
    }
    let custom = vec!["orders:read".parse().unwrap(), "clients:write".parse().unwrap()];
    keys.push(("custom".into(), Some(custom.clone()), new_key(&ctx, Role::Custom, custom).await));
    // A staff user of each role: their tokens get exactly what a key of the role gets.
    for role in Role::NAMED {
        let (_, token) = crate::harness::new_staff(&ctx, role, &format!("matrix-{}", role.as_str())).await;
        keys.push((format!("{role:?} staff"), Some(role.scopes()), token));
    }

    let mut checked = 0;
    for (method, template, uri, body, operation) in operations(&spec, &existing) {
        let requirement = declared_requirement(&operation);
        if !template.starts_with("/api/v1/") {
            assert!(
                matches!(requirement, Requirement::Undeclared | Requirement::Public),
                "{method} {template} is open and declares no scope"
            );
            continue;
        }
        let scope = match requirement {
            Requirement::Scope(scope) => scope,
            // Anyone may try to sign in: no credentials are asked for.
            Requirement::Public => {
                let reply = send_as_is(
                    &app,
                    with_key(
                        TestRequest::default()
                            .method(method.clone())
                            .uri(&uri)
                            .set_json(body.clone().unwrap_or(Value::Null)),
                        None,
                    ),
                )
                .await;
                assert_ne!(reply.body["code"], "unauthenticated", "{method} {template}: {}", reply.body);
                assert_ne!(reply.status, 403, "{method} {template}: {}", reply.body);
                continue;
            }
            // One's own account: no key of any role may, a staff session of any role may (staff
            // operations) or only a customer's (the store's; `store.rs` tries those).
            Requirement::SignedIn | Requirement::Customer => {
                let anonymous =
                    send_as_is(&app, with_key(TestRequest::default().method(method.clone()).uri(&uri), None)).await;
                anonymous.problem(401, "unauthenticated");
                let refused =
                    keys.iter().filter(|(role, _, _)| requirement == Requirement::Customer || !role.ends_with("staff"));
                for (role, _, key) in refused {
                    let request = TestRequest::default().method(method.clone()).uri(&uri);
                    let request = match &body {
                        Some(body) => request.set_json(body),
                        None => request,
                    };
                    let reply = send_as_is(&app, with_key(request, Some(key))).await;
                    assert_eq!(reply.status, 403, "{role} {method} {template}: {}", reply.body);
                    checked += 1;
                }
                continue;
            }
            // The storefront's catalog reads only `X-Publishable-Key`: no bearer of any kind
            // passes (`storefront.rs` tries publishable keys).
            Requirement::Storefront => {
                for (role, _, key) in keys.iter() {
                    let request = TestRequest::default().method(method.clone()).uri(&uri);
                    let reply = send_as_is(&app, with_key(request, Some(key))).await;
                    assert_eq!(reply.status, 401, "{role} {method} {template}: {}", reply.body);
                    checked += 1;
                }
                continue;
            }
            Requirement::Undeclared => {
                panic!("{method} {template} declares no scope: every operation needs exactly one")
            }
        };
        let build = |key: Option<&str>| {
            let mut request = TestRequest::default().method(method.clone()).uri(&uri);
            if method == Method::POST {
                request = request.insert_header(("idempotency-key", uuid::Uuid::now_v7().to_string()));
            }
            if let Some(body) = &body {
                request = request.set_json(body);
            }
            with_key(request, key)
        };
        let anonymous = send_as_is(&app, build(None)).await;
        anonymous.problem(401, "unauthenticated");
        for (role, scopes, key) in &keys {
            let granted = hybrid_crm::domain::access::Grant::of(scopes.as_deref().unwrap_or_default()).allows(scope);
            if !granted {
                let reply = send_as_is(&app, build(Some(key))).await;
                let problem = reply.problem(403, "forbidden");
                assert_eq!(problem["details"]["required_scope"], scope.to_string(), "{role} {method} {template}");
            } else if method == Method::GET
                && template.starts_with("/api/v1/webhook-endpoints/{id}")
                && !role.starts_with("Admin")
            {
                // An endpoint is its creator's (the test key's here): another key does not see it.
                let reply = send_as_is(&app, build(Some(key))).await;
                reply.problem(404, "webhook_endpoint_not_found");
            } else if method == Method::GET {
                // Every read of an existing resource or list answers 200 to anyone allowed to.
                let reply = send_as_is(&app, build(Some(key))).await;
                assert_eq!(reply.status, 200, "{role} {method} {uri}: {}", reply.body);
            } else {
                // Every write, sent on fresh resources it fits, succeeds with its documented status.
                let write = fitting_write(&ctx, &app, &method, &template, &receiver, key).await;
                let documented: Vec<&String> = operation["responses"]
                    .as_object()
                    .expect("responses")
                    .keys()
                    .filter(|c| c.starts_with('2'))
                    .collect();
                assert!(
                    documented.contains(&&write.status.to_string()),
                    "{method} {template}: {} is not among its documented answers {documented:?}",
                    write.status
                );
                let reply = send_as_is(&app, write.request(&method, key)).await;
                assert_eq!(reply.status, write.status, "{role} {method} {}: {}", write.uri, reply.body);
            }
            checked += 1;
        }
    }
    assert!(checked > 90 * 13, "the matrix covered {checked} cells");
}

#[actix_web::test]
async fn keys_are_shown_once_stored_hashed_expire_and_revoke_at_once() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let created = send(&app, json(Method::POST, "/api/v1/api-keys", json!({"name": "Mobile", "role": "sales"}))).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["key"].as_str().expect("the secret").to_string();
    let id = created.body["id"].as_str().unwrap().to_string();
    assert!(secret.starts_with("hcrm_") && secret.len() == 48, "{secret}");
    assert_eq!(created.body["last_four"], secret[secret.len() - 4..]);
    assert_eq!(created.header("location"), Some(format!("/api/v1/api-keys/{id}")));

    // Shown once: neither listed nor fetched, and only a hash is stored.
    let listed = send(&app, get("/api/v1/api-keys")).await;
    assert!(listed.body["items"].as_array().unwrap().iter().all(|k| k.get("key").is_none()));
    assert!(!listed.body.to_string().contains(&secret));
    let fetched = send(&app, get(&format!("/api/v1/api-keys/{id}"))).await;
    assert_eq!((fetched.body["role"].as_str(), fetched.body.get("key")), (Some("sales"), None));
    let stored = ctx.side_connection().await;
    let clear =
        stored.execute(&format!("SELECT 1 FROM api_keys WHERE encode(secret_hash, 'escape') LIKE '%{secret}%'")).await;
    assert_eq!(clear, 0, "the secret is not stored");
    let hashed = stored
        .execute(&format!("SELECT 1 FROM api_keys WHERE secret_hash = sha256(convert_to('{secret}', 'UTF8'))"))
        .await;
    assert_eq!(hashed, 1, "its SHA-256 is");

    // A sales key works for its scopes, and its use is recorded.
    let used = send(&app, with_key(TestRequest::get().uri("/api/v1/clients"), Some(&secret))).await;
    assert_eq!(used.status, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(send(&app, get(&format!("/api/v1/api-keys/{id}"))).await.body["last_used_at"].is_string());
    // A sales key cannot manage keys: it never sees another key's secret or even the list.
    let denied = send(&app, with_key(TestRequest::get().uri("/api/v1/api-keys"), Some(&secret))).await;
    assert_eq!(denied.problem(403, "forbidden")["details"]["required_scope"], "admin:read");

    // Unknown, malformed and missing keys: 401 with a Bearer challenge.
    for authorization in
        [None, Some("Bearer hcrm_nope"), Some("Basic YWRtaW46YWRtaW4="), Some(&*bearer(&"x".repeat(48)))]
    {
        let mut request = TestRequest::get().uri("/api/v1/clients");
        if let Some(value) = authorization {
            request = request.insert_header((header::AUTHORIZATION, value));
        }
        let reply = send_as_is(&app, request.to_request()).await;
        reply.problem(401, "unauthenticated");
        assert!(reply.header("www-authenticate").unwrap().starts_with("Bearer realm=\"hybrid-crm\""));
    }

    // Revoked: refused at once on this server, with its own message; still listed.
    let revoked = send(&app, TestRequest::delete().uri(&format!("/api/v1/api-keys/{id}")).to_request()).await;
    assert_eq!(revoked.status, 204);
    let refused = send(&app, with_key(TestRequest::get().uri("/api/v1/clients"), Some(&secret))).await;
    assert!(refused.problem(401, "unauthenticated")["detail"].as_str().unwrap().contains("revoked"));
    assert!(send(&app, get(&format!("/api/v1/api-keys/{id}"))).await.body["revoked_at"].is_string());

    // Expiry: in the past is refused; a key past its expiry stops working.
    let past = send(
        &app,
        json(
            Method::POST,
            "/api/v1/api-keys",
            json!({"name": "Old", "role": "readonly", "expires_at": "2000-01-01T00:00:00Z"}),
        ),
    )
    .await;
    assert_eq!(past.problem(422, "validation_failed")["errors"][0]["field"], "expires_at");
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let brief = send(
        &app,
        json(Method::POST, "/api/v1/api-keys", json!({"name": "Brief", "role": "readonly", "expires_at": soon})),
    )
    .await;
    let brief = brief.body["key"].as_str().unwrap().to_string();
    assert_eq!(send(&app, with_key(TestRequest::get().uri("/api/v1/clients"), Some(&brief))).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let expired = send(&app, with_key(TestRequest::get().uri("/api/v1/clients"), Some(&brief))).await;
    assert!(expired.problem(401, "unauthenticated")["detail"].as_str().unwrap().contains("expired"));

    // Custom scopes: validated, and `write` includes `read`.
    let bad =
        send(&app, json(Method::POST, "/api/v1/api-keys", json!({"name": "Bad", "scopes": ["clients:delete"]}))).await;
    assert_eq!(bad.problem(422, "validation_failed")["errors"][0]["code"], "unknown_scope");
    let both = send(
        &app,
        json(Method::POST, "/api/v1/api-keys", json!({"name": "Both", "role": "admin", "scopes": ["clients:read"]})),
    )
    .await;
    both.problem(422, "validation_failed");
    let custom =
        send(&app, json(Method::POST, "/api/v1/api-keys", json!({"name": "Orders", "scopes": ["orders:write"]}))).await;
    assert_eq!(custom.body["role"], "custom");
    let custom = custom.body["key"].as_str().unwrap().to_string();
    assert_eq!(send(&app, with_key(TestRequest::get().uri("/api/v1/orders"), Some(&custom))).await.status, 200);
    let other = send(&app, with_key(TestRequest::get().uri("/api/v1/clients"), Some(&custom))).await;
    other.problem(403, "forbidden");
}

#[actix_web::test]
async fn a_key_revoked_on_one_replica_stops_working_on_another_within_the_cache_time() {
    let ctx = TestContext::new().await;
    let (a, b) = tokio::join!(Server::start(&ctx), Server::start(&ctx));
    let (status, _, created) =
        a.request("POST", "/api/v1/api-keys", Some(&json!({"name": "Shared", "role": "readonly"})), &[]).await.unwrap();
    assert_eq!(status, 201);
    let secret = bearer(created["key"].as_str().unwrap());
    let headers = [("Authorization", secret.as_str())];
    let on_b = || b.request("GET", "/api/v1/clients", None, &headers);
    assert_eq!(on_b().await.unwrap().0, 200, "replica B knows the key (and caches it)");
    let id = created["id"].as_str().unwrap();
    assert_eq!(a.request("DELETE", &format!("/api/v1/api-keys/{id}"), None, &[]).await.unwrap().0, 204);
    // The servers cache lookups for API_KEY_CACHE_SECS=1.
    let revoked_at = Instant::now();
    loop {
        let (status, _, _) = on_b().await.unwrap();
        if status == 401 {
            break;
        }
        assert!(revoked_at.elapsed() < Duration::from_secs(3), "replica B still accepts a revoked key");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn json_log_lines_carry_the_request_id_and_the_key_id_never_the_key() {
    let ctx = TestContext::new().await;
    let path = std::env::temp_dir().join(format!("crm-log-{}.jsonl", uuid::Uuid::now_v7()));
    let file = std::fs::File::create(&path).unwrap();
    let server =
        Server::start_logging(&ctx, &[("LOG_FORMAT", "json"), ("RUST_LOG", "info,hybrid_crm=info")], file).await;
    let (status, head, _) = server.request("GET", "/api/v1/clients?limit=1", None, &[]).await.unwrap();
    assert_eq!(status, 200);
    let request_id =
        head.lines().find_map(|line| line.strip_prefix("x-request-id: ")).expect("x-request-id").trim().to_string();
    drop(server);
    let log = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(!log.contains(TEST_KEY), "the key itself is never logged");
    let line: Value = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "request answered" && l["span"]["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("no JSON line for request {request_id} in:\n{log}"));
    assert_eq!(line["span"]["key_id"], TEST_KEY_ID);
    assert_eq!((line["status"].as_i64(), line["path"].as_str()), (Some(200), Some("/api/v1/clients")));
}

/// The app with other rate limits than the test default.
fn limited(ctx: &TestContext, limits: Vec<(String, RateLimit)>, anonymous: RateLimit) -> web::Data<AppState> {
    let mut settings = (*ctx.state.settings).clone();
    settings.access.rate_limits = limits;
    settings.access.anonymous_rate_limit = anonymous;
    web::Data::new(AppState { settings: Arc::new(settings), callers: Arc::default(), ..ctx.state.clone() })
}

#[actix_web::test]
async fn a_key_past_its_rate_limit_gets_429_and_every_answer_says_what_is_left() {
    let ctx = TestContext::new().await;
    let reader = new_key(&ctx, Role::Readonly, Vec::new()).await;
    let slow = RateLimit { per_second: 0.5, burst: 3 };
    let app = actix_web::test::init_service(hybrid_crm::http::build_app(limited(
        &ctx,
        vec![("readonly".into(), slow)],
        RateLimit { per_second: 0.5, burst: 2 },
    )))
    .await;
    for left in [2, 1, 0] {
        let reply = send(&app, with_key(TestRequest::get().uri("/api/v1/clients"), Some(&reader))).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("ratelimit-limit").as_deref(), Some("3"));
        assert_eq!(reply.header("ratelimit-remaining"), Some(left.to_string()));
        assert!(reply.header("ratelimit-reset").unwrap().parse::<u64>().unwrap() >= 1);
    }
    let over = send(&app, with_key(TestRequest::get().uri("/api/v1/clients"), Some(&reader))).await;
    over.problem(429, "rate_limited");
    assert_eq!(over.header("retry-after").as_deref(), Some("2"), "one token takes 2 s at 0.5/s");
    assert_eq!(over.header("ratelimit-remaining").as_deref(), Some("0"));
    // Another key has its own bucket (the test key's role is admin: the default limit).
    assert_eq!(send(&app, get("/api/v1/clients")).await.status, 200);
    // Without a key, the caller's IP has a bucket of its own.
    for _ in 0..2 {
        send_as_is(&app, TestRequest::get().uri("/api/v1/clients").to_request()).await.problem(401, "unauthenticated");
    }
    send_as_is(&app, TestRequest::get().uri("/api/v1/clients").to_request()).await.problem(429, "rate_limited");
    // Tokens come back with time.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(send(&app, with_key(TestRequest::get().uri("/api/v1/clients"), Some(&reader))).await.status, 200);
}

#[actix_web::test]
async fn a_flood_of_made_up_keys_costs_no_database_lookup_past_the_address_s_bucket() {
    use crate::harness::Passage;
    let ctx = TestContext::behind_proxies().await;
    let app = actix_web::test::init_service(hybrid_crm::http::build_app(limited(
        &ctx,
        Vec::new(),
        RateLimit { per_second: 0.01, burst: 3 },
    )))
    .await;
    // The test key is looked up once (and gives its token back), then served from the cache.
    assert_eq!(send(&app, get("/api/v1/interests")).await.status, 200);
    ctx.pg_proxy.as_ref().expect("proxy").set(Passage::Cut);
    let made_up = || format!("hcrm_{}", &uuid::Uuid::now_v7().simple().to_string().repeat(2)[..43]);
    // Each of the first three unknown secrets needs a lookup, which cannot reach PostgreSQL.
    for _ in 0..3 {
        let reply = send_as_is(&app, with_key(TestRequest::get().uri("/api/v1/interests"), Some(&made_up()))).await;
        reply.problem(503, "store_unavailable");
    }
    // The address's bucket is empty: no lookup is tried (it would answer 503).
    for _ in 0..20 {
        let reply = send_as_is(&app, with_key(TestRequest::get().uri("/api/v1/interests"), Some(&made_up()))).await;
        reply.problem(429, "rate_limited");
    }
    ctx.pg_proxy.as_ref().expect("proxy").set(Passage::Open);
}

#[actix_web::test]
async fn requests_in_flight_when_a_busy_key_s_cache_entry_ages_out_spend_nothing_of_the_address_s_bucket() {
    let ctx = TestContext::new().await;
    let mut settings = (*ctx.state.settings).clone();
    settings.access.anonymous_rate_limit = RateLimit { per_second: 0.01, burst: 2 };
    settings.access.key_cache_ttl = Duration::from_millis(50);
    let state = web::Data::new(AppState { settings: Arc::new(settings), callers: Arc::default(), ..ctx.state.clone() });
    let app = actix_web::test::init_service(hybrid_crm::http::build_app(state)).await;
    assert_eq!(send(&app, get("/api/v1/interests")).await.status, 200, "the key is looked up once");
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Its entry has aged out: every one of these needs a lookup, at once.
        let replies = futures_util::future::join_all((0..30).map(|_| send(&app, get("/api/v1/interests")))).await;
        let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    }
    // Made-up secrets still pay: the bucket of two is spent, the third is refused.
    let made_up = || format!("hcrm_{}", &uuid::Uuid::now_v7().simple().to_string().repeat(2)[..43]);
    for expected in [401, 401, 429] {
        let reply = send_as_is(&app, with_key(TestRequest::get().uri("/api/v1/interests"), Some(&made_up()))).await;
        assert_eq!(reply.status, expected);
    }
}

/// A cold cache under a burst: requests that arrive while their secret is being looked up wait
/// for that one lookup, uncharged; a made-up secret's refusals still spend the address's bucket.
#[actix_web::test]
async fn a_burst_on_a_cold_cache_shares_one_lookup_and_spends_nothing_of_the_address_s_bucket() {
    let ctx = TestContext::new().await;
    let mut settings = (*ctx.state.settings).clone();
    settings.access.anonymous_rate_limit = RateLimit { per_second: 0.01, burst: 2 };
    let state = web::Data::new(AppState { settings: Arc::new(settings), callers: Arc::default(), ..ctx.state.clone() });
    let app = actix_web::test::init_service(hybrid_crm::http::build_app(state)).await;
    let replies = futures_util::future::join_all((0..30).map(|_| send(&app, get("/api/v1/interests")))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");

    let made_up = format!("hcrm_{}", &uuid::Uuid::now_v7().simple().to_string().repeat(2)[..43]);
    let burst =
        (0..30).map(|_| send_as_is(&app, with_key(TestRequest::get().uri("/api/v1/interests"), Some(&made_up))));
    let replies = futures_util::future::join_all(burst).await;
    let refused = |status: u16| replies.iter().filter(|r| r.status.as_u16() == status).count();
    assert_eq!((refused(401), refused(429)), (2, 28), "the bucket of two pays for two refusals");
}

#[actix_web::test]
async fn every_write_is_audited_with_who_what_when_outcome_and_request_id() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let started = chrono::Utc::now();
    let created = send(
        &app,
        json(
            Method::POST,
            "/api/v1/clients",
            json!({"name": "Audited", "email": "audited@example.com", "kind": "b2c"}),
        ),
    )
    .await;
    let client = created.body["id"].as_str().unwrap().to_string();
    let request_id = created.header("x-request-id").unwrap();
    let invalid = send(&app, json(Method::PATCH, &format!("/api/v1/clients/{client}"), json!({"email": "nope"}))).await;
    assert_eq!(invalid.status, 422);
    let reader = new_key(&ctx, Role::Readonly, Vec::new()).await;
    let refused =
        send(&app, with_key(TestRequest::delete().uri(&format!("/api/v1/clients/{client}")), Some(&reader))).await;
    assert_eq!(refused.status, 403);
    // Reads are not audited.
    send(&app, get(&format!("/api/v1/clients/{client}"))).await;

    let log = send(&app, get(&format!("/api/v1/audit-log?subject_id={client}"))).await;
    assert_eq!(log.status, 200, "{}", log.body);
    let entries = log.body["items"].as_array().unwrap();
    let summary: Vec<(String, String, i64)> = entries
        .iter()
        .map(|e| {
            (
                e["operation_id"].as_str().unwrap().into(),
                e["method"].as_str().unwrap().into(),
                e["status"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("delete_client".into(), "DELETE".into(), 403),
            ("update_client".into(), "PATCH".into(), 422),
            ("create_client".into(), "POST".into(), 201)
        ],
        "newest first"
    );
    let creation = &entries[2];
    assert_eq!(creation["key_id"], TEST_KEY_ID);
    assert_eq!(creation["path"], "/api/v1/clients");
    assert_eq!(creation["subject_id"], client.as_str(), "a created resource is its own subject");
    assert_eq!(creation["request_id"], request_id.as_str());
    assert!(creation["occurred_at"].as_str().unwrap() >= started.to_rfc3339().as_str());

    // Filters: by key, by time.
    let reader_id =
        send(&app, get("/api/v1/api-keys?limit=1")).await.body["items"][0]["id"].as_str().unwrap().to_string();
    let by_reader = send(&app, get(&format!("/api/v1/audit-log?key_id={reader_id}"))).await;
    assert_eq!(by_reader.body["items"].as_array().unwrap().len(), 1);
    let future = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339().replace('+', "%2B");
    assert_eq!(send(&app, get(&format!("/api/v1/audit-log?from={future}"))).await.body["items"], json!([]));
    let page = send(&app, get("/api/v1/audit-log?limit=2")).await.body;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let rest =
        send(&app, get(&format!("/api/v1/audit-log?limit=100&cursor={}", page["next_cursor"].as_str().unwrap()))).await;
    assert!(!rest.body["items"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn an_audit_entry_commits_with_the_write_or_not_at_all() {
    use hybrid_crm::domain::access::AuditEntry;
    use hybrid_crm::domain::ids::{ApiKeyId, AuditEntryId};
    let ctx = TestContext::new().await;
    let entry = |path: &str| AuditEntry {
        id: AuditEntryId::new(),
        occurred_at: chrono::Utc::now(),
        key_id: Some(ApiKeyId(uuid::Uuid::parse_str(TEST_KEY_ID).unwrap())),
        user_id: None,
        account_id: None,
        operation_id: "test".into(),
        method: "POST".into(),
        path: path.into(),
        subject_id: None,
        status: None,
        request_id: None,
    };
    let side = ctx.side_connection().await;
    let (committed, rolled_back) = (entry("/committed"), entry("/rolled-back"));
    let db = ctx.state.db.clone();
    access::audit_scoped(access::AuditUnit::new(committed.clone()), async {
        db.tx(|conn| {
            diesel::RunQueryDsl::execute(diesel::sql_query("CREATE TABLE audit_probe (x int)"), conn)?;
            Ok(())
        })
        .await
    })
    .await
    .unwrap();
    let db = ctx.state.db.clone();
    let failed: Result<(), _> = access::audit_scoped(access::AuditUnit::new(rolled_back.clone()), async {
        db.tx(|conn| {
            diesel::RunQueryDsl::execute(diesel::sql_query("INSERT INTO audit_probe VALUES (1)"), conn)?;
            Err(hybrid_crm::app::AppError::conflict("nope", None, "rolled back"))
        })
        .await
    })
    .await;
    assert!(failed.is_err());
    // The committed write's entry is there before any response (its status still unknown)…
    assert_eq!(side.execute("SELECT 1 FROM audit_log WHERE path = '/committed' AND status IS NULL").await, 1);
    // …and the rolled-back one left neither its row nor its entry.
    assert_eq!(side.execute("SELECT 1 FROM audit_probe").await, 0);
    assert_eq!(side.execute("SELECT 1 FROM audit_log WHERE path = '/rolled-back'").await, 0);
    // The response's status fills the same entry in, written with a batch just after the
    // response (no read of the audit log needed to prompt it).
    access::finish_audit(&ctx.state, AuditEntry { status: Some(201), ..committed });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while side.execute("SELECT 1 FROM audit_log WHERE path = '/committed' AND status = 201").await == 0 {
        assert!(std::time::Instant::now() < deadline, "the outcome was not written");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

#[actix_web::test]
async fn a_server_that_stops_writes_the_audit_outcomes_still_waiting_for_their_batch() {
    let ctx = TestContext::new().await;
    // Outcomes wait far longer than the test: only the stop can write them.
    let server = Server::start_with(&ctx, &[("AUDIT_BATCH_MS", "600000")]).await;
    let body = json!({"name": "Stopping", "email": "stopping@example.com", "kind": "b2c"});
    let (status, _, created) = server.request("POST", "/api/v1/clients", Some(&body), &[]).await.unwrap();
    assert_eq!(status, 201, "{created}");
    let client = created["id"].as_str().unwrap().to_string();
    let invalid = json!({"email": "nope"});
    let (status, _, _) =
        server.request("PATCH", &format!("/api/v1/clients/{client}"), Some(&invalid), &[]).await.unwrap();
    assert_eq!(status, 422);
    let side = ctx.side_connection().await;
    // The write's entry committed with it; its outcome, and the refused request's whole entry,
    // still wait for their batch.
    assert_eq!(
        side.execute("SELECT 1 FROM audit_log WHERE operation_id = 'create_client' AND status IS NULL").await,
        1
    );
    assert_eq!(side.execute("SELECT 1 FROM audit_log WHERE operation_id = 'update_client'").await, 0);
    assert!(server.stop().success());
    let written = format!(
        "SELECT 1 FROM audit_log WHERE (operation_id, status, subject_id) IN (('create_client', 201, '{client}'), ('update_client', 422, '{client}'))"
    );
    assert_eq!(side.execute(&written).await, 2, "both outcomes written at the stop");
}

/// The other way a server ends: killed with an outcome waiting, the write and its entry stay
/// (they committed together) and the entry shows no status, as the audit log documents.
#[actix_web::test]
async fn a_server_killed_with_audit_outcomes_waiting_keeps_the_write_and_its_entry_without_status() {
    let ctx = TestContext::new().await;
    let server = Server::start_with(&ctx, &[("AUDIT_BATCH_MS", "600000")]).await;
    let body = json!({"name": "Killed", "email": "killed@example.com", "kind": "b2c"});
    let (status, _, created) = server.request("POST", "/api/v1/clients", Some(&body), &[]).await.unwrap();
    assert_eq!(status, 201, "{created}");
    let client = created["id"].as_str().unwrap().to_string();
    server.kill();

    let restarted = Server::start(&ctx).await;
    let (status, _, _) = restarted.request("GET", &format!("/api/v1/clients/{client}"), None, &[]).await.unwrap();
    assert_eq!(status, 200, "the write survived");
    let (status, _, log) = restarted.request("GET", "/api/v1/audit-log?limit=100", None, &[]).await.unwrap();
    assert_eq!(status, 200, "{log}");
    let entries: Vec<&Value> =
        log["items"].as_array().unwrap().iter().filter(|e| e["operation_id"] == "create_client").collect();
    assert_eq!(entries.len(), 1, "{log}");
    let entry = entries[0];
    assert_eq!((entry["status"].clone(), entry["subject_id"].clone()), (Value::Null, Value::Null), "{entry}");
    assert_eq!(entry["method"], "POST");
}

#[actix_web::test]
async fn single_resources_and_lists_answer_304_to_a_current_etag() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Tagged", "tagged@example.com").await;
    for uri in [format!("/api/v1/clients/{client}"), format!("/api/v1/clients/{client}/view"), "/api/v1/clients".into()]
    {
        let first = send(&app, get(&uri)).await;
        let tag = first.header("etag").unwrap_or_else(|| panic!("{uri} has no ETag"));
        let again = send(&app, if_none_match(&uri, &tag)).await;
        assert_eq!((again.status.as_u16(), &again.body), (304, &Value::Null), "{uri}");
        assert_eq!(again.header("etag"), Some(tag.clone()));
        let stale = send(&app, if_none_match(&uri, "\"stale\"")).await;
        assert_eq!(stale.status, 200, "{uri}");
    }
    // A change gives a new tag.
    let before = send(&app, get(&format!("/api/v1/clients/{client}/view"))).await.header("etag").unwrap();
    let changed =
        send(&app, json(Method::PATCH, &format!("/api/v1/clients/{client}"), json!({"phone": "+1 555 0100 999"})))
            .await;
    assert_eq!(changed.status, 200);
    let after = send(&app, if_none_match(&format!("/api/v1/clients/{client}/view"), &before)).await;
    assert_eq!(after.status, 200);
    assert_ne!(after.header("etag"), Some(before));
}

#[actix_web::test]
async fn responses_carry_security_headers_and_cors_admits_only_the_configured_origins() {
    let ctx = TestContext::new().await;
    let mut settings = (*ctx.state.settings).clone();
    settings.access.cors_allowed_origins = vec!["https://app.example.com".into()];
    let state = web::Data::new(AppState { settings: Arc::new(settings), ..ctx.state.clone() });
    let app = actix_web::test::init_service(hybrid_crm::http::build_app(state)).await;

    let api = send(&app, get("/api/v1/clients")).await;
    assert_eq!(api.header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(api.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(api.header("content-security-policy").as_deref(), Some("default-src 'none'; frame-ancestors 'none'"));
    let docs = send(&app, get("/swagger-ui/")).await;
    let policy = docs.header("content-security-policy").unwrap();
    assert!(policy.contains("script-src 'self'") && !policy.contains("unsafe-eval"), "{policy}");
    assert_eq!(docs.header("x-content-type-options").as_deref(), Some("nosniff"));

    let preflight = |origin: &str, headers: &str| {
        TestRequest::default()
            .method(Method::OPTIONS)
            .uri("/api/v1/clients")
            .insert_header(("Origin", origin))
            .insert_header(("Access-Control-Request-Method", "POST"))
            .insert_header(("Access-Control-Request-Headers", headers))
            .to_request()
    };
    let allowed =
        send_as_is(&app, preflight("https://app.example.com", "authorization, content-type, idempotency-key")).await;
    assert_eq!(allowed.status, 204);
    assert_eq!(allowed.header("access-control-allow-origin").as_deref(), Some("https://app.example.com"));
    assert!(allowed.header("access-control-allow-headers").unwrap().contains("authorization"));
    assert!(allowed.header("access-control-allow-methods").unwrap().contains("PATCH"));
    send_as_is(&app, preflight("https://evil.example.net", "authorization"))
        .await
        .problem(403, "cors_origin_not_allowed");
    send_as_is(&app, preflight("https://app.example.com", "x-custom")).await.problem(403, "cors_header_not_allowed");

    let from = |origin: &str| {
        TestRequest::get()
            .uri("/api/v1/clients")
            .insert_header(("Origin", origin))
            .insert_header((header::AUTHORIZATION, bearer(TEST_KEY)))
            .to_request()
    };
    let ok = send_as_is(&app, from("https://app.example.com")).await;
    assert_eq!(ok.header("access-control-allow-origin").as_deref(), Some("https://app.example.com"));
    let exposed = ok.header("access-control-expose-headers").unwrap();
    for name in ["ETag", "Location", "Idempotent-Replayed", "Retry-After", "RateLimit-Remaining"] {
        assert!(exposed.contains(name), "{name} is not exposed: {exposed}");
    }
    let other = send_as_is(&app, from("https://evil.example.net")).await;
    assert_eq!((other.status.as_u16(), other.header("access-control-allow-origin")), (200, None));
}

#[actix_web::test]
async fn metrics_are_served_in_the_prometheus_format_and_count_what_happened() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Measured", "measured@example.com").await;
    for _ in 0..3 {
        assert_eq!(send(&app, get(&format!("/api/v1/clients/{client}/view"))).await.status, 200);
    }
    send_as_is(&app, TestRequest::get().uri("/api/v1/clients").to_request()).await;
    // The server counts the queues in the background (METRICS_REFRESH_SECS); a scrape only reads.
    hybrid_crm::app::jobs::observe_backlogs(&ctx.state).await;
    let scraped = send_as_is(&app, TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(scraped.status, 200);
    assert!(scraped.header("content-type").unwrap().starts_with("text/plain; version=0.0.4"));
    let text = scraped.body.as_str().expect("text").to_string();
    let samples = parse_exposition(&text);
    let value = |name: &str, labels: &[(&str, &str)]| -> Option<f64> {
        samples
            .iter()
            .find(|(metric, found, _)| {
                metric == name && labels.iter().all(|(k, v)| found.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, value)| *value)
    };
    let view = [("method", "GET"), ("route", "/api/v1/clients/{id}/view"), ("status", "200")];
    assert_eq!(
        value("http_server_request_duration_seconds_count", &view),
        Some(3.0),
        "counted by route template, not by id"
    );
    let le = |bound: &'static str| [view[0], view[1], view[2], ("le", bound)];
    assert_eq!(value("http_server_request_duration_seconds_bucket", &le("+Inf")), Some(3.0));
    assert!(value("http_server_request_duration_seconds_bucket", &le("0.0005")).unwrap() <= 3.0);
    assert_eq!(value("api_access_refusals_total", &[("reason", "missing_key")]), Some(1.0));
    assert_eq!(value("postgresql_pool_connections", &[("state", "max")]), Some(8.0));
    assert!(value("postgresql_pool_connections", &[("state", "waiting")]).is_some());
    assert_eq!(
        value("mongodb_operation_duration_seconds_count", &[("operation", "get")]),
        Some(3.0),
        "MongoDB latency"
    );
    assert!(value("mongodb_operation_failures_total", &[("operation", "get")]).is_none(), "no failures");
    for queue in ["outbox", "webhook_deliveries", "notifications", "payment_sagas"] {
        assert!(value("background_backlog", &[("queue", queue)]).is_some(), "backlog of {queue}");
    }
    assert!(
        value("background_backlog", &[("queue", "outbox")]).unwrap() >= 1.0,
        "the client's event is not numbered in tests"
    );
    assert!(value("http_server_requests_in_flight", &[]).is_some());
}

/// The text exposition format, line by line: `(metric, labels, value)` for every sample. Label
/// values are quoted strings with `\\`, `\"` and `\n` escapes (route templates hold braces), and
/// every `# TYPE` must name a known type. Panics on anything else.
fn parse_exposition(text: &str) -> Vec<(String, std::collections::HashMap<String, String>, f64)> {
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            if words.first() == Some(&"TYPE") {
                assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&words[2]), "{line}");
            }
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("no value: {line}"));
        let name = &line[..name_end];
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "bad name: {line}");
        let mut labels = std::collections::HashMap::new();
        let mut rest = &line[name_end..];
        if let Some(inner) = rest.strip_prefix('{') {
            let mut chars = inner.char_indices().peekable();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '}' {
                    end = Some(i);
                    break;
                }
                if c == ',' || c == ' ' {
                    continue;
                }
                let key_start = i;
                let mut key_end = i;
                for (j, c) in chars.by_ref() {
                    if c == '=' {
                        key_end = j;
                        break;
                    }
                }
                assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "unquoted label value: {line}");
                let mut value = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => value.push('\n'),
                            Some(other) => value.push(other),
                            None => panic!("dangling escape: {line}"),
                        },
                        '"' => break,
                        other => value.push(other),
                    }
                }
                labels.insert(inner[key_start..key_end].to_string(), value);
            }
            let end = end.unwrap_or_else(|| panic!("unclosed labels: {line}"));
            rest = &inner[end + 1..];
        }
        let value = rest.split_whitespace().next().unwrap_or_else(|| panic!("no value: {line}"));
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        samples.push((name.to_string(), labels, value));
    }
    samples
}

#[actix_web::test]
async fn key_management_from_the_command_line_and_reads_of_keys_and_the_log_are_audited() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (mongodb_uri, mongodb_db) = ctx.mongodb();
    let cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hybrid-crm"))
            .args(args)
            .env("DATABASE_URL", ctx.database_url())
            .env("MONGODB_URI", &mongodb_uri)
            .env("MONGODB_DB", &mongodb_db)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run hybrid-crm")
    };
    let created = cli(&["api-key", "create", "--role", "readonly", "--name", "from the shell"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let stderr = String::from_utf8_lossy(&created.stderr);
    let id = stderr.split_whitespace().nth(3).expect("the key's id").to_string();
    let revoked = cli(&["api-key", "revoke", &id]);
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    assert!(!cli(&["api-key", "revoke", &uuid::Uuid::now_v7().to_string()]).status.success());

    let log = send(&app, get(&format!("/api/v1/audit-log?subject_id={id}"))).await;
    let entries: Vec<(String, String, String, i64, bool)> = log.body["items"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["operation_id"].as_str().unwrap().to_string(),
                e["method"].as_str().unwrap().to_string(),
                e["path"].as_str().unwrap().to_string(),
                e["status"].as_i64().unwrap(),
                e["key_id"].is_null(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("revoke_api_key".into(), "CLI".into(), "hybrid-crm api-key revoke".into(), 200, true),
            ("create_api_key".into(), "CLI".into(), "hybrid-crm api-key create".into(), 201, true),
        ],
        "newest first, made with no key"
    );

    // Reads of the keys and of the log are recorded like writes.
    send(&app, get(&format!("/api/v1/api-keys/{id}"))).await;
    let reads = send(&app, get("/api/v1/audit-log?limit=100")).await;
    let operations: Vec<&str> =
        reads.body["items"].as_array().unwrap().iter().filter_map(|e| e["operation_id"].as_str()).collect();
    assert!(operations.contains(&"get_api_key"), "{operations:?}");
    assert!(operations.contains(&"list_audit_log"), "the earlier read of the log: {operations:?}");
}

#[actix_web::test]
async fn inside_a_write_request_only_a_unit_of_work_writes_and_it_commits_the_audit_entry() {
    use hybrid_crm::app::access::{audit_scoped, AuditUnit};
    use hybrid_crm::domain::access::AuditEntry;
    use hybrid_crm::domain::ids::AuditEntryId;
    let ctx = TestContext::new().await;
    let entry = || AuditEntry {
        id: AuditEntryId::new(),
        occurred_at: chrono::Utc::now(),
        key_id: None,
        user_id: None,
        account_id: None,
        operation_id: "create_interest".into(),
        method: "POST".into(),
        path: "/api/v1/interests".into(),
        subject_id: None,
        status: None,
        request_id: None,
    };
    let insert = |name: &'static str| {
        move |conn: &mut diesel::PgConnection| -> Result<usize, hybrid_crm::app::AppError> {
            use diesel::RunQueryDsl;
            diesel::sql_query(format!(
                "INSERT INTO interests (id, name, created_at, updated_at) VALUES (gen_random_uuid(), '{name}', now(), now())"
            ))
            .execute(conn)
            .map_err(|err| hybrid_crm::app::AppError::Internal(err.into()))
        }
    };
    // `run` inside a write request cannot write: the write would bypass the audit entry.
    let bypass = entry();
    let refused = audit_scoped(AuditUnit::new(bypass.clone()), ctx.state.db.run(insert("Bypass"))).await;
    assert!(refused.is_err(), "a write through run inside a request must fail");
    // `tx` writes, and its transaction holds the request's entry (no outcome yet).
    let unit = entry();
    let written = audit_scoped(AuditUnit::new(unit.clone()), ctx.state.db.tx(insert("Unit"))).await;
    assert_eq!(written.expect("written"), 1);
    let side = ctx.side_connection().await;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |sql: String| {
        let side = &side;
        async move {
            side.run(move |conn| {
                use diesel::RunQueryDsl;
                diesel::sql_query(sql).get_result::<Found>(conn).expect("count").n
            })
            .await
        }
    };
    assert_eq!(
        count(format!("SELECT count(*) AS n FROM audit_log WHERE id = '{}' AND status IS NULL", unit.id)).await,
        1
    );
    assert_eq!(count(format!("SELECT count(*) AS n FROM audit_log WHERE id = '{}'", bypass.id)).await, 0);
    assert_eq!(count("SELECT count(*) AS n FROM interests WHERE name IN ('Bypass', 'Unit')".into()).await, 1);
}

#[actix_web::test]
async fn every_write_operation_commits_its_audit_entry_with_its_effect() {
    let ctx = TestContext::new().await;
    // Outcomes would be written an hour later: an entry found now was inserted by the write's
    // own transaction, so a server killed right after the commit keeps it.
    let mut settings = (*ctx.state.settings).clone();
    settings.access.audit_batch_delay = Duration::from_secs(3600);
    let state = web::Data::new(AppState { settings: Arc::new(settings), ..ctx.state.clone() });
    let app = actix_web::test::init_service(hybrid_crm::http::build_app(state)).await;
    let receiver = Receiver::start(&[]).await;
    let spec = hybrid_crm::http::openapi();
    let side = ctx.side_connection().await;
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().expect("paths") {
        if !template.starts_with("/api/v1/") {
            continue;
        }
        for (method, operation) in item.as_object().expect("item") {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            if method == Method::GET {
                continue;
            }
            let write = fitting_write(&ctx, &app, &method, template, &receiver, TEST_KEY).await;
            let reply = send_as_is(&app, write.request(&method, TEST_KEY)).await;
            assert_eq!(reply.status, write.status, "{method} {}: {}", write.uri, reply.body);
            let request_id = reply.header("x-request-id").expect("request id");
            let operation_id = operation["operationId"].as_str().expect("operation id").to_string();
            let found = side
                .run(move |conn| {
                    use diesel::RunQueryDsl;
                    diesel::sql_query("SELECT count(*) AS n FROM audit_log WHERE request_id = $1 AND operation_id = $2")
                        .bind::<diesel::sql_types::Text, _>(request_id)
                        .bind::<diesel::sql_types::Text, _>(operation_id)
                        .get_result::<Found>(conn)
                        .expect("count")
                        .n
                })
                .await;
            assert_eq!(found, 1, "{method} {template} committed without its audit entry");
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} writes");
}

#[actix_web::test]
async fn logs_carry_no_query_and_the_socket_s_address_and_metrics_can_have_their_own_listener() {
    let ctx = TestContext::new().await;
    let path = std::env::temp_dir().join(format!("crm-log-{}.jsonl", uuid::Uuid::now_v7()));
    let file = std::fs::File::create(&path).unwrap();
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    let settings = [("LOG_FORMAT", "json"), ("RUST_LOG", "info"), ("METRICS_ADDR", metrics_addr.as_str())];
    let server = Server::start_logging(&ctx, &settings, file).await;
    let spoofed = [("X-Forwarded-For", "203.0.113.77")];
    let (status, _, _) =
        server.request("GET", "/api/v1/clients?q=private.person%40example.com", None, &spoofed).await.unwrap();
    assert_eq!(status, 200);
    // The metrics answer only on their own address.
    let (status, _, _) = server.request("GET", "/metrics", None, &[("Authorization", "none")]).await.unwrap();
    assert_eq!(status, 404, "not on the API's address");
    let (status, head, _) =
        crate::harness::request(&metrics_addr, "GET", "/metrics", None, &[("Authorization", "none")]).await.unwrap();
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("content-type: text/plain; version=0.0.4"), "{head}");
    drop(server);
    let log = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(log.contains("/api/v1/clients"), "the request is logged");
    assert!(!log.contains("private.person"), "no query string in the logs");
    assert!(!log.contains("203.0.113.77"), "X-Forwarded-For counts only from a trusted proxy");
    assert!(log.contains("127.0.0.1"), "the socket's address is logged");
}

#[actix_web::test]
async fn hsts_is_sent_only_when_configured() {
    let ctx = TestContext::new().await;
    let plain = app!(ctx);
    assert_eq!(send(&plain, get("/api/v1/clients")).await.header("strict-transport-security"), None);
    let mut settings = (*ctx.state.settings).clone();
    settings.access.hsts_max_age = Some(31_536_000);
    let state = web::Data::new(AppState { settings: Arc::new(settings), ..ctx.state.clone() });
    let tls = actix_web::test::init_service(hybrid_crm::http::build_app(state)).await;
    for uri in ["/api/v1/clients", "/health/live", "/swagger-ui/"] {
        let reply = send(&tls, get(uri)).await;
        assert_eq!(
            reply.header("strict-transport-security").as_deref(),
            Some("max-age=31536000; includeSubDomains"),
            "{uri}"
        );
    }
}

#[actix_web::test]
async fn report_days_outside_years_1_to_9999_are_refused_naming_the_parameter() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    for (query, field) in [
        ("to=-262143-01-01", "to"),
        ("to=-262143-02-01", "to"),
        ("from=-5000-01-01&to=-5000-01-10", "from"),
        ("from=2026-01-01&to=10000-01-01", "to"),
        ("to=0000-12-31", "to"),
    ] {
        for report in ["sales", "kpis", "products", "clients", "workshops"] {
            let reply = send(&app, get(&format!("/api/v1/reports/{report}?{query}"))).await;
            reply.problem(422, "validation_failed");
            assert!(reply.error_fields().contains(&field.to_string()), "{report}?{query}: {}", reply.body);
        }
    }
    assert_eq!(send(&app, get("/api/v1/reports/sales?from=0001-01-01&to=0001-01-05")).await.status, 200);
    assert_eq!(
        send(&app, get("/api/v1/reports/kpis?to=0001-01-05")).await.status,
        200,
        "the default start may fall in year 0"
    );
}

#[actix_web::test]
async fn every_post_whose_process_dies_after_its_commit_is_recognised_when_retried() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[]).await;
    let spec = hybrid_crm::http::openapi();
    let side = ctx.side_connection().await;
    // A process that dies after the commit never keeps the response: here the table refuses to
    // take it, which leaves each key exactly as such a death would.
    side.execute(
        "CREATE FUNCTION refuse_completion() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.state = 'completed' THEN RAISE EXCEPTION 'the process died'; END IF; RETURN NEW; END $$",
    )
    .await;
    side.execute(
        "CREATE TRIGGER die_before_completion BEFORE UPDATE ON idempotency_keys
         FOR EACH ROW EXECUTE FUNCTION refuse_completion()",
    )
    .await;
    #[derive(diesel::QueryableByName)]
    struct State {
        #[diesel(sql_type = diesel::sql_types::Text)]
        state: String,
    }
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().expect("paths") {
        let Some(operation) = item.get("post").filter(|_| template.starts_with("/api/v1/")) else { continue };
        let write = fitting_write(&ctx, &app, &Method::POST, template, &receiver, TEST_KEY).await;
        if write.caller(TEST_KEY).is_none() {
            // Signing in takes no Idempotency-Key (no caller to keep it for): a retry is a new session.
            continue;
        }
        let idempotency = uuid::Uuid::now_v7().to_string();
        let request = || {
            let mut request =
                TestRequest::post().uri(&write.uri).insert_header(("idempotency-key", idempotency.as_str()));
            if let Some(body) = &write.body {
                request =
                    request.insert_header((header::CONTENT_TYPE, write.content_type)).set_payload(body.to_string());
            }
            with_key(request, write.caller(TEST_KEY))
        };
        let first = send_as_is(&app, request()).await;
        assert_eq!(first.status, write.status, "POST {}: {}", write.uri, first.body);
        // `<key id>:<key>`, or `user:<user id>:<key>` for a staff session.
        let stored_key = format!("%:{idempotency}");
        let state = side
            .run(move |conn| {
                use diesel::RunQueryDsl;
                diesel::sql_query("SELECT state FROM idempotency_keys WHERE key LIKE $1")
                    .bind::<diesel::sql_types::Text, _>(stored_key)
                    .get_result::<State>(conn)
                    .expect("the key's row")
                    .state
            })
            .await;
        assert_eq!(state, "committed", "POST {template}: the key was not marked with the effect's commit");
        // After the dead process's lease, the retry is told the effect happened; it never runs twice.
        side.execute(
            "UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE state = 'committed'",
        )
        .await;
        let retry = send_as_is(&app, request()).await;
        if template == "/api/v1/auth/sign-out" || template == "/api/v1/store/auth/sign-out" {
            // The session it ended is gone: the retry's token is refused before anything runs.
            retry.problem(401, "unauthenticated");
            checked += 1;
            continue;
        }
        match retry.status.as_u16() {
            303 => {
                let location = retry.header("location").unwrap_or_default();
                assert!(!location.is_empty(), "POST {template}: 303 without Location");
                // A customer is sent to their own record, never to a staff route.
                if template.starts_with("/api/v1/store/me/") {
                    assert!(location.starts_with("/api/v1/store/me/"), "POST {template}: 303 to {location}");
                }
            }
            409 => assert_eq!(retry.body["code"], "idempotency_key_in_use", "POST {template}: {}", retry.body),
            other => panic!(
                "POST {template} ({}) ran again after its commit: {other} {}",
                operation["operationId"], retry.body
            ),
        }
        checked += 1;
    }
    assert!(checked > 20, "{checked} POST operations");
}

#[actix_web::test]
async fn the_database_and_mongodb_calls_of_a_request_log_under_its_request_id_and_use_case() {
    let ctx = TestContext::new().await;
    let path = std::env::temp_dir().join(format!("crm-log-{}.jsonl", uuid::Uuid::now_v7()));
    let file = std::fs::File::create(&path).unwrap();
    let settings = [("LOG_FORMAT", "json"), ("RUST_LOG", "info,hybrid_crm=debug")];
    let server = Server::start_logging(&ctx, &settings, file).await;
    let body = json!({"name": "Traced", "email": "traced@example.com", "kind": "b2c"});
    let (status, head, created) = server.request("POST", "/api/v1/clients", Some(&body), &[]).await.unwrap();
    assert_eq!(status, 201);
    let request_id =
        head.lines().find_map(|line| line.strip_prefix("x-request-id: ")).expect("x-request-id").trim().to_string();
    // The sequencer numbers the client's event in a round of its own.
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let (_, _, feed) = server.request("GET", "/api/v1/events", None, &[]).await.unwrap();
        if feed["items"].as_array().is_some_and(|items| !items.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(server);
    let log = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let lines: Vec<Value> = log.lines().filter_map(|l| serde_json::from_str::<Value>(l).ok()).collect();
    let under_request = |message: &str, store_span: &str| {
        lines.iter().any(|line| {
            let spans = line["spans"].as_array().cloned().unwrap_or_default();
            line["message"] == message
                && spans.iter().any(|s| s["request_id"] == request_id.as_str())
                && spans.iter().any(|s| s["name"] == "create")
                && spans.last().is_some_and(|s| s["name"] == store_span)
        })
    };
    assert!(under_request("unit of work", "pg"), "no PostgreSQL line of request {request_id} in:\n{log}");
    assert!(under_request("mongodb call", "mongodb"), "no MongoDB line of request {request_id} in:\n{log}");
    assert!(created["id"].is_string());
    // A worker's calls log under its round's span.
    let under_worker = lines.iter().any(|line| {
        let spans = line["spans"].as_array().cloned().unwrap_or_default();
        line["message"] == "unit of work" && spans.iter().any(|s| s["name"] == "worker" && s["worker"] == "sequencer")
    });
    assert!(under_worker, "no PostgreSQL line of the sequencer's rounds in:\n{log}");
}
