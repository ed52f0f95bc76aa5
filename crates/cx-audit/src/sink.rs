//! Where audit records go: the [`AuditSink`] trait and the in-memory sink.
//!
//! Seed 001 step 4's `WorkflowAuditLogger.write_audit_entry` appends to a file;
//! here that is one implementation ([`crate::JsonlSink`]) of a trait the
//! workflow, agent, history and data-action crates write through, so tests and
//! the CLI can swap in [`MemorySink`], send to [`crate::WebhookSink`], or
//! write to several with [`TeeSink`].
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
    /// (for [`crate::JsonlSink`]: written and synced per its
    /// [`crate::FsyncPolicy`], on disk by default; for
    /// [`crate::WebhookSink`]: accepted with a 2xx).
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

/// A sink behind a pointer is that sink: `Arc<T>`, `Box<T>` and `&T`.
macro_rules! forward_sink {
    ($($pointer:ty),+) => {$(
        #[async_trait]
        impl<T: AuditSink + ?Sized> AuditSink for $pointer {
            async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
                (**self).write(record).await
            }

            async fn flush(&self) -> Result<(), Error> {
                (**self).flush().await
            }
        }
    )+};
}

forward_sink!(Arc<T>, Box<T>, &T);

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

/// An [`AuditSink`] writing every record to several sinks, in order (e.g. a
/// [`crate::JsonlSink`] and a [`crate::WebhookSink`]).
///
/// `write` returns `Ok` only when every sink stored the record. On the first
/// failure it stops and returns that error (naming the sink's position); the
/// sinks before it keep the record, the ones after it never saw it. Each
/// sink applies its own back-pressure, so the tee buffers nothing.
#[derive(Default)]
pub struct TeeSink {
    sinks: Vec<Arc<dyn AuditSink>>,
}

impl TeeSink {
    /// A tee over no sinks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a sink after the ones already there.
    #[must_use]
    pub fn with(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.sinks.push(sink);
        self
    }
}

impl std::fmt::Debug for TeeSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeeSink")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

#[async_trait]
impl AuditSink for TeeSink {
    async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
        for (i, sink) in self.sinks.iter().enumerate() {
            sink.write(record)
                .await
                .map_err(|e| tee_error(i, "write", e))?;
        }
        Ok(())
    }

    async fn flush(&self) -> Result<(), Error> {
        for (i, sink) in self.sinks.iter().enumerate() {
            sink.flush().await.map_err(|e| tee_error(i, "flush", e))?;
        }
        Ok(())
    }
}

fn tee_error(index: usize, what: &str, err: Error) -> Error {
    Error::new(err.kind(), format!("tee sink #{index} failed to {what}")).with_source(err)
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
        let payloads: Vec<_> = sink.records().iter().map(|r| r.payload().clone()).collect();
        assert_eq!(payloads, [json!(0), json!(1), json!(2)]);
        assert_eq!(sink.take().len(), 3);
        assert!(sink.is_empty());
        Ok(())
    }

    struct Failing;

    #[async_trait]
    impl AuditSink for Failing {
        async fn write(&self, _: &AuditRecord) -> Result<(), Error> {
            Err(Error::new(crate::ErrorKind::Sink, "down"))
        }
        async fn flush(&self) -> Result<(), Error> {
            Err(Error::new(crate::ErrorKind::Io, "disk"))
        }
    }

    #[tokio::test]
    async fn tee_writes_in_order_and_stops_at_the_first_failure() {
        let first = Arc::new(MemorySink::new());
        let last = Arc::new(MemorySink::new());
        let ok = TeeSink::new().with(first.clone()).with(last.clone());
        assert!(ok.write(&AuditRecord::new("X", json!(1))).await.is_ok());
        assert!(ok.flush().await.is_ok());
        assert_eq!((first.len(), last.len()), (1, 1));

        let broken = TeeSink::new()
            .with(first.clone())
            .with(Arc::new(Failing))
            .with(last.clone());
        let err = broken
            .write(&AuditRecord::new("X", json!(2)))
            .await
            .err()
            .map(|e| (e.kind(), e.to_string()));
        assert_eq!(
            err,
            Some((
                crate::ErrorKind::Sink,
                "tee sink #1 failed to write".to_owned()
            ))
        );
        assert_eq!((first.len(), last.len()), (2, 1));
        let err = broken.flush().await.err().map(|e| e.kind());
        assert_eq!(err, Some(crate::ErrorKind::Io));
    }
}
