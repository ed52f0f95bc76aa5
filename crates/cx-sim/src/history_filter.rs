//! The filter grammar of the interaction-history query (seed 003), as the
//! simulator parses it.
//!
//! Seed 003 writes filters such as
//! `interactionId IN ['a', 'b'] AND nodeTimestamp >= '2024-05-01T10:00:00Z' AND errorState = True`.
//! The grammar this parser accepts:
//!
//! ```text
//! filter     := condition ("AND" condition)*
//! condition  := "interactionId" "IN" "[" string ("," string)* "]"
//!             | "interactionId" "STARTSWITH" string
//!             | "nodeTimestamp" op string          -- RFC 3339 with a zone
//!             | "errorState" "=" bool
//! op         := ">=" | "<=" | ">" | "<" | "="
//! bool       := "True" | "False" | "true" | "false"
//! string     := "'" (char | "\'" | "\\")* "'"
//! ```
//!
//! Keywords (`AND`, `IN`, `STARTSWITH`) are case-insensitive; field names are
//! exact. Inside a string a backslash escapes `'` or `\` and nothing else,
//! so any id, however written, is one string token. `STARTSWITH` is our
//! extension beyond the seed: it addresses the synthetic load-test sets
//! (`interactionId STARTSWITH 'syn-'`) without listing 100,000 ids.
//!
//! A filter must select interactions (`interactionId IN` or `STARTSWITH`).
//! Errors carry the byte offset and the text of the offending token.

use std::fmt;

use chrono::{DateTime, Utc};

/// A comparison operator of a `nodeTimestamp` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `>=`
    Ge,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `=`
    Eq,
}

impl CmpOp {
    /// Whether `left op right` holds.
    pub fn holds<T: Ord>(self, left: &T, right: &T) -> bool {
        match self {
            CmpOp::Ge => left >= right,
            CmpOp::Le => left <= right,
            CmpOp::Gt => left > right,
            CmpOp::Lt => left < right,
            CmpOp::Eq => left == right,
        }
    }
}

/// One condition of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `interactionId IN [...]`, the ids in the order written.
    IdIn(Vec<String>),
    /// `interactionId STARTSWITH '...'`.
    IdStartsWith(String),
    /// `nodeTimestamp op '...'`, compared with each step's `startTime`.
    Timestamp {
        /// The operator.
        op: CmpOp,
        /// The instant, in UTC.
        at: DateTime<Utc>,
        /// Byte offset of the timestamp string in the filter (for errors).
        position: usize,
    },
    /// `errorState = True|False`.
    ErrorState(bool),
}

/// A parsed filter: conditions joined by `AND`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The conditions, in the order written.
    pub conditions: Vec<Condition>,
}

impl Filter {
    /// Whether `id` satisfies every interaction-id condition.
    pub fn selects_id(&self, id: &str) -> bool {
        self.conditions.iter().all(|c| match c {
            Condition::IdIn(ids) => ids.iter().any(|x| x == id),
            Condition::IdStartsWith(p) => id.starts_with(p.as_str()),
            _ => true,
        })
    }

    /// Whether any condition is about steps (`nodeTimestamp`,
    /// `errorState`); without one, every step is selected.
    pub fn has_step_conditions(&self) -> bool {
        self.conditions
            .iter()
            .any(|c| matches!(c, Condition::Timestamp { .. } | Condition::ErrorState(_)))
    }

    /// Whether a step starting at `start` with `error_state` satisfies every
    /// step condition.
    pub fn selects_step(&self, start: &DateTime<Utc>, error_state: bool) -> bool {
        self.conditions.iter().all(|c| match c {
            Condition::Timestamp { op, at, .. } => op.holds(start, at),
            Condition::ErrorState(want) => *want == error_state,
            _ => true,
        })
    }
}

/// Why a filter did not parse: what, and where (byte offset and token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// Byte offset of the offending token in the filter.
    pub position: usize,
    /// The offending lexeme as written (empty at the end of the input).
    pub lexeme: String,
    /// What was wrong, without the position.
    pub message: String,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lexeme.is_empty() {
            write!(f, "{} at offset {}", self.message, self.position)
        } else {
            write!(
                f,
                "{} at offset {} (token `{}`)",
                self.message, self.position, self.lexeme
            )
        }
    }
}

impl std::error::Error for FilterError {}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Word(String),
    Str(String),
    Op(&'static str),
    Open,
    Close,
    Comma,
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    start: usize,
    text: String,
}

fn err(position: usize, token: &str, message: impl Into<String>) -> FilterError {
    FilterError {
        position,
        lexeme: token.to_owned(),
        message: message.into(),
    }
}

fn tokenize(input: &str) -> Result<Vec<Token>, FilterError> {
    let mut out = Vec::new();
    let mut chars = input.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let simple = |tok: Tok, len: usize| Token {
            tok,
            start,
            text: input[start..start + len].to_owned(),
        };
        match c {
            '[' | ']' | ',' => {
                chars.next();
                let tok = match c {
                    '[' => Tok::Open,
                    ']' => Tok::Close,
                    _ => Tok::Comma,
                };
                out.push(simple(tok, 1));
            }
            '>' | '<' | '=' => {
                chars.next();
                let with_eq = c != '=' && matches!(chars.peek(), Some(&(_, '=')));
                if with_eq {
                    chars.next();
                }
                let op = match (c, with_eq) {
                    ('>', true) => ">=",
                    ('<', true) => "<=",
                    ('>', false) => ">",
                    ('<', false) => "<",
                    _ => "=",
                };
                out.push(simple(Tok::Op(op), op.len()));
            }
            '\'' => {
                chars.next();
                let mut value = String::new();
                let mut closed = false;
                while let Some((i, ch)) = chars.next() {
                    match ch {
                        '\'' => {
                            out.push(Token {
                                tok: Tok::Str(std::mem::take(&mut value)),
                                start,
                                text: input[start..=i].to_owned(),
                            });
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, e @ ('\'' | '\\'))) => value.push(e),
                            Some((j, other)) => {
                                return Err(err(
                                    i,
                                    &input[i..j + other.len_utf8()],
                                    "invalid escape in string (only \\' and \\\\ are allowed)",
                                ));
                            }
                            None => break,
                        },
                        other => value.push(other),
                    }
                }
                if !closed {
                    return Err(err(
                        start,
                        &input[start..],
                        "unterminated string (missing closing ')",
                    ));
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = start;
                while let Some(&(i, ch)) = chars.peek() {
                    if ch.is_ascii_alphanumeric() || ch == '_' {
                        end = i + ch.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = &input[start..end];
                out.push(Token {
                    tok: Tok::Word(word.to_owned()),
                    start,
                    text: word.to_owned(),
                });
            }
            other => {
                return Err(err(
                    start,
                    &other.to_string(),
                    format!("unexpected character {other:?}"),
                ));
            }
        }
    }
    out.push(Token {
        tok: Tok::End,
        start: input.len(),
        text: String::new(),
    });
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // `tokenize` always ends with `End`, and `next` never moves past it.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.at += 1;
        }
        t
    }

    fn unexpected(t: &Token, expected: &str) -> FilterError {
        if t.tok == Tok::End {
            err(
                t.start,
                "",
                format!("unexpected end of filter: expected {expected}"),
            )
        } else {
            err(
                t.start,
                &t.text,
                format!("unexpected `{}`: expected {expected}", t.text),
            )
        }
    }

    fn string(&mut self, what: &str) -> Result<(String, Token), FilterError> {
        let t = self.next();
        match &t.tok {
            Tok::Str(s) => Ok((s.clone(), t.clone())),
            _ => Err(Self::unexpected(&t, what)),
        }
    }

    fn condition(&mut self) -> Result<Condition, FilterError> {
        let field = self.next();
        let name = match &field.tok {
            Tok::Word(w) => w.clone(),
            _ => {
                return Err(Self::unexpected(
                    &field,
                    "a field (interactionId, nodeTimestamp, errorState)",
                ));
            }
        };
        match name.as_str() {
            "interactionId" => {
                let op = self.next();
                match &op.tok {
                    Tok::Word(w) if w.eq_ignore_ascii_case("IN") => self.id_list(),
                    Tok::Word(w) if w.eq_ignore_ascii_case("STARTSWITH") => {
                        let (prefix, _) = self.string("a quoted prefix")?;
                        Ok(Condition::IdStartsWith(prefix))
                    }
                    _ => Err(Self::unexpected(&op, "IN or STARTSWITH")),
                }
            }
            "nodeTimestamp" => {
                let op_tok = self.next();
                let op = match op_tok.tok {
                    Tok::Op(">=") => CmpOp::Ge,
                    Tok::Op("<=") => CmpOp::Le,
                    Tok::Op(">") => CmpOp::Gt,
                    Tok::Op("<") => CmpOp::Lt,
                    Tok::Op("=") => CmpOp::Eq,
                    _ => return Err(Self::unexpected(&op_tok, "one of >=, <=, >, <, =")),
                };
                let (raw, tok) = self.string("a quoted RFC 3339 timestamp")?;
                let at = DateTime::parse_from_rfc3339(&raw).map_err(|_| {
                    err(
                        tok.start,
                        &tok.text,
                        "not an RFC 3339 timestamp with a zone (e.g. 2024-05-01T10:00:00Z)",
                    )
                })?;
                Ok(Condition::Timestamp {
                    op,
                    at: at.with_timezone(&Utc),
                    position: tok.start,
                })
            }
            "errorState" => {
                let op = self.next();
                if op.tok != Tok::Op("=") {
                    return Err(Self::unexpected(&op, "="));
                }
                let v = self.next();
                match &v.tok {
                    Tok::Word(w) if w == "True" || w == "true" => Ok(Condition::ErrorState(true)),
                    Tok::Word(w) if w == "False" || w == "false" => {
                        Ok(Condition::ErrorState(false))
                    }
                    _ => Err(Self::unexpected(&v, "True or False")),
                }
            }
            _ => Err(err(
                field.start,
                &field.text,
                format!(
                    "unknown field `{name}`: expected interactionId, nodeTimestamp or errorState"
                ),
            )),
        }
    }

    fn id_list(&mut self) -> Result<Condition, FilterError> {
        let open = self.next();
        if open.tok != Tok::Open {
            return Err(Self::unexpected(&open, "["));
        }
        if self.peek().tok == Tok::Close {
            let t = self.next();
            return Err(err(t.start, &t.text, "empty id list: expected a quoted id"));
        }
        let mut ids = Vec::new();
        loop {
            let (id, _) = self.string("a quoted interaction id")?;
            ids.push(id);
            let sep = self.next();
            match sep.tok {
                Tok::Comma => continue,
                Tok::Close => return Ok(Condition::IdIn(ids)),
                _ => return Err(Self::unexpected(&sep, ", or ]")),
            }
        }
    }
}

/// Parse a seed-003 filter expression.
///
/// # Errors
/// [`FilterError`] with the byte offset and text of the first bad token, or
/// at offset 0 when the filter selects no interactions.
pub fn parse_filter(input: &str) -> Result<Filter, FilterError> {
    let mut p = Parser {
        tokens: tokenize(input)?,
        at: 0,
    };
    let mut conditions = vec![p.condition()?];
    loop {
        let t = p.next();
        match &t.tok {
            Tok::End => break,
            Tok::Word(w) if w.eq_ignore_ascii_case("AND") => conditions.push(p.condition()?),
            _ => return Err(Parser::unexpected(&t, "AND or the end of the filter")),
        }
    }
    let selects = conditions
        .iter()
        .any(|c| matches!(c, Condition::IdIn(_) | Condition::IdStartsWith(_)));
    if !selects {
        return Err(err(
            0,
            "",
            "the filter must select interactions with `interactionId IN [...]` or `interactionId STARTSWITH '...'`",
        ));
    }
    Ok(Filter { conditions })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_seed_filter() {
        let f = parse_filter(
            "interactionId IN ['a1b2', 'c\\'d'] AND nodeTimestamp >= '2024-05-01T10:00:00Z' \
             AND nodeTimestamp <= '2024-05-01T12:00:00+02:00' AND errorState = True",
        )
        .unwrap();
        assert_eq!(f.conditions.len(), 4);
        assert_eq!(
            f.conditions[0],
            Condition::IdIn(vec!["a1b2".into(), "c'd".into()])
        );
        assert!(matches!(
            f.conditions[2],
            Condition::Timestamp { op: CmpOp::Le, at, .. } if at.to_rfc3339() == "2024-05-01T10:00:00+00:00"
        ));
        assert_eq!(f.conditions[3], Condition::ErrorState(true));
    }

    #[test]
    fn errors_point_at_the_bad_token() {
        let cases: &[(&str, usize, &str)] = &[
            ("interactionId IN ['a'] OR errorState = True", 23, "OR"),
            ("interactionId IN ['a'] AND colour = 'red'", 27, "colour"),
            ("interactionId IN []", 18, "]"),
            ("interactionId IN ['a'", 21, ""),
            ("interactionId IN ['a] ", 18, "'a] "),
            (
                "interactionId IN ['a'] AND nodeTimestamp >= 'yesterday'",
                44,
                "'yesterday'",
            ),
            (
                "interactionId IN ['a'] AND nodeTimestamp >= '2024-05-01T10:00:00'",
                44,
                "'2024-05-01T10:00:00'",
            ),
            ("interactionId IN ['a'] AND errorState = maybe", 40, "maybe"),
            ("interactionId IN ['a\\x']", 20, "\\x"),
            ("errorState = True", 0, ""),
            ("interactionId LIKE 'a'", 14, "LIKE"),
            ("interactionId IN ['a'] ; drop", 23, ";"),
        ];
        for (input, position, token) in cases {
            let e = parse_filter(input).unwrap_err();
            assert_eq!(
                (e.position, e.lexeme.as_str()),
                (*position, *token),
                "{input}: {e}"
            );
        }
    }
}
