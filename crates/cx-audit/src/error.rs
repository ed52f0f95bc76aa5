//! The one error type of `cx-audit`.
//!
//! Every fallible call in this crate returns an [`Error`]: an opaque value whose
//! [`Error::kind`] callers branch on, with the file it concerns ([`Error::path`])
//! and the underlying cause in [`std::error::Error::source`]. `Display` gives a
//! one-line reason and does not repeat the source, so a reporter that walks the
//! source chain prints each cause once.

use std::fmt;
use std::path::{Path, PathBuf};

/// A boxed error source (the runtime's; one type across the crates).
pub use cx_http::BoxError;

/// What went wrong, for callers that branch on it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Reading or writing an audit file (or its directory) failed.
    Io,
    /// A record could not be turned into a JSONL line that reads back: its
    /// payload nests deeper than [`crate::MAX_PAYLOAD_DEPTH`], or its
    /// timestamp's year is outside 0000..=9999.
    Serialize,
    /// A line of an audit file is not a valid [`crate::AuditRecord`].
    Parse {
        /// The 1-based line number in the file.
        line: usize,
    },
    /// A sink outside this crate failed; see the source for why.
    Sink,
    /// A CXone API call of the audit-log export failed; the source is the
    /// runtime's [`cx_http::Error`].
    Api,
    /// Caller input was rejected before any request; the message names the field.
    InvalidInput,
    /// An audit file's chain cannot be continued: its last complete line is
    /// not a chained record.
    Chain,
}

/// The error of every fallible `cx-audit` call.
///
/// `Display` gives a one-line reason (naming the file when there is one); the
/// underlying cause, if any, is in [`std::error::Error::source`] and is not
/// repeated in the message.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    path: Option<PathBuf>,
    source: Option<BoxError>,
}

impl Error {
    /// A new error of `kind` with a one-line `message`.
    ///
    /// Sinks implemented outside this crate use this with [`ErrorKind::Sink`]
    /// (or [`ErrorKind::Io`]) and [`Error::with_source`].
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                path: None,
                source: None,
            }),
        }
    }

    /// Attach the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Attach the file or directory the error concerns.
    #[must_use]
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.inner.path = Some(path.into());
        self
    }

    /// An [`ErrorKind::Io`] error: `message` about `path`, caused by `source`.
    pub(crate) fn io(message: impl Into<String>, path: &Path, source: std::io::Error) -> Self {
        Self::new(ErrorKind::Io, message)
            .with_path(path)
            .with_source(source)
    }

    /// The one-line reason, without the path.
    pub(crate) fn message(&self) -> &str {
        &self.inner.message
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The file or directory the error concerns, if any.
    pub fn path(&self) -> Option<&Path> {
        self.inner.path.as_deref()
    }

    /// The 1-based line of the audit file that failed to parse, for
    /// [`ErrorKind::Parse`] errors.
    pub fn line(&self) -> Option<usize> {
        match self.inner.kind {
            ErrorKind::Parse { line } => Some(line),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)?;
        if let Some(path) = &self.inner.path {
            write!(f, " ({}", path.display())?;
            if let ErrorKind::Parse { line } = self.inner.kind {
                write!(f, ", line {line}")?;
            }
            f.write_str(")")?;
        } else if let ErrorKind::Parse { line } = self.inner.kind {
            write!(f, " (line {line})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(path) = &self.inner.path {
            d.field("path", path);
        }
        if let Some(source) = &self.inner.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn error_is_send_sync_static() {
        fn assert_bounds<T: Send + Sync + 'static>() {}
        assert_bounds::<Error>();
        assert_bounds::<ErrorKind>();
    }

    #[test]
    fn display_does_not_repeat_the_source() {
        let source = std::io::Error::other("disk on fire");
        let err = Error::io(
            "cannot append to audit file",
            Path::new("/x/a.jsonl"),
            source,
        );
        assert_eq!(err.kind(), ErrorKind::Io);
        assert_eq!(err.to_string(), "cannot append to audit file (/x/a.jsonl)");
        assert_eq!(
            err.source().map(ToString::to_string).as_deref(),
            Some("disk on fire")
        );
    }

    #[test]
    fn parse_errors_name_the_line() {
        let table = [
            (
                Error::new(ErrorKind::Parse { line: 7 }, "invalid audit record")
                    .with_path("/d/audit-20240101.jsonl"),
                "invalid audit record (/d/audit-20240101.jsonl, line 7)",
            ),
            (
                Error::new(ErrorKind::Parse { line: 3 }, "invalid audit record"),
                "invalid audit record (line 3)",
            ),
        ];
        for (err, want) in table {
            assert_eq!(err.to_string(), want);
            assert!(err.line().is_some());
            assert!(err.source().is_none());
        }
    }
}
