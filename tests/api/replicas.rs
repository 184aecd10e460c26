//! Two server processes on the same stores: every event reaches the webhook endpoint once,
//! every notification is sent once, every event is published to NATS once.

use crate::harness::{Receiver, Server, SmtpSink, TestContext};
use crate::nats::{drop_stream, nats_url, stream_of_test, stream_size};
use crate::{app, post};
use serde_json::json;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[actix_web::test]
async fn two_replicas_deliver_notify_and_publish_each_event_once() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let receiver = Receiver::start(&[]).await;
    let sink = SmtpSink::start(0).await;
    let (stream, prefix) = stream_of_test();
    let endpoint =
        post(&app, "/api/v1/webhook-endpoints", json!({"url": receiver.url, "event_types": ["client.created"]})).await;
    assert_eq!(endpoint.status, 201, "{}", endpoint.body);

    let nats = nats_url();
    let settings = [
        ("EVENTS_POLL_MS", "50"),
        ("WEBHOOK_POLL_MS", "50"),
        ("NOTIFY_POLL_MS", "50"),
        ("SMTP_URL", sink.url.as_str()),
        ("NATS_URL", nats.as_str()),
        ("NATS_STREAM", stream.as_str()),
        ("NATS_SUBJECT_PREFIX", prefix.as_str()),
    ];
    let replicas = [Server::start_with(&ctx, &settings).await, Server::start_with(&ctx, &settings).await];
    let clients = 20;
    let creations = (0..clients).map(|i| {
        let replica = &replicas[i % 2];
        async move {
            let body =
                json!({"name": format!("Replica {i}"), "email": format!("replica{i}@example.com"), "kind": "b2c"});
            replica.request("POST", "/api/v1/clients", Some(&body), &[]).await.expect("request").0
        }
    });
    let statuses = futures_util::future::join_all(creations).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");

    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && (receiver.received().len() < clients
            || sink.mails().len() < clients
            || stream_size(&stream).await < clients as u64)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Anything sent twice would arrive within this.
    tokio::time::sleep(Duration::from_millis(1_000)).await;

    let deliveries: Vec<String> = receiver.received().iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(deliveries.len(), clients, "each event delivered once");
    assert_eq!(deliveries.iter().collect::<BTreeSet<_>>().len(), clients);
    let sequences: Vec<i64> = receiver.received().iter().map(|r| r.json()["sequence"].as_i64().unwrap()).collect();
    assert_eq!(sequences, (1..=clients as i64).collect::<Vec<_>>(), "in order");
    let recipients: BTreeSet<String> = sink.mails().iter().flat_map(|m| m.to.clone()).collect();
    assert_eq!(sink.mails().len(), clients, "each welcome sent once");
    assert_eq!(recipients.len(), clients);
    assert_eq!(stream_size(&stream).await, clients as u64, "each event published once");
    drop(replicas);
    drop_stream(&stream).await;
}
