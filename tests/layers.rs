//! The layers only depend downwards: api -> domain -> kernel. The crates
//! make an upward `use` a compile error; this keeps the manifests honest,
//! so nobody gives the kernel or the domain a GraphQL or HTTP crate (or a
//! crate of the layer above) to reach for.

use std::process::Command;

use serde_json::Value;

/// Crates of the API layer's trade: a dependency on one below the API is
/// an upward arrow.
const API_ONLY: &[&str] = &[
    "groundwork-api",
    "async-graphql",
    "async-graphql-axum",
    "axum",
    "hyper",
    "hyper-util",
    "tower",
    "tower-http",
    "metrics-exporter-prometheus",
    "opentelemetry",
    "tracing-opentelemetry",
];

fn dependencies(metadata: &Value, package: &str) -> Vec<(String, bool)> {
    let found = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == package)
        .unwrap_or_else(|| panic!("no package {package}"));
    found["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"].is_null())
        .map(|d| {
            let name = d["rename"]
                .as_str()
                .or(d["name"].as_str())
                .unwrap()
                .to_owned();
            (name, d["optional"].as_bool().unwrap_or(false))
        })
        .collect()
}

#[test]
fn no_layer_depends_on_one_above_it() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();

    let kernel = dependencies(&metadata, "groundwork-kernel");
    for (name, optional) in &kernel {
        assert!(
            !name.starts_with("groundwork-"),
            "the kernel depends on {name}"
        );
        // The one exception: the conversion of its error into GraphQL's,
        // behind a feature only the API turns on.
        if name == "async-graphql" {
            assert!(*optional, "the kernel depends on async-graphql for good");
            continue;
        }
        assert!(
            !API_ONLY.contains(&name.as_str()),
            "the kernel depends on {name}"
        );
    }
    let domain = dependencies(&metadata, "groundwork-domain");
    assert!(domain.iter().any(|(n, _)| n == "groundwork-kernel"));
    for (name, _) in &domain {
        assert!(
            !API_ONLY.contains(&name.as_str()),
            "the domain depends on {name}"
        );
    }
    // The kernel's GraphQL feature is the API's to turn on, never the domain's.
    let kernel_features = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "groundwork-domain")
        .unwrap()["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "groundwork-kernel")
        .unwrap()["features"]
        .clone();
    assert_eq!(kernel_features, Value::Array(Vec::new()));
}

/// The image builds the workspace, so it needs every member's folder: a
/// crate added to the workspace but not to the Dockerfile breaks only the
/// image build, which no other test runs.
#[test]
fn the_dockerfile_copies_every_workspace_member() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let copied: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("COPY "))
        .filter(|l| !l.starts_with("--from"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for member in manifest["workspace"]["members"].as_array().unwrap() {
        let member = member.as_str().unwrap();
        if member == "." {
            continue;
        }
        let top = member.split('/').next().unwrap();
        assert!(
            copied.contains(&top),
            "the Dockerfile does not COPY {top} (workspace member {member})"
        );
    }
}
