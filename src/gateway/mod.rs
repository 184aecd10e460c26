//! The payment gateway: the one port through which money moves outside this service. The
//! `Sandbox` answers like a card processor's test mode; a real processor implements the same
//! trait. Calls are idempotent per `idempotency_key` (the payment's or refund's id), so a saga
//! that resumes after a crash can repeat a call without charging twice.

mod sandbox;

pub use sandbox::Sandbox;

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
    /// Whether the gateway knows the token (checked before any money is reserved, so an
    /// unknown token is a 422 and not a failed payment).
    fn accepts_token(&self, method: PaymentMethod, token: &str) -> bool;
    fn charge(&self, request: ChargeRequest) -> GatewayFuture<'_>;
    fn refund(&self, request: RefundRequest) -> GatewayFuture<'_>;
}
