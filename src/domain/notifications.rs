//! Notifications: which event sends which message, the messages themselves, and whether a
//! client's preferences let it be sent. Rendering works on the events' data (the resources as
//! the API shows them), so a message says what the client would see in the API.

use crate::domain::access::Family;
use crate::domain::events::EventType;
use crate::domain::ids::{ClientId, NotificationId};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

text_enum!(
    /// The message a notification sends.
    Template {
        Welcome => "welcome",
        OrderConfirmation => "order_confirmation",
        PaymentReceipt => "payment_receipt",
        PaymentFailed => "payment_failed",
        EnrollmentConfirmed => "enrollment_confirmed",
        WorkshopReminder => "workshop_reminder",
        Cancellation => "cancellation",
        PaymentReminder => "payment_reminder",
    }
);

text_enum!(
    /// `pending` (queued, or waiting for a retry), `sending` (an attempt is under way), `sent`,
    /// `failed` (every attempt failed), `skipped` (the client does not want it; `reason` says so).
    NotificationStatus { Pending => "pending", Sending => "sending", Sent => "sent", Failed => "failed", Skipped => "skipped" }
);

text_enum!(
    /// `smtp` when `SMTP_URL` is set; otherwise `log` (the message is written to the server log).
    Transport { Smtp => "smtp", Log => "log" }
);

impl Template {
    /// The families whose data the message shows (order lines, amounts, workshops): a key reads
    /// its subject and text only with all of them.
    pub fn scope_families(self) -> &'static [Family] {
        match self {
            Template::Welcome => &[],
            Template::OrderConfirmation => &[Family::Orders],
            Template::PaymentReceipt | Template::PaymentFailed => &[Family::Payments],
            Template::EnrollmentConfirmed | Template::WorkshopReminder => &[Family::Workshops],
            Template::Cancellation => &[Family::Orders, Family::Workshops],
            Template::PaymentReminder => &[Family::Workshops, Family::Payments],
        }
    }

    /// The message an event sends, if any.
    pub fn for_event(event: EventType) -> Option<Template> {
        Some(match event {
            EventType::ClientCreated => Template::Welcome,
            EventType::OrderPlaced => Template::OrderConfirmation,
            EventType::PaymentSucceeded => Template::PaymentReceipt,
            EventType::PaymentFailed => Template::PaymentFailed,
            EventType::EnrollmentCreated => Template::EnrollmentConfirmed,
            EventType::OrderCancelled | EventType::EnrollmentCancelled => Template::Cancellation,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: NotificationId,
    pub client_id: ClientId,
    pub template: Template,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: NotificationStatus,
    pub transport: Option<Transport>,
    /// Why it was skipped, or the last error.
    pub reason: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A message ready to be queued.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub subject: String,
    pub body: String,
}

fn text<'a>(data: &'a Value, key: &str) -> &'a str {
    data.get(key).and_then(Value::as_str).unwrap_or("")
}

/// Renders `template` for a client called `name`. `data` is the triggering resource as the API
/// shows it; `workshop` the workshop it concerns (enrollment messages), as the API shows it.
pub fn render(template: Template, name: &str, data: &Value, workshop: Option<&Value>) -> Message {
    let workshop_name = workshop.map(|w| text(w, "name")).unwrap_or("your workshop");
    let starts = workshop.map(|w| text(w, "starts_at")).unwrap_or("");
    let (subject, lines): (String, Vec<String>) = match template {
        Template::Welcome => (
            "Welcome to Hybrid CRM".into(),
            vec!["Thank you for joining us. You will hear from us about your orders and workshops.".into()],
        ),
        Template::OrderConfirmation => {
            let items = data.get("items").and_then(Value::as_array).cloned().unwrap_or_default();
            let mut lines = vec![format!("We received your order {}:", text(data, "id"))];
            lines.extend(items.iter().map(|item| {
                format!(
                    "  {} x {} - {}",
                    item.get("quantity").and_then(Value::as_i64).unwrap_or(0),
                    text(item, "product_name"),
                    text(item, "line_total")
                )
            }));
            lines.push(format!("Total: {}", text(data, "total")));
            (format!("Order confirmation {}", text(data, "id")), lines)
        }
        Template::PaymentReceipt => (
            format!("Payment receipt: {}", text(data, "amount")),
            vec![
                format!("We received your payment of {} by {}.", text(data, "amount"), text(data, "method")),
                format!("Payment reference: {}", text(data, "id")),
            ],
        ),
        Template::PaymentFailed => (
            "Your payment did not go through".into(),
            vec![
                format!(
                    "Your payment of {} could not be completed: {}.",
                    text(data, "amount"),
                    text(data, "failure_message")
                ),
                "No money was taken. You can try again with another card.".into(),
            ],
        ),
        Template::EnrollmentConfirmed => (
            format!("You are enrolled: {workshop_name}"),
            vec![
                format!("Your seat at {workshop_name} ({starts}) is reserved."),
                format!("Price: {}. Still to pay: {}.", text(data, "price"), text(data, "balance")),
            ],
        ),
        Template::WorkshopReminder => (
            format!("Tomorrow: {workshop_name}"),
            vec![format!("A reminder that {workshop_name} starts at {starts}. We look forward to seeing you.")],
        ),
        Template::Cancellation => {
            let what = if data.get("workshop_id").is_some() {
                format!("your enrollment in {workshop_name}")
            } else {
                format!("your order {}", text(data, "id"))
            };
            (format!("Cancelled: {what}"), vec![format!("We have cancelled {what}.")])
        }
        Template::PaymentReminder => (
            format!("Payment reminder: {workshop_name}"),
            vec![
                format!("{workshop_name} starts at {starts}."),
                format!("{} of {} is still to be paid for your seat.", text(data, "balance"), text(data, "price")),
            ],
        ),
    };
    let body = format!("Hello {name},\n\n{}\n\nHybrid CRM\n", lines.join("\n"));
    Message { subject, body }
}

/// Why the client's preferences refuse this message, if they do: `notifications: false`, or an
/// object of booleans whose `email` or the template's own key is `false`.
pub fn refusal(preferences: &Map<String, Value>, template: Template) -> Option<String> {
    match preferences.get("notifications") {
        Some(Value::Bool(false)) => Some("the client's preferences say notifications: false".into()),
        Some(Value::Object(choices)) => ["email", template.as_str()]
            .into_iter()
            .find(|key| choices.get(*key) == Some(&Value::Bool(false)))
            .map(|key| format!("the client's preferences say notifications.{key}: false")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn prefs(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn preferences_can_refuse_everything_email_or_one_template() {
        assert!(refusal(&prefs(json!({"notifications": false})), Template::Welcome).is_some());
        assert!(refusal(&prefs(json!({"notifications": {"email": false}})), Template::Welcome).is_some());
        assert!(
            refusal(&prefs(json!({"notifications": {"payment_reminder": false}})), Template::PaymentReminder).is_some()
        );
        assert!(refusal(&prefs(json!({"notifications": {"payment_reminder": false}})), Template::Welcome).is_none());
        assert!(refusal(&prefs(json!({"notifications": true})), Template::Welcome).is_none());
        assert!(refusal(&prefs(json!({})), Template::Welcome).is_none());
    }

    #[test]
    fn an_order_confirmation_lists_the_lines_and_the_total() {
        let order = json!({"id": "o-1", "total": "49.80",
                           "items": [{"product_name": "Plane", "quantity": 2, "line_total": "49.80"}]});
        let message = render(Template::OrderConfirmation, "Ada", &order, None);
        assert_eq!(message.subject, "Order confirmation o-1");
        assert!(message.body.starts_with("Hello Ada,"));
        assert!(message.body.contains("2 x Plane - 49.80") && message.body.contains("Total: 49.80"));
    }

    #[test]
    fn every_event_that_notifies_names_a_template() {
        let notifying: Vec<_> = EventType::ALL.iter().filter_map(|t| Template::for_event(*t)).collect();
        assert_eq!(notifying.len(), 7);
    }
}
