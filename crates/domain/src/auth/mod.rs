//! Users, sessions, passwords, OAuth sign-in and email tokens.

pub mod email_tokens;
pub mod entity;
pub mod live;
pub mod oauth_service;
pub mod passwords;
pub mod service;
pub mod session;
pub mod throttle;
pub mod validate;

pub use session::Viewer;
