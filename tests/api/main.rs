//! The one integration-test binary: every test drives a real server over HTTP.

mod support;

mod accounts;
mod admission;
mod audit;
mod billing;
mod billing_calls;
mod billing_members;
mod billing_order;
mod billing_webhooks;
mod cors;
mod counters;
mod deployment;
mod foundation;
mod graphiql;
mod invitations;
mod isolation;
mod live_sessions;
mod loading;
mod memory;
mod nodes;
mod oauth;
mod observability;
mod organizations;
mod password_cost;
mod passwords;
mod permissions;
mod persisted;
mod plans;
mod profile;
mod projects;
mod races;
mod replicas;
mod resilience;
mod search;
mod sessions;
mod squatting;
mod subscriptions;
mod text_input;
mod throttling;
mod timeouts;
mod web_client;
mod webhook_problems;
mod websocket;
// new-resource: module
