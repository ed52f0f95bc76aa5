//! [`DwellSketch`]: quantiles of dwell times in one pass and bounded memory.
//!
//! A log-bucketed histogram (the DDSketch scheme): a value `v > 0` goes to
//! bucket `i = ceil(log_γ v)` with `γ = (1 + α) / (1 − α)`, and bucket `i`
//! reports `2γ^i / (γ + 1)`. Every value in a bucket is within a relative
//! error `α` of that estimate, so a quantile answer is within `α` (1%) of
//! the true nearest-rank quantile. Values below 1 µs count as zero. Between
//! 1 µs and 10⁷ s there are fewer than 1,500 buckets, so memory does not
//! grow with the number of values. The buckets are one dense array from the
//! lowest to the highest index seen (a few hundred counters for dwells
//! between 0.5 s and 30 s), so adding a value is an index, not a tree
//! insertion (issue 13).

/// Relative accuracy of [`DwellSketch::quantile`]: 1%.
pub const RELATIVE_ERROR: f64 = 0.01;

/// Values at or below this many seconds count as zero.
const ZERO_BELOW: f64 = 1e-6;

/// Quantile sketch of non-negative values (seconds). See the module docs.
/// Memory: at most 4,001 counters (32 KiB), whatever the number of values.
#[derive(Debug, Clone, PartialEq)]
pub struct DwellSketch {
    ln_gamma: f64,
    gamma: f64,
    zeros: u64,
    /// Index of `counts[0]`.
    first: i32,
    /// Counts of buckets `first..first + counts.len()`.
    counts: Vec<u64>,
    count: u64,
}

impl Default for DwellSketch {
    fn default() -> Self {
        let gamma = (1.0 + RELATIVE_ERROR) / (1.0 - RELATIVE_ERROR);
        Self {
            ln_gamma: gamma.ln(),
            gamma,
            zeros: 0,
            first: 0,
            counts: Vec::new(),
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
        if self.counts.is_empty() {
            self.first = index;
        } else if index < self.first {
            // `first - index` is at most 4000: the indexes are clamped.
            let grow = (self.first - index) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.first = index;
        }
        let at = (index - self.first) as usize;
        if at >= self.counts.len() {
            self.counts.resize(at + 1, 0);
        }
        if let Some(n) = self.counts.get_mut(at) {
            *n += 1;
        }
    }

    /// Values added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Buckets in use (the sketch's memory, in entries).
    pub fn buckets(&self) -> usize {
        self.counts.iter().filter(|&&n| n > 0).count()
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
        for (index, &n) in (self.first..).zip(&self.counts) {
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

    #[test]
    fn the_order_of_insertion_does_not_matter() {
        let values = [3.0, 0.0, 250.0, 0.6, 1e-9, 17.5, 3.0, 1e7];
        let mut forward = DwellSketch::default();
        let mut backward = DwellSketch::default();
        values.iter().for_each(|v| forward.insert(*v));
        values.iter().rev().for_each(|v| backward.insert(*v));
        assert_eq!(forward, backward);
        assert_eq!(forward.count(), 8);
        assert_eq!(forward.buckets(), 5, "0 and 1e-9 count as zero; 3.0 twice");
        for q in [0.0, 0.3, 0.5, 0.9, 1.0] {
            assert_eq!(forward.quantile(q), backward.quantile(q), "q={q}");
        }
        let top = forward.quantile(1.0).unwrap();
        assert!((top - 1e7).abs() <= RELATIVE_ERROR * 1e7, "{top}");
    }
}
