//! The database schema's house rules: every function and trigger has one live definition, in
//! `sql/replaceable.sql`, applied again when it changes.

use crate::harness::TestContext;
use diesel::{QueryableByName, RunQueryDsl};

#[derive(QueryableByName, Debug)]
struct Named {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[actix_web::test]
async fn every_function_and_trigger_lives_in_the_replaceable_schema_and_no_migration_defines_one() {
    let ctx = TestContext::new().await;
    let side = ctx.side_connection().await;
    let stray: Vec<Named> = side
        .run(|conn| {
            diesel::sql_query(
                "SELECT p.proname::text AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = current_schema()
                    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
                 UNION ALL
                 SELECT t.tgname::text FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
                   JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE NOT t.tgisinternal AND n.nspname <> 'r'",
            )
            .load(conn)
            .expect("catalog")
        })
        .await;
    assert!(stray.is_empty(), "functions or triggers outside schema r: {stray:?}");
    let in_r: Vec<Named> = side
        .run(|conn| {
            diesel::sql_query(
                "SELECT p.proname::text AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                  WHERE n.nspname = 'r' ORDER BY 1",
            )
            .load(conn)
            .expect("catalog")
        })
        .await;
    assert!(in_r.iter().any(|f| f.name == "client_view"), "{in_r:?}");

    // Migrations after the move may change tables, never define code: that is the file's.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut names: Vec<_> = std::fs::read_dir(dir).expect("migrations").flatten().map(|e| e.path()).collect();
    names.sort();
    let moved = names.iter().position(|p| p.ends_with("2026-12-07-000017_replaceable_schema")).expect("the move");
    for later in &names[moved + 1..] {
        let up = std::fs::read_to_string(later.join("up.sql")).unwrap_or_default().to_uppercase();
        for word in
            ["CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", "CREATE TRIGGER", "CREATE VIEW", "CREATE OR REPLACE VIEW"]
        {
            assert!(!up.contains(word), "{} has {word}: define it in sql/replaceable.sql", later.display());
        }
    }
}

#[actix_web::test]
async fn the_replaceable_schema_is_applied_again_when_it_changed_and_left_alone_otherwise() {
    use hybrid_crm::store::pg::migrations;
    let ctx = TestContext::new().await;
    let side = ctx.side_connection().await;
    let view_oid = |side: crate::harness::SideConnection| async move {
        side.run(|conn| {
            diesel::sql_query("SELECT 'r.client_view'::regproc::oid::text AS name").get_result::<Named>(conn).ok()
        })
        .await
        .map(|n| n.name)
    };
    let before = view_oid(side.clone()).await.expect("r.client_view exists");
    let applied = side.run(|conn| migrations::apply(conn).map_err(|e| e.to_string())).await.expect("apply");
    assert!(applied.is_empty());
    assert_eq!(
        view_oid(side.clone()).await.as_deref(),
        Some(before.as_str()),
        "an unchanged file is not applied again"
    );

    // A database whose functions are another version's (or missing) gets the file's.
    side.execute("DROP FUNCTION r.client_view(uuid, timestamptz)").await;
    side.execute("COMMENT ON SCHEMA r IS 'an older file'").await;
    side.run(|conn| migrations::apply(conn).map_err(|e| e.to_string())).await.expect("apply");
    let after = view_oid(side.clone()).await.expect("r.client_view is back");
    assert_ne!(after, before);
    let digest = side.run(|conn| migrations::applied_digest(conn).expect("digest")).await;
    assert_eq!(digest, Some(migrations::digest()));
    // And the triggers came back with their functions: a past order is noted for the reports.
    let client = ctx.insert_client_without_document("Noted", "noted@example.com").await;
    side.execute(&format!(
        "INSERT INTO orders (id, client_id, status, shipping_address, payment_method, subtotal, discount, total,
                             created_at, updated_at)
         VALUES (gen_random_uuid(), '{}', 'pending', 'Here', 'cash', 10, 0, 10, now() - interval '3 days', now())",
        client.0
    ))
    .await;
    let noted: Vec<Named> = side
        .run(|conn| diesel::sql_query("SELECT day::text AS name FROM report_changes").load(conn).expect("changes"))
        .await;
    assert!(!noted.is_empty(), "the order trigger noted its day");
}

#[actix_web::test]
async fn the_harness_drops_the_test_databases_a_killed_run_left_behind() {
    let ctx = TestContext::new().await;
    let mut gone = std::process::Command::new("true").spawn().expect("a process");
    gone.wait().expect("it ends");
    let leftover = format!("crm_test_p{}_{}", gone.id(), uuid::Uuid::now_v7().simple());
    let side = ctx.side_connection().await;
    side.execute(&format!("CREATE DATABASE {leftover}")).await;
    let client = mongodb::Client::with_uri_str(ctx.mongodb().0).await.expect("MongoDB");
    client.database(&leftover).collection("c").insert_one(mongodb::bson::doc! {"a": 1}).await.expect("insert");

    let dropped = tokio::task::spawn_blocking(crate::harness::sweep_leftovers).await.expect("sweep");
    assert_eq!(dropped.iter().filter(|name| **name == leftover).count(), 2, "PostgreSQL's and MongoDB's: {dropped:?}");
    let databases = client.list_database_names().await.expect("list");
    assert!(!databases.contains(&leftover));
    // This run's own databases stay.
    assert!(databases.contains(&ctx.mongodb().1));
    assert_eq!(ctx.side_connection().await.execute("SELECT 1").await, 1);
}
