//! The web client example (examples/web-client) against a server that runs
//! only its persisted-documents manifest: every operation sent the way
//! src/client.ts sends it, by `documentId` over HTTP and by hash over the
//! WebSocket. A server change that would break the committed client fails
//! here, without npm.

use std::collections::HashMap;

use async_graphql::parser::{parse_query, types::DocumentOperations};
use serde_json::{Value, json};

use crate::support::{
    GqlResponse, PASSWORD, TestApp, TestConfig,
    ws::{Auth, Subscription},
};

const MANIFEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/web-client/src/gql/persisted-documents.json"
);

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The manifest's documents by operation name.
struct Operations(HashMap<String, Document>);

struct Document {
    /// The key as codegen writes it and the client sends it: `sha256:<hex>`.
    id: String,
    text: String,
}

impl Operations {
    fn load() -> Self {
        let text = std::fs::read_to_string(MANIFEST).expect("the web client's manifest");
        let manifest: HashMap<String, String> = serde_json::from_str(&text).unwrap();
        let mut by_name = HashMap::new();
        for (id, text) in manifest {
            let parsed = parse_query(&text).unwrap_or_else(|e| panic!("{id}: {e}"));
            let DocumentOperations::Multiple(operations) = parsed.operations else {
                panic!("{id} has an anonymous operation; the client's are named");
            };
            assert_eq!(operations.len(), 1, "{id} has several operations");
            let name = operations.keys().next().unwrap().to_string();
            by_name.insert(name, Document { id, text });
        }
        Self(by_name)
    }

    fn get(&self, name: &str) -> &Document {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("no {name} in {MANIFEST}"))
    }
}

/// A server that runs the web client's manifest and nothing else.
async fn trusted_app() -> TestApp {
    TestApp::spawn_with(
        TestConfig::default()
            .var("PERSISTED_DOCUMENTS", "only")
            .var("PERSISTED_DOCUMENTS_MANIFEST", MANIFEST),
    )
    .await
}

/// A POST as the client's `execute` makes it.
async fn post(app: &TestApp, token: Option<&str>, body: Value) -> GqlResponse {
    let mut request = reqwest::Client::new()
        .post(app.url("/graphql"))
        .header("accept", GRAPHQL_RESPONSE_JSON)
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = GqlResponse::read(request.send().await.expect("request sent")).await;
    assert_eq!(
        response.headers["content-type"], GRAPHQL_RESPONSE_JSON,
        "{body}"
    );
    response
}

async fn execute(
    app: &TestApp,
    ops: &Operations,
    token: Option<&str>,
    name: &str,
    variables: Value,
) -> Value {
    let body = json!({ "documentId": ops.get(name).id, "variables": variables });
    let response = post(app, token, body).await;
    assert_eq!(response.status, 200, "{name}: {}", response.body);
    response.data().clone()
}

#[test]
fn the_manifest_holds_the_client_operations() {
    let ops = Operations::load();
    let mut names: Vec<_> = ops.0.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "CreateOrganization",
            "CreateProject",
            "Dashboard",
            "InviteMember",
            "ProjectEvents",
            "SignUp"
        ]
    );
    for document in ops.0.values() {
        assert!(document.id.starts_with("sha256:"), "{}", document.id);
    }
}

#[tokio::test]
async fn the_web_client_operations_run_by_document_id() {
    let ops = Operations::load();
    let app = trusted_app().await;

    let data = execute(
        &app,
        &ops,
        None,
        "SignUp",
        json!({ "input": { "email": "Ada@Example.com", "password": PASSWORD, "name": "Ada" } }),
    )
    .await;
    let token = data["signUp"]["token"].as_str().unwrap().to_owned();
    let user = data["signUp"]["user"].clone();
    assert_eq!(user["email"], "ada@example.com");
    assert_eq!(user["name"], "Ada");

    let data = execute(&app, &ops, Some(&token), "Dashboard", json!({})).await;
    let viewer = &data["viewer"];
    assert_eq!(viewer["id"], user["id"]);
    assert_eq!(viewer["organizations"]["totalCount"], 1);
    let personal = &viewer["organizations"]["edges"][0]["node"];
    assert_eq!(personal["personal"], true);
    assert_eq!(personal["viewerRole"], "OWNER");
    assert_eq!(personal["entitlements"]["plan"]["id"], "free");
    assert_eq!(personal["entitlements"]["projects"]["used"], 0);
    assert_eq!(personal["entitlements"]["members"]["used"], 1);
    assert_eq!(personal["members"]["totalCount"], 1);
    let member = &personal["members"]["edges"][0]["node"];
    assert_eq!(member["role"], "OWNER");
    assert_eq!(member["user"]["id"], user["id"]);
    assert_eq!(member["user"]["email"], "ada@example.com");
    assert_eq!(personal["projects"]["totalCount"], 0);
    let personal_id = personal["id"].as_str().unwrap().to_owned();

    // The client subscribes by hash; the manifest's text is accepted as well.
    let variables = json!({ "organizationId": personal_id });
    let events = ops.get("ProjectEvents");
    let hash = events.id.strip_prefix("sha256:").unwrap();
    let mut by_hash = Subscription::start_with(
        &app.base_url,
        Auth::Bearer(&token),
        json!({
            "query": "",
            "variables": variables,
            "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } },
        }),
    )
    .await;
    let mut by_text =
        Subscription::start(&app.base_url, Auth::Bearer(&token), &events.text, variables).await;

    let data = execute(
        &app,
        &ops,
        Some(&token),
        "CreateProject",
        json!({ "input": { "organizationId": personal_id, "name": "Launch site" } }),
    )
    .await;
    let project = &data["createProject"];
    assert_eq!(project["name"], "Launch site");
    assert_eq!(project["description"], Value::Null);
    assert_eq!(project["createdBy"]["id"], user["id"]);
    let project_id = project["id"].as_str().unwrap().to_owned();

    for subscription in [&mut by_hash, &mut by_text] {
        let message = subscription.next().await;
        assert_eq!(message["type"], "next", "{message}");
        let event = &message["payload"]["data"]["projectEvents"];
        assert_eq!(event["kind"], "CREATED", "{message}");
        assert_eq!(event["projectId"], project_id);
        assert_eq!(event["project"]["name"], "Launch site");
    }

    // Invitations go to a team; a personal organization takes none.
    let data = execute(
        &app,
        &ops,
        Some(&token),
        "CreateOrganization",
        json!({ "input": { "name": "Ada's team" } }),
    )
    .await;
    let team = &data["createOrganization"];
    assert_eq!(team["personal"], false);
    assert_eq!(team["viewerRole"], "OWNER");
    let team_id = team["id"].as_str().unwrap().to_owned();

    let data = execute(
        &app,
        &ops,
        Some(&token),
        "InviteMember",
        json!({ "input": { "organizationId": team_id, "email": "Grace@Example.com", "role": "ADMIN" } }),
    )
    .await;
    let invitation = &data["inviteMember"];
    assert_eq!(invitation["email"], "grace@example.com");
    assert_eq!(invitation["role"], "ADMIN");
    assert_eq!(invitation["status"], "PENDING");
    let mail = app
        .mailbox
        .wait_for("grace@example.com", "/invitations/accept", 1)
        .await;
    assert!(mail.contains("Ada's team"), "{mail}");

    let data = execute(&app, &ops, Some(&token), "Dashboard", json!({})).await;
    let organizations = &data["viewer"]["organizations"];
    assert_eq!(organizations["totalCount"], 2);
    let node = |id: &str| {
        organizations["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| &edge["node"])
            .find(|node| node["id"] == id)
            .unwrap_or_else(|| panic!("{id} not on the dashboard: {data}"))
            .clone()
    };
    let personal = node(&personal_id);
    assert_eq!(personal["entitlements"]["projects"]["used"], 1);
    assert_eq!(personal["projects"]["totalCount"], 1);
    let listed = &personal["projects"]["edges"][0]["node"];
    assert_eq!(listed["id"], project_id);
    assert_eq!(listed["name"], "Launch site");
    assert_eq!(listed["createdBy"]["name"], "Ada");
    let team = node(&team_id);
    assert_eq!(team["members"]["totalCount"], 1);
    // A pending invitation holds a seat.
    assert_eq!(team["entitlements"]["members"]["used"], 2);
}

#[tokio::test]
async fn documents_outside_the_web_client_manifest_are_refused() {
    let ops = Operations::load();
    let app = trusted_app().await;

    // Even the text of one of its own operations, reformatted, is another document.
    let reformatted = ops.get("Dashboard").text.replace(' ', "  ");
    for query in ["{ viewer { id email } }", reformatted.as_str()] {
        let response = post(&app, None, json!({ "query": query })).await;
        assert_eq!(response.status, 400, "{}", response.body);
        response.assert_code("PERSISTED_QUERY_NOT_ALLOWED");
        assert!(response.body.get("data").is_none(), "{}", response.body);
    }

    let unknown = format!("sha256:{}", "0".repeat(64));
    let response = post(&app, None, json!({ "documentId": unknown })).await;
    assert_eq!(response.status, 400, "{}", response.body);
    response.assert_code("PERSISTED_QUERY_NOT_FOUND");

    // The manifest's own text runs: its hash is in the manifest.
    let response = post(&app, None, json!({ "query": ops.get("Dashboard").text })).await;
    assert_eq!(response.data()["viewer"], Value::Null);
}
