use crate::harness::{delete, get, json, send, TestContext};
use crate::{app, create_client, create_company, create_interest, post_client};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use hybrid_crm::domain::ids::ClientId;
use serde_json::{json, Value};

fn id_of(value: &Value) -> ClientId {
    ClientId(value["id"].as_str().unwrap().parse().unwrap())
}

#[actix_web::test]
async fn creating_a_client_writes_both_stores_and_the_view_merges_them() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let company = create_company(&app, "Lovelace Labs").await;
    let interest = create_interest(&app, "Electronics").await;

    let created = post_client(
        &app,
        json!({
            "name": "Ada Lovelace", "email": "ada@example.com", "phone": "+44 20 7946 0000",
            "kind": "b2b", "company_id": company, "interest_ids": [interest, interest],
            "preferences": {"language": "en", "notifications": {"email": true}, "theme": "dark"},
            "attributes": {"shirt_size": "M", "nested": {"a": [1, 2]}}, "tags": ["vip"]
        }),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.header("location").unwrap(), format!("/api/v1/clients/{id}"));
    assert_eq!(created.header("etag").as_deref(), Some("\"1\""));
    assert_eq!(created.body["interest_ids"], json!([interest]));
    assert_eq!(created.body["plan"], "basic", "a plan is bought, not written");
    assert_eq!(created.body["plan_status"], "active");
    assert_eq!(created.body["active"], true);

    let view = send(&app, get(&format!("/api/v1/clients/{id}/view"))).await;
    assert_eq!(view.status, 200, "{}", view.body);
    assert_eq!(view.body["client"]["email"], "ada@example.com");
    assert_eq!(view.body["company"]["legal_name"], "Lovelace Labs");
    assert_eq!(view.body["interests"][0]["name"], "Electronics");
    assert_eq!(view.body["info"]["preferences"]["theme"], "dark");
    assert_eq!(view.body["info"]["attributes"]["nested"]["a"], json!([1, 2]));
    assert_eq!(view.body["info"]["tags"], json!(["vip"]));
    assert_eq!(view.body["info"]["comments_count"], 0);
    assert_eq!(view.body["degraded"], Value::Null);
}

#[actix_web::test]
async fn creating_a_client_with_a_taken_email_returns_409_whatever_the_case() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    create_client(&app, "First", "same@example.com").await;
    let reply = post_client(&app, json!({"name": "Second", "email": "SAME@Example.com", "kind": "b2c"})).await;
    reply.problem(409, "email_taken");
    assert_eq!(reply.error_fields(), vec!["email"]);
}

#[actix_web::test]
async fn invalid_clients_are_refused_with_every_field_named_and_nothing_written() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let reply = post_client(
        &app,
        json!({"name": "", "email": "not-an-email", "kind": "b2b", "phone": "abc",
               "preferences": {"language": 7}, "attributes": {"$where": "1", "a.b": 1}, "tags": [""]}),
    )
    .await;
    reply.problem(422, "validation_failed");
    assert_eq!(
        reply.error_fields(),
        vec![
            "email",
            "name",
            "phone",
            "preferences.language",
            "attributes.$where",
            "attributes.a.b",
            "tags[0]",
            "company_id"
        ]
    );

    let unknown_company = post_client(
        &app,
        json!({"name": "X", "email": "x@example.com", "kind": "b2b", "company_id": uuid::Uuid::now_v7()}),
    )
    .await;
    unknown_company.problem(422, "validation_failed");
    assert_eq!(unknown_company.error_fields(), vec!["company_id"]);

    let unknown_interest = post_client(
        &app,
        json!({"name": "X", "email": "x@example.com", "kind": "b2c", "interest_ids": [uuid::Uuid::now_v7()]}),
    )
    .await;
    assert_eq!(unknown_interest.error_fields(), vec!["interest_ids"]);

    // A missing kind is named beside every other invalid field, not instead of them.
    let no_kind = post_client(&app, json!({"name": "", "email": "not-an-email", "tags": [""]})).await;
    no_kind.problem(422, "validation_failed");
    assert_eq!(no_kind.error_fields(), vec!["email", "kind", "name", "tags[0]"]);
    let missing = no_kind.body["errors"].as_array().unwrap().iter().find(|e| e["field"] == "kind").unwrap().clone();
    assert_eq!((missing["code"].as_str(), missing["message"].as_str()), (Some("required"), Some("is required")));
    let null_kind = post_client(&app, json!({"name": "X", "email": "x@example.com", "kind": null})).await;
    assert_eq!(null_kind.error_fields(), vec!["kind"]);

    let wrong_type = post_client(&app, json!({"name": "X", "email": "x@example.com", "kind": "person"})).await;
    wrong_type.problem(422, "validation_failed");
    assert_eq!(wrong_type.error_fields(), vec!["kind"]);

    let unknown_field =
        post_client(&app, json!({"name": "X", "email": "x@example.com", "kind": "b2c", "admin": true})).await;
    assert_eq!(unknown_field.error_fields(), vec!["admin"]);

    let listed = send(&app, get("/api/v1/clients")).await;
    assert_eq!(listed.body["items"], json!([]));
    assert_eq!(ctx.live_document_ids().await, Vec::<String>::new());
}

#[actix_web::test]
async fn patch_honours_if_match_and_bumps_the_version() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let id = create_client(&app, "Grace", "grace@example.com").await;
    let read = send(&app, get(&format!("/api/v1/clients/{id}"))).await;
    assert_eq!(read.header("etag").as_deref(), Some("\"1\""));

    let patch = |etag: &str, body: Value| {
        TestRequest::patch()
            .uri(&format!("/api/v1/clients/{id}"))
            .insert_header(("If-Match", etag))
            .set_json(body)
            .to_request()
    };
    // The plan changes through subscriptions and payments only.
    for field in ["plan", "plan_status"] {
        let written = send(&app, patch("\"1\"", json!({field: "enterprise"}))).await;
        written.problem(422, "validation_failed");
        assert_eq!(written.error_fields(), [field], "{}", written.body);
    }
    let updated = send(&app, patch("\"1\"", json!({"name": "Grace Hopper"}))).await;
    assert_eq!(updated.status, 200, "{}", updated.body);
    assert_eq!(updated.body["version"], 2);
    assert_eq!(updated.header("etag").as_deref(), Some("\"2\""));
    assert_eq!(updated.body["plan"], "basic");

    let stale = send(&app, patch("\"1\"", json!({"name": "Lost update"}))).await;
    stale.problem(412, "version_mismatch");
    assert_eq!(stale.body["current_version"], 2);
    assert_eq!(send(&app, get(&format!("/api/v1/clients/{id}"))).await.body["name"], "Grace Hopper");

    let without_if_match =
        send(&app, json(Method::PATCH, &format!("/api/v1/clients/{id}"), json!({"phone": "+1 555 0100 300"}))).await;
    assert_eq!(without_if_match.body["version"], 3);
    // RFC 9110 strong comparison: a weak tag never matches, even of the current version.
    send(&app, patch("W/\"3\"", json!({"active": false}))).await.problem(412, "version_mismatch");
    // A list matches when any strong tag in it is current; `*` matches any version.
    let listed = send(&app, patch("\"1\", W/\"3\", \"3\"", json!({"phone": null}))).await;
    assert_eq!((listed.status.as_u16(), listed.body["version"].as_i64()), (200, Some(4)), "{}", listed.body);
    assert_eq!(listed.body["phone"], Value::Null);
    let any = send(&app, patch("*", json!({"active": false}))).await;
    assert_eq!((any.body["version"].as_i64(), any.body["active"].as_bool()), (Some(5), Some(false)));
    send(&app, patch("\"4\", \"6\"", json!({"active": true}))).await.problem(412, "version_mismatch");
    send(&app, patch("not a tag", json!({"active": true}))).await.problem(412, "version_mismatch");
}

#[actix_web::test]
async fn of_many_simultaneous_patches_with_the_same_if_match_exactly_one_wins() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let id = create_client(&app, "Race", "race@example.com").await;
    let requests = (0..20).map(|i| {
        let request = TestRequest::patch()
            .uri(&format!("/api/v1/clients/{id}"))
            .insert_header(("If-Match", "\"1\""))
            .set_json(json!({"name": format!("Writer {i}")}))
            .to_request();
        send(&app, request)
    });
    let replies = futures_util::future::join_all(requests).await;
    let won = replies.iter().filter(|r| r.status == 200).count();
    let refused = replies.iter().filter(|r| r.status == 412).count();
    assert_eq!((won, refused), (1, 19));
    assert_eq!(send(&app, get(&format!("/api/v1/clients/{id}"))).await.body["version"], 2);
}

#[actix_web::test]
async fn patch_replaces_interests_and_keeps_b2b_clients_with_a_company() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let company = create_company(&app, "Patch Co").await;
    let (a, b) = (create_interest(&app, "A").await, create_interest(&app, "B").await);
    let created = post_client(
        &app,
        json!({"name": "P", "email": "p@example.com", "kind": "b2b", "company_id": company, "interest_ids": [a]}),
    )
    .await;
    let id = created.body["id"].as_str().unwrap();

    let replaced =
        send(&app, json(Method::PATCH, &format!("/api/v1/clients/{id}"), json!({"interest_ids": [b]}))).await;
    assert_eq!(replaced.body["interest_ids"], json!([b]));

    let orphaned = send(&app, json(Method::PATCH, &format!("/api/v1/clients/{id}"), json!({"company_id": null}))).await;
    orphaned.problem(422, "validation_failed");
    assert_eq!(orphaned.error_fields(), vec!["company_id"]);

    let to_b2c =
        send(&app, json(Method::PATCH, &format!("/api/v1/clients/{id}"), json!({"kind": "b2c", "company_id": null})))
            .await;
    assert_eq!(to_b2c.status, 200, "{}", to_b2c.body);
    assert_eq!(to_b2c.body["company_id"], Value::Null);

    send(&app, json(Method::PATCH, &format!("/api/v1/clients/{}", uuid::Uuid::now_v7()), json!({"name": "n"})))
        .await
        .problem(404, "client_not_found");
}

#[actix_web::test]
async fn deleting_a_client_removes_it_from_both_stores() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let created = post_client(&app, json!({"name": "D", "email": "d@example.com", "kind": "b2c", "tags": ["x"]})).await;
    let id = id_of(&created.body);
    assert!(ctx.state.info.get(id, None).await.unwrap().is_some());

    assert_eq!(send(&app, delete(&format!("/api/v1/clients/{id}"))).await.status, 204);
    assert!(ctx.state.info.get(id, None).await.unwrap().is_none());
    send(&app, get(&format!("/api/v1/clients/{id}"))).await.problem(404, "client_not_found");
    send(&app, get(&format!("/api/v1/clients/{id}/view"))).await.problem(404, "client_not_found");
    send(&app, delete(&format!("/api/v1/clients/{id}"))).await.problem(404, "client_not_found");
}

#[actix_web::test]
async fn client_lists_filter_and_sort_and_paginate_consistently() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let company = create_company(&app, "Filter Co").await;
    let interest = create_interest(&app, "Filtering").await;
    let names = ["Delta", "alpha", "Charlie", "Bravo", "Echo", "Foxtrot", "Golf"];
    for (i, name) in names.iter().enumerate() {
        let mut body = json!({"name": name, "email": format!("{}@list.io", name.to_lowercase()), "kind": "b2c", "active": i % 2 == 0});
        if i < 3 {
            body["kind"] = json!("b2b");
            body["company_id"] = json!(company);
            body["interest_ids"] = json!([interest]);
        }
        assert_eq!(post_client(&app, body).await.status, 201);
    }
    let names_of = |body: &Value| -> Vec<String> {
        body["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
    };

    assert_eq!(
        names_of(&send(&app, get("/api/v1/clients?kind=b2b&sort=name")).await.body),
        vec!["Charlie", "Delta", "alpha"]
    );
    assert_eq!(
        send(&app, get(&format!("/api/v1/clients?company_id={company}"))).await.body["items"].as_array().unwrap().len(),
        3
    );
    assert_eq!(
        send(&app, get(&format!("/api/v1/clients?interest_id={interest}"))).await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(send(&app, get("/api/v1/clients?active=false")).await.body["items"].as_array().unwrap().len(), 3);
    assert_eq!(names_of(&send(&app, get("/api/v1/clients?q=ALP")).await.body), vec!["alpha"]);
    assert_eq!(names_of(&send(&app, get("/api/v1/clients?q=%25")).await.body), Vec::<String>::new());
    assert_eq!(
        names_of(&send(&app, get("/api/v1/clients?q=list.io&kind=b2c&sort=-name")).await.body),
        vec!["Golf", "Foxtrot", "Echo", "Bravo"]
    );

    // Searches take their page's ids first, then the rows (store::pg::clients::list): paging
    // through them in every order must give the same clients as one page.
    for (filter, expected) in [("", names.len()), ("q=list.io&", names.len()), ("q=list.io&active=true&", 4)] {
        for sort in ["name", "-name", "created_at", "-created_at"] {
            let everything =
                names_of(&send(&app, get(&format!("/api/v1/clients?{filter}sort={sort}&limit=100"))).await.body);
            let mut paged = Vec::new();
            let mut uri = format!("/api/v1/clients?{filter}sort={sort}&limit=2");
            loop {
                let page = send(&app, get(&uri)).await;
                assert_eq!(page.status, 200, "{}", page.body);
                paged.extend(names_of(&page.body));
                match page.body["next_cursor"].as_str() {
                    Some(cursor) => uri = format!("/api/v1/clients?{filter}sort={sort}&limit=2&cursor={cursor}"),
                    None => break,
                }
            }
            assert_eq!(paged, everything, "{filter}sort {sort}");
            assert_eq!(paged.len(), expected, "{filter}sort {sort}: {paged:?}");
        }
    }
    assert_eq!(names_of(&send(&app, get("/api/v1/clients?sort=created_at&limit=100")).await.body), names.to_vec());

    send(&app, get("/api/v1/clients?limit=0")).await.problem(422, "validation_failed");
    send(&app, get("/api/v1/clients?limit=101")).await.problem(422, "validation_failed");
    send(&app, get("/api/v1/clients?cursor=garbage")).await.problem(422, "validation_failed");
    send(&app, get("/api/v1/clients?kind=martian")).await.problem(422, "validation_failed");
    send(&app, get("/api/v1/clients?sort=email")).await.problem(422, "validation_failed");
}

#[actix_web::test]
async fn with_mongodb_down_the_view_is_degraded_and_creation_leaves_nothing_behind() {
    let ctx = TestContext::with_mongodb_down().await;
    let app = app!(ctx);

    // PostgreSQL-only endpoints keep working.
    let company = create_company(&app, "Still Works Co").await;

    let refused = post_client(&app, json!({"name": "Half", "email": "half@example.com", "kind": "b2c"})).await;
    refused.problem(503, "store_unavailable");
    assert!(refused.header("retry-after").is_some());
    assert_eq!(send(&app, get("/api/v1/clients")).await.body["items"], json!([]), "the PostgreSQL row was rolled back");

    // A client that exists only in PostgreSQL (as if its document write had been lost).
    let id = ctx.insert_client_without_document("Only PG", "only@example.com").await;

    let started = std::time::Instant::now();
    let view = send(&app, get(&format!("/api/v1/clients/{id}/view"))).await;
    assert_eq!(view.status, 200, "{}", view.body);
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "answered within the short timeout");
    assert_eq!(view.body["client"]["name"], "Only PG");
    assert_eq!(view.body["info"], Value::Null);
    assert_eq!(view.body["degraded"]["missing"], json!(["info"]));
    assert!(!company.is_empty());

    send(&app, get(&format!("/api/v1/clients/{id}/preferences"))).await.problem(503, "store_unavailable");
}
