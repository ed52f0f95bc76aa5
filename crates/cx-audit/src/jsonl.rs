//! JSON Lines audit files: the file sink, reading back, and verification.
//!
//! Seed 001 step 4's `WorkflowAuditLogger` appends `json.dumps(audit_record)`
//! plus a newline to `{log_dir}/workflow_audit_YYYYMMDD.jsonl`. [`JsonlSink`]
//! does the same, with these differences:
//!
//! - Files are named **`audit-YYYYMMDD.jsonl`** (see [`day_file_name`]), one per
//!   UTC calendar day, and the day is that of the record's `timestamp` (the
//!   seed uses the wall clock at write time, which can put a record written
//!   just after midnight into the next day's file).
//! - Each line is the compact JSON of an [`AuditRecord`] (no spaces), UTF-8.
//! - Concurrent writers in one process never interleave lines, and a write
//!   returns only once its line has been handed to the operating system.
//! - Writers in different processes are not coordinated; give each its own
//!   directory.
//!
//! [`read_jsonl`] reads a file back, and [`verify_file`] / [`verify_dir`]
//! recompute every record's compliance hash and report the first bad line.
//! (Tamper evidence for deleted or reordered lines — a hash chain — is a later
//! issue.)

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::record::AuditRecord;
use crate::sink::AuditSink;

/// The deepest nesting of arrays and objects a payload may have for
/// [`JsonlSink`] to write it (a scalar has depth 0, `[]` and `{}` depth 1).
///
/// serde_json refuses to read JSON nested deeper than 128 levels, and the
/// record object adds one; a deeper payload could be written but never read
/// back, so [`JsonlSink::write`] rejects it up front.
pub const MAX_PAYLOAD_DEPTH: usize = 126;

/// The file name [`JsonlSink`] uses for records of UTC day `day`:
/// `audit-YYYYMMDD.jsonl`, e.g. `audit-20240501.jsonl`.
pub fn day_file_name(day: NaiveDate) -> String {
    format!("audit-{}.jsonl", day.format("%Y%m%d"))
}

/// An [`AuditSink`] appending JSON Lines to one file per UTC day in a
/// directory (seed 001 step 4, `WorkflowAuditLogger`).
///
/// See the [module docs](self) for the file layout. Share one sink between
/// tasks with an [`Arc`]; writes are serialised, so lines never interleave.
///
/// ```no_run
/// use cx_audit::{AuditRecord, AuditSink, EventType, JsonlSink};
/// use serde_json::json;
///
/// # async fn run() -> Result<(), cx_audit::Error> {
/// let sink = JsonlSink::open("./cxone_audit").await?;
/// let record = AuditRecord::new(
///     EventType::WORKFLOW_TRIGGERED,
///     json!({"workflowId": "wf_1", "instanceId": "inst_1", "priority": 2}),
/// );
/// sink.write(&record).await?; // appended to ./cxone_audit/audit-YYYYMMDD.jsonl
/// sink.flush().await?; // fsync
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct JsonlSink {
    dir: PathBuf,
    /// `Some`: every record goes to this one file instead of day files.
    single: Option<PathBuf>,
    // An owned guard of this lock travels into the blocking task that writes,
    // so the lock is held until the write ends even if the caller is cancelled.
    state: Arc<tokio::sync::Mutex<State>>,
}

impl JsonlSink {
    /// A sink writing into `dir`, which is created (with its parents) if missing.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the directory cannot be created.
    pub async fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let dir = dir.into();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| Error::io("cannot create audit directory", &dir, e))?;
        Ok(Self {
            dir,
            single: None,
            state: Arc::default(),
        })
    }

    /// A sink appending every record to the one file `path` (its directory is
    /// created if missing), whatever the record's day: for exports to a named
    /// file, as `cx audit export --out FILE`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the directory cannot be created.
    pub async fn open_file(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let path = path.into();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut sink = Self::open(dir).await?;
        sink.single = Some(path);
        Ok(sink)
    }

    /// The directory the files are written in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds records of UTC day `day`: `dir/audit-YYYYMMDD.jsonl`
    /// (or the one file of a sink made with [`JsonlSink::open_file`]).
    pub fn path_for(&self, day: NaiveDate) -> PathBuf {
        match &self.single {
            Some(path) => path.clone(),
            None => self.dir.join(day_file_name(day)),
        }
    }

    async fn with_state<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut State, &Path) -> Result<T, Error> + Send + 'static,
    {
        let mut guard = Arc::clone(&self.state).lock_owned().await;
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || f(&mut guard, &dir))
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Io, "audit file task did not finish")
                    .with_path(&self.dir)
                    .with_source(e)
            })?
    }
}

#[async_trait]
impl AuditSink for JsonlSink {
    /// Append `record` as one line to the file of its timestamp's UTC day.
    ///
    /// Returns once the line has been written to the operating system (no
    /// fsync per record; see [`JsonlSink::flush`]).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Serialize`] when the record could not be read back: its
    /// payload nests deeper than [`MAX_PAYLOAD_DEPTH`] or its timestamp's year
    /// is outside 0000..=9999. [`ErrorKind::Io`] when the directory or file
    /// cannot be created, opened or appended to. After an I/O error the file is
    /// reopened on the next write, and if a partial line was left behind it is
    /// ended with a newline first, so later records stay intact.
    async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
        if nesting_exceeds(&record.payload, MAX_PAYLOAD_DEPTH) {
            return Err(Error::new(
                ErrorKind::Serialize,
                format!(
                    "audit payload nests deeper than {MAX_PAYLOAD_DEPTH} levels and could not be read back"
                ),
            ));
        }
        let mut line = serde_json::to_vec(record).map_err(|e| {
            Error::new(ErrorKind::Serialize, "cannot serialize audit record").with_source(e)
        })?;
        line.push(b'\n');
        let path = self.path_for(record.timestamp.date_naive());
        self.with_state(move |state, dir| state.append(dir, path, &line))
            .await
    }

    /// Fsync (`sync_data`) the file currently being appended to. Files of
    /// earlier days were synced when the sink moved on from them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the sync fails.
    async fn flush(&self) -> Result<(), Error> {
        self.with_state(|state, _| state.sync()).await
    }
}

/// The sink's mutable part; only touched by one blocking task at a time.
#[derive(Debug, Default)]
struct State {
    current: Option<DayFile>,
}

#[derive(Debug)]
struct DayFile {
    path: PathBuf,
    file: File,
}

impl State {
    fn append(&mut self, dir: &Path, path: PathBuf, line: &[u8]) -> Result<(), Error> {
        let current = self.file_for(dir, path)?;
        let written = (&current.file)
            .write_all(line)
            .and_then(|()| persist(&current.file));
        if let Err(e) = written {
            let path = current.path.clone();
            // Reopen next time; opening seals a partial line with a newline.
            self.current = None;
            return Err(Error::io("cannot append to audit file", &path, e));
        }
        Ok(())
    }

    fn sync(&mut self) -> Result<(), Error> {
        if let Some(current) = &self.current {
            if let Err(e) = current.file.sync_data() {
                let path = current.path.clone();
                self.current = None;
                return Err(Error::io("cannot sync audit file", &path, e));
            }
        }
        Ok(())
    }

    fn file_for(&mut self, dir: &Path, path: PathBuf) -> Result<&DayFile, Error> {
        if self.current.as_ref().is_some_and(|f| f.path != path) {
            // Leaving a day's file: make what it holds durable before closing it.
            self.sync()?;
            self.current = None;
        }
        match &mut self.current {
            Some(current) => Ok(current),
            slot @ None => {
                let file = open_day_file(dir, &path)?;
                Ok(slot.insert(DayFile { path, file }))
            }
        }
    }
}

/// What makes a written line count as stored. Today: nothing beyond the
/// `write` system call, since a `std::fs::File` has no user-space buffer. An
/// fsync policy (per record, per N records, on a timer) plugs in here.
fn persist(_file: &File) -> std::io::Result<()> {
    Ok(())
}

/// Open (creating it and `dir` if needed) a day file for appending; if it ends
/// in a partial line, end that line so the next record starts on its own.
fn open_day_file(dir: &Path, path: &Path) -> Result<File, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io("cannot create audit directory", dir, e))?;
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| Error::io("cannot open audit file", path, e))?;
    seal_partial_line(&file).map_err(|e| Error::io("cannot open audit file", path, e))?;
    Ok(file)
}

fn seal_partial_line(mut file: &File) -> std::io::Result<()> {
    if file.metadata()?.len() == 0 {
        return Ok(());
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    Ok(())
}

/// True when `value` nests arrays/objects more than `max` levels deep.
/// Iterative, so a pathological value cannot exhaust the stack here.
fn nesting_exceeds(value: &Value, max: usize) -> bool {
    let mut stack = vec![(value, 0usize)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(members) => Box::new(members.values()),
            _ => continue,
        };
        if depth + 1 > max {
            return true;
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    false
}

/// Read every record of a JSONL audit file, in file order.
///
/// Blocking; from async code call it inside `tokio::task::spawn_blocking`.
/// Records are returned as stored: use [`verify_file`] (or
/// [`AuditRecord::verify_hash`]) to check their hashes.
///
/// # Errors
///
/// [`ErrorKind::Io`] when the file cannot be opened or read;
/// [`ErrorKind::Parse`] with the 1-based line number of the first line that is
/// not a valid record (empty lines included).
pub fn read_jsonl(path: impl AsRef<Path>) -> Result<Vec<AuditRecord>, Error> {
    let path = path.as_ref();
    let mut records = Vec::new();
    for_each_line(path, |line, bytes| {
        let record = serde_json::from_slice(bytes).map_err(|e| {
            Error::new(ErrorKind::Parse { line }, "invalid audit record")
                .with_path(path)
                .with_source(e)
        })?;
        records.push(record);
        Ok(())
    })?;
    Ok(records)
}

/// The outcome of [`verify_file`] for one audit file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The file that was checked.
    pub path: PathBuf,
    /// Lines read (every line, good or bad).
    pub lines: usize,
    /// Lines that parsed as an [`AuditRecord`] (whether or not their hash matched).
    pub records: usize,
    /// Lines that failed to parse or whose hash did not match.
    pub bad_lines: usize,
    /// The first bad line, if any.
    pub first_problem: Option<Problem>,
}

impl VerifyReport {
    /// True when every line parsed and every hash matched.
    pub fn is_ok(&self) -> bool {
        self.first_problem.is_none()
    }
}

/// A bad line found by [`verify_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// 1-based line number in the file.
    pub line: usize,
    /// What is wrong with it.
    pub kind: ProblemKind,
}

/// What is wrong with a line found by [`verify_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The line is not a valid [`AuditRecord`] (bad JSON, a missing member,
    /// a bad timestamp, a partial line left by a failed write, ...).
    Parse {
        /// The parser's message.
        message: String,
    },
    /// The stored `compliance_hash` is not the hash of the stored `payload`.
    HashMismatch {
        /// The hash stored in the line.
        stored: String,
        /// The hash of the payload as it is now.
        computed: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ProblemKind::Parse { message } => {
                write!(f, "line {}: not a valid audit record: {message}", self.line)
            }
            ProblemKind::HashMismatch { stored, computed } => write!(
                f,
                "line {}: payload edited (stored hash {stored}, payload hashes to {computed})",
                self.line
            ),
        }
    }
}

/// Check every line of a JSONL audit file: that it parses as an
/// [`AuditRecord`] and that its `compliance_hash` matches its `payload`.
///
/// Reads the whole file (a bad line does not stop it) and reports counts and
/// the first bad line. Blocking, like [`read_jsonl`].
///
/// # Errors
///
/// [`ErrorKind::Io`] when the file cannot be opened or read. Bad content is
/// not an error; it is in the report.
pub fn verify_file(path: impl AsRef<Path>) -> Result<VerifyReport, Error> {
    let path = path.as_ref();
    let mut report = VerifyReport {
        path: path.to_path_buf(),
        lines: 0,
        records: 0,
        bad_lines: 0,
        first_problem: None,
    };
    for_each_line(path, |line, bytes| {
        report.lines = line;
        let problem = match serde_json::from_slice::<AuditRecord>(bytes) {
            Err(e) => Some(ProblemKind::Parse {
                message: e.to_string(),
            }),
            Ok(record) => {
                report.records += 1;
                let computed = crate::canonical::compliance_hash(&record.payload);
                if computed == record.compliance_hash {
                    None
                } else {
                    Some(ProblemKind::HashMismatch {
                        stored: record.compliance_hash,
                        computed,
                    })
                }
            }
        };
        if let Some(kind) = problem {
            report.bad_lines += 1;
            report.first_problem.get_or_insert(Problem { line, kind });
        }
        Ok(())
    })?;
    Ok(report)
}

/// [`verify_file`] for every `audit-*.jsonl` file directly in `dir`, in file
/// name (so date) order.
///
/// # Errors
///
/// [`ErrorKind::Io`] when the directory or one of the files cannot be read.
pub fn verify_dir(dir: impl AsRef<Path>) -> Result<Vec<VerifyReport>, Error> {
    let dir = dir.as_ref();
    let read_err = |e| Error::io("cannot list audit directory", dir, e);
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        let is_audit_file = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("audit-") && n.ends_with(".jsonl"));
        if is_audit_file && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    paths.iter().map(verify_file).collect()
}

/// Call `f(line_number, line)` for each line of `path`, without the line
/// ending (`\n` or `\r\n`). A last line without a newline counts.
fn for_each_line(
    path: &Path,
    mut f: impl FnMut(usize, &[u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    let file = File::open(path).map_err(|e| Error::io("cannot open audit file", path, e))?;
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    let mut line = 0;
    loop {
        buf.clear();
        let read = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::io("cannot read audit file", path, e))?;
        if read == 0 {
            return Ok(());
        }
        line += 1;
        let mut bytes = buf.as_slice();
        if let Some(rest) = bytes.strip_suffix(b"\n") {
            bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        f(line, bytes)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nested(depth: usize) -> Value {
        (0..depth).fold(json!(1), |inner, _| json!([inner]))
    }

    #[test]
    fn nesting_depth_table() {
        let table = [
            (json!(1), 0, false),
            (json!([]), 0, true),
            (json!([]), 1, false),
            (json!({"a": [1]}), 1, true),
            (json!({"a": [1]}), 2, false),
            (nested(10), 9, true),
            (nested(10), 10, false),
        ];
        for (value, max, want) in table {
            assert_eq!(nesting_exceeds(&value, max), want, "{value} max {max}");
        }
    }

    #[test]
    fn the_deepest_writable_payload_reads_back() -> Result<(), serde_json::Error> {
        let record = AuditRecord::new("X", nested(MAX_PAYLOAD_DEPTH));
        let line = serde_json::to_vec(&record)?;
        let back: AuditRecord = serde_json::from_slice(&line)?;
        assert_eq!(back, record);
        // One level more would not: the limit is as loose as it can be.
        let record = AuditRecord::new("X", nested(MAX_PAYLOAD_DEPTH + 1));
        let line = serde_json::to_vec(&record)?;
        assert!(serde_json::from_slice::<AuditRecord>(&line).is_err());
        Ok(())
    }

    #[test]
    fn day_file_names() {
        let table = [
            ((2024, 5, 1), "audit-20240501.jsonl"),
            ((1999, 12, 31), "audit-19991231.jsonl"),
        ];
        for ((y, m, d), want) in table {
            let day = NaiveDate::from_ymd_opt(y, m, d);
            assert_eq!(day.map(day_file_name).as_deref(), Some(want));
        }
    }
}
