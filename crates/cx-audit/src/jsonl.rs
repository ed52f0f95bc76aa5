//! JSON Lines audit files: the chaining, durable file sink.
//!
//! Seed 001 step 4's `WorkflowAuditLogger` appends `json.dumps(audit_record)`
//! plus a newline to `{log_dir}/workflow_audit_YYYYMMDD.jsonl`. [`JsonlSink`]
//! does the same, with these differences:
//!
//! - Files are named **`audit-YYYYMMDD.jsonl`** (see [`day_file_name`]), one per
//!   UTC calendar day of the records' `timestamp`. The log is append-only: a
//!   record dated before the day of the newest file (a clock step back, a
//!   late event) goes into the newest file rather than reopening an old one,
//!   so file order is write order.
//! - Each line is the compact JSON of an [`AuditRecord`] (no spaces), UTF-8,
//!   with the hash chain of [`crate::chain`] filled in: one chain per
//!   directory, continuing across day files and across restarts.
//! - Durability follows a [`FsyncPolicy`], [`FsyncPolicy::EveryRecord`] by
//!   default: [`AuditSink::write`] returns only once the line is on disk.
//! - Crash recovery: a process killed mid-write leaves at most a partial last
//!   line. Opening the sink (the next start) checks the newest file's tail:
//!   a partial line is moved aside into `audit-YYYYMMDD.jsonl.fragment-<unix
//!   ms>` and cut from the file; a complete record only missing its newline
//!   is kept. Complete records are never removed. [`JsonlSink::repairs`] says
//!   what was done.
//! - Concurrent writers in one process never interleave lines. Writers in
//!   different processes are not coordinated; give each its own directory.
//!
//! Reading back and verification are in [`crate::verify`].

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use serde_json::Value;

use crate::chain::{GENESIS_HASH, record_hash};
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

/// The UTC day of a file named by [`day_file_name`], if `path` is one.
pub fn day_of_file(path: &Path) -> Option<NaiveDate> {
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_prefix("audit-")?.strip_suffix(".jsonl")?;
    NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
}

/// Every `audit-YYYYMMDD.jsonl` file directly in `dir`, oldest day first.
///
/// # Errors
///
/// [`ErrorKind::Io`] when the directory cannot be listed.
pub fn day_files(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let read_err = |e| Error::io("cannot list audit directory", dir, e);
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if day_of_file(&path).is_some() && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths)
}

/// When [`JsonlSink`] makes written lines durable (`fsync`, as
/// `File::sync_data`).
///
/// Whatever the policy, a file is synced when the sink moves on to the next
/// day's file, on [`AuditSink::flush`], and when the sink is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FsyncPolicy {
    /// Sync after every record: `write` returns once the record is on disk.
    /// The default.
    #[default]
    EveryRecord,
    /// Sync after every `n`-th record (`0` and `1` mean every record): up to
    /// `n - 1` records acknowledged by `write` can be lost in a power failure
    /// (not in a process crash: the kernel has them).
    EveryN(u32),
    /// Sync only on flush, day change and drop.
    OnClose,
}

/// What opening a [`JsonlSink`] did to a file whose last line was partial.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Repair {
    /// The audit file that ended in a partial line.
    pub file: PathBuf,
    /// Where the partial line was moved (`<file>.fragment-<unix ms>`), or
    /// `None` when it was a complete record missing only its newline, which
    /// was kept and ended.
    pub moved_to: Option<PathBuf>,
    /// Length of the partial line in bytes.
    pub bytes: u64,
}

/// An [`AuditSink`] appending hash-chained JSON Lines to one file per UTC day
/// in a directory (seed 001 step 4, `WorkflowAuditLogger`).
///
/// See the [module docs](self) for the file layout, durability and crash
/// recovery. Share one sink between tasks with an [`Arc`]; writes are
/// serialised, so lines never interleave and the chain has one order.
///
/// ```no_run
/// use cx_audit::{AuditRecord, AuditSink, EventType, FsyncPolicy, JsonlSink};
/// use serde_json::json;
///
/// # async fn run() -> Result<(), cx_audit::Error> {
/// let sink = JsonlSink::open("./cxone_audit").await?;
/// let record = AuditRecord::new(
///     EventType::WORKFLOW_TRIGGERED,
///     json!({"workflowId": "wf_1", "instanceId": "inst_1", "priority": 2}),
/// );
/// sink.write(&record).await?; // on disk in ./cxone_audit/audit-YYYYMMDD.jsonl
///
/// // Faster, less durable: fsync every 64 records.
/// let fast = JsonlSink::open_with("./bulk_audit", FsyncPolicy::EveryN(64)).await?;
/// fast.write(&record).await?;
/// fast.flush().await?; // fsync now
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct JsonlSink {
    dir: PathBuf,
    /// `Some`: every record goes to this one file instead of day files.
    single: Option<PathBuf>,
    repairs: Vec<Repair>,
    // An owned guard of this lock travels into the blocking task that writes,
    // so the lock is held until the write ends even if the caller is cancelled.
    state: Arc<tokio::sync::Mutex<State>>,
}

impl JsonlSink {
    /// A sink writing into `dir` (created with its parents if missing) with
    /// [`FsyncPolicy::EveryRecord`]. Continues the chain of the newest day
    /// file already there, repairing a partial last line first.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the directory cannot be created or the newest
    /// file cannot be read or repaired; [`ErrorKind::Chain`] when its last
    /// complete line is not a chained record (the chain cannot continue; run
    /// `cx audit verify`).
    pub async fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        Self::open_with(dir, FsyncPolicy::default()).await
    }

    /// [`JsonlSink::open`] with another [`FsyncPolicy`].
    ///
    /// # Errors
    ///
    /// As [`JsonlSink::open`].
    pub async fn open_with(dir: impl Into<PathBuf>, policy: FsyncPolicy) -> Result<Self, Error> {
        Self::start(dir.into(), None, policy).await
    }

    /// A sink appending every record to the one file `path` (its directory is
    /// created if missing), whatever the record's day: for exports to a named
    /// file, as `cx audit export --out FILE`. The chain continues from the
    /// file's last record.
    ///
    /// # Errors
    ///
    /// As [`JsonlSink::open`].
    pub async fn open_file(path: impl Into<PathBuf>) -> Result<Self, Error> {
        let path = path.into();
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Self::start(dir, Some(path), FsyncPolicy::default()).await
    }

    async fn start(
        dir: PathBuf,
        single: Option<PathBuf>,
        policy: FsyncPolicy,
    ) -> Result<Self, Error> {
        let (dir, single, state, repairs) = tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io("cannot create audit directory", &dir, e))?;
            let tail = match &single {
                Some(path) => Some(path.clone()),
                None => day_files(&dir)?.pop(),
            };
            let mut state = State::new(policy);
            let mut repairs = Vec::new();
            if let Some(tail) = tail.filter(|p| p.is_file()) {
                let recovered = recover_tail(&tail)?;
                repairs.extend(recovered.repair);
                if let Some(hash) = recovered.last_hash {
                    state.last_hash = hash;
                }
                state.day = day_of_file(&tail);
            }
            Ok::<_, Error>((dir, single, state, repairs))
        })
        .await
        .map_err(|e| {
            Error::new(ErrorKind::Io, "audit file task did not finish").with_source(e)
        })??;
        Ok(Self {
            dir,
            single,
            repairs,
            state: Arc::new(tokio::sync::Mutex::new(state)),
        })
    }

    /// The directory the files are written in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What opening the sink repaired (partial last lines moved aside), if
    /// anything.
    pub fn repairs(&self) -> &[Repair] {
        &self.repairs
    }

    /// The file that holds records of UTC day `day`: `dir/audit-YYYYMMDD.jsonl`
    /// (or the one file of a sink made with [`JsonlSink::open_file`]). A
    /// record dated before the newest file's day goes to the newest file (see
    /// the module docs).
    pub fn path_for(&self, day: NaiveDate) -> PathBuf {
        match &self.single {
            Some(path) => path.clone(),
            None => self.dir.join(day_file_name(day)),
        }
    }

    /// The `hash` of the last record in the chain ([`GENESIS_HASH`] when the
    /// directory held none).
    pub async fn last_hash(&self) -> String {
        self.state.lock().await.last_hash.clone()
    }

    async fn with_state<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&mut State) -> Result<T, Error> + Send + 'static,
    {
        let mut guard = Arc::clone(&self.state).lock_owned().await;
        tokio::task::spawn_blocking(move || f(&mut guard))
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
    /// Link `record` into the chain (`prev_hash`, `hash`) and append it as
    /// one line to the file of its UTC day (or the newest file, see the module
    /// docs).
    ///
    /// Returns once the line is written and, per the [`FsyncPolicy`], synced.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Serialize`] when the record could not be read back: its
    /// payload nests deeper than [`MAX_PAYLOAD_DEPTH`] or its timestamp's year
    /// is outside 0000..=9999. [`ErrorKind::Io`] when the directory or file
    /// cannot be created, opened, appended to or synced. After an error the
    /// chain is not advanced and the file is reopened (and its tail repaired)
    /// on the next write.
    async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
        if nesting_exceeds(record.payload(), MAX_PAYLOAD_DEPTH) {
            return Err(Error::new(
                ErrorKind::Serialize,
                format!(
                    "audit payload nests deeper than {MAX_PAYLOAD_DEPTH} levels and could not be read back"
                ),
            ));
        }
        if !(0..=9999).contains(&record.timestamp.year()) {
            return Err(Error::new(
                ErrorKind::Serialize,
                format!(
                    "audit timestamp year {} is outside 0000..=9999 and has no RFC 3339 form",
                    record.timestamp.year()
                ),
            ));
        }
        let record = record.clone();
        let dir = self.dir.clone();
        let single = self.single.clone();
        self.with_state(move |state| {
            let day = record
                .timestamp
                .date_naive()
                .max(state.day.unwrap_or(NaiveDate::MIN));
            let path = single.unwrap_or_else(|| dir.join(day_file_name(day)));
            state.append(&dir, path, day, record)
        })
        .await
    }

    /// Fsync (`sync_data`) the file currently being appended to. Files of
    /// earlier days were synced when the sink moved on from them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the sync fails.
    async fn flush(&self) -> Result<(), Error> {
        self.with_state(State::sync).await
    }
}

/// The sink's mutable part; only touched by one blocking task at a time.
#[derive(Debug)]
struct State {
    policy: FsyncPolicy,
    /// `hash` of the last record stored.
    last_hash: String,
    /// Day of the newest file; records never go to an older one.
    day: Option<NaiveDate>,
    current: Option<DayFile>,
    /// Records written since the last sync.
    unsynced: u32,
}

#[derive(Debug)]
struct DayFile {
    path: PathBuf,
    file: File,
}

impl State {
    fn new(policy: FsyncPolicy) -> Self {
        Self {
            policy,
            last_hash: GENESIS_HASH.to_owned(),
            day: None,
            current: None,
            unsynced: 0,
        }
    }

    fn append(
        &mut self,
        dir: &Path,
        path: PathBuf,
        day: NaiveDate,
        mut record: AuditRecord,
    ) -> Result<(), Error> {
        self.open(dir, path)?;
        record.prev_hash = Some(self.last_hash.clone());
        record.hash = None;
        let hash = record_hash(&record);
        record.hash = Some(hash.clone());
        let mut line = serde_json::to_vec(&record).map_err(|e| {
            Error::new(ErrorKind::Serialize, "cannot serialize audit record").with_source(e)
        })?;
        line.push(b'\n');
        let Some(current) = &self.current else {
            return Err(Error::new(ErrorKind::Io, "audit file is not open").with_path(dir));
        };
        if let Err(e) = (&current.file).write_all(&line) {
            let path = current.path.clone();
            // Reopen next time; reopening repairs a partial line.
            self.current = None;
            return Err(Error::io("cannot append to audit file", &path, e));
        }
        self.last_hash = hash;
        self.day = Some(self.day.map_or(day, |d| d.max(day)));
        self.unsynced = self.unsynced.saturating_add(1);
        let due = match self.policy {
            FsyncPolicy::EveryRecord => true,
            FsyncPolicy::EveryN(n) => self.unsynced >= n.max(1),
            FsyncPolicy::OnClose => false,
        };
        if due { self.sync() } else { Ok(()) }
    }

    fn sync(&mut self) -> Result<(), Error> {
        if let Some(current) = &self.current
            && let Err(e) = current.file.sync_data()
        {
            let path = current.path.clone();
            self.current = None;
            return Err(Error::io("cannot sync audit file", &path, e));
        }
        self.unsynced = 0;
        Ok(())
    }

    /// Make `path` the current file: sync and close the previous one, open
    /// (create) this one and repair its tail.
    fn open(&mut self, dir: &Path, path: PathBuf) -> Result<(), Error> {
        if self.current.as_ref().is_some_and(|f| f.path == path) {
            return Ok(());
        }
        if self.current.is_some() {
            // Leaving a day's file: make what it holds durable before closing it.
            self.sync()?;
            self.current = None;
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io("cannot create audit directory", dir, e))?;
        if path.is_file()
            && let Some(hash) = recover_tail(&path)?.last_hash
        {
            self.last_hash = hash;
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| Error::io("cannot open audit file", &path, e))?;
        self.current = Some(DayFile { path, file });
        Ok(())
    }
}

impl Drop for State {
    fn drop(&mut self) {
        // "On close": nothing to report an error to here; flush() does.
        if self.unsynced > 0
            && let Some(current) = &self.current
        {
            let _ = current.file.sync_data();
        }
    }
}

/// What [`recover_tail`] found.
struct Recovered {
    /// `hash` of the file's last record, `None` for an empty file.
    last_hash: Option<String>,
    repair: Option<Repair>,
}

/// Read the last complete line of `path` for its `hash`, and repair a partial
/// last line: keep it (ending it) when it is a record that links to the line
/// before, otherwise move it to `<path>.fragment-<unix ms>` and cut it off.
fn recover_tail(path: &Path) -> Result<Recovered, Error> {
    let io = |e| Error::io("cannot repair audit file", path, e);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let last_nl = rfind_newline(&mut file, len).map_err(io)?;
    let complete_end = last_nl.map_or(0, |p| p + 1);
    let last_line = match last_nl {
        None => None,
        Some(nl) => {
            let start = rfind_newline(&mut file, nl)
                .map_err(io)?
                .map_or(0, |p| p + 1);
            Some(read_range(&mut file, start, nl).map_err(io)?)
        }
    };
    let mut last_hash = match &last_line {
        None => None,
        Some(line) => Some(chained_hash(line).ok_or_else(|| {
            Error::new(
                ErrorKind::Chain,
                "the last record is not a chained audit record, so the chain cannot continue; run `cx audit verify`",
            )
            .with_path(path)
        })?),
    };
    if complete_end == len {
        return Ok(Recovered {
            last_hash,
            repair: None,
        });
    }
    let fragment = read_range(&mut file, complete_end, len).map_err(io)?;
    let prev = last_hash.as_deref().unwrap_or(GENESIS_HASH);
    let moved_to = match links_to(&fragment, prev) {
        Some(hash) => {
            file.seek(SeekFrom::End(0)).map_err(io)?;
            file.write_all(b"\n").map_err(io)?;
            last_hash = Some(hash);
            None
        }
        None => {
            let millis = chrono::Utc::now().timestamp_millis();
            let mut name = path.file_name().unwrap_or_default().to_os_string();
            name.push(format!(".fragment-{millis}"));
            let aside = path.with_file_name(name);
            let mut out = File::create(&aside)
                .map_err(|e| Error::io("cannot move a partial line aside", &aside, e))?;
            out.write_all(&fragment)
                .and_then(|()| out.sync_all())
                .map_err(|e| Error::io("cannot move a partial line aside", &aside, e))?;
            file.set_len(complete_end).map_err(io)?;
            Some(aside)
        }
    };
    file.sync_all().map_err(io)?;
    Ok(Recovered {
        last_hash,
        repair: Some(Repair {
            file: path.to_path_buf(),
            moved_to,
            bytes: len - complete_end,
        }),
    })
}

/// The stored `hash` of a line that is a chained record, if it is one.
fn chained_hash(line: &[u8]) -> Option<String> {
    serde_json::from_slice::<AuditRecord>(line).ok()?.hash
}

/// The `hash` of `line` when it is a whole chained record whose `prev_hash`
/// is `prev` and whose `hash` verifies.
fn links_to(line: &[u8], prev: &str) -> Option<String> {
    let record: AuditRecord = serde_json::from_slice(line).ok()?;
    let hash = record.hash.clone()?;
    let ok = record.prev_hash.as_deref() == Some(prev)
        && record.verify_hash()
        && record_hash(&record) == hash;
    ok.then_some(hash)
}

/// Position of the last `\n` before byte `end` of `file`, scanning backwards.
fn rfind_newline(file: &mut File, end: u64) -> std::io::Result<Option<u64>> {
    const CHUNK: u64 = 8192;
    let mut hi = end;
    let mut buf = vec![0u8; 8192];
    while hi > 0 {
        let lo = hi.saturating_sub(CHUNK);
        let n = usize::try_from(hi - lo).unwrap_or(8192);
        file.seek(SeekFrom::Start(lo))?;
        file.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|b| *b == b'\n') {
            return Ok(Some(lo + i as u64));
        }
        hi = lo;
    }
    Ok(None)
}

fn read_range(file: &mut File, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
    let len = usize::try_from(end.saturating_sub(start))
        .map_err(|_| std::io::Error::other("line too long"))?;
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
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
        let record = AuditRecord::new("X", nested(MAX_PAYLOAD_DEPTH)).chained(GENESIS_HASH);
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
    fn day_file_names_round_trip() {
        let table = [
            ((2024, 5, 1), "audit-20240501.jsonl"),
            ((1999, 12, 31), "audit-19991231.jsonl"),
        ];
        for ((y, m, d), want) in table {
            let day = NaiveDate::from_ymd_opt(y, m, d);
            assert_eq!(day.map(day_file_name).as_deref(), Some(want));
            assert_eq!(day_of_file(Path::new(want)), day);
        }
        for not_a_day_file in [
            "audit-2024050.jsonl",
            "audit-20240501.jsonl.fragment-1",
            "x-20240501.jsonl",
        ] {
            assert_eq!(day_of_file(Path::new(not_a_day_file)), None);
        }
    }

    #[test]
    fn rfind_newline_across_chunks() -> std::io::Result<()> {
        let tmp = tempfile::tempfile()?;
        let mut file = tmp;
        let mut content = vec![b'a'; 20_000];
        content[3] = b'\n';
        content[19_000] = b'\n';
        file.write_all(&content)?;
        assert_eq!(rfind_newline(&mut file, 20_000)?, Some(19_000));
        assert_eq!(rfind_newline(&mut file, 19_000)?, Some(3));
        assert_eq!(rfind_newline(&mut file, 3)?, None);
        Ok(())
    }
}
