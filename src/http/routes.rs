//! The routes of the generated spec, matched by path segments: which template a request is for
//! (metrics labels, the operation and scope it calls, audit subjects) and, for unrouted requests,
//! whether the path exists with another method (405 with `Allow`) or not at all (404).
//!
//! Asking actix for a request's pattern (`match_pattern`) routes the whole path again through
//! every resource's regex; comparing segments with the spec's templates costs a small fraction.

use super::problem::{ApiError, Problem};
use actix_web::dev::ServiceRequest;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage as _, HttpRequest, HttpResponse};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Parameter,
}

#[derive(Debug, Clone)]
struct Route {
    template: Arc<str>,
    segments: Vec<Segment>,
    methods: Vec<&'static str>,
}

impl Route {
    fn new(template: &str, methods: Vec<&'static str>) -> Route {
        let segments = split(template)
            .map(|part| if part.starts_with('{') { Segment::Parameter } else { Segment::Literal(part.to_string()) })
            .collect();
        Route { template: Arc::from(template), segments, methods }
    }

    fn matches(&self, wanted: &[&str]) -> bool {
        self.segments.len() == wanted.len()
            && self.segments.iter().zip(wanted).all(|(segment, part)| match segment {
                Segment::Literal(text) => text == part,
                Segment::Parameter => !part.is_empty(),
            })
    }

    /// Where two templates match the same path, the one with literals earlier wins
    /// (`/orders/stats` over `/orders/{id}`).
    fn specificity(&self) -> impl Iterator<Item = bool> + '_ {
        self.segments.iter().map(|segment| matches!(segment, Segment::Literal(_)))
    }
}

/// The spec's paths, each with its methods.
#[derive(Debug, Clone, Default)]
pub struct RouteTable(Vec<Route>);

impl RouteTable {
    pub fn from_spec(spec: &utoipa::openapi::OpenApi) -> Self {
        let routes = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let operations = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ];
                Route::new(path, operations.into_iter().filter(|(_, present)| *present).map(|(name, _)| name).collect())
            })
            .collect();
        RouteTable(routes)
    }

    fn route(&self, path: &str) -> Option<&Route> {
        let wanted: Vec<&str> = split(path).collect();
        self.0.iter().filter(|route| route.matches(&wanted)).max_by(|a, b| a.specificity().cmp(b.specificity()))
    }

    /// The template of the spec path that `path` is an instance of.
    pub fn template(&self, path: &str) -> Option<Arc<str>> {
        self.route(path).map(|route| route.template.clone())
    }

    fn allowed(&self, path: &str) -> Option<&[&'static str]> {
        self.route(path).map(|route| route.methods.as_slice())
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.trim_matches('/').split('/')
}

/// The route template of a request (`/api/v1/clients/{id}`), found once by the outermost
/// middleware that needs it: from the spec, else (Swagger UI) from actix's own routing.
#[derive(Debug, Clone)]
pub struct RouteTemplate(pub Option<Arc<str>>);

impl RouteTemplate {
    pub fn of(req: &ServiceRequest) -> Option<Arc<str>> {
        if let Some(known) = req.extensions().get::<RouteTemplate>() {
            return known.0.clone();
        }
        let template = req
            .app_data::<web::Data<RouteTable>>()
            .and_then(|routes| routes.template(req.path()))
            .or_else(|| req.match_pattern().map(Arc::from));
        req.extensions_mut().insert(RouteTemplate(template.clone()));
        template
    }
}

/// Default service: 405 for a known path with another method, else 404; both as problems.
pub async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> HttpResponse {
    use actix_web::ResponseError;
    if let Some(methods) = routes.allowed(req.path()) {
        let allow = methods.join(", ");
        let mut response = ApiError::from(Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not allowed here; use {allow}", req.method()),
        ))
        .error_response();
        if let Ok(value) = header::HeaderValue::from_str(&allow) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        return response;
    }
    ApiError::from(Problem::new(StatusCode::NOT_FOUND, "route_not_found", format!("no route for {}", req.path())))
        .error_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(paths: &[(&str, &[&'static str])]) -> RouteTable {
        RouteTable(paths.iter().map(|(path, methods)| Route::new(path, methods.to_vec())).collect())
    }

    #[test]
    fn a_path_finds_its_template_and_literals_win_over_parameters() {
        let routes = table(&[
            ("/api/v1/orders/{id}", &["GET"]),
            ("/api/v1/orders/stats", &["GET"]),
            ("/api/v1/clients/{id}/view", &["GET"]),
        ]);
        assert_eq!(routes.template("/api/v1/orders/42").as_deref(), Some("/api/v1/orders/{id}"));
        assert_eq!(routes.template("/api/v1/orders/stats").as_deref(), Some("/api/v1/orders/stats"));
        assert_eq!(routes.template("/api/v1/clients/7/view").as_deref(), Some("/api/v1/clients/{id}/view"));
        assert_eq!(routes.template("/api/v1/clients//view"), None);
        assert_eq!(routes.template("/api/v1/clients/7"), None);
        assert_eq!(routes.allowed("/api/v1/orders/1"), Some(&["GET"][..]));
    }
}
