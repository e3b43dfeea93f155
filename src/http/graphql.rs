//! The GraphQL endpoints: POST and GET `/graphql`, the WebSocket at
//! `/graphql/ws`, and GraphiQL.
//!
//! The request is parsed here rather than by async-graphql-axum's extractor
//! so the content type, the batch size and the operation type over GET are
//! checked before anything runs.

use async_graphql::{
    BatchRequest, BatchResponse, Request, ServerError,
    http::GraphiQLSource,
    parser::types::{DocumentOperations, OperationType},
};
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::{
    extract::{Query, State, WebSocketUpgrade},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{Html, IntoResponse, Response},
};

use super::request_meta;
use crate::graphql::loaders::Loaders;
use crate::{AppState, auth::session, error::AppError, graphql::context::RequestContext};

const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

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
    let response = state
        .schema
        .execute_batch(batch.data(context).data(loaders))
        .await;
    media.respond(StatusCode::OK, &response)
}

pub async fn get(
    State(state): State<AppState>,
    Query(params): Query<GetParams>,
    request: axum::extract::Request,
) -> Response {
    let media = ResponseMedia::negotiate(request.headers());
    // The body of a GET is empty; only the head is kept across awaits.
    let http_request = http::Request::from_parts(request.into_parts().0, ());
    let mut request = match params.into_request() {
        Ok(request) => request,
        Err(message) => return Rejection::bad_request(message).into_response(media),
    };
    match operation_type(&mut request) {
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
    media.respond(StatusCode::OK, &BatchResponse::Single(response))
}

/// Who sends the request and from where, for the request's data.
async fn request_context<B>(
    state: &AppState,
    request: &http::Request<B>,
) -> Result<RequestContext, AppError> {
    let meta = request_meta(&state.config, request);
    let viewer = match session::token_from_headers(&state.config, request.headers()) {
        Some(token) => session::authenticate(&state.db, &state.config, &token).await?,
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

/// Subscriptions over WebSocket. The viewer comes from `connection_init`'s
/// `{"authorization": "Bearer …"}`, or else from the session cookie of the
/// upgrade request, which counts only when it comes from an allowed origin
/// (a cookie alone must not let another site open a socket as the user).
pub async fn websocket(
    State(state): State<AppState>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
    request: axum::extract::Request,
) -> Response {
    let (parts, _) = request.into_parts();
    let head = http::Request::from_parts(parts, ());
    let meta = request_meta(&state.config, &head);
    let same_site = head
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|origin| {
            state.config.is_frontend_origin(origin)
                || origin == crate::config::origin_of(&state.config.public_url)
        });
    let cookie_token = same_site
        .then(|| session::token_from_headers(&state.config, head.headers()))
        .flatten();
    let schema = state.schema.clone();
    let core = state.core.clone();
    upgrade
        .protocols(async_graphql::http::ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| {
            let open = core.metrics.websocket_opened();
            let connection = GraphQLWebSocket::new(stream, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let bearer = payload
                        .get("authorization")
                        .or_else(|| payload.get("Authorization"))
                        .and_then(|v| v.as_str())
                        .map(|v| v.trim().trim_start_matches("Bearer ").trim().to_owned());
                    let viewer = match bearer.or(cookie_token) {
                        Some(token) => {
                            let viewer = session::authenticate(&core.db, &core.config, &token)
                                .await
                                .map_err(AppError::into_graphql)?;
                            if viewer.is_none() {
                                return Err(async_graphql::Error::new("The session is not valid."));
                            }
                            viewer
                        }
                        None => None,
                    };
                    let mut data = async_graphql::Data::default();
                    data.insert(RequestContext { viewer, meta });
                    data.insert(Loaders::new(&core));
                    Ok(data)
                })
                .serve();
            async move {
                connection.await;
                drop(open);
            }
        })
}

pub async fn graphiql() -> impl IntoResponse {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("Groundwork GraphiQL")
            .credentials(async_graphql::http::Credentials::SameOrigin)
            .finish(),
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
        return serde_json::from_slice::<BatchRequest>(body).map_err(|e| {
            Rejection::bad_request(format!("The body is not a GraphQL request: {e}"))
        });
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

    fn into_response(self, media: ResponseMedia) -> Response {
        let mut error = ServerError::new(self.message, None);
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", "BAD_REQUEST");
        error.extensions = Some(ext);
        let body = async_graphql::Response::from_errors(vec![error]);
        media.respond(self.status, &BatchResponse::Single(body))
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

    fn respond(self, status: StatusCode, body: &BatchResponse) -> Response {
        let content_type = match self {
            Self::Json => "application/json",
            Self::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
        };
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                let mut response =
                    (status, [(header::CONTENT_TYPE, content_type)], bytes).into_response();
                // Headers set by resolvers, such as the session cookie.
                let set_by_resolvers = match body {
                    BatchResponse::Single(r) => vec![&r.http_headers],
                    BatchResponse::Batch(rs) => rs.iter().map(|r| &r.http_headers).collect(),
                };
                for headers in set_by_resolvers {
                    for (name, value) in headers {
                        response.headers_mut().append(name.clone(), value.clone());
                    }
                }
                response
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot serialize a GraphQL response");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        }
    }
}
