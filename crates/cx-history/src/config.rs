//! Settings of a [`crate::Client`] and their defaults, all in one place.
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | `max_in_flight` | 5 | page requests of one query in flight at once (seed 003's concurrent-request quota) |
//! | `analyzer.threshold` | 15 s | decision points dwelling longer are bottlenecks (seed 003) |
//! | `analyzer.*` | see [`AnalyzerConfig`] | bounds of the analyzer's memory |
//! | `verified_accuracy` | 0.95 | accuracy above which a report is VERIFIED (seed 003 step 4) |
//! | `max_pages` | 10,000 | pages one query may fetch before it stops with an error |
//! | `max_page_bytes` | 64 MiB | longest page body read (a page holds up to 1,000 interactions with their steps; the runtime's default cap is 8 MiB) |
//! | `clock` | [`SystemClock`] | "now" of audit records |
//!
//! Retries of individual requests (429 with `Retry-After`, 5xx) are the
//! runtime's, configured on the [`cx_http::Client`].

use std::sync::Arc;

use cx_http::{Clock, SystemClock};

use crate::analyze::AnalyzerConfig;

/// Settings of a [`crate::Client`]. See the module docs for the defaults.
///
/// Built from `Default` and the `with_*` setters:
///
/// ```
/// use std::time::Duration;
/// use cx_history::{AnalyzerConfig, Config};
///
/// let config = Config::default()
///     .with_max_in_flight(2)
///     .with_analyzer(AnalyzerConfig::default().with_threshold(Duration::from_secs(10)));
/// assert_eq!(config.analyzer.threshold, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Page requests in flight at once per query (≥ 1; 0 is treated as 1).
    pub max_in_flight: usize,
    /// Analyzer settings (threshold, bounds).
    pub analyzer: AnalyzerConfig,
    /// Accuracy (records retrieved / total the API reports) above which the
    /// compliance status is VERIFIED, else REVIEW_REQUIRED.
    pub verified_accuracy: f64,
    /// Most pages fetched for one query.
    pub max_pages: u64,
    /// Longest page body read, in bytes (the runtime's
    /// [`cx_http::RequestBuilder::max_body_bytes`] for page requests).
    pub max_page_bytes: usize,
    /// Where "now" comes from (audit records). Default [`SystemClock`]; a
    /// query's retention window has its own clock
    /// ([`crate::HistoryQueryBuilder::clock`]).
    pub clock: Arc<dyn Clock>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_in_flight: 5,
            analyzer: AnalyzerConfig::default(),
            verified_accuracy: 0.95,
            max_pages: cx_http::paginate::DEFAULT_MAX_PAGES,
            max_page_bytes: 64 * 1024 * 1024,
            clock: Arc::new(SystemClock),
        }
    }
}

cx_http::with_setters! { Config {
    /// Set [`Config::max_in_flight`] (≥ 1; 0 is treated as 1).
    with_max_in_flight(max_in_flight: usize);
    /// Set [`Config::analyzer`].
    with_analyzer(analyzer: AnalyzerConfig);
    /// Set [`Config::verified_accuracy`] (a fraction, 0..=1).
    with_verified_accuracy(verified_accuracy: f64);
    /// Set [`Config::max_pages`].
    with_max_pages(max_pages: u64);
    /// Set [`Config::max_page_bytes`] (bytes).
    with_max_page_bytes(max_page_bytes: usize);
    /// Read "now" from `clock` ([`Config::clock`]).
    with_clock(clock: Arc<dyn Clock>);
}}
