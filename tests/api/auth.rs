//! Staff users signing in: sessions, rotating refresh tokens and their reuse, sign-out that ends a
//! session at once on every replica, throttled failures, and what is stored of the secrets.

use crate::harness::{bearer, json, send, send_as_is, Server, TestContext, STAFF_PASSWORD};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use hybrid_crm::app::AppState;
use serde_json::{json, Value};
use std::sync::Arc;

fn as_person(method: Method, uri: &str, token: &str, body: Option<Value>) -> actix_http::Request {
    let mut request = TestRequest::default().method(method).uri(uri).insert_header(("Authorization", bearer(token)));
    if let Some(body) = body {
        request = request.set_json(body);
    }
    request.to_request()
}

fn sign_in_request(email: &str, password: &str) -> actix_http::Request {
    TestRequest::post()
        .uri("/api/v1/auth/sign-in")
        .set_json(json!({"email": email, "password": password, "device": "Test phone"}))
        .to_request()
}

/// A sign-in from the address `10.0.0.<host>`.
fn sign_in_from(email: &str, password: &str, host: u8) -> actix_http::Request {
    TestRequest::post()
        .uri("/api/v1/auth/sign-in")
        .peer_addr(std::net::SocketAddr::from(([10, 0, 0, host], 40_000)))
        .set_json(json!({"email": email, "password": password}))
        .to_request()
}

fn refresh_request(refresh_token: &str) -> actix_http::Request {
    TestRequest::post().uri("/api/v1/auth/refresh").set_json(json!({"refresh_token": refresh_token})).to_request()
}

async fn create_user<S: crate::harness::TestApp<B>, B: actix_web::body::MessageBody>(
    app: &S,
    email: &str,
    role: &str,
) -> String {
    let body = json!({"name": "Staff", "email": email, "role": role, "password": STAFF_PASSWORD});
    let reply = send(app, json(Method::POST, "/api/v1/users", body)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}

#[actix_web::test]
async fn sign_in_gives_rotating_tokens_and_a_reused_refresh_token_ends_the_session() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let user = create_user(&app, "Rotation@Example.com", "sales").await;

    // The email matches regardless of case.
    let signed_in = send_as_is(&app, sign_in_request("rotation@example.com", STAFF_PASSWORD)).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(signed_in.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(signed_in.body["token_type"], "Bearer");
    assert_eq!(signed_in.body["expires_in"], 900);
    let access = signed_in.body["access_token"].as_str().unwrap().to_string();
    let refresh = signed_in.body["refresh_token"].as_str().unwrap().to_string();
    assert!(access.starts_with("hcrm_at_") && refresh.starts_with("hcrm_rt_"), "{access} {refresh}");

    let me = send_as_is(&app, as_person(Method::GET, "/api/v1/auth/me", &access, None)).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["id"], user);
    assert_eq!(me.body["email"], "Rotation@Example.com");

    // A refresh gives new tokens; the old access token still works until it expires.
    let rotated = send_as_is(&app, refresh_request(&refresh)).await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    let new_access = rotated.body["access_token"].as_str().unwrap().to_string();
    let new_refresh = rotated.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(new_refresh, refresh);
    assert_eq!(rotated.body["session_id"], signed_in.body["session_id"]);
    for token in [&access, &new_access] {
        let reply = send_as_is(&app, as_person(Method::GET, "/api/v1/clients", token, None)).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }

    // The spent refresh token again: refused, and the whole session ends (a thief and the owner
    // both lose it).
    let reused = send_as_is(&app, refresh_request(&refresh)).await;
    reused.problem(401, "invalid_refresh_token");
    for token in [&access, &new_access] {
        let reply = send_as_is(&app, as_person(Method::GET, "/api/v1/clients", token, None)).await;
        reply.problem(401, "unauthenticated");
    }
    send_as_is(&app, refresh_request(&new_refresh)).await.problem(401, "invalid_refresh_token");
    send_as_is(&app, refresh_request("hcrm_rt_not-a-token")).await.problem(401, "invalid_refresh_token");

    // The audit log names the person: the sign-in, the refresh, the reuse.
    hybrid_crm::app::access::write_audit_outcomes(&ctx.state).await.expect("audit");
    let log = send(&app, crate::harness::get(&format!("/api/v1/audit-log?user_id={user}"))).await;
    let seen: Vec<(String, i64)> = log.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["operation_id"].as_str().unwrap().to_string(), e["status"].as_i64().unwrap_or_default()))
        .collect();
    assert!(seen.contains(&("sign_in".into(), 200)), "{seen:?}");
    assert!(seen.contains(&("refresh".into(), 200)), "{seen:?}");
    assert!(seen.contains(&("refresh".into(), 401)), "the reuse: {seen:?}");
}

#[actix_web::test]
async fn the_upkeep_drops_tokens_that_can_no_longer_work_and_keeps_live_ones() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    create_user(&app, "sweep@example.com", "support").await;
    let live = send_as_is(&app, sign_in_request("sweep@example.com", STAFF_PASSWORD)).await;
    let ended = send_as_is(&app, sign_in_request("sweep@example.com", STAFF_PASSWORD)).await;
    let ended_refresh = ended.body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(send_as_is(&app, refresh_request(&ended_refresh)).await.status, 200);
    let side = ctx.side_connection().await;
    // The second session ended two days ago; one of the first's access tokens expired as long ago.
    side.execute(&format!(
        "UPDATE sessions SET ended_at = now() - interval '2 days', end_reason = 'sign_out' WHERE id = '{}'",
        ended.body["session_id"].as_str().unwrap()
    ))
    .await;
    side.execute(&format!(
        "INSERT INTO access_tokens (hash, session_id, expires_at) VALUES ('\\x00', '{}', now() - interval '2 days')",
        live.body["session_id"].as_str().unwrap()
    ))
    .await;
    let swept = hybrid_crm::app::auth::sweep_expired_tokens(&ctx.state).await.expect("sweep");
    assert_eq!(swept, 2, "the expired access token and the ended session's spent refresh token");
    let access = live.body["access_token"].as_str().unwrap();
    assert_eq!(send_as_is(&app, as_person(Method::GET, "/api/v1/auth/me", access, None)).await.status, 200);
    assert_eq!(hybrid_crm::app::auth::sweep_expired_tokens(&ctx.state).await.expect("sweep"), 0);
}

#[actix_web::test]
async fn twenty_simultaneous_refreshes_with_one_token_rotate_it_once() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    create_user(&app, "race@example.com", "support").await;
    let signed_in = send_as_is(&app, sign_in_request("race@example.com", STAFF_PASSWORD)).await;
    let refresh = signed_in.body["refresh_token"].as_str().unwrap().to_string();
    let state = ctx.state.clone();
    let tries = (0..20).map(|_| {
        let (state, refresh) = (state.clone(), refresh.clone());
        tokio::spawn(async move {
            hybrid_crm::app::auth::refresh(&state, hybrid_crm::domain::auth::Audience::Staff, refresh).await
        })
    });
    let outcomes: Vec<_> = futures_util::future::join_all(tries).await.into_iter().map(|r| r.expect("task")).collect();
    let rotated: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(rotated.len(), 1, "exactly one refresh rotates the token");
    // The others presented a spent token: the session ended with them, the winner's tokens too.
    let winner = rotated[0].access_token.clone();
    send_as_is(&app, as_person(Method::GET, "/api/v1/auth/me", &winner, None)).await.problem(401, "unauthenticated");
}

#[actix_web::test]
async fn secrets_are_stored_only_as_hashes() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    create_user(&app, "hashes@example.com", "admin").await;
    let signed_in = send_as_is(&app, sign_in_request("hashes@example.com", STAFF_PASSWORD)).await;
    let access = signed_in.body["access_token"].as_str().unwrap().to_string();
    let refresh = signed_in.body["refresh_token"].as_str().unwrap().to_string();
    let rotated = send_as_is(&app, refresh_request(&refresh)).await;
    assert_eq!(rotated.status, 200);

    // Every text and byte column of every table, searched for the secrets and the password.
    let dump: String = ctx
        .side_connection()
        .await
        .run(|conn| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::Text)]
                text: String,
            }
            let tables: Vec<Row> =
                diesel::sql_query("SELECT tablename AS text FROM pg_tables WHERE schemaname = 'public'")
                    .load(conn)
                    .expect("tables");
            let mut all = String::new();
            for table in tables {
                let rows: Vec<Row> =
                    diesel::sql_query(format!("SELECT row_to_json(t)::text AS text FROM {} t", table.text))
                        .load(conn)
                        .expect("rows");
                for row in rows {
                    all.push_str(&row.text);
                }
            }
            all
        })
        .await;
    for secret in [&access, &refresh, &rotated.body["refresh_token"].as_str().unwrap().to_string()] {
        assert!(!dump.contains(secret.as_str()), "a token is stored in clear");
    }
    assert!(!dump.contains(STAFF_PASSWORD), "the password is stored in clear");
    assert!(dump.contains("$argon2id$v=19$m=19456,t=2,p=1$"), "the password hash is argon2id with OWASP's parameters");
    // No response shows the hash.
    let users = send(&app, crate::harness::get("/api/v1/users")).await;
    assert!(!users.body.to_string().contains("argon2"), "{}", users.body);
}

#[actix_web::test]
async fn sign_out_a_password_change_a_new_role_and_disabling_end_sessions_at_once_on_another_replica() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let user = create_user(&app, "replicas@example.com", "sales").await;
    let (a, b) = (Server::start(&ctx).await, Server::start(&ctx).await);
    let sign_in = |device: &'static str| {
        let a = &a;
        async move {
            let body = json!({"email": "replicas@example.com", "password": STAFF_PASSWORD, "device": device});
            let (status, _, reply) =
                a.request("POST", "/api/v1/auth/sign-in", Some(&body), &[]).await.expect("sign in");
            assert_eq!(status, 200, "{reply}");
            reply["access_token"].as_str().unwrap().to_string()
        }
    };
    let me_on_b = |token: String| {
        let b = &b;
        async move {
            let auth = bearer(&token);
            b.request("GET", "/api/v1/auth/me", None, &[("Authorization", auth.as_str())]).await.expect("me").0
        }
    };

    // Sign-out on A: B refuses the token on the very next request.
    let token = sign_in("one").await;
    assert_eq!(me_on_b(token.clone()).await, 200);
    let auth = bearer(&token);
    let (status, _, _) =
        a.request("POST", "/api/v1/auth/sign-out", None, &[("Authorization", auth.as_str())]).await.unwrap();
    assert_eq!(status, 204);
    assert_eq!(me_on_b(token).await, 401, "signed out on A, refused on B at once");

    // A password change on A ends every other session, on B too; the one asking stays.
    let (asking, other) = (sign_in("asking").await, sign_in("other").await);
    let auth = bearer(&asking);
    let body = json!({"current_password": STAFF_PASSWORD, "new_password": "a brand new passphrase here"});
    let (status, _, reply) =
        a.request("POST", "/api/v1/auth/password", Some(&body), &[("Authorization", auth.as_str())]).await.unwrap();
    assert_eq!(status, 204, "{reply}");
    assert_eq!(me_on_b(other).await, 401, "the other session ended");
    assert_eq!(me_on_b(asking.clone()).await, 200, "the asking session stays");
    let old = send_as_is(&app, sign_in_request("replicas@example.com", STAFF_PASSWORD)).await;
    old.problem(401, "invalid_credentials");

    // A new role ends the sessions (a token never carries scopes its user lost).
    let patched = send(&app, json(Method::PATCH, &format!("/api/v1/users/{user}"), json!({"role": "readonly"}))).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(me_on_b(asking).await, 401);

    // Disabling ends them too, and the user cannot sign in again.
    let body = json!({"email": "replicas@example.com", "password": "a brand new passphrase here"});
    let (status, _, reply) = a.request("POST", "/api/v1/auth/sign-in", Some(&body), &[]).await.unwrap();
    assert_eq!(status, 200, "{reply}");
    let token = reply["access_token"].as_str().unwrap().to_string();
    let disabled = send(&app, json(Method::PATCH, &format!("/api/v1/users/{user}"), json!({"active": false}))).await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(me_on_b(token).await, 401);
    let (status, _, reply) = b.request("POST", "/api/v1/auth/sign-in", Some(&body), &[]).await.unwrap();
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["code"], "invalid_credentials", "a disabled user is refused like a wrong password");
}

#[actix_web::test]
async fn a_person_sees_and_ends_only_their_own_sessions_and_keys_cannot_act_as_one() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    create_user(&app, "own-a@example.com", "support").await;
    create_user(&app, "own-b@example.com", "support").await;
    let token = |reply: &crate::harness::Reply| reply.body["access_token"].as_str().unwrap().to_string();
    let a1 = send_as_is(&app, sign_in_request("own-a@example.com", STAFF_PASSWORD)).await;
    let a2 = send_as_is(&app, sign_in_request("own-a@example.com", STAFF_PASSWORD)).await;
    let b1 = send_as_is(&app, sign_in_request("own-b@example.com", STAFF_PASSWORD)).await;

    let listed = send_as_is(&app, as_person(Method::GET, "/api/v1/auth/sessions", &token(&a1), None)).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let ids: Vec<&Value> = listed.body["items"].as_array().unwrap().iter().map(|s| &s["id"]).collect();
    assert_eq!(ids.len(), 2, "A's two sessions, not B's");
    assert!(ids.contains(&&a1.body["session_id"]) && ids.contains(&&a2.body["session_id"]));
    let current: Vec<&Value> =
        listed.body["items"].as_array().unwrap().iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["id"], a1.body["session_id"]);
    assert_eq!(current[0]["device"], "Test phone");

    // B's session through A's token: as if it did not exist; it keeps working.
    let uri = format!("/api/v1/auth/sessions/{}", b1.body["session_id"].as_str().unwrap());
    send_as_is(&app, as_person(Method::DELETE, &uri, &token(&a1), None)).await.problem(404, "session_not_found");
    assert_eq!(send_as_is(&app, as_person(Method::GET, "/api/v1/auth/me", &token(&b1), None)).await.status, 200);

    // A ends their other session.
    let uri = format!("/api/v1/auth/sessions/{}", a2.body["session_id"].as_str().unwrap());
    assert_eq!(send_as_is(&app, as_person(Method::DELETE, &uri, &token(&a1), None)).await.status, 204);
    send_as_is(&app, as_person(Method::GET, "/api/v1/auth/me", &token(&a2), None))
        .await
        .problem(401, "unauthenticated");
    send_as_is(&app, as_person(Method::DELETE, &uri, &token(&a1), None)).await.problem(404, "session_not_found");

    // An API key, even an admin's, is not a person.
    for (method, uri) in [
        (Method::GET, "/api/v1/auth/me"),
        (Method::GET, "/api/v1/auth/sessions"),
        (Method::POST, "/api/v1/auth/sign-out"),
    ] {
        let reply = send(&app, TestRequest::default().method(method.clone()).uri(uri).to_request()).await;
        reply.problem(403, "forbidden");
    }
    // A staff token of a role without `admin` cannot manage users.
    let reply = send_as_is(&app, as_person(Method::GET, "/api/v1/users", &token(&a1), None)).await;
    assert_eq!(reply.problem(403, "forbidden")["details"]["required_scope"], "admin:read");
}

/// A context whose throttle allows `allowed` failures and waits at most `max_wait` seconds.
fn throttled(ctx: &TestContext, allowed: u32, max_wait: u64) -> actix_web::web::Data<AppState> {
    let mut settings = (*ctx.state.settings).clone();
    settings.access.auth.failures_allowed = allowed;
    settings.access.auth.max_wait = std::time::Duration::from_secs(max_wait);
    actix_web::web::Data::new(AppState { settings: Arc::new(settings), ..ctx.state.clone() })
}

#[actix_web::test]
async fn failed_sign_ins_are_throttled_per_account_and_per_address_and_never_lock_out_for_good() {
    let ctx = TestContext::new().await;
    let app = actix_web::test::init_service(hybrid_crm::http::build_app(throttled(&ctx, 3, 2))).await;
    create_user(&app, "owner@example.com", "sales").await;

    // Unknown and known emails are refused alike, and at the same cost: one argon2 verification
    // each (a decoy hash for the unknown email).
    let verifications = || ctx.state.metrics.password_hashing.with_label_values(&["verify"]).get_sample_count();
    let before = verifications();
    let unknown = send_as_is(&app, sign_in_from("nobody@example.com", "whatever it is", 1)).await;
    assert_eq!(verifications(), before + 1, "an unknown email verifies a decoy");
    let wrong = send_as_is(&app, sign_in_from("owner@example.com", "whatever it is", 2)).await;
    assert_eq!(verifications(), before + 2, "a wrong password verifies the real hash");
    assert_eq!(unknown.problem(401, "invalid_credentials"), wrong.problem(401, "invalid_credentials"));

    // Failures at one account, each from another address: past the allowance (3), the next
    // attempt waits (429, Retry-After) even with the right password, from a fresh address.
    for host in 3..5 {
        send_as_is(&app, sign_in_from("owner@example.com", "whatever it is", host))
            .await
            .problem(401, "invalid_credentials");
    }
    send_as_is(&app, sign_in_from("owner@example.com", "whatever it is", 5)).await.problem(401, "invalid_credentials");
    let waiting = send_as_is(&app, sign_in_from("owner@example.com", STAFF_PASSWORD, 6)).await;
    waiting.problem(429, "rate_limited");
    let retry: u64 = waiting.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    // Another account is not affected.
    create_user(&app, "neighbour@example.com", "sales").await;
    assert_eq!(send_as_is(&app, sign_in_from("neighbour@example.com", STAFF_PASSWORD, 7)).await.status, 200);

    // The wait runs out (capped at 2 s here): the owner signs in, which forgives the account.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let back = send_as_is(&app, sign_in_from("owner@example.com", STAFF_PASSWORD, 8)).await;
    assert_eq!(back.status, 200, "{}", back.body);
    send_as_is(&app, sign_in_from("owner@example.com", "whatever it is", 9)).await.problem(401, "invalid_credentials");

    // Failures from one address at many accounts: the address waits, whatever the account.
    for i in 0..4 {
        let reply = send_as_is(&app, sign_in_from(&format!("spray{i}@example.com"), "whatever it is", 20)).await;
        reply.problem(401, "invalid_credentials");
    }
    send_as_is(&app, sign_in_from("neighbour@example.com", STAFF_PASSWORD, 20)).await.problem(429, "rate_limited");
    assert_eq!(send_as_is(&app, sign_in_from("neighbour@example.com", STAFF_PASSWORD, 21)).await.status, 200);
}

#[actix_web::test]
async fn passwords_follow_the_policy_and_a_change_needs_the_current_one() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    for (password, code) in [("short", "invalid_length"), ("password1", "too_common"), ("Qwertyuiop", "too_common")] {
        let body = json!({"name": "P", "email": "policy@example.com", "role": "sales", "password": password});
        let reply = send(&app, json(Method::POST, "/api/v1/users", body)).await;
        reply.problem(422, "validation_failed");
        assert_eq!(reply.error_fields(), vec!["password"], "{password}");
        assert_eq!(reply.error_codes(), vec![code], "{password}");
    }
    create_user(&app, "policy@example.com", "sales").await;
    let taken = send(
        &app,
        json(
            Method::POST,
            "/api/v1/users",
            json!({"name": "P", "email": "POLICY@example.com", "role": "sales", "password": STAFF_PASSWORD}),
        ),
    )
    .await;
    taken.problem(409, "email_taken");
    let signed_in = send_as_is(&app, sign_in_request("policy@example.com", STAFF_PASSWORD)).await;
    let token = signed_in.body["access_token"].as_str().unwrap().to_string();
    let wrong = json!({"current_password": "not it", "new_password": "a brand new passphrase here"});
    let reply = send_as_is(&app, as_person(Method::POST, "/api/v1/auth/password", &token, Some(wrong))).await;
    reply.problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), vec!["current_password"]);
    let common = json!({"current_password": STAFF_PASSWORD, "new_password": "Password1"});
    let reply = send_as_is(&app, as_person(Method::POST, "/api/v1/auth/password", &token, Some(common))).await;
    assert_eq!(reply.error_fields(), vec!["new_password"]);
    // Nothing changed: the old password still signs in.
    assert_eq!(send_as_is(&app, sign_in_request("policy@example.com", STAFF_PASSWORD)).await.status, 200);
}

#[actix_web::test]
async fn a_wrong_method_on_a_public_path_is_405_without_credentials() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    for uri in ["/api/v1/auth/sign-in", "/api/v1/store/register", "/api/v1/store/auth/password-reset/confirm"] {
        let reply = send_as_is(&app, TestRequest::put().uri(uri).to_request()).await;
        reply.problem(405, "method_not_allowed");
        assert_eq!(reply.header("allow").as_deref(), Some("POST"), "{uri}");
    }
    // A secured path still asks for credentials first (its methods are not revealed).
    let reply = send_as_is(&app, TestRequest::put().uri("/api/v1/auth/sessions").to_request()).await;
    reply.problem(401, "unauthenticated");
}
