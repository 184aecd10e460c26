//! A test-mode gateway with Stripe-like tokens, for development, tests and demos.

use super::{ChargeRequest, GatewayFuture, Outcome, PaymentGateway, RefundRequest, Transient};
use crate::domain::orders::PaymentMethod;
use crate::domain::payments::Failure;
use std::time::Duration;

/// `tok_visa` succeeds; `tok_declined` and `tok_insufficient_funds` are declined;
/// `tok_processing_error` is a transient error on every attempt; `tok_slow` succeeds after
/// `slow` (longer than the time a request waits, so it exercises the 202 path);
/// `tok_refund_declined` succeeds, and the gateway declines every refund of that charge; a refund
/// of a `tok_slow` charge takes `slow` too.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub slow: Duration,
}

impl Sandbox {
    pub const TOKENS: [&'static str; 6] = [
        "tok_visa",
        "tok_declined",
        "tok_insufficient_funds",
        "tok_processing_error",
        "tok_slow",
        "tok_refund_declined",
    ];
}

fn declined(code: &str, message: &str) -> Outcome {
    Outcome::Declined(Failure { code: code.into(), message: message.into() })
}

impl PaymentGateway for Sandbox {
    fn accepts_token(&self, _method: PaymentMethod, token: &str) -> bool {
        Self::TOKENS.contains(&token)
    }

    fn charge(&self, request: ChargeRequest) -> GatewayFuture<'_> {
        Box::pin(async move {
            // The reference derives from the idempotency key: a repeated call answers the same.
            let succeeded =
                || Outcome::Succeeded { reference: format!("ch_sandbox_{}", request.idempotency_key.simple()) };
            match request.token.as_str() {
                "tok_visa" => Ok(succeeded()),
                // The reference tells the refund to come that it is to be declined.
                "tok_refund_declined" => Ok(Outcome::Succeeded {
                    reference: format!("ch_sandbox_norefund_{}", request.idempotency_key.simple()),
                }),
                "tok_slow" => {
                    tokio::time::sleep(self.slow).await;
                    Ok(Outcome::Succeeded {
                        reference: format!("ch_sandbox_slow_{}", request.idempotency_key.simple()),
                    })
                }
                "tok_declined" => Ok(declined("card_declined", "the card was declined")),
                "tok_insufficient_funds" => Ok(declined("insufficient_funds", "the card has insufficient funds")),
                "tok_processing_error" => Err(Transient {
                    code: "processing_error".into(),
                    message: "the card processor had an error; try again later".into(),
                }),
                other => Ok(declined("invalid_token", &format!("unknown token {other:?}"))),
            }
        })
    }

    fn refund(&self, request: RefundRequest) -> GatewayFuture<'_> {
        Box::pin(async move {
            if request.charge.starts_with("ch_sandbox_norefund_") {
                return Ok(declined("refund_declined", "the processor declined the refund"));
            }
            if request.charge.starts_with("ch_sandbox_slow_") {
                tokio::time::sleep(self.slow).await;
            }
            Ok(Outcome::Succeeded { reference: format!("re_sandbox_{}", request.idempotency_key.simple()) })
        })
    }
}
