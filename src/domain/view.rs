//! The client's MongoDB document as a domain type, and the pure merge of both stores into the
//! complete client view.

use crate::domain::client::{Client, Company, Interest};
use crate::domain::ids::CommentId;
use crate::domain::workshops::ClientActivity;
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

/// What the MongoDB side of a read produced.
#[derive(Debug, Clone, PartialEq)]
pub enum InfoLookup {
    Found(ClientInfo),
    /// The client has no document yet: a valid, empty state (documents are created lazily).
    Missing,
    /// MongoDB did not answer in time; the reason is shown to the caller.
    Unavailable(String),
}

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
    let (info, degraded) = match info {
        InfoLookup::Found(info) => (Some(info), None),
        InfoLookup::Missing => (Some(ClientInfo::default()), None),
        InfoLookup::Unavailable(reason) => (None, Some(Degraded { missing: vec!["info"], reason })),
    };
    ClientView { client, company, interests, activity, info, degraded }
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
        assert_eq!(view.degraded, None);
    }

    #[test]
    fn a_missing_document_reads_as_empty_info() {
        let view = merge_view(client(), None, vec![], ClientActivity::default(), InfoLookup::Missing);
        assert_eq!(view.info, Some(ClientInfo::default()));
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
