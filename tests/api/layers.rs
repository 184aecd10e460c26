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
