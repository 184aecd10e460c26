//! The OpenAPI document: generated from the handlers by utoipa, then completed here.

use super::problem::{Problem, PROBLEM_JSON};
use super::v1;
use super::{dashboard, health};
use crate::domain::free_form::{FreeFormObject, Preferences};
use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::App;
use serde_json::{json, Value};
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{OpenApi as _, ToSchema};
use utoipa_actix_web::{scope, AppExt, UtoipaApp};

/// Free-form keys: not empty, no leading `$`, no `.`, no NUL, at most 100 characters.
pub const KEY_PATTERN: &str = r"^[^$.\u0000][^.\u0000]{0,99}$";
/// Text without NUL characters.
pub const TEXT_PATTERN: &str = r"^[^\u0000]*$";

fn free_form_object() -> Value {
    json!({
        "type": "object",
        "description": "Free-form JSON object stored in MongoDB. Keys, at every depth, must not be empty, \
            start with `$`, contain `.` or NUL, or exceed 100 characters; text must not contain NUL; nesting is capped at 8 levels and the whole \
            object at 16 KiB serialized (checked on the merged result for PATCH).",
        "propertyNames": {"pattern": KEY_PATTERN},
        "additionalProperties": true,
        "example": {"shirt_size": "M", "newsletter": true}
    })
}

fn preferences() -> Value {
    json!({
        "type": "object",
        "description": "Client preferences stored in MongoDB. The known keys are typed; any other key is \
            free-form (same rules as FreeFormObject). `null` values clear a key in a merge patch.",
        "properties": {
            "language": {"type": ["string", "null"], "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$", "example": "pt-BR"},
            "payment_method": {"type": ["string", "null"], "minLength": 1, "maxLength": 50, "pattern": TEXT_PATTERN, "example": "card"},
            "notifications": {
                "description": "On/off for all channels, or per channel.",
                "anyOf": [
                    {"type": ["boolean", "null"]},
                    {"type": "object", "propertyNames": {"pattern": KEY_PATTERN}, "additionalProperties": {"type": "boolean"}}
                ]
            }
        },
        "propertyNames": {"pattern": KEY_PATTERN},
        "additionalProperties": true,
        "example": {"language": "en", "payment_method": "card", "notifications": {"email": true, "sms": false}}
    })
}

/// Adds the NUL-free pattern to every plain text schema (no format, enum or pattern of its own).
fn forbid_nul_in_text(node: &mut Value) {
    match node {
        Value::Object(map) => {
            let is_text = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            // A password is text like any other (its format only asks tools to hide it).
            let formatted = map.get("format").is_some_and(|f| f != "password");
            if is_text && !formatted && !map.contains_key("enum") && !map.contains_key("pattern") {
                map.insert("pattern".into(), Value::String(TEXT_PATTERN.into()));
            }
            for (key, child) in map.iter_mut() {
                // Examples are data, not schemas.
                if key != "example" && key != "examples" {
                    forbid_nul_in_text(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_nul_in_text),
        _ => {}
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Hybrid CRM API",
        description = "Clients (PostgreSQL) with their flexible info (MongoDB), merged into complete views.\n\n\
            Errors are `application/problem+json` (RFC 9457) with a stable `code`; validation errors list \
            the failing fields in `errors`. Lists use cursor pagination: pass `next_cursor` back as `cursor`.",
        license(name = "MIT", identifier = "MIT")
    ),
    servers((url = "/", description = "The server this document was fetched from")),
    components(schemas(Problem)),
    tags(
        (name = "clients", description = "Clients and the complete client view"),
        (name = "client info", description = "The client's MongoDB document: comments, preferences, attributes"),
        (name = "companies", description = "B2B companies"),
        (name = "interests", description = "Interests clients can have"),
        (name = "catalog", description = "Categories, products and stock movements"),
        (name = "coupons", description = "Discount codes for orders"),
        (name = "orders", description = "Orders, their status machine and the complete order view"),
        (name = "workshops", description = "Workshops with limited seats, and enrolling in them"),
        (name = "enrollments", description = "Enrollments, their payments and the debtors list"),
        (name = "payments", description = "One ledger of payments for orders, enrollments and plan subscriptions: \
            card and PayPal through the gateway (sandbox tokens `tok_visa`, `tok_declined`, `tok_insufficient_funds`, \
            `tok_processing_error`, `tok_slow`, `tok_refund_declined`: charged, then every refund declined; only with \
            `PAYMENT_GATEWAY=sandbox`), cash and bank transfers recorded by staff; refunds"),
        (name = "plans", description = "Plans and client subscriptions, paid like any other subject"),
        (name = "events", description = "The event feed: every change that matters, in commit order, resumable by `sequence`"),
        (name = "webhooks", description = "Webhook endpoints (Standard Webhooks signatures), their deliveries and attempts"),
        (name = "notifications", description = "Messages to clients (SMTP or the server log), each with its outcome; the client's MongoDB preferences can turn them off"),
        (name = "stats", description = "Statistics computed by both databases"),
        (name = "reports", description = "Business figures over a period of UTC days, exact, from daily rollups and the base tables; JSON or CSV"),
        (name = "access", description = "API keys (admin) and the audit log of every write"),
        (name = "auth", description = "Staff sign-in: access and refresh tokens, one's sessions, profile and password"),
        (name = "users", description = "Staff users (admin): who signs in, with which role"),
        (name = "store", description = "The store API for customers: register, verify the email, sign in, reset a \
            password, and one's own profile and orders"),
        (name = "storefront", description = "The public catalog a storefront reads with its publishable key \
            (`X-Publishable-Key`): active products with price and whether in stock, categories, upcoming workshops \
            with seats left"),
        (name = "health", description = "Liveness and readiness"),
        (name = "dashboard", description = "The report page for people, served by the API itself"),
    )
)]
struct ApiDoc;

pub fn register<T>(app: UtoipaApp<T>) -> UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    app.openapi(ApiDoc::openapi())
        .configure(health::routes)
        .configure(dashboard::routes)
        .service(scope::scope("/api/v1").configure(v1::routes))
}

/// Adds the error responses every operation can give, so each handler lists only its own, and
/// gives every error response the problem body (handlers name only status and codes).
fn add_common_responses(spec: &mut OpenApi) {
    let problem_content = || ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    let problem = |description: &str| {
        ResponseBuilder::new().description(description).content(PROBLEM_JSON, problem_content()).build()
    };
    let operations = spec.paths.paths.iter_mut().flat_map(|(path, item)| {
        let api = path.starts_with(super::access::API_PREFIX);
        [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch]
            .into_iter()
            .flatten()
            .map(move |operation| (api, operation))
    });
    for (api, operation) in operations {
        let Operation { responses, request_body, parameters, security, .. } = operation;
        for (status, response) in responses.responses.iter_mut() {
            let error = status.parse::<u16>().is_ok_and(|status| status >= 400);
            match response {
                RefOr::T(response) if error && response.content.is_empty() => {
                    response.content.insert(PROBLEM_JSON.to_string(), problem_content().into());
                }
                _ => {}
            }
        }
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
            .is_some_and(|p| p.iter().any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Query)))
        {
            add("422", "`validation_failed`: a query parameter is invalid");
        }
        add("503", "`store_unavailable`: a database does not answer; retry later");
        let public = security
            .as_ref()
            .is_some_and(|s| s.len() == 1 && serde_json::to_value(&s[0]).is_ok_and(|v| v == json!({})));
        if api && public {
            add("429", "`rate_limited`: too many requests from this address; retry after `Retry-After` seconds");
        } else if api {
            add("401", "`unauthenticated`: no API key or access token, or one that is unknown, expired or revoked");
            add("403", "`forbidden`: the caller lacks the operation's scope (`details.required_scope`)");
            add("429", "`rate_limited`: over the caller's rate limit; retry after `Retry-After` seconds");
        }
    }
}

/// The OpenAPI document generated from the handlers: what `openapi` prints and the server serves.
pub fn openapi() -> Value {
    let (_, spec) = register(App::new().into_utoipa_app()).split_for_parts();
    finish(spec)
}

/// Completes the generated document with what utoipa cannot express from the types: the
/// common error responses, the rules of free-form objects, and "no NUL characters" for text
/// (PostgreSQL cannot store them).
pub fn finish(mut spec: OpenApi) -> Value {
    add_common_responses(&mut spec);
    let mut document = serde_json::to_value(&spec).unwrap_or(Value::Null);
    if let Some(schemas) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        schemas.insert(FreeFormObject::name().into_owned(), free_form_object());
        schemas.insert(Preferences::name().into_owned(), preferences());
    }
    forbid_nul_in_text(&mut document);
    add_idempotency_key(&mut document);
    add_access(&mut document);
    add_preconditions(&mut document);
    document
}

/// Every operation that takes `If-Match` can answer 412 and returns the new `ETag`; so does the
/// POST that creates such a resource.
fn add_preconditions(document: &mut Value) {
    let Some(paths) = document.pointer_mut("/paths").and_then(Value::as_object_mut) else {
        return;
    };
    let etag = json!({"$ref": "#/components/headers/ETag"});
    let mut collections = Vec::new();
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for operation in item.values_mut() {
            let conditional = operation["parameters"]
                .as_array()
                .is_some_and(|parameters| parameters.iter().any(|p| p["name"] == "If-Match"));
            if !conditional {
                continue;
            }
            if let Some(collection) = path.strip_suffix("/{id}") {
                collections.push(collection.to_string());
            }
            let responses = &mut operation["responses"];
            responses["412"] = json!({
                "description": "`version_mismatch`: `If-Match` names no current tag; `current_etag` is the one to reload",
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
            });
            if responses.get("200").is_some() {
                responses["200"]["headers"]["ETag"] = etag.clone();
            }
        }
    }
    for collection in collections {
        if let Some(created) = paths.get_mut(&collection).and_then(|item| item.pointer_mut("/post/responses/201")) {
            created["headers"]["ETag"] = etag.clone();
        }
    }
}

/// The `Idempotency-Key` header on every POST under `/api/v1` but signing in (required on
/// payments and refunds), as two reusable parameters, with the problems it can cause.
fn add_idempotency_key(document: &mut Value) {
    let parameter = |required: bool| {
        json!({
            "name": "Idempotency-Key",
            "in": "header",
            "required": required,
            "description": "Makes the request safe to send again: the same key with the same request replays the \
                first response (`Idempotent-Replayed: true`); with another request it is 422 `idempotency_key_reused`; \
                while the first still runs, 409 `idempotency_key_in_use`. A first request that failed with a 5xx, or was \
                refused before any work (400, 422: send the corrected request with the same key), does not keep its \
                key. Keys are kept 24 hours. Use a fresh random value (a UUID) per operation.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]{1,255}$"}
        })
    };
    if let Some(components) = document.pointer_mut("/components").and_then(Value::as_object_mut) {
        let parameters = components.entry("parameters").or_insert_with(|| json!({}));
        parameters["IdempotencyKey"] = parameter(false);
        parameters["IdempotencyKeyRequired"] = parameter(true);
    }
    let Some(paths) = document.pointer_mut("/paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        // Signing in has no caller to keep keys for (a retry signs in again: a session more).
        let public = |post: &Value| super::access::declared_requirement(post) == super::access::Requirement::Public;
        let Some(post) = item.get_mut("post").filter(|post| path.starts_with("/api/v1/") && !public(post)) else {
            continue;
        };
        let required = super::idempotency::requires_key(path);
        let name = if required { "IdempotencyKeyRequired" } else { "IdempotencyKey" };
        let reference = json!({"$ref": format!("#/components/parameters/{name}")});
        match post.get_mut("parameters").and_then(Value::as_array_mut) {
            Some(parameters) => parameters.push(reference),
            None => post["parameters"] = json!([reference]),
        }
        let responses = &mut post["responses"];
        responses["303"] = json!({
            "description": "The first request with this `Idempotency-Key` took effect but its process stopped before \
                answering: `Location` names what it created (fetch it instead of retrying)",
            "headers": {"Location": {"schema": {"type": "string"}, "description": "The resource the first request created"}}
        });
        let mut mention = |status: &str, codes: &str| {
            let response = &mut responses[status];
            if response.is_null() {
                *response = json!({
                    "description": codes,
                    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
                });
            } else if let Some(description) = response.get_mut("description") {
                *description = Value::String(format!("{}; {codes}", description.as_str().unwrap_or_default()));
            }
        };
        let missing = if required { "`idempotency_key_required` or " } else { "" };
        mention("400", &format!("{missing}`invalid_idempotency_key`"));
        mention("409", "`idempotency_key_in_use`");
        mention("422", "`idempotency_key_reused`");
    }
}

/// The API key scheme, and on every secured response the headers the access layer adds; on
/// every GET the `ETag` and the 304 it allows.
fn add_access(document: &mut Value) {
    if let Some(components) = document.pointer_mut("/components").and_then(Value::as_object_mut) {
        let schemes = components.entry("securitySchemes").or_insert_with(|| json!({}));
        schemes[super::access::SCHEME] = json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "hcrm_…",
            "description": "An API key (`hcrm_` and 43 characters) as a bearer token. Each operation names the \
                one scope it needs (`family:read` or `family:write`; `write` includes `read`). Roles: `admin` (all), \
                `manager` (all but `admin`), `sales` (clients, orders, workshops, payments; reads catalog and reports), \
                `inventory` (catalog; reads orders, workshops, reports), `support` (clients; reads orders, workshops, \
                payments, catalog), `readonly` (reads all but `admin` and `webhooks`). A scope sees only its family, \
                embedded or not: a response that embeds another family's data (the order view's client, the client \
                view's activity, timeline entries, notification texts, events, report names) shows it only with that \
                family's read scope; otherwise the part is `null` or left out and `withheld` names it with the scope \
                that would show it. Webhook endpoints belong to the key that created them (admins see all)."
        });
        schemes[super::access::SESSION_SCHEME] = json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "hcrm_at_…",
            "description": "A staff user's access token (`hcrm_at_` and 43 characters) from `POST /auth/sign-in` or \
                `POST /auth/refresh`, as a bearer token; it works for minutes (`expires_in`). It carries the scopes of the \
                user's role and passes every operation that role's API key would. Operations on one's own account \
                (`/auth/sessions`, `/auth/password`, `/auth/me`, `/auth/sign-out`) need it and take no API key. Signing \
                out, a password change, a new role or a disabled user ends the session at once on every replica."
        });
        schemes[super::access::STORE_SCHEME] = json!({
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "hcrm_at_…",
            "description": "A customer's access token from `POST /store/auth/sign-in` or `POST /store/auth/refresh`. It \
                holds no scope: it passes only the store's own operations (`/store/me…`, `/store/auth/…`), each acting \
                on the signed-in customer's own records; anything else answers 403."
        });
        schemes[super::access::PUBLISHABLE_SCHEME] = json!({
            "type": "apiKey",
            "in": "header",
            "name": "X-Publishable-Key",
            "description": "A storefront's publishable key (`hcrm_pk_` and 43 characters), made by an admin with \
                `POST /api-keys` {kind: \"publishable\", allowed_origins}. It is meant to ship inside the storefront's \
                pages: it reads the public catalog (`/store/products`, `/store/categories`, `/store/workshops`) and \
                nothing else, and browsers may use it only from its `allowed_origins` (CORS). Its rate limit counts \
                each address apart."
        });
        let headers = components.entry("headers").or_insert_with(|| json!({}));
        for (name, description) in [
            ("RateLimit-Limit", "The key's burst size (requests)"),
            ("RateLimit-Remaining", "Requests left in the bucket now"),
            ("RateLimit-Reset", "Seconds until the bucket is full again"),
        ] {
            headers[name] = json!({"description": description, "schema": {"type": "integer", "minimum": 0}});
        }
        headers["ETag"] = json!({
            "description": "The representation's tag: send it in `If-None-Match` to get 304 when nothing changed. \
                A strong tag (`\"3\"`, on resources that take `If-Match`) names the version a write may require.",
            "schema": {"type": "string"}
        });
    }
    let Some(paths) = document.pointer_mut("/paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (_, item) in paths.iter_mut().filter(|(path, _)| path.starts_with(super::access::API_PREFIX)) {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            // A staff session with the same scope passes every operation a key with it does.
            if let Some(requirements) = operation.get_mut("security").and_then(Value::as_array_mut) {
                let scoped: Vec<Value> =
                    requirements.iter().filter_map(|r| r.get(super::access::SCHEME).cloned()).collect();
                for scopes in scoped {
                    requirements.push(json!({ super::access::SESSION_SCHEME: scopes }));
                }
            }
            let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            for (status, response) in responses.iter_mut() {
                let Some(response) = response.as_object_mut() else { continue };
                let headers = response.entry("headers").or_insert_with(|| json!({}));
                for name in ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"] {
                    headers[name] = json!({"$ref": format!("#/components/headers/{name}")});
                }
                if method == "get" && status == "200" {
                    headers["ETag"] = json!({"$ref": "#/components/headers/ETag"});
                }
                if status == "429" {
                    headers["Retry-After"] =
                        json!({"description": "Seconds to wait", "schema": {"type": "integer", "minimum": 1}});
                }
                if status == "401" {
                    headers["WWW-Authenticate"] =
                        json!({"description": "`Bearer realm=\"hybrid-crm\"`", "schema": {"type": "string"}});
                }
            }
            if method == "get" {
                responses.insert(
                    "304".into(),
                    json!({
                        "description": "Not modified: `If-None-Match` names the current `ETag` (no body)",
                        "headers": {"ETag": {"$ref": "#/components/headers/ETag"}}
                    }),
                );
                let parameter = json!({
                    "name": "If-None-Match",
                    "in": "header",
                    "required": false,
                    "description": "An `ETag` from an earlier response: 304 without a body when it is still current",
                    "schema": {"type": "string"}
                });
                match operation.get_mut("parameters").and_then(Value::as_array_mut) {
                    Some(parameters) if !parameters.iter().any(|p| p["name"] == "If-None-Match") => {
                        parameters.push(parameter)
                    }
                    Some(_) => {}
                    None => operation["parameters"] = json!([parameter]),
                }
            }
        }
    }
}
