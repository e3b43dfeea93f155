//! The one integration-test binary: every test drives a real server over HTTP.

mod support;

mod accounts;
mod foundation;
mod oauth;
mod passwords;
mod throttling;
