//! Webhook endpoints and deliveries: the Standard Webhooks signature, which URLs may receive
//! events, and the retry schedule.

use crate::domain::access::{Family, Grant, Level, Owner, Scope};
use crate::domain::ids::{DeliveryId, EventId, WebhookEndpointId};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use std::net::IpAddr;
use std::time::Duration;

/// Standard Webhooks secrets: `whsec_` and the base64 of the key.
pub const SECRET_PREFIX: &str = "whsec_";

#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub url: String,
    pub description: Option<String>,
    /// Canonical patterns (`*`, `family.*`, exact types).
    pub event_types: Vec<String>,
    pub active: bool,
    /// Why the server disabled it (failing for too long); `None` when staff set `active`.
    pub disabled_reason: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The key or the staff user that created it; `None` for endpoints older than ownership, or
    /// whose owner is gone (admins only).
    pub owner: Option<Owner>,
    /// Until when the secret rotated out last still signs deliveries beside the current one.
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// Bumped by every change; the `ETag` (`If-Match` names it).
    pub version: i32,
}

/// Who acts on webhook endpoints: a key (or a staff user) sees, changes, tests and retries only
/// the endpoints it created; a caller with `admin:write` every endpoint.
#[derive(Debug, Clone, Copy)]
pub struct EndpointActor {
    pub owner: Owner,
    pub grant: Grant,
}

impl EndpointActor {
    fn sees_all(&self) -> bool {
        self.grant.allows(Scope::new(Family::Admin, Level::Write))
    }

    pub fn may_see(&self, endpoint: &WebhookEndpoint) -> bool {
        self.sees_all() || endpoint.owner == Some(self.owner)
    }

    /// The owner a list is narrowed to (`None`: every endpoint).
    pub fn owner_filter(&self) -> Option<Owner> {
        (!self.sees_all()).then_some(self.owner)
    }
}

#[derive(Debug, Clone)]
pub struct NewWebhookEndpoint {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub active: bool,
}

/// A patch: `None` leaves a field alone; `description: Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct WebhookEndpointChanges {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub event_types: Option<Vec<String>>,
    pub active: Option<bool>,
}

text_enum!(
    /// `pending` (waiting for its turn or its next attempt), `delivering` (an attempt is under
    /// way), `succeeded` (the receiver answered 2xx), `failed` (every attempt failed).
    DeliveryStatus { Pending => "pending", Delivering => "delivering", Succeeded => "succeeded", Failed => "failed" }
);

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub attempted_at: DateTime<Utc>,
    /// `None` when no response came (timeout, refused connection, refused address).
    pub status_code: Option<i32>,
    pub duration_ms: i32,
    pub error: Option<String>,
    pub succeeded: bool,
}

/// One event (or ping) to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub endpoint_id: WebhookEndpointId,
    /// `None` for pings.
    pub event_id: Option<EventId>,
    pub event_type: String,
    pub sequence: Option<i64>,
    pub status: DeliveryStatus,
    pub attempts: Vec<Attempt>,
    /// When the next attempt is due (pending deliveries only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// `whsec_…` for a 32-byte key.
pub fn encode_secret(key: &[u8]) -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The key a secret encodes.
pub fn decode_secret(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(SECRET_PREFIX)?).ok()
}

/// The `webhook-signature` header value: `v1,` and the base64 HMAC-SHA256 of
/// `{webhook-id}.{webhook-timestamp}.{body}` under the secret's key.
pub fn signature(key: &[u8], message_id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length.
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The wait before attempt `attempt + 1` after `attempt` failed ones, or `None` to give up.
pub fn retry_after(schedule: &[Duration], failed_attempts: usize) -> Option<Duration> {
    failed_attempts.checked_sub(1).and_then(|index| schedule.get(index)).copied()
}

/// Why a URL may not receive webhooks, if it may not.
pub fn url_refusal(text: &str, allow_private: bool) -> Option<&'static str> {
    let Ok(url) = url::Url::parse(text) else {
        return Some("is not an absolute URL");
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Some("must be an http or https URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Some("must not carry credentials");
    }
    if url.fragment().is_some() {
        return Some("must not have a fragment");
    }
    let refused = match url.host() {
        None => return Some("must name a host"),
        Some(url::Host::Ipv4(ip)) => !address_allowed(IpAddr::V4(ip), allow_private),
        Some(url::Host::Ipv6(ip)) => !address_allowed(IpAddr::V6(ip), allow_private),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            !allow_private
                && (name == "localhost" || name.ends_with(".localhost") || name == "metadata.google.internal")
        }
    };
    refused.then_some(
        "must point at a public (global unicast) address: loopback and private networks need WEBHOOK_ALLOW_PRIVATE=true \
         (development only); link-local, reserved and IPv4-tunnelling addresses never",
    )
}

/// Whether deliveries may go to this address: global unicast only. Link-local addresses (the
/// cloud metadata services live there), documentation, benchmarking, reserved and multicast
/// blocks, and the IPv6 forms that carry an IPv4 address to somewhere else (NAT64, 6to4,
/// IPv4-compatible, Teredo) are always refused, as is deprecated site-local `fec0::/10`;
/// loopback, private networks, carrier-grade NAT and unique-local IPv6 only with
/// `allow_private` (development: never in production). An IPv4-mapped IPv6 address is its IPv4
/// address.
pub fn address_allowed(ip: IpAddr, allow_private: bool) -> bool {
    match reach(ip) {
        Reach::Global => true,
        Reach::Private => allow_private,
        Reach::Never => false,
    }
}

enum Reach {
    Global,
    Private,
    Never,
}

fn reach(ip: IpAddr) -> Reach {
    match ip {
        IpAddr::V4(v4) => reach_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => reach_v4(v4),
            None => reach_v6(v6),
        },
    }
}

fn reach_v4(ip: std::net::Ipv4Addr) -> Reach {
    let [a, b, c, _] = ip.octets();
    let private = ip.is_loopback() || ip.is_private() || (a == 100 && (b & 0xc0) == 64);
    let never = a == 0 // "this network"
        || ip.is_link_local()
        || (a == 192 && b == 0 && (c == 0 || c == 2)) // IETF assignments, TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (b & 0xfe) == 18) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224 // multicast, reserved, broadcast
        || ip == std::net::Ipv4Addr::new(168, 63, 129, 16); // Azure's host services
    if never {
        Reach::Never
    } else if private {
        Reach::Private
    } else {
        Reach::Global
    }
}

fn reach_v6(ip: std::net::Ipv6Addr) -> Reach {
    let s = ip.segments();
    if ip.is_loopback() || ((s[0] & 0xfe00) == 0xfc00 && ip != ec2_metadata_v6()) {
        return Reach::Private;
    }
    let global_unicast = (s[0] & 0xe000) == 0x2000;
    // IETF assignments (Teredo, benchmarking, ORCHID: 2001::/23) and documentation (2001:db8::/32).
    let special = (s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8))
        || s[0] == 0x2002 // 6to4
        || (s[0] == 0x3fff && s[1] < 0x1000); // documentation (3fff::/20)
    if global_unicast && !special {
        Reach::Global
    } else {
        Reach::Never
    }
}

fn ec2_metadata_v6() -> std::net::Ipv6Addr {
    std::net::Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example from the Standard Webhooks specification.
        let key = decode_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("secret");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip() {
        let key = [7u8; 32];
        let secret = encode_secret(&key);
        assert!(secret.starts_with("whsec_"));
        assert_eq!(decode_secret(&secret), Some(key.to_vec()));
    }

    #[test]
    fn retries_follow_the_schedule_then_give_up() {
        let schedule = [Duration::from_secs(5), Duration::from_secs(30)];
        assert_eq!(retry_after(&schedule, 1), Some(Duration::from_secs(5)));
        assert_eq!(retry_after(&schedule, 2), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(&schedule, 3), None);
    }

    #[test]
    fn only_public_http_urls_are_accepted_by_default() {
        assert_eq!(url_refusal("https://hooks.example.com/crm", false), None);
        assert_eq!(url_refusal("http://93.184.215.14:8080/in", false), None);
        assert_eq!(url_refusal("http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/in", false), None);
        for bad in [
            "ftp://example.com/",
            "not a url",
            "http://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:9000/",
            "http://[::1]/",
            "http://10.1.2.3/",
            "http://192.168.0.4/",
            "http://localhost:3000/",
            "http://[fe80::1]/",
            "http://[::ffff:169.254.169.254]/",
            "http://user:pw@example.com/",
            "http://0.0.0.0/",
            "http://100.100.100.200/",
            // The review's accepted addresses: NAT64, IPv4-compatible, site-local, benchmarking,
            // Azure's host services.
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[64:ff9b:1::a9fe:a9fe]/",
            "http://[::127.0.0.1]/",
            "http://[fec0::1]/",
            "http://198.18.0.1/",
            "http://168.63.129.16/",
            // 6to4, Teredo, documentation, IETF, reserved, multicast, broadcast.
            "http://[2002:7f00:1::]/",
            "http://[2001::1]/",
            "http://[2001:db8::1]/",
            "http://[3fff::1]/",
            "http://192.0.0.1/",
            "http://192.0.2.1/",
            "http://198.51.100.1/",
            "http://203.0.113.9/",
            "http://240.0.0.1/",
            "http://255.255.255.255/",
            "http://224.0.0.1/",
            "http://[ff02::1]/",
            "http://2130706433/",
            "http://0x7f.1/",
        ] {
            assert!(url_refusal(bad, false).is_some(), "{bad}");
        }
    }

    #[test]
    fn private_addresses_are_allowed_when_configured_but_metadata_never() {
        assert_eq!(url_refusal("http://127.0.0.1:9000/hook", true), None);
        assert_eq!(url_refusal("http://localhost:9000/hook", true), None);
        assert!(url_refusal("http://169.254.169.254/", true).is_some());
        assert!(url_refusal("http://[fd00:ec2::254]/", true).is_some());
    }
}
