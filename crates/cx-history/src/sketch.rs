//! [`DwellSketch`]: quantiles of dwell times in one pass and bounded memory.
//!
//! A log-bucketed histogram (the DDSketch scheme): a value `v > 0` goes to
//! bucket `i = ceil(log_γ v)` with `γ = (1 + α) / (1 − α)`, and bucket `i`
//! reports `2γ^i / (γ + 1)`. Every value in a bucket is within a relative
//! error `α` of that estimate, so a quantile answer is within `α` (1%) of
//! the true nearest-rank quantile. Values below 1 µs count as zero. Between
//! 1 µs and 10⁷ s there are fewer than 1,500 buckets, so memory does not
//! grow with the number of values.

use std::collections::BTreeMap;

/// Relative accuracy of [`DwellSketch::quantile`]: 1%.
pub const RELATIVE_ERROR: f64 = 0.01;

/// Values at or below this many seconds count as zero.
const ZERO_BELOW: f64 = 1e-6;

/// Quantile sketch of non-negative values (seconds). See the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct DwellSketch {
    ln_gamma: f64,
    gamma: f64,
    zeros: u64,
    buckets: BTreeMap<i32, u64>,
    count: u64,
}

impl Default for DwellSketch {
    fn default() -> Self {
        let gamma = (1.0 + RELATIVE_ERROR) / (1.0 - RELATIVE_ERROR);
        Self {
            ln_gamma: gamma.ln(),
            gamma,
            zeros: 0,
            buckets: BTreeMap::new(),
            count: 0,
        }
    }
}

impl DwellSketch {
    /// Add one value (seconds; negative and NaN values are ignored).
    pub fn insert(&mut self, seconds: f64) {
        if seconds.is_nan() || seconds < 0.0 {
            return;
        }
        self.count += 1;
        if seconds <= ZERO_BELOW {
            self.zeros += 1;
            return;
        }
        let index = (seconds.ln() / self.ln_gamma).ceil().clamp(-2000.0, 2000.0) as i32;
        *self.buckets.entry(index).or_insert(0) += 1;
    }

    /// Values added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Buckets in use (the sketch's memory, in entries).
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// The nearest-rank `q`-quantile (`q` in 0..=1: rank `ceil(q·n)`, at
    /// least 1), within [`RELATIVE_ERROR`]; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        if rank <= self.zeros {
            return Some(0.0);
        }
        let mut seen = self.zeros;
        for (&index, &n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(2.0 * self.gamma.powi(index) / (self.gamma + 1.0));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_the_relative_error() {
        let mut s = DwellSketch::default();
        let values: Vec<f64> = (1..=1000).map(|i| f64::from(i) * 0.037).collect();
        for v in &values {
            s.insert(*v);
        }
        for (q, rank) in [(0.5, 500), (0.95, 950), (1.0, 1000), (0.0, 1)] {
            let want = values[rank - 1];
            let got = s.quantile(q).unwrap();
            assert!(
                (got - want).abs() <= RELATIVE_ERROR * want,
                "q={q}: {got} vs {want}"
            );
        }
        assert!(s.buckets() < 400);
        assert_eq!(DwellSketch::default().quantile(0.5), None);
    }
}
