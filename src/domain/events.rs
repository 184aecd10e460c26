//! Events: what happened to which resource, as integrators read it from the feed, webhooks and
//! NATS. The wire form is the same everywhere, so it is defined once here.

use crate::domain::access::{Family, Grant};
use crate::domain::ids::EventId;
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

macro_rules! event_types {
    ($($variant:ident => $text:literal),* $(,)?) => {
        /// A kind of event, written `family.action`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType { $($variant),* }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$variant => $text),* }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(EventType::$variant),)* _ => None }
            }
        }
    };
}

event_types!(
    ClientCreated => "client.created",
    ClientUpdated => "client.updated",
    ClientDeleted => "client.deleted",
    ClientCommentAdded => "client.comment_added",
    ClientPreferencesChanged => "client.preferences_changed",
    OrderPlaced => "order.placed",
    OrderStatusChanged => "order.status_changed",
    OrderCancelled => "order.cancelled",
    PaymentSucceeded => "payment.succeeded",
    PaymentFailed => "payment.failed",
    PaymentRefunded => "payment.refunded",
    RefundCreated => "refund.created",
    RefundSucceeded => "refund.succeeded",
    RefundFailed => "refund.failed",
    EnrollmentCreated => "enrollment.created",
    EnrollmentPaid => "enrollment.paid",
    EnrollmentCancelled => "enrollment.cancelled",
    WorkshopSoldOut => "workshop.sold_out",
    StockLow => "stock.low",
    SubscriptionActivated => "subscription.activated",
    SubscriptionPastDue => "subscription.past_due",
);

impl EventType {
    /// The part before the dot (`order` for `order.placed`).
    pub fn family(self) -> &'static str {
        self.as_str().split_once('.').map_or(self.as_str(), |(family, _)| family)
    }

    /// The scope family whose read scope shows this event's data.
    pub fn scope_family(self) -> Family {
        match self.family() {
            "client" => Family::Clients,
            "order" => Family::Orders,
            "payment" | "refund" | "subscription" => Family::Payments,
            "enrollment" | "workshop" => Family::Workshops,
            _ => Family::Catalog,
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl utoipa::PartialSchema for EventType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(EventType::ALL.iter().map(|t| t.as_str())))
            .examples([serde_json::json!("order.placed")])
            .into()
    }
}

impl ToSchema for EventType {}

text_enum!(
    /// The kind of resource an event is about.
    SubjectKind {
        Client => "client",
        Order => "order",
        Payment => "payment",
        Refund => "refund",
        Enrollment => "enrollment",
        Workshop => "workshop",
        Product => "product",
        Subscription => "subscription",
    }
);

/// The resource an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct EventSubject {
    #[serde(rename = "type")]
    pub kind: SubjectKind,
    pub id: Uuid,
}

/// One event, as the feed, webhooks and NATS carry it (the API's `EventResponse` has its shape).
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// UUIDv7; also the `webhook-id` of its webhook deliveries and the NATS message id.
    pub id: EventId,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// Position in the feed: increasing without gaps, assigned once the change committed.
    pub sequence: i64,
    pub occurred_at: DateTime<Utc>,
    pub subject: EventSubject,
    /// The subject as the API showed it right after the change (the body of its `GET`).
    pub data: Value,
}

/// Which event types a subscription or a filter selects: `*`, `family.*`, or an exact type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventPattern {
    Any,
    Family(&'static str),
    Exact(EventType),
}

impl EventPattern {
    /// `None` unless the pattern names something that exists: an unknown family or type would
    /// silently match nothing.
    pub fn parse(text: &str) -> Option<Self> {
        if text == "*" {
            return Some(EventPattern::Any);
        }
        if let Some(family) = text.strip_suffix(".*") {
            return EventType::ALL.iter().find(|t| t.family() == family).map(|t| EventPattern::Family(t.family()));
        }
        EventType::parse(text).map(EventPattern::Exact)
    }

    pub fn matches(&self, event_type: EventType) -> bool {
        match self {
            EventPattern::Any => true,
            EventPattern::Family(family) => event_type.family() == *family,
            EventPattern::Exact(exact) => *exact == event_type,
        }
    }

    /// The scope families of the types the pattern selects.
    pub fn scope_families(&self) -> Vec<Family> {
        let mut families: Vec<Family> =
            EventType::ALL.iter().filter(|t| self.matches(**t)).map(|t| t.scope_family()).collect();
        families.sort();
        families.dedup();
        families
    }

    /// The patterns a key may read of this one: itself when the key reads every family it
    /// selects; `*` narrowed to the event families the key reads; nothing otherwise.
    pub fn readable(&self, grant: Grant) -> Vec<EventPattern> {
        match self {
            EventPattern::Any if !self.scope_families().iter().all(|f| grant.reads(*f)) => {
                let mut prefixes: Vec<&'static str> =
                    EventType::ALL.iter().filter(|t| grant.reads(t.scope_family())).map(|t| t.family()).collect();
                prefixes.dedup();
                prefixes.into_iter().map(EventPattern::Family).collect()
            }
            pattern if pattern.scope_families().iter().all(|f| grant.reads(*f)) => vec![pattern.clone()],
            _ => Vec::new(),
        }
    }

    /// Every pattern that names something: each type, each family's wildcard, and `*`.
    pub fn all_texts() -> Vec<String> {
        let mut texts: Vec<String> = EventType::ALL.iter().map(|t| t.as_str().to_string()).collect();
        for t in EventType::ALL {
            let wildcard = format!("{}.*", t.family());
            if !texts.contains(&wildcard) {
                texts.push(wildcard);
            }
        }
        texts.push("*".into());
        texts
    }

    /// The canonical text (as stored and as `event_type_matches` in SQL reads it).
    pub fn as_text(&self) -> String {
        match self {
            EventPattern::Any => "*".into(),
            EventPattern::Family(family) => format!("{family}.*"),
            EventPattern::Exact(exact) => exact.as_str().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_has_a_family() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(*t));
            assert!(!t.family().is_empty() && !t.family().contains('.'));
        }
    }

    #[test]
    fn patterns_match_exact_types_families_and_everything() {
        let family = EventPattern::parse("order.*").expect("family");
        assert!(family.matches(EventType::OrderPlaced));
        assert!(!family.matches(EventType::PaymentFailed));
        assert!(EventPattern::parse("*").expect("any").matches(EventType::StockLow));
        let exact = EventPattern::parse("refund.created").expect("exact");
        assert!(exact.matches(EventType::RefundCreated) && !exact.matches(EventType::PaymentSucceeded));
        assert_eq!(family.as_text(), "order.*");
    }

    #[test]
    fn patterns_naming_nothing_are_refused() {
        for text in ["orders.*", "order.shipped", "", ".*", "order.", "*.*", "ORDER.PLACED"] {
            assert_eq!(EventPattern::parse(text), None, "{text}");
        }
    }

    #[test]
    fn a_key_reads_only_the_event_families_it_holds() {
        use crate::domain::access::{Level, Scope};
        let orders = Grant::of(&[Scope::new(Family::Orders, Level::Read)]);
        let texts = |patterns: Vec<EventPattern>| patterns.iter().map(EventPattern::as_text).collect::<Vec<_>>();
        assert_eq!(texts(EventPattern::Any.readable(orders)), ["order.*"]);
        assert_eq!(texts(EventPattern::parse("payment.*").unwrap().readable(orders)), Vec::<String>::new());
        assert_eq!(texts(EventPattern::parse("order.placed").unwrap().readable(orders)), ["order.placed"]);
        let all = Grant::of(&Scope::all());
        assert_eq!(texts(EventPattern::Any.readable(all)), ["*"]);
        let payments = Grant::of(&[Scope::new(Family::Payments, Level::Write)]);
        assert_eq!(texts(EventPattern::Any.readable(payments)), ["payment.*", "refund.*", "subscription.*"]);
    }
}
