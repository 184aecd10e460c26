use crate::harness::{delete, get, json, raw, send, TestContext};
use crate::{app, create_client};
use actix_web::http::Method;
use serde_json::{json, Value};

#[actix_web::test]
async fn comments_are_added_listed_newest_first_paginated_and_deleted() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let id = create_client(&app, "Commenter", "c@example.com").await;
    let base = format!("/api/v1/clients/{id}/comments");

    let mut ids = Vec::new();
    for i in 0..5 {
        let reply = send(&app, json(Method::POST, &base, json!({"text": format!("comment {i}")}))).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let location = reply.header("location").unwrap();
        assert_eq!(location, format!("{base}/{}", reply.body["id"].as_str().unwrap()));
        // The Location answers the comment.
        assert_eq!(send(&app, get(&location)).await.body, reply.body);
        ids.push(reply.body["id"].as_str().unwrap().to_string());
    }

    let first = send(&app, get(&format!("{base}?limit=2"))).await;
    let texts = |body: &Value| -> Vec<String> {
        body["items"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(texts(&first.body), vec!["comment 4", "comment 3"]);
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = send(&app, get(&format!("{base}?limit=2&cursor={cursor}"))).await;
    assert_eq!(texts(&second.body), vec!["comment 2", "comment 1"]);
    let cursor = second.body["next_cursor"].as_str().unwrap();
    let last = send(&app, get(&format!("{base}?limit=2&cursor={cursor}"))).await;
    assert_eq!(texts(&last.body), vec!["comment 0"]);
    assert_eq!(last.body["next_cursor"], Value::Null);

    assert_eq!(send(&app, delete(&format!("{base}/{}", ids[2]))).await.status, 204);
    send(&app, delete(&format!("{base}/{}", ids[2]))).await.problem(404, "comment_not_found");
    send(&app, get(&format!("{base}/{}", ids[2]))).await.problem(404, "comment_not_found");
    send(&app, get(&format!("/api/v1/clients/{}/comments/{}", uuid::Uuid::now_v7(), ids[1])))
        .await
        .problem(404, "client_not_found");
    // Another client's path does not reach this client's comment.
    let other = create_client(&app, "Other", "other.commenter@example.com").await;
    send(&app, get(&format!("/api/v1/clients/{other}/comments/{}", ids[1]))).await.problem(404, "comment_not_found");
    let view = send(&app, get(&format!("/api/v1/clients/{id}/view"))).await;
    assert_eq!(view.body["info"]["comments_count"], 4);
    assert_eq!(view.body["info"]["recent_comments"][0]["text"], "comment 4");

    send(&app, json(Method::POST, &base, json!({"text": "  "}))).await.problem(422, "validation_failed");
    send(&app, json(Method::POST, &base, json!({"text": "x".repeat(2001)}))).await.problem(422, "validation_failed");
    let missing = format!("/api/v1/clients/{}/comments", uuid::Uuid::now_v7());
    send(&app, json(Method::POST, &missing, json!({"text": "hi"}))).await.problem(404, "client_not_found");
    send(&app, get(&missing)).await.problem(404, "client_not_found");
}

#[actix_web::test]
async fn a_client_keeps_at_most_a_thousand_comments() {
    use hybrid_crm::domain::{ids::CommentId, view::Comment};
    use hybrid_crm::store::mongo::MAX_COMMENTS;

    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let id = create_client(&app, "Talkative", "talk@example.com").await;
    let client_id = hybrid_crm::domain::ids::ClientId(id.parse().unwrap());
    // One short of the cap, written straight to the document rather than by 999 requests.
    let earlier: Vec<Comment> = (1..MAX_COMMENTS)
        .map(|i| Comment { id: CommentId::new(), text: format!("earlier {i}"), created_at: chrono::Utc::now() })
        .collect();
    let empty = serde_json::Map::new();
    ctx.state.info.create(client_id, &empty, &empty, &[], &earlier).await.expect("prefill comments");
    let base = format!("/api/v1/clients/{id}/comments");

    let last = send(&app, json(Method::POST, &base, json!({"text": "the thousandth"}))).await;
    assert_eq!(last.status, 201, "{}", last.body);
    send(&app, json(Method::POST, &base, json!({"text": "one too many"}))).await.problem(409, "comment_limit_reached");
    let view = send(&app, get(&format!("/api/v1/clients/{id}/view"))).await;
    assert_eq!(view.body["info"]["comments_count"], MAX_COMMENTS);
    assert_eq!(view.body["info"]["recent_comments"][0]["text"], "the thousandth");

    // Deleting one makes room for exactly one more.
    let removed = last.body["id"].as_str().unwrap();
    assert_eq!(send(&app, delete(&format!("{base}/{removed}"))).await.status, 204);
    assert_eq!(send(&app, json(Method::POST, &base, json!({"text": "room again"}))).await.status, 201);
    send(&app, json(Method::POST, &base, json!({"text": "full again"}))).await.problem(409, "comment_limit_reached");
    let stats = send(&app, get("/api/v1/stats/clients")).await;
    // The refused writes created no second document for the client.
    assert_eq!(stats.body["documents"]["documents"], 1, "{}", stats.body);
    assert_eq!(stats.body["documents"]["comments_total"], MAX_COMMENTS, "{}", stats.body);
}

#[actix_web::test]
async fn preferences_can_be_read_replaced_and_merge_patched() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let id = create_client(&app, "Prefs", "prefs@example.com").await;
    let uri = format!("/api/v1/clients/{id}/preferences");

    assert_eq!(send(&app, get(&uri)).await.body, json!({}));
    let replaced = send(
        &app,
        json(
            Method::PUT,
            &uri,
            json!({"language": "es", "payment_method": "card", "notifications": {"email": true, "sms": true}}),
        ),
    )
    .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);

    let merged = send(
        &app,
        raw(
            Method::PATCH,
            &uri,
            "application/merge-patch+json",
            r#"{"language": "pt-BR", "notifications": {"sms": null}, "payment_method": null, "theme": "dark"}"#,
        ),
    )
    .await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    let expected = json!({"language": "pt-BR", "notifications": {"email": true}, "theme": "dark"});
    assert_eq!(merged.body, expected);
    assert_eq!(send(&app, get(&uri)).await.body, expected);

    let bad = send(&app, json(Method::PATCH, &uri, json!({"language": 12}))).await;
    bad.problem(422, "validation_failed");
    assert_eq!(bad.error_fields(), vec!["preferences.language"]);
    assert_eq!(send(&app, get(&uri)).await.body, expected, "a refused merge writes nothing");
}

#[actix_web::test]
async fn attributes_refuse_operator_keys_dotted_keys_and_oversized_documents() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let id = create_client(&app, "Attrs", "attrs@example.com").await;
    let uri = format!("/api/v1/clients/{id}/attributes");
    assert_eq!(send(&app, json(Method::PUT, &uri, json!({"size": "M"}))).await.status, 200);

    for body in [
        json!({"$set": {"size": "XL"}}),
        json!({"a.b": 1}),
        json!({"nested": {"$gt": ""}}),
        json!({"list": [{"$ne": 1}]}),
    ] {
        send(&app, json(Method::PUT, &uri, body.clone())).await.problem(422, "validation_failed");
        send(&app, json(Method::PATCH, &uri, body)).await.problem(422, "validation_failed");
    }
    let huge = send(&app, json(Method::PUT, &uri, json!({"blob": "x".repeat(20_000)}))).await;
    assert_eq!(huge.body["errors"][0]["code"], "too_large");
    // Each patch is small; together they would pass the cap: the merged result is checked.
    assert_eq!(send(&app, json(Method::PATCH, &uri, json!({"one": "x".repeat(9_000)}))).await.status, 200);
    let over = send(&app, json(Method::PATCH, &uri, json!({"two": "x".repeat(9_000)}))).await;
    assert_eq!(over.body["errors"][0]["code"], "too_large");

    let stored = send(&app, get(&uri)).await.body;
    assert_eq!(stored["size"], "M");
    assert!(stored.get("two").is_none());
    send(&app, json(Method::PUT, &uri, json!(["not", "an", "object"]))).await.problem(422, "validation_failed");
}

#[actix_web::test]
async fn simultaneous_merge_patches_all_land() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let id = create_client(&app, "Merge", "merge@example.com").await;
    let uri = format!("/api/v1/clients/{id}/attributes");
    let patches = (0..6).map(|i| send(&app, json(Method::PATCH, &uri, json!({ format!("k{i}"): i }))));
    let replies = futures_util::future::join_all(patches).await;
    assert!(replies.iter().all(|r| r.status == 200), "{:?}", replies.iter().map(|r| &r.body).collect::<Vec<_>>());
    let stored = send(&app, get(&uri)).await.body;
    assert_eq!(stored.as_object().unwrap().len(), 6, "{stored}");
}

#[actix_web::test]
async fn a_cursor_naming_a_deleted_comment_continues_where_it_stood_and_times_read_back_as_written() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let id = create_client(&app, "Commenter", "c@example.com").await;
    let base = format!("/api/v1/clients/{id}/comments");
    let mut written = Vec::new();
    for i in 0..5 {
        let reply = send(&app, json(Method::POST, &base, json!({"text": format!("comment {i}")}))).await;
        written.push(reply.body.clone());
    }
    let texts = |body: &Value| -> Vec<String> {
        body["items"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap().to_string()).collect()
    };
    let first = send(&app, get(&format!("{base}?limit=2"))).await;
    assert_eq!(texts(&first.body), vec!["comment 4", "comment 3"]);
    // The comment the cursor names is deleted before the next page is asked for.
    let cursor = first.body["next_cursor"].as_str().unwrap();
    assert_eq!(send(&app, delete(&format!("{base}/{}", written[3]["id"].as_str().unwrap()))).await.status, 204);
    let second = send(&app, get(&format!("{base}?limit=2&cursor={cursor}"))).await;
    assert_eq!(texts(&second.body), vec!["comment 2", "comment 1"], "the list goes on after the deleted comment");

    // What POST returned is what every later read returns, to the millisecond it was stored at.
    let listed = send(&app, get(&format!("{base}?limit=10"))).await;
    for comment in listed.body["items"].as_array().unwrap() {
        let original = written.iter().find(|w| w["id"] == comment["id"]).expect("written");
        assert_eq!(comment, original, "read back as written");
    }
    let view = send(&app, get(&format!("/api/v1/clients/{id}/view"))).await;
    assert_eq!(view.body["info"]["recent_comments"][0], written[4]);
}

#[actix_web::test]
async fn comments_added_at_once_are_listed_newest_first_without_gaps_or_repeats() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let id = create_client(&app, "Busy", "busy@example.com").await;
    let base = format!("/api/v1/clients/{id}/comments");
    let replies = futures_util::future::join_all(
        (0..12).map(|i| send(&app, json(Method::POST, &base, json!({"text": format!("c{i}")})))),
    )
    .await;
    assert!(replies.iter().all(|r| r.status == 201));
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = send(&app, get(&format!("{base}?limit=5&cursor={cursor}"))).await;
        seen.extend(page.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_string()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    let mut expected: Vec<String> = replies.iter().map(|r| r.body["id"].as_str().unwrap().to_string()).collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, expected, "newest (highest time-ordered id) first, each once");
}
