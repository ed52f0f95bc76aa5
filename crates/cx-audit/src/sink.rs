//! Where audit records go: the [`AuditSink`] trait and the in-memory sink.
//!
//! Seed 001 step 4's `WorkflowAuditLogger.write_audit_entry` appends to a file;
//! here that is one implementation ([`crate::JsonlSink`]) of a trait the
//! workflow, agent, history and data-action crates write through, so tests and
//! the CLI can swap in [`MemorySink`] (and a later issue adds a webhook sink).
//!
//! The contract is that nothing is lost silently: [`AuditSink::write`] returns
//! `Ok` only once the record has been handed over as the sink promises, and an
//! error otherwise.

use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use crate::error::Error;
use crate::record::AuditRecord;

/// A destination for [`AuditRecord`]s.
///
/// Implementations are shared between tasks (`Send + Sync`) and must keep
/// concurrent writes whole: two records written at once never interleave.
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Store one record.
    ///
    /// Returns only once the record is stored as far as this sink promises
    /// (for [`crate::JsonlSink`]: written and flushed to the operating system).
    ///
    /// # Errors
    ///
    /// Whatever kept the record from being stored: [`crate::ErrorKind::Io`] for
    /// a file, [`crate::ErrorKind::Serialize`] for a record that cannot be
    /// encoded, [`crate::ErrorKind::Sink`] for other sinks. The record is then
    /// not stored (a file sink may hold a partial line, which
    /// [`crate::verify_file`] reports).
    async fn write(&self, record: &AuditRecord) -> Result<(), Error>;

    /// Make every record written so far durable as far as this sink can (for
    /// [`crate::JsonlSink`]: fsync the current file).
    ///
    /// # Errors
    ///
    /// [`crate::ErrorKind::Io`] (or the sink's own kind) when that fails.
    async fn flush(&self) -> Result<(), Error>;
}

#[async_trait]
impl<T: AuditSink + ?Sized> AuditSink for Arc<T> {
    async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
        (**self).write(record).await
    }

    async fn flush(&self) -> Result<(), Error> {
        (**self).flush().await
    }
}

#[async_trait]
impl<T: AuditSink + ?Sized> AuditSink for Box<T> {
    async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
        (**self).write(record).await
    }

    async fn flush(&self) -> Result<(), Error> {
        (**self).flush().await
    }
}

#[async_trait]
impl<T: AuditSink + ?Sized> AuditSink for &T {
    async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
        (**self).write(record).await
    }

    async fn flush(&self) -> Result<(), Error> {
        (**self).flush().await
    }
}

/// An [`AuditSink`] that keeps records in memory, in write order.
///
/// For tests and for the CLI's JSON output. Writes never fail; clones of an
/// `Arc<MemorySink>` see the same records.
#[derive(Debug, Default)]
pub struct MemorySink {
    records: Mutex<Vec<AuditRecord>>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of every record written so far, oldest first.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.lock().clone()
    }

    /// Remove and return every record written so far, oldest first.
    pub fn take(&self) -> Vec<AuditRecord> {
        std::mem::take(&mut *self.lock())
    }

    /// How many records have been written (and not taken).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True when no records are held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<AuditRecord>> {
        // A panic elsewhere while holding the lock cannot leave a half-pushed
        // record behind, so the data is still good: recover it.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl AuditSink for MemorySink {
    async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
        self.lock().push(record.clone());
        Ok(())
    }

    async fn flush(&self) -> Result<(), Error> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn memory_sink_keeps_write_order_through_any_pointer() -> Result<(), Error> {
        let sink = Arc::new(MemorySink::new());
        let dyn_sink: Box<dyn AuditSink> = Box::new(Arc::clone(&sink));
        for i in 0..3 {
            dyn_sink.write(&AuditRecord::new("X", json!(i))).await?;
        }
        let by_ref: &MemorySink = &sink;
        AuditSink::flush(&by_ref).await?;
        let payloads: Vec<_> = sink.records().into_iter().map(|r| r.payload).collect();
        assert_eq!(payloads, [json!(0), json!(1), json!(2)]);
        assert_eq!(sink.take().len(), 3);
        assert!(sink.is_empty());
        Ok(())
    }
}
