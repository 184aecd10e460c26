//! The dependency direction of ARCHITECTURE.md, checked on the sources: `http` reaches the
//! stores only through `app`, and `app` never touches actix.

fn sources(dir: &str) -> Vec<(String, String)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("source dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((path.display().to_string(), std::fs::read_to_string(&path).expect("source")));
            }
        }
    }
    let mut out = Vec::new();
    walk(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut out);
    out
}

#[test]
fn layers_depend_downward_only() {
    for (path, text) in sources("src/http") {
        assert!(!text.contains("crate::store"), "{path} reaches a store directly; go through app");
    }
    for (path, text) in sources("src/app") {
        assert!(!text.contains("actix"), "{path} uses the web framework");
        assert!(!text.contains("utoipa"), "{path} describes wire types; they belong in http");
    }
    for (path, text) in sources("src/store") {
        assert!(!text.contains("crate::app") && !text.contains("crate::http"), "{path} depends upward");
    }
    for (path, text) in sources("src/domain") {
        for layer in ["crate::app", "crate::http", "crate::store", "diesel", "mongodb", "actix"] {
            assert!(!text.contains(layer), "{path} depends on {layer}");
        }
    }
}

/// The image builds from what the Dockerfile copies: every file the sources embed
/// (`include_str!`/`include_bytes!`) and the build script must be among it.
#[test]
fn the_dockerfile_copies_everything_the_binary_embeds() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).expect("Dockerfile");
    let copied: Vec<&str> = dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix("COPY "))
        .filter(|line| !line.starts_with("--from"))
        .flat_map(|line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            parts[..parts.len().saturating_sub(1)].to_vec()
        })
        .collect();
    for needed in ["build.rs", "migrations", "src"] {
        assert!(copied.contains(&needed), "{needed} (the build script, the embedded migrations, the code): {copied:?}");
    }
    for (path, text) in sources("src") {
        for marker in ["include_str!(\"", "include_bytes!(\""] {
            for embedded in text.split(marker).skip(1).filter_map(|rest| rest.split('"').next()) {
                // Relative to the source file: the first directory at the crate's root.
                let relative = std::path::Path::new(&path).strip_prefix(root).expect("inside the crate");
                let file = relative.parent().expect("dir").join(embedded);
                let normalized: Vec<String> = file.components().fold(Vec::new(), |mut parts, part| {
                    match part {
                        std::path::Component::ParentDir => {
                            parts.pop();
                        }
                        std::path::Component::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
                        _ => {}
                    }
                    parts
                });
                let top = normalized.first().expect("a path");
                assert!(
                    copied.contains(&top.as_str()),
                    "{path} embeds {embedded}, but the Dockerfile does not copy {top}"
                );
            }
        }
    }
}

/// Every structured response of the API is a type of the HTTP layer (a `…Response`, a page of
/// them, or a wire type named with `#[schema(as = …)]`), never a domain type serialized as it
/// is: the wire stays stable when the domain changes. The client's own free-form objects (their
/// preferences and attributes, returned as stored) and text bodies are what they are.
#[test]
fn every_response_body_is_a_type_of_the_http_layer() {
    let spec = hybrid_crm::http::openapi();
    let http: String = sources("src/http").into_iter().map(|(_, text)| text).collect();
    let own_objects = ["FreeFormObject", "Preferences"];
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                if !status.starts_with('2') {
                    continue;
                }
                let Some(content) = response["content"].as_object() else { continue };
                for (media, body) in content {
                    let Some(reference) = body["schema"]["$ref"].as_str() else {
                        assert!(!media.contains("json"), "{method} {path} {status}: an inline JSON body");
                        continue;
                    };
                    let name = reference.rsplit('/').next().unwrap_or_default();
                    let base = name.strip_prefix("PageOf_").unwrap_or(name);
                    let defined = http.contains(&format!("struct {base} ")) || http.contains(&format!("as = {base})"));
                    assert!(
                        defined || own_objects.contains(&base),
                        "{method} {path} {status} answers {name}, which is not a type of src/http"
                    );
                }
            }
        }
    }
}
