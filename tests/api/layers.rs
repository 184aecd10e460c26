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
