//! The small part of BuildKit's shell lexer (`frontend/dockerfile/shell/lex.go`) and of its
//! word splitter (`parser/line_parsers.go` parseWords) that the front end needs: splitting
//! arguments into raw words, and expanding `$VAR` / `${VAR:-x}` in one word.

use std::collections::BTreeMap;

/// One raw word (quotes and escapes kept, as BuildKit's parseWords keeps them) and the byte
/// offset where it starts in the text it was split from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawWord {
    pub text: String,
    pub start: usize,
}

/// Split on unquoted whitespace, keeping quotes and escape characters in the words.
pub fn split_words(rest: &str, escape: char) -> Vec<RawWord> {
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

/// Expand one word as BuildKit's `ProcessWord` does: quotes removed, escapes applied,
/// `$V`, `${V}`, `${V:-x}`, `${V-x}`, `${V:+x}`, `${V+x}`, `${V:?msg}`, `${V?msg}`.
/// Unset variables expand to nothing.
pub fn expand_word(word: &str, escape: char, env: &Env) -> Result<String, String> {
    let chars: Vec<char> = word.chars().collect();
    let mut lx = Lexer {
        chars: &chars,
        pos: 0,
        escape,
        env,
    };
    lx.word(None)
}

fn unterminated(quote: &str) -> String {
    format!("unexpected end of statement while looking for matching {quote}-quote")
}

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
    escape: char,
    env: &'a Env,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    /// Process until end of input, or until an unmatched `stop` (the `}` of `${V:-...}`).
    fn word(&mut self, stop: Option<char>) -> Result<String, String> {
        let mut out = String::new();
        let mut depth = 0usize;
        while let Some(ch) = self.peek() {
            if Some(ch) == stop && depth == 0 {
                return Ok(out);
            }
            self.pos += 1;
            match ch {
                '\'' => loop {
                    match self.bump() {
                        None => return Err(unterminated("single")),
                        Some('\'') => break,
                        Some(c) => out.push(c),
                    }
                },
                '"' => loop {
                    match self.bump() {
                        None => return Err(unterminated("double")),
                        Some('"') => break,
                        Some('$') => out.push_str(&self.dollar()?),
                        Some(c) if c == self.escape => match self.peek() {
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                self.pos += 1;
                                out.push(n);
                            }
                            _ => out.push(c),
                        },
                        Some(c) => out.push(c),
                    }
                },
                '$' => out.push_str(&self.dollar()?),
                c if c == self.escape => {
                    if let Some(n) = self.bump() {
                        out.push(n);
                    }
                }
                c => {
                    if Some('}') == stop {
                        if c == '{' {
                            depth += 1;
                        } else if c == '}' {
                            depth = depth.saturating_sub(1);
                        }
                    }
                    out.push(c)
                }
            }
        }
        if stop.is_some() {
            return Err("syntax error: missing '}'".into());
        }
        Ok(out)
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                self.pos += 1;
            } else {
                break;
            }
        }
        name
    }

    /// After a `$`.
    fn dollar(&mut self) -> Result<String, String> {
        match self.peek() {
            Some('{') => {
                self.pos += 1;
                let name = self.name();
                if name.is_empty() {
                    return Err("bad substitution".into());
                }
                let value = self.env.get(&name).cloned();
                let Some(m) = self.bump() else {
                    return Err("syntax error: missing '}'".into());
                };
                if m == '}' {
                    return Ok(value.unwrap_or_default());
                }
                let colon = m == ':';
                let op = if colon { self.bump() } else { Some(m) };
                let word = match op {
                    Some('-' | '+' | '?') => {
                        let w = self.word(Some('}'))?;
                        self.pos += 1; // the closing brace
                        w
                    }
                    Some(c) => return Err(format!("unsupported modifier ({c}) in substitution")),
                    None => return Err("syntax error: missing '}'".into()),
                };
                let set = match &value {
                    Some(v) => !colon || !v.is_empty(),
                    None => false,
                };
                Ok(match op {
                    Some('-') if set => value.unwrap_or_default(),
                    Some('-') => word,
                    Some('+') if set => word,
                    Some('+') => String::new(),
                    _ if set => value.unwrap_or_default(),
                    _ => {
                        let msg = if word.is_empty() {
                            "is not allowed to be unset".to_string()
                        } else {
                            word
                        };
                        return Err(format!("{name}: {msg}"));
                    }
                })
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '_' => {
                let name = self.name();
                Ok(self.env.get(&name).cloned().unwrap_or_default())
            }
            _ => Ok("$".into()),
        }
    }
}

/// Remove quotes and escapes without expanding anything (heredoc names, flag values).
pub fn dequote(word: &str, escape: char) -> String {
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
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn splits_words_keeping_quotes() {
        let w: Vec<_> = split_words(r#"a "b c" d\ e 'f'"#, '\\')
            .into_iter()
            .map(|w| w.text)
            .collect();
        assert_eq!(w, vec!["a", "\"b c\"", "d\\ e", "'f'"]);
        assert_eq!(split_words("  x  y", '\\')[1].start, 5);
    }

    #[test]
    fn expands_variables() {
        let e = env(&[("V", "1.2"), ("EMPTY", "")]);
        let x = |w: &str| expand_word(w, '\\', &e).unwrap();
        assert_eq!(x("golang:$V"), "golang:1.2");
        assert_eq!(x("golang:${V}-alpine"), "golang:1.2-alpine");
        assert_eq!(x("${NOPE:-def}"), "def");
        assert_eq!(x("${EMPTY:-def}"), "def");
        assert_eq!(x("${EMPTY-def}"), "");
        assert_eq!(x("${V:+set}"), "set");
        assert_eq!(x("${NOPE:+set}"), "");
        assert_eq!(x("${NOPE:-${V}}"), "1.2");
        assert_eq!(x("'$V'"), "$V");
        assert_eq!(x("\"$V\""), "1.2");
        assert_eq!(x("a\\$V"), "a$V");
        assert_eq!(x("$"), "$");
        assert!(expand_word("${NOPE:?missing}", '\\', &e).is_err());
        assert!(expand_word("${V", '\\', &e).is_err());
        assert!(expand_word("'abc", '\\', &e).is_err());
        assert_eq!(expand_word("a`$V", '`', &e).unwrap(), "a$V");
    }

    #[test]
    fn dequotes() {
        assert_eq!(dequote("\"EOF\"", '\\'), "EOF");
        assert_eq!(dequote("'E O'", '\\'), "E O");
        assert_eq!(dequote("E\\OF", '\\'), "EOF");
    }
}
