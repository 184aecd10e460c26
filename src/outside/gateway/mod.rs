//! The payment gateway: the one port through which money moves outside this service. The
//! `Sandbox` answers like a card processor's test mode; a real processor implements the same
//! trait. Calls are idempotent per `idempotency_key` (the payment's or refund's id), so a saga
//! that resumes after a crash can repeat a call without charging twice.

mod sandbox;

pub use sandbox::Sandbox;

/// Which gateway a server uses (`PAYMENT_GATEWAY`). Without one, card and PayPal payments are
/// refused: the sandbox settles any order for `tok_visa`, so it runs only when asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayChoice {
    None,
    Sandbox,
}

impl std::str::FromStr for GatewayChoice {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "" | "none" => Ok(GatewayChoice::None),
            "sandbox" => Ok(GatewayChoice::Sandbox),
            other => Err(format!("{other:?} is not a gateway (none or sandbox)")),
        }
    }
}

/// The gateway of a server without one: it knows no token, and nothing reaches it.
#[derive(Debug, Clone, Copy)]
pub struct Unconfigured;

impl PaymentGateway for Unconfigured {
    fn configured(&self) -> bool {
        false
    }
    fn accepts_token(&self, _method: PaymentMethod, _token: &str) -> bool {
        false
    }
    fn charge(&self, _request: ChargeRequest) -> GatewayFuture<'_> {
        Box::pin(async { Err(unconfigured()) })
    }
    fn refund(&self, _request: RefundRequest) -> GatewayFuture<'_> {
        Box::pin(async { Err(unconfigured()) })
    }
}

fn unconfigured() -> Transient {
    Transient { code: "gateway_not_configured".into(), message: "this server has no payment gateway".into() }
}

use crate::domain::money::Money;
use crate::domain::orders::PaymentMethod;
use crate::domain::payments::Failure;
use std::future::Future;
use std::pin::Pin;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    pub idempotency_key: Uuid,
    pub amount: Money,
    pub method: PaymentMethod,
    pub token: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub idempotency_key: Uuid,
    /// The charge's `reference`.
    pub charge: String,
    pub amount: Money,
}

/// The gateway's final word on a charge or a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded {
        reference: String,
    },
    /// Refused for good (`card_declined`, `insufficient_funds`): retrying will not help.
    Declined(Failure),
}

/// The gateway could not answer now (network, its own outage): worth retrying.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Transient {
    pub code: String,
    pub message: String,
}

pub type GatewayFuture<'a> = Pin<Box<dyn Future<Output = Result<Outcome, Transient>> + Send + 'a>>;

pub trait PaymentGateway: Send + Sync + 'static {
    /// Whether money can move through it (a server without `PAYMENT_GATEWAY` has none).
    fn configured(&self) -> bool {
        true
    }
    /// Whether the gateway knows the token (checked before any money is reserved, so an
    /// unknown token is a 422 and not a failed payment).
    fn accepts_token(&self, method: PaymentMethod, token: &str) -> bool;
    fn charge(&self, request: ChargeRequest) -> GatewayFuture<'_>;
    fn refund(&self, request: RefundRequest) -> GatewayFuture<'_>;
}
