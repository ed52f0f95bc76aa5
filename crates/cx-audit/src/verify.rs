//! Reading audit files back and proving them intact.
//!
//! [`verify_file`] checks one JSONL file, [`verify_dir`] every day file of a
//! directory as one chain. For each line they check, in order:
//!
//! 1. it parses as an [`AuditRecord`] — else [`ProblemKind::Parse`], or
//!    [`ProblemKind::Truncated`] for a last line without its newline (a
//!    write cut short by a crash);
//! 2. `compliance_hash` is the hash of `payload` — else
//!    [`ProblemKind::HashMismatch`] (payload edited);
//! 3. it carries `prev_hash` and `hash` — else [`ProblemKind::Unchained`];
//! 4. `hash` is the hash of the line without `hash` ([`crate::chain::line_hash`])
//!    — else [`ProblemKind::RecordEdited`];
//! 5. `prev_hash` is the previous line's `hash` — else, depending on where
//!    the expected record is: [`ProblemKind::Reordered`] (it is elsewhere in
//!    the file), [`ProblemKind::Removed`] (it is nowhere),
//!    [`ProblemKind::ChainBreakAcrossDays`] (first line of a day file that
//!    does not follow the previous file's last line: a day file removed or
//!    replaced), or [`ProblemKind::MissingStart`] (the directory's first
//!    record is not the chain's first: earlier files removed).
//!
//! Every line is checked (a bad line does not stop the scan); the report
//! counts bad lines and keeps the first problem with its 1-based line number.
//! An edited line breaks only its own hash: the next line still links to the
//! hash stored in it, so exactly the edited line is reported.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::chain::{GENESIS_HASH, line_hash};
use crate::checkpoint::{Anchor, CHECKPOINT_EVENT, Checkpoint, VerifyingKey};
use crate::error::{Error, ErrorKind};
use crate::jsonl::{Appended, day_files, day_of_file, read_range, rfind_newline};
use crate::record::AuditRecord;

/// Read every record of a JSONL audit file, in file order.
///
/// Blocking; from async code call it inside `tokio::task::spawn_blocking`.
/// Records are returned as stored: use [`verify_file`] to check them.
///
/// # Errors
///
/// [`ErrorKind::Io`] when the file cannot be opened or read;
/// [`ErrorKind::Parse`] with the 1-based line number of the first line that is
/// not a valid record (empty lines included).
pub fn read_jsonl(path: impl AsRef<Path>) -> Result<Vec<AuditRecord>, Error> {
    let path = path.as_ref();
    let mut records = Vec::new();
    for_each_line(path, |line, bytes, _| {
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

/// The outcome of verifying one audit file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyReport {
    /// The file that was checked.
    pub path: PathBuf,
    /// Lines read (every line, good or bad).
    pub lines: usize,
    /// Lines that parsed as an [`AuditRecord`] (whether or not they verified).
    pub records: usize,
    /// Lines with a problem.
    pub bad_lines: usize,
    /// The first bad line, if any.
    pub first_problem: Option<Problem>,
    /// The `hash` stored in the file's last chained record: where the next
    /// file's chain must continue from.
    pub last_hash: Option<String>,
    /// The checkpoint records in the file, in file order (their signatures
    /// are checked by [`verify_dir_with`] given a key).
    pub checkpoints: Vec<FoundCheckpoint>,
}

/// A checkpoint record found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FoundCheckpoint {
    /// Its 1-based line.
    pub line: usize,
    /// Its chain `hash`.
    pub hash: String,
    /// Its `prev_hash`: the record it follows.
    pub prev_hash: String,
    /// Its payload.
    pub checkpoint: Checkpoint,
}

impl VerifyReport {
    /// True when every line parsed, every hash matched and the chain is whole.
    pub fn is_ok(&self) -> bool {
        self.first_problem.is_none()
    }

    /// Count one more bad line, keeping the earliest as the first problem.
    fn add_problem(&mut self, problem: Problem) {
        self.bad_lines += 1;
        if self
            .first_problem
            .as_ref()
            .is_none_or(|p| problem.line < p.line)
        {
            self.first_problem = Some(problem);
        }
    }
}

/// A bad line found by verification.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// 1-based line number in the file.
    pub line: usize,
    /// What is wrong with it.
    pub kind: ProblemKind,
}

/// What is wrong with a line (see the [module docs](self) for the order of
/// checks).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The line is not a valid [`AuditRecord`] (bad JSON, a missing member,
    /// a bad timestamp, ...).
    Parse {
        /// The parser's message.
        message: String,
    },
    /// The last line has no newline and is not a record: a write cut short.
    Truncated {
        /// Its length in bytes.
        bytes: usize,
    },
    /// The stored `compliance_hash` is not the hash of the stored `payload`.
    HashMismatch {
        /// The hash stored in the line.
        stored: String,
        /// The hash of the payload as it is now.
        computed: String,
    },
    /// The stored `hash` is not the hash of the line: its timestamp, event
    /// type, link or hash was edited.
    RecordEdited {
        /// The `hash` stored in the line.
        stored: String,
        /// The hash of the line as it is now.
        computed: String,
    },
    /// The record has no `prev_hash`/`hash`: not written by a chaining sink.
    Unchained,
    /// `prev_hash` names a record that is not in the file: records were
    /// removed before this line.
    Removed {
        /// The hash the previous line carries.
        expected: String,
        /// The `prev_hash` of this line.
        found: String,
    },
    /// `prev_hash` names a record found elsewhere in the file: lines were
    /// moved.
    Reordered {
        /// The 1-based line holding the record this one claims to follow.
        follows_line: usize,
    },
    /// The first line of a day file does not follow the last record of the
    /// previous day file: a day file was removed or replaced.
    ChainBreakAcrossDays {
        /// The previous file in the directory.
        previous_file: PathBuf,
        /// The hash of that file's last record.
        expected: String,
        /// The `prev_hash` of this line.
        found: String,
    },
    /// The directory's first record does not start the chain
    /// ([`GENESIS_HASH`]): earlier files were removed.
    MissingStart {
        /// The `prev_hash` of this line.
        found: String,
    },
    /// A checkpoint that does not hold (checked with a public key): a bad
    /// signature, another file's or day's checkpoint, a wrong line count or
    /// head, or a gap in the checkpoints.
    Checkpoint {
        /// What does not hold, one line.
        reason: String,
    },
    /// Records after the last signed checkpoint (checked with a public
    /// key): appended by someone without the key, or by a writer that has
    /// not flushed or closed yet, or that crashed (the next writer's close
    /// covers them).
    Unsigned {
        /// How many.
        records: usize,
    },
}

impl ProblemKind {
    /// A one-word (or few-word) category: `invalid`, `truncated`, `edited`,
    /// `unchained`, `removed`, `reordered`, `chain break across days`,
    /// `missing start`, `bad checkpoint`, `unsigned`.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Parse { .. } => "invalid",
            Self::Truncated { .. } => "truncated",
            Self::HashMismatch { .. } | Self::RecordEdited { .. } => "edited",
            Self::Unchained => "unchained",
            Self::Removed { .. } => "removed",
            Self::Reordered { .. } => "reordered",
            Self::ChainBreakAcrossDays { .. } => "chain break across days",
            Self::MissingStart { .. } => "missing start",
            Self::Checkpoint { .. } => "bad checkpoint",
            Self::Unsigned { .. } => "unsigned",
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}: ", self.line, self.kind.category())?;
        match &self.kind {
            ProblemKind::Parse { message } => write!(f, "not a valid audit record: {message}"),
            ProblemKind::Truncated { bytes } => write!(
                f,
                "the last line is a partial record ({bytes} bytes without a newline)"
            ),
            ProblemKind::HashMismatch { stored, computed } => write!(
                f,
                "payload changed (stored compliance hash {stored}, payload hashes to {computed})"
            ),
            ProblemKind::RecordEdited { stored, computed } => write!(
                f,
                "record changed (stored hash {stored}, record hashes to {computed})"
            ),
            ProblemKind::Unchained => f.write_str("no prev_hash/hash members"),
            ProblemKind::Removed { expected, found } => write!(
                f,
                "records missing before this line (it follows {found}, the line before is {expected})"
            ),
            ProblemKind::Reordered { follows_line } => write!(
                f,
                "this record follows line {follows_line}, not the line before it"
            ),
            ProblemKind::ChainBreakAcrossDays {
                previous_file,
                expected,
                found,
            } => write!(
                f,
                "the first record follows {found}, but {} ends with {expected} (a day file removed or replaced)",
                previous_file.display()
            ),
            ProblemKind::MissingStart { found } => write!(
                f,
                "the first record follows {found}, not the start of the chain (earlier files removed)"
            ),
            ProblemKind::Checkpoint { reason } => f.write_str(reason),
            ProblemKind::Unsigned { records } => write!(
                f,
                "{records} records from this line on are not covered by a signed checkpoint (forged, or a writer has not closed yet)"
            ),
        }
    }
}

/// What the first line of a file must follow.
enum Start<'a> {
    /// Anything (a file checked on its own).
    Any,
    /// The start of the chain.
    Genesis,
    /// The last record of the previous file.
    After(&'a Path, &'a str),
}

/// Check every line of one JSONL audit file: parse, compliance hash, record
/// hash, and that each record links to the line before. The first line may
/// follow anything (use [`verify_dir`] to check links between day files).
///
/// Blocking, like [`read_jsonl`].
///
/// # Errors
///
/// [`ErrorKind::Io`] when the file cannot be opened or read. Bad content is
/// not an error; it is in the report.
pub fn verify_file(path: impl AsRef<Path>) -> Result<VerifyReport, Error> {
    verify_chain(path.as_ref(), &Start::Any)
}

/// Verify every `audit-YYYYMMDD.jsonl` file directly in `dir` as one chain,
/// oldest day first: each file as [`verify_file`] does, plus that the first
/// file starts the chain and each later file's first record follows the
/// previous file's last. One report per file, in day order.
///
/// # Errors
///
/// [`ErrorKind::Io`] when the directory or one of the files cannot be read.
pub fn verify_dir(dir: impl AsRef<Path>) -> Result<Vec<VerifyReport>, Error> {
    let mut reports: Vec<VerifyReport> = Vec::new();
    for path in day_files(dir.as_ref())? {
        let previous = reports
            .iter()
            .rev()
            .find_map(|r| r.last_hash.as_deref().map(|h| (r.path.as_path(), h)));
        let start = match previous {
            None => Start::Genesis,
            Some((file, hash)) => Start::After(file, hash),
        };
        let report = verify_chain(&path, &start)?;
        reports.push(report);
    }
    Ok(reports)
}

/// What [`verify_dir_with`] checks beyond the chain.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// The checkpoint signer's public key. Without it only accidental
    /// damage can be detected: whoever can write the files can rewrite them
    /// and recompute every hash.
    pub public_key: Option<VerifyingKey>,
    /// A head printed earlier by `cx audit head`: the log must reach it.
    pub expect_head: Option<Anchor>,
}

cx_http::with_setters! { VerifyOptions {
    /// Check checkpoints against `public_key` ([`VerifyOptions::public_key`]).
    with_public_key(public_key: VerifyingKey) = Some(public_key);
    /// Require the log to reach `expect_head` ([`VerifyOptions::expect_head`]).
    with_expect_head(expect_head: Anchor) = Some(expect_head);
}}

/// The outcome of [`verify_dir_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirReport {
    /// One report per day file, oldest first; checkpoint problems are in
    /// them as [`ProblemKind::Checkpoint`] and [`ProblemKind::Unsigned`].
    pub files: Vec<VerifyReport>,
    /// Records that are not checkpoints.
    pub records: usize,
    /// Checkpoint records.
    pub checkpoints: usize,
    /// Whether signatures were checked (a public key was given).
    pub signed: bool,
    /// Why the log does not reach the expected head, if it does not.
    pub head_problem: Option<String>,
}

impl DirReport {
    /// The report of one file checked on its own ([`verify_file`]).
    pub fn from_file(file: VerifyReport) -> Self {
        let checkpoints = file.checkpoints.len();
        Self {
            records: file.records - checkpoints,
            checkpoints,
            files: vec![file],
            signed: false,
            head_problem: None,
        }
    }

    /// True when every file is intact and the expected head (if any) is
    /// there.
    pub fn is_ok(&self) -> bool {
        self.files.iter().all(VerifyReport::is_ok) && self.head_problem.is_none()
    }
}

/// [`verify_dir`], and with a public key every checkpoint: its signature,
/// that it sits in the file and day it names after exactly the number of
/// lines it counts and right after the head it signs, that it follows the
/// previous checkpoint, and that no record comes after the last one. With an
/// expected head, that the log holds that checkpoint.
///
/// What each check catches is in the crate's tamper suite
/// (`tests/it/tamper.rs`).
///
/// # Errors
///
/// [`ErrorKind::Io`] when the directory or one of the files cannot be read.
pub fn verify_dir_with(dir: impl AsRef<Path>, options: &VerifyOptions) -> Result<DirReport, Error> {
    let mut files = verify_dir(dir)?;
    let checkpoints: usize = files.iter().map(|f| f.checkpoints.len()).sum();
    let all: usize = files.iter().map(|f| f.records).sum();
    if let Some(key) = &options.public_key {
        check_checkpoints(&mut files, key);
    }
    let head_problem = options.expect_head.as_ref().and_then(|anchor| {
        let found = files
            .iter()
            .flat_map(|f| &f.checkpoints)
            .find(|c| c.hash == anchor.hash);
        let cp = &anchor.checkpoint;
        let signed = options.public_key.as_ref().is_none_or(|k| cp.is_signed_by(k));
        match found {
            _ if !signed => Some(format!(
                "the expected head (checkpoint {} of {}) is not signed by the given public key",
                cp.seq,
                cp.file.escape_debug()
            )),
            Some(found) if found.checkpoint == *cp => None,
            Some(_) => Some(format!(
                "checkpoint {} in {} differs from the expected head",
                cp.seq,
                cp.file.escape_debug()
            )),
            None => Some(format!(
                "the log ends before the expected head: checkpoint {} of {} after {} lines is missing (records cut off, or the newest day files deleted)",
                cp.seq,
                cp.file.escape_debug(),
                cp.records
            )),
        }
    });
    Ok(DirReport {
        files,
        records: all - checkpoints,
        checkpoints,
        signed: options.public_key.is_some(),
        head_problem,
    })
}

/// The signed pass of [`verify_dir_with`]: adds checkpoint problems to the
/// reports.
fn check_checkpoints(files: &mut [VerifyReport], key: &VerifyingKey) {
    let mut previous = (GENESIS_HASH.to_owned(), 0u64);
    // (file index, line) of the last checkpoint.
    let mut covered: Option<(usize, usize)> = None;
    for (index, report) in files.iter_mut().enumerate() {
        let name = report
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let day = day_of_file(&report.path);
        let mut problems = Vec::new();
        for found in &report.checkpoints {
            let cp = &found.checkpoint;
            let reason = if !cp.is_signed_by(key) {
                Some(if cp.key == key.to_hex() {
                    "the checkpoint's signature does not verify (it was edited or forged)"
                        .to_owned()
                } else {
                    format!(
                        "the checkpoint is signed by another key ({})",
                        cp.key.escape_debug()
                    )
                })
            } else if cp.file != name || Some(cp.day) != day {
                Some(format!(
                    "the checkpoint is for {} ({}) but is in {name} (a day file renamed or moved)",
                    cp.file.escape_debug(),
                    cp.day
                ))
            } else if usize::try_from(cp.records).ok() != Some(found.line - 1) {
                Some(format!(
                    "the checkpoint counts {} lines before it, the file has {} (lines removed or inserted)",
                    cp.records,
                    found.line - 1
                ))
            } else if cp.head != found.prev_hash {
                Some(format!(
                    "the checkpoint signs head {} but follows {} (records before it were rewritten and re-linked)",
                    cp.head, found.prev_hash
                ))
            } else if cp.prev_checkpoint != previous.0 || cp.seq != previous.1 + 1 {
                Some(format!(
                    "checkpoint {} follows checkpoint {}, but the previous checkpoint in the log is {} ({}) (a checkpoint or a day file removed)",
                    cp.seq, cp.prev_checkpoint, previous.1, previous.0
                ))
            } else {
                None
            };
            if let Some(reason) = reason {
                problems.push(Problem {
                    line: found.line,
                    kind: ProblemKind::Checkpoint { reason },
                });
            }
            previous = (found.hash.clone(), cp.seq);
            covered = Some((index, found.line));
        }
        for problem in problems {
            report.add_problem(problem);
        }
    }
    // Records after the last checkpoint, wherever they are.
    let (start_file, start_line) = match covered {
        Some((file, line)) => (file, line + 1),
        None => (0, 1),
    };
    let mut first = None;
    let mut count = 0;
    for (index, report) in files.iter().enumerate().skip(start_file) {
        let from = if index == start_file { start_line } else { 1 };
        if report.lines >= from {
            count += report.lines + 1 - from;
            first.get_or_insert((index, from));
        }
    }
    if let Some((index, line)) = first {
        files[index].add_problem(Problem {
            line,
            kind: ProblemKind::Unsigned { records: count },
        });
    }
}

/// The newest checkpoint in the day files of `dir` as an [`Anchor`] (what
/// `cx audit head` prints), reading files newest first until one has a
/// checkpoint; `None` when there is none. Signatures are not checked here.
///
/// # Errors
///
/// [`ErrorKind::Io`] when a file cannot be read; [`ErrorKind::Parse`] for a
/// line that is not a record.
pub fn latest_anchor(dir: impl AsRef<Path>) -> Result<Option<Anchor>, Error> {
    for path in day_files(dir.as_ref())?.iter().rev() {
        let found = read_jsonl(path)?.into_iter().rev().find_map(|record| {
            let checkpoint = (record.event_type == CHECKPOINT_EVENT)
                .then(|| Checkpoint::from_payload(record.payload()))??;
            Some(Anchor {
                hash: record.hash?,
                checkpoint,
            })
        });
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// A problem [`verify_appended`] found in a line a writer appended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendedProblem {
    /// The file.
    pub path: PathBuf,
    /// Byte offset of the line.
    pub offset: u64,
    /// What is wrong.
    pub kind: ProblemKind,
}

impl std::fmt::Display for AppendedProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let problem = Problem {
            line: 0,
            kind: self.kind.clone(),
        }
        .to_string();
        let text = problem.strip_prefix("line 0: ").unwrap_or(&problem);
        write!(f, "{} at byte {}: {text}", self.path.display(), self.offset)
    }
}

/// Incremental verification: check only the lines `appended` (as returned
/// by [`crate::JsonlSink::append`]) and their links, reading each line and
/// the line before it by offset. Its cost depends on what was appended, not
/// on the size of the files. Each line must be there, whole, verify as
/// [`verify_file`] checks a line, carry the hash the writer reported, and
/// follow the line before it (for a file's first line, the previous day
/// file's last record, or the start of the chain).
///
/// Blocking, like [`read_jsonl`].
///
/// # Errors
///
/// [`ErrorKind::Io`] when a file cannot be read.
pub fn verify_appended(appended: &[Appended]) -> Result<Vec<AppendedProblem>, Error> {
    let mut problems = Vec::new();
    let mut open: HashMap<PathBuf, File> = HashMap::new();
    for a in appended {
        if !open.contains_key(&a.path) {
            let file =
                File::open(&a.path).map_err(|e| Error::io("cannot open audit file", &a.path, e))?;
            open.insert(a.path.clone(), file);
        }
        let Some(file) = open.get_mut(&a.path) else {
            continue;
        };
        let io = |e| Error::io("cannot read audit file", &a.path, e);
        let len = file.metadata().map_err(io)?.len();
        let problem = |kind| AppendedProblem {
            path: a.path.clone(),
            offset: a.offset,
            kind,
        };
        if a.offset + a.len > len {
            problems.push(problem(ProblemKind::Removed {
                expected: a.hash.clone(),
                found: format!("a file of {len} bytes"),
            }));
            continue;
        }
        let bytes = read_range(file, a.offset, a.offset + a.len).map_err(io)?;
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let checked = check_line(line, bytes.ends_with(b"\n"), &mut 0);
        let stored = checked.link.as_ref().map(|(_, h)| h.as_str());
        if let Some(kind) = checked.problem {
            problems.push(problem(kind));
            continue;
        }
        if stored != Some(a.hash.as_str()) {
            problems.push(problem(ProblemKind::RecordEdited {
                stored: stored.unwrap_or_default().to_owned(),
                computed: a.hash.clone(),
            }));
            continue;
        }
        let expected = previous_hash(file, &a.path, a.offset)?;
        let found = checked.link.map(|(p, _)| p).unwrap_or_default();
        if expected != found {
            problems.push(problem(ProblemKind::Removed { expected, found }));
        }
    }
    Ok(problems)
}

/// The `hash` of the record before byte `offset` of `path`: the line ending
/// there, or the last record of the previous day file, or [`GENESIS_HASH`].
fn previous_hash(file: &mut File, path: &Path, offset: u64) -> Result<String, Error> {
    let io = |e| Error::io("cannot read audit file", path, e);
    if offset > 0 {
        let start = rfind_newline(file, offset - 1)
            .map_err(io)?
            .map_or(0, |p| p + 1);
        let line = read_range(file, start, offset - 1).map_err(io)?;
        return Ok(stored_hash(&line));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    if day_of_file(path).is_none() {
        return Ok(GENESIS_HASH.to_owned());
    }
    let earlier = day_files(dir)?.into_iter().filter(|p| p.as_path() < path);
    for previous in earlier.rev() {
        let mut file =
            File::open(&previous).map_err(|e| Error::io("cannot open audit file", &previous, e))?;
        let len = file.metadata().map_err(io)?.len();
        let Some(end) = rfind_newline(&mut file, len).map_err(io)? else {
            continue;
        };
        let start = rfind_newline(&mut file, end)
            .map_err(io)?
            .map_or(0, |p| p + 1);
        let line = read_range(&mut file, start, end).map_err(io)?;
        return Ok(stored_hash(&line));
    }
    Ok(GENESIS_HASH.to_owned())
}

/// The `hash` member of a line, or a description of why there is none.
fn stored_hash(line: &[u8]) -> String {
    serde_json::from_slice::<AuditRecord>(line)
        .ok()
        .and_then(|r| r.hash)
        .unwrap_or_else(|| "(no record)".to_owned())
}

/// One line as the first pass sees it.
struct Entry {
    line: usize,
    /// `(prev_hash, hash)` as stored, for chained records.
    link: Option<(String, String)>,
    problem: Option<ProblemKind>,
    checkpoint: Option<Checkpoint>,
}

fn verify_chain(path: &Path, start: &Start<'_>) -> Result<VerifyReport, Error> {
    let mut entries = Vec::new();
    let mut records = 0;
    for_each_line(path, |line, bytes, terminated| {
        let checked = check_line(bytes, terminated, &mut records);
        entries.push(Entry {
            line,
            link: checked.link,
            problem: checked.problem,
            checkpoint: checked.checkpoint,
        });
        Ok(())
    })?;
    // Where each stored hash is, to tell a reordered line from a removed one.
    let positions: HashMap<&str, usize> = entries
        .iter()
        .filter_map(|e| e.link.as_ref().map(|(_, hash)| (hash.as_str(), e.line)))
        .collect();
    let mut link_problems = Vec::new();
    let mut previous: Option<Option<&str>> = None;
    for entry in &entries {
        let stored = entry.link.as_ref().map(|(_, h)| h.as_str());
        if let Some((prev, _)) = &entry.link {
            let problem = match previous {
                // First line of the file.
                None => match start {
                    Start::Any => None,
                    Start::Genesis => (prev != GENESIS_HASH).then(|| ProblemKind::MissingStart {
                        found: prev.clone(),
                    }),
                    Start::After(file, hash) => {
                        (prev != hash).then(|| ProblemKind::ChainBreakAcrossDays {
                            previous_file: file.to_path_buf(),
                            expected: (*hash).to_owned(),
                            found: prev.clone(),
                        })
                    }
                },
                // The line before could not be read: nothing to compare with.
                Some(None) => None,
                Some(Some(expected)) if expected == prev => None,
                Some(Some(expected)) => Some(match positions.get(prev.as_str()) {
                    Some(&follows_line) => ProblemKind::Reordered { follows_line },
                    None => ProblemKind::Removed {
                        expected: expected.to_owned(),
                        found: prev.clone(),
                    },
                }),
            };
            if let Some(kind) = problem {
                link_problems.push((entry.line, kind));
            }
        }
        previous = Some(stored);
    }

    let mut problems: Vec<(usize, ProblemKind)> = entries
        .iter()
        .filter_map(|e| e.problem.clone().map(|k| (e.line, k)))
        .collect();
    for (line, kind) in link_problems {
        // A line with its own problem is reported once, for that.
        if !problems.iter().any(|(l, _)| *l == line) {
            problems.push((line, kind));
        }
    }
    problems.sort_by_key(|(line, _)| *line);
    let last_hash = entries
        .iter()
        .rev()
        .find_map(|e| e.link.as_ref().map(|(_, h)| h.clone()));
    let checkpoints = entries
        .iter()
        .filter_map(|e| {
            let (prev_hash, hash) = e.link.clone()?;
            Some(FoundCheckpoint {
                line: e.line,
                hash,
                prev_hash,
                checkpoint: e.checkpoint.clone()?,
            })
        })
        .collect();
    Ok(VerifyReport {
        checkpoints,
        path: path.to_path_buf(),
        lines: entries.len(),
        records,
        bad_lines: problems.len(),
        first_problem: problems
            .into_iter()
            .next()
            .map(|(line, kind)| Problem { line, kind }),
        last_hash,
    })
}

/// What [`check_line`] found in one line.
struct Checked {
    /// `(prev_hash, hash)` as stored, for chained records.
    link: Option<(String, String)>,
    problem: Option<ProblemKind>,
    /// The payload, for a checkpoint record.
    checkpoint: Option<Checkpoint>,
}

/// Checks 1–4 of the module docs for one line: its stored link (if chained)
/// and its own problem (if any).
fn check_line(bytes: &[u8], terminated: bool, records: &mut usize) -> Checked {
    let parsed = serde_json::from_slice::<Value>(bytes).and_then(|value| {
        let record = serde_json::from_value::<AuditRecord>(value.clone())?;
        Ok((value, record))
    });
    let (value, record) = match parsed {
        Ok(ok) => ok,
        Err(e) => {
            let problem = if terminated {
                ProblemKind::Parse {
                    message: e.to_string(),
                }
            } else {
                ProblemKind::Truncated { bytes: bytes.len() }
            };
            return Checked {
                link: None,
                problem: Some(problem),
                checkpoint: None,
            };
        }
    };
    *records += 1;
    let link = record.prev_hash.clone().zip(record.hash.clone());
    let checkpoint = (record.event_type == CHECKPOINT_EVENT)
        .then(|| Checkpoint::from_payload(record.payload()))
        .flatten();
    let computed = crate::canonical::compliance_hash(record.payload());
    let problem = if computed != record.compliance_hash {
        Some(ProblemKind::HashMismatch {
            stored: record.compliance_hash,
            computed,
        })
    } else if let (Some((_, stored)), Value::Object(object)) = (&link, &value) {
        let computed = line_hash(object);
        (&computed != stored).then(|| ProblemKind::RecordEdited {
            stored: stored.clone(),
            computed,
        })
    } else {
        Some(ProblemKind::Unchained)
    };
    Checked {
        link,
        problem,
        checkpoint,
    }
}

/// Call `f(line_number, line, terminated)` for each line of `path`, without
/// the line ending (`\n` or `\r\n`); `terminated` is false for a last line
/// without a newline.
fn for_each_line(
    path: &Path,
    mut f: impl FnMut(usize, &[u8], bool) -> Result<(), Error>,
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
        let terminated = match bytes.strip_suffix(b"\n") {
            Some(rest) => {
                bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
                true
            }
            None => false,
        };
        f(line, bytes, terminated)?;
    }
}
