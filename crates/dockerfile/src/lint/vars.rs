//! Which variables a word uses (BuildKit's `ProcessWordWithMatches`: matched and unmatched
//! names) and BuildKit's `suggest.Search` for "did you mean".
//!
//! The expander in `shell.rs` does not report lookups; a name counts as looked up when
//! giving it a value no word could contain changes the expansion.

use std::collections::BTreeSet;

use super::super::expand::{Env, expand_word};

const PROBE: &str = "\u{1}stagescope-probe\u{1}";

/// Names after a `$` (candidates; inside single quotes they are not lookups).
fn candidates(word: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = word;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        let body = rest.strip_prefix('{').unwrap_or(rest);
        let end = body
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(body.len());
        if end > 0 {
            out.insert(body[..end].to_string());
        }
    }
    out
}

/// The result of expanding a word, and the names it used that `env` has and has not.
#[derive(Debug, Default)]
pub(super) struct Lookups {
    pub result: Option<String>,
    pub matched: BTreeSet<String>,
    pub unmatched: BTreeSet<String>,
}

pub(super) fn lookups(word: &str, escape: char, env: &Env) -> Lookups {
    let result = expand_word(word, escape, env).ok();
    let mut out = Lookups {
        result: result.clone(),
        ..Lookups::default()
    };
    let Some(result) = result else {
        return out;
    };
    for name in candidates(word) {
        let mut probe = env.clone();
        probe.insert(name.clone(), PROBE.to_string());
        let changed = expand_word(word, escape, &probe).is_ok_and(|r| r != result);
        if changed {
            if env.contains_key(&name) {
                out.matched.insert(name);
            } else {
                out.unmatched.insert(name);
            }
        }
    }
    out
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// `suggest.Search`: the closest option under distance 3; none when one matches exactly.
pub(super) fn suggest<'a>(
    val: &str,
    options: impl IntoIterator<Item = &'a String>,
) -> Option<String> {
    let mut best: Option<&String> = None;
    let mut min = 3;
    for opt in options {
        if opt == val {
            return None;
        }
        let d = levenshtein(val, opt);
        if d < min {
            min = d;
            best = Some(opt);
        }
    }
    best.cloned()
}
