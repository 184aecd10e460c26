use crate::app;
use crate::harness::{get, raw, send, TestContext};
use actix_web::http::Method;
use actix_web::test::TestRequest;

#[actix_web::test]
async fn malformed_json_is_a_400_problem() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    for body in ["{", "", "[1,", "{\"name\": \"a\"} trailing", "nul"] {
        send(&app, raw(Method::POST, "/api/v1/clients", "application/json", body)).await.problem(400, "malformed_json");
    }
}

#[actix_web::test]
async fn wrong_types_are_a_422_naming_the_field() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let reply =
        send(&app, raw(Method::POST, "/api/v1/companies", "application/json", r#"{"legal_name": 5, "tax_id": "t"}"#))
            .await;
    reply.problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), vec!["legal_name"]);
    let missing = send(&app, raw(Method::POST, "/api/v1/companies", "application/json", r#"{"tax_id": "t"}"#)).await;
    missing.problem(422, "validation_failed");
}

#[actix_web::test]
async fn non_json_bodies_get_415_and_oversized_bodies_get_413() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    send(&app, raw(Method::POST, "/api/v1/companies", "text/plain", "legal_name=x"))
        .await
        .problem(415, "unsupported_media_type");
    let big = format!(r#"{{"legal_name": "{}", "tax_id": "t"}}"#, "x".repeat(70 * 1024));
    send(&app, raw(Method::POST, "/api/v1/companies", "application/json", big)).await.problem(413, "payload_too_large");
}

#[actix_web::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    send(&app, get("/api/v1/nothing-here")).await.problem(404, "route_not_found");
    let reply = send(&app, TestRequest::put().uri("/api/v1/clients").to_request()).await;
    reply.problem(405, "method_not_allowed");
    assert_eq!(reply.header("allow").as_deref(), Some("GET, POST"));
    let on_item =
        send(&app, TestRequest::post().uri(&format!("/api/v1/clients/{}", uuid::Uuid::now_v7())).to_request()).await;
    on_item.problem(405, "method_not_allowed");
}

#[actix_web::test]
async fn bad_path_and_query_parameters_are_client_errors() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    send(&app, get("/api/v1/clients/not-a-uuid")).await.problem(400, "invalid_path_parameter");
    send(&app, get("/api/v1/clients?active=maybe")).await.problem(422, "validation_failed");
    send(&app, get("/api/v1/companies?limit=abc")).await.problem(422, "validation_failed");
    send(&app, get("/api/v1/companies?unknown=1")).await.problem(422, "validation_failed");
}

#[actix_web::test]
async fn sql_injection_attempts_are_plain_text() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    crate::create_client(&app, "Robert'); DROP TABLE clients;--", "bobby@example.com").await;
    let reply = send(&app, get("/api/v1/clients?q=%27%20OR%201%3D1%20--")).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["items"].as_array().unwrap().len(), 0);
    let found = send(&app, get("/api/v1/clients?q=DROP%20TABLE")).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 1);
}

#[actix_web::test]
async fn nul_characters_are_refused_instead_of_reaching_the_database() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let reply =
        send(&app, raw(Method::POST, "/api/v1/interests", "application/json", r#"{"name": "Wood\u0000work"}"#)).await;
    reply.problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), vec!["name"]);
    send(&app, get("/api/v1/clients?q=a%00b")).await.problem(422, "validation_failed");
    send(&app, get("/api/v1/interests?q=a%00b")).await.problem(422, "validation_failed");
    assert_eq!(send(&app, get("/api/v1/interests?cursor=")).await.status, 200, "an empty cursor is the first page");
    assert_eq!(send(&app, get("/api/v1/clients?cursor=")).await.status, 200);
}
