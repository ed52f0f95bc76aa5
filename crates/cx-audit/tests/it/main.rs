//! Integration tests for `cx-audit`: canonical JSON vectors and JSONL files.

mod canonical;
mod export;
mod jsonl;
