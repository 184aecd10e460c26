//! The client's MongoDB document as a domain type, the client's activity (orders and
//! enrollments at a glance), and the pure merge of both stores into the complete client view.

use crate::domain::client::Client;
use crate::domain::companies::Company;
use crate::domain::ids::{CommentId, EnrollmentId, OrderId, WorkshopId};
use crate::domain::interests::Interest;
use crate::domain::money::Money;
use crate::domain::orders::OrderStatus;
use crate::domain::workshops::EnrollmentStatus;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    pub id: CommentId,
    pub text: String,
    pub created_at: DateTime<Utc>,
}

/// Flexible client info (MongoDB `client_info`). `comments` may hold only the newest ones;
/// `comments_count` always counts all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientInfo {
    pub comments: Vec<Comment>,
    pub comments_count: i64,
    pub preferences: Map<String, Value>,
    pub attributes: Map<String, Value>,
    pub tags: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// Which free-form map of the document an operation addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InfoMap {
    Preferences,
    Attributes,
}

impl InfoMap {
    pub fn field(self) -> &'static str {
        match self {
            InfoMap::Preferences => "preferences",
            InfoMap::Attributes => "attributes",
        }
    }
}

/// Preferences or attributes as stored, with the revision of their document: the tag `If-Match`
/// names (it moves with every change of the document, so at least with every change of the map).
#[derive(Debug, Clone, PartialEq)]
pub struct InfoMapValue {
    pub map: Map<String, Value>,
    pub rev: i64,
}

impl super::precondition::Tagged for InfoMapValue {
    fn tag(&self) -> String {
        self.rev.to_string()
    }
}

impl From<InfoMapValue> for Map<String, Value> {
    fn from(value: InfoMapValue) -> Self {
        value.map
    }
}

/// What the MongoDB side of a read produced.
#[derive(Debug, Clone, PartialEq)]
pub enum InfoLookup {
    Found(ClientInfo),
    /// MongoDB answered, but the client has no document: it was lost (every client gets one when
    /// it is created). Shown as such, never as empty data; reconcile recreates it.
    Missing,
    /// MongoDB did not answer in time; the reason is shown to the caller.
    Unavailable(String),
}

text_enum!(
    /// Where the client's MongoDB part stands in a view: `present`; `missing` (MongoDB answered
    /// but holds no document for the client — reconcile recreates an empty one); `unavailable`
    /// (MongoDB did not answer; the view is degraded).
    InfoStatus { Present => "present", Missing => "missing", Unavailable => "unavailable" }
);

/// Marks a view that could only be answered in part.
#[derive(Debug, Clone, PartialEq)]
pub struct Degraded {
    pub missing: Vec<&'static str>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClientView {
    pub client: Client,
    pub company: Option<Company>,
    pub interests: Vec<Interest>,
    /// Orders and enrollments at a glance (PostgreSQL).
    pub activity: ClientActivity,
    pub info: Option<ClientInfo>,
    pub info_status: InfoStatus,
    pub degraded: Option<Degraded>,
}

/// Merges the PostgreSQL part and the MongoDB lookup into one view.
pub fn merge_view(
    client: Client,
    company: Option<Company>,
    interests: Vec<Interest>,
    activity: ClientActivity,
    info: InfoLookup,
) -> ClientView {
    let (info, info_status, degraded) = match info {
        InfoLookup::Found(info) => (Some(info), InfoStatus::Present, None),
        InfoLookup::Missing => (None, InfoStatus::Missing, None),
        InfoLookup::Unavailable(reason) => {
            (None, InfoStatus::Unavailable, Some(Degraded { missing: vec!["info"], reason }))
        }
    };
    ClientView { client, company, interests, activity, info, info_status, degraded }
}

/// The client's commerce at a glance, for the complete client view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientActivity {
    /// All orders, cancelled ones included.
    pub order_count: i64,
    /// Sum of the totals of orders that are not cancelled or refunded.
    pub total_spent: Money,
    /// What those orders still owe.
    pub orders_owed: Money,
    /// Succeeded payments (orders, enrollments, subscriptions) less refunds.
    pub total_paid: Money,
    pub last_order: Option<OrderSummary>,
    /// Live enrollments in workshops that have not started, soonest first.
    pub upcoming_workshops: Vec<EnrollmentSummary>,
    /// Enrollments not fully paid (the client's debts), oldest first.
    pub unpaid_enrollments: Vec<EnrollmentSummary>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderSummary {
    pub id: OrderId,
    pub status: OrderStatus,
    pub total: Money,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnrollmentSummary {
    pub enrollment_id: EnrollmentId,
    pub workshop_id: WorkshopId,
    pub workshop_name: String,
    pub starts_at: DateTime<Utc>,
    pub status: EnrollmentStatus,
    pub balance: Money,
}

impl ClientActivity {
    /// The summary from its parts: live enrollments split into those in workshops that have not
    /// started at `now` (soonest first) and those not fully paid (oldest first).
    pub fn new(
        order_count: i64,
        total_spent: Money,
        last_order: Option<OrderSummary>,
        open_enrollments: Vec<EnrollmentSummary>,
        now: DateTime<Utc>,
    ) -> Self {
        let mut unpaid_enrollments: Vec<EnrollmentSummary> =
            open_enrollments.iter().filter(|e| EnrollmentStatus::UNPAID.contains(&e.status)).cloned().collect();
        unpaid_enrollments.sort_by_key(|e| e.enrollment_id);
        let mut upcoming_workshops: Vec<EnrollmentSummary> =
            open_enrollments.into_iter().filter(|e| e.starts_at > now).collect();
        upcoming_workshops.sort_by_key(|e| (e.starts_at, e.enrollment_id));
        ClientActivity {
            order_count,
            total_spent,
            orders_owed: Money::ZERO,
            total_paid: Money::ZERO,
            last_order,
            upcoming_workshops,
            unpaid_enrollments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::client::{ClientKind, Plan, PlanStatus};
    use crate::domain::ids::ClientId;

    fn client() -> Client {
        Client {
            id: ClientId::new(),
            name: "Ada".into(),
            email: "ada@example.com".into(),
            phone: None,
            kind: ClientKind::B2c,
            company_id: None,
            interest_ids: vec![],
            plan: Plan::Basic,
            plan_status: PlanStatus::Active,
            paid_until: None,
            active: true,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn a_found_document_is_merged_without_degradation() {
        let info = ClientInfo { tags: vec!["vip".into()], comments_count: 2, ..Default::default() };
        let view = merge_view(client(), None, vec![], ClientActivity::default(), InfoLookup::Found(info.clone()));
        assert_eq!(view.info, Some(info));
        assert_eq!(view.info_status, InfoStatus::Present);
        assert_eq!(view.degraded, None);
    }

    #[test]
    fn a_missing_document_is_stated_not_shown_as_empty_info() {
        let view = merge_view(client(), None, vec![], ClientActivity::default(), InfoLookup::Missing);
        assert_eq!(view.info, None);
        assert_eq!(view.info_status, InfoStatus::Missing);
        assert_eq!(view.degraded, None);
    }

    #[test]
    fn an_unavailable_store_degrades_the_view_and_names_what_is_missing() {
        let view =
            merge_view(client(), None, vec![], ClientActivity::default(), InfoLookup::Unavailable("timeout".into()));
        assert_eq!(view.info, None);
        let degraded = view.degraded.expect("view is degraded");
        assert_eq!(degraded.missing, vec!["info"]);
        assert_eq!(degraded.reason, "timeout");
    }
}
