//! Integration tests for `cx-audit`: canonical JSON vectors and JSONL files.

mod canonical;
mod crash;
mod export;
mod jsonl;
#[cfg(feature = "receiver")]
mod receiver;
mod tamper;
