//! Integration tests: the real HTTP application against real PostgreSQL and MongoDB servers.

mod access;
mod auth;
mod authorization;
mod cart;
mod clients;
mod commerce;
mod companies_and_interests;
mod constraints;
mod disclosure;
mod documents;
mod errors;
mod events;
mod fuzz;
mod harness;
mod info;
mod layers;
mod nats;
mod notifications;
mod outages;
mod payments;
mod preconditions;
mod races;
mod reconcile;
mod replicas;
mod reports;
mod saga;
mod schema;
mod shutdown;
mod snapshots;
mod spec;
mod stats_and_health;
mod store;
mod storefront;
mod timeline;
mod webhooks;
mod workshops;

use actix_web::body::MessageBody;
use actix_web::http::Method;
use harness::{json, send, Reply, TestApp};
use serde_json::{json, Value};

/// Creates a company and returns its id.
pub async fn create_company<S: TestApp<B>, B: MessageBody>(app: &S, legal_name: &str) -> String {
    let tax_id = format!("TAX-{}", &uuid::Uuid::now_v7().simple().to_string()[22..]);
    let reply =
        send(app, json(Method::POST, "/api/v1/companies", json!({"legal_name": legal_name, "tax_id": tax_id}))).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}

pub async fn create_interest<S: TestApp<B>, B: MessageBody>(app: &S, name: &str) -> String {
    let reply = send(app, json(Method::POST, "/api/v1/interests", json!({"name": name}))).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}

/// Posts a client body and returns the reply.
pub async fn post_client<S: TestApp<B>, B: MessageBody>(app: &S, body: Value) -> Reply {
    send(app, json(Method::POST, "/api/v1/clients", body)).await
}

/// Creates a b2c client with the given email and returns its id.
pub async fn create_client<S: TestApp<B>, B: MessageBody>(app: &S, name: &str, email: &str) -> String {
    let reply = post_client(app, json!({"name": name, "email": email, "kind": "b2c"})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}

pub async fn post<S: TestApp<B>, B: MessageBody>(app: &S, uri: &str, body: Value) -> Reply {
    send(app, json(Method::POST, uri, body)).await
}

/// Creates a product and returns its id.
pub async fn create_product<S: TestApp<B>, B: MessageBody>(app: &S, name: &str, price: &str, stock: i32) -> String {
    let reply = post(app, "/api/v1/products", json!({"name": name, "price": price, "stock": stock})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}

pub async fn stock_of<S: TestApp<B>, B: MessageBody>(app: &S, product: &str) -> i64 {
    send(app, harness::get(&format!("/api/v1/products/{product}"))).await.body["stock"].as_i64().expect("stock")
}

pub fn order_body(client: &str, items: Value) -> Value {
    json!({"client_id": client, "items": items, "shipping_address": "1 Main St", "payment_method": "card"})
}

/// Drives a new order of one unit to `status` along the allowed path; returns its id.
pub async fn order_in<S: TestApp<B>, B: MessageBody>(app: &S, client: &str, product: &str, status: &str) -> String {
    let placed = post(app, "/api/v1/orders", order_body(client, json!([{"product_id": product, "quantity": 1}]))).await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let id = placed.body["id"].as_str().unwrap().to_string();
    let path: &[&str] = match status {
        "pending" => &[],
        "confirmed" => &["confirmed"],
        "processing" => &["confirmed", "processing"],
        "shipped" => &["confirmed", "processing", "shipped"],
        "delivered" => &["confirmed", "processing", "shipped", "delivered"],
        "cancelled" => &["cancelled"],
        other => panic!("unknown status {other}"),
    };
    for step in path {
        let moved = post(app, &format!("/api/v1/orders/{id}/status"), json!({"status": step})).await;
        assert_eq!(moved.status, 200, "{}", moved.body);
    }
    id
}

pub fn in_days(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days)).to_rfc3339()
}

pub fn workshop_body(name: &str, category: &str, capacity: i32) -> Value {
    json!({"name": name, "category_id": category, "starts_at": in_days(7), "duration_minutes": 120,
           "modality": "in_person", "location": "12 Mill Lane", "price": "80.00", "capacity": capacity})
}

/// Creates a workshop and returns its id.
pub async fn create_workshop<S: TestApp<B>, B: MessageBody>(
    app: &S,
    name: &str,
    category: &str,
    capacity: i32,
) -> String {
    let reply = post(app, "/api/v1/workshops", workshop_body(name, category, capacity)).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}
