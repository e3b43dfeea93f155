//! The GraphQL endpoints: POST and GET `/graphql`.
//!
//! The request is parsed here rather than by async-graphql-axum's extractor
//! so the content type, the batch size and the operation type over GET are
//! checked before anything runs.

use async_graphql::{
    BatchRequest, BatchResponse, Request,
    parser::types::{DocumentOperations, OperationType},
};
use axum::{
    extract::{Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::request_meta;
use crate::graphql::{
    admission::{CostBudget, persisted},
    loaders::Loaders,
};
use crate::{
    AppState,
    auth::session,
    error::{AppError, CodedError, ErrorCode, code_of},
    graphql::context::RequestContext,
};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The first allocation of a response body.
const RESPONSE_BUFFER: usize = 16 * 1024;

pub async fn post(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let headers = &parts.headers;
    let media = ResponseMedia::negotiate(headers);
    let body = match axum::body::to_bytes(body, state.config.max_body_bytes).await {
        Ok(body) => body,
        Err(_) => {
            return Rejection {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                message: format!(
                    "The request body is larger than {} bytes.",
                    state.config.max_body_bytes
                ),
            }
            .into_response(media);
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let batch = match parse_post_body(content_type, &body) {
        Ok(batch) => batch,
        Err(rejection) => return rejection.into_response(media),
    };
    if let BatchRequest::Batch(requests) = &batch {
        let max = state.config.graphql.max_batch;
        if max == 0 {
            return Rejection::bad_request("Batched requests are not accepted.")
                .into_response(media);
        }
        if requests.len() > max {
            return Rejection::bad_request(format!(
                "A batch may hold at most {max} operations; this one has {}.",
                requests.len()
            ))
            .into_response(media);
        }
        if requests.is_empty() {
            return Rejection::bad_request("The batch is empty.").into_response(media);
        }
    }
    let context = match request_context(&state, &http::Request::from_parts(parts, ())).await {
        Ok(context) => context,
        Err(e) => return internal_error(e, media),
    };
    let loaders = Loaders::new(&state.core);
    // One budget for the whole batch: its operations' costs add up.
    let budget = CostBudget::new(state.config.graphql.max_complexity);
    let response = state
        .schema
        .execute_batch(batch.data(context).data(loaders).data(budget))
        .await;
    media.respond_graphql(response)
}

pub async fn get(
    State(state): State<AppState>,
    Query(params): Query<GetParams>,
    request: axum::extract::Request,
) -> Response {
    let media = ResponseMedia::negotiate(request.headers());
    // The body of a GET is empty; only the head is kept across awaits.
    let http_request = http::Request::from_parts(request.into_parts().0, ());
    let request = match params.into_request() {
        Ok(request) => request,
        Err(message) => return Rejection::bad_request(message).into_response(media),
    };
    // A GET may name its document by hash; the operation type is that document's.
    let mut peeked = persisted::peek(&request, &state.config.graphql.persisted, &state.apq)
        .map(Request::new)
        .unwrap_or_else(|| Request::new(request.query.clone()));
    peeked.operation_name = request.operation_name.clone();
    match operation_type(&mut peeked) {
        Ok(OperationType::Query) => {}
        Ok(_) => {
            let mut response = Rejection {
                status: StatusCode::METHOD_NOT_ALLOWED,
                message: "Only queries may be sent with GET; send mutations with POST.".into(),
            }
            .into_response(media);
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
            return response;
        }
        // Let execution report syntax and unknown-operation errors as usual.
        Err(()) => {}
    }
    let context = match request_context(&state, &http_request).await {
        Ok(context) => context,
        Err(e) => return internal_error(e, media),
    };
    let loaders = Loaders::new(&state.core);
    let response = state
        .schema
        .execute(request.data(context).data(loaders))
        .await;
    media.respond_graphql(BatchResponse::Single(response))
}

/// Who sends the request and from where, for the request's data.
async fn request_context<B>(
    state: &AppState,
    request: &http::Request<B>,
) -> Result<RequestContext, AppError> {
    let meta = request_meta(&state.config, request);
    let viewer = match super::cookies::session_token(&state.config, request.headers()) {
        // Before the operation's own deadline starts, so bounded here.
        Some(token) => {
            crate::db::bounded(
                state.config.database_timeouts.statement,
                session::authenticate(&state.db, &state.config, &token),
            )
            .await?
        }
        None => None,
    };
    Ok(RequestContext { viewer, meta })
}

fn internal_error(error: AppError, media: ResponseMedia) -> Response {
    let error = error
        .into_graphql()
        .into_server_error(async_graphql::Pos::default());
    let body = async_graphql::Response::from_errors(vec![error]);
    media.respond(
        StatusCode::INTERNAL_SERVER_ERROR,
        &BatchResponse::Single(body),
    )
}

/// The GraphQL-over-HTTP query parameters of a GET request.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    #[serde(default)]
    query: String,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
    /// A trusted document's id, as `sha256:<hex>` or the bare hash.
    document_id: Option<String>,
}

impl GetParams {
    fn into_request(self) -> Result<Request, String> {
        let mut request = Request::new(self.query);
        if let Some(name) = self.operation_name.filter(|n| !n.is_empty()) {
            request = request.operation_name(name);
        }
        if let Some(raw) = self.variables.filter(|v| !v.is_empty()) {
            let value: serde_json::Value =
                serde_json::from_str(&raw).map_err(|e| format!("variables are not JSON: {e}"))?;
            request = request.variables(async_graphql::Variables::from_json(value));
        }
        if let Some(raw) = self.extensions.filter(|v| !v.is_empty()) {
            request.extensions = serde_json::from_str(&raw)
                .map_err(|e| format!("extensions are not a JSON object: {e}"))?;
        }
        if let Some(id) = self.document_id {
            file_document_id(&mut request, &id);
        }
        Ok(request)
    }
}

fn parse_post_body(content_type: &str, body: &[u8]) -> Result<BatchRequest, Rejection> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if json {
        let not_graphql = |e: serde_json::Error| {
            Rejection::bad_request(format!("The body is not a GraphQL request: {e}"))
        };
        let value: serde_json::Value = serde_json::from_slice(body).map_err(not_graphql)?;
        let parse_one = |value: serde_json::Value| -> Result<Request, Rejection> {
            if !value.is_object() {
                return Err(Rejection::bad_request(
                    "Each GraphQL request is a JSON object.",
                ));
            }
            let document_id = value
                .get("documentId")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned);
            if value
                .get("query")
                .is_some_and(|q| !q.is_string() && !q.is_null())
            {
                return Err(Rejection::bad_request("query must be a string."));
            }
            let mut request: Request = serde_json::from_value(value).map_err(not_graphql)?;
            if let Some(id) = document_id {
                file_document_id(&mut request, &id);
            }
            Ok(request)
        };
        return match value {
            serde_json::Value::Array(items) => Ok(BatchRequest::Batch(
                items.into_iter().map(parse_one).collect::<Result<_, _>>()?,
            )),
            other => Ok(BatchRequest::Single(parse_one(other)?)),
        };
    }
    if essence == "application/graphql" {
        let query = std::str::from_utf8(body)
            .map_err(|_| Rejection::bad_request("The body is not UTF-8."))?;
        return Ok(BatchRequest::Single(Request::new(query)));
    }
    // Form encodings and text/plain are what a cross-site form can send
    // without a CORS preflight, so they are never executed.
    Err(Rejection {
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        message: "Send GraphQL requests as application/json.".into(),
    })
}

/// A trusted document's id (`documentId`, as graphql-codegen's clients send
/// it) goes where persisted-query hashes are looked up.
fn file_document_id(request: &mut Request, id: &str) {
    let hash = id.strip_prefix("sha256:").unwrap_or(id);
    let extension = serde_json::json!({ "version": 1, "sha256Hash": hash });
    if let Ok(value) = async_graphql::Value::from_json(extension) {
        request.extensions.insert("persistedQuery".into(), value);
    }
}

/// The type of the operation the request would run, if the document parses
/// and names one.
fn operation_type(request: &mut Request) -> Result<OperationType, ()> {
    let name = request.operation_name.clone();
    let doc = request.parsed_query().map_err(|_| ())?;
    let op = match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name.as_str()).ok_or(())?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().ok_or(())?
        }
        (DocumentOperations::Multiple(_), None) => return Err(()),
    };
    Ok(op.node.ty)
}

/// A request refused before execution, answered in GraphQL's error shape.
struct Rejection {
    status: StatusCode,
    message: String,
}

impl Rejection {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// Nothing ran, so the answer has `errors` and no `data` entry.
    fn into_response(self, media: ResponseMedia) -> Response {
        let error = ErrorCode::BadRequest.error(self.message);
        let body = serde_json::json!({ "errors": [error] }).to_string();
        (
            self.status,
            [(header::CONTENT_TYPE, media.content_type())],
            body,
        )
            .into_response()
    }
}

#[derive(Clone, Copy)]
enum ResponseMedia {
    Json,
    GraphqlResponseJson,
}

impl ResponseMedia {
    fn negotiate(headers: &HeaderMap) -> Self {
        let accepts = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains(GRAPHQL_RESPONSE_JSON));
        if accepts {
            Self::GraphqlResponseJson
        } else {
            Self::Json
        }
    }

    /// The answer to an executed request. Over `application/graphql-response+json`
    /// a request refused before execution (parse, validation, limits,
    /// persisted documents) is a 400 with no `data` entry, as the
    /// GraphQL-over-HTTP spec asks; plain `application/json` keeps 200.
    fn respond_graphql(self, body: BatchResponse) -> Response {
        let BatchResponse::Single(response) = &body else {
            return self.respond(StatusCode::OK, &body);
        };
        let refused = match response.errors.first().and_then(code_of) {
            Some(code) if response.data == async_graphql::Value::Null => code,
            _ => return self.respond(StatusCode::OK, &body),
        };
        match self {
            // Not a GraphQL request at all: 400 whatever the client accepts.
            Self::Json if refused == ErrorCode::BadRequest => {
                self.respond(StatusCode::BAD_REQUEST, &body)
            }
            Self::GraphqlResponseJson if refused.is_request_error() => {
                let errors = serde_json::json!({ "errors": response.errors });
                let mut answer = (
                    StatusCode::BAD_REQUEST,
                    [(header::CONTENT_TYPE, self.content_type())],
                    errors.to_string(),
                )
                    .into_response();
                copy_headers(&mut answer, &body);
                answer
            }
            _ => self.respond(StatusCode::OK, &body),
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
        }
    }

    fn respond(self, status: StatusCode, body: &BatchResponse) -> Response {
        let content_type = self.content_type();
        // Sized for a dashboard's answer, so a large one is not grown and
        // copied a dozen times on its way out.
        let mut bytes = Vec::with_capacity(RESPONSE_BUFFER);
        match serde_json::to_writer(&mut bytes, body) {
            Ok(()) => {
                let mut response =
                    (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response();
                copy_headers(&mut response, body);
                response
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize a GraphQL response");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}

/// Headers set by resolvers, such as the session cookie.
fn copy_headers(response: &mut Response, body: &BatchResponse) {
    let set_by_resolvers = match body {
        BatchResponse::Single(r) => vec![&r.http_headers],
        BatchResponse::Batch(rs) => rs.iter().map(|r| &r.http_headers).collect(),
    };
    for headers in set_by_resolvers {
        for (name, value) in headers {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
}
