//! Customers: registering (verification before attaching), links read from an SMTP sink, reset
//! without enumeration, and the store's own-records operations against every other caller.

use crate::harness::{bearer, send, send_as_is, SmtpSink, TestContext, STAFF_PASSWORD};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use hybrid_crm::domain::access::Role;
use hybrid_crm::http::access::Requirement;
use serde_json::{json, Value};

fn public(uri: &str, body: Value) -> actix_http::Request {
    TestRequest::post().uri(uri).set_json(body).to_request()
}

fn as_customer(method: Method, uri: &str, token: &str, body: Option<Value>) -> actix_http::Request {
    let mut request = TestRequest::default().method(method).uri(uri).insert_header(("Authorization", bearer(token)));
    if let Some(body) = body {
        request = request.set_json(body);
    }
    request.to_request()
}

/// The token of the newest link mailed to `to` whose text contains `path`.
fn link_token(sink: &SmtpSink, to: &str, path: &str) -> Option<String> {
    sink.mails().iter().rev().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to))).find_map(|m| {
        // Quoted-printable: soft line breaks, and `=` written `=3D`.
        let data = m.data.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=");
        let at = data.find(&format!("{path}?token="))? + path.len() + "?token=".len();
        Some(data[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect())
    })
}

fn mails_to(sink: &SmtpSink, to: &str) -> usize {
    sink.mails().iter().filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(to))).count()
}

fn sign_in(email: &str, password: &str) -> actix_http::Request {
    public("/api/v1/store/auth/sign-in", json!({"email": email, "password": password}))
}

#[actix_web::test]
async fn a_customer_registers_verifies_through_the_mailed_link_and_signs_in() {
    let sink = SmtpSink::start(0).await;
    let ctx = TestContext::with_smtp(&sink.url).await;
    let app = crate::app!(ctx);
    let body = json!({"name": "Lucía Pérez", "email": "lucia@example.com", "password": "my own long passphrase"});
    let registered = send_as_is(&app, public("/api/v1/store/register", body)).await;
    assert_eq!(registered.status, 202, "{}", registered.body);

    // The client exists as any client (its MongoDB document too), the account cannot sign in yet.
    let clients = send(&app, crate::harness::get("/api/v1/clients?q=lucia@example.com")).await;
    let client = clients.body["items"][0]["id"].as_str().expect("the new client").to_string();
    assert!(ctx.document_of(hybrid_crm::domain::ids::ClientId(client.parse().unwrap())).await.is_some());
    send_as_is(&app, sign_in("lucia@example.com", "my own long passphrase")).await.problem(403, "email_not_verified");
    // A wrong password is not told about verification.
    send_as_is(&app, sign_in("lucia@example.com", "not my passphrase")).await.problem(401, "invalid_credentials");

    let token = link_token(&sink, "lucia@example.com", "/verify-email").expect("a verification link");
    let verified = send_as_is(&app, public("/api/v1/store/auth/verify-email", json!({"token": token}))).await;
    assert_eq!(verified.status, 204, "{}", verified.body);
    let again = send_as_is(&app, public("/api/v1/store/auth/verify-email", json!({"token": token}))).await;
    again.problem(401, "invalid_token");

    let signed_in = send_as_is(&app, sign_in("LUCIA@example.com", "my own long passphrase")).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let access = signed_in.body["access_token"].as_str().unwrap().to_string();
    let me = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me", &access, None)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["client_id"], client);
    assert_eq!(me.body["name"], "Lucía Pérez");

    // Name and phone change with If-Match; a stale tag is refused.
    let tag = me.header("etag").expect("ETag");
    let patch = |tag: &str, body: Value| {
        TestRequest::patch()
            .uri("/api/v1/store/me")
            .insert_header(("Authorization", bearer(&access)))
            .insert_header(("If-Match", tag.to_string()))
            .set_json(body)
            .to_request()
    };
    let changed = send_as_is(&app, patch(&tag, json!({"phone": "+34 600 111 222"}))).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["phone"], "+34 600 111 222");
    send_as_is(&app, patch(&tag, json!({"name": "Stale"}))).await.problem(412, "version_mismatch");
    let email = send_as_is(&app, patch(&changed.header("etag").unwrap(), json!({"email": "new@example.com"}))).await;
    email.problem(422, "validation_failed");
}

#[actix_web::test]
async fn registering_an_existing_clients_email_attaches_only_once_the_link_is_followed() {
    let sink = SmtpSink::start(0).await;
    let ctx = TestContext::with_smtp(&sink.url).await;
    let app = crate::app!(ctx);
    let existing = crate::create_client(&app, "Ada Lovelace", "ada@example.com").await;

    let body = json!({"name": "Not Ada", "email": "ADA@example.com", "password": "an impostor passphrase"});
    let first_answer = send_as_is(&app, public("/api/v1/store/register", body)).await;
    assert_eq!(first_answer.status, 202);
    // No second client, the existing one untouched, and the impostor cannot sign in.
    let clients = send(&app, crate::harness::get("/api/v1/clients?q=ada@example.com")).await;
    assert_eq!(clients.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(clients.body["items"][0]["name"], "Ada Lovelace");
    send_as_is(&app, sign_in("ada@example.com", "an impostor passphrase")).await.problem(403, "email_not_verified");

    // The real owner registers too: the unverified account takes the new password, and only the
    // newest link works.
    let first = link_token(&sink, "ada@example.com", "/verify-email").unwrap();
    let body = json!({"name": "Ada", "email": "ada@example.com", "password": "the real owner's passphrase"});
    assert_eq!(send_as_is(&app, public("/api/v1/store/register", body)).await.status, 202);
    let newest = link_token(&sink, "ada@example.com", "/verify-email").unwrap();
    assert_ne!(first, newest);
    send_as_is(&app, public("/api/v1/store/auth/verify-email", json!({"token": first})))
        .await
        .problem(401, "invalid_token");
    let verified = send_as_is(&app, public("/api/v1/store/auth/verify-email", json!({"token": newest}))).await;
    assert_eq!(verified.status, 204, "{}", verified.body);
    send_as_is(&app, sign_in("ada@example.com", "an impostor passphrase")).await.problem(401, "invalid_credentials");
    let signed_in = send_as_is(&app, sign_in("ada@example.com", "the real owner's passphrase")).await;
    let access = signed_in.body["access_token"].as_str().expect("signed in").to_string();
    let me = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me", &access, None)).await;
    assert_eq!(me.body["client_id"], existing, "attached to the existing client");
    assert_eq!(me.body["name"], "Ada Lovelace");

    // Registering a verified email again: the same 202, a note to the owner, nothing changed.
    let before = mails_to(&sink, "ada@example.com");
    let body = json!({"name": "Again", "email": "ada@example.com", "password": "yet another passphrase"});
    let again = send_as_is(&app, public("/api/v1/store/register", body)).await;
    assert_eq!((again.status, &again.body), (first_answer.status, &first_answer.body), "the same answer");
    assert_eq!(mails_to(&sink, "ada@example.com"), before + 1);
    assert!(sink.mails().last().unwrap().data.contains("already have an account"));
    assert_eq!(send_as_is(&app, sign_in("ada@example.com", "the real owner's passphrase")).await.status, 200);
}

#[actix_web::test]
async fn a_password_reset_tells_nobody_who_has_an_account_and_ends_every_session() {
    let sink = SmtpSink::start(0).await;
    let ctx = TestContext::with_smtp(&sink.url).await;
    let app = crate::app!(ctx);
    let (_, tokens) = crate::harness::new_customer_session(&ctx, "reset").await;
    let email = "reset@customers.example.com";

    let unknown =
        send_as_is(&app, public("/api/v1/store/auth/password-reset", json!({"email": "nobody@example.com"}))).await;
    let known = send_as_is(&app, public("/api/v1/store/auth/password-reset", json!({"email": email}))).await;
    assert_eq!((unknown.status.as_u16(), &unknown.body), (known.status.as_u16(), &known.body), "the same answer");
    assert_eq!(known.status, 202);
    assert_eq!(mails_to(&sink, "nobody@example.com"), 0);
    let token = link_token(&sink, email, "/reset-password").expect("a reset link");

    // A common password is refused and the link stays usable.
    let weak = json!({"token": token, "new_password": "password123"});
    let refused = send_as_is(&app, public("/api/v1/store/auth/password-reset/confirm", weak)).await;
    assert_eq!(refused.error_fields(), vec!["new_password"]);
    let body = json!({"token": token, "new_password": "a fresh long passphrase"});
    let reset = send_as_is(&app, public("/api/v1/store/auth/password-reset/confirm", body.clone())).await;
    assert_eq!(reset.status, 204, "{}", reset.body);
    send_as_is(&app, public("/api/v1/store/auth/password-reset/confirm", body)).await.problem(401, "invalid_token");
    let me = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me", &tokens.access_token, None)).await;
    me.problem(401, "unauthenticated");
    send_as_is(&app, sign_in(email, STAFF_PASSWORD)).await.problem(401, "invalid_credentials");
    assert_eq!(send_as_is(&app, sign_in(email, "a fresh long passphrase")).await.status, 200);

    // An expired link does not work.
    send_as_is(&app, public("/api/v1/store/auth/password-reset", json!({"email": email}))).await;
    let expired = link_token(&sink, email, "/reset-password").unwrap();
    ctx.side_connection().await.execute("UPDATE email_tokens SET expires_at = now() - interval '1 second'").await;
    let body = json!({"token": expired, "new_password": "another fresh passphrase"});
    send_as_is(&app, public("/api/v1/store/auth/password-reset/confirm", body)).await.problem(401, "invalid_token");
    assert!(ctx.state.settings.access.auth.reset_ttl < std::time::Duration::from_secs(3600), "under an hour");
}

/// Every operation of the spec with each kind of caller: a customer's token passes only the
/// store's own operations (and there only as themselves), nothing else does.
#[actix_web::test]
async fn the_store_matrix_customers_keys_and_staff_reach_only_their_own_operations() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let spec = hybrid_crm::http::openapi();
    let (client_a, a) = crate::harness::new_customer(&ctx, "matrix-a").await;
    let (client_b, b) = crate::harness::new_customer_session(&ctx, "matrix-b").await;
    let (_, staff) = crate::harness::new_staff(&ctx, Role::Admin, "matrix-store-admin").await;
    let admin_key = crate::harness::new_key(&ctx, Role::Admin, Vec::new()).await;
    let publishable = crate::harness::new_publishable_key(&ctx, &["https://shop.example.com"]).await;
    let mut checked = 0;
    for (method, template, uri, body, requirement) in crate::authorization::api_operations(&spec) {
        let sent = |token: Option<&str>, header: Option<(&str, String)>| {
            let mut request = TestRequest::default().method(method.clone()).uri(&uri);
            if let Some(token) = token {
                request = request.insert_header(("Authorization", bearer(token)));
            }
            if let Some(header) = header {
                request = request.insert_header(header);
            }
            if let Some(body) = &body {
                request = request.set_json(body);
            }
            request.to_request()
        };
        let request = |token: Option<&str>| sent(token, None);
        let with_publishable = || sent(None, Some(("X-Publishable-Key", publishable.clone())));
        match requirement {
            Requirement::Customer => {
                send_as_is(&app, request(None)).await.problem(401, "unauthenticated");
                for other in [&staff, &admin_key, &publishable] {
                    send_as_is(&app, request(Some(other))).await.problem(403, "forbidden");
                }
                send_as_is(&app, with_publishable()).await.problem(401, "unauthenticated");
            }
            Requirement::Storefront => {
                for other in [None, Some(a.as_str()), Some(&b.access_token), Some(&staff), Some(&admin_key)] {
                    let reply = send_as_is(&app, request(other)).await;
                    assert_eq!(reply.status, 401, "{method} {template}: {}", reply.body);
                }
                let reply = send_as_is(&app, with_publishable()).await;
                assert!([200, 404].contains(&reply.status.as_u16()), "{method} {template}: {}", reply.body);
            }
            Requirement::Scope(_) | Requirement::SignedIn => {
                for other in [&a, &publishable] {
                    let reply = send_as_is(&app, request(Some(other))).await;
                    assert_eq!(reply.status, 403, "{method} {template} with a customer token: {}", reply.body);
                }
                let reply = send_as_is(&app, with_publishable()).await;
                assert_eq!(reply.status, 401, "{method} {template} with a publishable key: {}", reply.body);
            }
            Requirement::Public | Requirement::Undeclared => continue,
        }
        checked += 1;
    }
    assert!(checked > 100, "{checked} operations");

    // Own records only: B's session through A's token is as if it did not exist.
    let uri = format!("/api/v1/store/auth/sessions/{}", b.session.id);
    send_as_is(&app, as_customer(Method::DELETE, &uri, &a, None)).await.problem(404, "session_not_found");
    let b_me = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me", &b.access_token, None)).await;
    assert_eq!(b_me.body["client_id"], client_b);
    let a_me = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me", &a, None)).await;
    assert_eq!(a_me.body["client_id"], client_a);
    // A customer token at the staff refresh, and the reverse, are not valid.
    let refresh = json!({"refresh_token": b.refresh_token});
    send_as_is(&app, public("/api/v1/auth/refresh", refresh)).await.problem(401, "invalid_refresh_token");
    // A staff user's credentials do not sign in to the store.
    send_as_is(&app, sign_in("matrix-store-admin@staff.example.com", STAFF_PASSWORD))
        .await
        .problem(401, "invalid_credentials");
}

#[actix_web::test]
async fn a_customer_lists_reads_and_cancels_only_their_own_orders() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let (client_a, a) = crate::harness::new_customer(&ctx, "orders-a").await;
    let (client_b, b) = crate::harness::new_customer(&ctx, "orders-b").await;
    let product = crate::create_product(&app, "Store kit", "12.50", 10).await;
    let order_a = crate::order_in(&app, &client_a, &product, "pending").await;
    let confirmed_a = crate::order_in(&app, &client_a, &product, "confirmed").await;
    let order_b = crate::order_in(&app, &client_b, &product, "pending").await;

    let listed = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me/orders", &a, None)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let ids: Vec<&str> = listed.body["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![confirmed_a.as_str(), order_a.as_str()], "A's orders, newest first, not B's");
    let pending = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me/orders?status=pending", &a, None)).await;
    assert_eq!(pending.body["items"].as_array().unwrap().len(), 1);

    // B's order through A's token: as if it did not exist, and untouched.
    let uri = format!("/api/v1/store/me/orders/{order_b}");
    send_as_is(&app, as_customer(Method::GET, &uri, &a, None)).await.problem(404, "order_not_found");
    let cancel_b = format!("/api/v1/store/me/orders/{order_b}/cancel");
    send_as_is(&app, as_customer(Method::POST, &cancel_b, &a, None)).await.problem(404, "order_not_found");
    let still = send(&app, crate::harness::get(&format!("/api/v1/orders/{order_b}"))).await;
    assert_eq!(still.body["status"], "pending");
    assert_eq!(send_as_is(&app, as_customer(Method::GET, &uri, &b, None)).await.status, 200);

    // A cancels the pending order (stock back), not the confirmed one.
    let stock = crate::stock_of(&app, &product).await;
    let cancelled =
        send_as_is(&app, as_customer(Method::POST, &format!("/api/v1/store/me/orders/{order_a}/cancel"), &a, None))
            .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(crate::stock_of(&app, &product).await, stock + 1);
    let refused =
        send_as_is(&app, as_customer(Method::POST, &format!("/api/v1/store/me/orders/{confirmed_a}/cancel"), &a, None))
            .await;
    refused.problem(409, "invalid_transition");
}

#[actix_web::test]
async fn staff_disable_a_customer_account_and_its_sessions_end_at_once() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let (client, token) = crate::harness::new_customer(&ctx, "disabled").await;
    let uri = format!("/api/v1/clients/{client}/account");
    let account = send(&app, crate::harness::get(&uri)).await;
    assert_eq!(account.status, 200, "{}", account.body);
    assert_eq!(account.body["active"], true);
    assert!(account.body.get("password_hash").is_none());
    let tag = account.header("etag").expect("ETag");

    let patch = |tag: &str, active: bool| {
        TestRequest::patch()
            .uri(&uri)
            .insert_header(("If-Match", tag.to_string()))
            .set_json(json!({"active": active}))
            .to_request()
    };
    let disabled = send(&app, patch(&tag, false)).await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(disabled.body["active"], false);
    send(&app, patch(&tag, true)).await.problem(412, "version_mismatch");
    let me = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me", &token, None)).await;
    me.problem(401, "unauthenticated");
    let email = "disabled@customers.example.com";
    send_as_is(&app, sign_in(email, STAFF_PASSWORD)).await.problem(401, "invalid_credentials");

    let enabled = send(&app, patch(&disabled.header("etag").unwrap(), true)).await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert_eq!(send_as_is(&app, sign_in(email, STAFF_PASSWORD)).await.status, 200);
    // A client without an account.
    let other = crate::create_client(&app, "No account", "no-account@example.com").await;
    let missing = send(&app, crate::harness::get(&format!("/api/v1/clients/{other}/account"))).await;
    missing.problem(404, "customer_account_not_found");
}

fn paying(token: &str, key: Option<&str>, body: Value) -> actix_http::Request {
    let mut request =
        TestRequest::post().uri("/api/v1/store/me/payments").insert_header(("Authorization", bearer(token)));
    if let Some(key) = key {
        request = request.insert_header(("Idempotency-Key", key));
    }
    request.set_json(body).to_request()
}

#[actix_web::test]
async fn a_customer_enrolls_pays_once_and_cancels_only_under_the_workshop_s_rule() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let (_, a) = crate::harness::new_customer_session(&ctx, "learner-a").await;
    let (_, b) = crate::harness::new_customer_session(&ctx, "learner-b").await;
    let (a, b) = (a.access_token, b.access_token);
    let interest = crate::create_interest(&app, "Joinery").await;
    let week_ahead = crate::create_workshop(&app, "Dovetails", &interest, 2).await;
    let mut soon = crate::workshop_body("Tomorrow morning", &interest, 5);
    soon["starts_at"] = json!((chrono::Utc::now() + chrono::Duration::hours(10)).to_rfc3339());
    let soon = crate::post(&app, "/api/v1/workshops", soon).await.body["id"].as_str().unwrap().to_string();
    let mut flexible = crate::workshop_body("Flexible", &interest, 5);
    flexible["cancellation_hours"] = json!(0);
    let flexible = crate::post(&app, "/api/v1/workshops", flexible).await;
    assert_eq!(flexible.body["cancellation_hours"], 0, "{}", flexible.body);
    let flexible = flexible.body["id"].as_str().unwrap().to_string();
    let enroll = |token: &str, workshop: &str| {
        as_customer(Method::POST, "/api/v1/store/me/enrollments", token, Some(json!({"workshop_id": workshop})))
    };

    let enrolled = send_as_is(&app, enroll(&a, &week_ahead)).await;
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    let enrollment = enrolled.body["id"].as_str().unwrap().to_string();
    assert_eq!(enrolled.header("location"), Some(format!("/api/v1/store/me/enrollments/{enrollment}")));
    assert_eq!(enrolled.body["workshop"]["name"], "Dovetails");
    assert_eq!(
        (enrolled.body["balance"].as_str(), enrolled.body["cancellable"].as_bool()),
        (Some("80.00"), Some(true))
    );
    assert!(enrolled.body.get("client_id").is_none(), "{}", enrolled.body);
    send_as_is(&app, enroll(&a, &week_ahead)).await.problem(409, "already_enrolled");
    let listed = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me/enrollments", &a, None)).await;
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
    let none = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me/enrollments", &b, None)).await;
    assert_eq!(none.body["items"], json!([]));

    // B reaches none of A's records, by any of their ids.
    let uri = format!("/api/v1/store/me/enrollments/{enrollment}");
    send_as_is(&app, as_customer(Method::GET, &uri, &b, None)).await.problem(404, "enrollment_not_found");
    send_as_is(&app, as_customer(Method::POST, &format!("{uri}/cancel"), &b, None))
        .await
        .problem(404, "enrollment_not_found");
    let pay = |amount: &str, method: &str, token: &str| json!({"subject": {"type": "enrollment", "id": enrollment}, "amount": amount, "method": method, "token": token});
    send_as_is(&app, paying(&b, Some("b-tries"), pay("80.00", "card", "tok_visa")))
        .await
        .problem(404, "enrollment_not_found");

    // Paying: a key is required, the desk's methods are not the customer's, and a retry never
    // charges twice.
    send_as_is(&app, paying(&a, None, pay("80.00", "card", "tok_visa"))).await.problem(400, "idempotency_key_required");
    let cash = send_as_is(&app, paying(&a, Some("a-cash"), pay("80.00", "cash", "tok_visa"))).await;
    assert_eq!((cash.status.as_u16(), cash.error_fields()), (422, vec!["method".to_string()]), "{}", cash.body);
    let declined = send_as_is(&app, paying(&a, Some("a-declined"), pay("80.00", "card", "tok_declined"))).await;
    assert_eq!(
        (declined.status.as_u16(), declined.body["status"].as_str()),
        (201, Some("failed")),
        "{}",
        declined.body
    );
    let paid = send_as_is(&app, paying(&a, Some("a-visa"), pay("80.00", "card", "tok_visa"))).await;
    assert_eq!((paid.status.as_u16(), paid.body["status"].as_str()), (201, Some("succeeded")), "{}", paid.body);
    let payment = paid.body["id"].as_str().unwrap().to_string();
    assert_eq!(paid.header("location"), Some(format!("/api/v1/store/me/payments/{payment}")));
    let again = send_as_is(&app, paying(&a, Some("a-visa"), pay("80.00", "card", "tok_visa"))).await;
    assert_eq!(
        (again.body["id"].as_str(), again.header("idempotent-replayed").as_deref()),
        (Some(payment.as_str()), Some("true"))
    );
    send_as_is(&app, paying(&a, Some("a-more"), pay("1.00", "card", "tok_visa"))).await.problem(409, "overpayment");
    let mine = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me/payments", &a, None)).await;
    assert_eq!(mine.body["items"].as_array().map(Vec::len), Some(2), "the declined one and the paid one");
    let theirs = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me/payments", &b, None)).await;
    assert_eq!(theirs.body["items"], json!([]));
    let payment_uri = format!("/api/v1/store/me/payments/{payment}");
    send_as_is(&app, as_customer(Method::GET, &payment_uri, &b, None)).await.problem(404, "payment_not_found");
    let staff_view = send(&app, crate::harness::get(&format!("/api/v1/payments/{payment}"))).await;
    assert_eq!(staff_view.body["amount"], "80.00", "one charge in the ledger");

    // The workshop's rule: a paid seat is the staff's to cancel; a seat of a workshop starting
    // within its window is not cancellable; otherwise it is, and the seat is free again.
    let now_paid = send_as_is(&app, as_customer(Method::GET, &uri, &a, None)).await;
    assert_eq!((now_paid.body["status"].as_str(), now_paid.body["cancellable"].as_bool()), (Some("paid"), Some(false)));
    send_as_is(&app, as_customer(Method::POST, &format!("{uri}/cancel"), &a, None))
        .await
        .problem(409, "enrollment_paid");
    let late = send_as_is(&app, enroll(&a, &soon)).await;
    assert_eq!(late.body["cancellable"], false, "{}", late.body);
    let late_uri = format!("/api/v1/store/me/enrollments/{}/cancel", late.body["id"].as_str().unwrap());
    let closed = send_as_is(&app, as_customer(Method::POST, &late_uri, &a, None)).await;
    assert!(closed.problem(409, "cancellation_closed")["details"]["cancellable_until"].is_string(), "{}", closed.body);
    let open = send_as_is(&app, enroll(&a, &flexible)).await;
    let open_uri = format!("/api/v1/store/me/enrollments/{}/cancel", open.body["id"].as_str().unwrap());
    let cancelled = send_as_is(&app, as_customer(Method::POST, &open_uri, &a, None)).await;
    assert_eq!(
        (cancelled.status.as_u16(), cancelled.body["status"].as_str()),
        (200, Some("cancelled")),
        "{}",
        cancelled.body
    );
    send_as_is(&app, as_customer(Method::POST, &open_uri, &a, None)).await.problem(409, "already_cancelled");
    let seats = send(&app, crate::harness::get(&format!("/api/v1/workshops/{flexible}"))).await;
    assert_eq!(seats.body["seats_available"], 5);
}

#[actix_web::test]
async fn a_customer_buys_and_pays_their_own_subscription() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let (client, a) = crate::harness::new_customer_session(&ctx, "subscriber").await;
    let a = a.access_token;
    let uri = "/api/v1/store/me/subscription";
    send_as_is(&app, as_customer(Method::GET, uri, &a, None)).await.problem(404, "subscription_not_found");
    let bought =
        send_as_is(&app, as_customer(Method::POST, uri, &a, Some(json!({"plan": "premium", "months": 2})))).await;
    assert_eq!(bought.status, 201, "{}", bought.body);
    assert_eq!(
        (bought.body["client_id"].as_str(), bought.header("location").as_deref()),
        (Some(client.as_str()), Some(uri))
    );
    let due = bought.body["amount_due"].as_str().unwrap().to_string();
    let subject = json!({"type": "subscription", "id": bought.body["id"]});
    let paid = send_as_is(
        &app,
        paying(&a, Some("sub-1"), json!({"subject": subject, "amount": due, "method": "paypal", "token": "tok_visa"})),
    )
    .await;
    assert_eq!(paid.body["status"], "succeeded", "{}", paid.body);
    let current = send_as_is(&app, as_customer(Method::GET, uri, &a, None)).await;
    assert_eq!((current.body["status"].as_str(), current.body["amount_due"].as_str()), (Some("active"), Some("0.00")));
}

#[actix_web::test]
async fn a_customer_sets_the_preferences_they_may_and_never_the_business_s() {
    let ctx = TestContext::new().await;
    let mut settings = (*ctx.state.settings).clone();
    settings.access.auth.editable_preferences = vec!["newsletter_topics".into()];
    let state = actix_web::web::Data::new(hybrid_crm::app::AppState {
        settings: std::sync::Arc::new(settings),
        ..ctx.state.clone()
    });
    let app = actix_web::test::init_service(hybrid_crm::http::build_app(state)).await;
    let (client, token) = crate::harness::new_customer(&ctx, "prefers").await;
    let staff_prefs = format!("/api/v1/clients/{client}/preferences");
    let set = json!({"language": "en", "notifications": true, "vip_tier": "gold"});
    assert_eq!(send(&app, crate::harness::json(Method::PUT, &staff_prefs, set)).await.status, 200);
    let noted = crate::post(&app, &format!("/api/v1/clients/{client}/comments"), json!({"text": "Pays late"})).await;
    assert_eq!(noted.status, 201);

    let uri = "/api/v1/store/me/preferences";
    let mine = send_as_is(&app, as_customer(Method::GET, uri, &token, None)).await;
    assert_eq!(mine.body, json!({"language": "en", "notifications": true}), "only the customer's keys");
    let tag = mine.header("etag").expect("ETag");
    let patch = |body: Value, tag: Option<&str>| {
        let mut request = TestRequest::patch().uri(uri).insert_header(("Authorization", bearer(&token))).set_json(body);
        if let Some(tag) = tag {
            request = request.insert_header(("If-Match", tag.to_string()));
        }
        request.to_request()
    };
    let changed = send_as_is(&app, patch(json!({"language": "es", "newsletter_topics": ["tools"]}), Some(&tag))).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body, json!({"language": "es", "notifications": true, "newsletter_topics": ["tools"]}));
    send_as_is(&app, patch(json!({"language": "fr"}), Some(&tag))).await.problem(412, "version_mismatch");
    let refused = send_as_is(&app, patch(json!({"vip_tier": "platinum", "notifications": false}), None)).await;
    assert_eq!(refused.error_fields(), vec!["preferences.vip_tier".to_string()]);
    assert!(refused.error_codes().contains(&"not_editable".to_string()), "{}", refused.body);
    let invalid = send_as_is(&app, patch(json!({"language": 5}), None)).await;
    assert_eq!(invalid.error_fields(), vec!["preferences.language".to_string()]);
    let opted_out = send_as_is(&app, patch(json!({"notifications": {"email": false}}), None)).await;
    assert_eq!(opted_out.body["notifications"], json!({"email": false}));

    let staff_view = send(&app, crate::harness::get(&staff_prefs)).await;
    assert_eq!(
        staff_view.body,
        json!({"language": "es", "notifications": {"email": false}, "vip_tier": "gold", "newsletter_topics": ["tools"]}),
        "the business's key is untouched, the refused patches changed nothing"
    );
}

#[actix_web::test]
async fn a_customer_changes_their_email_only_through_a_link_sent_to_the_new_address() {
    let sink = SmtpSink::start(0).await;
    let ctx = TestContext::with_smtp(&sink.url).await;
    let app = crate::app!(ctx);
    let (client, token) = crate::harness::new_customer(&ctx, "mover").await;
    let (_, _) = crate::harness::new_customer(&ctx, "occupant").await;
    let old = "mover@customers.example.com";
    let change = |body: Value| as_customer(Method::POST, "/api/v1/store/me/email", &token, Some(body));

    let wrong =
        send_as_is(&app, change(json!({"new_email": "mover@new.example.com", "password": "not it at all"}))).await;
    assert_eq!(wrong.error_fields(), vec!["password".to_string()]);
    let same = send_as_is(&app, change(json!({"new_email": old.to_uppercase(), "password": STAFF_PASSWORD}))).await;
    assert_eq!(same.error_fields(), vec!["new_email".to_string()]);
    // Another account's address: the same answer, a note to that address, no link.
    let taken =
        send_as_is(&app, change(json!({"new_email": "occupant@customers.example.com", "password": STAFF_PASSWORD})))
            .await;
    assert_eq!(taken.status, 202, "{}", taken.body);
    assert_eq!(link_token(&sink, "occupant@customers.example.com", "/confirm-email"), None);
    assert_eq!(mails_to(&sink, "occupant@customers.example.com"), 1);

    let asked =
        send_as_is(&app, change(json!({"new_email": "mover@new.example.com", "password": STAFF_PASSWORD}))).await;
    assert_eq!(asked.status, 202, "{}", asked.body);
    // Nothing changed yet; the old address is told, the new one gets the link.
    let me = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me", &token, None)).await;
    assert_eq!(me.body["email"], old);
    assert!(mails_to(&sink, old) >= 2, "a notice per request to the current address");
    let link = link_token(&sink, "mover@new.example.com", "/confirm-email").expect("a link to the new address");
    let confirm = |token: &str| public("/api/v1/store/auth/confirm-email", json!({"token": token}));
    // A verification or reset token is not a change token.
    send_as_is(&app, confirm("hcrm_et_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
        .await
        .problem(401, "invalid_token");
    let confirmed = send_as_is(&app, confirm(&link)).await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.body);
    send_as_is(&app, confirm(&link)).await.problem(401, "invalid_token");

    let me = send_as_is(&app, as_customer(Method::GET, "/api/v1/store/me", &token, None)).await;
    assert_eq!(me.body["email"], "mover@new.example.com");
    let staff = send(&app, crate::harness::get(&format!("/api/v1/clients/{client}"))).await;
    assert_eq!(staff.body["email"], "mover@new.example.com", "the client's email moved with the account");
    let changed_notice = sink
        .mails()
        .iter()
        .any(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(old)) && m.data.contains("mover@new.example.com"));
    assert!(changed_notice, "the old address is told where the account went");
    send_as_is(&app, sign_in(old, STAFF_PASSWORD)).await.problem(401, "invalid_credentials");
    let signed_in = send_as_is(&app, sign_in("mover@new.example.com", STAFF_PASSWORD)).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
}
