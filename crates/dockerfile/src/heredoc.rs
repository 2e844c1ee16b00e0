//! Heredocs of RUN / COPY / ADD (`parser/parser.go` heredocsFromLine + ParseHeredoc): any
//! whole shell word of the form `[fd]<<[-]NAME` opens one, in order, and each body runs to a
//! line equal to NAME (after stripping leading tabs for `<<-`).

use super::expand::{dequote, split_words};
use super::source::Cursor;

/// One here-document: its terminator name, flags and body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Heredoc {
    pub name: String,
    /// False when the name was quoted (`<<"EOF"`, `<<'EOF'`): no variable expansion.
    pub expand: bool,
    /// `<<-`: leading tabs are stripped from the body lines (see [`Heredoc::body`]).
    pub chomp: bool,
    /// `2<<EOF` redirects file descriptor 2.
    pub fd: Option<u32>,
    /// Body as written, every line ending with `\n`, terminator excluded.
    pub content: String,
    /// First body line and the terminator line (1-based).
    pub line: usize,
    pub end_line: usize,
}

impl Heredoc {
    /// The body the build sees: with `<<-`, leading tabs removed from every line.
    pub fn body(&self) -> String {
        if !self.chomp {
            return self.content.clone();
        }
        self.content
            .split_inclusive('\n')
            .map(|l| l.trim_start_matches('\t'))
            .collect()
    }
}

/// A heredoc opener found on an instruction line; `start` is its byte offset in the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeredocHead {
    pub name: String,
    pub expand: bool,
    pub chomp: bool,
    pub fd: Option<u32>,
    pub start: usize,
}

/// Heredoc openers in a joined instruction line (BuildKit lexes with `\` whatever the escape).
pub(crate) fn heads(line: &str) -> Vec<HeredocHead> {
    if !line.contains("<<") {
        return Vec::new();
    }
    split_words(line, '\\')
        .into_iter()
        .filter_map(|w| head(&w.text, w.start))
        .collect()
}

fn head(word: &str, start: usize) -> Option<HeredocHead> {
    let digits = word.bytes().take_while(u8::is_ascii_digit).count();
    let rest = word[digits..].strip_prefix("<<")?;
    let (chomp, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return None;
    }
    let name = dequote(rest, '\\');
    if name.is_empty() {
        return None;
    }
    Some(HeredocHead {
        name,
        expand: !rest.contains(['\'', '"']),
        chomp,
        fd: if digits == 0 {
            None
        } else {
            word[..digits].parse().ok()
        },
        start,
    })
}

/// Read the bodies, in order, from the lines after the instruction. On a missing
/// terminator, returns the head that was left open.
pub(crate) fn read_bodies(
    cursor: &mut Cursor<'_>,
    heads: &[HeredocHead],
) -> Result<Vec<Heredoc>, usize> {
    let mut docs = Vec::with_capacity(heads.len());
    for (k, h) in heads.iter().enumerate() {
        let first = cursor.next + 1;
        let mut content = String::new();
        let end_line = loop {
            let Some((i, raw)) = cursor.next_raw() else {
                return Err(k);
            };
            let candidate = if h.chomp {
                raw.trim_start_matches('\t')
            } else {
                raw
            };
            if candidate == h.name {
                break i + 1;
            }
            content.push_str(raw);
            content.push('\n');
        };
        docs.push(Heredoc {
            name: h.name.clone(),
            expand: h.expand,
            chomp: h.chomp,
            fd: h.fd,
            content,
            line: first,
            end_line,
        });
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_heads_anywhere_on_the_line() {
        let h = heads("RUN <<A <<-'B' 2<<\"C\" cat >/f <<EOF");
        let names: Vec<_> = h.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, vec!["A", "B", "C", "EOF"]);
        assert!(h[0].expand && !h[1].expand && !h[2].expand);
        assert!(h[1].chomp);
        assert_eq!(h[2].fd, Some(2));
        assert_eq!(h[3].start, 30);
    }

    #[test]
    fn ignores_quoted_and_glued_markers() {
        assert!(heads("RUN echo '<<EOF' \"<<X\" a<<B <<").is_empty());
    }

    #[test]
    fn chomped_body() {
        let d = Heredoc {
            name: "E".into(),
            expand: true,
            chomp: true,
            fd: None,
            content: "\t\ta\n\tb\n".into(),
            line: 2,
            end_line: 4,
        };
        assert_eq!(d.body(), "a\nb\n");
    }
}
