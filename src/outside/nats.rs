//! NATS JetStream: the stream events are relayed to, and publishing one message with its id (so
//! JetStream drops a repeat within the stream's duplicate window).

use async_nats::jetstream::{self, stream};
use std::time::Duration;

/// A JetStream context with the stream in place.
#[derive(Clone)]
pub struct Relay {
    jetstream: jetstream::Context,
    subject_prefix: String,
}

impl Relay {
    /// Connects and creates the stream if it does not exist.
    pub async fn connect(url: &str, stream_name: &str, subject_prefix: &str) -> anyhow::Result<Relay> {
        let client =
            async_nats::connect(url).await.map_err(|err| anyhow::anyhow!("connecting to NATS at {url}: {err}"))?;
        let jetstream = jetstream::new(client);
        jetstream
            .get_or_create_stream(stream::Config {
                name: stream_name.to_string(),
                subjects: vec![format!("{subject_prefix}.>")],
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(|err| anyhow::anyhow!("creating the JetStream stream {stream_name}: {err}"))?;
        Ok(Relay { jetstream, subject_prefix: subject_prefix.to_string() })
    }

    /// Publishes `payload` under `<prefix>.<event_type>` with `message_id`, and waits for
    /// JetStream's acknowledgement.
    pub async fn publish(&self, event_type: &str, message_id: &str, payload: Vec<u8>) -> Result<(), String> {
        let subject = format!("{}.{event_type}", self.subject_prefix);
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, message_id);
        match self.jetstream.publish_with_headers(subject, headers, payload.into()).await {
            Ok(ack) => ack.await.map(|_| ()).map_err(|err| err.to_string()),
            Err(err) => Err(err.to_string()),
        }
    }
}
