//! `GET /dashboard`: the report page. Its HTML, script, styles and the chart library (Chart.js,
//! vendored from npm by `scripts/vendor-chartjs.sh`) are embedded in the binary: nothing is built
//! or fetched at run time. The page calls `/api/v1/reports/*` with a key the user gives it.

use super::problem::{ApiError, Problem};
use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpResponse};
use utoipa_actix_web::service_config::ServiceConfig;

const PAGE: &str = include_str!("../../static/dashboard/index.html");

/// The files the page loads: name, content type, content.
const ASSETS: &[(&str, &str, &str)] = &[
    ("dashboard.js", "text/javascript; charset=utf-8", include_str!("../../static/dashboard/dashboard.js")),
    ("dashboard.css", "text/css; charset=utf-8", include_str!("../../static/dashboard/dashboard.css")),
    (
        "chart.umd.min.js",
        "text/javascript; charset=utf-8",
        include_str!("../../static/dashboard/vendor/chart.umd.min.js"),
    ),
];

/// Revalidated on every load (the `ETag` makes that a 304): a new release shows at once.
fn embedded(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok().content_type(content_type).insert_header((header::CACHE_CONTROL, "no-cache")).body(body)
}

/// The dashboard
///
/// A page of KPI tiles with growth arrows, the revenue line, top categories, stock status,
/// workshop occupancy and income, and the debtors, over a date range the user picks. It asks once
/// for an API key with `reports:read` (kept in the browser tab) and reads `/api/v1/reports/*` with
/// it; the page itself needs no key. Served under a strict Content-Security-Policy (scripts and
/// styles from this origin only, nothing inline).
#[utoipa::path(
    tag = "dashboard",
    security(()),
    responses((status = 200, description = "The dashboard page", content_type = "text/html", body = String))
)]
#[get("/dashboard")]
pub async fn page() -> HttpResponse {
    embedded("text/html; charset=utf-8", PAGE)
}

/// A file of the dashboard
///
/// The page's script and styles and the chart library.
#[utoipa::path(
    tag = "dashboard",
    security(()),
    params(("file" = String, Path, description = "`dashboard.js`, `dashboard.css` or `chart.umd.min.js`", example = "dashboard.js")),
    responses(
        (status = 200, description = "The file", content(
            (String = "text/javascript"),
            (String = "text/css")
        )),
        (status = 404, description = "`route_not_found`: no such file")
    )
)]
#[get("/dashboard/assets/{file}")]
pub async fn asset(file: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = file.into_inner();
    match ASSETS.iter().find(|(known, _, _)| *known == name) {
        Some((_, content_type, body)) => Ok(embedded(content_type, body)),
        None => {
            Err(Problem::new(StatusCode::NOT_FOUND, "route_not_found", format!("the dashboard has no file {name}"))
                .into())
        }
    }
}

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(page).service(asset);
}
