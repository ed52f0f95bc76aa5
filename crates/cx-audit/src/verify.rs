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
use crate::error::{Error, ErrorKind};
use crate::jsonl::day_files;
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
}

impl VerifyReport {
    /// True when every line parsed, every hash matched and the chain is whole.
    pub fn is_ok(&self) -> bool {
        self.first_problem.is_none()
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
}

impl ProblemKind {
    /// A one-word (or few-word) category: `invalid`, `truncated`, `edited`,
    /// `unchained`, `removed`, `reordered`, `chain break across days`,
    /// `missing start`.
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

/// One line as the first pass sees it.
struct Entry {
    line: usize,
    /// `(prev_hash, hash)` as stored, for chained records.
    link: Option<(String, String)>,
    problem: Option<ProblemKind>,
}

fn verify_chain(path: &Path, start: &Start<'_>) -> Result<VerifyReport, Error> {
    let mut entries = Vec::new();
    let mut records = 0;
    for_each_line(path, |line, bytes, terminated| {
        let (link, problem) = check_line(bytes, terminated, &mut records);
        entries.push(Entry {
            line,
            link,
            problem,
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
    Ok(VerifyReport {
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

/// Checks 1–4 of the module docs for one line: its stored link (if chained)
/// and its own problem (if any).
fn check_line(
    bytes: &[u8],
    terminated: bool,
    records: &mut usize,
) -> (Option<(String, String)>, Option<ProblemKind>) {
    let parsed = serde_json::from_slice::<Value>(bytes).and_then(|value| {
        let record = serde_json::from_value::<AuditRecord>(value.clone())?;
        Ok((value, record))
    });
    let (value, record) = match parsed {
        Ok(ok) => ok,
        Err(_) if !terminated => {
            return (None, Some(ProblemKind::Truncated { bytes: bytes.len() }));
        }
        Err(e) => {
            return (
                None,
                Some(ProblemKind::Parse {
                    message: e.to_string(),
                }),
            );
        }
    };
    *records += 1;
    let link = record.prev_hash.clone().zip(record.hash.clone());
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
    (link, problem)
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
