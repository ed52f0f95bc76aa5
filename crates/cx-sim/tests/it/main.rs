//! Integration tests of cx-sim: one test binary, one module per area.

#![allow(clippy::unwrap_used)]

mod access_key;
mod agent_sessions;
mod agents;
mod audit;
mod auth;
mod callbacks;
mod contacts;
mod dataactions;
mod extraction;
mod faults;
mod history;
mod instances;
mod journal_admin;
mod load;
mod scripts;
mod server;
mod support;
mod workflows;
