//! Bytes -> checked text -> physical lines -> parser directives -> logical lines, following
//! BuildKit's `parser/parser.go` (BOM, `\r\n`, comment and blank lines dropped even inside a
//! continuation, the continuation being the escape character at the end of a line) and
//! `parser/directives.go` (directives only at the very top, keys case-insensitive, one of each).

use super::error::DockerfileError;

const BOM: &str = "\u{feff}";

/// Check that the input is text BuildKit could mean, and drop a leading byte-order mark.
pub(crate) fn decode(bytes: &[u8]) -> Result<String, DockerfileError> {
    let bytes = bytes.strip_prefix(BOM.as_bytes()).unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let ok = &bytes[..e.valid_up_to()];
            let (line, col) =
                position_in(std::str::from_utf8(ok).unwrap_or_default(), e.valid_up_to());
            return Err(DockerfileError::new(
                line,
                col,
                "not a text file: invalid UTF-8 (binary input?)",
            ));
        }
    };
    if let Some(nul) = text.find('\0') {
        let (line, col) = position_in(text, nul);
        return Err(DockerfileError::new(
            line,
            col,
            "not a text file: NUL byte (binary input?)",
        ));
    }
    Ok(text.to_string())
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn position_in(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// One physical line: `start..end` is its content without `\n` / `\r\n`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PhysLine {
    pub start: usize,
    pub end: usize,
}

pub(crate) fn physical_lines(text: &str) -> Vec<PhysLine> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let (end, next) = match text[start..].find('\n') {
            Some(i) => (start + i, start + i + 1),
            None => (text.len(), text.len()),
        };
        let end = if text[start..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        lines.push(PhysLine { start, end });
        start = next;
    }
    lines
}

/// A parser directive (`# syntax=…`, `# escape=…`, `# check=…`) from the top of the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Directive {
    /// Lower-cased key.
    pub name: String,
    pub value: String,
    pub line: usize,
}

const KNOWN_DIRECTIVES: [&str; 3] = ["syntax", "escape", "check"];

/// Read directives from the top; the first line that is not a known directive ends them.
pub(crate) fn parse_directives(
    text: &str,
    lines: &[PhysLine],
) -> Result<(Vec<Directive>, char), DockerfileError> {
    let mut found: Vec<Directive> = Vec::new();
    let mut escape = '\\';
    for (i, l) in lines.iter().enumerate() {
        let raw = text[l.start..l.end].trim_start();
        let Some((key, value)) = directive_parts(raw) else {
            break;
        };
        let key = key.to_ascii_lowercase();
        if !KNOWN_DIRECTIVES.contains(&key.as_str()) {
            break;
        }
        if found.iter().any(|d| d.name == key) {
            return Err(DockerfileError::new(
                i + 1,
                1,
                format!("only one {key} parser directive can be used"),
            ));
        }
        if key == "escape" {
            escape = match value {
                "\\" => '\\',
                "`" => '`',
                other => {
                    return Err(DockerfileError::new(
                        i + 1,
                        1,
                        format!("invalid escape token '{other}' does not match ` or \\"),
                    ));
                }
            };
        }
        found.push(Directive {
            name: key,
            value: value.to_string(),
            line: i + 1,
        });
    }
    Ok((found, escape))
}

/// `#` ws* key ws* `=` ws* value ws*, key `[A-Za-z][A-Za-z0-9]*`, value non-empty.
fn directive_parts(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let key_len = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(rest.len(), |(i, _)| i);
    if key_len == 0 {
        return None;
    }
    let (key, rest) = rest.split_at(key_len);
    let value = rest.trim_start().strip_prefix('=')?.trim();
    if value.is_empty() {
        return None;
    }
    Some((key, value))
}

/// An instruction's text with its continuations joined, as BuildKit joins them, and for every
/// byte of that text the byte offset in the source it came from.
#[derive(Debug, Clone)]
pub(crate) struct LogicalLine {
    pub text: String,
    /// `map[i]` = source offset of `text[i]`; one extra entry for the end.
    pub map: Vec<usize>,
    /// 0-based index of the first and last physical line.
    pub first: usize,
    pub last: usize,
}

impl LogicalLine {
    pub(crate) fn source_offset(&self, i: usize) -> usize {
        self.map[i.min(self.map.len() - 1)]
    }
}

/// Walks physical lines; hands out logical lines, and raw lines for heredoc bodies.
pub(crate) struct Cursor<'a> {
    pub text: &'a str,
    pub lines: &'a [PhysLine],
    pub next: usize,
    pub escape: char,
}

impl<'a> Cursor<'a> {
    pub(crate) fn raw(&self, i: usize) -> &'a str {
        &self.text[self.lines[i].start..self.lines[i].end]
    }

    /// Next raw physical line (for heredoc bodies), with its index.
    pub(crate) fn next_raw(&mut self) -> Option<(usize, &'a str)> {
        let i = self.next;
        if i >= self.lines.len() {
            return None;
        }
        self.next += 1;
        Some((i, self.raw(i)))
    }

    pub(crate) fn next_logical(&mut self) -> Option<LogicalLine> {
        // Skip comment and blank lines before an instruction.
        loop {
            let (i, raw) = self.next_raw()?;
            let trimmed = raw.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let mut logical = LogicalLine {
                text: String::new(),
                map: Vec::new(),
                first: i,
                last: i,
            };
            let offset = self.lines[i].start + (raw.len() - trimmed.len());
            let mut continues = self.append(&mut logical, trimmed, offset);
            if logical.text.is_empty() && !continues {
                continue;
            }
            while continues {
                let Some((j, raw)) = self.next_raw() else {
                    break;
                };
                logical.last = j;
                let t = raw.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                continues = self.append(&mut logical, raw, self.lines[j].start);
            }
            let end = self.lines[logical.last].end;
            logical.map.push(end);
            return Some(logical);
        }
    }

    /// Append one line's content; true when it ends with the continuation escape. As
    /// BuildKit's lineContinuationRegex (`([^E])E[ \t]*$|^E[ \t]*$`), an escape right after
    /// another escape (`echo a\\`) is no continuation.
    fn append(&self, logical: &mut LogicalLine, content: &str, offset: usize) -> bool {
        let kept = content.trim_end_matches([' ', '\t']);
        let (part, continues) = match kept.strip_suffix(self.escape) {
            Some(p) if !p.ends_with(self.escape) => (p, true),
            _ => (content, false),
        };
        logical.text.push_str(part);
        logical.map.extend((0..part.len()).map(|k| offset + k));
        continues
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logicals(text: &str, escape: char) -> Vec<(String, usize, usize)> {
        let lines = physical_lines(text);
        let mut c = Cursor {
            text,
            lines: &lines,
            next: 0,
            escape,
        };
        let mut out = Vec::new();
        while let Some(l) = c.next_logical() {
            out.push((l.text, l.first + 1, l.last + 1));
        }
        out
    }

    #[test]
    fn joins_continuations_skipping_comments_and_blank_lines() {
        let text = "FROM a\nRUN echo \\\n# note\n\n   two \\\n  three\n";
        assert_eq!(
            logicals(text, '\\'),
            vec![
                ("FROM a".into(), 1, 1),
                ("RUN echo    two   three".into(), 2, 6)
            ]
        );
    }

    #[test]
    fn crlf_and_backtick_escape() {
        let text = "FROM a\r\nRUN x `\r\n y\r\n";
        assert_eq!(
            logicals(text, '`'),
            vec![("FROM a".into(), 1, 1), ("RUN x  y".into(), 2, 3)]
        );
    }

    #[test]
    fn escaped_escape_is_no_continuation() {
        let text = "RUN echo a\\\\\nRUN b \\  \n c\n";
        assert_eq!(
            logicals(text, '\\'),
            vec![("RUN echo a\\\\".into(), 1, 1), ("RUN b  c".into(), 2, 3)]
        );
        // Under a backtick escape a trailing backslash is text, a double backtick too.
        let text = "COPY a C:\\\nRUN x ``\nRUN y `\n z\n";
        assert_eq!(
            logicals(text, '`'),
            vec![
                ("COPY a C:\\".into(), 1, 1),
                ("RUN x ``".into(), 2, 2),
                ("RUN y  z".into(), 3, 4)
            ]
        );
    }

    #[test]
    fn map_points_into_source() {
        let text = "  RUN a \\\n  b";
        let lines = physical_lines(text);
        let mut c = Cursor {
            text,
            lines: &lines,
            next: 0,
            escape: '\\',
        };
        let l = c.next_logical().unwrap();
        assert_eq!(l.text, "RUN a   b");
        let b = l.text.find('b').unwrap();
        assert_eq!(&text[l.source_offset(b)..l.source_offset(b) + 1], "b");
    }

    #[test]
    fn directives() {
        let text = "# Syntax=docker/dockerfile:1\n#escape=`\nFROM a\n";
        let (d, e) = parse_directives(text, &physical_lines(text)).unwrap();
        assert_eq!(e, '`');
        assert_eq!(d[0].name, "syntax");
        assert_eq!(d[1].value, "`");
        let bad = "# escape=x\nFROM a";
        let err = parse_directives(bad, &physical_lines(bad)).unwrap_err();
        assert!(err.message.contains("invalid escape"));
        let late = "# hello\n# escape=x\nFROM a";
        assert!(parse_directives(late, &physical_lines(late)).is_ok());
        let twice = "# escape=`\n# ESCAPE=\\\n";
        assert!(parse_directives(twice, &physical_lines(twice)).is_err());
    }

    #[test]
    fn rejects_binary_and_strips_bom() {
        assert_eq!(decode(b"\xef\xbb\xbfFROM a").unwrap(), "FROM a");
        assert_eq!(decode(b"FROM a\n\xff").unwrap_err().line, 2);
        assert!(decode(b"FROM\0").is_err());
    }
}
