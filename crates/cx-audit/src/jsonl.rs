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
//!   directory, continuing across day files, restarts and processes.
//! - **Many writers.** Any number of sinks, in any number of processes, may
//!   write one directory. Each batch of appends holds an exclusive OS lock on
//!   `.audit.lock` in the directory (`flock`, released by the kernel when a
//!   process dies) and links to the true head read under that lock: the
//!   small index `.audit-head` (file, length, last hash, counts) is trusted
//!   only when the named file still has exactly the indexed length, and the
//!   first batch of each sink also checks that no newer day file exists;
//!   otherwise the head is read from the newest file's tail. An index is
//!   rewritten before a new day file is used, so a stale one cannot fork the
//!   chain.
//! - **Group commit.** Appends are queued to one writer thread per sink,
//!   which takes everything queued (up to 4096) as a batch: one lock, one
//!   `write`, one index update. A batch that needs an fsync goes on to a
//!   syncer thread, which answers it after one `fdatasync` covering it and
//!   every batch written meanwhile, while the writer (lock released) already
//!   writes the next batch. The caller's task does the JSON and the hashing
//!   of everything but the link before queueing ([`crate::chain`]); under
//!   the lock only the link is hashed.
//! - Durability follows a [`FsyncPolicy`], [`FsyncPolicy::EveryRecord`] by
//!   default: [`AuditSink::write`] returns only once the fsync covering its
//!   record has returned.
//! - **Signed checkpoints** ([`crate::checkpoint`]) when the sink has a
//!   [`SigningKey`]: every [`SinkOptions::checkpoint_every`] records, at each
//!   [`AuditSink::flush`] and close, and at the end of a day file before the
//!   next one starts; each is also sent to an optional witness sink.
//! - Crash recovery: a process killed mid-write leaves at most a partial last
//!   line. The next writer to take the lock checks the newest file's tail:
//!   a partial line is moved aside into `audit-YYYYMMDD.jsonl.fragment-<unix
//!   ms>` and cut from the file; a complete record only missing its newline
//!   is kept. Complete records are never removed. [`JsonlSink::repairs`] says
//!   what opening the sink did.
//!
//! Reading back and verification are in [`crate::verify`].

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;

use async_trait::async_trait;
use serde_json::Value;

use crate::chain::{GENESIS_HASH, record_hash};
use crate::checkpoint::SigningKey;
use crate::error::{Error, ErrorKind};
use crate::record::AuditRecord;
use crate::sink::AuditSink;
use crate::writer::{Ack, Latch, LinePool, MAX_BATCH, Msg, Prepared, Writer};

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
    /// Sync after every batch of appends: `write` returns once the fsync
    /// covering its record has returned. The default.
    #[default]
    EveryRecord,
    /// Sync once `n` records were written since the last sync (`0` and `1`
    /// mean every batch): up to `n - 1` records acknowledged by `write` can
    /// be lost in a power failure (not in a process crash: the kernel has
    /// them).
    EveryN(u32),
    /// Sync only on flush, day change and drop. [`AuditSink::write`] then
    /// does not wait for the writer thread (unless the sink has a witness):
    /// it returns once the record is queued, in order, and the writer links
    /// and writes it with the rest of its batch. So a process crash can lose
    /// records acknowledged since the last flush, like a power failure can;
    /// an error writing them is returned by the next `write` or `flush`.
    /// [`JsonlSink::append`] still waits for its line.
    OnClose,
}

/// How a [`JsonlSink`] writes: durability, signing and a witness.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct SinkOptions {
    /// When lines are synced; [`FsyncPolicy::EveryRecord`] by default.
    pub policy: FsyncPolicy,
    /// The key that signs checkpoints; none by default (then no checkpoints
    /// are written and verification can only show accidental damage).
    pub signing_key: Option<Arc<SigningKey>>,
    /// A checkpoint after this many records without one; `0` means the
    /// default, 1000.
    pub checkpoint_every: u64,
    /// A sink that also receives every checkpoint this sink writes (e.g. a
    /// [`crate::WebhookSink`] to a receiver kept as a witness). A failed
    /// delivery is returned by the `write`/`flush` whose batch made the
    /// checkpoint; the checkpoint itself is in the file either way.
    pub witness: Option<Arc<dyn AuditSink>>,
}

impl std::fmt::Debug for SinkOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SinkOptions")
            .field("policy", &self.policy)
            .field("signing_key", &self.signing_key)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("witness", &self.witness.is_some())
            .finish()
    }
}

cx_http::with_setters! { SinkOptions {
    /// Sync as `policy` says ([`SinkOptions::policy`]).
    with_policy(policy: FsyncPolicy);
    /// Sign checkpoints with `signing_key` ([`SinkOptions::signing_key`]).
    with_signing_key(signing_key: SigningKey) = Some(Arc::new(signing_key));
    /// A checkpoint after `checkpoint_every` records without one (`0`: 1000).
    with_checkpoint_every(checkpoint_every: u64);
    /// Send every checkpoint to `witness` too ([`SinkOptions::witness`]).
    with_witness(witness: Arc<dyn AuditSink>) = Some(witness);
}}

/// Where [`JsonlSink::append`] stored a record: enough to read exactly that
/// line back ([`crate::verify_appended`]) without reading the file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Appended {
    /// The file it is in.
    pub path: PathBuf,
    /// Byte offset of the line's first byte.
    pub offset: u64,
    /// Length of the line in bytes, newline included.
    pub len: u64,
    /// The record's `hash`.
    pub hash: String,
    /// The record's `prev_hash`: the head it was linked to.
    pub prev_hash: String,
}

/// A [`JsonlSink`] that keeps where each record it wrote went, so the
/// writer can check exactly those lines afterwards
/// ([`AppendTracker::verify`]), however big the files are: what
/// `cx workflow run` does before it reports success.
#[derive(Debug)]
pub struct AppendTracker {
    inner: JsonlSink,
    appended: std::sync::Mutex<Vec<Appended>>,
}

impl AppendTracker {
    /// Track what is written through `sink`.
    pub fn new(sink: JsonlSink) -> Self {
        Self {
            inner: sink,
            appended: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Where every record written so far went, in write order.
    pub fn appended(&self) -> Vec<Appended> {
        self.appended
            .lock()
            .map(|a| a.clone())
            .unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// [`crate::verify_appended`] over [`AppendTracker::appended`], on a
    /// blocking thread.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when a file cannot be read.
    pub async fn verify(&self) -> Result<Vec<crate::AppendedProblem>, Error> {
        let appended = self.appended();
        tokio::task::spawn_blocking(move || crate::verify_appended(&appended))
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Io, "audit verify task did not finish").with_source(e)
            })?
    }
}

#[async_trait]
impl AuditSink for AppendTracker {
    async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
        let appended = self.inner.append(record).await?;
        match self.appended.lock() {
            Ok(mut a) => a.push(appended),
            Err(poisoned) => poisoned.into_inner().push(appended),
        }
        Ok(())
    }

    async fn flush(&self) -> Result<(), Error> {
        self.inner.flush().await
    }
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
/// See the [module docs](self) for the file layout, many writers, group
/// commit, checkpoints and crash recovery. Share one sink between tasks with
/// an [`Arc`]; writes are serialised, so lines never interleave and the chain
/// has one order. Dropping the sink writes a last checkpoint (if it signs),
/// syncs and waits for its writer thread.
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
pub struct JsonlSink {
    dir: PathBuf,
    /// `Some`: every record goes to this one file instead of day files.
    single: Option<PathBuf>,
    repairs: Vec<Repair>,
    witness: Option<Arc<dyn AuditSink>>,
    /// `write` queues without waiting (fsync on close, no witness).
    no_wait: bool,
    latch: Latch,
    /// Line buffers the writer handed back.
    pool: Arc<LinePool>,
    queue: Option<tokio::sync::mpsc::Sender<Msg>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for JsonlSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlSink")
            .field("dir", &self.dir)
            .field("single", &self.single)
            .field("repairs", &self.repairs)
            .finish_non_exhaustive()
    }
}

impl JsonlSink {
    /// A sink writing into `dir` (created with its parents if missing) with
    /// [`FsyncPolicy::EveryRecord`], signing checkpoints with the key in the
    /// environment ([`SigningKey::from_env`]: `CX_AUDIT_SIGNING_KEY` or
    /// `CX_AUDIT_SIGNING_KEY_FILE`) if there is one. Continues the chain of
    /// the newest day file already there, repairing a partial last line
    /// first.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the directory cannot be created or the newest
    /// file cannot be read or repaired; [`ErrorKind::Chain`] when its last
    /// complete line is not a chained record (the chain cannot continue; run
    /// `cx audit verify`); [`ErrorKind::InvalidInput`] naming the variable
    /// when the environment's key is malformed.
    pub async fn open(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        let options = SinkOptions {
            signing_key: SigningKey::from_env()?.map(Arc::new),
            ..SinkOptions::default()
        };
        Self::open_with_options(dir, options).await
    }

    /// A sink writing into `dir` with `policy`, no signing key.
    ///
    /// # Errors
    ///
    /// As [`JsonlSink::open`].
    pub async fn open_with(dir: impl Into<PathBuf>, policy: FsyncPolicy) -> Result<Self, Error> {
        Self::open_with_options(dir, SinkOptions::default().with_policy(policy)).await
    }

    /// A sink writing into `dir` as `options` say.
    ///
    /// # Errors
    ///
    /// As [`JsonlSink::open`].
    pub async fn open_with_options(
        dir: impl Into<PathBuf>,
        options: SinkOptions,
    ) -> Result<Self, Error> {
        Self::start(dir.into(), None, options).await
    }

    /// A sink appending every record to the one file `path` (its directory is
    /// created if missing), whatever the record's day: for exports to a named
    /// file, as `cx audit export --out FILE`. The chain continues from the
    /// file's last record; writers of that file lock `<path>.lock`.
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
        Self::start(dir, Some(path), SinkOptions::default()).await
    }

    async fn start(
        dir: PathBuf,
        single: Option<PathBuf>,
        options: SinkOptions,
    ) -> Result<Self, Error> {
        let witness = options.witness.clone();
        let no_wait = options.policy == FsyncPolicy::OnClose && witness.is_none();
        let (d, s) = (dir.clone(), single.clone());
        let (writer, repairs) = tokio::task::spawn_blocking(move || Writer::open(d, s, &options))
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Io, "audit file task did not finish").with_source(e)
            })??;
        let latch = writer.latch();
        let pool = writer.pool();
        let (queue, rx) = tokio::sync::mpsc::channel(MAX_BATCH);
        let thread = std::thread::Builder::new()
            .name("cx-audit-writer".into())
            .spawn(move || writer.serve(rx))
            .map_err(|e| Error::io("cannot start the audit writer thread", &dir, e))?;
        Ok(Self {
            dir,
            single,
            repairs,
            witness,
            no_wait,
            latch,
            pool,
            queue: Some(queue),
            thread: Some(thread),
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

    /// The `hash` of the last record in the chain, read under the lock
    /// ([`GENESIS_HASH`] when the directory holds none).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the head cannot be read.
    pub async fn last_hash(&self) -> Result<String, Error> {
        self.send(Msg::Head).await.map(|(hash, _)| hash)
    }

    /// Link `record` into the chain and append it, as [`AuditSink::write`]
    /// does, and say where it went.
    ///
    /// # Errors
    ///
    /// As [`AuditSink::write`].
    pub async fn append(&self, record: &AuditRecord) -> Result<Appended, Error> {
        let prepared = Prepared::of(record, self.pool.take())?;
        let (appended, checkpoints) = self.send(|ack| Msg::Append(prepared, Some(ack))).await?;
        self.witness(checkpoints).await?;
        Ok(appended)
    }

    async fn send<T>(
        &self,
        msg: impl FnOnce(Ack<T>) -> Msg,
    ) -> Result<(T, Vec<AuditRecord>), Error> {
        let (ack, reply) = tokio::sync::oneshot::channel();
        self.queue(msg(ack)).await?;
        reply.await.map_err(|_| self.gone())?
    }

    async fn queue(&self, msg: Msg) -> Result<(), Error> {
        let queue = self.queue.as_ref().ok_or_else(|| self.gone())?;
        queue.send(msg).await.map_err(|_| self.gone())
    }

    fn gone(&self) -> Error {
        Error::new(ErrorKind::Io, "the audit writer thread stopped").with_path(&self.dir)
    }

    /// The error a record queued without waiting met, if any (once).
    fn latched(&self) -> Result<(), Error> {
        let mut kept = self
            .latch
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.take().map_or(Ok(()), Err)
    }

    async fn witness(&self, checkpoints: Vec<AuditRecord>) -> Result<(), Error> {
        let Some(witness) = &self.witness else {
            return Ok(());
        };
        for checkpoint in checkpoints {
            witness.write(&checkpoint).await.map_err(|e| {
                Error::new(
                    e.kind(),
                    "checkpoint stored, but the witness did not accept it",
                )
                .with_path(&self.dir)
                .with_source(e)
            })?;
        }
        Ok(())
    }
}

impl Drop for JsonlSink {
    fn drop(&mut self) {
        // Closing the queue ends the writer thread after what is queued; it
        // writes a last checkpoint and syncs ("on close").
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[async_trait]
impl AuditSink for JsonlSink {
    /// Link `record` into the chain (`prev_hash`, `hash`) and append it as
    /// one line to the file of its UTC day (or the newest file, see the module
    /// docs), batched with whatever other appends are waiting.
    ///
    /// Returns once the line is written and, per the [`FsyncPolicy`], synced;
    /// with [`FsyncPolicy::OnClose`] (and no witness) once it is queued.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Serialize`] when the record could not be read back: its
    /// payload nests deeper than [`MAX_PAYLOAD_DEPTH`] or its timestamp's year
    /// is outside 0000..=9999. [`ErrorKind::Io`] when the directory, lock or
    /// file cannot be created, opened, appended to or synced (every record of
    /// that batch then fails; the next batch re-reads the head and repairs a
    /// partial line); with [`FsyncPolicy::OnClose`], the first such error of
    /// a record queued earlier, once (that record was not stored). A
    /// witness's error when it refused a checkpoint this batch made (the
    /// record is stored).
    async fn write(&self, record: &AuditRecord) -> Result<(), Error> {
        if !self.no_wait {
            return self.append(record).await.map(drop);
        }
        self.latched()?;
        self.queue(Msg::Append(Prepared::of(record, self.pool.take())?, None))
            .await
    }

    /// Fsync (`sync_data`) the file currently being appended to and, when
    /// the sink signs, write a checkpoint covering every record so far (if
    /// any is not covered yet). Files of earlier days were synced when the
    /// sink moved on from them.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the sync fails, or (once) when a record
    /// queued without waiting ([`FsyncPolicy::OnClose`]) was not stored; a
    /// witness's error as for `write`.
    async fn flush(&self) -> Result<(), Error> {
        let flushed = self.send(Msg::Flush).await;
        // Take a latched error either way, so it is reported once.
        let latched = self.latched();
        let ((), checkpoints) = flushed?;
        latched?;
        self.witness(checkpoints).await
    }
}

/// What [`recover_tail`] found.
pub(crate) struct Recovered {
    /// `hash` of the file's last record, `None` for an empty file.
    pub(crate) last_hash: Option<String>,
    pub(crate) repair: Option<Repair>,
}

/// Read the last complete line of `path` for its `hash`, and repair a partial
/// last line: keep it (ending it) when it is a record that links to the line
/// before, otherwise move it to `<path>.fragment-<unix ms>` and cut it off.
/// In a file without a complete line, the record before is the last one of
/// the files before it: `before` says which (`None`: the start of the chain),
/// asked only then.
pub(crate) fn recover_tail(
    path: &Path,
    before: &mut dyn FnMut() -> Result<Option<String>, Error>,
) -> Result<Recovered, Error> {
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
    let prev = match &last_hash {
        Some(hash) => hash.clone(),
        None => before()?.unwrap_or_else(|| GENESIS_HASH.to_owned()),
    };
    let moved_to = match links_to(&fragment, &prev) {
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
pub(crate) fn rfind_newline(file: &mut File, end: u64) -> std::io::Result<Option<u64>> {
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

pub(crate) fn read_range(file: &mut File, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
    let len = usize::try_from(end.saturating_sub(start))
        .map_err(|_| std::io::Error::other("line too long"))?;
    let mut buf = vec![0u8; len];
    file.seek(SeekFrom::Start(start))?;
    file.read_exact(&mut buf)?;
    Ok(buf)
}

/// What [`payload_shape`] found in a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PayloadShape {
    /// Arrays/objects nest more than the given number of levels.
    pub(crate) too_deep: bool,
    /// Every number's RFC 8785 text reads back as the same
    /// [`serde_json::Number`] (an integer within ±2⁵³, or a float with a
    /// fraction), so the canonical bytes can stand for the payload in a line.
    pub(crate) canonical_reads_back: bool,
}

/// Walk `value` once: whether it nests arrays/objects more than `max` levels
/// deep, and whether its canonical form reads back as itself. Recursive but
/// never more than `max` + 1 calls deep (the walk stops at the first
/// container nested deeper), so a pathological value cannot exhaust the
/// stack here; and it allocates nothing (it runs for every record).
pub(crate) fn payload_shape(value: &Value, max: usize) -> PayloadShape {
    let mut shape = PayloadShape {
        too_deep: false,
        canonical_reads_back: true,
    };
    walk_shape(value, max, &mut shape);
    if shape.too_deep {
        shape.canonical_reads_back = false;
    }
    shape
}

/// [`payload_shape`] of `value`, `levels` more container levels allowed;
/// stops once `shape.too_deep`.
fn walk_shape(value: &Value, levels: usize, shape: &mut PayloadShape) {
    let children: &mut dyn Iterator<Item = &Value> = match value {
        Value::Array(_) | Value::Object(_) if levels == 0 => {
            shape.too_deep = true;
            return;
        }
        Value::Array(items) => &mut items.iter(),
        Value::Object(members) => &mut members.values(),
        Value::Number(n) => {
            shape.canonical_reads_back &= number_reads_back(n);
            return;
        }
        Value::Null | Value::Bool(_) | Value::String(_) => return,
    };
    for child in children {
        walk_shape(child, levels - 1, shape);
        if shape.too_deep {
            return;
        }
    }
}

/// Whether `n`'s RFC 8785 text parses back to `n`: integers within ±2⁵³
/// print as themselves; a float with a fraction prints in ECMAScript's
/// shortest round-trip form; an integral float would read back as an integer.
fn number_reads_back(n: &serde_json::Number) -> bool {
    const EXACT: u64 = 1 << 53;
    if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
        return f.fract() != 0.0;
    }
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) => u <= EXACT,
        (_, Some(i)) => i.unsigned_abs() <= EXACT,
        _ => false,
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
            let shape = payload_shape(&value, max);
            assert_eq!(shape.too_deep, want, "{value} max {max}");
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
