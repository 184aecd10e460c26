use crate::harness::{get, json, send, TestContext};
use crate::{app, create_client, create_company, post_client};
use actix_web::http::Method;
use serde_json::{json, Value};

#[actix_web::test]
async fn client_stats_combine_both_stores() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let company = create_company(&app, "Stats Co").await;
    let a = create_client(&app, "A", "a@stats.io").await;
    create_client(&app, "B", "b@stats.io").await;
    let c = post_client(
        &app,
        json!({"name": "C", "email": "c@stats.io", "kind": "b2b", "company_id": company, "plan": "premium"}),
    )
    .await;
    assert_eq!(c.status, 201);
    for text in ["one", "two", "three"] {
        send(&app, json(Method::POST, &format!("/api/v1/clients/{a}/comments"), json!({"text": text}))).await;
    }
    // One document lost (as if its write had failed): coverage drops below 100 %.
    let c_id = hybrid_crm::domain::ids::ClientId(c.body["id"].as_str().unwrap().parse().unwrap());
    ctx.state.info.delete(c_id).await.unwrap();

    let stats = send(&app, get("/api/v1/stats/clients")).await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    assert_eq!(stats.body["total_clients"], 3);
    assert_eq!(stats.body["by_kind"], json!({"b2b": 1, "b2c": 2}));
    assert_eq!(stats.body["by_plan"], json!({"basic": 2, "premium": 1}));
    assert_eq!(
        stats.body["by_kind_and_plan"],
        json!([{"kind": "b2b", "plan": "premium", "clients": 1}, {"kind": "b2c", "plan": "basic", "clients": 2}])
    );
    assert_eq!(
        stats.body["documents"],
        json!({"clients_with_info_document": 2, "info_coverage_percent": 66.67, "comments_total": 3, "comments_average_per_client": 1.0})
    );
    assert_eq!(stats.body["degraded"], Value::Null);
}

#[actix_web::test]
async fn stats_degrade_and_readiness_fails_when_mongodb_is_down() {
    let ctx = TestContext::with_mongodb_down().await;
    let app = app!(ctx);
    let stats = send(&app, get("/api/v1/stats/clients")).await;
    assert_eq!(stats.status, 200);
    assert_eq!(stats.body["total_clients"], 0);
    assert_eq!(stats.body["documents"], Value::Null);
    assert_eq!(stats.body["degraded"]["missing"], json!(["documents"]));

    let ready = send(&app, get("/health/ready")).await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.body["stores"][0], json!({"store": "postgresql", "status": "up", "error": null}));
    assert_eq!(ready.body["stores"][1]["status"], "down");
    assert_eq!(send(&app, get("/health/live")).await.status, 200);
}

#[actix_web::test]
async fn readiness_is_ok_when_both_stores_answer() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let ready = send(&app, get("/health/ready")).await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.body["status"], "ok");
    let request_id = ready.header("x-request-id").expect("every response carries its request id");
    assert!(uuid::Uuid::parse_str(&request_id).is_ok());
}

#[actix_web::test]
async fn swagger_ui_and_the_spec_are_served() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let ui = send(&app, get("/swagger-ui/")).await;
    assert_eq!(ui.status, 200);
    assert!(ui.body.as_str().unwrap_or_default().contains("swagger"), "the UI page is served");
    let spec = send(&app, get("/api-docs/openapi.json")).await;
    assert_eq!(spec.status, 200);
    assert!(spec.body["paths"]["/api/v1/clients/{id}/view"]["get"].is_object());
}
