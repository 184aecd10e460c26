//! `/api/v1/reports`: figures over a period of UTC days, as JSON or, asked with
//! `Accept: text/csv`, as CSV (one row per item of the series).

use crate::app::{reports, AppState};
use crate::domain::money::Money;
use crate::domain::reports::{Granularity, SalesBucket};
use crate::http::extract::{BodyRules, Query};
use crate::http::problem::ApiResult;
use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};
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
    pub from: Option<NaiveDate>,
    /// Last day (UTC, `YYYY-MM-DD`), included; default today. At most 1,098 days after `from`.
    pub to: Option<NaiveDate>,
    /// `day` (default), `week` (ISO weeks, Monday to Sunday) or `month`.
    #[param(inline)]
    pub granularity: Option<Granularity>,
}

impl BodyRules for SalesQuery {}

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

/// A CSV document (RFC 4180: CRLF line ends, a header row); the values here need no quoting.
fn csv_response(header_row: &[&str], rows: impl Iterator<Item = Vec<String>>) -> HttpResponse {
    let mut body = header_row.join(",");
    body.push_str("\r\n");
    for row in rows {
        body.push_str(&row.join(","));
        body.push_str("\r\n");
    }
    HttpResponse::Ok().content_type("text/csv; charset=utf-8").body(body)
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
    state: web::Data<AppState>,
    req: HttpRequest,
    query: Query<SalesQuery>,
) -> ApiResult<HttpResponse> {
    let query = query.0;
    let period = reports::period(query.from, query.to)?;
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
