//! Integration tests of cxone: one test binary, one module per area.

#![allow(clippy::disallowed_macros, clippy::unwrap_used)]

mod cli;
mod cli_agent;
mod cli_agent_ops;
mod cli_agent_real;
mod cli_audit;
mod cli_contacts;
mod cli_dataaction;
mod cli_extract;
mod cli_history;
mod cli_hostile;
mod cli_login;
mod cli_redis;
mod cli_script;
mod cli_webhook;
mod support;
