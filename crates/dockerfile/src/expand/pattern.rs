//! The patterns of `${V#p}`, `${V%p}` and `${V/p/r}`, as BuildKit's lex.go handles them:
//! convertShellPatternToRegex (`*` any string, `?` one character, `\` escapes `*`, `?` and
//! `\`; no bracket expressions, so `[` is literal), trimPrefix / trimSuffix (a suffix is a
//! prefix of the reversed value) and Go's `Regexp.ReplaceAllString`.
//!
//! Go's RE2 and the `regex` crate share leftmost-first semantics, so the same regular
//! expression finds the same match. The pattern's escape is always `\`, whatever the
//! Dockerfile's escape character, as in lex.go.

use regex::Regex;

fn invalid(pattern: &str, why: &str) -> String {
    format!("invalid pattern ({pattern}) in substitution: {why}")
}

/// convertShellPatternToRegex: `greedy` picks `.*` over `.*?` for `*`; `anchored` adds `^`.
fn to_regex(pattern: &str, greedy: bool, anchored: bool) -> Result<Regex, String> {
    let pattern = pattern.strip_prefix('\u{feff}').unwrap_or(pattern);
    let mut out = String::with_capacity(pattern.len() + 4);
    if anchored {
        out.push('^');
    }
    let star = if greedy { ".*" } else { ".*?" };
    let mut chars = pattern.chars().peekable();
    while let Some(tok) = chars.next() {
        match tok {
            '*' => {
                out.push_str(star);
                continue;
            }
            '?' => {
                out.push('.');
                continue;
            }
            '\\' => {
                // `\}` and `\/` only got past the `${...}` parser; the `\` is not pattern.
                if matches!(chars.peek(), Some('}' | '/')) {
                    continue;
                }
                match chars.next() {
                    Some(c @ ('*' | '?' | '\\')) => {
                        out.push('\\');
                        out.push(c);
                    }
                    other => {
                        return Err(format!(
                            "invalid escape '\\{}'",
                            other.unwrap_or('\u{FFFD}')
                        ));
                    }
                }
                continue;
            }
            '[' | ']' | '{' | '}' | '.' | '+' | '(' | ')' | '|' | '^' | '$' => out.push('\\'),
            _ => {}
        }
        out.push(tok);
    }
    Regex::new(&out).map_err(|e| e.to_string())
}

/// `${V#p}` (`greedy`: `${V##p}`): drop the shortest (longest) prefix matching `pattern`.
pub(super) fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let re = to_regex(pattern, greedy, true).map_err(|e| invalid(pattern, &e))?;
    Ok(match re.find(value) {
        Some(m) => value[m.end()..].to_string(),
        None => value.to_string(),
    })
}

/// `${V%p}` (`greedy`: `${V%%p}`): the same on the reversed pattern and value.
pub(super) fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let reversed = trim_prefix(&reverse_pattern(pattern), &reverse(value), greedy)?;
    Ok(reverse(&reversed))
}

fn reverse(s: &str) -> String {
    s.chars().rev().collect()
}

/// Reverse a pattern keeping each `\x` pair in order (`a\*c` -> `c\*a`), as lex.go's
/// reversePattern.
fn reverse_pattern(pattern: &str) -> String {
    let p: Vec<char> = pattern.chars().collect();
    let mut out = p.clone();
    let n = p.len();
    let mut i = 0;
    while i < n {
        let at = n - 1 - i;
        if p[i] == '\\' && i + 1 < n {
            out[at - 1] = '\\';
            out[at] = p[i + 1];
            i += 2;
        } else {
            out[at] = p[i];
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// `${V/p/r}` replaces the first match (the longest: `*` is greedy here) with `replacement`
/// as is; `${V//p/r}` every match, through Go's ReplaceAllString, so `$0` / `${0}` in the
/// replacement is the match and any other `$name` is empty (the pattern has no groups).
pub(super) fn replace(
    value: &str,
    pattern: &str,
    replacement: &str,
    all: bool,
) -> Result<String, String> {
    let re = to_regex(pattern, true, false).map_err(|e| invalid(pattern, &e))?;
    if !all {
        return Ok(match re.find(value) {
            Some(m) => format!("{}{replacement}{}", &value[..m.start()], &value[m.end()..]),
            None => value.to_string(),
        });
    }
    // Go's regexp.replaceAll: an empty match right after a match is not replaced, and the
    // search always moves on by at least one character.
    let mut out = String::new();
    let mut last_end = 0;
    let mut search = 0;
    while search <= value.len() {
        let Some(m) = re.find_at(value, search) else {
            break;
        };
        out.push_str(&value[last_end..m.start()]);
        if m.end() > last_end || m.start() == 0 {
            out.push_str(&go_expand(replacement, m.as_str()));
        }
        last_end = m.end();
        let width = value[search..].chars().next().map_or(0, char::len_utf8);
        if search + width > m.end() {
            search += width;
        } else if search + 1 > m.end() {
            search += 1;
        } else {
            search = m.end();
        }
    }
    out.push_str(&value[last_end..]);
    Ok(out)
}

/// Go's `Regexp.Expand` for a regular expression without groups: `$$` is `$`, `$0` and
/// `${0}` the match, another `$name` / `${name}` nothing, a malformed `$` itself.
fn go_expand(template: &str, matched: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        let (braced, body) = match rest.strip_prefix('{') {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let len: usize = body
            .chars()
            .take_while(|&c| c.is_alphabetic() || c.is_numeric() || c == '_')
            .map(char::len_utf8)
            .sum();
        let name = &body[..len];
        let after = &body[len..];
        let after = if braced {
            after.strip_prefix('}')
        } else {
            Some(after)
        };
        match after {
            Some(after) if !name.is_empty() => {
                if name == "0" {
                    out.push_str(matched);
                }
                rest = after;
            }
            _ => out.push('$'),
        }
    }
    out.push_str(rest);
    out
}
