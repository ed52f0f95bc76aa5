//! cxone-rs data actions: execute, poll jobs, JMESPath extraction (seed 004).
//!
//! Not implemented yet: this crate is a placeholder in the workspace layout and
//! exports nothing. Its issue builds it on the runtime in `cx-http`.
