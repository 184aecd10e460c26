//! The HTTP client webhook deliveries go through, and one signed POST to a receiver.

use crate::domain::webhooks::address_allowed;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The most of a failing receiver's answer kept with an attempt.
const MAX_ANSWER_BYTES: usize = 1024;

/// No redirects (a redirect could lead anywhere), and unless private networks are allowed, a
/// resolver that drops addresses webhooks may not reach (so a public name that resolves to an
/// internal address is refused at connection time).
pub fn http_client(allow_private: bool, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from the environment would resolve names itself, past the guarded resolver.
        .no_proxy()
        .timeout(timeout)
        .connect_timeout(timeout)
        .user_agent(concat!("HybridCRM-Webhooks/", env!("CARGO_PKG_VERSION")));
    builder = builder.dns_resolver(Arc::new(GuardedResolver { allow_private }));
    Ok(builder.build()?)
}

struct GuardedResolver {
    allow_private: bool,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            // One answer whether the name does not resolve or resolves only to refused addresses:
            // attempts must not tell a caller which internal names exist.
            let unreachable = || format!("{} resolves to no address webhooks may reach", name.as_str());
            let found: Vec<SocketAddr> = match tokio::net::lookup_host((name.as_str(), 0)).await {
                Ok(found) => found.collect(),
                Err(_) => return Err(unreachable().into()),
            };
            let allowed: Vec<SocketAddr> =
                found.into_iter().filter(|addr| address_allowed(addr.ip(), allow_private)).collect();
            if allowed.is_empty() {
                return Err(unreachable().into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A Standard Webhooks request: its id, timestamp and signature headers.
pub struct Signed<'a> {
    pub message_id: &'a str,
    pub timestamp: i64,
    pub signature: String,
}

/// POSTs `body` to `url`: the receiver's status and, for a failure from a public address, the
/// start of its answer; `Err` describes a request that got no answer.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    signed: Signed<'_>,
    body: Vec<u8>,
) -> Result<(i32, String), String> {
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", signed.message_id)
        .header("webhook-timestamp", signed.timestamp.to_string())
        .header("webhook-signature", signed.signature)
        .body(body)
        .send()
        .await
        .map_err(|err| describe(&err))?;
    let status = i32::from(response.status().as_u16());
    // A little of the receiver's answer helps whoever debugs a failing endpoint: its first KiB
    // (the rest is never read), and nothing from a private address (WEBHOOK_ALLOW_PRIVATE), so
    // an endpoint cannot be used to read an internal service.
    let public = response.remote_addr().is_some_and(|addr| address_allowed(addr.ip(), false));
    let text = if (200..300).contains(&status) || !public { String::new() } else { first_bytes(response).await };
    Ok((status, text))
}

/// At most `MAX_ANSWER_BYTES` of a response's body, as text; the connection is dropped after.
async fn first_bytes(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(MAX_ANSWER_BYTES - body.len())]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// The error with its causes (reqwest's own message hides them).
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() { "the receiver did not answer in time".to_string() } else { err.to_string() };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
