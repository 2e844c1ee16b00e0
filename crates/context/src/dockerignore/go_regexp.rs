//! Go regexp syntax re-emitted as `regex` crate syntax.
//!
//! moby hands its glob-built regexp to Go's `regexp.Compile`; the `regex` crate is the same
//! RE2 family, but the two dialects part ways exactly where a glob can reach: Go has no
//! nested classes or class set operators (`[*]` becomes `[[^/]*]`, which Go reads as a class
//! of `[`, `^`, `/`), its `\d` `\s` `\w` `\b` are ASCII, it has octal escapes and `\Q..\E`,
//! `\<` is a plain `<` to Go but a word start to Rust, and Go rejects `\u`, `\pl` and `a**`,
//! which Rust accepts. So the string is read here with Go's parser rules and written back
//! out for Rust with every literal escaped; what Go would reject is an error.

/// Go `regexp.Compile` for the strings `super::compile` builds: accepts what Go accepts and
/// matches what Go matches.
pub(super) fn go_regexp(go: &str) -> Result<regex::Regex, String> {
    let rust = GoSyntax {
        s: go.chars().collect(),
        i: 0,
    }
    .translate()
    .map_err(|what| format!("{what} in translated regexp"))?;
    regex::Regex::new(&rust).map_err(|e| e.to_string())
}

/// Go's Perl classes are ASCII, and its `\s` leaves out `\v`; Rust's are Unicode.
fn perl_class(c: char) -> Option<&'static str> {
    Some(match c {
        'd' => "[0-9]",
        'D' => "[^0-9]",
        's' => r"[\t\n\f\r ]",
        'S' => r"[^\t\n\f\r ]",
        'w' => "[0-9A-Za-z_]",
        'W' => "[^0-9A-Za-z_]",
        _ => return None,
    })
}

/// Go's POSIX class names; Rust has the same names with the same (ASCII) members.
const POSIX_CLASSES: [&str; 14] = [
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// Literals go out escaped, so none can take a meaning only Rust gives it (`[`, `&&`, `--`,
/// `~~` inside a class).
fn push_literal(out: &mut String, c: char) {
    out.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
}

/// A cursor over a Go regexp, re-emitting it in `regex` crate syntax.
struct GoSyntax {
    s: Vec<char>,
    i: usize,
}

impl GoSyntax {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.s.get(self.i + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0);
        self.i += usize::from(c.is_some());
        c
    }

    fn translate(mut self) -> Result<String, &'static str> {
        let mut out = String::new();
        let mut after_repeat = false;
        while let Some(c) = self.peek(0) {
            let repeat = matches!(c, '*' | '+' | '?');
            if repeat && after_repeat {
                // Rust reads `a**` as one repetition; Go refuses it.
                return Err("invalid nested repetition operator");
            }
            after_repeat = repeat;
            if c == '\\' {
                self.escape(&mut out)?;
                continue;
            }
            self.i += 1;
            match c {
                '[' => self.class(&mut out)?,
                '*' | '+' | '?' => {
                    out.push(c);
                    if self.peek(0) == Some('?') {
                        self.i += 1;
                        out.push('?');
                    }
                }
                // `(` only ever opens moby's `(.*/)?`, so no `(?flags)` to worry about.
                '.' | '^' | '$' | '(' | ')' | '|' => out.push(c),
                c => push_literal(&mut out, c),
            }
        }
        Ok(out)
    }

    /// A `\` sequence outside a class, `i` at the `\`.
    fn escape(&mut self, out: &mut String) -> Result<(), &'static str> {
        if let Some(class) = self.class_escape()? {
            out.push_str(&class);
            return Ok(());
        }
        self.i += 1;
        let assertion = match self.peek(0) {
            Some('A') => r"\A",
            Some('z') => r"\z",
            // Go's word boundaries are ASCII ones.
            Some('b') => r"(?-u:\b)",
            Some('B') => r"(?-u:\B)",
            Some('Q') => {
                // Literal up to `\E` or the end, swallowing moby's closing `$` as Go does.
                self.i += 1;
                while let Some(c) = self.bump() {
                    if c == '\\' && self.peek(0) == Some('E') {
                        self.i += 1;
                        break;
                    }
                    push_literal(out, c);
                }
                return Ok(());
            }
            _ => {
                let c = self.char_escape()?;
                push_literal(out, c);
                return Ok(());
            }
        };
        self.i += 1;
        out.push_str(assertion);
        Ok(())
    }

    /// Go `parseEscape`: a one-character escape, `i` just past the `\`. Unlike Rust, Go has
    /// octal escapes, no `\u`, and `\<` is a plain `<`.
    fn char_escape(&mut self) -> Result<char, &'static str> {
        let c = self.bump().ok_or("trailing backslash")?;
        if c.is_ascii() && !c.is_ascii_alphanumeric() {
            return Ok(c);
        }
        let octal = |c: Option<char>| c.and_then(|c| c.to_digit(8));
        let code = match c {
            // A lone `\1`..`\7` would be a backreference, which Go does not support.
            '0'..='7' if c == '0' || octal(self.peek(0)).is_some() => {
                let mut code = u32::from(c) - u32::from('0');
                for _ in 0..2 {
                    let Some(d) = octal(self.peek(0)) else { break };
                    code = code * 8 + d;
                    self.i += 1;
                }
                code
            }
            // Only the two-digit form: moby escapes the `{` of `\x{...}`.
            'x' => {
                let mut hex = || self.bump().and_then(|c| c.to_digit(16));
                match (hex(), hex()) {
                    (Some(hi), Some(lo)) => hi * 16 + lo,
                    _ => return Err("invalid escape sequence"),
                }
            }
            'a' => 0x07,
            'f' => 0x0c,
            'n' => 0x0a,
            'r' => 0x0d,
            't' => 0x09,
            'v' => 0x0b,
            _ => return Err("invalid escape sequence"),
        };
        char::from_u32(code).ok_or("invalid escape sequence")
    }

    /// Go's class escapes (`\d`, `\pL`, ...) as a `regex` class, `i` at the `\`.
    fn class_escape(&mut self) -> Result<Option<String>, &'static str> {
        if self.peek(0) != Some('\\') {
            return Ok(None);
        }
        let class = match self.peek(1) {
            Some(p @ ('p' | 'P')) => {
                // One-letter names only: moby escapes the `{` of `\p{Greek}`.
                let body = match self.peek(2) {
                    Some(n @ ('L' | 'M' | 'N' | 'P' | 'S' | 'Z')) => format!(r"\p{n}"),
                    // Go's `C` has no unassigned code points, Rust's has.
                    Some('C') => r"\p{Cc}\p{Cf}\p{Co}".to_string(),
                    _ => return Err("invalid character class range"),
                };
                self.i += 1;
                format!("[{}{body}]", if p == 'P' { "^" } else { "" })
            }
            Some(c) => match perl_class(c) {
                Some(class) => class.to_string(),
                None => return Ok(None),
            },
            None => return Ok(None),
        };
        self.i += 2;
        Ok(Some(class))
    }

    /// Go `parseClass`, `i` just past the `[`. Go has no nested classes or set operators,
    /// so `[[^/]*]` is a class of `[`, `^`, `/` followed by `*` and a literal `]`.
    fn class(&mut self, out: &mut String) -> Result<(), &'static str> {
        out.push('[');
        if self.peek(0) == Some('^') {
            self.i += 1;
            out.push('^');
        }
        let mut first = true;
        loop {
            if self.peek(0) == Some(']') && !first {
                self.i += 1;
                out.push(']');
                return Ok(());
            }
            first = false;
            if let Some(class) = self.posix_class()? {
                out.push_str(&class);
                continue;
            }
            if let Some(class) = self.class_escape()? {
                out.push_str(&class);
                continue;
            }
            let lo = self.class_char()?;
            push_literal(out, lo);
            // `[a-]` ends in a literal `-`.
            if self.peek(0) == Some('-') && self.peek(1).is_some_and(|c| c != ']') {
                self.i += 1;
                let hi = self.class_char()?;
                if hi < lo {
                    return Err("invalid character class range");
                }
                out.push('-');
                push_literal(out, hi);
            }
        }
    }

    fn class_char(&mut self) -> Result<char, &'static str> {
        match self.bump() {
            Some('\\') => self.char_escape(),
            Some(c) => Ok(c),
            None => Err("missing closing ]"),
        }
    }

    /// Go's `[:alpha:]` / `[:^alpha:]`, `i` at the `[`. Go looks for the closing `:]`
    /// anywhere further on, even past the end of the class, and rejects unknown names.
    fn posix_class(&mut self) -> Result<Option<String>, &'static str> {
        if self.peek(0) != Some('[') || self.peek(1) != Some(':') || self.peek(2).is_none() {
            return Ok(None);
        }
        let rest = &self.s[self.i + 2..];
        let Some(len) = rest.windows(2).position(|w| w == [':', ']']) else {
            return Ok(None);
        };
        let name: String = rest[..len].iter().collect();
        if !POSIX_CLASSES.contains(&name.strip_prefix('^').unwrap_or(&name)) {
            return Err("invalid character class range");
        }
        self.i += len + 4;
        Ok(Some(format!("[[:{name}:]]")))
    }
}
