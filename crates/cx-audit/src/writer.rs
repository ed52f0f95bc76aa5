//! The writer thread behind [`crate::JsonlSink`]: group commit under a
//! cross-process lock, the validated head index, and checkpoints.
//!
//! Each batch: take the OS lock on the lock file, read the true head (the
//! index, trusted only when it matches the file), link and encode every
//! queued record into one buffer, `write` it, fsync per policy, rewrite the
//! index, release the lock, answer every caller.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::chain::{GENESIS_HASH, HashPrefix};
use crate::checkpoint::{CHECKPOINT_EVENT, Checkpoint, SigningKey};
use crate::error::{Error, ErrorKind};
use crate::jsonl::{
    Appended, FsyncPolicy, MAX_PAYLOAD_DEPTH, Repair, SinkOptions, day_file_name, day_files,
    day_of_file, nesting_exceeds, recover_tail,
};
use crate::record::{AuditRecord, rfc3339_millis};

/// The most messages one batch takes.
const MAX_BATCH: usize = 4096;

/// The index is rewritten in place as this many bytes (JSON, then spaces).
const INDEX_LEN: usize = 512;

/// Checkpoints after this many records when the options say 0.
const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;

/// A reply: the value, plus the checkpoint records written while serving the
/// message (for the witness).
pub(crate) type Ack<T> = oneshot::Sender<Result<(T, Vec<AuditRecord>), Error>>;

/// What callers queue for the writer thread.
pub(crate) enum Msg {
    /// Link and append one record.
    Append(Prepared, Ack<Appended>),
    /// Sync, and checkpoint what is not covered yet.
    Flush(Ack<()>),
    /// The head's hash.
    Head(Ack<String>),
}

/// A record made ready off the lock: its line up to `compliance_hash` and
/// the SHA-256 state of its canonical form up to `prev_hash`.
pub(crate) struct Prepared {
    day: NaiveDate,
    /// The JSON line without its closing `}`.
    line: Vec<u8>,
    hash: HashPrefix,
    timestamp: String,
}

impl Prepared {
    /// Check that `record` will read back, and encode and hash it.
    pub(crate) fn of(record: &AuditRecord) -> Result<Self, Error> {
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
        let mut unlinked = record.clone();
        unlinked.prev_hash = None;
        unlinked.hash = None;
        let mut line = serde_json::to_vec(&unlinked).map_err(|e| {
            Error::new(ErrorKind::Serialize, "cannot serialize audit record").with_source(e)
        })?;
        // `{"timestamp":…,"compliance_hash":"…"}`: the link goes before `}`.
        line.pop();
        Ok(Self {
            day: record.timestamp.date_naive(),
            line,
            hash: HashPrefix::of(record),
            timestamp: rfc3339_millis::text(&record.timestamp),
        })
    }
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
    /// The head as of the end of the last batch (validated at each batch).
    head: Head,
    /// The open file `head.file`, if open.
    current: Option<(String, File)>,
    /// Encoded lines not yet written to `current`.
    buffer: Vec<u8>,
    unsynced: u64,
    /// Whether this sink has checked the index against the directory.
    dir_checked: bool,
    repairs: Vec<Repair>,
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
        let lock_path = sidecar(".lock", ".audit.lock");
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| Error::io("cannot open audit lock file", &lock_path, e))?;
        let index_path = sidecar(".head", ".audit-head");
        let index = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&index_path)
            .map_err(|e| Error::io("cannot open the audit head index", &index_path, e))?;
        let mut writer = Self {
            index,
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
            buffer: Vec::new(),
            unsynced: 0,
            dir_checked: false,
            repairs: Vec::new(),
        };
        writer.locked(Self::load_head)?;
        let repairs = std::mem::take(&mut writer.repairs);
        Ok((writer, repairs))
    }

    /// Serve batches until every sender is gone, then close.
    pub(crate) fn serve(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        while let Some(first) = rx.blocking_recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(msg) => batch.push(msg),
                    Err(_) => break,
                }
            }
            self.run(batch);
        }
        // Closing: nobody to report to; `flush` is where errors are seen.
        let _ = self.locked(|w| {
            w.load_head()?;
            w.checkpoint_if_uncovered()?;
            w.commit(true)
        });
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
            self.buffer.clear();
        }
        out
    }

    fn run(&mut self, batch: Vec<Msg>) {
        let mut replies = Vec::with_capacity(batch.len());
        let outcome = self.locked(|w| {
            w.load_head()?;
            let mut force_sync = false;
            for msg in batch {
                match msg {
                    Msg::Append(prepared, ack) => {
                        let appended = w.append(prepared)?;
                        let mut made = Vec::new();
                        if w.key.is_some()
                            && w.head
                                .checkpoint
                                .as_ref()
                                .is_some_and(|c| c.uncovered >= w.every)
                        {
                            made.extend(w.checkpoint()?);
                        }
                        replies.push(Reply::Append(ack, appended, made));
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
        for reply in replies {
            reply.send(outcome.as_ref().map_err(copy_error));
        }
    }

    /// Write the buffer, sync as the policy (or `force`) says, rewrite the
    /// index.
    fn commit(&mut self, force: bool) -> Result<(), Error> {
        self.write_buffer()?;
        let due = force
            || match self.policy {
                FsyncPolicy::EveryRecord => self.unsynced > 0,
                FsyncPolicy::EveryN(n) => self.unsynced >= u64::from(n.max(1)),
                FsyncPolicy::OnClose => false,
            };
        if due {
            self.sync()?;
        }
        self.write_index()
    }

    fn write_buffer(&mut self) -> Result<(), Error> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.open_current()?;
        if let Some((name, file)) = &self.current {
            let mut file: &File = file;
            if let Err(e) = file.write_all(&self.buffer) {
                let path = self.path_of(name);
                return Err(Error::io("cannot append to audit file", &path, e));
            }
        }
        self.buffer.clear();
        Ok(())
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
            self.current = Some((name, file));
        }
        Ok(())
    }

    /// Make `self.head` the true head: the index if it matches the file,
    /// else the newest file's tail (repaired).
    fn load_head(&mut self) -> Result<(), Error> {
        let indexed = self.read_index();
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
        self.dir_checked = true;
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
        let mut hash = None;
        for (i, path) in files.iter().enumerate().rev() {
            let recovered = recover_tail(path)?;
            if i + 1 == files.len() {
                self.repairs.extend(recovered.repair);
            }
            if let Some(h) = recovered.last_hash {
                hash = Some(h);
                break;
            }
        }
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
    fn append(&mut self, mut prepared: Prepared) -> Result<Appended, Error> {
        if self.single.is_none() {
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
        } else if self.head.file.is_none() {
            self.head.file = self.single.as_ref().map(|p| name_of(p));
        }
        Ok(self.link(&mut prepared))
    }

    fn link(&mut self, prepared: &mut Prepared) -> Appended {
        let prev = std::mem::take(&mut self.head.hash);
        let hash = prepared.hash.finish(Some(&prev), &prepared.timestamp);
        let start = self.buffer.len();
        self.buffer.extend_from_slice(&prepared.line);
        self.buffer.extend_from_slice(b",\"prev_hash\":\"");
        self.buffer.extend_from_slice(prev.as_bytes());
        self.buffer.extend_from_slice(b"\",\"hash\":\"");
        self.buffer.extend_from_slice(hash.as_bytes());
        self.buffer.extend_from_slice(b"\"}\n");
        let len = (self.buffer.len() - start) as u64;
        let appended = Appended {
            path: self.path_of(self.head.file.as_deref().unwrap_or_default()),
            offset: self.head.len,
            len,
            hash: hash.clone(),
            prev_hash: prev,
        };
        self.head.len += len;
        self.head.hash = hash;
        self.head.records = self.head.records.map(|n| n + 1);
        if let Some(c) = &mut self.head.checkpoint {
            c.uncovered += 1;
        }
        self.unsynced += 1;
        appended
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
        let appended = self.link(&mut Prepared::of(&record)?);
        self.head.checkpoint = Some(CheckpointHead {
            hash: appended.hash.clone(),
            seq: previous.seq + 1,
            uncovered: 0,
        });
        Ok(vec![record.chained(&appended.prev_hash)])
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
        Ok(())
    }

    /// The index's head, if it holds one.
    fn read_index(&self) -> Option<Head> {
        let mut bytes = Vec::with_capacity(INDEX_LEN);
        let mut index = &self.index;
        index.seek(SeekFrom::Start(0)).ok()?;
        index.read_to_end(&mut bytes).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// A reply waiting for its batch's commit.
enum Reply {
    Append(Ack<Appended>, Appended, Vec<AuditRecord>),
    Flush(Ack<()>, Vec<AuditRecord>),
    Head(Ack<String>, String),
}

impl Reply {
    fn send(self, outcome: Result<&(), Error>) {
        // A caller that stopped waiting (cancelled) does not mind.
        match (self, outcome) {
            (Self::Append(ack, a, made), Ok(_)) => drop(ack.send(Ok((a, made)))),
            (Self::Flush(ack, made), Ok(_)) => drop(ack.send(Ok(((), made)))),
            (Self::Head(ack, hash), Ok(_)) => drop(ack.send(Ok((hash, Vec::new())))),
            (Self::Append(ack, ..), Err(e)) => drop(ack.send(Err(e))),
            (Self::Flush(ack, _), Err(e)) => drop(ack.send(Err(e))),
            (Self::Head(ack, _), Err(e)) => drop(ack.send(Err(e))),
        }
    }
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
