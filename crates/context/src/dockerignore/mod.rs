//! `.dockerignore` parsing and matching, following moby/patternmatcher (used by the
//! docker CLI's classic-builder tar walk and by BuildKit) rule for rule.
//!
//! The pipeline mirrors the Go code:
//! 1. [`read_patterns`] is `ignorefile.ReadAll`: UTF-8 BOM stripped, lines starting with `#`
//!    (before trimming) are comments, whitespace trimmed, blank lines dropped, the part after
//!    an optional `!` is `filepath.Clean`ed and a leading `/` removed.
//! 2. [`PatternMatcher::new`] is `patternmatcher.New`: trims and cleans again, splits off `!`,
//!    and rejects what Go's `filepath.Match` rejects (unclosed `[`, trailing `\`, ...).
//! 3. Each pattern is classified like `Pattern.compile`: exact, prefix (`foo/**`), suffix
//!    (`**/foo`) or a regular expression built exactly as Go builds it (`*` -> `[^/]*`,
//!    `?` -> `[^/]`, `**` -> `(.*/)?`, `[...]` passed through, `\x` kept as a regexp escape,
//!    `.+()|{}$` escaped). Building Go's string rather than a Rust one keeps the odd inputs
//!    (`[*]`, `[[:digit:]]`, `a^*`) meaning what they mean to Docker: `go_regexp` reads it
//!    with Go's syntax rules and hands the `regex` crate an equivalent, so a pattern Go's
//!    `regexp` rejects is still an error here.
//!
//! Paths passed to the matcher are slash-separated and relative to the context root.

use std::fmt;

mod go_regexp;

use go_regexp::go_regexp;

/// A problem with a `.dockerignore` pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    /// A lone `!`.
    #[error("illegal exclusion pattern: \"!\"")]
    IllegalExclusion,
    /// A pattern Go's `filepath.Match` or `regexp` would reject.
    #[error("syntax error in .dockerignore pattern {pattern:?}: {reason}")]
    BadPattern {
        /// The pattern as written (after cleaning).
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Go's `strings.TrimSpace` (same set as Rust's Unicode `White_Space`).
fn trim_space(s: &str) -> &str {
    s.trim()
}

/// Go's `path/filepath.Clean` for Unix paths.
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            e => out.push(e),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Parse the text of a `.dockerignore` file into patterns (moby `ignorefile.ReadAll`).
pub fn read_patterns(text: &str) -> Vec<String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = trim_space(line);
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = trim_space(&pattern[1..]);
        }
        let mut p = pattern.to_string();
        if !p.is_empty() {
            p = clean_path(&p);
            if p.len() > 1 && p.starts_with('/') {
                p.remove(0);
            }
        }
        if invert {
            p.insert(0, '!');
        }
        out.push(p);
    }
    out
}

/// How a pattern is matched (Go's `matchType`).
#[derive(Debug, Clone)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regexp(regex::Regex),
}

/// One compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    cleaned: String,
    exclusion: bool,
    kind: Kind,
}

impl Pattern {
    /// True for `!` (re-include) patterns.
    pub fn exclusion(&self) -> bool {
        self.exclusion
    }

    /// The cleaned pattern text without the leading `!`.
    pub fn as_str(&self) -> &str {
        &self.cleaned
    }

    /// Does this pattern match `path` itself (no parent rule)?
    pub fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.cleaned,
            Kind::Prefix => path.starts_with(&self.cleaned[..self.cleaned.len() - 2]),
            Kind::Suffix => {
                let suffix = &self.cleaned[2..];
                if path.ends_with(suffix) {
                    return true;
                }
                suffix.starts_with('/') && path == &suffix[1..]
            }
            Kind::Regexp(re) => re.is_match(path),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exclusion {
            f.write_str("!")?;
        }
        f.write_str(&self.cleaned)
    }
}

/// Per-pattern results for a directory, handed down to its children during a walk
/// (patternmatcher's `MatchInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchInfo {
    parent_matched: Vec<bool>,
}

/// A list of patterns, later ones overriding earlier ones.
#[derive(Debug, Clone, Default)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl PatternMatcher {
    /// Compile patterns (as returned by [`read_patterns`]).
    pub fn new<I, S>(patterns: I) -> Result<Self, IgnoreError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut pm = PatternMatcher::default();
        for p in patterns {
            let p = trim_space(p.as_ref());
            if p.is_empty() {
                continue;
            }
            let mut p = clean_path(p);
            let mut exclusion = false;
            if p.starts_with('!') {
                if p.len() == 1 {
                    return Err(IgnoreError::IllegalExclusion);
                }
                exclusion = true;
                p.remove(0);
                pm.exclusions = true;
            }
            validate_glob(&p).map_err(|reason| IgnoreError::BadPattern {
                pattern: p.clone(),
                reason: reason.to_string(),
            })?;
            let kind = compile(&p).map_err(|reason| IgnoreError::BadPattern {
                pattern: p.clone(),
                reason,
            })?;
            pm.patterns.push(Pattern {
                cleaned: p,
                exclusion,
                kind,
            });
        }
        Ok(pm)
    }

    /// Parse `.dockerignore` text and compile it.
    pub fn from_dockerignore(text: &str) -> Result<Self, IgnoreError> {
        Self::new(read_patterns(text))
    }

    /// Whether any `!` pattern exists.
    pub fn exclusions(&self) -> bool {
        self.exclusions
    }

    /// The compiled patterns, in order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// True when there are no patterns at all.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Exact match of `path` only, no parent rule (`MatchesExact`).
    pub fn matches_exact(&self, path: &str) -> bool {
        let mut matched = false;
        for pat in &self.patterns {
            if pat.exclusion != matched {
                continue;
            }
            if pat.matches(path) {
                matched = !pat.exclusion;
            }
        }
        matched
    }

    /// Is `path` excluded, considering that a pattern matching any parent directory matches
    /// the path too (`MatchesOrParentMatches`; also what the daemon uses to drop the
    /// Dockerfile and `.dockerignore`).
    pub fn matches_or_parent_matches(&self, path: &str) -> bool {
        let path = clean_path(path);
        if path == "." {
            return false;
        }
        let parents = parent_prefixes(&path);
        let mut matched = false;
        for pat in &self.patterns {
            if pat.exclusion != matched {
                continue;
            }
            let mut m = pat.matches(&path);
            if !m {
                m = parents.iter().any(|p| pat.matches(p));
            }
            if m {
                matched = !pat.exclusion;
            }
        }
        matched
    }

    /// The walk-time variant (`MatchesUsingParentResults`): `parent` is the [`MatchInfo`]
    /// returned for the parent directory (`None` for entries at the root).
    pub fn matches_using_parent_results(
        &self,
        path: &str,
        parent: Option<&MatchInfo>,
    ) -> (bool, MatchInfo) {
        let parent = parent
            .map(|p| p.parent_matched.as_slice())
            .filter(|p| p.len() == self.patterns.len());
        let mut info = MatchInfo {
            parent_matched: vec![false; self.patterns.len()],
        };
        let mut matched = false;
        for (i, pat) in self.patterns.iter().enumerate() {
            let mut m = parent.is_some_and(|p| p[i]);
            if !m {
                if pat.exclusion != matched {
                    continue;
                }
                m = pat.matches(path);
                if !m && parent.is_none() {
                    m = parent_prefixes(path).iter().any(|p| pat.matches(p));
                }
            }
            info.parent_matched[i] = m;
            if m {
                matched = !pat.exclusion;
            }
        }
        (matched, info)
    }

    /// For an excluded directory: must the walk still descend because some `!` pattern's text
    /// starts with `dir/`? (Literal prefix test, exactly as the docker CLI / moby archive walk.)
    pub(crate) fn must_descend(&self, dir: &str) -> bool {
        if !self.exclusions {
            return false;
        }
        let dir_slash = format!("{dir}/");
        self.patterns
            .iter()
            .filter(|p| p.exclusion)
            .any(|p| format!("{}/", p.cleaned).starts_with(&dir_slash))
    }
}

/// "a/b/c" -> ["a", "a/b"] (Go: `filepath.Dir` split and re-joined).
fn parent_prefixes(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for (i, b) in path.char_indices() {
        if b == '/' && i > 0 {
            out.push(&path[..i]);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Go `filepath.Match` syntax check (what `patternmatcher.New` uses to reject patterns).
// ---------------------------------------------------------------------------------------

fn validate_glob(pattern: &str) -> Result<(), &'static str> {
    let b: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < b.len() {
        // scanChunk: skip stars, then the chunk up to an unbracketed '*'.
        while i < b.len() && b[i] == '*' {
            i += 1;
        }
        let start = i;
        let mut inrange = false;
        while i < b.len() {
            match b[i] {
                '\\' if i + 1 < b.len() => i += 1,
                '[' => inrange = true,
                ']' => inrange = false,
                '*' if !inrange => break,
                _ => {}
            }
            i += 1;
        }
        check_chunk(&b[start..i])?;
    }
    Ok(())
}

fn check_chunk(mut chunk: &[char]) -> Result<(), &'static str> {
    const BAD: &str = "malformed pattern (unclosed '[', empty class, bad range or trailing '\\')";
    fn get_esc(chunk: &[char]) -> Result<&[char], &'static str> {
        let mut c = chunk;
        if c.is_empty() || c[0] == '-' || c[0] == ']' {
            return Err(BAD);
        }
        if c[0] == '\\' {
            c = &c[1..];
            if c.is_empty() {
                return Err(BAD);
            }
        }
        let rest = &c[1..];
        if rest.is_empty() {
            return Err(BAD);
        }
        Ok(rest)
    }
    while !chunk.is_empty() {
        match chunk[0] {
            '[' => {
                chunk = &chunk[1..];
                if chunk.first() == Some(&'^') {
                    chunk = &chunk[1..];
                }
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    chunk = get_esc(chunk)?;
                    if chunk[0] == '-' {
                        chunk = get_esc(&chunk[1..])?;
                    }
                    nrange += 1;
                }
            }
            '\\' => {
                chunk = &chunk[1..];
                if chunk.is_empty() {
                    return Err(BAD);
                }
                chunk = &chunk[1..];
            }
            _ => chunk = &chunk[1..],
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Pattern.compile: classify, and build the same regexp string Go builds.
// ---------------------------------------------------------------------------------------

fn compile(pattern: &str) -> Result<Kind, String> {
    #[derive(PartialEq)]
    enum T {
        Exact,
        Prefix,
        Suffix,
        Regexp,
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut detected = T::Exact;
    let mut pos = 0;
    let mut iteration = 0;
    while pos < chars.len() {
        let ch = chars[pos];
        pos += 1;
        let peek = chars.get(pos).copied();
        if ch == '*' {
            if peek == Some('*') {
                pos += 1;
                if chars.get(pos) == Some(&'/') {
                    pos += 1;
                }
                if pos >= chars.len() {
                    if detected == T::Exact {
                        detected = T::Prefix;
                    } else {
                        re.push_str(".*");
                        detected = T::Regexp;
                    }
                } else {
                    re.push_str("(.*/)?");
                    detected = T::Regexp;
                }
                if iteration == 0 {
                    detected = T::Suffix;
                }
            } else {
                re.push_str("[^/]*");
                detected = T::Regexp;
            }
        } else if ch == '?' {
            re.push_str("[^/]");
            detected = T::Regexp;
        } else if ".+()|{}$".contains(ch) {
            re.push('\\');
            re.push(ch);
        } else if ch == '\\' {
            if let Some(next) = peek {
                pos += 1;
                re.push('\\');
                re.push(next);
                detected = T::Regexp;
            } else {
                re.push('\\');
            }
        } else if ch == '[' || ch == ']' {
            re.push(ch);
            detected = T::Regexp;
        } else {
            re.push(ch);
        }
        iteration += 1;
    }
    Ok(match detected {
        T::Exact => Kind::Exact,
        T::Prefix => Kind::Prefix,
        T::Suffix => Kind::Suffix,
        T::Regexp => {
            re.push('$');
            Kind::Regexp(go_regexp(&re)?)
        }
    })
}

#[cfg(test)]
mod model_tests;
#[cfg(test)]
mod tests;
