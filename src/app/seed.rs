//! Demo data: companies, interests and clients with comments, preferences and attributes; then
//! categories, products, workshops, orders and enrollments. Deterministic (the same numbers give
//! the same data) and idempotent: clients are keyed by email, catalog rows by slug or name, and
//! orders and enrollments are added only up to the requested totals. `reset` empties both stores
//! first. Orders and enrollments go through the same rules as the API (stock, seats, history).
//! Clients are generated, written and forgotten a batch at a time, so seeding a million of them
//! holds one batch in memory, and a progress line is logged after each.

use super::{clock, AppError, AppResult, AppState};
use crate::domain::catalog::{slugify, Category, MovementKind, Product, StockStatus};
use crate::domain::client::{Client, ClientKind, Plan, PlanStatus};
use crate::domain::companies::Company;
use crate::domain::coupons::{CouponKind, CouponTerms, NewCoupon};
use crate::domain::ids::{CategoryId, ClientId, CommentId, CompanyId, InterestId, ProductId, WorkshopId};
use crate::domain::interests::Interest;
use crate::domain::money::Money;
use crate::domain::orders::{NewOrder, OrderLine, OrderStatus, PaymentMethod};
use crate::domain::payments::{NewPayment, Subject};
use crate::domain::precondition::Precondition;
use crate::domain::view::Comment;
use crate::domain::workshops::{Modality, Workshop};
use crate::store::mongo::NewDocument;
use crate::store::pg::seed as repo;
use chrono::{DateTime, Datelike, Utc};
use serde_json::{json, Value};

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

/// Small deterministic generator (SplitMix64): the same seed gives the same demo data (and the
/// same fuzz cases in the tests).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
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

/// Clients written per round trip to each store.
const CLIENT_BATCH: usize = 5_000;
/// Buyers orders and enrollments are spread over.
const BUYERS: i64 = 20_000;

#[tracing::instrument(level = "debug", skip_all)]
pub async fn run(state: &AppState, size: SeedSize) -> AppResult<SeedReport> {
    if size.reset {
        state.db.run(|conn| Ok(repo::reset(conn)?)).await?;
        state.info.drop_collection().await?;
        state.info.ensure_indexes().await?;
    }
    let now = clock::now();
    let companies: Vec<Company> = (0..COMPANIES)
        .map(|i| Company {
            version: 1,
            id: CompanyId::new(),
            legal_name: format!("{} {} Ltd.", LAST[i % LAST.len()], ["Tools", "Crafts", "Labs", "Works"][i % 4]),
            tax_id: format!("TAX-{:06}", 100_000 + i),
            address: Some(format!("{} Market Street, Springfield", 10 + i)),
            phone: Some("+1 555 0100 200".into()),
            created_at: now,
            updated_at: now,
        })
        .collect();
    let interests: Vec<Interest> = INTERESTS
        .iter()
        .map(|(name, description)| Interest {
            version: 1,
            id: InterestId::new(),
            name: name.to_string(),
            description: Some(description.to_string()),
            created_at: now,
            updated_at: now,
        })
        .collect();
    let (companies, interests) = state
        .db
        .tx(move |conn| Ok((repo::upsert_companies(conn, &companies)?, repo::upsert_interests(conn, &interests)?)))
        .await?;
    let company_ids: Vec<CompanyId> = companies.iter().map(|c| c.id).collect();
    let interest_ids: Vec<InterestId> = interests.iter().map(|i| i.id).collect();

    let mut rng = Rng(0x5EED);
    let mut clients_added = 0;
    let mut done = 0;
    while done < size.clients {
        let batch: Vec<(Client, NewDocument)> = (done..size.clients.min(done + CLIENT_BATCH))
            .map(|i| demo_client(&mut rng, i, &company_ids, &interest_ids, now))
            .collect();
        done += batch.len();
        let (rows, mut documents): (Vec<Client>, Vec<NewDocument>) = batch.into_iter().unzip();
        let inserted = state.db.tx(move |conn| Ok(repo::insert_clients(conn, &rows)?)).await?;
        let fresh: std::collections::HashSet<ClientId> = inserted.iter().copied().collect();
        documents.retain(|d| fresh.contains(&d.client_id));
        state.info.insert_new(documents).await?;
        clients_added += inserted.len();
        if size.clients > CLIENT_BATCH {
            tracing::info!("seeded {done} of {} clients ({clients_added} new)", size.clients);
        }
    }

    let commerce = commerce(state, size.products, size.orders, now).await?;
    super::events::publish_all(state).await?;
    state.db.tx(move |conn| Ok(repo::skip_history_notifications(conn, now, clock::now())?)).await?;
    Ok(SeedReport { companies: companies.len(), interests: interests.len(), clients_added, ..commerce })
}

/// One demo client and its document, drawn from `rng`.
fn demo_client(
    rng: &mut Rng,
    i: usize,
    company_ids: &[CompanyId],
    interest_ids: &[InterestId],
    now: DateTime<Utc>,
) -> (Client, NewDocument) {
    let (first, last) = (FIRST[rng.below(FIRST.len())], LAST[rng.below(LAST.len())]);
    // Spread over the history, more of them recently (the business grows); the history's orders
    // come from clients who had joined by then.
    // A sixth were clients before the history begins.
    let fraction = rng.next_u64() as f64 / u64::MAX as f64;
    let history_minutes = f64::from(HISTORY_DAYS) * 1440.0;
    let minutes_ago = if rng.chance(16) {
        history_minutes * (1.0 + fraction / 3.0)
    } else {
        history_minutes * (1.0 - fraction.sqrt())
    };
    let joined = now - chrono::Duration::minutes(minutes_ago as i64);
    let b2b = rng.chance(30) && !company_ids.is_empty();
    let plan = [Plan::Basic, Plan::Basic, Plan::Basic, Plan::Premium, Plan::Premium, Plan::Enterprise][rng.below(6)];
    let interest_count = if interest_ids.is_empty() { 0 } else { rng.below(4) };
    let mut interests: Vec<InterestId> =
        (0..interest_count).map(|_| interest_ids[rng.below(interest_ids.len())]).collect();
    interests.sort_unstable();
    interests.dedup();
    let client = Client {
        id: ClientId::new(),
        name: format!("{first} {last}"),
        email: format!("{}.{}.{i}@example.com", first.to_lowercase(), last.to_lowercase().replace(' ', "")),
        phone: rng.chance(80).then(|| format!("+1 555 {:04} {:03}", rng.below(10_000), rng.below(1_000))),
        kind: if b2b { ClientKind::B2b } else { ClientKind::B2c },
        company_id: b2b.then(|| company_ids[rng.below(company_ids.len())]),
        interest_ids: interests,
        plan,
        plan_status: [
            PlanStatus::Active,
            PlanStatus::Active,
            PlanStatus::Active,
            PlanStatus::Trial,
            PlanStatus::PastDue,
        ][rng.below(5)],
        paid_until: None,
        active: rng.chance(92),
        version: 1,
        created_at: joined,
        updated_at: joined,
    };
    let language = ["en", "es", "pt-BR", "fr", "de"][rng.below(5)];
    let payment_method = ["card", "bank_transfer", "cash", "paypal"][rng.below(4)];
    let source = ["web", "store", "referral", "fair"][rng.below(4)];
    let as_map = |v: Value| v.as_object().cloned().unwrap_or_default();
    let document = NewDocument {
        client_id: client.id,
        preferences: as_map(json!({
            "language": language,
            "payment_method": payment_method,
            "notifications": { "email": rng.chance(80), "sms": rng.chance(30) },
        })),
        attributes: as_map(json!({ "source": source, "newsletter": rng.chance(60) })),
        tags: ["vip", "early_adopter", "wholesale", "teacher"]
            .iter()
            .filter(|_| rng.chance(20))
            .map(|t| t.to_string())
            .collect(),
        comments: (0..rng.below(4))
            .map(|_| Comment {
                id: CommentId::new(),
                text: COMMENTS[rng.below(COMMENTS.len())].to_string(),
                created_at: clock::now_millis(),
            })
            .collect(),
    };
    (client, document)
}

const CATEGORIES: &[&str] =
    &["Woodworking kits", "Ceramics supplies", "Electronics kits", "Textiles", "Tools", "Books"];
const PRODUCT_WORDS: &[&str] = &["Starter", "Pro", "Classic", "Deluxe", "Mini", "Travel", "Studio", "Family"];
/// Days of history the seeded orders, enrollments and clients spread over (18 months).
const HISTORY_DAYS: u32 = 548;
/// Workshops held during the history, and workshops to come.
const PAST_WORKSHOPS: usize = 90;
const UPCOMING_WORKSHOPS: usize = 12;
/// Orders placed today through the API's rules; the rest are history, in bulk.
const TODAYS_ORDERS: usize = 40;

/// Catalog, workshops, orders and enrollments, in PostgreSQL only. Orders spread over active
/// clients (about one in ten is cancelled and gives its stock back; most move along the status
/// machine); enrollments fill upcoming workshops partly, some paid, some partly paid.
async fn commerce(state: &AppState, products: usize, orders: usize, now: DateTime<Utc>) -> AppResult<SeedReport> {
    state.db.run(move |conn| commerce_in(conn, products, orders, now)).await
}

fn commerce_in(
    conn: &mut diesel::PgConnection,
    products: usize,
    orders: usize,
    now: DateTime<Utc>,
) -> AppResult<SeedReport> {
    use super::{enrollments, orders as order_rules, payments};
    use diesel::Connection;
    let mut rng = Rng(0xC0FFEE);

    let categories: Vec<Category> = CATEGORIES
        .iter()
        .map(|name| Category {
            version: 1,
            id: CategoryId::new(),
            name: name.to_string(),
            slug: slugify(name),
            description: None,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let category_ids = repo::upsert_categories(conn, &categories)?;
    let catalog: Vec<Product> = (0..products)
        .map(|i| {
            let word = PRODUCT_WORDS[rng.below(PRODUCT_WORDS.len())];
            let reorder_point = 5 + rng.below(20) as i32;
            // Most in good supply; some low, a few at or below their reorder point.
            let stock = match rng.below(20) {
                0 => rng.below(reorder_point as usize + 1) as i32,
                1..=3 => reorder_point + 1 + rng.below(reorder_point as usize / 2) as i32,
                _ => 50 + rng.below(500) as i32,
            };
            Product {
                version: 1,
                id: ProductId::new(),
                category_id: category_ids.get(i % category_ids.len().max(1)).copied(),
                name: format!("{word} kit {i:04}"),
                slug: format!("kit-{i:04}"),
                description: Some(format!("{word} kit number {i}")),
                price: Money::from_cents(500 + rng.below(20_000) as i64),
                stock,
                reorder_point,
                stock_status: StockStatus::of(stock, reorder_point),
                active: rng.chance(95),
                created_at: now,
                updated_at: now,
            }
        })
        .collect();
    let initial =
        |id, stock| super::catalog::movement(id, MovementKind::In, stock, stock, stock, "initial stock".into(), now);
    let product_ids = repo::upsert_products(conn, &catalog, initial)?;

    let coupon = |code: &str, kind: CouponKind, cents: i64, min_cents: i64| {
        let terms = CouponTerms {
            kind,
            value: Money::from_cents(cents),
            active: true,
            valid_from: None,
            valid_until: None,
            min_order_amount: Money::from_cents(min_cents),
        };
        let new = NewCoupon {
            code: code.to_string(),
            description: Some("Demo coupon".into()),
            terms,
            max_redemptions: None,
            once_per_client: false,
        };
        new.into_coupon(now)
    };
    repo::upsert_coupons(
        conn,
        &[
            coupon("WELCOME10", CouponKind::Percentage, 1_000, 0),
            coupon("FIVEOFF", CouponKind::FixedAmount, 500, 3_000),
        ],
    )?;

    let interests = repo::interests_by_name(conn)?;
    let history_start =
        (now - chrono::Duration::days(i64::from(HISTORY_DAYS))).date_naive().and_time(Default::default()).and_utc();
    // Each workshop is about an interest, and in that interest's category.
    let workshops: Vec<Workshop> = (0..PAST_WORKSHOPS + UPCOMING_WORKSHOPS)
        .filter_map(|i| {
            let (topic, blurb) = INTERESTS[i % INTERESTS.len()];
            let category_id = *interests.get(topic)?;
            let online = i % 3 == 0;
            let capacity = 8 + (i as i32 % 4) * 4;
            let starts_at = if i < PAST_WORKSHOPS {
                history_start
                    + chrono::Duration::days((i * HISTORY_DAYS as usize / PAST_WORKSHOPS) as i64)
                    + chrono::Duration::hours(10)
            } else {
                now + chrono::Duration::days(7 + 7 * (i - PAST_WORKSHOPS) as i64)
            };
            let created_at = now.min(starts_at - chrono::Duration::days(60));
            Some(Workshop {
                version: 1,
                id: WorkshopId::new(),
                name: format!("{topic} workshop {}", i + 1),
                description: Some(blurb.to_string()),
                category_id,
                starts_at,
                duration_minutes: 120 + 60 * (i as i32 % 3),
                modality: if online { Modality::Online } else { Modality::InPerson },
                location: (!online).then(|| "Workshop hall, 12 Mill Lane".to_string()),
                link: online.then(|| format!("https://meet.example.com/workshop-{}", i + 1)),
                price: Money::from_cents(4_000 + 1_000 * (i as i64 % 6)),
                capacity,
                seats_taken: 0,
                seats_available: capacity,
                cancellation_hours: 24,
                active: true,
                created_at,
                updated_at: created_at,
            })
        })
        .collect();
    let workshops = repo::upsert_workshops(conn, &workshops)?;

    let buyers = repo::sample_active_clients(conn, BUYERS)?;
    let mut report = SeedReport { products: product_ids.len(), workshops: workshops.len(), ..Default::default() };
    if buyers.is_empty() || product_ids.is_empty() {
        return Ok(report);
    }
    // History in bulk, then today's orders through the API's rules (stock, history, coupons).
    let wanted = orders.saturating_sub(repo::order_count(conn)?);
    let today = wanted.min(TODAYS_ORDERS);
    let shape = repo::HistoryShape { days: HISTORY_DAYS, buyers: BUYERS, seed: 0.42 };
    report.orders_added += repo::order_history(conn, wanted - today, shape, now)?;
    let methods = PaymentMethod::ALL;
    for chunk in (0..today).collect::<Vec<_>>().chunks(200) {
        report.orders_added += conn.transaction(|conn| {
            let mut added = 0;
            for _ in chunk {
                let order = NewOrder {
                    client_id: buyers[rng.below(buyers.len())].0,
                    lines: (0..1 + rng.below(3))
                        .map(|_| OrderLine {
                            product_id: product_ids[rng.below(product_ids.len())],
                            quantity: 1 + rng.below(3) as u32,
                        })
                        .collect(),
                    shipping_address: format!("{} Market Street, Springfield", 1 + rng.below(500)),
                    payment_method: methods[rng.below(methods.len())],
                    coupon_code: rng.chance(10).then(|| "WELCOME10".to_string()),
                };
                // Savepoint per order: one refused (e.g. an inactive product) skips that order only.
                let Ok(placed) = conn.transaction(|conn| order_rules::place_in(conn, &order, now)) else { continue };
                added += 1;
                // A tenth cancelled, some waiting for payment, the rest paid (which confirms them).
                match rng.below(10) {
                    0 => {
                        order_rules::change_status_in(
                            conn,
                            placed.id,
                            OrderStatus::Cancelled,
                            None,
                            &Precondition::Unconditional,
                            now,
                        )?;
                    }
                    1..=5 => {}
                    _ => {
                        let subject = Subject::Order(placed.id);
                        let method = order.payment_method;
                        let new = NewPayment { subject, amount: placed.total, method, token: None, description: None };
                        payments::record_in(conn, new, now)?;
                    }
                }
            }
            Ok::<_, AppError>(added)
        })?;
    }

    // Enrollments: past workshops filled by the season (most paid, some in part, a few not at
    // all: the debtors), upcoming ones partly; as many as a seed of this size calls for.
    // Its own generator: the targets must not depend on how many orders this run added.
    let mut fills = Rng(0xF111);
    let targets: Vec<usize> = workshops
        .iter()
        .map(|(_, starts_at, capacity)| {
            let fill = if *starts_at <= now {
                let season = [70, 65, 80, 85, 90, 60, 50, 55, 90, 95, 100, 85][starts_at.month0() as usize];
                season - fills.below(25)
            } else {
                20 + fills.below(40)
            };
            (*capacity as usize * fill).div_ceil(100)
        })
        .collect();
    let scale = ((orders / 4) as f64 / targets.iter().sum::<usize>().max(1) as f64).min(1.0);
    for (index, ((workshop, starts_at, _), target)) in workshops.iter().zip(targets).enumerate() {
        let target = (target as f64 * scale).ceil() as usize;
        let mut enrolled = repo::live_enrollments(conn, *workshop)?;
        let created_at = now.min(*starts_at - chrono::Duration::days(60));
        let past = *starts_at <= now;
        // Candidates in an order and with times fixed per workshop: a second run meets the same
        // ones (already enrolled, refused) and adds only what the first could not reach.
        let mut draw = Rng(0xE770 + index as u64);
        let first = draw.below(buyers.len());
        for (client, joined) in buyers.iter().cycle().skip(first).take(buyers.len()) {
            if enrolled >= target {
                break;
            }
            let at = if past {
                *starts_at - chrono::Duration::minutes(60 + draw.below(40 * 1440) as i64)
            } else {
                created_at.max(now - chrono::Duration::minutes(draw.below(20 * 1440) as i64))
            };
            let paid = match (past, draw.below(100)) {
                (true, 0..=7) | (false, 0..=39) => None,
                (true, 8..=19) | (false, 40..=69) => Some(false),
                _ => Some(true),
            };
            let method = methods[draw.below(methods.len())];
            if *joined >= at {
                continue;
            }
            let outcome = conn.transaction(|conn| {
                let enrollment = enrollments::enroll_in(conn, *workshop, *client, at)?;
                if let Some(in_full) = paid {
                    let part = (enrollment.price.amount() * rust_decimal::Decimal::new(4, 1)).round_dp(2);
                    let amount = if in_full { enrollment.price } else { Money::from_decimal(part) };
                    let subject = Subject::Enrollment(enrollment.id);
                    let new = NewPayment { subject, amount, method, token: None, description: None };
                    payments::record_in(conn, new, at.min(now))?;
                }
                Ok::<_, AppError>(())
            });
            // Already enrolled or sold out: skip, like the API would refuse it.
            if outcome.is_ok() {
                report.enrollments_added += 1;
                enrolled += 1;
            }
        }
    }
    Ok(report)
}
