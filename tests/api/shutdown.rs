//! Stopping a server process: on SIGTERM it closes its listener, lets the workers finish the
//! round they are in, and exits within `SHUTDOWN_TIMEOUT_SECS`.

use crate::harness::{Answer, Receiver, Server, TestContext};
use crate::{app, post};
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::json;
use std::time::Duration;

#[derive(QueryableByName)]
struct Outcome {
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    attempts: i64,
}

/// A server whose webhook dispatcher is in the middle of a delivery the receiver holds for
/// `hold`, when it is asked to stop.
async fn stopped_mid_delivery(ctx: &TestContext, hold: Duration, timeout_secs: &str) -> (Server, Receiver) {
    let app = app!(ctx);
    let receiver = Receiver::start(&[Answer::Hang(hold)]).await;
    let endpoint =
        post(&app, "/api/v1/webhook-endpoints", json!({"url": receiver.url, "event_types": ["client.created"]})).await;
    assert_eq!(endpoint.status, 201, "{}", endpoint.body);
    let settings = [("EVENTS_POLL_MS", "50"), ("WEBHOOK_POLL_MS", "50"), ("SHUTDOWN_TIMEOUT_SECS", timeout_secs)];
    let server = Server::start_with(ctx, &settings).await;
    let body = json!({"name": "Stopping", "email": "stopping@example.com", "kind": "b2c"});
    assert_eq!(server.request("POST", "/api/v1/clients", Some(&body), &[]).await.expect("request").0, 201);
    assert_eq!(receiver.until_received(1, Duration::from_secs(20)).await.len(), 1, "the delivery is under way");
    server.terminate();
    (server, receiver)
}

async fn delivery_outcome(ctx: &TestContext) -> Outcome {
    ctx.side_connection()
        .await
        .run(|conn| {
            diesel::sql_query(
                "SELECT d.status, (SELECT count(*) FROM webhook_attempts a WHERE a.delivery_id = d.id) AS attempts
                   FROM webhook_deliveries d",
            )
            .get_result(conn)
            .expect("the delivery")
        })
        .await
}

#[actix_web::test]
async fn on_sigterm_the_server_refuses_new_requests_finishes_the_workers_round_and_exits() {
    let ctx = TestContext::new().await;
    let (mut server, _receiver) = stopped_mid_delivery(&ctx, Duration::from_secs(2), "10").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(server.request("GET", "/health/live", None, &[]).await.is_err(), "the listener is closed");
    let status = server.exited_within(Duration::from_secs(10 + 5)).await.expect("exited within the timeout");
    assert!(status.success(), "{status:?}");
    // The round under way was finished: the delivery is recorded with its attempt.
    let outcome = delivery_outcome(&ctx).await;
    assert_eq!((outcome.status.as_str(), outcome.attempts), ("succeeded", 1));
}

#[actix_web::test]
async fn a_round_longer_than_the_shutdown_timeout_does_not_hold_the_process() {
    let ctx = TestContext::new().await;
    let (mut server, _receiver) = stopped_mid_delivery(&ctx, Duration::from_secs(60), "1").await;
    // Well before the receiver answers: the process does not wait for it past the timeout.
    let status = server.exited_within(Duration::from_secs(1 + 10)).await.expect("exited at the timeout");
    assert!(status.success(), "{status:?}");
    // The delivery stays claimed; its lease hands it to the next dispatcher.
    let outcome = delivery_outcome(&ctx).await;
    assert_eq!((outcome.status.as_str(), outcome.attempts), ("delivering", 0));
}
