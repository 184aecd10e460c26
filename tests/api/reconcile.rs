use crate::harness::{get, send, TestContext};
use crate::{app, create_client};
use hybrid_crm::app::reconcile;
use hybrid_crm::domain::ids::ClientId;
use serde_json::{Map, Value};

#[actix_web::test]
async fn reconcile_finds_and_repairs_missing_and_orphan_documents() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let healthy = create_client(&app, "Healthy", "healthy@example.com").await;
    let lost = create_client(&app, "Lost", "lost@example.com").await;
    let lost_id = ClientId(lost.parse().unwrap());
    ctx.state.info.delete(lost_id).await.unwrap();
    let orphan = ClientId::new();
    ctx.state.info.create(orphan, &Map::new(), &Map::new(), &[], &[]).await.unwrap();

    let report = reconcile::run(&ctx.state, false).await.unwrap();
    assert_eq!(report.clients_without_document, vec![lost_id]);
    assert_eq!(report.orphan_documents, vec![orphan.to_string()]);
    assert!(ctx.state.info.get(lost_id, None).await.unwrap().is_none(), "a dry run changes nothing");

    let repaired = reconcile::run(&ctx.state, true).await.unwrap();
    assert_eq!(repaired.clients_without_document.len(), 1);
    assert!(ctx.state.info.get(lost_id, None).await.unwrap().is_some());
    assert!(ctx.state.info.get(orphan, None).await.unwrap().is_none());

    let clean = reconcile::run(&ctx.state, false).await.unwrap();
    assert!(clean.clients_without_document.is_empty() && clean.orphan_documents.is_empty());
    let view = send(&app, get(&format!("/api/v1/clients/{healthy}/view"))).await;
    assert_eq!(view.body["degraded"], Value::Null);
}

#[actix_web::test]
async fn seeding_is_idempotent_and_reconciled() {
    let ctx = TestContext::new().await;
    let first = hybrid_crm::app::seed::run(&ctx.state, 40, false).await.unwrap();
    assert_eq!(first.clients_added, 40);
    let again = hybrid_crm::app::seed::run(&ctx.state, 40, false).await.unwrap();
    assert_eq!(again.clients_added, 0);
    let more = hybrid_crm::app::seed::run(&ctx.state, 50, false).await.unwrap();
    assert_eq!(more.clients_added, 10);
    let report = reconcile::run(&ctx.state, false).await.unwrap();
    assert!(report.clients_without_document.is_empty() && report.orphan_documents.is_empty());
    let reset = hybrid_crm::app::seed::run(&ctx.state, 5, true).await.unwrap();
    assert_eq!(reset.clients_added, 5);
    assert_eq!(ctx.state.info.client_ids().await.unwrap().len(), 5);
}
