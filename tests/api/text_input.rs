//! Hostile text in every argument of the schema: NUL, escape sequences,
//! line breaks, direction overrides. Each is refused with BAD_USER_INPUT
//! naming the field, or is an id or token that names nothing (NOT_FOUND, or
//! null where the field is nullable); never INTERNAL, on either database.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};

use crate::support::{SignedUp, TestApp, TestConfig, create_project};

/// Text no argument of ours takes, by what it is.
const HOSTILE: [(&str, &str); 12] = [
    ("NUL", "nul\0value"),
    ("ESC sequence", "esc\u{1b}[31mred\u{1b}[0m"),
    ("C1 CSI", "csi\u{9b}31mred"),
    ("line feed", "line\nbreak"),
    ("carriage return", "carriage\rreturn"),
    ("tab", "tab\tstop"),
    ("DEL", "del\u{7f}ete"),
    ("NEL", "next\u{85}line"),
    ("line separator", "line\u{2028}separator"),
    ("paragraph separator", "para\u{2029}graph"),
    ("right-to-left override", "invoice\u{202E}fdp.exe"),
    ("isolate", "first\u{2067}strong"),
];

/// What multi-line text may hold of the above.
const PROSE_ALLOWS: [&str; 3] = ["line feed", "carriage return", "tab"];

/// How an argument takes text, and so which hostile values it is sent.
#[derive(Clone, Copy)]
enum Takes {
    /// Single-line text: every hostile value.
    Line,
    /// Multi-line text: every hostile value but line breaks and tabs.
    Prose,
    /// A password: only NUL is refused, the rest is whatever was typed.
    Secret,
    /// A token or a slug being looked up: every hostile value.
    Token,
    /// A global id of this type: hostile values, raw and encoded as an id.
    Id(&'static str),
    /// A page cursor: hostile values, raw and encoded as a cursor.
    Cursor,
}

enum Expect {
    BadInput(&'static str),
    NotFound,
    /// No error, and null at this JSON pointer of `data`.
    Null(&'static str),
}

struct Fixture {
    owner: SignedUp,
    org: String,
    project: String,
}

struct Case {
    argument: &'static str,
    takes: Takes,
    anonymous: bool,
    document: &'static str,
    variables: fn(&Fixture, &str) -> Value,
    expect: Expect,
}

fn encode(text: &str) -> String {
    URL_SAFE_NO_PAD.encode(text)
}

/// The values an argument is sent, each with a label for failures.
fn values(takes: Takes) -> Vec<(String, String)> {
    let raw = HOSTILE.iter().map(|(l, v)| (l.to_string(), v.to_string()));
    let uuid = uuid::Uuid::now_v7();
    match takes {
        Takes::Line | Takes::Token => raw.collect(),
        Takes::Prose => raw
            .filter(|(l, _)| !PROSE_ALLOWS.contains(&l.as_str()))
            .collect(),
        Takes::Secret => vec![("NUL".into(), "nul\0value".into())],
        Takes::Id(ty) => raw
            .clone()
            .chain(
                raw.clone()
                    .map(|(l, v)| (format!("{l} in an id"), encode(&format!("{ty}:{v}")))),
            )
            .chain(raw.map(|(l, v)| {
                (
                    format!("{l} after a uuid"),
                    encode(&format!("{ty}:{uuid}{v}")),
                )
            }))
            .collect(),
        Takes::Cursor => raw
            .clone()
            .chain(
                raw.clone()
                    .map(|(l, v)| (format!("{l} in a cursor"), encode(&format!("k:{v}")))),
            )
            .chain(raw.map(|(l, v)| (format!("{l} after a uuid"), encode(&format!("k:{uuid}{v}")))))
            .collect(),
    }
}

/// One row of the table: who sends it (`signed_in` as the fixture's owner,
/// or `anonymous`), the argument, how it takes text, the document with the
/// value as `$v`, its variables, and what must come back.
macro_rules! case {
    (@ $anonymous:expr, $argument:literal, $takes:expr, $document:literal, $variables:expr, $expect:expr) => {
        Case {
            argument: $argument,
            takes: $takes,
            anonymous: $anonymous,
            document: $document,
            variables: $variables,
            expect: $expect,
        }
    };
    (signed_in $($rest:tt)*) => {
        case!(@ false, $($rest)*)
    };
    (anonymous $($rest:tt)*) => {
        case!(@ true, $($rest)*)
    };
}

fn cases() -> Vec<Case> {
    use Expect::*;
    use Takes::*;
    vec![
        case!(anonymous "signUp.email", Line,
            "mutation($v: String!) { signUp(input: { email: $v, password: \"correct horse battery\", name: \"N\" }) { token } }",
            |_, v| json!({ "v": v }), BadInput("email")),
        case!(anonymous "signUp.password", Secret,
            "mutation($v: String!) { signUp(input: { email: \"new@example.com\", password: $v, name: \"N\" }) { token } }",
            |_, v| json!({ "v": v }), BadInput("password")),
        case!(anonymous "signUp.name", Line,
            "mutation($v: String!) { signUp(input: { email: \"new@example.com\", password: \"correct horse battery\", name: $v }) { token } }",
            |_, v| json!({ "v": v }), BadInput("name")),
        case!(anonymous "signUp.invitationToken", Token,
            "mutation($v: String!) { signUp(input: { email: \"new@example.com\", password: \"correct horse battery\", name: \"N\", invitationToken: $v }) { token } }",
            |_, v| json!({ "v": v }), BadInput("invitationToken")),
        case!(anonymous "signIn.email", Line,
            "mutation($v: String!) { signIn(input: { email: $v, password: \"correct horse battery\" }) { token } }",
            |_, v| json!({ "v": v }), BadInput("email")),
        case!(anonymous "signIn.password", Secret,
            "mutation($v: String!) { signIn(input: { email: \"owner@example.com\", password: $v }) { token } }",
            |_, v| json!({ "v": v }), BadInput("password")),
        case!(anonymous "verifyEmail.token", Token,
            "mutation($v: String!) { verifyEmail(token: $v) { id } }",
            |_, v| json!({ "v": v }), BadInput("token")),
        case!(anonymous "requestPasswordReset.email", Line,
            "mutation($v: String!) { requestPasswordReset(email: $v) }",
            |_, v| json!({ "v": v }), BadInput("email")),
        case!(anonymous "resetPassword.token", Token,
            "mutation($v: String!) { resetPassword(token: $v, newPassword: \"correct horse battery\") { token } }",
            |_, v| json!({ "v": v }), BadInput("token")),
        case!(anonymous "resetPassword.newPassword", Secret,
            "mutation($v: String!) { resetPassword(token: \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\", newPassword: $v) { token } }",
            |_, v| json!({ "v": v }), BadInput("newPassword")),
        case!(signed_in "changePassword.currentPassword", Secret,
            "mutation($v: String!) { changePassword(currentPassword: $v, newPassword: \"another horse battery\") }",
            |_, v| json!({ "v": v }), BadInput("currentPassword")),
        case!(signed_in "changePassword.newPassword", Secret,
            "mutation($v: String!) { changePassword(currentPassword: \"correct horse battery\", newPassword: $v) }",
            |_, v| json!({ "v": v }), BadInput("newPassword")),
        case!(signed_in "updateProfile.name", Line,
            "mutation($v: String) { updateProfile(input: { name: $v }) { id } }",
            |_, v| json!({ "v": v }), BadInput("name")),
        case!(signed_in "updateProfile.avatarUrl", Line,
            "mutation($v: String) { updateProfile(input: { avatarUrl: $v }) { id } }",
            |_, v| json!({ "v": format!("https://example.com/{v}") }), BadInput("avatarUrl")),
        case!(signed_in "unlinkAccount.provider", Line,
            "mutation($v: String!) { unlinkAccount(provider: $v) { id } }",
            |_, v| json!({ "v": v }), BadInput("provider")),
        case!(signed_in "deleteAccount.password", Secret,
            "mutation($v: String) { deleteAccount(password: $v) }",
            |_, v| json!({ "v": v }), BadInput("password")),
        case!(signed_in "revokeSession.id", Id("Session"),
            "mutation($v: ID!) { revokeSession(id: $v) }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "createOrganization.name", Line,
            "mutation($v: String!) { createOrganization(input: { name: $v }) { id } }",
            |_, v| json!({ "v": v }), BadInput("name")),
        case!(signed_in "createOrganization.slug", Line,
            "mutation($v: String) { createOrganization(input: { name: \"Fine\", slug: $v }) { id } }",
            |_, v| json!({ "v": format!("acme-{v}") }), BadInput("slug")),
        case!(signed_in "updateOrganization.id", Id("Organization"),
            "mutation($v: ID!) { updateOrganization(id: $v, input: { name: \"Fine\" }) { id } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "updateOrganization.name", Line,
            "mutation($org: ID!, $v: String) { updateOrganization(id: $org, input: { name: $v }) { id } }",
            |f, v| json!({ "org": f.org, "v": v }), BadInput("name")),
        case!(signed_in "updateOrganization.slug", Line,
            "mutation($org: ID!, $v: String) { updateOrganization(id: $org, input: { slug: $v }) { id } }",
            |f, v| json!({ "org": f.org, "v": format!("acme-{v}") }), BadInput("slug")),
        case!(signed_in "deleteOrganization.id", Id("Organization"),
            "mutation($v: ID!) { deleteOrganization(id: $v) }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "inviteMember.organizationId", Id("Organization"),
            "mutation($v: ID!) { inviteMember(input: { organizationId: $v, email: \"x@example.com\", role: MEMBER }) { id } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "inviteMember.email", Line,
            "mutation($org: ID!, $v: String!) { inviteMember(input: { organizationId: $org, email: $v, role: MEMBER }) { id } }",
            |f, v| json!({ "org": f.org, "v": v }), BadInput("email")),
        case!(signed_in "resendInvitation.id", Id("Invitation"),
            "mutation($v: ID!) { resendInvitation(id: $v) { id } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "revokeInvitation.id", Id("Invitation"),
            "mutation($v: ID!) { revokeInvitation(id: $v) { id } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "acceptInvitation.token", Token,
            "mutation($v: String!) { acceptInvitation(token: $v) { id } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(anonymous "declineInvitation.token", Token,
            "mutation($v: String!) { declineInvitation(token: $v) }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "updateMemberRole.membershipId", Id("Membership"),
            "mutation($v: ID!) { updateMemberRole(membershipId: $v, role: ADMIN) { id } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "removeMember.membershipId", Id("Membership"),
            "mutation($v: ID!) { removeMember(membershipId: $v) }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "leaveOrganization.organizationId", Id("Organization"),
            "mutation($v: ID!) { leaveOrganization(organizationId: $v) }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "transferOwnership.organizationId", Id("Organization"),
            "mutation($v: ID!, $user: ID!) { transferOwnership(organizationId: $v, toUserId: $user) { id } }",
            |f, v| json!({ "v": v, "user": f.owner.user_id }), NotFound),
        case!(signed_in "transferOwnership.toUserId", Id("User"),
            "mutation($org: ID!, $v: ID!) { transferOwnership(organizationId: $org, toUserId: $v) { id } }",
            |f, v| json!({ "org": f.org, "v": v }), NotFound),
        case!(signed_in "createProject.organizationId", Id("Organization"),
            "mutation($v: ID!) { createProject(input: { organizationId: $v, name: \"Fine\" }) { id } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "createProject.name", Line,
            "mutation($org: ID!, $v: String!) { createProject(input: { organizationId: $org, name: $v }) { id } }",
            |f, v| json!({ "org": f.org, "v": v }), BadInput("name")),
        case!(signed_in "createProject.description", Prose,
            "mutation($org: ID!, $v: String) { createProject(input: { organizationId: $org, name: \"Fine\", description: $v }) { id } }",
            |f, v| json!({ "org": f.org, "v": v }), BadInput("description")),
        case!(signed_in "updateProject.id", Id("Project"),
            "mutation($v: ID!) { updateProject(id: $v, input: { name: \"Fine\" }) { id } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "updateProject.name", Line,
            "mutation($p: ID!, $v: String) { updateProject(id: $p, input: { name: $v }) { id } }",
            |f, v| json!({ "p": f.project, "v": v }), BadInput("name")),
        case!(signed_in "updateProject.description", Prose,
            "mutation($p: ID!, $v: String) { updateProject(id: $p, input: { description: $v }) { id } }",
            |f, v| json!({ "p": f.project, "v": v }), BadInput("description")),
        case!(signed_in "archiveProject.id", Id("Project"),
            "mutation($v: ID!) { archiveProject(id: $v) { id } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "restoreProject.id", Id("Project"),
            "mutation($v: ID!) { restoreProject(id: $v) { id } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "deleteProject.id", Id("Project"),
            "mutation($v: ID!) { deleteProject(id: $v) }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "createCheckoutSession.organizationId", Id("Organization"),
            "mutation($v: ID!) { createCheckoutSession(input: { organizationId: $v, planId: \"pro\", interval: MONTH }) { id } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "createCheckoutSession.planId", Line,
            "mutation($org: ID!, $v: String!) { createCheckoutSession(input: { organizationId: $org, planId: $v, interval: MONTH }) { id } }",
            |f, v| json!({ "org": f.org, "v": v }), BadInput("planId")),
        case!(signed_in "createBillingPortalSession.organizationId", Id("Organization"),
            "mutation($v: ID!) { createBillingPortalSession(organizationId: $v) { url } }",
            |_, v| json!({ "v": v }), NotFound),
        case!(signed_in "node.id", Id("Project"),
            "query($v: ID!) { node(id: $v) { id } }",
            |_, v| json!({ "v": v }), Null("/node")),
        case!(signed_in "nodes.ids", Id("Organization"),
            "query($v: ID!) { nodes(ids: [$v]) { id } }",
            |_, v| json!({ "v": v }), Null("/nodes/0")),
        case!(signed_in "project.id", Id("Project"),
            "query($v: ID!) { project(id: $v) { id } }",
            |_, v| json!({ "v": v }), Null("/project")),
        case!(signed_in "organization.id", Id("Organization"),
            "query($v: ID) { organization(id: $v) { id } }",
            |_, v| json!({ "v": v }), Null("/organization")),
        case!(signed_in "organization.slug", Token,
            "query($v: String) { organization(slug: $v) { id } }",
            |_, v| json!({ "v": v }), Null("/organization")),
        case!(anonymous "invitation.token", Token,
            "query($v: String!) { invitation(token: $v) { email } }",
            |_, v| json!({ "v": v }), Null("/invitation")),
        case!(signed_in "Organization.members.after", Cursor,
            "query($org: ID, $v: String) { organization(id: $org) { members(after: $v) { totalCount } } }",
            |f, v| json!({ "org": f.org, "v": v }), BadInput("after")),
        case!(signed_in "Organization.projects.after", Cursor,
            "query($org: ID, $v: String) { organization(id: $org) { projects(after: $v) { totalCount } } }",
            |f, v| json!({ "org": f.org, "v": v }), BadInput("after")),
        case!(signed_in "Organization.projects.filter.search", Line,
            "query($org: ID, $v: String) { organization(id: $org) { projects(filter: { search: $v }) { totalCount } } }",
            |f, v| json!({ "org": f.org, "v": v }), BadInput("search")),
        case!(signed_in "Organization.auditLog.after", Cursor,
            "query($org: ID, $v: String) { organization(id: $org) { auditLog(after: $v) { totalCount } } }",
            |f, v| json!({ "org": f.org, "v": v }), BadInput("after")),
        case!(signed_in "User.organizations.after", Cursor,
            "query($v: String) { viewer { organizations(after: $v) { totalCount } } }",
            |_, v| json!({ "v": v }), BadInput("after")),
    ]
}

async fn fixture(app: &TestApp) -> Fixture {
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Acme").await;
    let project = create_project(&owner, &org, "Apollo").await;
    Fixture {
        owner,
        org,
        project,
    }
}

#[tokio::test]
async fn every_text_argument_refuses_control_characters_the_same_on_every_database() {
    let app = TestApp::spawn_with(
        TestConfig::default()
            .var("RATE_LIMIT_SIGNUP_IP", "1000/1h")
            .var("RATE_LIMIT_SIGNIN_IP", "1000/15m"),
    )
    .await;
    let f = fixture(&app).await;
    let anonymous = app.client();
    let mut failures = Vec::new();
    for case in cases() {
        let client = if case.anonymous {
            &anonymous
        } else {
            &f.owner.client
        };
        for (label, value) in values(case.takes) {
            let res = client
                .gql(case.document, (case.variables)(&f, &value))
                .await;
            let first = res.errors().into_iter().next();
            let code = first.as_ref().map(|e| e["extensions"]["code"].clone());
            let ok = match &case.expect {
                Expect::BadInput(field) => {
                    code == Some(json!("BAD_USER_INPUT"))
                        && first.as_ref().unwrap()["extensions"]["field"] == *field
                }
                Expect::NotFound => code == Some(json!("NOT_FOUND")),
                Expect::Null(pointer) => {
                    first.is_none() && res.body["data"].pointer(pointer) == Some(&Value::Null)
                }
            };
            if !ok {
                failures.push(format!("{} with {label}: {}", case.argument, res.body));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} refusals were wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // Nothing got through on the way: the fixture is as it was.
    let res = f
        .owner
        .client
        .gql(
            "query($org: ID, $p: ID!) { viewer { name avatarUrl } organization(id: $org) { name slug members { totalCount } } project(id: $p) { name description } }",
            json!({ "org": f.org, "p": f.project }),
        )
        .await;
    assert_eq!(
        *res.data(),
        json!({
            "viewer": { "name": "Owner", "avatarUrl": null },
            "organization": { "name": "Acme", "slug": "acme", "members": { "totalCount": 1 } },
            "project": { "name": "Apollo", "description": null },
        })
    );
}

#[tokio::test]
async fn multi_line_text_keeps_its_line_breaks_and_single_lines_are_trimmed() {
    let app = TestApp::spawn().await;
    let owner = app.sign_up("owner@example.com", "Owner").await;
    let org = app.create_org(&owner, "Acme").await;
    let res = owner
        .client
        .gql(
            "mutation($org: ID!, $d: String) { createProject(input: { organizationId: $org, name: \"  Apollo \", description: $d }) { name description } }",
            json!({ "org": org, "d": "First line\r\n\tindented\rlast\n\n" }),
        )
        .await;
    assert_eq!(
        res.data()["createProject"],
        json!({ "name": "Apollo", "description": "First line\n\tindented\nlast" })
    );
    // Right-to-left writing with its marks is text like any other.
    let res = owner
        .client
        .gql(
            "mutation($n: String!) { createOrganization(input: { name: $n }) { name } }",
            json!({ "n": "\u{5e9}\u{5dc}\u{5d5}\u{5dd} \u{200F}(1)" }),
        )
        .await;
    assert_eq!(
        res.data()["createOrganization"]["name"],
        "\u{5e9}\u{5dc}\u{5d5}\u{5dd} \u{200F}(1)"
    );
}
