//! The services this one calls, each behind a small type of its own: the payment gateway, the
//! SMTP server notifications go to, NATS JetStream events are relayed to, and the receivers of
//! webhooks. Use cases in `app` decide what to send and when; these only speak the protocol.

pub mod gateway;
pub mod nats;
pub mod smtp;
pub mod webhook_http;
