//! Every constraint of the schema has a meaning for callers, and deleting referenced rows is a
//! 409 naming what refers to them.

use crate::harness::{delete, get, json, send, TestContext};
use crate::{app, create_client, create_interest};
use actix_web::http::Method;
use diesel::prelude::*;
use hybrid_crm::app::constraints::{rules, Rule};
use serde_json::json;

#[derive(Debug, QueryableByName)]
struct SchemaConstraint {
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    /// For foreign keys, what deleting a referenced row does: `r`/`a` refuse, `c` cascades, `n` nulls.
    #[diesel(sql_type = diesel::sql_types::Text)]
    on_delete: String,
}

#[actix_web::test]
async fn every_unique_check_and_foreign_key_constraint_has_a_problem_entry() {
    let ctx = TestContext::new().await;
    let url = ctx.state.settings.database_url.clone();
    let constraints: Vec<SchemaConstraint> = tokio::task::spawn_blocking(move || {
        let mut conn = PgConnection::establish(&url).expect("connect");
        // Constraints proper, and unique indexes that are not constraints (`CREATE UNIQUE INDEX`).
        diesel::sql_query(
            "SELECT contype::text AS kind, conname::text AS name, confdeltype::text AS on_delete
               FROM pg_constraint
              WHERE connamespace = 'public'::regnamespace AND contype IN ('c', 'f', 'u')
             UNION ALL
             SELECT 'u', i.indexrelid::regclass::text, ' '
               FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
              WHERE t.relnamespace = 'public'::regnamespace AND i.indisunique AND NOT i.indisprimary
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                AND t.relname <> '__diesel_schema_migrations'",
        )
        .load(&mut conn)
        .expect("constraints")
    })
    .await
    .unwrap();
    assert!(constraints.len() > 60, "the schema's constraints were read");

    let mut unmapped = Vec::new();
    for constraint in &constraints {
        let rule = rules().find(|rule| rule.name() == constraint.name);
        let covered = match (constraint.kind.as_str(), rule) {
            ("u", Some(Rule::Unique(..))) | ("c", Some(Rule::Check(..))) => true,
            // A delete that the key refuses must say what "in use" means.
            ("f", Some(Rule::ForeignKey { in_use, .. })) => {
                in_use.is_some() || !matches!(constraint.on_delete.as_str(), "r" | "a")
            }
            _ => false,
        };
        if !covered {
            unmapped.push(format!("{} ({}, on delete {:?})", constraint.name, constraint.kind, constraint.on_delete));
        }
    }
    assert!(
        unmapped.is_empty(),
        "constraints without a problem entry (list them in their module's CONSTRAINTS): {unmapped:#?}"
    );

    let names: Vec<&str> = constraints.iter().map(|c| c.name.as_str()).collect();
    let stale: Vec<&str> = rules().map(Rule::name).filter(|name| !names.contains(name)).collect();
    assert!(stale.is_empty(), "entries for constraints the schema does not have: {stale:?}");
}

#[actix_web::test]
async fn deleting_a_client_with_enrollments_cancelled_ones_too_is_409_client_in_use() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let category = create_interest(&app, "Pottery").await;
    let workshop = send(
        &app,
        json(
            Method::POST,
            "/api/v1/workshops",
            json!({"name": "Wheel basics", "category_id": category, "starts_at": "2099-05-01T10:00:00Z",
                   "duration_minutes": 120, "modality": "online", "link": "https://meet.example.com/w",
                   "price": "30.00", "capacity": 5}),
        ),
    )
    .await;
    assert_eq!(workshop.status, 201, "{}", workshop.body);
    let workshop_id = workshop.body["id"].as_str().unwrap();
    let client = create_client(&app, "Enrolled", "enrolled@example.com").await;
    let enrolled = send(
        &app,
        json(Method::POST, &format!("/api/v1/workshops/{workshop_id}/enrollments"), json!({"client_id": client})),
    )
    .await;
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);
    let enrollment = enrolled.body["id"].as_str().unwrap();

    let refused = send(&app, delete(&format!("/api/v1/clients/{client}"))).await;
    refused.problem(409, "client_in_use");
    let cancelled =
        send(&app, json(Method::POST, &format!("/api/v1/enrollments/{enrollment}/cancel"), json!({}))).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    send(&app, delete(&format!("/api/v1/clients/{client}"))).await.problem(409, "client_in_use");

    // Nothing was lost: the client and its document are still there.
    assert_eq!(send(&app, get(&format!("/api/v1/clients/{client}/view"))).await.body["info_status"], "present");
    send(&app, delete(&format!("/api/v1/workshops/{workshop_id}"))).await.problem(409, "workshop_in_use");
}
