//! The one integration-test binary: every test drives a real server over HTTP.

mod support;

mod accounts;
mod audit;
mod billing;
mod billing_order;
mod foundation;
mod invitations;
mod isolation;
mod loading;
mod oauth;
mod observability;
mod organizations;
mod passwords;
mod permissions;
mod plans;
mod projects;
mod races;
mod subscriptions;
mod throttling;
