//! Client enumerations and their textual forms (stored as TEXT with CHECK constraints).

text_enum!(
    /// `b2c`: a person buying for themself; `b2b`: someone buying for a company (requires one).
    ClientKind { B2c => "b2c", B2b => "b2b" }
);
text_enum!(
    /// The client's subscription plan.
    Plan { Basic => "basic", Premium => "premium", Enterprise => "enterprise" }
);
text_enum!(
    /// Where the plan's billing stands.
    PlanStatus { Trial => "trial", Active => "active", PastDue => "past_due", Cancelled => "cancelled" }
);

/// The company rule's words: where and how the API states it (requests, the use case and the
/// database constraint's problem all say the same).
pub const COMPANY_REQUIRED: (&str, &str, &str) = ("company_id", "required_for_b2b", "b2b clients need a company");

/// A b2b client buys for a company, so it needs one; the one place the rule is decided.
pub fn company_issue(kind: ClientKind, company_id: Option<crate::domain::ids::CompanyId>) -> Option<FieldIssue> {
    let (field, code, message) = COMPANY_REQUIRED;
    (kind == ClientKind::B2b && company_id.is_none()).then(|| FieldIssue::new(field, code, message))
}

use crate::domain::free_form::FieldIssue;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_b2b_client_without_a_company_breaks_the_company_rule() {
        let company = Some(crate::domain::ids::CompanyId::new());
        assert!(company_issue(ClientKind::B2b, None).is_some_and(|issue| issue.field == "company_id"));
        assert_eq!(company_issue(ClientKind::B2b, company), None);
        assert_eq!(company_issue(ClientKind::B2c, None), None);
    }

    #[test]
    fn every_variant_round_trips_through_its_text() {
        for kind in ClientKind::ALL {
            assert_eq!(ClientKind::parse(kind.as_str()), Some(*kind));
        }
        for plan in Plan::ALL {
            assert_eq!(Plan::parse(plan.as_str()), Some(*plan));
        }
        for status in PlanStatus::ALL {
            assert_eq!(PlanStatus::parse(status.as_str()), Some(*status));
        }
        assert_eq!(Plan::parse("gold"), None);
    }

    #[test]
    fn serde_names_match_the_stored_text() {
        assert_eq!(serde_json::to_string(&PlanStatus::PastDue).unwrap(), "\"past_due\"");
        assert_eq!(serde_json::to_string(&ClientKind::B2b).unwrap(), "\"b2b\"");
    }
}

pub use records::*;

/// Orders of `GET /clients`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientSort {
    #[default]
    CreatedAt,
    CreatedAtDesc,
    Name,
    NameDesc,
}

/// Filters of `GET /clients`; `search` matches name or email, ignoring case.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientFilter {
    pub kind: Option<ClientKind>,
    pub plan: Option<Plan>,
    pub company_id: Option<crate::domain::ids::CompanyId>,
    pub interest_id: Option<crate::domain::ids::InterestId>,
    pub active: Option<bool>,
    pub search: Option<String>,
}

mod records {
    use super::{ClientKind, Plan, PlanStatus};
    use crate::domain::ids::{ClientId, CompanyId, InterestId};
    use chrono::{DateTime, Utc};

    #[derive(Debug, Clone, PartialEq)]
    pub struct Client {
        pub id: ClientId,
        pub name: String,
        pub email: String,
        pub phone: Option<String>,
        pub kind: ClientKind,
        pub company_id: Option<CompanyId>,
        pub interest_ids: Vec<InterestId>,
        pub plan: Plan,
        pub plan_status: PlanStatus,
        /// The end of the period the client's subscription paid for.
        pub paid_until: Option<DateTime<Utc>>,
        pub active: bool,
        pub version: i32,
        pub created_at: DateTime<Utc>,
        pub updated_at: DateTime<Utc>,
    }

    /// A new client: the PostgreSQL record and the initial content of its MongoDB document.
    #[derive(Debug, Clone, PartialEq)]
    pub struct NewClient {
        pub name: String,
        pub email: String,
        pub phone: Option<String>,
        pub kind: ClientKind,
        pub company_id: Option<CompanyId>,
        pub interest_ids: Vec<InterestId>,
        pub plan: Plan,
        pub plan_status: PlanStatus,
        pub active: bool,
        pub preferences: serde_json::Map<String, serde_json::Value>,
        pub attributes: serde_json::Map<String, serde_json::Value>,
        pub tags: Vec<String>,
    }

    impl NewClient {
        /// A person buying for themselves, on the basic plan, with an empty document: what a
        /// customer's registration creates.
        pub fn b2c(name: &str, email: &str) -> NewClient {
            NewClient {
                name: name.to_string(),
                email: email.to_string(),
                phone: None,
                kind: ClientKind::B2c,
                company_id: None,
                interest_ids: Vec::new(),
                plan: Plan::Basic,
                plan_status: PlanStatus::Active,
                active: true,
                preferences: Default::default(),
                attributes: Default::default(),
                tags: Vec::new(),
            }
        }
    }

    #[derive(Debug, Clone, Default, PartialEq)]
    pub struct ClientChanges {
        pub name: Option<String>,
        pub email: Option<String>,
        pub phone: Option<Option<String>>,
        pub kind: Option<ClientKind>,
        pub company_id: Option<Option<CompanyId>>,
        /// Replaces the client's interests when present.
        pub interest_ids: Option<Vec<InterestId>>,
        pub plan: Option<Plan>,
        pub plan_status: Option<PlanStatus>,
        pub active: Option<bool>,
    }
}
