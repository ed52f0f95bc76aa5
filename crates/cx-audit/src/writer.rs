//! The writer thread behind [`crate::JsonlSink`]: group commit under a
//! cross-process lock, the validated head index, and checkpoints.
//!
//! Each batch: take the OS lock on the lock file, read the true head (the
//! index, trusted only when it matches the file), link and encode every
//! queued record, `writev` the lines, rewrite the index, release the
//! lock. A batch that needs an fsync is then handed to the syncer thread,
//! which answers its callers after one `fdatasync` that covers it and every
//! batch queued behind it, while the writer goes on with the next batch
//! (pipelined group commit); any other batch is answered at once.

use std::fs::{File, OpenOptions};
use std::io::{IoSlice, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, mpsc as std_mpsc};
use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::chain::{GENESIS_HASH, HashPrefix};
use crate::checkpoint::{CHECKPOINT_EVENT, Checkpoint, SigningKey};
use crate::error::{Error, ErrorKind};
use crate::jsonl::{
    Appended, FsyncPolicy, MAX_PAYLOAD_DEPTH, Repair, SinkOptions, day_file_name, day_files,
    day_of_file, payload_shape, recover_tail,
};
use crate::record::{AuditRecord, rfc3339_millis::Fixed};

/// The most messages one batch takes; also the queue's bound, so callers
/// that do not wait for their batch still cannot run ahead without limit.
pub(crate) const MAX_BATCH: usize = 4096;

/// A batch of fewer records than this, none of whose callers waits, waits
/// [`COALESCE_WAIT`] for more before it is written.
const COALESCE: usize = 64;

/// See [`COALESCE`].
const COALESCE_WAIT: Duration = Duration::from_millis(1);

/// The longest a batch whose callers wait is held back for the syncer to
/// finish its fsync (see [`Syncing`]); a stuck disk does not hold the writer.
const SYNCING_WAIT: Duration = Duration::from_millis(50);

/// The index is rewritten in place as this many bytes (JSON, then spaces).
const INDEX_LEN: usize = 512;

/// Checkpoints after this many records when the options say 0.
const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;

/// A reply: the value, plus the checkpoint records written while serving the
/// message (for the witness).
pub(crate) type Ack<T> = oneshot::Sender<Result<(T, Vec<AuditRecord>), Error>>;

/// The first error of a batch that had a caller not waiting for it (see
/// [`Msg::Append`]), kept for that sink's next `write` or `flush`.
pub(crate) type Latch = Arc<Mutex<Option<Error>>>;

/// What callers queue for the writer thread.
pub(crate) enum Msg {
    /// Link and append one record; without an ack the caller does not wait
    /// (fsync on close) and an error goes to the [`Latch`].
    Append(Prepared, Option<Ack<Appended>>),
    /// Sync, and checkpoint what is not covered yet.
    Flush(Ack<()>),
    /// The head's hash.
    Head(Ack<String>),
}

impl Msg {
    /// Answer with (a copy of) `e`.
    fn fail(self, e: &Error, latch: &Latch) {
        match self {
            Self::Append(_, Some(ack)) => drop(ack.send(Err(copy_error(e)))),
            Self::Append(_, None) => latch_error(latch, e),
            Self::Flush(ack) => drop(ack.send(Err(copy_error(e)))),
            Self::Head(ack) => drop(ack.send(Err(copy_error(e)))),
        }
    }

    /// Whether a caller waits for this message's batch.
    fn waits(&self) -> bool {
        !matches!(self, Self::Append(_, None))
    }
}

/// Line buffers the writer hands back once it has copied their lines into a
/// batch, for the next records' lines: an appender then takes a warm buffer
/// instead of allocating one, and the writer frees none. (Each line is over
/// 1 KiB, beyond glibc's per-thread cache: an allocation on an appender's
/// thread freed on the writer's took the appender's arena lock.)
#[derive(Default)]
pub(crate) struct LinePool(Mutex<PoolInner>);

#[derive(Default)]
struct PoolInner {
    lines: Vec<Vec<u8>>,
    /// Their capacity in bytes, at most [`LinePool::KEEP_BYTES`].
    bytes: usize,
}

impl LinePool {
    /// Bytes of buffers kept at most (a full batch of 1 KiB records).
    const KEEP_BYTES: usize = 8 << 20;

    /// An empty buffer, with room from an earlier line when there is one.
    pub(crate) fn take(&self) -> Vec<u8> {
        let mut pool = self.lock();
        match pool.lines.pop() {
            Some(line) => {
                pool.bytes -= line.capacity();
                line
            }
            None => Vec::new(),
        }
    }

    /// Keep what fits of `spent` (emptied), drop the rest.
    fn give(&self, spent: &mut Vec<Vec<u8>>) {
        {
            let mut pool = self.lock();
            while let Some(mut line) = spent.pop() {
                if pool.bytes + line.capacity() > Self::KEEP_BYTES {
                    spent.push(line);
                    break;
                }
                line.clear();
                pool.bytes += line.capacity();
                pool.lines.push(line);
            }
        }
        spent.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolInner> {
        // Buffers and a byte count: nothing a panic could leave half done
        // that matters (the count only bounds what is kept).
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Move what is queued into `batch`, up to [`MAX_BATCH`] messages.
fn take_queued(rx: &mut mpsc::Receiver<Msg>, batch: &mut Vec<Msg>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(msg) => batch.push(msg),
            Err(_) => break,
        }
    }
}

/// A record made ready off the lock: its line up to `compliance_hash` and
/// the SHA-256 state of its canonical form up to `prev_hash`.
pub(crate) struct Prepared {
    day: NaiveDate,
    /// The JSON line without its closing `}`.
    line: Vec<u8>,
    hash: HashPrefix,
    timestamp: Fixed,
}

impl Prepared {
    /// Check that `record` will read back, and encode and hash it; the line
    /// goes into `line` (emptied first, e.g. from [`LinePool::take`]).
    pub(crate) fn of(record: &AuditRecord, line: Vec<u8>) -> Result<Self, Error> {
        let shape = payload_shape(record.payload(), MAX_PAYLOAD_DEPTH);
        if shape.too_deep {
            return Err(Error::new(
                ErrorKind::Serialize,
                format!(
                    "audit payload nests deeper than {MAX_PAYLOAD_DEPTH} levels and could not be read back"
                ),
            ));
        }
        let Some(timestamp) = Fixed::of(&record.timestamp) else {
            return Err(Error::new(
                ErrorKind::Serialize,
                format!(
                    "audit timestamp year {} is outside 0000..=9999 and has no RFC 3339 form",
                    record.timestamp.year()
                ),
            ));
        };
        let line = encode_unlinked(line, record, timestamp.as_str(), shape.canonical_reads_back)
            .map_err(|e| {
                Error::new(ErrorKind::Serialize, "cannot serialize audit record").with_source(e)
            })?;
        Ok(Self {
            day: record.timestamp.date_naive(),
            line,
            hash: HashPrefix::of(record),
            timestamp,
        })
    }
}

/// `record`'s JSON line as serde writes an unchained record, without its
/// closing `}` (the link goes there), encoded without copying the record.
/// With `canonical`, the payload is its canonical bytes (already made for
/// the compliance hash; the caller checked they read back as the payload)
/// rather than a second serialisation.
fn encode_unlinked(
    mut line: Vec<u8>,
    record: &AuditRecord,
    timestamp: &str,
    canonical: bool,
) -> serde_json::Result<Vec<u8>> {
    line.clear();
    line.reserve(record.canonical_payload().len() + 192);
    line.extend_from_slice(b"{\"timestamp\":\"");
    line.extend_from_slice(timestamp.as_bytes());
    line.extend_from_slice(b"\",\"event_type\":");
    serde_json::to_writer(&mut line, &record.event_type)?;
    line.extend_from_slice(b",\"payload\":");
    if canonical {
        line.extend_from_slice(record.canonical_payload());
    } else {
        serde_json::to_writer(&mut line, record.payload())?;
    }
    line.extend_from_slice(b",\"compliance_hash\":");
    serde_json::to_writer(&mut line, &record.compliance_hash)?;
    Ok(line)
}

/// Where [`Writer::link`] put a record in the head's file.
struct Link {
    offset: u64,
    len: u64,
    /// The head it was linked to (empty unless asked for).
    prev_hash: String,
}

/// The head of the log, as the index stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    /// Name of the newest file; `None` before the first record.
    file: Option<String>,
    /// Its length in bytes.
    len: u64,
    /// `hash` of its last record (or of the previous file's last record).
    hash: String,
    /// Lines in the file; `None` when not known (head read from the tail).
    records: Option<u64>,
    /// The last checkpoint; `None` when not known.
    checkpoint: Option<CheckpointHead>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CheckpointHead {
    /// Chain hash of the last checkpoint record ([`GENESIS_HASH`]: none yet).
    hash: String,
    seq: u64,
    /// Records written after it.
    uncovered: u64,
}

/// The writer thread's state.
pub(crate) struct Writer {
    dir: PathBuf,
    single: Option<PathBuf>,
    policy: FsyncPolicy,
    key: Option<Arc<SigningKey>>,
    every: u64,
    /// The lock file; taken out while a batch holds its lock.
    lock: Option<fd_lock::RwLock<File>>,
    index_path: PathBuf,
    /// The open index file.
    index: File,
    /// The bytes this writer last wrote to the index: while the index still
    /// holds them, no other writer has run a batch since.
    index_bytes: Vec<u8>,
    /// The head as of the end of the last batch (validated at each batch).
    head: Head,
    /// The open file `head.file`, if open (shared with the syncer).
    current: Option<(String, Arc<File>)>,
    /// Lines not yet written to `current`, each with where its link (the
    /// rest of the line) ends in `links`: written with `writev` straight
    /// from the appenders' buffers rather than copied into one first.
    pending: Vec<(Vec<u8>, usize)>,
    /// The links of `pending`, one after the other.
    links: Vec<u8>,
    unsynced: u64,
    /// Whether the index on disk was checked against the directory (or
    /// written by this sink since).
    dir_checked: bool,
    /// [`Writer::head_day`]'s last answer and the file name it is for.
    day_cache: Option<(String, Option<NaiveDate>)>,
    repairs: Vec<Repair>,
    /// Where errors for callers that do not wait go.
    latch: Latch,
    /// Where the lines of written records go back to.
    pool: Arc<LinePool>,
    /// Lines of this batch's records, for the pool.
    spent: Vec<Vec<u8>>,
}

impl Writer {
    /// Create the directory and lock file and read the head under the lock
    /// (repairing a crashed writer's partial line).
    pub(crate) fn open(
        dir: PathBuf,
        single: Option<PathBuf>,
        options: &SinkOptions,
    ) -> Result<(Self, Vec<Repair>), Error> {
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io("cannot create audit directory", &dir, e))?;
        let sidecar = |suffix: &str, default: &str| match &single {
            Some(path) => {
                let mut name = path.file_name().unwrap_or_default().to_os_string();
                name.push(suffix);
                path.with_file_name(name)
            }
            None => dir.join(default),
        };
        let open = |path: &Path, what: &str| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(|e| Error::io(format!("cannot open {what}"), path, e))
        };
        let lock_path = sidecar(".lock", ".audit.lock");
        let lock = open(&lock_path, "audit lock file")?;
        let index_path = sidecar(".head", ".audit-head");
        let index = open(&index_path, "the audit head index")?;
        let mut writer = Self {
            index,
            index_bytes: Vec::new(),
            index_path,
            dir,
            single,
            policy: options.policy,
            key: options.signing_key.clone(),
            every: match options.checkpoint_every {
                0 => DEFAULT_CHECKPOINT_EVERY,
                n => n,
            },
            lock: Some(fd_lock::RwLock::new(lock)),
            head: genesis(),
            current: None,
            pending: Vec::new(),
            links: Vec::new(),
            unsynced: 0,
            dir_checked: false,
            day_cache: None,
            repairs: Vec::new(),
            latch: Latch::default(),
            pool: Arc::default(),
            spent: Vec::new(),
        };
        writer.locked(Self::load_head)?;
        let repairs = std::mem::take(&mut writer.repairs);
        Ok((writer, repairs))
    }

    /// Where this writer keeps errors for callers that did not wait.
    pub(crate) fn latch(&self) -> Latch {
        self.latch.clone()
    }

    /// Where appenders take line buffers from.
    pub(crate) fn pool(&self) -> Arc<LinePool> {
        self.pool.clone()
    }

    /// Serve batches until every sender is gone, then close.
    pub(crate) fn serve(mut self, mut rx: mpsc::Receiver<Msg>) {
        let (to_syncer, jobs) = std_mpsc::channel();
        let syncing = Arc::new(Syncing::default());
        let in_syncer = syncing.clone();
        let syncer = std::thread::Builder::new()
            .name("cx-audit-sync".into())
            .spawn(move || sync_jobs(&jobs, &in_syncer));
        let to_syncer = match syncer {
            Ok(_) => Some(to_syncer),
            // No second thread: sync in this one.
            Err(_) => None,
        };
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            take_queued(&mut rx, &mut batch);
            if batch.len() < COALESCE && !batch.iter().any(Msg::waits) {
                // Nobody waits for this batch (fsync on close): let more
                // records join it rather than pay a lock and a write each.
                std::thread::sleep(COALESCE_WAIT);
                take_queued(&mut rx, &mut batch);
            } else if to_syncer.is_some() && batch.len() < MAX_BATCH {
                // Callers wait for an fsync. One is running: what is written
                // now waits for the next one anyway, so gather until it ends
                // and write one batch rather than several small ones (each
                // costs the lock, the index and a hand-off to the syncer).
                syncing.wait_until_idle();
                take_queued(&mut rx, &mut batch);
            }
            self.run(batch, to_syncer.as_ref());
        }
        // Closing: nobody to report to; `flush` is where errors are seen.
        let _ = self.locked(|w| {
            w.load_head()?;
            w.checkpoint_if_uncovered()?;
            w.commit(true)?;
            w.sync()
        });
        // Wait for the syncer to answer what it holds.
        drop(to_syncer);
        if let Ok(handle) = syncer {
            let _ = handle.join();
        }
    }

    /// Run `f` holding the OS lock.
    fn locked<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        let mut lock = self.lock.take().ok_or_else(|| {
            Error::new(ErrorKind::Io, "the audit lock is already held").with_path(&self.dir)
        })?;
        let out = match lock.write() {
            // Dropping the guard unlocks; a dying process's lock is
            // released by the kernel.
            Ok(_guard) => f(self),
            Err(e) => Err(Error::io("cannot lock the audit directory", &self.dir, e)),
        };
        self.lock = Some(lock);
        if out.is_err() {
            // Start from the files again next time.
            self.current = None;
            self.drop_pending();
            self.index_bytes.clear();
        }
        out
    }

    /// Link, write and index `batch` under the lock; then answer it, after
    /// the syncer's fsync when one is due.
    fn run(&mut self, batch: Vec<Msg>, syncer: Option<&std_mpsc::Sender<SyncJob>>) {
        let mut replies = Vec::with_capacity(batch.len());
        let mut batch = batch.into_iter();
        let outcome = self.locked(|w| {
            w.load_head()?;
            let mut force_sync = false;
            for msg in batch.by_ref() {
                match msg {
                    Msg::Append(prepared, ack) => {
                        let link = w.append(prepared, ack.is_some())?;
                        // Where the record went, only for a caller that waits.
                        let waiting = ack.map(|ack| (ack, w.appended(link)));
                        let mut made = Vec::new();
                        if w.key.is_some()
                            && w.head
                                .checkpoint
                                .as_ref()
                                .is_some_and(|c| c.uncovered >= w.every)
                        {
                            made.extend(w.checkpoint()?);
                        }
                        replies.push(Reply::Append(waiting, made));
                    }
                    Msg::Flush(ack) => {
                        force_sync = true;
                        let made = w.checkpoint_if_uncovered()?;
                        replies.push(Reply::Flush(ack, made));
                    }
                    Msg::Head(ack) => replies.push(Reply::Head(ack, w.head.hash.clone())),
                }
            }
            w.commit(force_sync)
        });
        self.pool.give(&mut self.spent);
        let job = SyncJob {
            file: self
                .current
                .as_ref()
                .map(|(name, file)| (self.path_of(name), file.clone())),
            replies,
            latch: self.latch.clone(),
        };
        match (outcome, syncer) {
            (Ok(true), Some(syncer)) => {
                if let Err(std_mpsc::SendError(job)) = syncer.send(job) {
                    let synced = job.sync();
                    job.answer(synced.as_ref());
                }
            }
            (Ok(true), None) => {
                let synced = job.sync();
                job.answer(synced.as_ref());
            }
            (Ok(false), _) => job.answer(Ok(&())),
            (Err(e), _) => {
                job.answer(Err(&e));
                // What the failure left unprocessed fails with it.
                for msg in batch {
                    msg.fail(&e, &self.latch);
                }
            }
        }
    }

    /// Write the buffer and rewrite the index; whether an fsync is due (per
    /// the policy, or `force`). The caller syncs, or has the syncer sync.
    fn commit(&mut self, force: bool) -> Result<bool, Error> {
        self.write_buffer()?;
        let due = force
            || match self.policy {
                FsyncPolicy::EveryRecord => self.unsynced > 0,
                FsyncPolicy::EveryN(n) => self.unsynced >= u64::from(n.max(1)),
                FsyncPolicy::OnClose => false,
            };
        if due {
            self.unsynced = 0;
        }
        self.write_index()?;
        Ok(due)
    }

    fn write_buffer(&mut self) -> Result<(), Error> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.open_current()?;
        let written = match &self.current {
            Some((name, file)) => write_lines(file, &self.pending, &self.links)
                .map_err(|e| Error::io("cannot append to audit file", &self.path_of(name), e)),
            None => Ok(()),
        };
        self.drop_pending();
        written
    }

    /// Forget the lines not written (their buffers go to the pool).
    fn drop_pending(&mut self) {
        self.spent
            .extend(self.pending.drain(..).map(|(line, _)| line));
        self.links.clear();
    }

    fn sync(&mut self) -> Result<(), Error> {
        if let Some((name, file)) = &self.current {
            file.sync_data()
                .map_err(|e| Error::io("cannot sync audit file", &self.path_of(name), e))?;
        }
        self.unsynced = 0;
        Ok(())
    }

    fn path_of(&self, name: &str) -> PathBuf {
        match &self.single {
            Some(path) => path.clone(),
            None => self.dir.join(name),
        }
    }

    fn open_current(&mut self) -> Result<(), Error> {
        let Some(name) = self.head.file.clone() else {
            return Err(Error::new(ErrorKind::Io, "no audit file to write to").with_path(&self.dir));
        };
        if self.current.as_ref().is_none_or(|(n, _)| *n != name) {
            let path = self.path_of(&name);
            let file = OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
                .map_err(|e| Error::io("cannot open audit file", &path, e))?;
            self.current = Some((name, Arc::new(file)));
        }
        Ok(())
    }

    /// Make `self.head` the true head: the index if it matches the file,
    /// else the newest file's tail (repaired).
    fn load_head(&mut self) -> Result<(), Error> {
        let bytes = self.read_index();
        let indexed = if !bytes.is_empty() && bytes == self.index_bytes {
            // Ours, unchanged: no other writer ran a batch since ours.
            Some(self.head.clone())
        } else {
            serde_json::from_slice(&bytes).ok()
        };
        let mut valid = indexed.as_ref().is_some_and(|head| self.matches(head));
        if valid && !self.dir_checked && self.single.is_none() {
            // Once per sink: no day file newer than the indexed one (an index
            // left behind by a power failure, or by hand).
            let newest = day_files(&self.dir)?
                .pop()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
            valid = indexed
                .as_ref()
                .is_some_and(|head| match (&head.file, &newest) {
                    (Some(indexed), Some(newest)) => indexed >= newest,
                    (_, None) => true,
                    (None, Some(_)) => false,
                });
        }
        // An index found stale stays on disk until this writer rewrites it
        // (`write_index`): until then it is checked against the directory
        // again, or the next batch would trust it.
        self.dir_checked = valid;
        match indexed.filter(|_| valid) {
            Some(head) => self.head = head,
            None => self.head = self.scan_head()?,
        }
        if self.key.is_some() {
            // Checkpoints every N need the counts a crash left unknown.
            self.fill_counts()?;
        }
        Ok(())
    }

    /// True when the file `head` names has exactly its indexed length.
    fn matches(&self, head: &Head) -> bool {
        let len = match &head.file {
            Some(name) => std::fs::metadata(self.path_of(name)).map_or(0, |m| m.len()),
            None => return head.len == 0 && self.single.as_ref().is_none_or(|p| !p.exists()),
        };
        len == head.len
    }

    /// The files of the log, oldest first.
    fn files(&self) -> Result<Vec<PathBuf>, Error> {
        match &self.single {
            Some(path) => Ok(vec![path.clone()]
                .into_iter()
                .filter(|p| p.is_file())
                .collect()),
            None => day_files(&self.dir),
        }
    }

    /// The head from the files themselves: the newest file, its last record
    /// (or the last record of the newest file that has one).
    fn scan_head(&mut self) -> Result<Head, Error> {
        let files = self.files()?;
        let Some(newest) = files.last() else {
            let mut head = genesis();
            head.file = self.single.as_ref().map(|p| name_of(p));
            return Ok(head);
        };
        let older = &files[..files.len() - 1];
        let recovered = recover_tail(newest, &mut || last_hash_in(older))?;
        self.repairs.extend(recovered.repair);
        let hash = match recovered.last_hash {
            Some(hash) => Some(hash),
            None => last_hash_in(older)?,
        };
        self.current = None;
        let len = std::fs::metadata(newest)
            .map_err(|e| Error::io("cannot read audit file", newest, e))?
            .len();
        Ok(Head {
            file: Some(name_of(newest)),
            len,
            hash: hash.unwrap_or_else(|| GENESIS_HASH.to_owned()),
            records: None,
            checkpoint: None,
        })
    }

    /// Count the newest file's lines and find the last checkpoint (scanning
    /// older files if the newest has none): only after a crash or when the
    /// index is missing, and only for a sink that signs.
    fn fill_counts(&mut self) -> Result<(), Error> {
        if self.head.records.is_some() && self.head.checkpoint.is_some() {
            return Ok(());
        }
        let files = self.files()?;
        let mut checkpoint = None;
        let mut records = None;
        let mut uncovered = 0;
        for path in files.iter().rev() {
            let (lines, last) = scan_checkpoints(path)?;
            if records.is_none() {
                records = Some(lines);
            }
            match last {
                Some((line, hash, seq)) => {
                    uncovered += lines - line;
                    checkpoint = Some(CheckpointHead {
                        hash,
                        seq,
                        uncovered,
                    });
                    break;
                }
                None => uncovered += lines,
            }
        }
        self.head.records = Some(records.unwrap_or(0));
        self.head.checkpoint = Some(checkpoint.unwrap_or(CheckpointHead {
            hash: GENESIS_HASH.to_owned(),
            seq: 0,
            uncovered,
        }));
        Ok(())
    }

    /// Link `prepared` to the head and add its line to the buffer, moving to
    /// its day's file first if that is newer.
    /// With `keep_prev`, the link's `prev_hash` is filled in.
    fn append(&mut self, prepared: Prepared, keep_prev: bool) -> Result<Link, Error> {
        if self.single.is_none() {
            match self.head_day() {
                // The common case: the record belongs in the head's file.
                Some(newest) if newest >= prepared.day => {}
                _ => {
                    let newest = self
                        .head
                        .file
                        .as_deref()
                        .and_then(|n| day_of_file(Path::new(n)));
                    let day = newest.map_or(prepared.day, |d| d.max(prepared.day));
                    let name = day_file_name(day);
                    if self.head.file.as_deref() != Some(name.as_str()) {
                        self.roll(name)?;
                    }
                }
            }
        } else if self.head.file.is_none() {
            self.head.file = self.single.as_ref().map(|p| name_of(p));
        }
        Ok(self.link(prepared, keep_prev))
    }

    /// The day of the head's file when its name is exactly
    /// [`day_file_name`] of that day (cached per name: parsing and
    /// formatting a date for every record cost more than linking it).
    fn head_day(&mut self) -> Option<NaiveDate> {
        let name = self.head.file.as_deref()?;
        if let Some((cached, day)) = &self.day_cache
            && cached == name
        {
            return *day;
        }
        let day = day_of_file(Path::new(name)).filter(|d| day_file_name(*d) == name);
        self.day_cache = Some((name.to_owned(), day));
        day
    }

    /// Link `prepared` to the head and queue its line for writing; with
    /// `keep_prev`, say in the link which head that was. The head's hash is
    /// overwritten in place (no allocation per record).
    fn link(&mut self, prepared: Prepared, keep_prev: bool) -> Link {
        let prev = &self.head.hash;
        let hash = prepared
            .hash
            .finish_hex(Some(prev), prepared.timestamp.as_str());
        let start = self.links.len();
        self.links.extend_from_slice(b",\"prev_hash\":\"");
        self.links.extend_from_slice(prev.as_bytes());
        self.links.extend_from_slice(b"\",\"hash\":\"");
        self.links.extend_from_slice(hash.as_str().as_bytes());
        self.links.extend_from_slice(b"\"}\n");
        let len = (prepared.line.len() + self.links.len() - start) as u64;
        self.pending.push((prepared.line, self.links.len()));
        let link = Link {
            offset: self.head.len,
            len,
            prev_hash: if keep_prev {
                prev.clone()
            } else {
                String::new()
            },
        };
        self.head.len += len;
        self.head.hash.clear();
        self.head.hash.push_str(hash.as_str());
        self.head.records = self.head.records.map(|n| n + 1);
        if let Some(c) = &mut self.head.checkpoint {
            c.uncovered += 1;
        }
        self.unsynced += 1;
        link
    }

    /// Where the record just linked as `link` went (the head is its hash).
    fn appended(&self, link: Link) -> Appended {
        Appended {
            path: self.path_of(self.head.file.as_deref().unwrap_or_default()),
            offset: link.offset,
            len: link.len,
            hash: self.head.hash.clone(),
            prev_hash: link.prev_hash,
        }
    }

    /// Leave the current day file for `name`: checkpoint and sync the old
    /// one, point the index at the new one, then create it.
    fn roll(&mut self, name: String) -> Result<(), Error> {
        if self.head.file.is_some() {
            self.checkpoint_if_uncovered()?;
            self.write_buffer()?;
            self.sync()?;
        }
        let path = self.dir.join(&name);
        let existing = std::fs::metadata(&path).map_or(0, |m| m.len());
        if existing > 0 {
            // Someone wrote it without the index (an old writer, a power
            // failure): continue from its tail rather than fork.
            self.head = self.scan_head()?;
            return Ok(());
        }
        self.head.file = Some(name);
        self.head.len = 0;
        self.head.records = Some(0);
        self.write_index()?;
        self.open_current()?;
        if let Err(e) = File::open(&self.dir).and_then(|d| d.sync_all()) {
            return Err(Error::io("cannot sync audit directory", &self.dir, e));
        }
        Ok(())
    }

    fn checkpoint_if_uncovered(&mut self) -> Result<Vec<AuditRecord>, Error> {
        if self.key.is_none() || self.head.file.is_none() || self.head.hash == GENESIS_HASH {
            return Ok(Vec::new());
        }
        self.fill_counts()?;
        if self
            .head
            .checkpoint
            .as_ref()
            .is_some_and(|c| c.uncovered == 0)
        {
            return Ok(Vec::new());
        }
        self.checkpoint()
    }

    /// Append a signed checkpoint covering the head.
    fn checkpoint(&mut self) -> Result<Vec<AuditRecord>, Error> {
        let Some(key) = self.key.clone() else {
            return Ok(Vec::new());
        };
        self.fill_counts()?;
        let file = self.head.file.clone().unwrap_or_default();
        let previous = self.head.checkpoint.clone().unwrap_or(CheckpointHead {
            hash: GENESIS_HASH.to_owned(),
            seq: 0,
            uncovered: 0,
        });
        let checkpoint = key.sign(Checkpoint::new(
            previous.seq + 1,
            day_of_file(Path::new(&file)).unwrap_or_else(|| Utc::now().date_naive()),
            file,
            self.head.records.unwrap_or(0),
            self.head.hash.clone(),
            previous.hash,
        ));
        let record = AuditRecord::new(CHECKPOINT_EVENT, checkpoint.to_payload());
        let link = self.link(Prepared::of(&record, Vec::new())?, true);
        self.head.checkpoint = Some(CheckpointHead {
            hash: self.head.hash.clone(),
            seq: previous.seq + 1,
            uncovered: 0,
        });
        Ok(vec![record.chained(&link.prev_hash)])
    }

    /// Rewrite the index in place, padded with spaces to [`INDEX_LEN`]
    /// bytes: no truncation, which ext4 would answer with a writeback of the
    /// file at every batch.
    fn write_index(&mut self) -> Result<(), Error> {
        let mut text = serde_json::to_vec(&self.head).map_err(|e| {
            Error::new(ErrorKind::Serialize, "cannot encode the audit head index").with_source(e)
        })?;
        let io = |e| Error::io("cannot write the audit head index", &self.index_path, e);
        if text.len() < INDEX_LEN {
            text.resize(INDEX_LEN, b' ');
        }
        let mut index = &self.index;
        index.seek(SeekFrom::Start(0)).map_err(io)?;
        index.write_all(&text).map_err(io)?;
        if text.len() > INDEX_LEN {
            self.index.set_len(text.len() as u64).map_err(io)?;
        }
        self.index_bytes = text;
        // It names the head this writer found under the lock.
        self.dir_checked = true;
        Ok(())
    }

    /// The index's bytes (empty when it cannot be read).
    fn read_index(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(INDEX_LEN);
        let mut index = &self.index;
        if index
            .seek(SeekFrom::Start(0))
            .and_then(|_| index.read_to_end(&mut bytes))
            .is_err()
        {
            bytes.clear();
        }
        bytes
    }
}

/// Write each of `pending`'s lines followed by its link from `links` (see
/// [`Writer::pending`]), up to 512 lines per `writev` (Linux takes 1024
/// slices a call).
fn write_lines(mut file: &File, pending: &[(Vec<u8>, usize)], links: &[u8]) -> std::io::Result<()> {
    const LINES_PER_CALL: usize = 512;
    let mut slices = Vec::with_capacity(2 * LINES_PER_CALL.min(pending.len()));
    let mut start = 0;
    for chunk in pending.chunks(LINES_PER_CALL) {
        slices.clear();
        for (line, end) in chunk {
            let link = links.get(start..*end).ok_or_else(|| {
                std::io::Error::other("audit writer: a line's link is out of range")
            })?;
            slices.push(IoSlice::new(line));
            slices.push(IoSlice::new(link));
            start = *end;
        }
        let mut left = &mut slices[..];
        while !left.is_empty() {
            match file.write_vectored(left) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut left, n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// A reply waiting for its batch's commit.
enum Reply {
    /// The waiting caller and where its record went (`None`: nobody waits),
    /// and the checkpoints the record triggered.
    Append(Option<(Ack<Appended>, Appended)>, Vec<AuditRecord>),
    Flush(Ack<()>, Vec<AuditRecord>),
    Head(Ack<String>, String),
}

impl Reply {
    fn send(self, outcome: Result<&(), &Error>, latch: &Latch) {
        // A caller that stopped waiting (cancelled) does not mind.
        match (self, outcome) {
            (Self::Append(Some((ack, a)), made), Ok(_)) => drop(ack.send(Ok((a, made)))),
            (Self::Append(None, ..), Ok(_)) => {}
            (Self::Flush(ack, made), Ok(_)) => drop(ack.send(Ok(((), made)))),
            (Self::Head(ack, hash), Ok(_)) => drop(ack.send(Ok((hash, Vec::new())))),
            (Self::Append(Some((ack, _)), _), Err(e)) => drop(ack.send(Err(copy_error(e)))),
            (Self::Append(None, ..), Err(e)) => latch_error(latch, e),
            (Self::Flush(ack, _), Err(e)) => drop(ack.send(Err(copy_error(e)))),
            (Self::Head(ack, _), Err(e)) => drop(ack.send(Err(copy_error(e)))),
        }
    }
}

/// A written batch's answers, and the file an fsync must cover first.
pub(crate) struct SyncJob {
    file: Option<(PathBuf, Arc<File>)>,
    replies: Vec<Reply>,
    latch: Latch,
}

impl SyncJob {
    fn sync(&self) -> Result<(), Error> {
        match &self.file {
            Some((path, file)) => file
                .sync_data()
                .map_err(|e| Error::io("cannot sync audit file", path, e)),
            None => Ok(()),
        }
    }

    /// Appends among the replies.
    fn records(&self) -> usize {
        self.replies
            .iter()
            .filter(|r| matches!(r, Reply::Append(..)))
            .count()
    }

    fn answer(self, outcome: Result<&(), &Error>) {
        for reply in self.replies {
            reply.send(outcome, &self.latch);
        }
    }
}

/// The syncer thread: take every batch written so far, one `fdatasync` per
/// file they wrote (one file but at a day roll, whose old file the writer
/// synced itself), then answer them. Batches written meanwhile wait for the
/// next round: an fsync only covers what was written before it started.
///
/// Commit delay: callers answered by a round come back with their next
/// records a moment later, so a round that starts at once would sync a few
/// records and leave the rest for the next. A round therefore waits (at most
/// half the last fsync's time, 1 ms at most) until it holds as many
/// records as the larger of the last two rounds. One appender waits never.
fn sync_jobs(jobs: &std_mpsc::Receiver<SyncJob>, syncing: &Syncing) {
    const MAX_DELAY: Duration = Duration::from_millis(1);
    let records = |round: &[SyncJob]| round.iter().map(SyncJob::records).sum::<usize>();
    let mut recent = [0usize; 2];
    let mut delay = Duration::ZERO;
    while let Ok(first) = jobs.recv() {
        let mut round = vec![first];
        round.extend(jobs.try_iter());
        let deadline = Instant::now() + delay;
        while records(&round) < recent[0].max(recent[1]) {
            match jobs.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(job) => {
                    round.push(job);
                    round.extend(jobs.try_iter());
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        syncing.set(true);
        let mut synced: Vec<&Arc<File>> = Vec::new();
        let mut outcome = Ok(());
        for job in &round {
            let Some((_, file)) = &job.file else { continue };
            if synced.iter().any(|done| Arc::ptr_eq(done, file)) {
                continue;
            }
            outcome = job.sync();
            if outcome.is_err() {
                break;
            }
            synced.push(file);
        }
        delay = (started.elapsed() / 2).min(MAX_DELAY);
        recent = [recent[1], records(&round)];
        syncing.set(false);
        for job in round {
            job.answer(outcome.as_ref());
        }
    }
}

/// Whether the syncer is in an fsync: the writer holds a batch whose
/// callers wait until it is not (at most [`SYNCING_WAIT`]).
#[derive(Default)]
struct Syncing {
    busy: Mutex<bool>,
    idle: Condvar,
}

impl Syncing {
    fn set(&self, busy: bool) {
        *self
            .busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = busy;
        if !busy {
            self.idle.notify_all();
        }
    }

    fn wait_until_idle(&self) {
        let busy = self
            .busy
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        drop(
            self.idle
                .wait_timeout_while(busy, SYNCING_WAIT, |busy| *busy),
        );
    }
}

/// Keep (a copy of) `e` for the next `write` or `flush`, unless an earlier
/// error is kept already.
fn latch_error(latch: &Latch, e: &Error) {
    let mut kept = latch
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    kept.get_or_insert_with(|| copy_error(e));
}

/// The same error for every caller of a failed batch.
fn copy_error(e: &Error) -> Error {
    let mut copy = Error::new(e.kind(), e.message());
    if let Some(path) = e.path() {
        copy = copy.with_path(path);
    }
    match std::error::Error::source(e) {
        Some(source) => copy.with_source(source.to_string()),
        None => copy,
    }
}

fn genesis() -> Head {
    Head {
        file: None,
        len: 0,
        hash: GENESIS_HASH.to_owned(),
        records: Some(0),
        checkpoint: Some(CheckpointHead {
            hash: GENESIS_HASH.to_owned(),
            seq: 0,
            uncovered: 0,
        }),
    }
}

/// The `hash` of the last record in `files` (oldest first), repairing the
/// tail of each file read ([`recover_tail`]); `None` when they hold none.
fn last_hash_in(files: &[PathBuf]) -> Result<Option<String>, Error> {
    for (i, path) in files.iter().enumerate().rev() {
        let older = &files[..i];
        if let Some(hash) = recover_tail(path, &mut || last_hash_in(older))?.last_hash {
            return Ok(Some(hash));
        }
    }
    Ok(None)
}

fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A checkpoint found by [`scan_checkpoints`]: its 1-based line, hash, seq.
type LastCheckpoint = (u64, String, u64);

/// Lines of `path`, and the last checkpoint in it.
fn scan_checkpoints(path: &Path) -> Result<(u64, Option<LastCheckpoint>), Error> {
    let mut text = Vec::new();
    File::open(path)
        .and_then(|mut f| {
            f.seek(SeekFrom::Start(0))
                .and_then(|_| f.read_to_end(&mut text))
        })
        .map_err(|e| Error::io("cannot read audit file", path, e))?;
    let needle = format!("\"event_type\":\"{CHECKPOINT_EVENT}\"");
    let mut last = None;
    let mut lines = 0;
    for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        lines += 1;
        if line.windows(needle.len()).any(|w| w == needle.as_bytes()) {
            let record: Option<AuditRecord> = serde_json::from_slice(line).ok();
            let found = record.and_then(|r| {
                let seq = Checkpoint::from_payload(r.payload())?.seq;
                Some((lines, r.hash?, seq))
            });
            if found.is_some() {
                last = found;
            }
        }
    }
    Ok((lines, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn a_prepared_line_reads_back_as_the_record() -> Result<(), Box<dyn std::error::Error>> {
        // Canonical payload bytes where they read back exactly, serde's
        // encoding where they would not (integral floats, integers beyond
        // 2^53): either way the line is the record, chain hash included.
        let table = [
            (
                json!({"b": [1, -2, 12.5, "é\n\"q\""], "a": null, "c": {"d": true}}),
                true,
            ),
            (json!({"ms": 1.0}), false),
            (json!({"id": u64::MAX}), false),
            (json!({"id": -9_007_199_254_740_993_i64}), false),
            (json!({"small": 0.1, "tiny": 1e-7}), true),
        ];
        for (payload, canonical) in table {
            let shape = payload_shape(&payload, MAX_PAYLOAD_DEPTH);
            assert_eq!(shape.canonical_reads_back, canonical, "{payload}");
            let record = AuditRecord::new("X", payload);
            let mut prepared = Prepared::of(&record, Vec::new())?;
            let hash = prepared
                .hash
                .finish(Some(GENESIS_HASH), prepared.timestamp.as_str());
            let mut line = std::mem::take(&mut prepared.line);
            line.extend_from_slice(
                format!(",\"prev_hash\":\"{GENESIS_HASH}\",\"hash\":\"{hash}\"}}").as_bytes(),
            );
            let back: AuditRecord = serde_json::from_slice(&line)?;
            assert_eq!(back, record.chained(GENESIS_HASH), "{}", record.payload());
            let Value::Object(object) = serde_json::from_slice(&line)? else {
                panic!("a line is an object");
            };
            assert_eq!(crate::chain::line_hash(&object), hash);
        }
        Ok(())
    }
}
