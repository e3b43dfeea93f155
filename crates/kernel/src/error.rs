//! The one error type of services and resolvers, and the codes clients see.
//!
//! `AppError` deliberately does not implement `Display`: async-graphql turns
//! anything displayable into a client-visible message, so the only way from
//! an `AppError` to a GraphQL error is the API's conversion, which sets
//! `extensions.code` from `code()` and masks internal failures.

#[cfg(feature = "graphql")]
mod graphql;

/// The `extensions.code` values of the API contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    Unauthenticated,
    Forbidden,
    NotFound,
    BadUserInput,
    Conflict,
    PlanRequired,
    PlanLimitReached,
    RateLimited,
    BillingDisabled,
    /// A subscription asked to resume from a position older than the live
    /// event log keeps: refetch, then subscribe afresh.
    CursorExpired,
    Internal,
    /// Not a GraphQL request at all: no query, a body that is not one.
    BadRequest,
    GraphqlParseFailed,
    /// Unknown fields, wrong argument types, bad or missing variables.
    GraphqlValidationFailed,
    /// Refused by a limit before execution: size, depth, cost, aliases.
    QueryTooComplex,
    PersistedQueryNotFound,
    PersistedQueryNotAllowed,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::NotFound => "NOT_FOUND",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Conflict => "CONFLICT",
            Self::PlanRequired => "PLAN_REQUIRED",
            Self::PlanLimitReached => "PLAN_LIMIT_REACHED",
            Self::RateLimited => "RATE_LIMITED",
            Self::BillingDisabled => "BILLING_DISABLED",
            Self::CursorExpired => "CURSOR_EXPIRED",
            Self::Internal => "INTERNAL",
            Self::BadRequest => "BAD_REQUEST",
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::PersistedQueryNotAllowed => "PERSISTED_QUERY_NOT_ALLOWED",
        }
    }

    /// Codes of requests refused before anything ran: the response has no
    /// `data`, and over `application/graphql-response+json` its status is 400.
    pub fn is_request_error(self) -> bool {
        matches!(
            self,
            Self::BadRequest
                | Self::GraphqlParseFailed
                | Self::GraphqlValidationFailed
                | Self::QueryTooComplex
                | Self::PersistedQueryNotFound
                | Self::PersistedQueryNotAllowed
        )
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    const ALL: [Self; 17] = [
        Self::Unauthenticated,
        Self::Forbidden,
        Self::NotFound,
        Self::BadUserInput,
        Self::Conflict,
        Self::PlanRequired,
        Self::PlanLimitReached,
        Self::RateLimited,
        Self::BillingDisabled,
        Self::CursorExpired,
        Self::Internal,
        Self::BadRequest,
        Self::GraphqlParseFailed,
        Self::GraphqlValidationFailed,
        Self::QueryTooComplex,
        Self::PersistedQueryNotFound,
        Self::PersistedQueryNotAllowed,
    ];
}

#[derive(Debug, Clone)]
pub enum AppError {
    Unauthenticated,
    /// A failed sign-in; says nothing of which part was wrong.
    InvalidCredentials,
    Forbidden(String),
    NotFound(&'static str),
    BadUserInput {
        field: String,
        message: String,
    },
    Conflict(String),
    PlanRequired {
        feature: String,
    },
    PlanLimitReached {
        resource: &'static str,
        limit: u64,
        used: u64,
    },
    RateLimited {
        retry_after_secs: u64,
    },
    BillingDisabled,
    /// A resume position past the live event log's retention.
    CursorExpired,
    /// Anything the client cannot act on; logged in full, shown as an id.
    Internal(std::sync::Arc<dyn std::error::Error + Send + Sync>),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden(message.into())
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    pub fn internal(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(err.into().into())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials => ErrorCode::Unauthenticated,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::BadUserInput { .. } => ErrorCode::BadUserInput,
            Self::Conflict(_) => ErrorCode::Conflict,
            Self::PlanRequired { .. } => ErrorCode::PlanRequired,
            Self::PlanLimitReached { .. } => ErrorCode::PlanLimitReached,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::BillingDisabled => ErrorCode::BillingDisabled,
            Self::CursorExpired => ErrorCode::CursorExpired,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    /// The message a client sees. Internal errors never show their cause.
    pub fn client_message(&self) -> String {
        match self {
            Self::Unauthenticated => "You need to sign in.".into(),
            Self::InvalidCredentials => "The email or password is wrong.".into(),
            Self::Forbidden(message) => message.clone(),
            Self::NotFound(what) => format!("{what} not found."),
            Self::BadUserInput { message, .. } => message.clone(),
            Self::Conflict(message) => message.clone(),
            Self::PlanRequired { feature } => {
                format!("The organization's plan does not include {feature}.")
            }
            Self::PlanLimitReached {
                resource,
                limit,
                used,
            } => format!("The plan allows {limit} {resource}; {used} are in use."),
            Self::RateLimited { retry_after_secs } => {
                format!("Too many attempts. Try again in {retry_after_secs} s.")
            }
            Self::BillingDisabled => "Billing is not configured on this server.".into(),
            Self::CursorExpired => "Events after this cursor are no longer kept; refetch, then subscribe without a cursor.".into(),
            Self::Internal(_) => "Internal error.".into(),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(std::sync::Arc::new(err))
    }
}

impl From<sea_orm::TransactionError<AppError>> for AppError {
    fn from(err: sea_orm::TransactionError<AppError>) -> Self {
        match err {
            sea_orm::TransactionError::Connection(e) => e.into(),
            sea_orm::TransactionError::Transaction(e) => e,
        }
    }
}
