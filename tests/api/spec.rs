//! The committed spec is the generated one, and it documents every error.

#[test]
fn the_committed_openapi_document_matches_the_generated_one() {
    let generated = serde_json::to_string_pretty(&hybrid_crm::http::openapi()).expect("spec serializes");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, format!("{generated}\n")).expect("write spec");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test --test api spec` \
         (or `hybrid-crm openapi > openapi/openapi.json`)"
    );
}

#[test]
fn every_operation_has_a_unique_id_and_documents_its_errors_as_problems() {
    let spec = hybrid_crm::http::openapi();
    let paths = spec["paths"].as_object().expect("paths");
    assert_eq!(paths.len(), 107, "every route is in the spec");
    let mut ids = std::collections::HashSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("path item") {
            let id = operation["operationId"].as_str();
            assert!(id.is_some(), "{method} {path} lacks an operationId");
            assert!(
                ids.insert(id),
                "{method} {path} repeats the operationId {id:?} (generated clients need them unique)"
            );
            let unavailable = &operation["responses"]["503"]["content"];
            // Readiness answers 503 with its own health body; everything else with a problem.
            let expected = if path == "/health/ready" { "application/json" } else { "application/problem+json" };
            assert!(unavailable[expected].is_object(), "{method} {path} lacks a 503 as {expected}");
        }
    }
}

#[test]
fn every_operation_has_a_summary_and_a_description_of_its_own() {
    let spec = hybrid_crm::http::openapi();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let text = |key: &str| operation[key].as_str().unwrap_or_default().trim().to_string();
            let (summary, description) = (text("summary"), text("description"));
            assert!(!summary.is_empty(), "{method} {path} lacks a summary (the doc comment's first line)");
            assert!(
                description.len() > summary.len() && description != summary,
                "{method} {path} lacks a description (a paragraph after the doc comment's first line)"
            );
        }
    }
}

/// Every change of a resource can be made conditional: every PATCH and PUT, and every DELETE but
/// an API key's revocation, a comment's removal and a session's end (none has versions: a key is
/// revoked once, a comment is never edited, a session only ends), takes `If-Match` and documents
/// its 412 and the new `ETag`.
#[test]
fn every_change_of_a_resource_takes_if_match() {
    let spec = hybrid_crm::http::openapi();
    let unversioned = [
        "/api/v1/api-keys/{id}",
        "/api/v1/clients/{id}/comments/{comment_id}",
        "/api/v1/auth/sessions/{id}",
        "/api/v1/store/auth/sessions/{id}",
    ];
    let mut conditional = 0;
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let takes = operation["parameters"]
                .as_array()
                .is_some_and(|parameters| parameters.iter().any(|p| p["name"] == "If-Match" && p["in"] == "header"));
            let must = matches!(method.as_str(), "patch" | "put")
                || (method == "delete" && path.starts_with("/api/v1/") && !unversioned.contains(&path.as_str()));
            assert!(!must || takes, "{method} {path} does not take If-Match");
            if takes {
                conditional += 1;
                let refusal = &operation["responses"]["412"]["content"]["application/problem+json"];
                assert!(refusal.is_object(), "{method} {path} does not document its 412");
                if let Some(ok) = operation["responses"].get("200") {
                    assert!(ok["headers"]["ETag"].is_object(), "{method} {path} does not document its new ETag");
                }
            }
        }
    }
    assert_eq!(
        conditional, 32,
        "PATCH and DELETE of 8 resources, PATCH of users, of a customer's profile and of a client's account, PUT and PATCH of 2 maps, \
         2 order status changes, a customer's cancel, the cart's five writes and a customer's preferences"
    );
}

#[test]
fn free_form_schemas_forbid_operator_and_dotted_keys() {
    let spec = hybrid_crm::http::openapi();
    let pattern =
        spec["components"]["schemas"]["FreeFormObject"]["propertyNames"]["pattern"].as_str().expect("pattern");
    assert_eq!(pattern, r"^[^$.\u0000][^.\u0000]{0,99}$");
    assert_eq!(spec["components"]["schemas"]["Preferences"]["propertyNames"]["pattern"], pattern);
}

#[test]
fn the_postman_collection_calls_every_operation_of_the_spec() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("postman/hybrid-crm.postman_collection.json");
    let collection: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("collection")).expect("collection is JSON");
    // (method, path segments) of every request; `{{variable}}` segments match any path parameter.
    let mut requests = Vec::new();
    for folder in collection["item"].as_array().expect("folders") {
        for item in folder["item"].as_array().expect("requests") {
            let method = item["request"]["method"].as_str().expect("method").to_ascii_lowercase();
            let segments: Vec<String> = item["request"]["url"]["path"]
                .as_array()
                .expect("path")
                .iter()
                .map(|s| s.as_str().unwrap_or("").to_string())
                .collect();
            requests.push((method, segments));
        }
    }
    let spec = hybrid_crm::http::openapi();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        let wanted: Vec<&str> = path.trim_matches('/').split('/').collect();
        for method in item.as_object().expect("path item").keys() {
            let covered = requests.iter().any(|(m, segments)| {
                m == method
                    && segments.iter().filter(|s| !s.is_empty()).count() == wanted.len()
                    && segments.iter().zip(&wanted).all(|(s, w)| s == w || (w.starts_with('{') && !s.is_empty()))
            });
            assert!(covered, "the Postman collection never calls {} {path}", method.to_uppercase());
        }
    }
}

#[test]
fn the_postman_collection_is_what_its_generator_makes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let check = std::process::Command::new("python3")
        .arg(root.join("postman/generate.py"))
        .arg("--check")
        .output()
        .expect("python3 runs the generator");
    assert!(
        check.status.success(),
        "edit postman/generate.py, not the collection, then run it: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

/// A path with its ids and parameters as `*`.
fn shape(path: &str) -> Vec<String> {
    path.split('/').map(|s| if s.starts_with('{') || s.len() == 36 { "*".into() } else { s.to_string() }).collect()
}

#[test]
fn every_resource_path_the_code_builds_is_an_operation_of_the_spec() {
    use hybrid_crm::domain::ids::{ClientId, CommentId, DeliveryId, Located, Nested, PaymentId, RefundId};
    use hybrid_crm::domain::ids::{WebhookEndpointId, API_BASE, COLLECTIONS};
    let spec = hybrid_crm::http::openapi();
    let paths = spec["paths"].as_object().expect("paths");
    for collection in COLLECTIONS {
        let template = format!("{API_BASE}/{collection}/{{id}}");
        assert!(paths[&template]["get"].is_object(), "Location of a {collection} item: no GET {template}");
    }
    // Nested resources: the path built for them is a GET of the spec too.
    let id = uuid::Uuid::nil();
    let nested = [
        (RefundId(id).path(PaymentId(id)), "/api/v1/payments/{id}/refunds/{refund_id}"),
        (CommentId(id).path(ClientId(id)), "/api/v1/clients/{id}/comments/{comment_id}"),
        (DeliveryId(id).path(WebhookEndpointId(id)), "/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}"),
    ];
    for (built, template) in nested {
        assert!(paths[template]["get"].is_object(), "no GET {template}");
        assert_eq!(shape(&built), shape(template), "{built} is not {template}");
    }
    assert_eq!(ClientId(id).path(), format!("/api/v1/clients/{id}"));
}
