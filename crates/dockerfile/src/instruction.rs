//! One instruction: keyword, builder flags, arguments in exec (JSON) or shell form, heredocs,
//! and where it sits in the source. Argument rules follow BuildKit's `parser/line_parsers.go`
//! (which form is JSON) and `instructions/parse.go` (what each instruction rejects).

use std::ops::Range;

use super::error::DockerfileError;
use super::flags::{self, Flag};
use super::heredoc::{self, Heredoc};
use super::source::{Cursor, LogicalLine, position_in};

/// The instructions BuildKit knows. Serialized upper-case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Keyword {
    From,
    Run,
    Cmd,
    Label,
    Maintainer,
    Expose,
    Env,
    Add,
    Copy,
    Entrypoint,
    Volume,
    User,
    Workdir,
    Arg,
    Onbuild,
    Stopsignal,
    Healthcheck,
    Shell,
}

impl Keyword {
    pub const ALL: [Keyword; 18] = [
        Keyword::From,
        Keyword::Run,
        Keyword::Cmd,
        Keyword::Label,
        Keyword::Maintainer,
        Keyword::Expose,
        Keyword::Env,
        Keyword::Add,
        Keyword::Copy,
        Keyword::Entrypoint,
        Keyword::Volume,
        Keyword::User,
        Keyword::Workdir,
        Keyword::Arg,
        Keyword::Onbuild,
        Keyword::Stopsignal,
        Keyword::Healthcheck,
        Keyword::Shell,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::From => "FROM",
            Keyword::Run => "RUN",
            Keyword::Cmd => "CMD",
            Keyword::Label => "LABEL",
            Keyword::Maintainer => "MAINTAINER",
            Keyword::Expose => "EXPOSE",
            Keyword::Env => "ENV",
            Keyword::Add => "ADD",
            Keyword::Copy => "COPY",
            Keyword::Entrypoint => "ENTRYPOINT",
            Keyword::Volume => "VOLUME",
            Keyword::User => "USER",
            Keyword::Workdir => "WORKDIR",
            Keyword::Arg => "ARG",
            Keyword::Onbuild => "ONBUILD",
            Keyword::Stopsignal => "STOPSIGNAL",
            Keyword::Healthcheck => "HEALTHCHECK",
            Keyword::Shell => "SHELL",
        }
    }

    /// Case-insensitive, as BuildKit lower-cases the instruction word.
    pub fn parse(word: &str) -> Option<Keyword> {
        Keyword::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(word))
    }

    fn takes_heredocs(self) -> bool {
        matches!(self, Keyword::Run | Keyword::Copy | Keyword::Add)
    }
}

impl std::fmt::Display for Keyword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The arguments after the flags.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "form", content = "value", rename_all = "lowercase")]
pub enum Args {
    /// JSON array form (`RUN ["a", "b"]`), where the instruction accepts it.
    Exec(Vec<String>),
    /// Everything else: the text after the flags, continuations joined, as written.
    Shell(String),
}

impl Args {
    /// The arguments of a list instruction (COPY, ADD, VOLUME) as BuildKit's parser gives
    /// them: JSON elements, or the shell-form text split on blanks (`[\t\v\f\r ]+`,
    /// parseStringsWhitespaceDelimited). Quotes and escapes do not join words there, whatever
    /// the escape character: `COPY a\ b c` is three arguments; paths with blanks need JSON.
    pub fn words(&self) -> Vec<String> {
        match self {
            Args::Exec(v) => v.clone(),
            Args::Shell(s) => s
                .split(['\t', '\x0b', '\x0c', '\r', ' '])
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect(),
        }
    }

    pub(crate) fn is_exec(&self) -> bool {
        matches!(self, Args::Exec(_))
    }
}

/// One instruction of the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Instruction {
    pub keyword: Keyword,
    /// First and last line (1-based), heredoc bodies included.
    pub line: usize,
    pub end_line: usize,
    /// Byte span in [`super::Dockerfile::source`], heredoc bodies included, final newline not.
    pub span: Range<usize>,
    /// The instruction line with continuations joined (BuildKit's `Node.Original`).
    pub original: String,
    pub flags: Vec<Flag>,
    pub args: Args,
    pub heredocs: Vec<Heredoc>,
}

impl Instruction {
    /// The value of the first flag with this name (`Some(None)` for a bare `--link`).
    pub fn flag(&self, name: &str) -> Option<Option<&str>> {
        self.flags
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value.as_deref())
    }

    /// Values of a repeatable flag (`--mount`).
    pub(crate) fn flag_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.flags
            .iter()
            .filter(move |f| f.name == name)
            .filter_map(|f| f.value.as_deref())
    }

    /// For ONBUILD: the trigger's keyword.
    pub fn onbuild_trigger(&self) -> Option<Keyword> {
        match (&self.keyword, &self.args) {
            (Keyword::Onbuild, Args::Shell(s)) => {
                s.split_whitespace().next().and_then(Keyword::parse)
            }
            _ => None,
        }
    }
}

enum Json {
    Not,
    Strings(Vec<String>),
    NotStrings,
}

/// BuildKit's parseJSON: a JSON array of strings; invalid JSON falls back to shell form,
/// but a valid array holding anything but strings is an error.
fn json_array(rest: &str) -> Json {
    let rest = rest.trim_start();
    if !rest.starts_with('[') {
        return Json::Not;
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(rest) {
        Err(_) => Json::Not,
        Ok(values) => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                match v {
                    serde_json::Value::String(s) => out.push(s),
                    _ => return Json::NotStrings,
                }
            }
            Json::Strings(out)
        }
    }
}

const NOT_STRINGS: &str = "when using JSON array syntax, arrays must be comprised of strings only";

/// Parse one logical line (and the heredoc bodies after it) into an instruction.
pub(crate) fn parse(
    cursor: &mut Cursor<'_>,
    logical: LogicalLine,
) -> Result<Instruction, DockerfileError> {
    let text = logical.text.trim_end();
    let text_src = cursor.text;
    let err_at = |i: usize, msg: String| {
        let (line, col) = position_in(text_src, logical.source_offset(i));
        DockerfileError::new(line, col, msg)
    };
    let is_sep = |c: char| matches!(c, ' ' | '\t' | '\x0b' | '\x0c' | '\r');
    let cmd_end = text.find(is_sep).unwrap_or(text.len());
    let cmd = &text[..cmd_end];
    let Some(keyword) = Keyword::parse(cmd) else {
        return Err(err_at(
            0,
            format!("unknown instruction: {}", cmd.to_uppercase()),
        ));
    };
    let rest_start = text[cmd_end..]
        .find(|c: char| !is_sep(c))
        .map_or(text.len(), |i| cmd_end + i);
    let rest = &text[rest_start..];
    let (words, args_off) = flags::extract(rest, cursor.escape);
    let args_start = rest_start + args_off;
    let args_text = &text[args_start..];
    let typed = flags::check(keyword, &words)
        .map_err(|(i, msg)| err_at(rest_start + words[i].range.start, msg))?;
    let flags: Vec<Flag> = typed
        .into_iter()
        .zip(&words)
        .map(|((name, value), w)| Flag {
            name,
            value,
            span: logical.source_offset(rest_start + w.range.start)
                ..logical.source_offset(rest_start + w.range.end),
        })
        .collect();

    let args = form(keyword, args_text).map_err(|m| err_at(args_start, m))?;

    let heredoc_capable = match keyword {
        Keyword::Onbuild => args_text
            .split_whitespace()
            .next()
            .and_then(Keyword::parse)
            .is_some_and(|k| {
                let (_, off) = flags::extract(after_first_word(args_text), cursor.escape);
                k.takes_heredocs()
                    && !matches!(
                        json_array(&after_first_word(args_text)[off..]),
                        Json::Strings(_)
                    )
            }),
        k => k.takes_heredocs() && !args.is_exec(),
    };
    let heads = if heredoc_capable {
        heredoc::heads(text)
    } else {
        Vec::new()
    };
    let heredocs = heredoc::read_bodies(cursor, &heads).map_err(|k| {
        err_at(
            heads[k].start,
            format!("unterminated heredoc {}", heads[k].name),
        )
    })?;

    let last_line = heredocs.last().map_or(logical.last, |h| h.end_line - 1);
    let start = logical.source_offset(0);
    let end = cursor.lines[last_line].end.max(start);
    Ok(Instruction {
        keyword,
        line: logical.first + 1,
        end_line: last_line + 1,
        span: start..end,
        original: text.to_string(),
        flags,
        args,
        heredocs,
    })
}

pub(super) fn after_first_word(s: &str) -> &str {
    let s = s.trim_start();
    let i = s.find(char::is_whitespace).unwrap_or(s.len());
    s[i..].trim_start()
}

/// Decide the argument form and apply BuildKit's per-instruction argument checks.
pub(super) fn form(keyword: Keyword, rest: &str) -> Result<Args, String> {
    use Keyword::*;
    let shell = || Args::Shell(rest.to_string());
    let at_least_one = || format!("{keyword} requires at least one argument");
    let exactly_one = || format!("{keyword} requires exactly one argument");
    match keyword {
        Run | Cmd | Entrypoint | Shell | Add | Copy | Volume => {
            let args = match json_array(rest) {
                Json::Strings(v) => Args::Exec(v),
                Json::NotStrings => return Err(NOT_STRINGS.into()),
                Json::Not if keyword == Shell && !rest.trim().is_empty() => {
                    return Err("SHELL requires the arguments to be in JSON form".into());
                }
                Json::Not => shell(),
            };
            let n = args.words().len();
            match keyword {
                Shell | Volume if n == 0 => Err(at_least_one()),
                Add | Copy if n < 2 => Err(format!(
                    "{keyword} requires at least two arguments, but only one was provided. \
                     Destination could not be determined"
                )),
                _ => Ok(args),
            }
        }
        From => {
            let w: Vec<&str> = rest.split_whitespace().collect();
            match w.as_slice() {
                [_] => Ok(shell()),
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => {
                    let lower = name.to_lowercase();
                    if valid_stage_name(&lower) {
                        Ok(shell())
                    } else {
                        Err(format!(
                            "invalid name for build stage: \"{name}\", name can't start with a \
                             number or contain symbols"
                        ))
                    }
                }
                _ => Err("FROM requires either one or three arguments".into()),
            }
        }
        Arg | Env | Label | Expose | Onbuild | Healthcheck if rest.trim().is_empty() => {
            Err(at_least_one())
        }
        User | Workdir | Stopsignal | Maintainer if rest.trim().is_empty() => Err(exactly_one()),
        Onbuild => {
            let trigger = rest.split_whitespace().next().unwrap_or_default();
            match Keyword::parse(trigger) {
                Some(Onbuild) => Err("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed".into()),
                Some(k @ (From | Maintainer)) => {
                    Err(format!("{k} isn't allowed as an ONBUILD trigger"))
                }
                _ => Ok(shell()),
            }
        }
        Healthcheck => {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let kind = words[0].to_uppercase();
            match kind.as_str() {
                "NONE" if words.len() > 1 => Err("HEALTHCHECK NONE takes no arguments".into()),
                "NONE" | "CMD" => Ok(shell()),
                _ => Err(format!("Unknown type \"{kind}\" in HEALTHCHECK (try CMD)")),
            }
        }
        _ => Ok(shell()),
    }
}

/// BuildKit's `^[a-z][a-z0-9-_\.]*$`, applied to the lower-cased name.
pub(crate) fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c))
}
