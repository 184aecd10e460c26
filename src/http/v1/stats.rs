//! `/api/v1/stats`

use crate::app::{stats, AppState};
use crate::http::dto::ClientStatsResponse;
use crate::http::problem::ApiResult;
use actix_web::{get, web};

#[utoipa::path(
    tag = "stats",
    responses(
        (status = 200, description = "Client statistics: SQL aggregates and a MongoDB aggregation pipeline. \
            If MongoDB is unavailable: `documents: null` and `degraded` set", body = ClientStatsResponse),
    )
)]
#[get("/stats/clients")]
pub async fn client_stats(state: web::Data<AppState>) -> ApiResult<web::Json<ClientStatsResponse>> {
    Ok(web::Json(stats::clients(&state).await?.into()))
}
