//! Events carry their subject as the API shows it: each resource's representation is its
//! response body, given to the outbox through `app::events::Representation`.

use crate::app::events::{CommentAdded, Representation};
use crate::domain::catalog::Product;
use crate::domain::client::Client;
use crate::domain::events::SubjectKind;
use crate::domain::orders::Order;
use crate::domain::payments::{Payment, Refund, Subscription};
use crate::domain::workshops::{Enrollment, Workshop};
use crate::http::v1::catalog::ProductResponse;
use crate::http::v1::clients::ClientResponse;
use crate::http::v1::enrollments::EnrollmentResponse;
use crate::http::v1::info::CommentResponse;
use crate::http::v1::orders::OrderResponse;
use crate::http::v1::payments::{PaymentResponse, RefundResponse};
use crate::http::v1::subscriptions::SubscriptionResponse;
use crate::http::v1::workshops::WorkshopResponse;
use serde_json::Value;
use uuid::Uuid;

macro_rules! represented_by {
    ($($resource:ty => $response:ty as $kind:ident, client $it:ident => $client:expr;)*) => {$(
        impl Representation for $resource {
            const KIND: SubjectKind = SubjectKind::$kind;

            fn subject_id(&self) -> Uuid {
                self.id.0
            }

            fn client_id(&self) -> Option<Uuid> {
                let $it = self;
                $client
            }

            fn representation(&self) -> serde_json::Result<Value> {
                serde_json::to_value(<$response>::from(self.clone()))
            }
        }
    )*};
}

represented_by!(
    Client => ClientResponse as Client, client c => Some(c.id.0);
    Order => OrderResponse as Order, client o => Some(o.client_id.0);
    Payment => PaymentResponse as Payment, client p => Some(p.client_id.0);
    Refund => RefundResponse as Refund, client _r => None;
    Enrollment => EnrollmentResponse as Enrollment, client e => Some(e.client_id.0);
    Workshop => WorkshopResponse as Workshop, client _w => None;
    Product => ProductResponse as Product, client _p => None;
    Subscription => SubscriptionResponse as Subscription, client s => Some(s.client_id.0);
);

/// A comment's event is about its client; its data is the comment as `POST …/comments` returns it.
impl Representation for CommentAdded {
    const KIND: SubjectKind = SubjectKind::Client;

    fn subject_id(&self) -> Uuid {
        self.client_id.0
    }

    fn client_id(&self) -> Option<Uuid> {
        Some(self.client_id.0)
    }

    fn representation(&self) -> serde_json::Result<Value> {
        serde_json::to_value(CommentResponse::from(self.comment.clone()))
    }
}
