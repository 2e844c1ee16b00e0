//! A port of BuildKit's word processing (`frontend/dockerfile/shell/lex.go`: `ProcessWord`,
//! `processStopOn`, `processDollar`, the quote handlers and `processName`), kept close to the
//! Go so that each quirk is BuildKit's: `${V:#x}` is an error, `${V/a}` needs its second `/`,
//! patterns keep their escape characters, `$1` and `$@` expand to nothing.
//!
//! Go's `text/scanner` hands out runes and `EOF`; here `None` is EOF, and where Go formats
//! EOF as a character (`string(rune(-1))`) it prints U+FFFD, as Go does.

use super::Env;
use super::pattern;

/// How Go prints `string(scanner.EOF)`.
const EOF_CHAR: char = '\u{FFFD}';
const MISSING_BRACE: &str = "syntax error: missing '}'";

fn unterminated(quote: &str) -> String {
    format!("unexpected end of statement while looking for matching {quote}-quote")
}

fn unsupported(chs: &str) -> String {
    format!("unsupported modifier ({chs}) in substitution")
}

/// One word being processed; `raw_escapes` keeps escape characters in the result (BuildKit
/// does so for the pattern and replacement of `#`, `%` and `/`).
pub(super) struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    raw_escapes: bool,
    env: &'a Env,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(word: &str, escape: char, env: &'a Env) -> Self {
        // text/scanner skips a byte-order mark at the very start.
        let word = word.strip_prefix('\u{feff}').unwrap_or(word);
        Lexer {
            chars: word.chars().collect(),
            pos: 0,
            escape,
            raw_escapes: false,
            env,
        }
    }

    /// `ProcessWord`: the whole word, quotes removed, escapes applied, variables expanded.
    pub(super) fn process(&mut self) -> Result<String, String> {
        self.stop_on(None, false)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn get(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    /// `processStopOn`: up to the unescaped, unquoted `stop` (consumed), or the end.
    fn stop_on(&mut self, stop: Option<char>, raw_escapes: bool) -> Result<String, String> {
        let saved = std::mem::replace(&mut self.raw_escapes, raw_escapes);
        let result = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        result
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> Result<String, String> {
        let mut result = String::new();
        // BuildKit's `<` handler (processPossibleHeredoc) only copies `<<` and the blanks
        // after it, so it needs no case here.
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.pos += 1;
                return Ok(result);
            }
            match ch {
                '$' => result.push_str(&self.dollar()?),
                '\'' => result.push_str(&self.single_quote()?),
                '"' => result.push_str(&self.double_quote()?),
                _ => {
                    self.pos += 1;
                    let mut ch = ch;
                    if ch == self.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.next() {
                            Some(c) => ch = c,
                            None => break,
                        }
                    }
                    result.push(ch);
                }
            }
        }
        match stop {
            Some(s) => Err(format!(
                "unexpected end of statement while looking for matching {s}"
            )),
            None => Ok(result),
        }
    }

    /// `stop_on`, with an error at the end of the word reported as `missing`.
    fn until(&mut self, stop: char, raw_escapes: bool, missing: &str) -> Result<String, String> {
        self.stop_on(Some(stop), raw_escapes).map_err(|e| {
            if self.peek().is_none() {
                missing.to_string()
            } else {
                e
            }
        })
    }

    /// Everything up to the next `'`, as is.
    fn single_quote(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut result = String::new();
        loop {
            match self.next() {
                None => return Err(unterminated("single")),
                Some('\'') => return Ok(result),
                Some(c) => result.push(c),
            }
        }
    }

    /// Up to the next `"`, expanding `$`; the escape character escapes only `"`, `$` and
    /// itself, and is otherwise kept.
    fn double_quote(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut result = String::new();
        loop {
            match self.peek() {
                None => return Err(unterminated("double")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(result);
                }
                Some('$') => result.push_str(&self.dollar()?),
                Some(mut ch) => {
                    self.pos += 1;
                    if ch == self.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            None => continue,
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                self.pos += 1;
                                ch = n;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    /// `processName`: letters, digits and `_`; or all the digits of `$12`; or one special
    /// parameter (`$@ $* $# $? $- $$ $!`).
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && is_digit(ch) {
                while let Some(d) = self.peek().filter(|&c| is_digit(c)) {
                    name.push(d);
                    self.pos += 1;
                }
                return name;
            }
            if name.is_empty() && is_special_param(ch) {
                self.pos += 1;
                return ch.to_string();
            }
            if !ch.is_alphabetic() && !is_digit(ch) && ch != '_' {
                break;
            }
            self.pos += 1;
            name.push(ch);
        }
        name
    }

    /// `processDollar`, at a `$`.
    fn dollar(&mut self) -> Result<String, String> {
        self.pos += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".into());
            }
            return Ok(self.get(&name).unwrap_or_default());
        }
        self.pos += 1;
        match self.peek() {
            None => return Err(MISSING_BRACE.into()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".into()),
            Some(_) => {}
        }
        let name = self.name();
        let ch = self.next();
        let mut chs = ch.unwrap_or(EOF_CHAR).to_string();
        match ch {
            Some('}') => Ok(self.get(&name).unwrap_or_default()),
            Some(':') => {
                let op = self.next();
                chs.push(op.unwrap_or(EOF_CHAR));
                self.modifier(&name, op, &chs, true)
            }
            Some('+' | '-' | '?' | '#' | '%') => self.modifier(&name, ch, &chs, false),
            Some('/') => self.replace(&name),
            _ => Err(unsupported(&chs)),
        }
    }

    /// `${V-w}`, `${V+w}`, `${V?w}`, `${V#p}`, `${V%p}` and, with `null_is_unset`, their
    /// `:` forms (none for `#` and `%`).
    fn modifier(
        &mut self,
        name: &str,
        op: Option<char>,
        chs: &str,
        null_is_unset: bool,
    ) -> Result<String, String> {
        let raw_escapes = matches!(op, Some('#' | '%'));
        if null_is_unset && raw_escapes {
            return Err(unsupported(chs));
        }
        let word = self.until('}', raw_escapes, MISSING_BRACE)?;
        let value = self.get(name);
        let unset_or_null = match &value {
            None => true,
            Some(v) => null_is_unset && v.is_empty(),
        };
        match op {
            Some('-') if unset_or_null => Ok(word),
            Some('-') => Ok(value.unwrap_or_default()),
            Some('+') if unset_or_null => Ok(String::new()),
            Some('+') => Ok(word),
            Some('?') => match value {
                None => Err(required(name, word, "is not allowed to be unset")),
                Some(v) if null_is_unset && v.is_empty() => {
                    Err(required(name, word, "is not allowed to be empty"))
                }
                Some(v) => Ok(v),
            },
            Some(c @ ('#' | '%')) => {
                let (greedy, pattern) = match word.strip_prefix(c) {
                    Some(rest) => (true, rest),
                    None => (false, word.as_str()),
                };
                let value = value.unwrap_or_default();
                if c == '%' {
                    pattern::trim_suffix(pattern, &value, greedy)
                } else {
                    pattern::trim_prefix(pattern, &value, greedy)
                }
            }
            _ => Err(unsupported(chs)),
        }
    }

    /// `${V/pattern/replacement}` (first match) and `${V//pattern/replacement}` (all).
    fn replace(&mut self, name: &str) -> Result<String, String> {
        let all = self.peek() == Some('/');
        if all {
            self.pos += 1;
        }
        let pattern = self.until('/', true, "syntax error: missing '/' in ${}")?;
        let replacement = self.until('}', true, MISSING_BRACE)?;
        let value = self.get(name).unwrap_or_default();
        pattern::replace(&value, &pattern, &replacement, all)
    }
}

fn required(name: &str, word: String, otherwise: &str) -> String {
    let message = if word.is_empty() {
        otherwise.to_string()
    } else {
        word
    };
    format!("{name}: {message}")
}

/// Go's `unicode.IsDigit` (decimal digits of any script).
fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

/// POSIX special parameters, as lex.go's isSpecialParam lists them.
fn is_special_param(c: char) -> bool {
    matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0')
}
