//! Integration tests: the real HTTP application against real PostgreSQL and MongoDB servers.

mod clients;
mod commerce;
mod companies_and_interests;
mod errors;
mod harness;
mod info;
mod reconcile;
mod spec;
mod stats_and_health;
mod workshops;

use actix_web::http::Method;
use harness::{json, send, Reply};
use serde_json::{json, Value};

/// Creates a company and returns its id.
pub async fn create_company<S, B>(app: &S, legal_name: &str) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let tax_id = format!("TAX-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let reply =
        send(app, json(Method::POST, "/api/v1/companies", json!({"legal_name": legal_name, "tax_id": tax_id}))).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}

pub async fn create_interest<S, B>(app: &S, name: &str) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let reply = send(app, json(Method::POST, "/api/v1/interests", json!({"name": name}))).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}

/// Posts a client body and returns the reply.
pub async fn post_client<S, B>(app: &S, body: Value) -> Reply
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    send(app, json(Method::POST, "/api/v1/clients", body)).await
}

/// Creates a b2c client with the given email and returns its id.
pub async fn create_client<S, B>(app: &S, name: &str, email: &str) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let reply = post_client(app, json!({"name": name, "email": email, "kind": "b2c"})).await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.body["id"].as_str().expect("id").to_string()
}
