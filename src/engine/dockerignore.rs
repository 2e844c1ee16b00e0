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
//!    `.+()|{}$` escaped). That regexp is then parsed with Go RE2 syntax rules and run by a
//!    small Thompson-NFA matcher, so odd inputs (`[*]`, `[[:digit:]]`, `a^b`) behave as in
//!    Docker.
//!
//! Paths passed to the matcher are slash-separated and relative to the context root.

use std::fmt;

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
    Regexp(Regex),
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
    pub fn must_descend(&self, dir: &str) -> bool {
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
            Kind::Regexp(Regex::new(&re)?)
        }
    })
}

// ---------------------------------------------------------------------------------------
// A small RE2-syntax regexp engine covering everything the translation above can emit.
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum ClassItem {
    Range(char, char),
    /// Matches chars *not* in these ranges (a negated nested class like `\D`, `[:^alpha:]`).
    NotIn(Vec<(char, char)>),
}

#[derive(Debug, Clone)]
struct Class {
    items: Vec<ClassItem>,
    negated: bool,
}

impl Class {
    fn from_ranges(ranges: &[(char, char)], negated: bool) -> Self {
        Class {
            items: ranges
                .iter()
                .map(|&(a, b)| ClassItem::Range(a, b))
                .collect(),
            negated,
        }
    }

    fn matches(&self, c: char) -> bool {
        let hit = self.items.iter().any(|it| match it {
            ClassItem::Range(lo, hi) => *lo <= c && c <= *hi,
            ClassItem::NotIn(r) => !r.iter().any(|(lo, hi)| *lo <= c && c <= *hi),
        });
        hit != self.negated
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Assertion {
    BeginText,
    EndText,
    WordBoundary,
    NotWordBoundary,
}

#[derive(Debug, Clone)]
enum Node {
    Char(char),
    Class(Class),
    AnyNotNl,
    Assert(Assertion),
    Concat(Vec<Node>),
    Star(Box<Node>),
    Plus(Box<Node>),
    Quest(Box<Node>),
}

#[derive(Debug, Clone)]
enum Inst {
    Char(char),
    Class(Class),
    AnyNotNl,
    Assert(Assertion),
    Split(usize, usize),
    Jmp(usize),
    Match,
}

/// A compiled regular expression (Go `regexp` semantics for the supported syntax).
#[derive(Debug, Clone)]
struct Regex {
    prog: Vec<Inst>,
}

const DIGIT: &[(char, char)] = &[('0', '9')];
const SPACE: &[(char, char)] = &[('\t', '\n'), ('\x0c', '\r'), (' ', ' ')];
const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];

fn posix_class(name: &str) -> Option<&'static [(char, char)]> {
    Some(match name {
        "alnum" => &[('0', '9'), ('A', 'Z'), ('a', 'z')],
        "alpha" => &[('A', 'Z'), ('a', 'z')],
        "ascii" => &[('\0', '\x7f')],
        "blank" => &[('\t', '\t'), (' ', ' ')],
        "cntrl" => &[('\0', '\x1f'), ('\x7f', '\x7f')],
        "digit" => DIGIT,
        "graph" => &[('!', '~')],
        "lower" => &[('a', 'z')],
        "print" => &[(' ', '~')],
        "punct" => &[('!', '/'), (':', '@'), ('[', '`'), ('{', '~')],
        "space" => &[('\t', '\r'), (' ', ' ')],
        "upper" => &[('A', 'Z')],
        "word" => WORD,
        "xdigit" => &[('0', '9'), ('A', 'F'), ('a', 'f')],
        _ => return None,
    })
}

fn perl_class(c: char) -> Option<(&'static [(char, char)], bool)> {
    Some(match c {
        'd' => (DIGIT, false),
        'D' => (DIGIT, true),
        's' => (SPACE, false),
        'S' => (SPACE, true),
        'w' => (WORD, false),
        'W' => (WORD, true),
        _ => return None,
    })
}

struct Parser<'a> {
    s: &'a [char],
    pos: usize,
}

impl Parser<'_> {
    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} in translated regexp"))
    }

    /// Go `parseEscape` (the single-char part); `pos` is just after the backslash.
    fn parse_escape(&mut self) -> Result<char, String> {
        let Some(&c) = self.s.get(self.pos) else {
            return self.err("trailing backslash");
        };
        self.pos += 1;
        if c.is_ascii() && !c.is_ascii_alphanumeric() {
            return Ok(c);
        }
        let is_oct = |c: Option<&char>| matches!(c, Some('0'..='7'));
        match c {
            '1'..='7' | '0' => {
                if c != '0' && !is_oct(self.s.get(self.pos)) {
                    return self.err("invalid escape (backreference)");
                }
                let mut r = c as u32 - '0' as u32;
                for _ in 1..3 {
                    if !is_oct(self.s.get(self.pos)) {
                        break;
                    }
                    r = r * 8 + (self.s[self.pos] as u32 - '0' as u32);
                    self.pos += 1;
                }
                char::from_u32(r).ok_or_else(|| "invalid escape".to_string())
            }
            'x' => {
                let Some(&c1) = self.s.get(self.pos) else {
                    return self.err("invalid escape");
                };
                self.pos += 1;
                if c1 == '{' {
                    let mut r: u32 = 0;
                    let mut n = 0;
                    loop {
                        let Some(&d) = self.s.get(self.pos) else {
                            return self.err("invalid escape");
                        };
                        self.pos += 1;
                        if d == '}' {
                            break;
                        }
                        let Some(v) = d.to_digit(16) else {
                            return self.err("invalid escape");
                        };
                        r = r * 16 + v;
                        if r > 0x10ffff {
                            return self.err("invalid escape");
                        }
                        n += 1;
                    }
                    if n == 0 {
                        return self.err("invalid escape");
                    }
                    return char::from_u32(r).ok_or_else(|| "invalid escape".to_string());
                }
                let Some(&c2) = self.s.get(self.pos) else {
                    return self.err("invalid escape");
                };
                self.pos += 1;
                match (c1.to_digit(16), c2.to_digit(16)) {
                    (Some(x), Some(y)) => {
                        char::from_u32(x * 16 + y).ok_or_else(|| "invalid escape".to_string())
                    }
                    _ => self.err("invalid escape"),
                }
            }
            'a' => Ok('\x07'),
            'f' => Ok('\x0c'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            't' => Ok('\t'),
            'v' => Ok('\x0b'),
            _ => self.err("invalid or unsupported escape"),
        }
    }

    fn parse_class(&mut self) -> Result<Class, String> {
        // `pos` is just after '['.
        let mut class = Class {
            items: Vec::new(),
            negated: false,
        };
        if self.s.get(self.pos) == Some(&'^') {
            class.negated = true;
            self.pos += 1;
        }
        let mut first = true;
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return self.err("missing closing ]");
            };
            if c == ']' && !first {
                self.pos += 1;
                return Ok(class);
            }
            first = false;
            // POSIX [:name:] / [:^name:]
            if c == '[' && self.s.get(self.pos + 1) == Some(&':') {
                let rest = &self.s[self.pos + 2..];
                if let Some(end) = rest.windows(2).position(|w| w == [':', ']']) {
                    let name: String = rest[..end].iter().collect();
                    let (neg, name) = match name.strip_prefix('^') {
                        Some(n) => (true, n.to_string()),
                        None => (false, name),
                    };
                    let Some(ranges) = posix_class(&name) else {
                        return self.err("invalid character class range");
                    };
                    push_named(&mut class, ranges, neg);
                    self.pos += 2 + end + 2;
                    continue;
                }
            }
            if c == '\\' {
                match self.s.get(self.pos + 1) {
                    Some('p') | Some('P') => return self.err("unsupported \\p class"),
                    Some(&e) => {
                        if let Some((ranges, neg)) = perl_class(e) {
                            push_named(&mut class, ranges, neg);
                            self.pos += 2;
                            continue;
                        }
                    }
                    None => {}
                }
            }
            let lo = self.class_char()?;
            let mut hi = lo;
            if self.s.get(self.pos) == Some(&'-')
                && self.s.get(self.pos + 1).is_some_and(|c| *c != ']')
            {
                self.pos += 1;
                hi = self.class_char()?;
                if hi < lo {
                    return self.err("invalid character class range");
                }
            }
            class.items.push(ClassItem::Range(lo, hi));
        }
    }

    fn class_char(&mut self) -> Result<char, String> {
        let Some(&c) = self.s.get(self.pos) else {
            return self.err("missing closing ]");
        };
        self.pos += 1;
        if c == '\\' {
            return self.parse_escape();
        }
        Ok(c)
    }

    fn parse_concat(&mut self, in_group: bool) -> Result<Node, String> {
        let mut items: Vec<Node> = Vec::new();
        let mut last_was_repeat = false;
        while let Some(&c) = self.s.get(self.pos) {
            self.pos += 1;
            match c {
                '(' => {
                    if self.s.get(self.pos) == Some(&'?') {
                        return self.err("unsupported group flags");
                    }
                    items.push(self.parse_concat(true)?);
                    last_was_repeat = false;
                    continue;
                }
                ')' => {
                    if in_group {
                        return Ok(Node::Concat(items));
                    }
                    return self.err("unexpected )");
                }
                '*' | '+' | '?' => {
                    if last_was_repeat {
                        if c == '?' {
                            // non-greedy marker: irrelevant for a yes/no match
                            last_was_repeat = false;
                            continue;
                        }
                        return self.err("invalid nested repetition operator");
                    }
                    let Some(prev) = items.pop() else {
                        return self.err("missing argument to repetition operator");
                    };
                    let b = Box::new(prev);
                    items.push(match c {
                        '*' => Node::Star(b),
                        '+' => Node::Plus(b),
                        _ => Node::Quest(b),
                    });
                    last_was_repeat = true;
                    continue;
                }
                '[' => items.push(Node::Class(self.parse_class()?)),
                '.' => items.push(Node::AnyNotNl),
                '^' => items.push(Node::Assert(Assertion::BeginText)),
                '$' => items.push(Node::Assert(Assertion::EndText)),
                '|' => return self.err("unsupported alternation"),
                '\\' => match self.s.get(self.pos).copied() {
                    Some('A') => {
                        self.pos += 1;
                        items.push(Node::Assert(Assertion::BeginText));
                    }
                    Some('z') => {
                        self.pos += 1;
                        items.push(Node::Assert(Assertion::EndText));
                    }
                    Some('b') => {
                        self.pos += 1;
                        items.push(Node::Assert(Assertion::WordBoundary));
                    }
                    Some('B') => {
                        self.pos += 1;
                        items.push(Node::Assert(Assertion::NotWordBoundary));
                    }
                    Some('Q') => {
                        self.pos += 1;
                        while self.pos < self.s.len() {
                            if self.s[self.pos] == '\\' && self.s.get(self.pos + 1) == Some(&'E') {
                                self.pos += 2;
                                break;
                            }
                            items.push(Node::Char(self.s[self.pos]));
                            self.pos += 1;
                        }
                    }
                    Some('p') | Some('P') | Some('C') => {
                        return self.err("unsupported escape");
                    }
                    Some(e) if perl_class(e).is_some() => {
                        self.pos += 1;
                        if let Some((r, neg)) = perl_class(e) {
                            items.push(Node::Class(Class::from_ranges(r, neg)));
                        }
                    }
                    _ => items.push(Node::Char(self.parse_escape()?)),
                },
                c => items.push(Node::Char(c)),
            }
            last_was_repeat = false;
        }
        if in_group {
            return self.err("missing closing )");
        }
        Ok(Node::Concat(items))
    }
}

fn push_named(class: &mut Class, ranges: &[(char, char)], negated: bool) {
    if negated {
        class.items.push(ClassItem::NotIn(ranges.to_vec()));
    } else {
        class
            .items
            .extend(ranges.iter().map(|&(a, b)| ClassItem::Range(a, b)));
    }
}

impl Regex {
    fn new(re: &str) -> Result<Regex, String> {
        let chars: Vec<char> = re.chars().collect();
        let mut p = Parser { s: &chars, pos: 0 };
        let node = p.parse_concat(false)?;
        let mut prog = Vec::new();
        emit(&node, &mut prog);
        prog.push(Inst::Match);
        Ok(Regex { prog })
    }

    /// Go `MatchString` (unanchored search; our expressions start with `^`).
    fn is_match(&self, text: &str) -> bool {
        let t: Vec<char> = text.chars().collect();
        let n = self.prog.len();
        let mut clist: Vec<usize> = Vec::with_capacity(n);
        let mut nlist: Vec<usize> = Vec::with_capacity(n);
        let mut seen = vec![usize::MAX; n];
        for pos in 0..=t.len() {
            // Unanchored: a new thread may start at every position.
            self.add(&mut clist, &mut seen, 0, pos, &t, pos);
            if clist.iter().any(|&pc| matches!(self.prog[pc], Inst::Match)) {
                return true;
            }
            if pos == t.len() {
                break;
            }
            let c = t[pos];
            nlist.clear();
            for &pc in &clist {
                let ok = match &self.prog[pc] {
                    Inst::Char(x) => *x == c,
                    Inst::Class(cl) => cl.matches(c),
                    Inst::AnyNotNl => c != '\n',
                    _ => false,
                };
                if ok {
                    self.add(&mut nlist, &mut seen, pc + 1, pos + 1, &t, pos + 1);
                }
            }
            std::mem::swap(&mut clist, &mut nlist);
        }
        false
    }

    fn add(
        &self,
        list: &mut Vec<usize>,
        seen: &mut [usize],
        pc: usize,
        pos: usize,
        t: &[char],
        gen_: usize,
    ) {
        let mut stack = vec![pc];
        while let Some(pc) = stack.pop() {
            if seen[pc] == gen_ {
                continue;
            }
            seen[pc] = gen_;
            match &self.prog[pc] {
                Inst::Jmp(x) => stack.push(*x),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Assert(a) => {
                    let word = |i: Option<usize>| i.and_then(|i| t.get(i)).is_some_and(is_word);
                    let ok = match a {
                        Assertion::BeginText => pos == 0,
                        Assertion::EndText => pos == t.len(),
                        Assertion::WordBoundary => word(pos.checked_sub(1)) != word(Some(pos)),
                        Assertion::NotWordBoundary => word(pos.checked_sub(1)) == word(Some(pos)),
                    };
                    if ok {
                        stack.push(pc + 1);
                    }
                }
                _ => list.push(pc),
            }
        }
    }
}

fn is_word(c: &char) -> bool {
    c.is_ascii_alphanumeric() || *c == '_'
}

fn emit(node: &Node, prog: &mut Vec<Inst>) {
    match node {
        Node::Char(c) => prog.push(Inst::Char(*c)),
        Node::Class(c) => prog.push(Inst::Class(c.clone())),
        Node::AnyNotNl => prog.push(Inst::AnyNotNl),
        Node::Assert(a) => prog.push(Inst::Assert(*a)),
        Node::Concat(items) => items.iter().for_each(|n| emit(n, prog)),
        Node::Star(n) => {
            let l1 = prog.len();
            prog.push(Inst::Split(0, 0));
            emit(n, prog);
            prog.push(Inst::Jmp(l1));
            let l3 = prog.len();
            prog[l1] = Inst::Split(l1 + 1, l3);
        }
        Node::Plus(n) => {
            let l1 = prog.len();
            emit(n, prog);
            let l2 = prog.len();
            prog.push(Inst::Split(l1, l2 + 1));
        }
        Node::Quest(n) => {
            let l1 = prog.len();
            prog.push(Inst::Split(0, 0));
            emit(n, prog);
            let l2 = prog.len();
            prog[l1] = Inst::Split(l1 + 1, l2);
        }
    }
}

#[cfg(test)]
mod tests;
