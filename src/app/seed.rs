//! Demo data: companies, interests and clients with comments, preferences and attributes.
//! Deterministic (the same N gives the same data) and idempotent: clients are keyed by email,
//! so a second run adds only what is missing. `reset` empties both stores first.

use super::{AppError, AppResult, AppState};
use crate::domain::ids::{ClientId, CommentId, CompanyId, InterestId};
use crate::domain::view::Comment;
use crate::store::pg::models::{NewClient, NewClientInterest, NewCompany, NewInterest};
use crate::store::pg::seed as repo;
use futures_util::{stream, StreamExt, TryStreamExt};
use serde_json::{json, Map, Value};
use uuid::Uuid;

const FIRST: &[&str] = &[
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Donald",
    "Sophie",
    "Tim",
    "Katherine",
    "John",
    "Hedy",
    "Guido",
    "Annie",
    "Bjarne",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Knuth",
    "Wilson",
    "Berners-Lee",
    "Johnson",
    "McCarthy",
    "Lamarr",
    "van Rossum",
    "Easley",
    "Stroustrup",
];
const INTERESTS: &[(&str, &str)] = &[
    ("Woodworking", "Hand tools, joinery and finishing"),
    ("Ceramics", "Wheel throwing and glazing"),
    ("Photography", "Cameras, light and composition"),
    ("Cooking", "Techniques and regional cuisines"),
    ("Gardening", "Vegetables, herbs and soil"),
    ("Electronics", "Soldering, microcontrollers and kits"),
    ("Textiles", "Sewing, weaving and dyeing"),
    ("Painting", "Watercolour, acrylics and oils"),
    ("Leathercraft", "Cutting, stitching and tooling"),
    ("Baking", "Bread, pastry and sourdough"),
    ("Robotics", "Motors, sensors and code"),
    ("Calligraphy", "Lettering with brush and nib"),
];
const COMPANIES: usize = 20;
const COMMENTS: &[&str] = &[
    "Asked about the next woodworking workshop.",
    "Prefers to be contacted in the afternoon.",
    "Bought a starter kit for a colleague.",
    "Interested in a group discount for the team.",
    "Reported a late delivery; resolved with a voucher.",
    "Wants invoices sent to the finance address.",
];

/// Small deterministic generator (SplitMix64): the same seed gives the same demo data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub companies: usize,
    pub interests: usize,
    pub clients_added: usize,
}

/// id, name, email, phone, is b2b, company, plan, plan status, active.
type ClientRowSeed = (Uuid, String, String, Option<String>, bool, Option<Uuid>, &'static str, &'static str, bool);
/// client, preferences, attributes, tags, comments.
type DocumentSeed = (ClientId, Map<String, Value>, Map<String, Value>, Vec<String>, Vec<Comment>);

struct DemoClient {
    id: Uuid,
    name: String,
    email: String,
    phone: Option<String>,
    b2b: bool,
    company: usize,
    plan: &'static str,
    plan_status: &'static str,
    active: bool,
    interests: Vec<usize>,
}

pub async fn run(state: &AppState, clients: usize, reset: bool) -> AppResult<SeedReport> {
    if reset {
        state.db.run(|conn| Ok::<_, AppError>(repo::reset(conn)?)).await?;
        state.info.drop_collection().await?;
        state.info.ensure_indexes().await?;
    }

    let (companies, interests) = state
        .db
        .run(|conn| {
            let company_names: Vec<(String, String, String)> = (0..COMPANIES)
                .map(|i| {
                    (
                        format!("{} {} Ltd.", LAST[i % LAST.len()], ["Tools", "Crafts", "Labs", "Works"][i % 4]),
                        format!("TAX-{:06}", 100_000 + i),
                        format!("{} Market Street, Springfield", 10 + i),
                    )
                })
                .collect();
            let new_companies: Vec<NewCompany> = company_names
                .iter()
                .map(|(name, tax, address)| NewCompany {
                    id: CompanyId::new().0,
                    legal_name: name,
                    tax_id: tax,
                    address: Some(address),
                    phone: Some("+1 555 0100 200"),
                })
                .collect();
            let new_interests: Vec<NewInterest> = INTERESTS
                .iter()
                .map(|(name, description)| NewInterest {
                    id: InterestId::new().0,
                    name,
                    description: Some(description),
                })
                .collect();
            Ok::<_, AppError>((
                repo::upsert_companies(conn, &new_companies)?,
                repo::upsert_interests(conn, &new_interests)?,
            ))
        })
        .await?;

    let mut rng = Rng(0x5EED);
    let demo: Vec<DemoClient> = (0..clients)
        .map(|i| {
            let (first, last) = (FIRST[rng.below(FIRST.len())], LAST[rng.below(LAST.len())]);
            let b2b = rng.chance(30);
            let plan = ["basic", "basic", "basic", "premium", "premium", "enterprise"][rng.below(6)];
            let interest_count = rng.below(4);
            DemoClient {
                id: ClientId::new().0,
                name: format!("{first} {last}"),
                email: format!("{}.{}.{i}@example.com", first.to_lowercase(), last.to_lowercase().replace(' ', "")),
                phone: rng.chance(80).then(|| format!("+1 555 {:04} {:03}", rng.below(10_000), rng.below(1_000))),
                b2b,
                company: rng.below(companies.len().max(1)),
                plan,
                plan_status: ["active", "active", "active", "trial", "past_due"][rng.below(5)],
                active: rng.chance(92),
                interests: (0..interest_count).map(|_| rng.below(interests.len().max(1))).collect(),
            }
        })
        .collect();

    let company_ids: Vec<Uuid> = companies.iter().map(|c| c.id).collect();
    let interest_ids: Vec<Uuid> = interests.iter().map(|i| i.id).collect();
    let rows: Vec<ClientRowSeed> = demo
        .iter()
        .map(|c| {
            let company = (c.b2b && !company_ids.is_empty()).then(|| company_ids[c.company]);
            (
                c.id,
                c.name.clone(),
                c.email.clone(),
                c.phone.clone(),
                company.is_some(),
                company,
                c.plan,
                c.plan_status,
                c.active,
            )
        })
        .collect();
    let links: Vec<NewClientInterest> = demo
        .iter()
        .flat_map(|c| {
            c.interests
                .iter()
                .filter_map(|&i| interest_ids.get(i))
                .map(move |&interest_id| NewClientInterest { client_id: c.id, interest_id })
        })
        .collect();
    let inserted = state
        .db
        .run(move |conn| {
            let new: Vec<NewClient> = rows
                .iter()
                .map(|(id, name, email, phone, b2b, company, plan, status, active)| NewClient {
                    id: *id,
                    name,
                    email,
                    phone: phone.as_deref(),
                    kind: if *b2b { "b2b" } else { "b2c" },
                    company_id: *company,
                    plan,
                    plan_status: status,
                    active: *active,
                })
                .collect();
            Ok::<_, AppError>(repo::insert_clients(conn, &new, &links)?)
        })
        .await?;

    let fresh: std::collections::HashSet<Uuid> = inserted.iter().copied().collect();
    let documents: Vec<DocumentSeed> = demo
        .iter()
        .filter(|c| fresh.contains(&c.id))
        .map(|c| {
            let mut rng = Rng(c.id.as_u128() as u64);
            let language = ["en", "es", "pt-BR", "fr", "de"][rng.below(5)];
            let payment_method = ["card", "bank_transfer", "cash", "paypal"][rng.below(4)];
            let source = ["web", "store", "referral", "fair"][rng.below(4)];
            let preferences = json!({
                "language": language,
                "payment_method": payment_method,
                "notifications": { "email": rng.chance(80), "sms": rng.chance(30) },
            });
            let attributes = json!({ "source": source, "newsletter": rng.chance(60) });
            let tags: Vec<String> = ["vip", "early_adopter", "wholesale", "teacher"]
                .iter()
                .filter(|_| rng.chance(20))
                .map(|t| t.to_string())
                .collect();
            let comments: Vec<Comment> = (0..rng.below(4))
                .map(|_| Comment {
                    id: CommentId::new(),
                    text: COMMENTS[rng.below(COMMENTS.len())].to_string(),
                    created_at: chrono::Utc::now(),
                })
                .collect();
            let as_map = |v: Value| v.as_object().cloned().unwrap_or_default();
            (ClientId(c.id), as_map(preferences), as_map(attributes), tags, comments)
        })
        .collect();
    let info = state.info.clone();
    stream::iter(documents)
        .map(|(id, preferences, attributes, tags, comments)| {
            let info = info.clone();
            async move { info.create(id, &preferences, &attributes, &tags, &comments).await }
        })
        .buffer_unordered(32)
        .try_collect::<Vec<()>>()
        .await?;

    Ok(SeedReport { companies: companies.len(), interests: interests.len(), clients_added: inserted.len() })
}
