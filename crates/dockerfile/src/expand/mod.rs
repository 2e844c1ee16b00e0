//! BuildKit's shell-word handling: the word splitter of `parser/line_parsers.go` (parseWords),
//! and word expansion as `frontend/dockerfile/shell/lex.go` does it ([`lex`], with the glob
//! patterns of `#`, `%` and `/` in [`pattern`]).

use std::collections::BTreeMap;

mod lex;
mod pattern;

/// One raw word (quotes and escapes kept, as BuildKit's parseWords keeps them) and the byte
/// offset where it starts in the text it was split from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawWord {
    pub text: String,
    pub start: usize,
}

/// Split on unquoted whitespace, keeping quotes and escape characters in the words.
pub(crate) fn split_words(rest: &str, escape: char) -> Vec<RawWord> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut start = 0;
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut chars = rest.char_indices().peekable();
    while let Some((pos, ch)) = chars.next() {
        if !in_word {
            if ch.is_whitespace() {
                continue;
            }
            in_word = true;
            start = pos;
        }
        match quote {
            None => {
                if ch.is_whitespace() {
                    if blank_ok || !word.is_empty() {
                        words.push(RawWord {
                            text: std::mem::take(&mut word),
                            start,
                        });
                    }
                    word.clear();
                    in_word = false;
                    blank_ok = false;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    quote = Some(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    match chars.next() {
                        None => continue,
                        Some((_, next)) => {
                            word.push(ch);
                            word.push(next);
                            continue;
                        }
                    }
                }
                word.push(ch);
            }
            Some(q) => {
                if ch == q {
                    quote = None;
                }
                if ch == escape && q != '\'' {
                    match chars.next() {
                        None => {
                            quote = None;
                            continue;
                        }
                        Some((_, next)) => {
                            word.push(ch);
                            word.push(next);
                            continue;
                        }
                    }
                }
                word.push(ch);
            }
        }
    }
    if in_word && (blank_ok || !word.is_empty()) {
        words.push(RawWord { text: word, start });
    }
    words
}

/// Variables visible to an expansion.
pub type Env = BTreeMap<String, String>;

/// Expand one word as BuildKit's `ProcessWord` does (see [`lex`]): quotes removed, escapes
/// applied, `$V`, `${V}`, `${V:-x}`, `${V-x}`, `${V:+x}`, `${V+x}`, `${V:?msg}`, `${V?msg}`,
/// `${V#p}`, `${V##p}`, `${V%p}`, `${V%%p}`, `${V/p/r}`, `${V//p/r}`, nested in each other.
/// Unset variables expand to nothing. Errors carry BuildKit's wording, `failed to process
/// "WORD": why`.
pub fn expand_word(word: &str, escape: char, env: &Env) -> Result<String, String> {
    lex::Lexer::new(word, escape, env)
        .process()
        .map_err(|e| format!("failed to process {}: {e}", go_quote(word)))
}

/// Go's `%q` of a string: double-quoted, with Go's escapes for quotes, `\` and controls.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Remove quotes and escapes without expanding anything (heredoc names, flag values).
pub(crate) fn dequote(word: &str, escape: char) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == escape => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            Some(_) => out.push(c),
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == escape => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
