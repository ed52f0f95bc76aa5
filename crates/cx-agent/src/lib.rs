//! cxone-rs agent availability: profile, skills, WFM rules, work-mode updates (seed 002).
//!
//! Not implemented yet: this crate is a placeholder in the workspace layout and
//! exports nothing. Its issue builds it on the runtime in `cx-http`.
