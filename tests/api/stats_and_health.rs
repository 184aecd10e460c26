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
    let c = post_client(&app, json!({"name": "C", "email": "c@stats.io", "kind": "b2b", "company_id": company})).await;
    assert_eq!(c.status, 201);
    // Its plan as a paid subscription would have left it.
    let c_plan = format!("UPDATE clients SET plan = 'premium' WHERE id = '{}'", c.body["id"].as_str().unwrap());
    ctx.side_connection().await.execute(&c_plan).await;
    for text in ["one", "two", "three"] {
        send(&app, json(Method::POST, &format!("/api/v1/clients/{a}/comments"), json!({"text": text}))).await;
    }
    // One document lost: coverage drops below 100 %.
    let c_id = hybrid_crm::domain::ids::ClientId(c.body["id"].as_str().unwrap().parse().unwrap());
    ctx.lose_document(c_id).await;

    // The first read computes the snapshot; later reads answer it until the next refresh.
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
        json!({"documents": 2, "info_coverage_percent": 66.67, "comments_total": 3, "comments_average_per_client": 1.0})
    );
    assert_eq!(stats.body["degraded"], Value::Null);
    assert_eq!(stats.body["consistency"], Value::Null, "no reconcile has run yet");
    assert!(stats.body["age_seconds"].as_i64().unwrap() <= 1);

    create_client(&app, "D", "d@stats.io").await;
    let snapshot = send(&app, get("/api/v1/stats/clients")).await;
    assert_eq!(snapshot.body["total_clients"], 3, "answered from the snapshot");
    assert_eq!(snapshot.body["computed_at"], stats.body["computed_at"]);
    hybrid_crm::app::stats::refresh(&ctx.state).await.unwrap();
    let refreshed = send(&app, get("/api/v1/stats/clients")).await;
    assert_eq!(refreshed.body["total_clients"], 4);
}

#[actix_web::test]
async fn client_stats_report_missing_and_orphan_documents_from_the_last_reconcile() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let old = |seconds| {
        hybrid_crm::domain::ids::ClientId(uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, seconds, 0)))
    };
    let (lost, orphan) = (old(1_700_000_000), old(1_700_000_001));
    let side = ctx.side_connection().await;
    side.execute(&format!(
        "INSERT INTO clients (id, name, email, kind) VALUES ('{}', 'L', 'l@stats.io', 'b2c')",
        lost.0
    ))
    .await;
    ctx.plant_document(orphan).await;
    hybrid_crm::app::reconcile::run(&ctx.state, false).await.unwrap();

    let stats = send(&app, get("/api/v1/stats/clients")).await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    let consistency = &stats.body["consistency"];
    assert_eq!(
        (consistency["clients_without_document"].as_u64(), consistency["orphan_documents"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(consistency["repaired"], false);
    assert_eq!(stats.body["documents"]["documents"], 1, "the orphan is a live document, counted as it is");
    assert_eq!(stats.body["total_clients"], 1);
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
    assert_eq!(ready.body["stores"][0], json!({"store": "postgresql", "status": "up"}));
    assert_eq!(ready.body["stores"][1], json!({"store": "mongodb", "status": "down"}), "driver errors stay in the log");
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

#[actix_web::test]
async fn the_front_door_is_a_page_linking_every_door_and_each_link_answers() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let home = send(&app, get("/")).await;
    assert_eq!(home.status, 200);
    assert!(home.header("content-type").unwrap_or_default().starts_with("text/html"));
    let page = home.body.as_str().unwrap_or_default().to_string();
    let links: Vec<&str> = page.split("href=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect();
    for door in ["/swagger-ui/", "/api-docs/openapi.json", "/dashboard", "/health/ready"] {
        assert!(links.contains(&door), "the page links {door}: {links:?}");
    }
    for link in links {
        assert_eq!(send(&app, get(link)).await.status, 200, "{link} answers");
    }
}
