//! Demo data: companies, interests and clients with comments, preferences and attributes; then
//! categories, products, workshops, orders and enrollments. Deterministic (the same numbers give
//! the same data) and idempotent: clients are keyed by email, catalog rows by slug or name, and
//! orders and enrollments are added only up to the requested totals. `reset` empties both stores
//! first. Orders and enrollments go through the same rules as the API (stock, seats, history).

use super::{AppError, AppResult, AppState};
use crate::domain::ids::{ClientId, CommentId, CompanyId, InterestId};
use crate::domain::money::Money;
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
    pub products: usize,
    pub workshops: usize,
    pub orders_added: usize,
    pub enrollments_added: usize,
}

/// How much demo data to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedSize {
    pub clients: usize,
    pub products: usize,
    pub orders: usize,
    pub reset: bool,
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

pub async fn run(state: &AppState, size: SeedSize) -> AppResult<SeedReport> {
    let SeedSize { clients, reset, .. } = size;
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

    let commerce = state.db.run(move |conn| commerce(conn, size.products, size.orders)).await?;
    Ok(SeedReport { companies: companies.len(), interests: interests.len(), clients_added: inserted.len(), ..commerce })
}

const CATEGORIES: &[&str] =
    &["Woodworking kits", "Ceramics supplies", "Electronics kits", "Textiles", "Tools", "Books"];
const PRODUCT_WORDS: &[&str] = &["Starter", "Pro", "Classic", "Deluxe", "Mini", "Travel", "Studio", "Family"];
const WORKSHOPS: usize = 12;

/// Catalog, workshops, orders and enrollments, in PostgreSQL only. Orders spread over existing
/// clients (about one in ten is cancelled and gives its stock back; most move along the status
/// machine); enrollments fill upcoming workshops partly, some paid, some partly paid.
fn commerce(conn: &mut diesel::PgConnection, products: usize, orders: usize) -> AppResult<SeedReport> {
    use super::{orders as order_rules, workshops as workshop_rules};
    use crate::domain::catalog::MovementKind;
    use crate::domain::orders::{CouponKind, OrderStatus, PaymentMethod};
    use crate::store::pg::models::{CategoryRow, CouponRow, ProductRow, WorkshopRow};
    use diesel::Connection;
    let now = super::now();
    let mut rng = Rng(0xC0FFEE);

    let category_rows: Vec<CategoryRow> = CATEGORIES
        .iter()
        .map(|name| CategoryRow {
            id: crate::domain::ids::CategoryId::new().0,
            name: name.to_string(),
            slug: super::validation::slugify(name),
            description: None,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let category_ids = repo::upsert_categories(conn, &category_rows)?;
    let product_rows: Vec<ProductRow> = (0..products)
        .map(|i| {
            let category = category_ids[i % category_ids.len()];
            let word = PRODUCT_WORDS[rng.below(PRODUCT_WORDS.len())];
            let cents = 500 + rng.below(20_000) as i64;
            let reorder_point = 5 + rng.below(20) as i32;
            ProductRow {
                id: crate::domain::ids::ProductId::new().0,
                category_id: Some(category),
                name: format!("{word} kit {i:04}"),
                slug: format!("kit-{i:04}"),
                description: Some(format!("{word} kit number {i}")),
                price: Money::from_cents(cents).amount(),
                stock: 50 + rng.below(500) as i32,
                reorder_point,
                active: rng.chance(95),
                created_at: now,
                updated_at: now,
            }
        })
        .collect();
    let initial =
        |id, stock| super::catalog::movement(id, MovementKind::In, stock, stock, stock, "initial stock", None);
    let product_ids = repo::upsert_products(conn, &product_rows, initial)?;

    let coupon = |code: &str, kind: CouponKind, cents: i64, min_cents: i64| CouponRow {
        id: crate::domain::ids::CouponId::new().0,
        code: code.to_string(),
        description: Some("Demo coupon".into()),
        kind: kind.as_str().to_string(),
        value: Money::from_cents(cents).amount(),
        valid_from: None,
        valid_until: None,
        min_order_amount: Money::from_cents(min_cents).amount(),
        max_redemptions: None,
        redemptions: 0,
        once_per_client: false,
        active: true,
        created_at: now,
        updated_at: now,
    };
    repo::upsert_coupons(
        conn,
        &[
            coupon("WELCOME10", CouponKind::Percentage, 1_000, 0),
            coupon("FIVEOFF", CouponKind::FixedAmount, 500, 3_000),
        ],
    )?;

    let interest_ids = repo::interest_ids(conn)?;
    let workshop_rows: Vec<WorkshopRow> = (0..WORKSHOPS)
        .map(|i| {
            let online = i % 3 == 0;
            WorkshopRow {
                id: crate::domain::ids::WorkshopId::new().0,
                name: format!("{} workshop {}", INTERESTS[i % INTERESTS.len()].0, i + 1),
                description: Some(INTERESTS[i % INTERESTS.len()].1.to_string()),
                category_id: interest_ids[i % interest_ids.len().max(1)],
                starts_at: now + chrono::Duration::days(7 + 7 * i as i64),
                duration_minutes: 120 + 60 * (i as i32 % 3),
                modality: if online { "online" } else { "in_person" }.to_string(),
                location: (!online).then(|| "Workshop hall, 12 Mill Lane".to_string()),
                link: online.then(|| format!("https://meet.example.com/workshop-{}", i + 1)),
                price: Money::from_cents(4_000 + 1_000 * (i as i64 % 6)).amount(),
                capacity: 8 + (i as i32 % 4) * 4,
                active: true,
                created_at: now,
                updated_at: now,
            }
        })
        .collect();
    let workshop_ids = repo::upsert_workshops(conn, &workshop_rows)?;

    let client_ids = repo::active_client_ids(conn)?;
    let mut report = SeedReport { products: product_ids.len(), workshops: workshop_ids.len(), ..Default::default() };
    if client_ids.is_empty() || product_ids.is_empty() {
        return Ok(report);
    }
    let existing_orders = repo::order_count(conn)?;
    let methods = PaymentMethod::ALL;
    for chunk in (existing_orders..orders).collect::<Vec<_>>().chunks(200) {
        report.orders_added += conn.transaction(|conn| {
            let mut added = 0;
            for _ in chunk {
                let lines = (0..1 + rng.below(3))
                    .map(|_| order_rules::OrderLineInput {
                        product_id: product_ids[rng.below(product_ids.len())],
                        quantity: 1 + rng.below(3) as i32,
                    })
                    .collect();
                let input = order_rules::OrderInput {
                    client_id: client_ids[rng.below(client_ids.len())],
                    items: lines,
                    shipping_address: format!("{} Market Street, Springfield", 1 + rng.below(500)),
                    payment_method: methods[rng.below(methods.len())],
                    coupon_code: rng.chance(10).then(|| "WELCOME10".to_string()),
                };
                // Savepoint per order: one refused (e.g. an inactive product) skips that order only.
                let Ok(order) = conn.transaction(|conn| order_rules::place_in(conn, &input)) else { continue };
                added += 1;
                let path: &[OrderStatus] = match rng.below(10) {
                    0 => &[OrderStatus::Cancelled],
                    1..=2 => &[],
                    3..=4 => &[OrderStatus::Confirmed],
                    5 => &[OrderStatus::Confirmed, OrderStatus::Processing],
                    6 => &[OrderStatus::Confirmed, OrderStatus::Processing, OrderStatus::Shipped],
                    _ => {
                        &[OrderStatus::Confirmed, OrderStatus::Processing, OrderStatus::Shipped, OrderStatus::Delivered]
                    }
                };
                for status in path {
                    order_rules::change_status_in(conn, order.id, *status, None)?;
                }
            }
            Ok::<_, AppError>(added)
        })?;
    }

    let wanted_enrollments = (orders / 4).min(workshop_rows.iter().map(|w| w.capacity as usize * 3 / 4).sum());
    let mut enrollments = repo::enrollment_count(conn)?;
    // Random picks may hit a client already enrolled; keep drawing (a bounded number of times).
    for _ in 0..wanted_enrollments.saturating_sub(enrollments) * 5 {
        if enrollments >= wanted_enrollments {
            break;
        }
        let workshop = crate::domain::ids::WorkshopId(workshop_ids[rng.below(workshop_ids.len())]);
        let client = client_ids[rng.below(client_ids.len())];
        let paid = rng.below(3);
        let method = methods[rng.below(methods.len())];
        let enrolled = conn.transaction(|conn| {
            let enrollment = workshop_rules::enroll_in(conn, workshop, client)?;
            if paid > 0 {
                let amount = if paid == 2 { enrollment.price } else { Money::from_cents(2_000) };
                workshop_rules::pay_in(conn, enrollment.id, amount, method)?;
            }
            Ok::<_, AppError>(())
        });
        // Already enrolled or sold out: skip, like the API would refuse it.
        if enrolled.is_ok() {
            report.enrollments_added += 1;
            enrollments += 1;
        }
    }
    Ok(report)
}
