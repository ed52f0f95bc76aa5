//! The one locking helper every module shares (so no module imports another
//! just for it).

use std::sync::{Mutex, MutexGuard};

/// Locks a mutex, recovering the data if a previous holder panicked (state
/// updates here are single assignments, so a poisoned guard is still
/// consistent enough for a simulator).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}
