//! How an `AppError` reaches a GraphQL client: `extensions.code` from its
//! code, the details its code promises, and internal failures masked. Only
//! the API builds with this (the `graphql` feature); services never see it.

use async_graphql::ErrorExtensions;

use super::AppError;

impl AppError {
    /// Turns the error into what a client receives, logging internal failures
    /// under a fresh id that the client is given in their place.
    pub fn into_graphql(self) -> async_graphql::Error {
        let code = self.code();
        let message = self.client_message();
        let mut error_id = None;
        if let Self::Internal(cause) = &self {
            let id = uuid::Uuid::now_v7().to_string();
            tracing::error!(error_id = %id, error = %cause, "internal error");
            error_id = Some(id);
        }
        let message = match &error_id {
            Some(id) => format!("{message} Reference: {id}"),
            None => message,
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code.as_str());
            match &self {
                Self::BadUserInput { field, .. } => ext.set("field", field.as_str()),
                Self::PlanRequired { feature } => ext.set("feature", feature.as_str()),
                Self::PlanLimitReached { limit, used, .. } => {
                    ext.set("limit", *limit);
                    ext.set("used", *used);
                }
                Self::RateLimited { retry_after_secs } => ext.set("retryAfter", *retry_after_secs),
                _ => {}
            }
            if let Some(id) = &error_id {
                ext.set("errorId", id.as_str());
            }
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.into_graphql()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of(err: &async_graphql::Error) -> String {
        err.extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let err: async_graphql::Error = AppError::from(sea_orm::DbErr::Custom(
            "relation \"users\" is broken".into(),
        ))
        .into();
        assert!(!err.message.contains("users"));
        assert_eq!(code_of(&err), "\"INTERNAL\"");
        let id = err.extensions.as_ref().unwrap().get("errorId").unwrap();
        assert!(err.message.contains(id.to_string().trim_matches('"')));
    }

    #[test]
    fn user_errors_carry_their_details() {
        let err: async_graphql::Error = AppError::bad_input("email", "Not an email.").into();
        assert_eq!(code_of(&err), "\"BAD_USER_INPUT\"");
        assert_eq!(
            err.extensions
                .as_ref()
                .unwrap()
                .get("field")
                .unwrap()
                .to_string(),
            "\"email\""
        );
        let err: async_graphql::Error = AppError::PlanLimitReached {
            resource: "projects",
            limit: 3,
            used: 3,
        }
        .into();
        let ext = err.extensions.unwrap();
        assert_eq!(ext.get("limit").unwrap().to_string(), "3");
        assert_eq!(ext.get("used").unwrap().to_string(), "3");
    }
}
