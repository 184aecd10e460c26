//! The NATS JetStream relay: every event of a scenario reaches a subscriber through JetStream,
//! in order, once — also when the relay publishes a batch again after losing its position.

use crate::events::{feed, publish};
use crate::harness::{json_with, send, TestContext};
use crate::{app, create_client, create_product, order_body, post};
use actix_web::http::Method;
use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use hybrid_crm::app::relay::{relay_once, Relay};
use serde_json::{json, Value};
use std::time::Duration;

pub fn nats_url() -> String {
    std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A stream and subject prefix of the test's own (streams may not share subjects).
pub fn stream_of_test() -> (String, String) {
    let id = uuid::Uuid::now_v7().simple().to_string();
    (format!("CRM_EVENTS_{id}"), format!("crm.{id}.events"))
}

/// Every message of the stream, in stream order: (subject, message id, body).
async fn read_stream(name: &str, expected: usize) -> Vec<(String, String, Value)> {
    let client = async_nats::connect(nats_url()).await.expect("connect to NATS (scripts/services.sh up)");
    let js = jetstream::new(client);
    let stream = js.get_stream(name).await.expect("the stream");
    let consumer: consumer::PullConsumer = stream
        .create_consumer(consumer::pull::Config { durable_name: None, ..Default::default() })
        .await
        .expect("a consumer");
    let mut messages =
        consumer.fetch().max_messages(expected + 10).expires(Duration::from_secs(2)).messages().await.expect("fetch");
    let mut read = Vec::new();
    while let Some(Ok(message)) = messages.next().await {
        let id = message.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).map(|v| v.to_string()).unwrap_or_default();
        read.push((message.subject.to_string(), id, serde_json::from_slice(&message.payload).expect("JSON")));
        message.ack().await.expect("ack");
    }
    read
}

#[actix_web::test]
async fn every_event_of_a_scenario_reaches_a_jetstream_subscriber_in_order_once() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let (stream, prefix) = stream_of_test();
    let relay = Relay::connect(&nats_url(), &stream, &prefix).await.expect("NATS (scripts/services.sh up starts it)");

    let client = create_client(&app, "Streamed", "streamed@example.com").await;
    let product = create_product(&app, "Gouge", "22.00", 5).await;
    let order =
        post(&app, "/api/v1/orders", order_body(&client, json!([{"product_id": product, "quantity": 1}]))).await;
    let order = order.body["id"].as_str().unwrap().to_string();
    let key = uuid::Uuid::now_v7().to_string();
    let body = json!({"subject": {"type": "order", "id": order}, "amount": "22.00", "method": "cash"});
    send(&app, json_with(Method::POST, "/api/v1/payments", body, &[("Idempotency-Key", &key)])).await;
    publish(&ctx).await;
    let events = feed(&app, "").await;
    assert_eq!(relay_once(&ctx.state, &relay).await.unwrap(), Some(events.len()));
    assert_eq!(relay_once(&ctx.state, &relay).await.unwrap(), Some(0), "nothing twice");

    // The relay loses its position (as if it died before saving it) and publishes again:
    // JetStream drops the duplicates by message id.
    ctx.side_connection().await.execute("UPDATE relay_positions SET last_sequence = 0").await;
    assert_eq!(relay_once(&ctx.state, &relay).await.unwrap(), Some(events.len()));

    let read = read_stream(&stream, events.len()).await;
    assert_eq!(read.len(), events.len(), "each event once in the stream");
    for ((subject, id, body), event) in read.iter().zip(&events) {
        assert_eq!(subject, &format!("{prefix}.{}", event["type"].as_str().unwrap()));
        assert_eq!(id, event["id"].as_str().unwrap());
        assert_eq!(body, event, "the message is the event as the feed shows it");
    }
    let types: Vec<&str> = read.iter().map(|(_, _, e)| e["type"].as_str().unwrap()).collect();
    assert_eq!(&types[..2], ["client.created", "order.placed"]);
    assert!(types.contains(&"payment.succeeded"));
    drop_stream(&stream).await;
}

/// How many messages the stream holds.
pub async fn stream_size(name: &str) -> u64 {
    let js = jetstream::new(async_nats::connect(nats_url()).await.expect("connect"));
    let mut stream = js.get_stream(name).await.expect("the stream");
    stream.info().await.expect("stream info").state.messages
}

pub async fn drop_stream(name: &str) {
    let js = jetstream::new(async_nats::connect(nats_url()).await.expect("connect"));
    let _ = js.delete_stream(name).await;
}
