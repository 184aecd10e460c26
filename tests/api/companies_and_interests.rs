use crate::harness::{delete, get, json, send, TestContext};
use crate::{app, create_company, create_interest, post_client};
use actix_web::http::Method;
use serde_json::json;

#[actix_web::test]
async fn a_company_can_be_created_read_updated_listed_and_deleted() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);

    let created = send(
        &app,
        json(
            Method::POST,
            "/api/v1/companies",
            json!({"legal_name": "Acme Tools S.A.", "tax_id": "30-1", "address": "Main St 1", "phone": "+1 555 0100 200"}),
        ),
    )
    .await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(created.header("location").unwrap(), format!("/api/v1/companies/{id}"));
    assert_eq!(created.body["legal_name"], "Acme Tools S.A.");

    let read = send(&app, get(&format!("/api/v1/companies/{id}"))).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["tax_id"], "30-1");

    let patched = send(
        &app,
        json(Method::PATCH, &format!("/api/v1/companies/{id}"), json!({"address": null, "legal_name": "Acme Ltd."})),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["address"], serde_json::Value::Null);
    assert_eq!(patched.body["legal_name"], "Acme Ltd.");
    assert_eq!(patched.body["phone"], "+1 555 0100 200");

    let listed = send(&app, get("/api/v1/companies?q=acme")).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);

    assert_eq!(send(&app, delete(&format!("/api/v1/companies/{id}"))).await.status, 204);
    send(&app, get(&format!("/api/v1/companies/{id}"))).await.problem(404, "company_not_found");
    send(&app, delete(&format!("/api/v1/companies/{id}"))).await.problem(404, "company_not_found");
}

#[actix_web::test]
async fn duplicate_legal_names_and_tax_ids_return_409_naming_the_field() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let body = json!({"legal_name": "Twin Co", "tax_id": "T-1"});
    assert_eq!(send(&app, json(Method::POST, "/api/v1/companies", body)).await.status, 201);

    let same_name =
        send(&app, json(Method::POST, "/api/v1/companies", json!({"legal_name": "Twin Co", "tax_id": "T-2"}))).await;
    same_name.problem(409, "legal_name_taken");
    assert_eq!(same_name.error_fields(), vec!["legal_name"]);

    let same_tax =
        send(&app, json(Method::POST, "/api/v1/companies", json!({"legal_name": "Other", "tax_id": "T-1"}))).await;
    same_tax.problem(409, "tax_id_taken");
}

#[actix_web::test]
async fn company_validation_names_every_bad_field() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let reply = send(
        &app,
        json(
            Method::POST,
            "/api/v1/companies",
            json!({"legal_name": "   ", "tax_id": "x".repeat(51), "phone": "call me"}),
        ),
    )
    .await;
    reply.problem(422, "validation_failed");
    assert_eq!(reply.error_fields(), vec!["legal_name", "phone", "tax_id"]);
}

#[actix_web::test]
async fn a_company_with_clients_cannot_be_deleted() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let company = create_company(&app, "Busy Co").await;
    let client =
        post_client(&app, json!({"name": "B", "email": "b@busy.co", "kind": "b2b", "company_id": company})).await;
    assert_eq!(client.status, 201, "{}", client.body);
    send(&app, delete(&format!("/api/v1/companies/{company}"))).await.problem(409, "company_in_use");
}

#[actix_web::test]
async fn company_lists_paginate_with_cursors_without_gaps_or_repeats() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(create_company(&app, &format!("Company {i}")).await);
    }
    let mut seen = Vec::new();
    let mut uri = "/api/v1/companies?limit=3".to_string();
    loop {
        let page = send(&app, get(&uri)).await;
        assert_eq!(page.status, 200);
        seen.extend(page.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/v1/companies?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, created);
}

#[actix_web::test]
async fn interests_have_case_insensitively_unique_names_and_full_crud() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let id = create_interest(&app, "Woodworking").await;
    send(&app, json(Method::POST, "/api/v1/interests", json!({"name": "WOODWORKING"})))
        .await
        .problem(409, "name_taken");

    let patched =
        send(&app, json(Method::PATCH, &format!("/api/v1/interests/{id}"), json!({"description": "Joinery"}))).await;
    assert_eq!(patched.status, 200);
    assert_eq!(patched.body["description"], "Joinery");
    assert_eq!(send(&app, get("/api/v1/interests?q=wood")).await.body["items"].as_array().unwrap().len(), 1);

    let client = post_client(&app, json!({"name": "I", "email": "i@x.io", "kind": "b2c", "interest_ids": [id]})).await;
    assert_eq!(client.status, 201);
    send(&app, delete(&format!("/api/v1/interests/{id}"))).await.problem(409, "interest_in_use");

    let unused = create_interest(&app, "Ceramics").await;
    assert_eq!(send(&app, delete(&format!("/api/v1/interests/{unused}"))).await.status, 204);
    send(&app, get(&format!("/api/v1/interests/{unused}"))).await.problem(404, "interest_not_found");
}
