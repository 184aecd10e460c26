//! Publishable keys: an admin makes one for a storefront's origins; it reads the public catalog
//! (active products, whether in stock, categories, upcoming workshops with seats left) and
//! nothing else; the store's CORS answers follow the keys' origins.

use crate::harness::{bearer, get, json, send, send_as_is, TestContext};
use crate::{create_interest, create_product, create_workshop, post};
use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{json, Value};

const SHOP: &str = "https://shop.example.com";

fn browse(uri: &str, key: &str) -> actix_http::Request {
    TestRequest::get().uri(uri).insert_header(("X-Publishable-Key", key)).to_request()
}

fn ids(page: &Value) -> Vec<&str> {
    page["items"].as_array().expect("items").iter().filter_map(|item| item["id"].as_str()).collect()
}

#[actix_web::test]
async fn an_admin_makes_a_publishable_key_only_with_origins_and_without_scopes() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let created = post(
        &app,
        "/api/v1/api-keys",
        json!({"name": "Shop", "kind": "publishable", "allowed_origins": [SHOP, "http://127.0.0.1:5173"]}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let key = created.body["key"].as_str().expect("shown once");
    assert!(key.starts_with("hcrm_pk_") && key.len() == "hcrm_pk_".len() + 43, "{key}");
    assert_eq!(created.body["kind"], "publishable");
    assert_eq!(created.body["prefix"], "hcrm_pk_");
    assert_eq!(created.body["scopes"], json!([]));
    assert_eq!(created.body["allowed_origins"], json!([SHOP, "http://127.0.0.1:5173"]));
    let secret = post(&app, "/api/v1/api-keys", json!({"name": "Back office", "role": "readonly"})).await;
    assert_eq!((secret.body["kind"].as_str(), secret.body["allowed_origins"].clone()), (Some("secret"), json!([])));

    for (body, field, code) in [
        (json!({"name": "x", "kind": "publishable"}), "allowed_origins", "required"),
        (
            json!({"name": "x", "kind": "publishable", "allowed_origins": [SHOP], "role": "admin"}),
            "role",
            "not_allowed",
        ),
        (
            json!({"name": "x", "kind": "publishable", "allowed_origins": [SHOP], "scopes": ["clients:read"]}),
            "scopes",
            "not_allowed",
        ),
        (
            json!({"name": "x", "kind": "publishable", "allowed_origins": ["https://shop.example.com/"]}),
            "allowed_origins[0]",
            "invalid_origin",
        ),
        (json!({"name": "x", "kind": "publishable", "allowed_origins": ["*"]}), "allowed_origins[0]", "invalid_origin"),
        (
            json!({"name": "x", "kind": "publishable", "allowed_origins": [SHOP, SHOP]}),
            "allowed_origins[1]",
            "duplicate",
        ),
        (json!({"name": "x", "kind": "publishable", "allowed_origins": []}), "allowed_origins", "invalid_length"),
        (json!({"name": "x", "role": "admin", "allowed_origins": [SHOP]}), "allowed_origins", "not_allowed"),
        (json!({"name": "x", "kind": "public", "allowed_origins": [SHOP]}), "kind", "invalid"),
    ] {
        let reply = post(&app, "/api/v1/api-keys", body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {}", reply.body);
        let found = reply.body["errors"].as_array().expect("errors").iter().any(|e| e["field"] == field);
        assert!(found, "{body}: {field} ({code}) not named in {}", reply.body);
        if code != "invalid" {
            assert!(reply.error_codes().contains(&code.to_string()), "{body}: {}", reply.body);
        }
    }
}

#[actix_web::test]
async fn a_publishable_key_reads_the_public_catalog_and_nothing_else() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let key = crate::harness::new_publishable_key(&ctx, &[SHOP]).await;
    let category = post(&app, "/api/v1/categories", json!({"name": "Hand tools"})).await.body["id"].clone();
    let stocked = post(
        &app,
        "/api/v1/products",
        json!({"name": "Chisel", "price": "24.50", "stock": 7, "category_id": category}),
    )
    .await
    .body["id"]
        .as_str()
        .expect("id")
        .to_string();
    let sold_out = create_product(&app, "Mallet", "18.00", 0).await;
    let retired = create_product(&app, "Old saw", "9.00", 3).await;
    let patched =
        send(&app, json(Method::PATCH, &format!("/api/v1/products/{retired}"), json!({"active": false}))).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let interest = create_interest(&app, "Woodworking").await;
    let upcoming = create_workshop(&app, "Dovetails", &interest, 10).await;
    let hidden = create_workshop(&app, "Private class", &interest, 4).await;
    send(&app, json(Method::PATCH, &format!("/api/v1/workshops/{hidden}"), json!({"active": false}))).await;
    let client = crate::create_client(&app, "Enrolled", "enrolled@example.com").await;
    let enrolled = post(&app, &format!("/api/v1/workshops/{upcoming}/enrollments"), json!({"client_id": client})).await;
    assert_eq!(enrolled.status, 201, "{}", enrolled.body);

    let products = send_as_is(&app, browse("/api/v1/store/products?sort=name", &key)).await;
    assert_eq!(products.status, 200, "{}", products.body);
    assert_eq!(ids(&products.body), vec![stocked.as_str(), sold_out.as_str()], "active ones only, by name");
    let first = &products.body["items"][0];
    assert_eq!((first["in_stock"].as_bool(), first["price"].as_str()), (Some(true), Some("24.50")));
    assert_eq!(products.body["items"][1]["in_stock"], false);
    for item in products.body["items"].as_array().unwrap() {
        for staff_only in ["stock", "reorder_point", "stock_status", "active"] {
            assert!(item.get(staff_only).is_none(), "{staff_only} shown: {item}");
        }
    }
    let by_category =
        send_as_is(&app, browse(&format!("/api/v1/store/products?category_id={}", category.as_str().unwrap()), &key))
            .await;
    assert_eq!(ids(&by_category.body), vec![stocked.as_str()]);
    let one = send_as_is(&app, browse(&format!("/api/v1/store/products/{stocked}"), &key)).await;
    assert_eq!((one.status.as_u16(), one.body["name"].as_str()), (200, Some("Chisel")));
    send_as_is(&app, browse(&format!("/api/v1/store/products/{retired}"), &key))
        .await
        .problem(404, "product_not_found");

    let categories = send_as_is(&app, browse("/api/v1/store/categories", &key)).await;
    assert_eq!(categories.body["items"][0]["name"], "Hand tools");

    let workshops = send_as_is(&app, browse("/api/v1/store/workshops", &key)).await;
    assert_eq!(ids(&workshops.body), vec![upcoming.as_str()]);
    let workshop = &workshops.body["items"][0];
    assert_eq!(workshop["seats_left"], 9);
    assert!(workshop.get("link").is_none() && workshop.get("capacity").is_none(), "{workshop}");
    send_as_is(&app, browse(&format!("/api/v1/store/workshops/{hidden}"), &key))
        .await
        .problem(404, "workshop_not_found");
    let shown = send_as_is(&app, browse(&format!("/api/v1/store/workshops/{upcoming}"), &key)).await;
    assert_eq!(shown.body["seats_left"], 9);

    // Nothing else: not as a bearer token, not in its header elsewhere.
    let as_bearer = |uri: &str| TestRequest::get().uri(uri).insert_header(("Authorization", bearer(&key))).to_request();
    send_as_is(&app, as_bearer("/api/v1/store/products")).await.problem(401, "unauthenticated");
    send_as_is(&app, as_bearer("/api/v1/products")).await.problem(403, "forbidden");
    send_as_is(&app, as_bearer(&format!("/api/v1/clients/{client}"))).await.problem(403, "forbidden");
    send_as_is(&app, browse("/api/v1/products", &key)).await.problem(401, "unauthenticated");
    send_as_is(&app, browse("/api/v1/store/me", &key)).await.problem(401, "unauthenticated");
    // A secret key is never taken from the storefront's header (it would sit in its pages).
    let reader = crate::harness::new_key(&ctx, hybrid_crm::domain::access::Role::Readonly, Vec::new()).await;
    send_as_is(&app, browse("/api/v1/store/products", &reader)).await.problem(401, "unauthenticated");
    let missing = send_as_is(&app, TestRequest::get().uri("/api/v1/store/products").to_request()).await;
    let detail = missing.problem(401, "unauthenticated")["detail"].as_str().unwrap_or_default().to_string();
    assert!(detail.contains("X-Publishable-Key"), "{detail}");

    // Revoked: refused at once on this replica.
    let listed = send(&app, get("/api/v1/api-keys")).await;
    let id =
        listed.body["items"].as_array().unwrap().iter().find(|k| k["kind"] == "publishable").unwrap()["id"].clone();
    let revoked =
        send(&app, TestRequest::delete().uri(&format!("/api/v1/api-keys/{}", id.as_str().unwrap())).to_request()).await;
    assert_eq!(revoked.status, 204);
    send_as_is(&app, browse("/api/v1/store/products", &key)).await.problem(401, "unauthenticated");
}

#[actix_web::test]
async fn store_cors_follows_the_publishable_keys_origins() {
    let ctx = TestContext::new().await;
    let app = crate::app!(ctx);
    let shop_key = crate::harness::new_publishable_key(&ctx, &[SHOP]).await;
    let _other_key = crate::harness::new_publishable_key(&ctx, &["https://kiosk.example.com"]).await;
    let (_, customer) = crate::harness::new_customer(&ctx, "cors-customer").await;
    let preflight = |origin: &str, uri: &str| {
        TestRequest::default()
            .method(Method::OPTIONS)
            .uri(uri)
            .insert_header(("Origin", origin))
            .insert_header(("Access-Control-Request-Method", "GET"))
            .insert_header(("Access-Control-Request-Headers", "x-publishable-key, authorization"))
            .to_request()
    };
    for origin in [SHOP, "https://kiosk.example.com"] {
        let allowed = send_as_is(&app, preflight(origin, "/api/v1/store/products")).await;
        assert_eq!(allowed.status, 204, "{origin}: {}", allowed.body);
        assert_eq!(allowed.header("access-control-allow-origin").as_deref(), Some(origin));
        assert!(allowed.header("access-control-allow-headers").unwrap().contains("x-publishable-key"));
    }
    send_as_is(&app, preflight("https://evil.example.net", "/api/v1/store/products"))
        .await
        .problem(403, "cors_origin_not_allowed");
    // The storefronts' origins reach the store only, not the staff API.
    send_as_is(&app, preflight(SHOP, "/api/v1/clients")).await.problem(403, "cors_origin_not_allowed");

    let from = |origin: &str| {
        TestRequest::get()
            .uri("/api/v1/store/products")
            .insert_header(("Origin", origin))
            .insert_header(("X-Publishable-Key", shop_key.as_str()))
            .to_request()
    };
    let ok = send_as_is(&app, from(SHOP)).await;
    assert_eq!((ok.status.as_u16(), ok.header("access-control-allow-origin").as_deref()), (200, Some(SHOP)));
    // Another storefront's origin with this key: the key's own list decides.
    let other = send_as_is(&app, from("https://kiosk.example.com")).await;
    assert_eq!(other.header("access-control-allow-origin"), None);
    // A signed-in customer's call from a storefront's origin.
    let me = TestRequest::get()
        .uri("/api/v1/store/me")
        .insert_header(("Origin", SHOP))
        .insert_header(("Authorization", bearer(&customer)))
        .to_request();
    let me = send_as_is(&app, me).await;
    assert_eq!((me.status.as_u16(), me.header("access-control-allow-origin").as_deref()), (200, Some(SHOP)));

    // Revoking the key takes its origins off this replica's answers at once.
    let listed = send(&app, get("/api/v1/api-keys")).await;
    let shop = listed.body["items"].as_array().unwrap().iter().find(|k| k["allowed_origins"] == json!([SHOP])).unwrap();
    let uri = format!("/api/v1/api-keys/{}", shop["id"].as_str().unwrap());
    assert_eq!(send(&app, TestRequest::delete().uri(&uri).to_request()).await.status, 204);
    send_as_is(&app, preflight(SHOP, "/api/v1/store/products")).await.problem(403, "cors_origin_not_allowed");
}
