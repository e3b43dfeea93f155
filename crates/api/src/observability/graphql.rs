//! The schema extension that measures every GraphQL operation: a span, the
//! request metrics, statements per operation and active subscriptions.

use std::{
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::Instant,
};

use async_graphql::{
    Request, Response, ServerResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
        NextPrepareRequest, NextRequest, NextSubscribe,
    },
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
};
use futures_util::{StreamExt, stream::BoxStream};
use tracing::{Instrument, field::Empty};

use super::{GaugeGuard, Metrics, OK};
use crate::error::{ErrorCode, code_of};

/// Registered on the schema; makes one `OperationTelemetry` per operation.
pub struct GraphqlTelemetry {
    metrics: Metrics,
}

impl GraphqlTelemetry {
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl ExtensionFactory for GraphqlTelemetry {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OperationTelemetry {
            metrics: self.metrics.clone(),
            operation: Arc::new(Operation::default()),
        })
    }
}

struct OperationTelemetry {
    metrics: Metrics,
    operation: Arc<Operation>,
}

/// What one operation learns of itself as it goes through the hooks.
#[derive(Default)]
struct Operation {
    /// The name the client asked for, until the document says better.
    name: Mutex<Option<String>>,
    kind: OnceLock<OperationType>,
    /// Set when the operation is served as a stream (WebSocket), the only
    /// way a subscription runs.
    streamed: OnceLock<()>,
    subscription: Mutex<Option<GaugeGuard>>,
}

impl Operation {
    fn name(&self) -> Option<String> {
        self.name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Takes name and type from the parsed document, as execution will.
    fn resolve(&self, document: &ExecutableDocument) {
        let mut name = self.name.lock().unwrap_or_else(PoisonError::into_inner);
        let (resolved, definition) = match (&document.operations, name.as_deref()) {
            (DocumentOperations::Single(op), None) => (None, op),
            (DocumentOperations::Multiple(ops), Some(wanted)) => match ops.get(wanted) {
                Some(op) => (Some(wanted.to_owned()), op),
                None => return,
            },
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
                match ops.iter().next() {
                    Some((n, op)) => (Some(n.to_string()), op),
                    None => return,
                }
            }
            _ => return,
        };
        *name = resolved;
        let _ = self.kind.set(definition.node.ty);
    }
}

/// Ends the subscription's count with the stream that serves it, which the
/// WebSocket drops when the client stops it or goes away.
struct SubscriptionEnd(Arc<Operation>);

impl Drop for SubscriptionEnd {
    fn drop(&mut self) {
        self.0
            .subscription
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

/// The first error's `extensions.code`, or OK without errors. Admission
/// gives every error a code before this sees it; an error that still had
/// none would be ours, hence INTERNAL.
fn outcome(response: &Response) -> &'static str {
    match response.errors.first() {
        None => OK,
        Some(error) => code_of(error).unwrap_or(ErrorCode::Internal).as_str(),
    }
}

#[async_trait::async_trait]
impl Extension for OperationTelemetry {
    /// Queries and mutations over HTTP: the whole operation, parse to response.
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let started = Instant::now();
        let (response, statements) = crate::db::count_statements(next.run(ctx)).await;
        let code = outcome(&response);
        self.metrics.graphql_operation(
            self.operation.name().as_deref(),
            code,
            started.elapsed(),
            Some(statements),
        );
        response
    }

    /// Everything over WebSocket. A subscription counts as active while its
    /// stream lives; a query or mutation sent this way counts as a request
    /// when its response passes.
    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        let _ = self.operation.streamed.set(());
        let metrics = self.metrics.clone();
        let started = Instant::now();
        // Owned by the closure, so it ends with the stream.
        let ending = SubscriptionEnd(self.operation.clone());
        next.run(ctx, stream)
            .map(move |response| {
                let operation = &ending.0;
                if operation.kind.get() != Some(&OperationType::Subscription) {
                    let code = outcome(&response);
                    metrics.graphql_operation(
                        operation.name().as_deref(),
                        code,
                        started.elapsed(),
                        None,
                    );
                }
                response
            })
            .boxed()
    }

    /// The operation's span covers execution only: a span's name is fixed
    /// once it is entered, and only parsing tells it ("query Dashboard").
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let kind = self
            .operation
            .kind
            .get()
            .map_or_else(|| "operation".to_owned(), ToString::to_string);
        let name = match operation_name {
            Some(name) => format!("{kind} {name}"),
            None => kind.clone(),
        };
        let span = tracing::info_span!(
            "graphql",
            otel.name = %name,
            otel.status_code = Empty,
            graphql.operation.name = operation_name,
            graphql.operation.type = %kind,
        );
        let response = next.run(ctx, operation_name).instrument(span.clone()).await;
        if !response.errors.is_empty() {
            span.record("otel.status_code", "ERROR");
        }
        response
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        *self
            .operation
            .name
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        self.operation.resolve(&document);
        // Over POST a subscription is refused at execution, so it is counted
        // only when it runs as a stream, whose end (`SubscriptionEnd`)
        // uncounts it.
        if self.operation.streamed.get().is_some()
            && self.operation.kind.get() == Some(&OperationType::Subscription)
        {
            *self
                .operation
                .subscription
                .lock()
                .unwrap_or_else(PoisonError::into_inner) =
                Some(self.metrics.subscription_started());
        }
        Ok(document)
    }
}
