//! MongoDB never keeps a live document for a client that does not exist: writes racing a
//! delete, a create whose document write timed out after it applied, and lost documents.

use crate::harness::{delete, get, json, send, Passage, TestContext};
use crate::{app, create_client, post};
use actix_web::http::Method;
use hybrid_crm::app::jobs::{self, Job};
use hybrid_crm::app::reconcile;
use hybrid_crm::domain::ids::ClientId;
use serde_json::json;

fn id(text: &str) -> ClientId {
    ClientId(text.parse().expect("uuid"))
}

/// The interleaving the old code lost documents to: the write checks the client in PostgreSQL
/// (still there: the delete has not committed), the delete reaches MongoDB first, then the
/// write does. Before, the write upserted a new document that outlived its client.
#[actix_web::test]
async fn writes_racing_a_client_delete_never_leave_a_document_behind() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let writes = [
        (Method::POST, "comments", json!({"text": "late comment"})),
        (Method::PUT, "preferences", json!({"language": "en"})),
        (Method::PATCH, "preferences", json!({"language": "fr"})),
        (Method::PUT, "attributes", json!({"size": "M"})),
        (Method::PATCH, "attributes", json!({"size": "L"})),
    ];
    for (i, (method, part, body)) in writes.into_iter().enumerate() {
        let client = create_client(&app, "Leaving", &format!("leaving{i}@example.com")).await;
        let side = ctx.side_connection().await;
        side.execute("BEGIN").await;
        side.execute(&format!("DELETE FROM clients WHERE id = '{client}'")).await;
        ctx.state.info.delete(id(&client)).await.expect("the delete's document step");

        let reply = send(&app, json(method.clone(), &format!("/api/v1/clients/{client}/{part}"), body)).await;
        side.execute("COMMIT").await;
        reply.problem(404, "client_not_found");
        assert!(!ctx.live_document_ids().await.contains(&client), "{method} {part} left a live document");
    }
    let report = reconcile::run(&ctx.state, false).await.unwrap();
    assert_eq!(report.orphan_documents, 0);
}

/// A create whose document write applied but answered too late: the client is removed again
/// (503), and the document it left — the compensation's tombstone cannot reach a MongoDB that
/// does not answer — is an orphan no API can reach until the periodic reconcile tombstones it.
/// Before, nothing ever removed it.
#[actix_web::test]
async fn a_create_whose_document_write_times_out_after_applying_leaves_no_orphan_after_reconcile() {
    let ctx = TestContext::behind_proxies().await;
    let app = app!(ctx);
    let mongo = ctx.mongo_proxy.as_ref().unwrap();
    // Warm the driver's connection, then let MongoDB act while its answers are lost.
    send(&app, get("/health/ready")).await;
    mongo.set(Passage::Mute);
    let reply =
        post(&app, "/api/v1/clients", json!({"name": "Timeout", "email": "timeout@example.com", "kind": "b2c"})).await;
    reply.problem(503, "store_unavailable");
    mongo.set(Passage::Open);

    let listed = send(&app, get("/api/v1/clients")).await;
    assert_eq!(listed.body["items"], json!([]), "the client was removed again");
    assert!(jobs::run_once(&ctx.state, Job::Reconcile).await.unwrap());
    assert_eq!(ctx.live_document_ids().await, Vec::<String>::new(), "no live document outlives the undone create");
}

/// A lost document (MongoDB restored without it) is stated, counted and recreated — never shown
/// as empty data.
#[actix_web::test]
async fn a_lost_document_is_stated_in_the_view_counted_and_recreated() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let created = post(
        &app,
        "/api/v1/clients",
        json!({"name": "Ada", "email": "ada@example.com", "kind": "b2c", "preferences": {"language": "en"}}),
    )
    .await;
    let client = created.body["id"].as_str().unwrap().to_string();
    ctx.lose_document(id(&client)).await;

    let view = send(&app, get(&format!("/api/v1/clients/{client}/view"))).await;
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!((view.body["info"].clone(), view.body["info_status"].clone()), (json!(null), json!("missing")));
    assert_eq!(view.body["degraded"], json!(null), "both stores answered");
    send(&app, get(&format!("/api/v1/clients/{client}/preferences"))).await.problem(404, "client_info_not_found");

    let stats = send(&app, get("/api/v1/stats/clients")).await;
    assert_eq!(stats.body["documents"]["documents"], 0);

    // Reconcile (the server runs it periodically) recreates an empty document for clients past
    // its grace period; an id minted long ago stands for an old client.
    let old = ClientId(uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, 1_700_000_000, 0)));
    ctx.side_connection().await.execute(&format!("UPDATE clients SET id = '{}' WHERE id = '{client}'", old.0)).await;
    let report = reconcile::run(&ctx.state, true).await.unwrap();
    assert_eq!(report.clients_without_document, 1);
    let view = send(&app, get(&format!("/api/v1/clients/{}/view", old.0))).await;
    assert_eq!(view.body["info_status"], "present");
    assert_eq!(view.body["info"]["preferences"], json!({}), "recreated empty: the lost content is not invented");
}

/// A write to a client whose document was lost recreates it (PostgreSQL confirms the client,
/// and no tombstone says it was deleted) and applies.
#[actix_web::test]
async fn a_write_to_a_client_whose_document_was_lost_recreates_it() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Ada", "ada@example.com").await;
    ctx.lose_document(id(&client)).await;
    let put =
        send(&app, json(Method::PUT, &format!("/api/v1/clients/{client}/preferences"), json!({"language": "en"})))
            .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let comment =
        send(&app, json(Method::POST, &format!("/api/v1/clients/{client}/comments"), json!({"text": "hi"}))).await;
    assert_eq!(comment.status, 201, "{}", comment.body);
    let view = send(&app, get(&format!("/api/v1/clients/{client}/view"))).await;
    assert_eq!(view.body["info"]["preferences"], json!({"language": "en"}));
    assert_eq!(view.body["info"]["comments_count"], 1);

    // Deleted clients stay deleted: their tombstone refuses every write.
    assert_eq!(send(&app, delete(&format!("/api/v1/clients/{client}"))).await.status, 204);
    assert_eq!(ctx.document_of(id(&client)).await.unwrap().get_bool("deleted").ok(), Some(true));
    send(&app, json(Method::PUT, &format!("/api/v1/clients/{client}/attributes"), json!({"a": 1})))
        .await
        .problem(404, "client_not_found");
}

/// The server's periodic reconcile runs on one replica at a time: while another session holds
/// the job's advisory lock, a round is skipped.
#[actix_web::test]
async fn the_periodic_reconcile_runs_on_one_replica_at_a_time_and_repairs_orphans() {
    let ctx = TestContext::new().await;
    let orphan = ClientId::new();
    ctx.plant_document(orphan).await;

    let other_replica = ctx.side_connection().await;
    other_replica.execute(&format!("SELECT pg_advisory_lock({})", Job::Reconcile.lock_key())).await;
    assert!(!jobs::run_once(&ctx.state, Job::Reconcile).await.unwrap(), "skipped while another replica runs it");
    assert!(ctx.live_document_ids().await.contains(&orphan.to_string()));

    other_replica.execute(&format!("SELECT pg_advisory_unlock({})", Job::Reconcile.lock_key())).await;
    assert!(jobs::run_once(&ctx.state, Job::Reconcile).await.unwrap());
    assert!(!ctx.live_document_ids().await.contains(&orphan.to_string()), "the orphan was tombstoned");
    let (_, report) = reconcile::last(&ctx.state).await.unwrap().expect("a report was kept");
    assert_eq!((report.orphan_documents, report.repaired), (1, true));
}
