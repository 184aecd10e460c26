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
    use hybrid_crm::app::seed::{run, SeedSize};
    let ctx = TestContext::new().await;
    let size = |clients, reset| SeedSize { clients, products: 20, orders: 60, reset };
    let first = run(&ctx.state, size(40, false)).await.unwrap();
    assert_eq!((first.clients_added, first.workshops), (40, 12));
    assert!((15..=20).contains(&first.products), "about one in twenty products is inactive (not counted)");
    assert_eq!(first.orders_added, 60);
    assert!(first.enrollments_added > 0);
    let again = run(&ctx.state, size(40, false)).await.unwrap();
    assert_eq!((again.clients_added, again.orders_added, again.enrollments_added), (0, 0, 0));
    let more = run(&ctx.state, size(50, false)).await.unwrap();
    assert_eq!(more.clients_added, 10);
    let report = reconcile::run(&ctx.state, false).await.unwrap();
    assert!(report.clients_without_document.is_empty() && report.orphan_documents.is_empty());

    // Seeded orders follow the API's rules: stock and history agree for every product.
    let app = actix_web::test::init_service(hybrid_crm::http::build_app(ctx.data())).await;
    let products = send(&app, get("/api/v1/products?limit=100")).await;
    for product in products.body["items"].as_array().unwrap() {
        let id = product["id"].as_str().unwrap();
        let history = send(&app, get(&format!("/api/v1/products/{id}/stock-movements?limit=100"))).await;
        let newest = &history.body["items"][0];
        assert_eq!(newest["resulting_stock"], product["stock"], "history explains the stock of {id}");
    }

    let reset = run(&ctx.state, size(5, true)).await.unwrap();
    assert_eq!(reset.clients_added, 5);
    assert_eq!(ctx.state.info.client_ids().await.unwrap().len(), 5);
}
