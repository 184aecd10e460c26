use crate::harness::{get, send, TestContext};
use crate::{app, create_client};
use hybrid_crm::app::reconcile;
use hybrid_crm::domain::ids::ClientId;
use serde_json::Value;

#[actix_web::test]
async fn reconcile_finds_and_repairs_missing_and_orphan_documents() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let healthy = create_client(&app, "Healthy", "healthy@example.com").await;
    // Created more than the reconcile grace period ago: old enough to be judged.
    let lost = ClientId(uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, 1_700_000_000, 0)));
    let side = ctx.side_connection().await;
    side.execute(&format!(
        "INSERT INTO clients (id, name, email, kind) VALUES ('{}', 'Lost', 'lost@example.com', 'b2c')",
        lost.0
    ))
    .await;
    let orphan = ClientId::new();
    ctx.plant_document(orphan).await;

    let report = reconcile::run(&ctx.state, false).await.unwrap();
    assert_eq!((report.clients_without_document, report.orphan_documents), (1, 1));
    assert_eq!(report.missing_sample, vec![lost.to_string()]);
    assert_eq!(report.orphan_sample, vec![orphan.to_string()]);
    assert!(ctx.state.info.get(lost, None).await.unwrap().is_none(), "a dry run changes nothing");

    let repaired = reconcile::run(&ctx.state, true).await.unwrap();
    assert_eq!((repaired.clients_without_document, repaired.orphan_documents), (1, 1));
    assert!(ctx.state.info.get(lost, None).await.unwrap().is_some(), "the missing document is recreated");
    assert!(ctx.state.info.get(orphan, None).await.unwrap().is_none(), "the orphan is tombstoned");

    let clean = reconcile::run(&ctx.state, false).await.unwrap();
    assert_eq!((clean.clients_without_document, clean.orphan_documents), (0, 0));
    assert_eq!(clean.clients_checked, 2);
    let view = send(&app, get(&format!("/api/v1/clients/{healthy}/view"))).await;
    assert_eq!(view.body["degraded"], Value::Null);
    assert_eq!(view.body["info_status"], "present");
}

#[actix_web::test]
async fn reconcile_leaves_clients_created_a_moment_ago_alone() {
    let ctx = TestContext::new().await;
    // A client whose document write may still be on its way.
    let fresh = ctx.insert_client_without_document("Fresh", "fresh@example.com").await;
    let report = reconcile::run(&ctx.state, true).await.unwrap();
    assert_eq!(report.clients_without_document, 0);
    assert!(ctx.state.info.get(fresh, None).await.unwrap().is_none());
}

#[actix_web::test]
async fn seeding_is_idempotent_and_reconciled() {
    use hybrid_crm::app::seed::{run, SeedSize};
    let ctx = TestContext::new().await;
    let size = |clients, reset| SeedSize { clients, products: 20, orders: 60, reset };
    let first = run(&ctx.state, size(40, false)).await.unwrap();
    assert_eq!((first.clients_added, first.workshops), (40, 102), "90 workshops held and 12 to come");
    assert!((15..=20).contains(&first.products), "about one in twenty products is inactive (not counted)");
    assert_eq!(first.orders_added, 60);
    assert!(first.enrollments_added > 0);
    let again = run(&ctx.state, size(40, false)).await.unwrap();
    assert_eq!((again.clients_added, again.orders_added, again.enrollments_added), (0, 0, 0));
    let more = run(&ctx.state, size(50, false)).await.unwrap();
    assert_eq!(more.clients_added, 10);
    let report = reconcile::run(&ctx.state, false).await.unwrap();
    assert_eq!((report.clients_without_document, report.orphan_documents), (0, 0));
    assert_eq!(report.clients_checked, 50);

    // Seeded orders follow the API's rules: stock and history agree for every product.
    let app = actix_web::test::init_service(hybrid_crm::http::build_app(ctx.data())).await;
    let products = send(&app, get("/api/v1/products?limit=100")).await;
    for product in products.body["items"].as_array().unwrap() {
        let id = product["id"].as_str().unwrap();
        let history = send(&app, get(&format!("/api/v1/products/{id}/stock-movements?limit=100"))).await;
        let newest = &history.body["items"][0];
        assert_eq!(newest["resulting_stock"], product["stock"], "history explains the stock of {id}");
    }

    // The history: orders over the last 18 months (none in the future), each from a client who had
    // joined by then, a payment for every order past `pending`, enrollments before their workshop.
    #[derive(diesel::QueryableByName, Debug, PartialEq)]
    struct Shape {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        months: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        future: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        before_joining: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        unpaid_confirmed: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        late_enrollments: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        unsent_history: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        skipped_history: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        off_topic_workshops: i64,
    }
    let shape: Shape = ctx
        .state
        .db
        .run(|conn| {
            use diesel::RunQueryDsl;
            Ok(diesel::sql_query(
                "SELECT (SELECT count(DISTINCT date_trunc('month', created_at)) FROM orders) AS months,
                        (SELECT count(*) FROM orders WHERE created_at > now()) AS future,
                        (SELECT count(*) FROM orders o JOIN clients c ON c.id = o.client_id
                          WHERE c.created_at > o.created_at) AS before_joining,
                        (SELECT count(*) FROM orders o WHERE status NOT IN ('pending', 'cancelled')
                           AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id)) AS unpaid_confirmed,
                        (SELECT count(*) FROM enrollments e JOIN workshops w ON w.id = e.workshop_id
                          WHERE e.created_at >= w.starts_at) AS late_enrollments,
                        (SELECT count(*) FROM notifications WHERE event_id IS NOT NULL
                           AND status <> 'skipped') AS unsent_history,
                        (SELECT count(*) FROM notifications WHERE reason LIKE 'demo history%') AS skipped_history,
                        (SELECT count(*) FROM workshops w JOIN interests i ON i.id = w.category_id
                          WHERE w.name NOT LIKE i.name || ' workshop %') AS off_topic_workshops",
            )
            .get_result(conn)?)
        })
        .await
        .unwrap();
    assert!(shape.months >= 12, "{shape:?}");
    assert_eq!((shape.future, shape.before_joining, shape.unpaid_confirmed, shape.late_enrollments), (0, 0, 0, 0));
    // The seed's events were sequenced and their messages recorded as history, never sent.
    assert!(shape.skipped_history > 0, "{shape:?}");
    assert_eq!(shape.unsent_history, 0, "{shape:?}");
    assert_eq!(shape.off_topic_workshops, 0, "each workshop is in its topic's category: {shape:?}");

    // A reset empties every table but the kept ones, whatever tables there are.
    #[derive(diesel::QueryableByName)]
    struct Filled {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let filled: Vec<String> = ctx
        .state
        .db
        .tx(|conn| {
            use diesel::RunQueryDsl;
            hybrid_crm::store::pg::seed::reset(conn)?;
            let rows: Vec<Filled> = diesel::sql_query(
                "SELECT tablename::text AS name FROM pg_tables t WHERE schemaname = current_schema()
                   AND (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', tablename),
                        false, true, '')))[1]::text::int > 0",
            )
            .load(conn)?;
            Ok(rows.into_iter().map(|t| t.name).collect())
        })
        .await
        .unwrap();
    let kept = hybrid_crm::store::pg::seed::KEPT;
    assert!(filled.iter().all(|table| kept.contains(&table.as_str())), "{filled:?}");
    assert!(filled.iter().any(|table| table == "plans"), "the plans stay: {filled:?}");

    let reset = run(&ctx.state, size(5, true)).await.unwrap();
    assert_eq!(reset.clients_added, 5);
    assert_eq!(ctx.live_document_ids().await.len(), 5);
}

#[actix_web::test]
async fn reconcile_finds_every_disagreement_across_many_batches() {
    use hybrid_crm::app::seed::{run, SeedSize};
    let ctx = TestContext::new().await;
    // 2,500 clients joined over 18 months: three batches of PostgreSQL's ids and of MongoDB's
    // documents.
    run(&ctx.state, SeedSize { clients: 2_500, products: 5, orders: 0, reset: false }).await.unwrap();
    let at = |days_ago: i64| {
        let seconds = (chrono::Utc::now() - chrono::Duration::days(days_ago)).timestamp() as u64;
        ClientId(uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, seconds, 0)))
    };
    // Before, among and after the seeded clients in id order.
    let lost = [at(900), at(270), at(2)];
    let side = ctx.side_connection().await;
    for (i, id) in lost.iter().enumerate() {
        side.execute(&format!(
            "INSERT INTO clients (id, name, email, kind) VALUES ('{}', 'Lost {i}', 'lost.{i}@example.com', 'b2c')",
            id.0
        ))
        .await;
    }
    let orphans = [at(800), at(300), at(1)];
    for orphan in orphans {
        ctx.plant_document(orphan).await;
    }

    let report = reconcile::run(&ctx.state, false).await.unwrap();
    assert_eq!(report.clients_checked, 2_503);
    let mut missing = report.missing_sample.clone();
    missing.sort();
    assert_eq!(missing, lost.map(|id| id.to_string()).to_vec());
    let mut found = report.orphan_sample.clone();
    found.sort();
    assert_eq!(found, orphans.map(|id| id.to_string()).to_vec());
    assert_eq!((report.clients_without_document, report.orphan_documents), (3, 3));
}
