//! Name search over projects: the same answers on SQLite (its FTS5 trigram
//! table) and PostgreSQL (its trigram index), whatever the case, the
//! alphabet or the characters LIKE and FTS5 give meaning to, and kept in
//! step with renames, archives and deletions.

use serde_json::{Value, json};

use crate::support::{SignedUp, TestApp, create_project, ops};

const SEARCH: &str = "query($org: ID, $first: Int, $after: String, $filter: ProjectFilter) { organization(id: $org) { projects(first: $first, after: $after, filter: $filter) { totalCount pageInfo { hasNextPage endCursor } edges { node { name } } } } }";

const NAMES: &[&str] = &[
    "Website relaunch",
    "Mobile WEB app",
    "École d'été",
    "ÉCOLE primaire",
    "Straße bauen",
    "100% done",
    "50 percent",
    "under_score",
    "underscore",
    "Say \"hi\" twice",
    "back\\slash",
    "AND OR NOT near",
    "日本語のプロジェクト",
];

/// The matching names, newest first, and `totalCount`.
async fn search(user: &SignedUp, org: &str, needle: &str) -> (Vec<String>, u64) {
    let res = user
        .client
        .gql(
            SEARCH,
            json!({ "org": org, "first": 100, "filter": { "search": needle } }),
        )
        .await;
    let projects = &res.data()["organization"]["projects"];
    let names = projects["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["name"].as_str().unwrap().to_owned())
        .collect();
    (names, projects["totalCount"].as_u64().unwrap())
}

async fn organization_with_names(app: &TestApp, owner: &SignedUp) -> String {
    let org = app.create_org(owner, "Search names").await;
    app.grant("search-names", "team");
    for name in NAMES {
        create_project(owner, &org, name).await;
    }
    org
}

#[tokio::test]
async fn a_search_finds_every_name_that_contains_it_in_any_case_and_alphabet() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = organization_with_names(&app, &owner).await;
    // Each needle and the names it finds, newest first: the same table on
    // both databases.
    let cases: &[(&str, &[&str])] = &[
        ("web", &["Mobile WEB app", "Website relaunch"]),
        ("WEBSITE", &["Website relaunch"]),
        ("école", &["ÉCOLE primaire", "École d'été"]),
        ("ÉCOLE PRI", &["ÉCOLE primaire"]),
        ("été", &["École d'été"]),
        ("STRASSE", &[]),
        ("straße", &["Straße bauen"]),
        ("プロジェ", &["日本語のプロジェクト"]),
        // Shorter than a trigram.
        ("we", &["Mobile WEB app", "Website relaunch"]),
        ("é", &["ÉCOLE primaire", "École d'été"]),
        // LIKE's wildcards are literal.
        ("%", &["100% done"]),
        ("0% d", &["100% done"]),
        ("_", &["under_score"]),
        ("r_s", &["under_score"]),
        ("\\", &["back\\slash"]),
        ("k\\s", &["back\\slash"]),
        // FTS5's query syntax is literal too.
        ("\"hi\"", &["Say \"hi\" twice"]),
        ("y \"h", &["Say \"hi\" twice"]),
        ("and or", &["AND OR NOT near"]),
        ("NOT", &["AND OR NOT near"]),
        ("near*", &[]),
        // A phrase must appear as written, not word by word.
        ("web mobile", &[]),
        ("relaunch website", &[]),
    ];
    for (needle, expected) in cases {
        let (names, total) = search(&owner, &org, needle).await;
        assert_eq!(names, *expected, "search {needle:?}");
        assert_eq!(total, expected.len() as u64, "totalCount of {needle:?}");
    }
}

#[tokio::test]
async fn a_renamed_project_is_found_by_its_new_name_only() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Renames").await;
    let id = create_project(&owner, &org, "Old title").await;
    owner
        .client
        .gql(
            ops::RENAME_PROJECT,
            json!({ "id": id, "name": "Brand new" }),
        )
        .await
        .data();
    assert_eq!(search(&owner, &org, "old title").await, (vec![], 0));
    assert_eq!(
        search(&owner, &org, "brand").await,
        (vec!["Brand new".to_owned()], 1)
    );
    // A description change leaves the name's entry as it was.
    owner
        .client
        .gql(ops::UPDATE_PROJECT, json!({ "id": id, "d": "old title" }))
        .await
        .data();
    assert_eq!(
        search(&owner, &org, "brand").await,
        (vec!["Brand new".to_owned()], 1)
    );
}

#[tokio::test]
async fn archived_and_deleted_projects_leave_the_active_search() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Leaving").await;
    let archived = create_project(&owner, &org, "Rocket one").await;
    let deleted = create_project(&owner, &org, "Rocket two").await;
    create_project(&owner, &org, "Rocket three").await;
    owner
        .client
        .gql(ops::ARCHIVE_PROJECT, json!({ "id": archived }))
        .await
        .data();
    owner
        .client
        .gql(ops::DELETE_PROJECT, json!({ "id": deleted }))
        .await
        .data();
    assert_eq!(
        search(&owner, &org, "rocket").await,
        (vec!["Rocket three".to_owned()], 1)
    );
    let res = owner
        .client
        .gql(
            SEARCH,
            json!({ "org": org, "filter": { "search": "rocket", "archived": true } }),
        )
        .await;
    let projects = &res.data()["organization"]["projects"];
    assert_eq!(projects["totalCount"], 1);
    assert_eq!(projects["edges"][0]["node"]["name"], "Rocket one");
}

#[tokio::test]
async fn a_search_sees_only_its_own_organization() {
    let app = TestApp::spawn().await;
    let a = app.sign_up("a@example.com", "A").await;
    let b = app.sign_up("b@example.com", "B").await;
    let org_a = app.create_org(&a, "Alpha").await;
    let org_b = app.create_org(&b, "Beta").await;
    create_project(&a, &org_a, "Shared word").await;
    create_project(&b, &org_b, "Shared word").await;
    create_project(&b, &org_b, "Shared words").await;
    assert_eq!(
        search(&a, &org_a, "shared").await,
        (vec!["Shared word".to_owned()], 1)
    );
    // The other organization's projects are not even a not-found answer
    // away: its id is not visible at all.
    let res = a
        .client
        .gql(
            SEARCH,
            json!({ "org": org_b, "filter": { "search": "shared" } }),
        )
        .await;
    assert_eq!(res.body["data"]["organization"], Value::Null);
}

#[tokio::test]
async fn search_results_page_with_the_keyset_cursor() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Pages").await;
    app.grant("pages", "team");
    for i in 0..7 {
        create_project(&owner, &org, &format!("Match {i}")).await;
        create_project(&owner, &org, &format!("Other {i}")).await;
    }
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let res = owner
            .client
            .gql(
                SEARCH,
                json!({ "org": org, "first": 3, "after": after, "filter": { "search": "match" } }),
            )
            .await;
        let projects = &res.data()["organization"]["projects"];
        assert_eq!(projects["totalCount"], 7);
        for edge in projects["edges"].as_array().unwrap() {
            seen.push(edge["node"]["name"].as_str().unwrap().to_owned());
        }
        if projects["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = projects["pageInfo"]["endCursor"].clone();
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("Match {i}")).collect();
    assert_eq!(seen, expected);
}
