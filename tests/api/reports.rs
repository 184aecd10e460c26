//! Reports: every figure against an independent computation from the rows the test made —
//! through rollups, late cancellations and refunds, at the first and last instants of UTC days —
//! as JSON and CSV.

use crate::harness::{get, json_with, send, Reply, TestContext};
use crate::{app, create_client, create_product, order_body, post};
use actix_web::http::{header, Method};
use actix_web::test::TestRequest;
use chrono::{Days, NaiveDate, NaiveTime, Utc};
use diesel::RunQueryDsl;
use hybrid_crm::app::reports;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

async fn sql(ctx: &TestContext, statement: String) {
    ctx.state.db.run(move |conn| Ok(diesel::sql_query(statement).execute(conn)?)).await.expect("SQL statement");
}

fn decimal(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().unwrap_or_else(|| panic!("not a decimal string: {value}"))).expect("decimal")
}

fn at(day: NaiveDate, time: &str) -> String {
    format!("{}+00:00", day.and_time(NaiveTime::from_str(time).expect("time")))
}

/// What the test made, per UTC day, computed here without the service's SQL.
#[derive(Default, Clone)]
struct Expected {
    orders: BTreeMap<NaiveDate, Vec<(Decimal, i64, bool)>>,
    refunds: BTreeMap<NaiveDate, Vec<Decimal>>,
}

impl Expected {
    fn day(&self, day: NaiveDate) -> (i64, i64, Decimal, Decimal) {
        let live = self.orders.get(&day).into_iter().flatten().filter(|(_, _, cancelled)| !cancelled);
        let (orders, items, gross) =
            live.fold((0, 0, Decimal::ZERO), |(n, u, g), (total, units, _)| (n + 1, u + units, g + total));
        let refunds = self.refunds.get(&day).into_iter().flatten().sum();
        (orders, items, gross, refunds)
    }
}

fn aov(revenue: Decimal, orders: i64) -> Decimal {
    if orders == 0 {
        return Decimal::ZERO;
    }
    (revenue / Decimal::from(orders)).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
}

/// The daily series from `from` to `to` equals the independent computation, day by day and in
/// total.
fn assert_matches(report: &Value, expected: &Expected, from: NaiveDate, to: NaiveDate, when: &str) {
    let items = report["items"].as_array().expect("items");
    assert_eq!(items.len() as i64, (to - from).num_days() + 1, "{when}: every day is present");
    let mut totals = (0, 0, Decimal::ZERO, Decimal::ZERO);
    for (i, item) in items.iter().enumerate() {
        let day = from + Days::new(i as u64);
        assert_eq!(item["start"], day.to_string(), "{when}");
        let (orders, units, gross, refunds) = expected.day(day);
        let revenue = gross - refunds;
        let got = (item["orders"].as_i64(), item["items"].as_i64(), decimal(&item["gross"]), decimal(&item["refunds"]));
        assert_eq!(got, (Some(orders), Some(units), gross, refunds), "{when}: {day}");
        assert_eq!(decimal(&item["revenue"]), revenue, "{when}: revenue of {day}");
        assert_eq!(decimal(&item["aov"]), aov(revenue, orders), "{when}: AOV of {day}");
        totals = (totals.0 + orders, totals.1 + units, totals.2 + gross, totals.3 + refunds);
    }
    let t = &report["totals"];
    assert_eq!(
        (t["orders"].as_i64(), t["items"].as_i64(), decimal(&t["gross"]), decimal(&t["refunds"])),
        (Some(totals.0), Some(totals.1), totals.2, totals.3),
        "{when}: totals"
    );
    assert_eq!(decimal(&t["aov"]), aov(totals.2 - totals.3, totals.0), "{when}: AOV of the period");
}

#[derive(Debug, PartialEq, diesel::QueryableByName)]
struct RolledDay {
    #[diesel(sql_type = diesel::sql_types::Date)]
    day: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    orders: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    items: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    gross: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    refunds: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    cancelled_orders: i32,
}

async fn rolled_days(ctx: &TestContext) -> Vec<RolledDay> {
    ctx.state
        .db
        .run(|conn| {
            Ok(diesel::sql_query(
                "SELECT day, orders, items, gross::text AS gross, refunds::text AS refunds, cancelled_orders
                 FROM daily_sales ORDER BY day",
            )
            .load(conn)?)
        })
        .await
        .expect("rollups")
}

async fn noted_changes(ctx: &TestContext) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count: Count = ctx
        .state
        .db
        .run(|conn| Ok(diesel::sql_query("SELECT count(*) AS n FROM report_changes").get_result(conn)?))
        .await
        .expect("count");
    count.n
}

#[actix_web::test]
async fn sales_match_an_independent_computation_through_rollups_late_cancellations_and_refunds() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let today = Utc::now().date_naive();
    let (d1, d2) = (today - Days::new(10), today - Days::new(9));
    let (from, to) = (d1 - Days::new(1), today);
    let client = create_client(&app, "Reporter", "reporter@example.com").await;
    let (kit, glue) =
        (create_product(&app, "Kit", "10.00", 100).await, create_product(&app, "Glue", "2.55", 100).await);

    // The first and last instants of a UTC day, the first of the next, and now.
    let placements = [
        (Some(at(d1, "00:00:00")), vec![(&kit, 1)]),
        (Some(at(d1, "23:59:59.999999")), vec![(&kit, 2), (&glue, 1)]),
        (Some(at(d2, "00:00:00")), vec![(&glue, 3)]),
        (None, vec![(&kit, 1), (&glue, 1)]),
    ];
    let mut expected = Expected::default();
    let mut orders = Vec::new();
    for (placed_at, lines) in placements {
        let items: Vec<Value> = lines.iter().map(|(p, q)| json!({"product_id": p, "quantity": q})).collect();
        let placed = post(&app, "/api/v1/orders", order_body(&client, Value::Array(items))).await;
        assert_eq!(placed.status, 201, "{}", placed.body);
        let id = placed.body["id"].as_str().unwrap().to_string();
        let day = match &placed_at {
            Some(instant) => {
                sql(&ctx, format!("UPDATE orders SET created_at = '{instant}' WHERE id = '{id}'")).await;
                instant[..10].parse().unwrap()
            }
            None => today,
        };
        let total = decimal(&placed.body["total"]);
        expected.orders.entry(day).or_default().push((total, lines.iter().map(|(_, q)| *q as i64).sum(), false));
        orders.push((id, day, total));
    }

    // A refund of the second order's payment, completed on d2 (after the order's day).
    let (paid_order, _, paid_total) = orders[1].clone();
    let payment = send(
        &app,
        json_with(
            Method::POST,
            "/api/v1/payments",
            json!({"subject": {"type": "order", "id": paid_order}, "amount": paid_total.to_string(), "method": "cash"}),
            &[("Idempotency-Key", "report-pay")],
        ),
    )
    .await;
    assert_eq!(
        (payment.status.as_u16(), payment.body["status"].clone()),
        (201, json!("succeeded")),
        "{}",
        payment.body
    );
    let paid = payment.body["id"].as_str().unwrap();
    refund_completed_at(&ctx, &app, paid, "3.05", "scratched", "report-refund", at(d2, "12:00:00")).await;
    expected.refunds.entry(d2).or_default().push(Decimal::from_str("3.05").unwrap());

    let uri = format!("/api/v1/reports/sales?from={from}&to={to}");
    let report = |expected: Expected, when: &'static str| {
        let app = &app;
        let uri = uri.clone();
        async move {
            let reply = send(app, get(&uri)).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_matches(&reply.body, &expected, from, to, when);
            reply
        }
    };
    report(expected.clone(), "from the base tables, before any rollup").await;

    let outcome = reports::roll_up(&ctx.state, None).await.expect("rollup");
    assert_eq!(outcome.settled_before, today);
    assert_eq!(outcome.days, 10, "every day from the first order's to yesterday");
    assert_eq!(noted_changes(&ctx).await, 0, "the rollup took the notes it saw");
    report(expected.clone(), "from the rollups").await;

    // A late cancellation of an order of d1 counts at once (its day is noted and computed from
    // the orders), and in the rollup after the next run.
    let cancelled = post(&app, &format!("/api/v1/orders/{}/cancel", orders[0].0), json!({"note": "late"})).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    expected.orders.get_mut(&d1).unwrap()[0].2 = true;
    assert!(noted_changes(&ctx).await > 0, "the cancellation noted its day");
    report(expected.clone(), "after a late cancellation, before the rollup").await;
    reports::roll_up(&ctx.state, None).await.expect("rollup");
    report(expected.clone(), "after a late cancellation and the rollup").await;
    let cancelled_row = rolled_days(&ctx).await.into_iter().find(|r| r.day == d1).expect("d1 rolled up");
    assert_eq!((cancelled_row.orders, cancelled_row.cancelled_orders), (1, 1));

    // Rebuilding gives the same rows, however often.
    // Rebuilding from a day (here the day before the first order, which gains its zero row)
    // gives the same rows, however often.
    let before = rolled_days(&ctx).await;
    reports::roll_up(&ctx.state, Some(from)).await.expect("rebuild");
    let rebuilt = rolled_days(&ctx).await;
    assert_eq!((rebuilt[0].day, rebuilt[0].orders), (from, 0));
    assert_eq!(rebuilt[1..], before[..], "a recomputed day is the same row");
    reports::roll_up(&ctx.state, Some(from)).await.expect("rebuild again");
    assert_eq!(rolled_days(&ctx).await, rebuilt, "and again");

    // Weeks and months add up to the same totals, and each item to its days.
    let daily = report(expected.clone(), "again").await.body;
    for granularity in ["week", "month"] {
        let cut = send(&app, get(&format!("{uri}&granularity={granularity}"))).await.body;
        assert_eq!(cut["totals"], daily["totals"], "{granularity}");
        let items = cut["items"].as_array().unwrap();
        assert_eq!(items[0]["start"], from.to_string());
        assert_eq!(items.last().unwrap()["end"], to.to_string());
        for item in items {
            let (start, end) = (item["start"].as_str().unwrap(), item["end"].as_str().unwrap());
            let days: Vec<&Value> = daily["items"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["start"].as_str().unwrap() >= start && d["start"].as_str().unwrap() <= end)
                .collect();
            let gross: Decimal = days.iter().map(|d| decimal(&d["gross"])).sum();
            let count: i64 = days.iter().map(|d| d["orders"].as_i64().unwrap()).sum();
            assert_eq!(
                (decimal(&item["gross"]), item["orders"].as_i64().unwrap()),
                (gross, count),
                "{granularity} {start}"
            );
        }
    }

    // CSV: the same series, one row per day.
    let csv = TestRequest::get().uri(&uri).insert_header((header::ACCEPT, "text/csv")).to_request();
    let csv = send(&app, csv).await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"), "{:?}", csv.headers);
    let text = csv.body.as_str().expect("a CSV body");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "start,end,revenue,gross,refunds,orders,items,aov");
    assert_eq!(lines.len() - 1, daily["items"].as_array().unwrap().len());
    for (line, item) in lines[1..].iter().zip(daily["items"].as_array().unwrap()) {
        let fields = ["start", "end", "revenue", "gross", "refunds", "orders", "items", "aov"];
        let want: Vec<String> = fields
            .iter()
            .map(|f| item[*f].as_str().map(str::to_string).unwrap_or_else(|| item[*f].to_string()))
            .collect();
        assert_eq!(line.split(',').collect::<Vec<_>>(), want);
    }

    // A change committed while a rollup runs keeps its note: the rollup's snapshot did not see
    // it, so it must not take the note either.
    let url = ctx.database_url();
    let late = orders[1].0.clone();
    let open = tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        let mut conn = diesel::PgConnection::establish(&url).expect("connect");
        diesel::sql_query("BEGIN").execute(&mut conn).expect("begin");
        diesel::sql_query(format!("UPDATE orders SET status = 'cancelled' WHERE id = '{late}'"))
            .execute(&mut conn)
            .expect("cancel");
        conn
    })
    .await
    .unwrap();
    reports::roll_up(&ctx.state, None).await.expect("rollup while the change is in flight");
    tokio::task::spawn_blocking(move || {
        let mut conn = open;
        diesel::sql_query("COMMIT").execute(&mut conn).expect("commit");
    })
    .await
    .unwrap();
    expected.orders.get_mut(&d1).unwrap()[1].2 = true;
    assert!(noted_changes(&ctx).await > 0, "the note of the change survived the rollup that missed it");
    report(expected.clone(), "a change committed during a rollup").await;
    reports::roll_up(&ctx.state, None).await.expect("rollup");
    report(expected.clone(), "and after the next rollup").await;
    assert_eq!(rolled_days(&ctx).await.into_iter().find(|r| r.day == d1).map(|r| r.orders), Some(0));
}

/// The field a 422 names.
fn field_of(reply: Reply) -> Value {
    reply.problem(422, "validation_failed")["errors"][0]["field"].clone()
}

#[actix_web::test]
async fn an_empty_period_is_all_zeros_and_bad_periods_name_their_field() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let empty = send(&app, get("/api/v1/reports/sales?from=2020-02-01&to=2020-02-29&granularity=day")).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    let items = empty.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 29, "a leap February, every day present");
    assert!(items.iter().all(|i| i["orders"] == 0 && i["revenue"] == "0.00" && i["aov"] == "0.00"));
    assert_eq!(empty.body["totals"]["gross"], "0.00");

    // Days after today have no figures yet: a period far ahead is zeros (and the store walks no day
    // after today; schemathesis' 10-second read timeout is what caught the walk to year 9812).
    let ahead = send(&app, get("/api/v1/reports/sales?from=9999-12-01&to=9999-12-31")).await;
    assert_eq!(ahead.status, 200, "{}", ahead.body);
    assert_eq!(ahead.body["items"].as_array().unwrap().len(), 31);
    assert!(ahead.body["items"].as_array().unwrap().iter().all(|i| i["orders"] == 0));
    for uri in [
        "/api/v1/reports/kpis?to=9812-08-31",
        "/api/v1/reports/products?to=9812-08-31",
        "/api/v1/reports/clients?to=9812-08-31",
    ] {
        let reply = send(&app, get(uri)).await;
        assert_eq!(reply.status, 200, "{uri}: {}", reply.body);
        assert_eq!(reply.body["orders"].as_i64().unwrap_or(0), 0, "{uri}");
    }

    // Workshops: an empty leap February is one zero month, and zeros everywhere else.
    let none = send(&app, get("/api/v1/reports/workshops?from=2020-02-01&to=2020-02-29")).await;
    assert_eq!(none.status, 200, "{}", none.body);
    assert_eq!(
        none.body["items"],
        json!([{"start": "2020-02-01", "end": "2020-02-29", "enrollments": 0,
        "received": "0.00", "refunded": "0.00", "income": "0.00"}])
    );
    assert_eq!((none.body["workshops"].clone(), none.body["by_modality"].clone()), (json!([]), json!([])));
    assert_eq!(none.body["totals"]["occupancy_percent"], Value::Null, "no seats, no percentage");
    assert_eq!(none.body["totals"]["income"], "0.00");
    let ahead = send(&app, get("/api/v1/reports/workshops?from=9999-12-01&to=9999-12-31&granularity=day")).await;
    assert_eq!(ahead.body["items"].as_array().map(Vec::len), Some(31));
    assert_eq!(field_of(send(&app, get("/api/v1/reports/workshops?limit=0")).await), "limit");

    let default = send(&app, get("/api/v1/reports/sales")).await.body;
    assert_eq!(default["items"].as_array().unwrap().len(), 30, "the last 30 days by default");
    assert_eq!(default["to"], Utc::now().date_naive().to_string());

    let field = field_of;
    assert_eq!(field(send(&app, get("/api/v1/reports/sales?from=2026-02-02&to=2026-02-01")).await), "from");
    assert_eq!(field(send(&app, get("/api/v1/reports/sales?from=2020-01-01&to=2026-01-01")).await), "to");
    assert_eq!(field(send(&app, get("/api/v1/reports/sales?from=2026-02-30")).await), "from");
    assert_eq!(field(send(&app, get("/api/v1/reports/sales?granularity=year")).await), "granularity");
    assert_eq!(field(send(&app, get("/api/v1/reports/sales?form=2026-01-01")).await), "form");
}

/// Places an order of `lines` for `client`, moved to `placed_at` (RFC 3339) when given; returns
/// (id, total, units).
async fn order_at<S: crate::harness::TestApp<B>, B: actix_web::body::MessageBody>(
    ctx: &TestContext,
    app: &S,
    client: &str,
    lines: &[(&str, i64)],
    placed_at: Option<String>,
) -> (String, Decimal, i64) {
    let items: Vec<Value> = lines.iter().map(|(p, q)| json!({"product_id": p, "quantity": q})).collect();
    let placed = post(app, "/api/v1/orders", order_body(client, Value::Array(items))).await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let id = placed.body["id"].as_str().unwrap().to_string();
    if let Some(instant) = placed_at {
        sql(ctx, format!("UPDATE orders SET created_at = '{instant}' WHERE id = '{id}'")).await;
    }
    (id, decimal(&placed.body["total"]), lines.iter().map(|(_, q)| q).sum())
}

async fn pay<S: crate::harness::TestApp<B>, B: actix_web::body::MessageBody>(
    app: &S,
    subject: Value,
    amount: Decimal,
    method: &str,
) -> String {
    let key = uuid::Uuid::now_v7().to_string();
    let body = json!({"subject": subject, "amount": amount.to_string(), "method": method});
    let paid = send(app, json_with(Method::POST, "/api/v1/payments", body, &[("Idempotency-Key", &key)])).await;
    assert_eq!((paid.status.as_u16(), paid.body["status"].clone()), (201, json!("succeeded")), "{}", paid.body);
    paid.body["id"].as_str().unwrap().to_string()
}

/// Refunds `amount` of a payment (the sandbox refunds at once) and moves its completion to
/// `completed_at` (RFC 3339): refunds count on the day they completed.
async fn refund_completed_at<S: crate::harness::TestApp<B>, B: actix_web::body::MessageBody>(
    ctx: &TestContext,
    app: &S,
    payment: &str,
    amount: &str,
    reason: &str,
    key: &str,
    completed_at: String,
) {
    let uri = format!("/api/v1/payments/{payment}/refunds");
    let body = json!({"amount": amount, "reason": reason});
    let refund = send(app, json_with(Method::POST, &uri, body, &[("Idempotency-Key", key)])).await;
    assert_eq!((refund.status.as_u16(), refund.body["status"].clone()), (201, json!("succeeded")), "{}", refund.body);
    let id = refund.body["id"].as_str().unwrap();
    sql(ctx, format!("UPDATE refunds SET completed_at = '{completed_at}' WHERE id = '{id}'")).await;
}

fn percent(part: Decimal, whole: Decimal) -> Value {
    if whole.is_zero() {
        return Value::Null;
    }
    let value = (part * Decimal::from(100) / whole)
        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    json!(rust_decimal::prelude::ToPrimitive::to_f64(&value).unwrap())
}

#[actix_web::test]
async fn key_figures_match_an_independent_computation_before_and_after_the_rollup() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let today = Utc::now().date_naive();
    let day = |n: u64| today - Days::new(n);
    let noon = |n: u64| Some(at(day(n), "12:00:00"));
    let company = crate::create_company(&app, "Figures Ltd").await;
    let client = |body: Value| {
        let app = &app;
        async move {
            let reply = post(app, "/api/v1/clients", body).await;
            assert_eq!(reply.status, 201, "{}", reply.body);
            reply.body["id"].as_str().unwrap().to_string()
        }
    };
    let a = client(json!({"name": "A", "email": "a@example.com", "kind": "b2c"})).await;
    let b = client(json!({"name": "B", "email": "b@example.com", "kind": "b2b", "company_id": company})).await;
    let c = client(json!({"name": "C", "email": "c@example.com", "kind": "b2c"})).await;
    // Plans as subscriptions would have left them.
    for (id, plan) in [(&b, "premium"), (&c, "enterprise")] {
        sql(&ctx, format!("UPDATE clients SET plan = '{plan}' WHERE id = '{id}'")).await;
    }
    let d = client(json!({"name": "D", "email": "d@example.com", "kind": "b2c"})).await;
    for (id, days_ago) in [(&a, 100), (&b, 5), (&c, 40), (&d, 100)] {
        sql(&ctx, format!("UPDATE clients SET created_at = '{}' WHERE id = '{id}'", at(day(days_ago), "08:00:00")))
            .await;
    }
    let kit = create_product(&app, "Kit", "10.00", 100).await;
    let glue = create_product(&app, "Glue", "2.55", 12).await;
    let rare = create_product(&app, "Rare", "99.90", 3).await;

    let (_, t1, _) = order_at(&ctx, &app, &a, &[(&kit, 1)], noon(70)).await;
    let (_, t2, _) = order_at(&ctx, &app, &a, &[(&kit, 2)], noon(45)).await;
    let (_, t3, u3) = order_at(&ctx, &app, &a, &[(&kit, 1), (&glue, 2)], noon(10)).await;
    let (_, t4, u4) = order_at(&ctx, &app, &a, &[(&glue, 1)], noon(3)).await;
    let (o5, t5, u5) = order_at(&ctx, &app, &b, &[(&kit, 3)], noon(8)).await;
    let (o6, _, _) = order_at(&ctx, &app, &c, &[(&rare, 1)], noon(6)).await;
    let (o7, t7, u7) = order_at(&ctx, &app, &c, &[(&kit, 1), (&rare, 1)], None).await;
    assert_eq!(post(&app, &format!("/api/v1/orders/{o6}/cancel"), json!({})).await.status, 200);
    // A changes plan after ordering (as a subscription would): its orders stay `basic` in
    // revenue by plan.
    sql(&ctx, format!("UPDATE clients SET plan = 'enterprise' WHERE id = '{a}'")).await;

    let p5 = pay(&app, json!({"type": "order", "id": o5}), t5, "cash").await;
    pay(&app, json!({"type": "order", "id": o7}), t7, "bank_transfer").await;
    refund_completed_at(&ctx, &app, &p5, "2.00", "dented", "kpi-refund", at(day(2), "09:30:00")).await;

    // Workshop debtors: one enrollment unpaid, one paid in part (a cash payment of the period).
    let category = crate::create_interest(&app, "Joinery").await;
    let workshop = crate::create_workshop(&app, "Figures workshop", &category, 5).await;
    let e = client(json!({"name": "E", "email": "e@example.com", "kind": "b2c"})).await;
    let mut enrollments = Vec::new();
    for who in [&e, &a] {
        let enrolled =
            post(&app, &format!("/api/v1/workshops/{workshop}/enrollments"), json!({"client_id": who})).await;
        assert_eq!(enrolled.status, 201, "{}", enrolled.body);
        enrollments.push((enrolled.body["id"].as_str().unwrap().to_string(), decimal(&enrolled.body["price"])));
    }
    let desk = json_with(
        Method::POST,
        &format!("/api/v1/enrollments/{}/payments", enrollments[1].0),
        json!({"amount": "30.00", "method": "cash"}),
        &[("Idempotency-Key", "kpi-desk")],
    );
    assert_eq!(send(&app, desk).await.status, 201);

    // The expected figures, from what was made above.
    let two = Decimal::from_str("2.00").unwrap();
    let thirty = Decimal::from_str("30.00").unwrap();
    let revenue = t3 + t4 + t5 + t7 - two;
    let orders = 4i64;
    let to_date = t1 + t2 + revenue;
    let products = send(&app, get("/api/v1/products")).await.body;
    let mut stock = (0, 0, 0);
    for p in products["items"].as_array().unwrap() {
        let (s, r) = (p["stock"].as_i64().unwrap(), p["reorder_point"].as_i64().unwrap());
        if s <= r {
            stock.0 += 1
        } else if 2 * s <= 3 * r {
            stock.1 += 1
        } else {
            stock.2 += 1
        }
    }
    let owed = enrollments[0].1 + enrollments[1].1 - thirty;
    let check = |report: &Value, when: &str| {
        let money = |name: &str| decimal(&report[name]);
        assert_eq!(report["from"], day(29).to_string(), "{when}");
        assert_eq!((money("revenue"), money("gross"), money("refunds")), (revenue, revenue + two, two), "{when}");
        assert_eq!(
            (report["orders"].as_i64(), report["items"].as_i64()),
            (Some(orders), Some(u3 + u4 + u5 + u7)),
            "{when}"
        );
        assert_eq!(money("aov"), aov(revenue, orders), "{when}");
        assert_eq!(money("previous_revenue"), t2, "{when}");
        assert_eq!(report["growth_percent"], percent(revenue - t2, t2), "{when}");
        assert_eq!(report["new_clients"], 2, "{when}: B and E were created in the period");
        assert_eq!(report["active_clients"], 3, "{when}");
        assert_eq!(report["repeat_purchase_rate_percent"], percent(Decimal::ONE, Decimal::from(3)), "{when}");
        assert_eq!((money("revenue_to_date"), report["paying_clients_to_date"].as_i64()), (to_date, Some(3)), "{when}");
        assert_eq!(money("clv"), aov(to_date, 3), "{when}");
        let by = |name: &str| -> Vec<(String, i64, Decimal)> {
            report[name]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (r["key"].as_str().unwrap().to_string(), r["orders"].as_i64().unwrap(), decimal(&r["revenue"]))
                })
                .collect()
        };
        assert_eq!(
            by("revenue_by_plan"),
            vec![("basic".into(), 2, t3 + t4), ("enterprise".into(), 1, t7), ("premium".into(), 1, t5 - two)],
            "{when}"
        );
        assert_eq!(
            by("revenue_by_client_kind"),
            vec![("b2b".into(), 1, t5 - two), ("b2c".into(), 3, t3 + t4 + t7)],
            "{when}"
        );
        let methods: Vec<(String, i64, Decimal)> = report["payment_methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (m["method"].as_str().unwrap().to_string(), m["payments"].as_i64().unwrap(), decimal(&m["amount"]))
            })
            .collect();
        assert_eq!(methods, vec![("bank_transfer".into(), 1, t7), ("cash".into(), 2, t5 + thirty)], "{when}");
        assert_eq!(report["payment_methods"][0]["share_percent"], percent(t7, t7 + t5 + thirty), "{when}");
        let s = &report["stock_status"];
        assert_eq!(
            (s["critical"].as_i64(), s["low"].as_i64(), s["optimal"].as_i64()),
            (Some(stock.0), Some(stock.1), Some(stock.2))
        );
        let debtors = &report["debtors"];
        assert_eq!((debtors["clients"].as_i64(), debtors["enrollments"].as_i64()), (Some(2), Some(2)), "{when}");
        assert_eq!(decimal(&debtors["amount_owed"]), owed, "{when}");
    };
    let first = send(&app, get("/api/v1/reports/kpis")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    check(&first.body, "from the base tables");
    let stats = send(&app, get("/api/v1/stats/clients")).await.body;
    assert_eq!(first.body["info_coverage"]["documents"], stats["documents"]["documents"]);
    assert_eq!(first.body["info_coverage"]["percent"], stats["documents"]["info_coverage_percent"]);

    reports::roll_up(&ctx.state, None).await.expect("rollup");
    let rolled = send(&app, get("/api/v1/reports/kpis")).await;
    check(&rolled.body, "from the rollups");
    assert_eq!(rolled.body, first.body, "the same answer either way");

    // CSV: one name,value row per figure.
    let csv = TestRequest::get().uri("/api/v1/reports/kpis").insert_header((header::ACCEPT, "text/csv")).to_request();
    let csv = send(&app, csv).await;
    let text = csv.body.as_str().expect("CSV");
    assert!(text.starts_with("name,value\r\n"), "{text}");
    assert!(text.contains(&format!("\r\nrevenue,{revenue}\r\n")), "{text}");
    assert!(text.contains(&format!("\r\nrevenue_by_plan.basic.revenue,{}\r\n", t3 + t4)), "{text}");
    assert!(text.contains("\r\npayment_methods.cash.payments,2\r\n"), "{text}");
}

#[actix_web::test]
async fn products_and_categories_rank_as_computed_from_the_orders_and_slow_movers_are_the_unsold_in_stock() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let today = Utc::now().date_naive();
    let category = |name: &'static str| {
        let app = &app;
        async move {
            let reply = post(app, "/api/v1/categories", json!({"name": name})).await;
            assert_eq!(reply.status, 201, "{}", reply.body);
            reply.body["id"].as_str().unwrap().to_string()
        }
    };
    let (kits, tools) = (category("Kits").await, category("Tools").await);
    let product = |name: &'static str, price: &'static str, stock: i32, category: Option<String>| {
        let app = &app;
        async move {
            let mut body = json!({"name": name, "price": price, "stock": stock});
            if let Some(category) = category {
                body["category_id"] = json!(category);
            }
            let reply = post(app, "/api/v1/products", body).await;
            assert_eq!(reply.status, 201, "{}", reply.body);
            reply.body["id"].as_str().unwrap().to_string()
        }
    };
    let kit = product("Kit", "10.00", 100, Some(kits.clone())).await;
    let saw = product("Saw", "45.50", 20, Some(tools.clone())).await;
    let glue = product("Glue", "2.55", 50, None).await;
    let idle = product("Idle plane", "80.00", 7, Some(tools.clone())).await;
    let dusty = product("Dusty clamp", "5.00", 40, Some(tools.clone())).await;
    let _empty = product("Sold-out vise", "30.00", 0, Some(tools.clone())).await;
    let retired = product("Retired chisel", "9.00", 9, None).await;
    let patched = send(
        &app,
        crate::harness::json(Method::PATCH, &format!("/api/v1/products/{retired}"), json!({"active": false})),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let buyer = create_client(&app, "Buyer", "buyer@example.com").await;

    let noon = |n: u64| Some(at(today - Days::new(n), "12:00:00"));
    // In the period: kit 3+1, saw 1, glue 4 (one order of glue and saw cancelled); before it: idle 1.
    order_at(&ctx, &app, &buyer, &[(&kit, 3), (&glue, 4)], noon(4)).await;
    order_at(&ctx, &app, &buyer, &[(&kit, 1), (&saw, 1)], None).await;
    let (cancelled, _, _) = order_at(&ctx, &app, &buyer, &[(&saw, 2), (&glue, 10)], noon(2)).await;
    assert_eq!(post(&app, &format!("/api/v1/orders/{cancelled}/cancel"), json!({})).await.status, 200);
    order_at(&ctx, &app, &buyer, &[(&idle, 1)], noon(60)).await;
    order_at(&ctx, &app, &buyer, &[(&dusty, 1)], noon(31)).await;

    let d = |text: &str| Decimal::from_str(text).unwrap();
    let expected_products = [("Kit", 4, d("40.00")), ("Saw", 1, d("45.50")), ("Glue", 4, d("10.20"))];
    let check = |report: &Value, when: &str| {
        let list = |name: &str| -> Vec<(String, i64, Decimal)> {
            report[name]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (p["name"].as_str().unwrap_or("").to_string(), p["units"].as_i64().unwrap(), decimal(&p["revenue"]))
                })
                .collect()
        };
        let named = |order: [usize; 3]| {
            order.map(|i| (expected_products[i].0.to_string(), expected_products[i].1, expected_products[i].2))
        };
        // Units: Kit 4 and Glue 4 tie, Kit's revenue is higher; revenue: Saw, Kit, Glue.
        assert_eq!(list("top_by_units"), named([0, 2, 1]).to_vec(), "{when}");
        assert_eq!(list("top_by_revenue"), named([1, 0, 2]).to_vec(), "{when}");
        let categories = |name: &str| -> Vec<(Option<String>, i64, Decimal)> {
            report[name]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["name"].as_str().map(str::to_string), c["units"].as_i64().unwrap(), decimal(&c["revenue"])))
                .collect()
        };
        assert_eq!(
            categories("categories_by_revenue"),
            vec![(Some("Tools".into()), 1, d("45.50")), (Some("Kits".into()), 4, d("40.00")), (None, 4, d("10.20"))],
            "{when}"
        );
        assert_eq!(
            categories("categories_by_units")[0],
            (Some("Kits".into()), 4, d("40.00")),
            "{when}: ties go to revenue"
        );
        let slow: Vec<(&str, i64)> = report["slow_movers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| (s["name"].as_str().unwrap(), s["stock"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            slow,
            vec![("Dusty clamp", 39), ("Idle plane", 6)],
            "{when}: unsold in the period, in stock, active"
        );
    };
    let report = send(&app, get("/api/v1/reports/products")).await;
    assert_eq!(report.status, 200, "{}", report.body);
    check(&report.body, "from the base tables");
    reports::roll_up(&ctx.state, None).await.expect("rollup");
    let rolled = send(&app, get("/api/v1/reports/products")).await.body;
    check(&rolled, "from the rollups");

    let one = send(&app, get("/api/v1/reports/products?limit=1")).await.body;
    assert_eq!(one["top_by_units"].as_array().unwrap().len(), 1);
    assert_eq!(one["slow_movers"].as_array().unwrap().len(), 1);
    send(&app, get("/api/v1/reports/products?limit=0")).await.problem(422, "validation_failed");

    let csv =
        TestRequest::get().uri("/api/v1/reports/products").insert_header((header::ACCEPT, "text/csv")).to_request();
    let text = send(&app, csv).await.body.as_str().unwrap().to_string();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "product_id,name,category,units,revenue");
    assert_eq!(lines[1], format!("{saw},Saw,Tools,1,45.50"));
    assert_eq!(lines.len(), 4, "every product sold in the period");
}

#[actix_web::test]
async fn an_order_for_no_client_is_refused_as_the_foreign_key_would_refuse_it() {
    let ctx = TestContext::new().await;
    let refused = ctx
        .state
        .db
        .run(|conn| {
            Ok(diesel::sql_query(
                "INSERT INTO orders (id, client_id, shipping_address, payment_method, subtotal, total)
                 VALUES (gen_random_uuid(), gen_random_uuid(), '1 Main St', 'cash', 1, 1)",
            )
            .execute(conn)
            .map_err(|err| hybrid_crm::store::pg::violation(&err)))
        })
        .await
        .expect("the statement ran");
    assert_eq!(
        refused,
        Err(Some(hybrid_crm::store::pg::Violation::MissingReference("orders_client_id_fkey".into()))),
        "the segment trigger reports a missing client like the foreign key does"
    );
}

#[actix_web::test]
async fn top_clients_and_cohorts_match_the_orders_each_client_placed() {
    use chrono::Datelike;
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let today = Utc::now().date_naive();
    let month_start = |back: u32| {
        let index = today.year() * 12 + today.month0() as i32 - back as i32;
        NaiveDate::from_ymd_opt(index.div_euclid(12), index.rem_euclid(12) as u32 + 1, 1).unwrap()
    };
    let mid = |back: u32| Some(at(month_start(back) + Days::new(14), "12:00:00"));
    let kit = create_product(&app, "Kit", "10.00", 1000).await;
    let mut clients = Vec::new();
    for name in ["p1", "p2", "p3", "p4", "p5"] {
        clients.push(create_client(&app, name, &format!("{name}@example.com")).await);
    }
    // (client, units, when): p1 began before the period; p4's first order in M-2 was cancelled.
    let plan: [(usize, i64, Option<String>); 9] = [
        (0, 1, mid(3)),
        (0, 2, mid(2)),
        (0, 3, None),
        (1, 4, mid(2)),
        (1, 5, None),
        (2, 6, mid(2)),
        (2, 7, mid(1)),
        (3, 8, mid(1)),
        (4, 9, None),
    ];
    let from = month_start(2);
    let mut spend: std::collections::HashMap<usize, (i64, Decimal)> = std::collections::HashMap::new();
    for (who, units, when) in plan.iter().cloned() {
        let in_period = when.as_deref().is_none_or(|w| w[..10] >= *from.to_string());
        let (_, total, _) = order_at(&ctx, &app, &clients[who], &[(&kit, units)], when).await;
        if in_period {
            let entry = spend.entry(who).or_default();
            entry.0 += 1;
            entry.1 += total;
        }
    }
    let (cancelled, _, _) = order_at(&ctx, &app, &clients[3], &[(&kit, 1)], mid(2)).await;
    assert_eq!(post(&app, &format!("/api/v1/orders/{cancelled}/cancel"), json!({})).await.status, 200);

    let mut expected_top: Vec<(String, i64, Decimal)> =
        spend.iter().map(|(who, (n, total))| (format!("p{}@example.com", who + 1), *n, *total)).collect();
    expected_top.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)));
    let uri = format!("/api/v1/reports/clients?from={from}&to={today}");
    let check = |report: &Value, when: &str| {
        let top: Vec<(String, i64, Decimal)> = report["top_clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["email"].as_str().unwrap().to_string(), c["orders"].as_i64().unwrap(), decimal(&c["spend"])))
            .collect();
        assert_eq!(top, expected_top, "{when}");
        let cohorts: Vec<(String, i64, Vec<i64>)> = report["cohorts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let active = c["active"].as_array().unwrap().iter().map(|n| n.as_i64().unwrap()).collect();
                (c["month"].as_str().unwrap().to_string(), c["clients"].as_i64().unwrap(), active)
            })
            .collect();
        let month = |back: u32| month_start(back).format("%Y-%m").to_string();
        assert_eq!(
            cohorts,
            vec![(month(2), 2, vec![2, 1, 1]), (month(1), 1, vec![1, 0]), (month(0), 1, vec![1])],
            "{when}: p2 and p3 began two months ago (p3 came back a month later, p2 this month), p4 last month, p5 this month"
        );
        assert_eq!(report["cohorts"][0]["retention_percent"], json!([100.0, 50.0, 50.0]), "{when}");
    };
    let first = send(&app, get(&uri)).await;
    assert_eq!(first.status, 200, "{}", first.body);
    check(&first.body, "from the base tables");
    reports::roll_up(&ctx.state, None).await.expect("rollup");
    check(&send(&app, get(&uri)).await.body, "from the rollups");

    let csv = TestRequest::get().uri(&uri).insert_header((header::ACCEPT, "text/csv")).to_request();
    let text = send(&app, csv).await.body.as_str().unwrap().to_string();
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "client_id,name,email,kind,plan,orders,spend");
    assert_eq!(lines.len(), 1 + expected_top.len());
    assert!(lines[1].contains(&expected_top[0].0), "{}", lines[1]);
}

#[derive(diesel::QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

#[actix_web::test]
async fn a_server_killed_mid_rollup_leaves_nothing_half_done_and_the_restarted_one_rolls_up() {
    use diesel::Connection;
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let client = create_client(&app, "Late", "late@example.com").await;
    let kit = create_product(&app, "Kit", "10.00", 10).await;
    order_at(&ctx, &app, &client, &[(&kit, 2)], Some(at(Utc::now().date_naive() - Days::new(3), "12:00:00"))).await;
    let uri = "/api/v1/reports/sales";
    let before = send(&app, get(uri)).await.body;
    assert!(noted_changes(&ctx).await > 0);

    // Another session holds the rollup table, so the server's rollup statement stops mid-way.
    let url = ctx.database_url();
    let holder = tokio::task::spawn_blocking(move || {
        let mut conn = diesel::PgConnection::establish(&url).expect("connect");
        diesel::sql_query("BEGIN").execute(&mut conn).expect("begin");
        diesel::sql_query("LOCK TABLE daily_sales IN EXCLUSIVE MODE").execute(&mut conn).expect("lock");
        conn
    })
    .await
    .unwrap();
    let server = crate::harness::Server::start_with(&ctx, &[("ROLLUP_INTERVAL_SECS", "1")]).await;
    let db = ctx.state.db.clone();
    let blocked = || {
        db.run(|conn| {
            Ok(diesel::sql_query(
                "SELECT pid FROM pg_stat_activity
                 WHERE datname = current_database() AND wait_event_type = 'Lock'
                   AND query LIKE 'WITH noted AS (DELETE FROM report_changes%'",
            )
            .load::<Pid>(conn)?)
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut waiting = Vec::new();
    while waiting.is_empty() && std::time::Instant::now() < deadline {
        waiting = blocked().await.expect("activity");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(waiting.len(), 1, "the server's rollup waits on the table");
    server.kill();
    // The process is gone; its session ends as PostgreSQL notices (here: at once).
    let pid = waiting[0].pid;
    sql(&ctx, format!("SELECT pg_terminate_backend({pid})")).await;
    tokio::task::spawn_blocking(move || {
        let mut conn = holder;
        diesel::sql_query("COMMIT").execute(&mut conn).expect("release");
    })
    .await
    .unwrap();
    assert!(rolled_days(&ctx).await.is_empty(), "no rollup row of the killed statement");
    assert!(noted_changes(&ctx).await > 0, "its notes are still there");
    assert_eq!(send(&app, get(uri)).await.body, before, "reports are unchanged");

    let restarted = crate::harness::Server::start_with(&ctx, &[("ROLLUP_INTERVAL_SECS", "1")]).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while (rolled_days(&ctx).await.is_empty() || noted_changes(&ctx).await > 0) && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    restarted.kill();
    assert!(!rolled_days(&ctx).await.is_empty(), "the restarted server rolled up");
    assert_eq!(noted_changes(&ctx).await, 0, "and took the notes");
    assert_eq!(send(&app, get(uri)).await.body, before, "to the same figures");
}

/// An enrollment the workshop test made: workshop index, day made, cancelled, price, paid (net),
/// refunded (credited: no longer owed).
struct Enrolled {
    workshop: usize,
    day: NaiveDate,
    cancelled: bool,
    price: Decimal,
    paid: Decimal,
    refunded: Decimal,
}

impl Enrolled {
    /// What it still owes: a refund is money going back, not a new debt.
    fn owed(&self) -> Decimal {
        self.price - self.refunded - self.paid
    }

    fn refund(&mut self, amount: &str) {
        let amount = Decimal::from_str(amount).unwrap();
        self.paid -= amount;
        self.refunded += amount;
    }
}

#[actix_web::test]
async fn workshop_occupancy_debts_and_income_match_the_enrollments_and_payments_made() {
    let ctx = TestContext::new().await;
    let app = app!(ctx);
    let today = Utc::now().date_naive();
    let day = |n: u64| today - Days::new(n);
    let (from, to) = (day(15), today);
    let joinery = crate::create_interest(&app, "Joinery").await;
    let glazing = crate::create_interest(&app, "Glazing").await;
    // Held in the period: 0 (in person, joinery) and 1 (online, glazing); 2 starts after it.
    let mut workshops = Vec::new();
    for (name, category, capacity, online) in
        [("Dovetails", &joinery, 4, false), ("Glazes", &glazing, 3, true), ("Mortises", &joinery, 10, false)]
    {
        let mut body = crate::workshop_body(name, category, capacity);
        if online {
            body["modality"] = json!("online");
            body["link"] = json!("https://meet.example.com/glazes");
            body.as_object_mut().unwrap().remove("location");
        }
        let reply = post(&app, "/api/v1/workshops", body).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        workshops.push(reply.body["id"].as_str().unwrap().to_string());
    }
    let mut clients = Vec::new();
    for n in ["a", "b", "c", "d"] {
        clients.push(create_client(&app, n, &format!("{n}@workshops.example.com")).await);
    }

    let mut made: Vec<Enrolled> = Vec::new();
    let mut ids = Vec::new();
    // (workshop, client, made at); the times sit on UTC day boundaries.
    let plan = [
        (0, 0, Some(at(day(10), "00:00:00"))),
        (0, 1, Some(at(day(20), "12:00:00"))),
        (0, 2, Some(at(day(8), "23:59:59.999999"))),
        (1, 0, None),
        (1, 3, Some(at(day(1), "07:00:00"))),
        (2, 1, Some(at(day(13), "00:00:00"))),
    ];
    for (w, c, made_at) in &plan {
        let reply =
            post(&app, &format!("/api/v1/workshops/{}/enrollments", workshops[*w]), json!({"client_id": clients[*c]}))
                .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let id = reply.body["id"].as_str().unwrap().to_string();
        let when = made_at.clone().unwrap_or_else(|| Utc::now().to_rfc3339());
        sql(&ctx, format!("UPDATE enrollments SET created_at = '{when}' WHERE id = '{id}'")).await;
        let made_day = chrono::DateTime::parse_from_rfc3339(&when).unwrap().with_timezone(&Utc).date_naive();
        made.push(Enrolled {
            workshop: *w,
            day: made_day,
            cancelled: false,
            price: decimal(&reply.body["price"]),
            paid: Decimal::ZERO,
            refunded: Decimal::ZERO,
        });
        ids.push(id);
    }
    // Desk payments (enrollment, amount, completed at): money by the day it completed.
    let mut received: Vec<(usize, NaiveDate, Decimal)> = Vec::new();
    let mut payment_ids = Vec::new();
    for (i, (e, amount, completed)) in [
        (0, "80.00", at(day(10), "09:00:00")),
        (1, "30.00", at(day(9), "23:59:59.999999")),
        (2, "25.00", at(day(8), "23:59:59.999999")),
        (4, "20.00", Utc::now().to_rfc3339()),
        (5, "40.00", at(day(13), "00:00:00")),
    ]
    .into_iter()
    .enumerate()
    {
        let reply = send(
            &app,
            json_with(
                Method::POST,
                &format!("/api/v1/enrollments/{}/payments", ids[e]),
                json!({"amount": amount, "method": "cash"}),
                &[("Idempotency-Key", &format!("workshop-pay-{i}"))],
            ),
        )
        .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let listed = send(&app, get(&format!("/api/v1/enrollments/{}/payments", ids[e]))).await.body;
        let payment =
            listed["items"].as_array().and_then(|p| p.last()).and_then(|p| p["id"].as_str()).map(str::to_string);
        let payment = payment.unwrap_or_else(|| panic!("{listed}"));
        sql(&ctx, format!("UPDATE payments SET completed_at = '{completed}' WHERE id = '{payment}'")).await;
        payment_ids.push(payment);
        let amount = Decimal::from_str(amount).unwrap();
        made[e].paid += amount;
        let completed_day = chrono::DateTime::parse_from_rfc3339(&completed).unwrap().with_timezone(&Utc).date_naive();
        received.push((made[e].workshop, completed_day, amount));
    }
    // Enrollment 2 is cancelled (it keeps its money); enrollment 0 gets 10.00 back, on day 3.
    assert_eq!(post(&app, &format!("/api/v1/enrollments/{}/cancel", ids[2]), json!({})).await.status, 200);
    made[2].cancelled = true;
    refund_completed_at(&ctx, &app, &payment_ids[0], "10.00", "left early", "workshop-refund", at(day(3), "10:00:00"))
        .await;
    let mut refunded: Vec<(usize, NaiveDate, Decimal)> = vec![(0, day(3), Decimal::from_str("10.00").unwrap())];
    // The refund lowered what enrollment 0 has paid, and what it owes by as much.
    made[0].refund("10.00");
    // Workshops 0 and 1 are held in the period, 2 after it.
    for (w, starts) in
        [(0, at(day(5), "10:00:00")), (1, at(today, "00:00:00")), (2, at(today + Days::new(40), "10:00:00"))]
    {
        sql(&ctx, format!("UPDATE workshops SET starts_at = '{starts}' WHERE id = '{}'", workshops[w])).await;
    }

    let check = |report: &Value,
                 made: &[Enrolled],
                 received: &[(usize, NaiveDate, Decimal)],
                 refunded: &[(usize, NaiveDate, Decimal)],
                 when: &str| {
        let capacity = [4i64, 3, 10];
        let names = ["Dovetails", "Glazes", "Mortises"];
        let held = [0usize, 1];
        let listed = report["workshops"].as_array().expect("workshops");
        assert_eq!(
            listed.iter().map(|w| w["name"].as_str().unwrap()).collect::<Vec<_>>(),
            ["Dovetails", "Glazes"],
            "{when}"
        );
        let live = |w: usize| made.iter().filter(move |e| e.workshop == w && !e.cancelled);
        let money = |list: &[(usize, NaiveDate, Decimal)], w: usize, days: Option<(NaiveDate, NaiveDate)>| -> Decimal {
            list.iter()
                .filter(|(x, d, _)| *x == w && days.is_none_or(|(a, b)| a <= *d && *d <= b))
                .map(|(_, _, m)| *m)
                .sum()
        };
        for (item, w) in listed.iter().zip(held) {
            let seats = live(w).count() as i64;
            let paid: Decimal = live(w).map(|e| e.paid).sum();
            let owed: Decimal = live(w).map(Enrolled::owed).sum();
            assert_eq!(item["workshop_id"], json!(workshops[w]), "{when}");
            assert_eq!(item["name"], names[w], "{when}");
            assert_eq!(
                (item["capacity"].as_i64(), item["seats_taken"].as_i64()),
                (Some(capacity[w]), Some(seats)),
                "{when}: {}",
                names[w]
            );
            assert_eq!(item["occupancy_percent"], percent(Decimal::from(seats), Decimal::from(capacity[w])), "{when}");
            assert_eq!((decimal(&item["paid"]), decimal(&item["owed"])), (paid, owed), "{when}: {}", names[w]);
            assert_eq!(
                decimal(&item["income"]),
                money(received, w, None) - money(refunded, w, None),
                "{when}: {}",
                names[w]
            );
        }
        // Groups: held workshops' seats now, and the period's enrollments and money.
        let group = |members: &[usize]| {
            let seats: i64 = members.iter().filter(|w| held.contains(w)).map(|w| live(*w).count() as i64).sum();
            let cap: i64 = members.iter().filter(|w| held.contains(w)).map(|w| capacity[*w]).sum();
            let owed: Decimal =
                members.iter().filter(|w| held.contains(w)).flat_map(|w| live(*w)).map(Enrolled::owed).sum();
            let enrollments =
                members.iter().flat_map(|w| live(*w)).filter(|e| from <= e.day && e.day <= to).count() as i64;
            let rec: Decimal = members.iter().map(|w| money(received, *w, Some((from, to)))).sum();
            let refd: Decimal = members.iter().map(|w| money(refunded, *w, Some((from, to)))).sum();
            (members.iter().filter(|w| held.contains(w)).count() as i64, cap, seats, owed, enrollments, rec, refd)
        };
        let got = |g: &Value| {
            (
                g["workshops"].as_i64().unwrap(),
                g["capacity"].as_i64().unwrap(),
                g["seats_taken"].as_i64().unwrap(),
                decimal(&g["owed"]),
                g["enrollments"].as_i64().unwrap(),
                decimal(&g["received"]),
                decimal(&g["refunded"]),
            )
        };
        assert_eq!(got(&report["totals"]), group(&[0, 1, 2]), "{when}: totals");
        let t = group(&[0, 1, 2]);
        assert_eq!(decimal(&report["totals"]["income"]), t.5 - t.6, "{when}: income");
        let modalities: Vec<(&str, Value)> = report["by_modality"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["modality"].as_str().unwrap(), g.clone()))
            .collect();
        assert_eq!(modalities.iter().map(|(m, _)| *m).collect::<Vec<_>>(), ["in_person", "online"], "{when}");
        assert_eq!(got(&modalities[0].1), group(&[0, 2]), "{when}: in person");
        assert_eq!(got(&modalities[1].1), group(&[1]), "{when}: online");
        let categories: Vec<Value> = report["by_category"].as_array().unwrap().clone();
        assert_eq!(
            categories.iter().map(|g| g["category"].as_str().unwrap()).collect::<Vec<_>>(),
            ["Glazing", "Joinery"],
            "{when}"
        );
        assert_eq!(categories[1]["category_id"], json!(joinery), "{when}");
        assert_eq!(got(&categories[0]), group(&[1]), "{when}: glazing");
        assert_eq!(got(&categories[1]), group(&[0, 2]), "{when}: joinery");
        // The weekly income series: every ISO week of the period, clipped to it.
        let items = report["items"].as_array().unwrap();
        let mut start = from;
        for item in items {
            let end = (start + Days::new(6 - u64::from(start.weekday().num_days_from_monday()))).min(to);
            assert_eq!(
                (item["start"].as_str().unwrap(), item["end"].as_str().unwrap()),
                (start.to_string().as_str(), end.to_string().as_str()),
                "{when}"
            );
            let within = Some((start, end));
            let rec: Decimal = (0..3).map(|w| money(received, w, within)).sum();
            let refd: Decimal = (0..3).map(|w| money(refunded, w, within)).sum();
            let enrollments = made.iter().filter(|e| !e.cancelled && start <= e.day && e.day <= end).count() as i64;
            assert_eq!(
                (
                    item["enrollments"].as_i64().unwrap(),
                    decimal(&item["received"]),
                    decimal(&item["refunded"]),
                    decimal(&item["income"])
                ),
                (enrollments, rec, refd, rec - refd),
                "{when}: week of {start}"
            );
            start = end + Days::new(1);
        }
        assert_eq!(start, to + Days::new(1), "{when}: the series covers the period");
    };
    use chrono::Datelike;
    let uri = format!("/api/v1/reports/workshops?from={from}&to={to}&granularity=week");
    check(&send(&app, get(&uri)).await.body, &made, &received, &refunded, "from the base tables");
    reports::roll_up(&ctx.state, None).await.expect("rollup");
    assert_eq!(noted_changes(&ctx).await, 0);
    check(&send(&app, get(&uri)).await.body, &made, &received, &refunded, "rolled up");

    // Late changes to rolled-up days: enrollment 5 (made on day 13) cancelled, another refund of
    // enrollment 1's payment completing on day 9.
    assert_eq!(post(&app, &format!("/api/v1/enrollments/{}/cancel", ids[5]), json!({})).await.status, 200);
    made[5].cancelled = true;
    refund_completed_at(&ctx, &app, &payment_ids[1], "5.00", "late", "workshop-late-refund", at(day(9), "12:00:00"))
        .await;
    refunded.push((0, day(9), Decimal::from_str("5.00").unwrap()));
    made[1].refund("5.00");
    check(&send(&app, get(&uri)).await.body, &made, &received, &refunded, "after late changes");
    reports::roll_up(&ctx.state, None).await.expect("rollup");
    check(&send(&app, get(&uri)).await.body, &made, &received, &refunded, "late changes rolled up");
    reports::roll_up(&ctx.state, Some(from)).await.expect("rebuild");
    check(&send(&app, get(&uri)).await.body, &made, &received, &refunded, "rebuilt");

    // Default granularity: months; CSV: the workshops held.
    let monthly = send(&app, get(&format!("/api/v1/reports/workshops?from={from}&to={to}"))).await.body;
    assert_eq!(monthly["granularity"], "month");
    // Debtors now: per client, what its live enrollments still owe, most first.
    let mut owing: BTreeMap<usize, (i64, Decimal)> = BTreeMap::new();
    for (e, (_, c, _)) in made.iter().zip(plan.iter()) {
        if !e.cancelled && e.owed() > Decimal::ZERO {
            let entry = owing.entry(*c).or_default();
            *entry = (entry.0 + 1, entry.1 + e.owed());
        }
    }
    let mut expected: Vec<(Value, i64, Decimal)> =
        owing.into_iter().map(|(c, (n, owed))| (json!(clients[c]), n, owed)).collect();
    expected.sort_by_key(|e| std::cmp::Reverse(e.2));
    let got: Vec<(Value, i64, Decimal)> = monthly["debtors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["client_id"].clone(), d["enrollments"].as_i64().unwrap(), decimal(&d["owed"])))
        .collect();
    assert_eq!(got, expected, "debtors");
    let one = send(&app, get(&format!("/api/v1/reports/workshops?from={from}&to={to}&limit=1"))).await.body;
    assert_eq!(one["debtors"].as_array().unwrap().len(), 1);
    let total: Decimal = monthly["items"].as_array().unwrap().iter().map(|i| decimal(&i["income"])).sum();
    assert_eq!(total, decimal(&monthly["totals"]["income"]));
    let csv = TestRequest::get()
        .uri(&format!("/api/v1/reports/workshops?from={from}&to={to}"))
        .insert_header((header::ACCEPT, "text/csv"))
        .to_request();
    let csv = send(&app, csv).await;
    assert_eq!(csv.status, 200);
    let text = csv.body.as_str().expect("a CSV body");
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(
        lines[0],
        "workshop_id,name,category,modality,starts_at,capacity,seats_taken,occupancy_percent,paid,owed,income"
    );
    assert_eq!(lines.len(), 3);
    assert!(lines[1].starts_with(&format!("{},Dovetails,Joinery,in_person,", workshops[0])), "{}", lines[1]);
}
