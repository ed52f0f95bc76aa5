//! The per-attempt timeout without a timer per attempt (issue 13).
//!
//! A per-request timeout (reqwest's `RequestBuilder::timeout`) allocates and registers a tokio timer
//! for every request; on the bench route that was most of the runtime's
//! overhead over a plain reqwest call. Instead each [`Client`](crate::Client)
//! has one [`Watchdog`]: an attempt registers its deadline (one slot of a
//! small table under one short lock) and checks its slot when it is polled;
//! a single task per client sleeps until the earliest registered deadline,
//! marks what is due as expired and wakes those attempts.
//!
//! Every attempt of a client normally has the same timeout, so a new
//! deadline is later than the one the task already sleeps until: registering
//! re-arms nothing. Only a deadline earlier than the task's target (a short
//! per-call `attempt_timeout`, or the rest of a total deadline) wakes the
//! task to re-arm its timer. When nothing is in flight the task waits for a
//! registration without any timer (after at most one wake at a stale target).
//!
//! The task lives on the runtime of the attempt that spawned it and uses
//! `tokio::time` (so it follows `tokio::time::pause`). When that runtime is
//! dropped (a `#[tokio::test]` ends) the task is dropped with it and the next
//! attempt spawns a new one on its own runtime. An attempt on another runtime
//! while the task's is still alive (which may not be driving it) gets a timer
//! of its own, as before. The task stops when the client is dropped.

use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tokio::runtime::{Handle, Id};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

/// The deadlines of one client's attempts in flight, watched by one task.
pub(crate) struct Watchdog {
    shared: Arc<Shared>,
}

/// What the client and its task share.
struct Shared {
    state: Mutex<State>,
    /// Wakes the task: a deadline earlier than its target, or the client
    /// was dropped. A wake-up sent while the task is busy is kept for it.
    wake: Notify,
}

#[derive(Default)]
struct State {
    /// One slot per attempt in flight; `free` holds the indices of the
    /// empty ones, reused first.
    slots: Vec<Slot>,
    free: Vec<usize>,
    /// The runtime the task runs on, while it exists.
    task: Option<Id>,
    /// When the task wakes next; `None` when it waits for a registration.
    target: Option<Instant>,
    /// The client was dropped: the task ends.
    closed: bool,
}

enum Slot {
    Free,
    Armed {
        deadline: Instant,
        /// The attempt to wake at `deadline`, once it has been pending.
        waker: Option<Waker>,
    },
    Expired,
}

impl State {
    fn insert(&mut self, deadline: Instant) -> usize {
        let slot = Slot::Armed {
            deadline,
            waker: None,
        };
        if let Some(key) = self.free.pop() {
            self.slots[key] = slot;
            key
        } else {
            self.slots.push(slot);
            self.slots.len() - 1
        }
    }

    fn remove(&mut self, key: usize) {
        if let Some(slot) = self.slots.get_mut(key) {
            *slot = Slot::Free;
            self.free.push(key);
        }
    }

    /// Marks every slot due at `now` as expired, collecting its waker into
    /// `due`; the earliest deadline still armed.
    fn expire(&mut self, now: Instant, due: &mut Vec<Waker>) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        for slot in &mut self.slots {
            if let Slot::Armed { deadline, waker } = slot {
                if *deadline <= now {
                    due.extend(waker.take());
                    *slot = Slot::Expired;
                } else if next.is_none_or(|n| *deadline < n) {
                    next = Some(*deadline);
                }
            }
        }
        next
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned table is still
        // consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Watchdog {
    pub(crate) fn new() -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                wake: Notify::new(),
            }),
        }
    }

    /// A deadline `timeout` from now (tokio time) for one attempt; the
    /// attempt awaits its steps through [`Deadline::within`]. Dropping the
    /// deadline unregisters it.
    pub(crate) fn arm(&self, timeout: Duration) -> Deadline<'_> {
        let unbounded = Deadline { kind: Kind::None };
        // An attempt always runs on a runtime (hyper-util's pool needs one), and a
        // deadline beyond what `Instant` holds never comes.
        let Ok(handle) = Handle::try_current() else {
            return unbounded;
        };
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            return unbounded;
        };
        let runtime = handle.id();
        let mut state = self.shared.lock();
        let spawn = match state.task {
            Some(id) if id == runtime => false,
            Some(_) => {
                // The task's runtime is alive but may not be running now.
                drop(state);
                return Deadline {
                    kind: Kind::Own(Box::pin(tokio::time::sleep_until(deadline))),
                };
            }
            None => {
                state.task = Some(runtime);
                true
            }
        };
        let key = state.insert(deadline);
        let rearm = state.target.is_none_or(|t| deadline < t);
        if rearm {
            state.target = Some(deadline);
        }
        drop(state);
        if spawn {
            // The guard is built here, so the task's slot is cleared even if
            // its runtime drops the task before it first runs.
            let guard = TaskGuard {
                shared: Arc::clone(&self.shared),
                runtime,
            };
            drop(handle.spawn(watch(guard)));
        } else if rearm {
            self.shared.wake.notify_one();
        }
        Deadline {
            kind: Kind::Watched {
                shared: &self.shared,
                key,
            },
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

/// Owned by the task: marks the client as having no task when the task
/// ends, returns or is dropped with its runtime.
struct TaskGuard {
    shared: Arc<Shared>,
    runtime: Id,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if state.task == Some(self.runtime) {
            state.task = None;
            state.target = None;
        }
    }
}

/// The watchdog task: sleeps until the earliest deadline, expires what is
/// due, and waits without a timer while nothing is in flight.
async fn watch(guard: TaskGuard) {
    let shared = &*guard.shared;
    let mut sleep = pin!(tokio::time::sleep_until(Instant::now()));
    let mut due = Vec::new();
    loop {
        let next = {
            let mut state = shared.lock();
            if state.closed {
                return;
            }
            let next = state.expire(Instant::now(), &mut due);
            state.target = next;
            next
        };
        for waker in due.drain(..) {
            waker.wake();
        }
        match next {
            Some(at) => {
                if sleep.is_elapsed() || sleep.deadline() != at {
                    sleep.as_mut().reset(at);
                }
                tokio::select! {
                    biased;
                    () = shared.wake.notified() => {}
                    () = sleep.as_mut() => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}

/// One attempt's deadline (see [`Watchdog::arm`]).
pub(crate) struct Deadline<'a> {
    kind: Kind<'a>,
}

enum Kind<'a> {
    /// Never expires.
    None,
    /// A slot of the client's watchdog.
    Watched { shared: &'a Shared, key: usize },
    /// A timer of its own (another runtime than the watchdog's).
    Own(Pin<Box<Sleep>>),
}

impl Deadline<'_> {
    /// The output of `fut`, or [`Elapsed`] once the deadline has passed
    /// (`fut` is dropped then).
    pub(crate) async fn within<F: Future>(&mut self, fut: F) -> Result<F::Output, Elapsed> {
        let mut fut = pin!(fut);
        poll_fn(|cx| {
            if let Poll::Ready(out) = fut.as_mut().poll(cx) {
                return Poll::Ready(Ok(out));
            }
            if self.poll_expired(cx) {
                Poll::Ready(Err(Elapsed))
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// True once the deadline has passed; otherwise the task of `cx` is
    /// woken when it passes.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.kind {
            Kind::None => false,
            Kind::Own(sleep) => sleep.as_mut().poll(cx).is_ready(),
            Kind::Watched { shared, key } => match shared.lock().slots.get_mut(*key) {
                Some(Slot::Armed { waker, .. }) => {
                    match waker {
                        Some(w) if w.will_wake(cx.waker()) => {}
                        _ => *waker = Some(cx.waker().clone()),
                    }
                    false
                }
                _ => true,
            },
        }
    }
}

impl Drop for Deadline<'_> {
    fn drop(&mut self) {
        if let Kind::Watched { shared, key } = &self.kind {
            shared.lock().remove(*key);
        }
    }
}

/// An attempt's deadline passed: the source of its timeout error.
#[derive(Debug)]
pub(crate) struct Elapsed;

impl std::fmt::Display for Elapsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the attempt timeout passed")
    }
}

impl std::error::Error for Elapsed {}
