//! The routes of the generated spec, matched by path segments: which template a request is for
//! (metrics labels, the operation and scope it calls, audit subjects) and, for unrouted requests,
//! whether the path exists with another method (405 with `Allow`) or not at all (404).
//!
//! Asking actix for a request's pattern (`match_pattern`) routes the whole path again through
//! every resource's regex; comparing segments with the spec's templates costs a small fraction.

use super::problem::{ApiError, Problem};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::uri::{PathAndQuery, Uri};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage as _, HttpRequest, HttpResponse, ResponseError};
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

    pub fn allowed(&self, path: &str) -> Option<&[&'static str]> {
        self.route(path).map(|route| route.methods.as_slice())
    }
}

/// The segments of a path as the router compares them: `/a/` has an empty last segment.
fn split(path: &str) -> impl Iterator<Item = &str> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

/// Where a request goes, decided once from the path the router routes on (never the raw
/// request target): every middleware that depends on the operation (metrics, headers, access,
/// idempotency, audit) reads this, so none can disagree with the router.
#[derive(Debug, Clone)]
pub struct Routed {
    /// The path actix matches (`/%61pi/v1` is `/api/v1` here), after [`normalize`].
    pub path: Arc<str>,
    /// The spec's template for the path and method, when the spec has the path.
    pub template: Option<Arc<str>>,
    /// Under `/api/v1`: the access layer answers it, whatever it matches.
    pub api: bool,
}

impl Routed {
    pub fn of(req: &ServiceRequest) -> Routed {
        if let Some(known) = req.extensions().get::<Routed>() {
            return known.clone();
        }
        let path: Arc<str> = Arc::from(req.match_info().as_str());
        let template = req
            .app_data::<web::Data<RouteTable>>()
            .and_then(|routes| routes.template(&path))
            .or_else(|| req.match_pattern().map(Arc::from));
        let routed = Routed { api: is_api(&path), path, template };
        req.extensions_mut().insert(routed.clone());
        routed
    }
}

/// Whether the router sends `path` into the `/api/v1` scope.
pub fn is_api(path: &str) -> bool {
    path.strip_prefix("/api/v1").is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// One spelling per path, before anything looks at it: percent-escapes decoded once (`%25`
/// stays, so nothing is decoded twice), empty and `.` segments dropped, `..` resolved, and under
/// `/api/` no trailing slash. `/a%70i//v1/./clients/` is `/api/v1/clients` to every layer and
/// to the router, so another spelling of a path is the same operation with the same checks.
pub async fn normalize(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some(path) = canonical_path(req.path()) {
        let target = match req.uri().query() {
            Some(query) => format!("{path}?{query}"),
            None => path,
        };
        let Ok(path_and_query) = PathAndQuery::try_from(target) else {
            let problem = Problem::new(StatusCode::BAD_REQUEST, "invalid_path", "the request path cannot be read");
            return Ok(req.into_response(ApiError::from(problem).error_response()).map_into_right_body());
        };
        let mut parts = req.uri().clone().into_parts();
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = Uri::from_parts(parts) {
            req.match_info_mut().get_mut().update(&uri);
            req.head_mut().uri = uri;
        }
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

/// The canonical spelling of `raw`, or `None` when it is already canonical (most requests).
pub fn canonical_path(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let has_dots = raw.split('/').any(|segment| segment == "." || segment == "..");
    let api = raw.starts_with("/api/");
    let trailing_slash = api && raw.len() > 5 && raw.ends_with('/');
    if !(raw.contains('%') || raw.contains("//") || has_dots || trailing_slash) {
        return None;
    }
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok())
            .filter(|&byte| byte != b'%');
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                i += 3;
            }
            None => {
                decoded.push(bytes[i]);
                i += 1;
            }
        }
    }
    let mut segments: Vec<&[u8]> = Vec::new();
    for segment in decoded.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                segments.pop();
            }
            segment => segments.push(segment),
        }
    }
    let trailing = decoded.ends_with(b"/") && !segments.is_empty() && !segments[0].eq(b"api");
    let mut path = String::with_capacity(decoded.len() + 8);
    for segment in &segments {
        path.push('/');
        for &byte in *segment {
            if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&byte) {
                path.push(byte as char);
            } else {
                path.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    if path.is_empty() || trailing {
        path.push('/');
    }
    (path != raw).then_some(path)
}

/// Default service: 405 for a known path with another method, else 404; both as problems.
pub async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> HttpResponse {
    unrouted(Some(&routes), req.method(), req.match_info().as_str())
}

/// A request no operation serves: 405 with `Allow` for a path the spec has with other methods,
/// else 404 (the fallback's answer, and the access layer's under `/api/v1`).
pub fn unrouted(routes: Option<&RouteTable>, method: &actix_web::http::Method, path: &str) -> HttpResponse {
    let Some(methods) = routes.and_then(|routes| routes.allowed(path)) else {
        return not_found(path);
    };
    let allow = methods.join(", ");
    let mut response = ApiError::from(Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed here; use {allow}"),
    ))
    .error_response();
    if let Ok(value) = header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// The 404 problem for a path nothing serves.
pub fn not_found(path: &str) -> HttpResponse {
    ApiError::from(Problem::new(StatusCode::NOT_FOUND, "route_not_found", format!("no route for {path}")))
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
        assert_eq!(routes.template("/api/v1/orders/42/"), None, "the router does not match it either");
        assert_eq!(routes.template("/api/v1/clients/7"), None);
        assert_eq!(routes.allowed("/api/v1/orders/1"), Some(&["GET"][..]));
    }

    #[test]
    fn every_spelling_of_a_path_has_one_canonical_form() {
        let canonical = |raw: &str| canonical_path(raw).unwrap_or_else(|| raw.to_string());
        for raw in [
            "/api/v1/api-keys",
            "/%61pi/v1/api-keys",
            "/api/v1/api-k%65ys",
            "/api/v1/api-%6Beys",
            "/api/v1/api-%6beys",
            "/a%70i/v1/api-keys",
            "/api%2Fv1/api-keys",
            "/api%2fv1%2fapi-keys",
            "//api//v1///api-keys",
            "/api/v1/./api-keys",
            "/api/v1/clients/../api-keys",
            "/api/v1/%2e/api-keys",
            "/api/v1/clients/%2E%2E/api-keys",
            "/api/v1/api-keys/",
            "/api/v1/api-keys//",
        ] {
            assert_eq!(canonical(raw), "/api/v1/api-keys", "{raw}");
        }
        assert_eq!(canonical_path("/api/v1/clients"), None, "a canonical path is left alone");
        assert_eq!(canonical("/%2561pi/v1/clients"), "/%2561pi/v1/clients", "nothing is decoded twice");
        assert_eq!(canonical("/swagger-ui/"), "/swagger-ui/", "pages keep their trailing slash");
        assert_eq!(canonical("/api/v1/clients/a%20b"), "/api/v1/clients/a%20b");
        assert_eq!(canonical("/api/v1/clients/%C3%A9"), "/api/v1/clients/%C3%A9");
        assert_eq!(canonical("/../.."), "/");
        assert_eq!(canonical("/api/v1/x%zz"), "/api/v1/x%zz");
    }
}
