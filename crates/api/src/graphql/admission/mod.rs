//! Admission: what a GraphQL request must pass before it runs, cheapest
//! check first, each refusal with its own `extensions.code`:
//!
//! 1. the body size (HTTP layer) and the batch size;
//! 2. persisted documents: a hash resolved to its document, and in `only`
//!    mode anything else refused;
//! 3. tokens and nesting, counted before parsing;
//! 4. parsing;
//! 5. the size of the operation with every fragment expanded, computed
//!    without expanding, so exponential documents never reach validation;
//! 6. the operation named exists and its required variables are given;
//! 7. validation;
//! 8. cost: a list field costs its selection times its `first`, and the
//!    operations of one batch share one budget;
//! 9. aliases, depth and directives;
//!
//! then execution under a deadline. Every error that leaves here carries a
//! code, whatever produced it.

mod lexer;
pub mod persisted;
mod shape;

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
        NextPrepareRequest, NextRequest, NextSubscribe, NextValidation,
    },
    futures_util::stream::BoxStream,
    parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition},
};
use futures_util::StreamExt;

use crate::{
    config::GraphqlLimits,
    error::{AppError, CodedError, ErrorCode, code_of},
};

pub use persisted::ApqCache;
pub use shape::{Shape, measure};

/// What one HTTP request may spend on cost, shared by the operations of a
/// batch so ten operations cannot each take the whole limit.
pub struct CostBudget(AtomicUsize);

impl CostBudget {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self(AtomicUsize::new(limit)))
    }

    /// Takes `cost` from what is left; false (and nothing taken) when it does not fit.
    fn spend(&self, cost: usize) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(cost)
            })
            .is_ok()
    }
}

pub struct Admission {
    limits: Arc<GraphqlLimits>,
    apq: Arc<ApqCache>,
}

impl Admission {
    pub fn new(limits: &GraphqlLimits, apq: Arc<ApqCache>) -> Self {
        Self {
            apq,
            limits: Arc::new(limits.clone()),
        }
    }
}

impl ExtensionFactory for Admission {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AdmissionExtension {
            limits: self.limits.clone(),
            apq: self.apq.clone(),
            state: Arc::default(),
        })
    }
}

/// What one request's checks learn in one hook and use in a later one.
#[derive(Default)]
struct State {
    operation_name: Option<String>,
    /// A hash and document to remember once the document has validated.
    register: Option<(String, String)>,
    shape: Shape,
    validated: bool,
}

struct AdmissionExtension {
    limits: Arc<GraphqlLimits>,
    apq: Arc<ApqCache>,
    state: Arc<Mutex<State>>,
}

impl AdmissionExtension {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn too_complex(&self, what: &str, value: impl std::fmt::Display, limit: usize) -> ServerError {
        ErrorCode::QueryTooComplex.error(format!(
            "The operation's {what} is {value}; at most {limit} is allowed."
        ))
    }
}

/// Gives every error without a code the one its phase implies: before
/// validation passed, the request was refused as invalid; after, it is an
/// execution error async-graphql raised itself.
fn stamp_all(state: &Mutex<State>, errors: &mut [ServerError]) {
    let validated = state.lock().map(|s| s.validated).unwrap_or(true);
    for error in errors {
        if code_of(error).is_some() {
            continue;
        }
        let code = if validated {
            execution_error_code(error)
        } else {
            ErrorCode::GraphqlValidationFailed
        };
        code.stamp(error);
    }
}

/// async-graphql's own execution errors carry no code: argument values it
/// could not convert are the client's input; anything else is ours.
fn execution_error_code(error: &ServerError) -> ErrorCode {
    if error.message.starts_with("Failed to parse") || error.message.starts_with("Invalid value") {
        ErrorCode::BadUserInput
    } else {
        tracing::error!(message = %error.message, path = ?error.path, "execution error without a code");
        ErrorCode::Internal
    }
}

/// The operation a request will run, as async-graphql picks it.
fn selected<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&str>,
) -> Result<&'a OperationDefinition, ServerError> {
    let refuse = |message: String| Err(ErrorCode::GraphqlValidationFailed.error(message));
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), None) => Ok(&op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            Ok(&ops.values().next().expect("one operation").node)
        }
        (DocumentOperations::Multiple(_), None) => {
            refuse("The document has several operations; name one in operationName.".into())
        }
        (DocumentOperations::Multiple(ops), Some(name)) => match ops.get(name) {
            Some(op) => Ok(&op.node),
            None => refuse(format!("The document has no operation named \"{name}\".")),
        },
        (DocumentOperations::Single(_), Some(name)) => {
            refuse(format!("The document has no operation named \"{name}\"."))
        }
    }
}

/// Required variables the request did not give. Variables that are given are
/// checked against their types by validation, where they are used.
fn check_variables(op: &OperationDefinition, variables: &Variables) -> ServerResult<()> {
    for definition in &op.variable_definitions {
        let definition = &definition.node;
        let required = !definition.var_type.node.nullable && definition.default_value.is_none();
        let given = variables
            .get(&definition.name.node)
            .is_some_and(|v| *v != async_graphql::Value::Null);
        if required && !given {
            return Err(ErrorCode::GraphqlValidationFailed.error(format!(
                "Variable \"${}\" of required type \"{}\" was not provided.",
                definition.name.node, definition.var_type.node
            )));
        }
    }
    Ok(())
}

#[async_trait::async_trait]
impl Extension for AdmissionExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        stamp_all(&self.state, &mut response.errors);
        response
    }

    fn subscribe<'s>(
        &self,
        ctx: &ExtensionContext<'_>,
        stream: BoxStream<'s, Response>,
        next: NextSubscribe<'_>,
    ) -> BoxStream<'s, Response> {
        // The stream prepares its request only when first polled, so the
        // phase is read per item, not now.
        let state = self.state.clone();
        next.run(ctx, stream)
            .map(move |mut response| {
                stamp_all(&state, &mut response.errors);
                response
            })
            .boxed()
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let trusted = &self.limits.persisted;
        if let Some(hash) = persisted::resolve(&mut request, trusted, &self.apq)? {
            self.state().register = Some((hash, request.query.clone()));
        }
        self.state().operation_name = request.operation_name.clone();
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<async_graphql::parser::types::ExecutableDocument> {
        let limits = &self.limits;
        lexer::check(query, limits.max_tokens, limits.max_recursive_depth).map_err(|too_big| {
            match too_big {
                lexer::TooBig::Tokens { limit } => ErrorCode::QueryTooComplex
                    .error(format!("The document has more than {limit} tokens.")),
                lexer::TooBig::Nesting { limit } => ErrorCode::QueryTooComplex
                    .error(format!("The document nests more than {limit} levels deep.")),
            }
        })?;
        // Parsed here rather than by `next`: async-graphql's own parse step
        // follows every fragment spread to check recursion depth, which is
        // exponential in a fragment bomb and runs before any hook sees the
        // document. The lexer above bounded nesting already, and
        // validation's depth is checked below once expansion is bounded.
        let _ = (ctx, next);
        let doc = async_graphql::parser::parse_query(query).map_err(|e| {
            let mut error = ServerError::from(e);
            ErrorCode::GraphqlParseFailed.stamp(&mut error);
            error
        })?;
        let shape = measure(&doc);
        if let Some(fragment) = &shape.cycle {
            return Err(ErrorCode::GraphqlValidationFailed.error(format!(
                "Fragment \"{fragment}\" spreads itself, directly or through other fragments."
            )));
        }
        if shape.fields > limits.max_fields as u64 {
            return Err(self.too_complex(
                "number of fields with fragments expanded",
                shape.fields,
                limits.max_fields,
            ));
        }
        let name = self.state().operation_name.clone();
        check_variables(selected(&doc, name.as_deref())?, variables)?;
        self.state().shape = shape;
        Ok(doc)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|mut errors| {
            for error in &mut errors {
                ErrorCode::GraphqlValidationFailed.stamp(error);
            }
            errors
        })?;
        let limits = &self.limits;
        let fits = match ctx.data_opt::<Arc<CostBudget>>() {
            Some(budget) => budget.spend(result.complexity),
            None => result.complexity <= limits.max_complexity,
        };
        if !fits {
            return Err(vec![ErrorCode::QueryTooComplex.error(format!(
                "The operation costs {} (a list counts its selection once per item asked \
                 for); at most {} is allowed per request, batches included.",
                result.complexity, limits.max_complexity
            ))]);
        }
        let shape = self.state().shape.clone();
        if shape.aliases > limits.max_aliases as u64 {
            return Err(vec![self.too_complex(
                "number of aliases",
                shape.aliases,
                limits.max_aliases,
            )]);
        }
        if result.depth > limits.max_depth {
            return Err(vec![self.too_complex(
                "depth",
                result.depth,
                limits.max_depth,
            )]);
        }
        if shape.max_directives > limits.max_directives {
            return Err(vec![self.too_complex(
                "most directives on one field",
                shape.max_directives,
                limits.max_directives,
            )]);
        }
        let mut state = self.state();
        state.validated = true;
        if let Some((hash, document)) = state.register.take() {
            self.apq.insert(hash, &document);
        }
        Ok(result)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let deadline = self.limits.timeout;
        match tokio::time::timeout(deadline, next.run(ctx, operation_name)).await {
            Ok(response) => response,
            // Dropping the execution rolls back any transaction it had open.
            Err(_) => {
                let error = AppError::internal(format!(
                    "operation {operation_name:?} passed the {deadline:?} deadline"
                ))
                .into_graphql()
                .into_server_error(async_graphql::Pos::default());
                Response::from_errors(vec![error])
            }
        }
    }
}
