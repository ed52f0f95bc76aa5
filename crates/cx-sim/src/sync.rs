//! The poison-tolerant locking helpers every module shares (so no module imports another
//! just for it), and the one way a test waits for the simulator to record
//! something without sleeping.

use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use tokio::sync::Notify;

/// Locks a mutex, recovering the data if a previous holder panicked (state
/// updates here are single assignments, so a poisoned guard is still
/// consistent enough for a simulator).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Read-locks an `RwLock`, recovering the data as [`lock`] does.
pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Write-locks an `RwLock`, recovering the data as [`lock`] does.
pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits until `done` holds for `snapshot()`, checked now and after each
/// wake-up of `changed` (which the recorder notifies after every change),
/// and returns that snapshot.
///
/// # Errors
/// The last snapshot, when `done` still did not hold after `limit` (a guard
/// against a test hanging, not a timing assertion).
pub(crate) async fn wait_until<T>(
    changed: &Notify,
    limit: Duration,
    snapshot: impl Fn() -> T,
    done: impl Fn(&T) -> bool,
) -> Result<T, T> {
    let wait = async {
        loop {
            let notified = changed.notified();
            tokio::pin!(notified);
            // Registered before the snapshot, so no change is missed.
            notified.as_mut().enable();
            let now = snapshot();
            if done(&now) {
                return now;
            }
            notified.await;
        }
    };
    tokio::time::timeout(limit, wait)
        .await
        .map_err(|_| snapshot())
}
