//! Conditional updates (optimistic locking with `ETag` / `If-Match`), done
//! the way seed 002's "Code Fix" for 409 Conflict means it: when the server
//! answers 409 (or 412 Precondition Failed) because the `If-Match` ETag is
//! stale, read the resource again, re-apply the caller's change to the
//! fresh state and send again with the fresh ETag, a bounded number of
//! times ([`ConditionalUpdate::max_attempts`], default 3).
//!
//! The change is re-computed from the fresh state on every attempt (the
//! `apply` closure receives it), so a concurrent writer's change is never
//! overwritten by a payload computed from a state it already replaced.
//! There is no sleep between attempts: the re-read is the pause, and the
//! runtime's own retry loop still handles 429/5xx inside each call.
//!
//! ```no_run
//! # async fn demo(client: cx_http::Client) -> Result<(), cx_http::Error> {
//! use cx_http::{ApiPath, ConditionalUpdate, Versioned};
//! use serde_json::{Value, json};
//!
//! let agent = ApiPath::new("/api/v2/agents").id("agent_id", "agent-001");
//! let fetch = || async {
//!     let resp = client.get(agent.clone()).send().await?;
//!     Ok(Versioned::new(resp.etag().map(str::to_owned), resp.json::<Value>()?))
//! };
//! let applied = ConditionalUpdate::default()
//!     .run(None, fetch, |state: Versioned<Value>| {
//!         let body = json!({ "workModeId": "workMode-123",
//!                            "skillLevels": state.value["skills"].clone() });
//!         let req = client.patch(agent.clone().lit("workmodes")).json(&body);
//!         let req = match &state.etag { Some(tag) => req.if_match(tag), None => req };
//!         async move { req.send().await }
//!     })
//!     .await?;
//! println!("written after {} attempt(s), {} conflict(s)", applied.attempts, applied.conflicts);
//! # Ok(()) }
//! ```

use std::future::Future;
use std::time::Instant;

use crate::error::{Error, ErrorKind};

/// A resource state and the `ETag` it was read with (`None` when the server
/// sent none; the update is then unconditional).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned<T> {
    /// The `ETag` header of the read, quotes included.
    pub etag: Option<String>,
    /// The state as read.
    pub value: T,
}

impl<T> Versioned<T> {
    /// A state read with `etag`.
    pub fn new(etag: Option<String>, value: T) -> Self {
        Self { etag, value }
    }
}

/// A conditional update that succeeded.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied<R, S> {
    /// What the successful `apply` returned.
    pub value: R,
    /// The state the successful attempt applied the change to.
    pub base: Versioned<S>,
    /// Attempts made, the successful one included (1 when there was no conflict).
    pub attempts: u32,
    /// Conflicts (409/412) seen before the success: `attempts - 1`.
    pub conflicts: u32,
}

/// The bounded refetch → re-apply → retry loop. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConditionalUpdate {
    /// Attempts in all, the first included (≥ 1). Default 3, as seed 002's
    /// `updateWithRetry(maxAttempts = 3)`.
    pub max_attempts: u32,
}

impl Default for ConditionalUpdate {
    fn default() -> Self {
        Self { max_attempts: 3 }
    }
}

/// Whether `err` is an `If-Match` conflict: HTTP 409 or 412.
pub fn is_conflict(err: &Error) -> bool {
    matches!(err.status(), Some(409 | 412))
}

impl ConditionalUpdate {
    /// A loop of at most `max_attempts` attempts.
    pub fn new(max_attempts: u32) -> Self {
        Self { max_attempts }
    }

    /// Run the update: start from `initial` (a state the caller already
    /// read) or from `fetch()`, call `apply(state)` — which must send the
    /// change computed from `state.value` with `If-Match: state.etag` — and
    /// on a conflict fetch again and re-apply, up to `max_attempts` times.
    ///
    /// # Errors
    /// - [`ErrorKind::InvalidInput`] naming `max_attempts` when it is 0
    ///   (nothing is sent);
    /// - [`ErrorKind::Conflict`] (status 409, [`Error::attempts`] = attempts
    ///   made, the last conflict as its source) when every attempt conflicted;
    /// - the error of `fetch` or `apply` unchanged when it is not a conflict.
    pub async fn run<S, R, F, FFut, A, AFut>(
        &self,
        initial: Option<Versioned<S>>,
        mut fetch: F,
        mut apply: A,
    ) -> Result<Applied<R, S>, Error>
    where
        S: Clone,
        F: FnMut() -> FFut,
        FFut: Future<Output = Result<Versioned<S>, Error>>,
        A: FnMut(Versioned<S>) -> AFut,
        AFut: Future<Output = Result<R, Error>>,
    {
        if self.max_attempts == 0 {
            return Err(Error::invalid_input("max_attempts", "must be at least 1"));
        }
        let started = Instant::now();
        let mut state = match initial {
            Some(s) => s,
            None => fetch().await?,
        };
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            match apply(state.clone()).await {
                Ok(value) => {
                    metrics::counter!("cx_http_conditional_conflicts_total")
                        .increment(u64::from(attempt - 1));
                    return Ok(Applied {
                        value,
                        base: state,
                        attempts: attempt,
                        conflicts: attempt - 1,
                    });
                }
                Err(e) if is_conflict(&e) && attempt < self.max_attempts => {
                    tracing::debug!(attempt, "conditional update conflicted; reading again");
                    state = fetch().await?;
                }
                Err(e) if is_conflict(&e) => {
                    metrics::counter!("cx_http_conditional_exhausted_total").increment(1);
                    let status = e.status().unwrap_or(409);
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "conditional update conflicted on all {attempt} attempts (max_attempts {})",
                            self.max_attempts
                        ),
                    )
                    .with_status(status)
                    .with_attempts(attempt, started.elapsed())
                    .with_source(e));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;
    use std::cell::Cell;

    fn conflict() -> Error {
        Error::new(ErrorKind::Status, "PATCH /x failed").with_status(409)
    }

    type Outcome = (Result<Applied<u32, u32>, Error>, u32);

    /// `conflicts` conflicts, then success; returns (result, fetches).
    fn run(max: u32, conflicts: u32) -> Outcome {
        let fetches = Cell::new(0u32);
        let calls = Cell::new(0u32);
        let got = block_on(ConditionalUpdate::new(max).run(
            Some(Versioned::new(Some("\"v0\"".into()), 0)),
            || {
                fetches.set(fetches.get() + 1);
                let v = fetches.get();
                async move { Ok(Versioned::new(Some(format!("\"v{v}\"")), v)) }
            },
            |state| {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n <= conflicts {
                        Err(conflict())
                    } else {
                        Ok(state.value * 10)
                    }
                }
            },
        ));
        (got, fetches.get())
    }

    #[test]
    fn conflicts_refetch_and_reapply_within_the_budget() {
        // (max_attempts, conflicts, Ok(attempts, applied value) | Err, fetches)
        type Case = (u32, u32, Option<(u32, u32)>, u32);
        let cases: [Case; 5] = [
            (3, 0, Some((1, 0)), 0),
            (3, 1, Some((2, 10)), 1),
            (3, 2, Some((3, 20)), 2),
            (3, 3, None, 2),
            (1, 1, None, 0),
        ];
        for (max, conflicts, want, want_fetches) in cases {
            let (got, fetches) = run(max, conflicts);
            assert_eq!(fetches, want_fetches, "max {max} conflicts {conflicts}");
            match (got, want) {
                (Ok(a), Some((attempts, value))) => {
                    assert_eq!((a.attempts, a.value), (attempts, value));
                    assert_eq!(a.conflicts, attempts - 1);
                    assert_eq!(a.base.value * 10, value, "applied to the fresh state");
                }
                (Err(e), None) => {
                    assert_eq!(e.kind(), ErrorKind::Conflict);
                    assert_eq!(e.status(), Some(409));
                    assert_eq!(e.attempts(), max);
                }
                (got, want) => panic!("max {max} conflicts {conflicts}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn zero_attempts_and_other_errors() {
        let (got, _) = run(0, 0);
        assert_eq!(got.err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
        let got: Result<Applied<(), u32>, Error> = block_on(ConditionalUpdate::default().run(
            Some(Versioned::new(None, 1)),
            || async { Ok(Versioned::new(None, 1)) },
            |_| async { Err(Error::new(ErrorKind::Status, "bad").with_status(400)) },
        ));
        assert_eq!(got.err().and_then(|e| e.status()), Some(400));
    }
}
