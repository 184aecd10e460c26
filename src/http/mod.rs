//! The HTTP layer (actix-web lives only here): routes, extractors, problem documents, the
//! OpenAPI document and the server.

pub mod dto;
pub mod extract;
pub mod health;
pub mod problem;
pub mod v1;

use crate::app::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{web, App, HttpResponse, HttpServer};
use extract::RouteTable;
use problem::{Problem, PROBLEM_JSON};
use tracing_actix_web::TracingLogger;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, ResponseBuilder};
use utoipa::OpenApi as _;
use utoipa_actix_web::{scope, AppExt, UtoipaApp};
use utoipa_swagger_ui::SwaggerUi;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Hybrid CRM API",
        description = "Clients (PostgreSQL) with their flexible info (MongoDB), merged into complete views.\n\n\
            Errors are `application/problem+json` (RFC 9457) with a stable `code`; validation errors list \
            the failing fields in `errors`. Lists use cursor pagination: pass `next_cursor` back as `cursor`.",
        license(name = "MIT")
    ),
    components(schemas(Problem)),
    tags(
        (name = "clients", description = "Clients and the complete client view"),
        (name = "client info", description = "The client's MongoDB document: comments, preferences, attributes"),
        (name = "companies", description = "B2B companies"),
        (name = "interests", description = "Interests clients can have"),
        (name = "stats", description = "Statistics computed by both databases"),
        (name = "health", description = "Liveness and readiness"),
    )
)]
struct ApiDoc;

fn register<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.openapi(ApiDoc::openapi()).configure(health::routes).service(scope::scope("/api/v1").configure(v1::routes))
}

/// Adds the error responses every operation can give, so each handler lists only its own.
fn add_common_responses(spec: &mut OpenApi) {
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(PROBLEM_JSON, ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build())
            .build()
    };
    let operations = spec.paths.paths.iter_mut().flat_map(|(_, item)| {
        [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
    });
    for operation in operations {
        let Operation { responses, request_body, parameters, .. } = operation;
        let has_params = parameters.as_ref().is_some_and(|p| !p.is_empty());
        let mut add = |status: &str, description: &str| {
            responses.responses.entry(status.to_string()).or_insert_with(|| problem(description).into());
        };
        if has_params || request_body.is_some() {
            add("400", "`malformed_json`, `invalid_path_parameter` or another unreadable request");
        }
        if request_body.is_some() {
            add("413", "`payload_too_large`");
            add("415", "`unsupported_media_type`: send application/json");
            add("422", "`validation_failed`: `errors` names each field");
        }
        if parameters
            .as_ref()
            .is_some_and(|p| p.iter().any(|p| p.parameter_in == utoipa::openapi::path::ParameterIn::Query))
        {
            add("422", "`validation_failed`: a query parameter is invalid");
        }
        add("503", "`store_unavailable`: a database does not answer; retry later");
    }
}

/// The OpenAPI document generated from the handlers (what `openapi` prints and the server serves).
pub fn openapi() -> OpenApi {
    let (_, mut spec) = register(App::new().into_utoipa_app()).split_for_parts();
    add_common_responses(&mut spec);
    spec
}

/// The whole application: API, Swagger UI, problem+json for every framework error.
pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let body_limit = state.settings.body_limit_bytes;
    let (app, mut spec) = register(App::new().into_utoipa_app()).split_for_parts();
    add_common_responses(&mut spec);
    let routes = RouteTable::from_spec(&spec);
    app.app_data(state)
        .app_data(web::PayloadConfig::new(body_limit))
        .app_data(web::QueryConfig::default().error_handler(extract::query_error))
        .app_data(web::PathConfig::default().error_handler(extract::path_error))
        .app_data(web::Data::new(routes))
        .service(SwaggerUi::new("/swagger-ui/{_:.*}").url("/api-docs/openapi.json", spec))
        .route(
            "/swagger-ui",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect().insert_header(("Location", "/swagger-ui/")).finish()
            }),
        )
        .default_service(web::to(extract::fallback))
        .wrap(TracingLogger::default())
}

/// Serves until SIGINT/SIGTERM, then drains in-flight requests (actix's graceful shutdown).
pub async fn serve(state: AppState) -> anyhow::Result<()> {
    let settings = state.settings.clone();
    let state = web::Data::new(state);
    let server = HttpServer::new(move || build_app(state.clone()))
        .workers(settings.workers)
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .bind((settings.host.as_str(), settings.port))?;
    tracing::info!(host = %settings.host, port = settings.port, "listening; Swagger UI at /swagger-ui/");
    server.run().await?;
    tracing::info!("server stopped");
    Ok(())
}
