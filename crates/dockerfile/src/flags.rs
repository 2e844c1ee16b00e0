//! Builder flags (`--name=value`, `--name`) at the start of an instruction's arguments:
//! split as BuildKit's `parser/split_command.go` extractBuilderFlags does, then checked
//! against the flags each instruction declares (`instructions/bflag.go`).

use std::ops::Range;

use super::Keyword;
use super::{mount, suggest};

/// One builder flag, typed: `--mount=type=cache,target=/x` is name `mount`, value
/// `type=cache,target=/x`; `--link` has no value. `span` is the flag's bytes in the source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Flag {
    pub name: String,
    pub value: Option<String>,
    pub span: Range<usize>,
}

/// A flag word as extracted (quotes and escapes already applied) and its byte range in the
/// text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FlagWord {
    pub text: String,
    pub range: Range<usize>,
}

/// Leading `--` words of `line`, and the offset where the remaining arguments start.
/// `escape` is the Dockerfile's escape character (`\` or a backtick, both ASCII).
pub(crate) fn extract(line: &str, escape: char) -> (Vec<FlagWord>, usize) {
    let escape = u8::try_from(escape).unwrap_or(b'\\');
    let b = line.as_bytes();
    let mut words = Vec::new();
    let mut pos = 0;
    loop {
        while pos < b.len() && (b[pos] as char).is_ascii_whitespace() {
            pos += 1;
        }
        if pos >= b.len() {
            return (words, b.len());
        }
        if !(b[pos] == b'-' && b.get(pos + 1) == Some(&b'-')) {
            return (words, pos);
        }
        let start = pos;
        let mut word: Vec<u8> = Vec::new();
        let mut quote: Option<u8> = None;
        let mut blank_ok = false;
        while pos < b.len() {
            let c = b[pos];
            match quote {
                None if (c as char).is_ascii_whitespace() => break,
                None if c == b'\'' || c == b'"' => {
                    quote = Some(c);
                    blank_ok = true;
                }
                Some(q) if c == q => quote = None,
                _ if c == escape => {
                    if pos + 1 < b.len() {
                        pos += 1;
                        word.push(b[pos]);
                    } else if quote.is_some() {
                        quote = None;
                    }
                }
                _ => word.push(c),
            }
            pos += 1;
        }
        let text = String::from_utf8_lossy(&word).into_owned();
        if text == "--" {
            while pos < b.len() && (b[pos] as char).is_ascii_whitespace() {
                pos += 1;
            }
            return (words, pos);
        }
        if blank_ok || !text.is_empty() {
            words.push(FlagWord {
                text,
                range: start..pos,
            });
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Str,
    /// May be repeated (`--mount`, `--exclude`).
    Strs,
}

fn declared(keyword: Keyword) -> &'static [(&'static str, Kind)] {
    use Kind::*;
    match keyword {
        Keyword::From => &[("platform", Str)],
        Keyword::Run => &[
            ("mount", Strs),
            ("network", Str),
            ("security", Str),
            ("device", Strs),
        ],
        Keyword::Copy => &[
            ("from", Str),
            ("chown", Str),
            ("chmod", Str),
            ("link", Bool),
            ("parents", Bool),
            ("exclude", Strs),
        ],
        Keyword::Add => &[
            ("chown", Str),
            ("chmod", Str),
            ("link", Bool),
            ("keep-git-dir", Bool),
            ("checksum", Str),
            ("exclude", Strs),
            ("unpack", Bool),
        ],
        Keyword::Healthcheck => &[
            ("interval", Str),
            ("timeout", Str),
            ("start-period", Str),
            ("start-interval", Str),
            ("retries", Str),
        ],
        _ => &[],
    }
}

/// The flags an instruction accepts, by name: what explanations must cover.
pub fn known_flags(keyword: Keyword) -> Vec<&'static str> {
    declared(keyword).iter().map(|(n, _)| *n).collect()
}

/// A checked flag: name and value (`None` for a bare `--link`).
pub(crate) type TypedFlag = (String, Option<String>);

/// Turn flag words into typed flags, rejecting what BuildKit rejects when it parses the
/// instruction (`BFlags.Parse`, then RUN's device, mount, network and security hooks). The
/// error carries the offending word's index.
pub(crate) fn check(
    keyword: Keyword,
    words: &[FlagWord],
) -> Result<Vec<TypedFlag>, (usize, String)> {
    let spec = declared(keyword);
    let mut out: Vec<TypedFlag> = Vec::new();
    for (i, w) in words.iter().enumerate() {
        let body = &w.text[2..];
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let Some(&(_, kind)) = spec.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = spec.iter().map(|(n, _)| *n).collect();
            let msg = format!("unknown flag: --{name}");
            return Err((i, suggest::wrap(msg, name, &names)));
        };
        if kind != Kind::Strs && out.iter().any(|(n, _)| n == name) {
            return Err((i, format!("duplicate flag specified: --{name}")));
        }
        match (kind, value) {
            (Kind::Bool, Some("")) | (Kind::Str | Kind::Strs, None) => {
                return Err((i, format!("missing a value on flag: --{name}")));
            }
            (Kind::Bool, Some(v))
                if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") =>
            {
                return Err((
                    i,
                    format!("expecting boolean value for flag --{name}, not: {v}"),
                ));
            }
            _ => {}
        }
        out.push((name.to_string(), value.map(str::to_string)));
    }
    if keyword == Keyword::Run {
        check_run(&out)?;
    }
    Ok(out)
}

/// RUN's parse hooks, in BuildKit's order (device, mount, network, security).
fn check_run(flags: &[TypedFlag]) -> Result<(), (usize, String)> {
    let values = |name: &'static str| {
        flags
            .iter()
            .enumerate()
            .filter(move |(_, (n, _))| n == name)
            .map(|(i, (_, v))| (i, v.as_deref().unwrap_or_default()))
    };
    for (i, v) in values("device") {
        mount::check_device(v).map_err(|e| (i, e))?;
    }
    for (i, v) in values("mount") {
        mount::parse_from(v).map_err(|e| (i, e))?;
    }
    // A string flag is given at most once (BFlags rejects a duplicate).
    if let Some((i, v)) = values("network").next()
        && !["default", "none", "host"].contains(&v)
    {
        return Err((i, format!("invalid network mode {v:?}")));
    }
    if let Some((i, v)) = values("security").next()
        && !["insecure", "sandbox"].contains(&v)
    {
        return Err((i, format!("security {v:?} is not valid")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> (Vec<String>, String) {
        let (w, rest) = extract(line, '\\');
        (
            w.into_iter().map(|w| w.text).collect(),
            line[rest..].to_string(),
        )
    }

    #[test]
    fn extracts_leading_flags_only() {
        assert_eq!(
            texts("--from=build --chown=\"a b\" src /dst --x"),
            (
                vec!["--from=build".into(), "--chown=a b".into()],
                "src /dst --x".into()
            )
        );
        assert_eq!(texts("--link"), (vec!["--link".into()], "".into()));
        assert_eq!(texts("-- --x y"), (vec![], "--x y".into()));
        assert_eq!(texts("echo hi"), (vec![], "echo hi".into()));
    }

    #[test]
    fn checks_declared_flags() {
        let w = |t: &str| extract(t, '\\').0;
        assert!(check(Keyword::Copy, &w("--from=a --link")).is_ok());
        assert_eq!(
            check(Keyword::Copy, &w("--frm=a")).unwrap_err().1,
            "unknown flag: --frm (did you mean from?)"
        );
        assert!(check(Keyword::Run, &w("--mount=a --mount=b")).is_ok());
        assert!(check(Keyword::Copy, &w("--from=a --from=b")).is_err());
        assert!(check(Keyword::Copy, &w("--from")).is_err());
        assert!(check(Keyword::Copy, &w("--link=maybe")).is_err());
        assert!(check(Keyword::Env, &w("--x=1")).is_err());
    }
}
