//! The committed spec is the generated one.

#[test]
fn the_committed_openapi_document_matches_the_generated_one() {
    let generated = hybrid_crm::http::openapi().to_pretty_json().expect("spec serializes");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, format!("{generated}\n")).expect("write spec");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: run `UPDATE_OPENAPI=1 cargo test --test api spec` (or `hybrid-crm openapi > openapi/openapi.json`)"
    );
}

#[test]
fn every_operation_documents_its_errors_as_problems() {
    let spec = hybrid_crm::http::openapi();
    for (path, item) in &spec.paths.paths {
        for (method, operation) in [
            ("get", &item.get),
            ("post", &item.post),
            ("put", &item.put),
            ("patch", &item.patch),
            ("delete", &item.delete),
        ] {
            let Some(operation) = operation else { continue };
            assert!(operation.responses.responses.contains_key("503"), "{method} {path} lacks 503");
            assert!(operation.operation_id.is_some(), "{method} {path} lacks an operationId");
        }
    }
}
