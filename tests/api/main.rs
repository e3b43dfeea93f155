//! The one integration-test binary: every test drives a real server over HTTP.

mod support;

mod accounts;
mod foundation;
mod invitations;
mod isolation;
mod oauth;
mod organizations;
mod passwords;
mod races;
mod throttling;
