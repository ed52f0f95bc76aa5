//! cxone-rs interaction history queries and path analysis (seed 003).
//!
//! Not implemented yet: this crate is a placeholder in the workspace layout and
//! exports nothing. Its issue builds it on the runtime in `cx-http`.
