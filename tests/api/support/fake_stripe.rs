//! A fake Stripe API on 127.0.0.1 for the endpoints Groundwork calls. It
//! speaks Stripe's form-encoded requests and answers with Stripe's own
//! example objects (tests/fixtures/stripe), changed only in ids, status,
//! prices and times, so the real async-stripe client parses them.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Path, Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

pub const SECRET_KEY: &str = "sk_test_groundwork";
pub const WEBHOOK_SECRET: &str = "whsec_groundwork_test";
pub const PRO_MONTH: &str = "price_pro_month";
pub const PRO_YEAR: &str = "price_pro_year";
pub const TEAM_MONTH: &str = "price_team_month";

pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/stripe/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

/// A request the fake received: method and path, and the decoded form.
#[derive(Clone, Debug)]
pub struct Call {
    pub route: String,
    pub form: HashMap<String, String>,
}

#[derive(Default)]
struct Inner {
    subscriptions: Mutex<HashMap<String, Value>>,
    calls: Mutex<Vec<Call>>,
    down: AtomicBool,
    counter: AtomicUsize,
    /// How long every request takes to answer.
    delay: Mutex<Duration>,
    idempotency: Mutex<HashMap<String, Idempotent>>,
    /// Every request as it arrived (before any delay): its route, and its
    /// `Idempotency-Key` if it had one.
    arrived: Mutex<Vec<(String, Option<String>)>>,
}

/// What Stripe holds for an idempotency key: a request still running, or
/// the answer it saved, replayed to a request with the same parameters.
enum Idempotent {
    InFlight,
    Done {
        request: String,
        status: StatusCode,
        body: Bytes,
    },
}

#[derive(Clone)]
pub struct FakeStripe {
    pub base_url: String,
    inner: Arc<Inner>,
}

/// What a subscription looks like at one moment of its life.
#[derive(Clone, Debug)]
pub struct SubSpec {
    pub id: String,
    pub customer: String,
    pub organization_id: Option<String>,
    pub status: &'static str,
    pub price: &'static str,
    pub quantity: u64,
    pub cancel_at_period_end: bool,
}

impl FakeStripe {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let app = Router::new()
            .route("/v1/customers", post(create_customer))
            .route("/v1/checkout/sessions", post(create_checkout))
            .route("/v1/billing_portal/sessions", post(create_portal))
            .route("/v1/subscriptions", get(list_subscriptions))
            .route(
                "/v1/subscriptions/{id}",
                get(get_subscription)
                    .post(update_subscription)
                    .delete(cancel_subscription),
            )
            .route("/v1/subscription_items/{id}", post(update_item))
            .layer(middleware::from_fn_with_state(inner.clone(), idempotency))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self {
            base_url: format!("http://{addr}"),
            inner,
        }
    }

    /// The server settings that point Groundwork at this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("STRIPE_SECRET_KEY", SECRET_KEY.into()),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET.into()),
            ("STRIPE_API_BASE", self.base_url.clone()),
            ("STRIPE_PRICE_PRO_MONTH", PRO_MONTH.into()),
            ("STRIPE_PRICE_PRO_YEAR", PRO_YEAR.into()),
            ("STRIPE_PRICE_TEAM_MONTH", TEAM_MONTH.into()),
            ("SEAT_SYNC_INTERVAL", "100ms".into()),
            ("SEAT_SYNC_RETRY_BASE", "100ms".into()),
        ]
    }

    /// Every request takes this long to answer from now on, as when Stripe is slow.
    pub fn set_delay(&self, delay: Duration) {
        *self.inner.delay.lock().unwrap() = delay;
    }

    /// The idempotency key of each request to `route`, in arrival order:
    /// every request, replayed and refused ones too, unlike `calls`.
    pub fn arrived(&self, route: &str) -> Vec<Option<String>> {
        self.inner
            .arrived
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _)| r == route)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// Every request answers 503 while down, as in an outage.
    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }

    pub fn calls(&self, route: &str) -> Vec<Call> {
        self.inner
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|c| c.route == route)
            .cloned()
            .collect()
    }

    /// Stores a subscription as Stripe would hold it, and returns the object.
    pub fn put(&self, spec: &SubSpec) -> Value {
        let object = subscription_object(spec);
        self.inner
            .subscriptions
            .lock()
            .unwrap()
            .insert(spec.id.clone(), object.clone());
        object
    }

    pub fn subscription(&self, id: &str) -> Option<Value> {
        self.inner.subscriptions.lock().unwrap().get(id).cloned()
    }
}

/// Stripe's example subscription with the spec's ids, status, price and
/// seat count, and a period that ends in a month.
pub fn subscription_object(spec: &SubSpec) -> Value {
    let mut sub = fixture("subscription");
    let now = chrono::Utc::now().timestamp();
    sub["id"] = json!(spec.id);
    sub["customer"] = json!(spec.customer);
    sub["status"] = json!(spec.status);
    sub["cancel_at_period_end"] = json!(spec.cancel_at_period_end);
    sub["trial_end"] = if spec.status == "trialing" {
        json!(now + 7 * 86400)
    } else {
        Value::Null
    };
    sub["metadata"] = match &spec.organization_id {
        Some(org) => json!({ "organization_id": org }),
        None => json!({}),
    };
    let item = &mut sub["items"]["data"][0];
    item["id"] = json!(format!("si_{}", spec.id.trim_start_matches("sub_")));
    item["subscription"] = json!(spec.id);
    item["quantity"] = json!(spec.quantity);
    item["price"]["id"] = json!(spec.price);
    item["current_period_start"] = json!(now);
    item["current_period_end"] = json!(now + 30 * 86400);
    sub["items"]["url"] = json!(format!("/v1/subscription_items?subscription={}", spec.id));
    sub
}

/// A signed webhook delivery: the body and its `Stripe-Signature`.
pub fn event(id: &str, kind: &str, created: i64, object: Value) -> (String, String) {
    let mut event = fixture("event");
    event["id"] = json!(id);
    event["type"] = json!(kind);
    event["created"] = json!(created);
    event["data"] = json!({ "object": object });
    let body = event.to_string();
    let signature = stripe_webhook::Webhook::generate_test_header(&body, WEBHOOK_SECRET, None);
    (body, signature)
}

fn stripe_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "type": kind, "message": message } })),
    )
        .into_response()
}

/// Stripe's idempotency: the first request with a key runs and its answer
/// is saved; one arriving while it runs gets 409; later ones get the saved
/// answer when their parameters are the same, and 400 when not. A failed
/// request saves nothing (as when Stripe is down before it begins). The
/// delay set by `set_delay` applies to every request while it runs.
async fn idempotency(State(inner): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    let delay = *inner.delay.lock().unwrap();
    let route = format!("{} {}", request.method(), request.uri().path());
    let key = request
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    inner
        .arrived
        .lock()
        .unwrap()
        .push((route.clone(), key.clone()));
    let Some(key) = key else {
        tokio::time::sleep(delay).await;
        return next.run(request).await;
    };
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let fingerprint = format!("{route}\n{}", String::from_utf8_lossy(&body));
    // Looked up and claimed under one lock, so of two requests arriving
    // together exactly one runs.
    let answered = {
        let mut saved = inner.idempotency.lock().unwrap();
        match saved.get(&key) {
            Some(Idempotent::InFlight) => Some(stripe_error(
                StatusCode::CONFLICT,
                "idempotency_error",
                "There is currently another in-progress request using this Idempotent Key.",
            )),
            Some(Idempotent::Done {
                request,
                status,
                body,
            }) if *request == fingerprint => Some(
                (
                    *status,
                    [("content-type", "application/json")],
                    body.clone(),
                )
                    .into_response(),
            ),
            Some(Idempotent::Done { .. }) => Some(stripe_error(
                StatusCode::BAD_REQUEST,
                "idempotency_error",
                "Keys for idempotent requests can only be used with the same parameters they were first used with.",
            )),
            None => {
                saved.insert(key.clone(), Idempotent::InFlight);
                None
            }
        }
    };
    if let Some(answer) = answered {
        return answer;
    }
    tokio::time::sleep(delay).await;
    let response = next.run(Request::from_parts(parts, Body::from(body))).await;
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut saved = inner.idempotency.lock().unwrap();
    if parts.status.is_success() {
        saved.insert(
            key,
            Idempotent::Done {
                request: fingerprint,
                status: parts.status,
                body: body.clone(),
            },
        );
    } else {
        saved.remove(&key);
    }
    Response::from_parts(parts, Body::from(body))
}

fn decode(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn record(inner: &Inner, route: &str, body: &[u8]) -> Option<Response> {
    inner.calls.lock().unwrap().push(Call {
        route: route.to_owned(),
        form: decode(body),
    });
    inner.down.load(Ordering::SeqCst).then(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": { "type": "api_error", "message": "Stripe is down (fake)" } })),
        )
            .into_response()
    })
}

fn next(inner: &Inner) -> usize {
    inner.counter.fetch_add(1, Ordering::SeqCst) + 1
}

fn missing(what: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "error": { "type": "invalid_request_error", "code": "resource_missing", "message": format!("No such {what}") } })),
    )
        .into_response()
}

async fn create_customer(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    if let Some(down) = record(&inner, "POST /v1/customers", &body) {
        return down;
    }
    let form = decode(&body);
    let mut customer = fixture("customer");
    customer["id"] = json!(format!("cus_fake{}", next(&inner)));
    customer["email"] = json!(form.get("email"));
    customer["name"] = json!(form.get("name"));
    customer["metadata"] = json!({ "organization_id": form.get("metadata[organization_id]") });
    Json(customer).into_response()
}

async fn create_checkout(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    if let Some(down) = record(&inner, "POST /v1/checkout/sessions", &body) {
        return down;
    }
    let form = decode(&body);
    let mut session = fixture("checkout_session");
    let id = format!("cs_test_fake{}", next(&inner));
    session["url"] = json!(format!("https://checkout.stripe.test/c/pay/{id}"));
    session["id"] = json!(id);
    session["mode"] = json!("subscription");
    session["customer"] = json!(form.get("customer"));
    session["client_reference_id"] = json!(form.get("client_reference_id"));
    Json(session).into_response()
}

async fn create_portal(State(inner): State<Arc<Inner>>, body: Bytes) -> Response {
    if let Some(down) = record(&inner, "POST /v1/billing_portal/sessions", &body) {
        return down;
    }
    let form = decode(&body);
    let mut session = fixture("billing_portal_session");
    let n = next(&inner);
    session["id"] = json!(format!("bps_fake{n}"));
    session["url"] = json!(format!("https://billing.stripe.test/p/session/fake{n}"));
    session["customer"] = json!(form.get("customer"));
    session["return_url"] = json!(form.get("return_url"));
    Json(session).into_response()
}

async fn get_subscription(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    if let Some(down) = record(&inner, "GET /v1/subscriptions/{id}", b"") {
        return down;
    }
    match inner.subscriptions.lock().unwrap().get(&id) {
        Some(sub) => Json(sub.clone()).into_response(),
        None => missing("subscription"),
    }
}

async fn update_subscription(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(down) = record(&inner, "POST /v1/subscriptions/{id}", &body) {
        return down;
    }
    let form = decode(&body);
    let mut subs = inner.subscriptions.lock().unwrap();
    let Some(sub) = subs.get_mut(&id) else {
        return missing("subscription");
    };
    if let Some(flag) = form.get("cancel_at_period_end") {
        sub["cancel_at_period_end"] = json!(flag == "true");
    }
    Json(sub.clone()).into_response()
}

async fn cancel_subscription(State(inner): State<Arc<Inner>>, Path(id): Path<String>) -> Response {
    if let Some(down) = record(&inner, "DELETE /v1/subscriptions/{id}", b"") {
        return down;
    }
    let mut subs = inner.subscriptions.lock().unwrap();
    let Some(sub) = subs.get_mut(&id) else {
        return missing("subscription");
    };
    let now = chrono::Utc::now().timestamp();
    sub["status"] = json!("canceled");
    sub["canceled_at"] = json!(now);
    sub["ended_at"] = json!(now);
    Json(sub.clone()).into_response()
}

async fn update_item(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    if let Some(down) = record(&inner, "POST /v1/subscription_items/{id}", &body) {
        return down;
    }
    let form = decode(&body);
    let mut subs = inner.subscriptions.lock().unwrap();
    for sub in subs.values_mut() {
        let item = &mut sub["items"]["data"][0];
        if item["id"] == id.as_str() {
            if let Some(q) = form.get("quantity").and_then(|q| q.parse::<u64>().ok()) {
                item["quantity"] = json!(q);
            }
            return Json(item.clone()).into_response();
        }
    }
    missing("subscription item")
}

async fn list_subscriptions(State(inner): State<Arc<Inner>>) -> Response {
    if let Some(down) = record(&inner, "GET /v1/subscriptions", b"") {
        return down;
    }
    let data: Vec<Value> = inner
        .subscriptions
        .lock()
        .unwrap()
        .values()
        .cloned()
        .collect();
    Json(json!({ "object": "list", "url": "/v1/subscriptions", "has_more": false, "data": data }))
        .into_response()
}
