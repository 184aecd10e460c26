//! Response bodies. Domain types are mapped here; database rows never reach a response.

use crate::app::stats::ClientStats;
use crate::domain::client::{Client, ClientKind, Company, Interest, Plan, PlanStatus};
use crate::domain::page::Page;
use crate::domain::view::{ClientInfo, ClientView, Comment, Degraded};
use crate::domain::workshops::ClientActivity;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// One page of a list. Pass `next_cursor` as `cursor` to get the next page; `null` means last.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageOf<T: ToSchema> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: ToSchema> PageOf<T> {
    pub fn from_page<D>(page: Page<D>, map: impl FnMut(D) -> T) -> Self {
        PageOf { items: page.items.into_iter().map(map).collect(), next_cursor: page.next_cursor }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyResponse {
    pub id: Uuid,
    #[schema(example = "Acme Tools S.A.")]
    pub legal_name: String,
    #[schema(example = "30-71234567-9")]
    pub tax_id: String,
    pub address: Option<String>,
    pub phone: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Company> for CompanyResponse {
    fn from(c: Company) -> Self {
        CompanyResponse {
            id: c.id.0,
            legal_name: c.legal_name,
            tax_id: c.tax_id,
            address: c.address,
            phone: c.phone,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InterestResponse {
    pub id: Uuid,
    #[schema(example = "Woodworking")]
    pub name: String,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Interest> for InterestResponse {
    fn from(i: Interest) -> Self {
        InterestResponse {
            id: i.id.0,
            name: i.name,
            description: i.description,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientResponse {
    pub id: Uuid,
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    #[schema(example = "ada@example.com")]
    pub email: String,
    pub phone: Option<String>,
    pub kind: ClientKind,
    pub company_id: Option<Uuid>,
    pub interest_ids: Vec<Uuid>,
    pub plan: Plan,
    pub plan_status: PlanStatus,
    pub active: bool,
    /// Increases with every change; sent as the `ETag` and expected back in `If-Match`.
    #[schema(example = 1)]
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Client> for ClientResponse {
    fn from(c: Client) -> Self {
        ClientResponse {
            id: c.id.0,
            name: c.name,
            email: c.email,
            phone: c.phone,
            kind: c.kind,
            company_id: c.company_id.map(|id| id.0),
            interest_ids: c.interest_ids.into_iter().map(|id| id.0).collect(),
            plan: c.plan,
            plan_status: c.plan_status,
            active: c.active,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommentResponse {
    pub id: Uuid,
    #[schema(example = "Asked about the spring woodworking workshop.")]
    pub text: String,
    pub created_at: DateTime<Utc>,
}

impl From<Comment> for CommentResponse {
    fn from(c: Comment) -> Self {
        CommentResponse { id: c.id.0, text: c.text, created_at: c.created_at }
    }
}

/// The client's MongoDB document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientInfoResponse {
    /// The newest comments (up to 10); page through all with `/clients/{id}/comments`.
    pub recent_comments: Vec<CommentResponse>,
    pub comments_count: i64,
    #[schema(value_type = Object, example = json!({"language": "en", "payment_method": "card", "notifications": {"email": true}}))]
    pub preferences: Map<String, Value>,
    #[schema(value_type = Object, example = json!({"shirt_size": "M"}))]
    pub attributes: Map<String, Value>,
    pub tags: Vec<String>,
    /// `null` until the client's document exists.
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<ClientInfo> for ClientInfoResponse {
    fn from(info: ClientInfo) -> Self {
        ClientInfoResponse {
            recent_comments: info.comments.into_iter().map(Into::into).collect(),
            comments_count: info.comments_count,
            preferences: info.preferences,
            attributes: info.attributes,
            tags: info.tags,
            created_at: info.created_at,
            updated_at: info.updated_at,
        }
    }
}

/// Present when part of the answer could not be read; names the missing parts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DegradedResponse {
    #[schema(example = json!(["info"]))]
    pub missing: Vec<String>,
    #[schema(example = "MongoDB is unavailable")]
    pub reason: String,
}

impl From<Degraded> for DegradedResponse {
    fn from(d: Degraded) -> Self {
        DegradedResponse { missing: d.missing.into_iter().map(str::to_string).collect(), reason: d.reason }
    }
}

/// The complete client: PostgreSQL record, company and interests, plus the MongoDB document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientViewResponse {
    pub client: ClientResponse,
    pub company: Option<CompanyResponse>,
    pub interests: Vec<InterestResponse>,
    /// Order count, total spent, last order, upcoming workshops and unpaid enrollments.
    pub activity: ClientActivity,
    /// `null` only when the view is degraded.
    pub info: Option<ClientInfoResponse>,
    /// `null` when both stores answered.
    pub degraded: Option<DegradedResponse>,
}

impl From<ClientView> for ClientViewResponse {
    fn from(view: ClientView) -> Self {
        ClientViewResponse {
            client: view.client.into(),
            company: view.company.map(Into::into),
            interests: view.interests.into_iter().map(Into::into).collect(),
            activity: view.activity,
            info: view.info.map(Into::into),
            degraded: view.degraded.map(Into::into),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KindPlanCountResponse {
    pub kind: ClientKind,
    pub plan: Plan,
    pub clients: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentStatsResponse {
    /// Clients whose MongoDB document exists.
    pub clients_with_info_document: i64,
    /// `clients_with_info_document` as a percentage of all clients, two decimals.
    #[schema(example = 99.5)]
    pub info_coverage_percent: f64,
    pub comments_total: i64,
    /// Comments per client, two decimals.
    #[schema(example = 1.5)]
    pub comments_average_per_client: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientStatsResponse {
    pub total_clients: i64,
    #[schema(example = json!({"b2b": 3, "b2c": 7}))]
    pub by_kind: BTreeMap<String, i64>,
    #[schema(example = json!({"basic": 5, "enterprise": 1, "premium": 4}))]
    pub by_plan: BTreeMap<String, i64>,
    pub by_kind_and_plan: Vec<KindPlanCountResponse>,
    /// MongoDB figures; `null` when the stats are degraded.
    pub documents: Option<DocumentStatsResponse>,
    pub degraded: Option<DegradedResponse>,
}

impl From<ClientStats> for ClientStatsResponse {
    fn from(stats: ClientStats) -> Self {
        ClientStatsResponse {
            total_clients: stats.total_clients,
            by_kind: stats.by_kind,
            by_plan: stats.by_plan,
            by_kind_and_plan: stats
                .by_kind_and_plan
                .into_iter()
                .filter_map(|row| {
                    Some(KindPlanCountResponse {
                        kind: ClientKind::parse(&row.kind)?,
                        plan: Plan::parse(&row.plan)?,
                        clients: row.clients,
                    })
                })
                .collect(),
            documents: stats.documents.map(|d| DocumentStatsResponse {
                clients_with_info_document: d.clients_with_info_document,
                info_coverage_percent: d.info_coverage_percent,
                comments_total: d.comments_total,
                comments_average_per_client: d.comments_average_per_client,
            }),
            degraded: stats.degraded.map(Into::into),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreHealth {
    #[schema(example = "postgresql")]
    pub store: String,
    #[schema(example = "up")]
    pub status: String,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` when every store answers, `unavailable` otherwise.
    #[schema(example = "ok")]
    pub status: String,
    pub stores: Vec<StoreHealth>,
}
