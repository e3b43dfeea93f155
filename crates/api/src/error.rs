//! Errors as the API answers them: services' `AppError`s (converted in the
//! kernel, behind its `graphql` feature) and the request-level errors of
//! admission and transport, each with its `extensions.code`.

pub use groundwork_kernel::error::{AppError, AppResult, ErrorCode};

/// Request-level errors in the shape async-graphql returns.
pub trait CodedError {
    /// An error with this code.
    fn error(self, message: impl Into<String>) -> async_graphql::ServerError;
    /// Sets this code on an error that has none yet.
    fn stamp(self, error: &mut async_graphql::ServerError);
}

impl CodedError for ErrorCode {
    fn error(self, message: impl Into<String>) -> async_graphql::ServerError {
        let mut error = async_graphql::ServerError::new(message, None);
        self.stamp(&mut error);
        error
    }

    fn stamp(self, error: &mut async_graphql::ServerError) {
        let extensions = error.extensions.get_or_insert_with(Default::default);
        if extensions.get("code").is_none() {
            extensions.set("code", self.as_str());
        }
    }
}

/// The code an error already carries, if any.
pub fn code_of(error: &async_graphql::ServerError) -> Option<ErrorCode> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => ErrorCode::parse(code),
        _ => None,
    }
}
