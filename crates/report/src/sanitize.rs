//! Text from a build (its output, the Dockerfile's instruction text, the daemon's error
//! messages) may carry any escape sequence. Nothing of it reaches a terminal raw: a log line
//! keeps its SGR colours (when colour is on) and loses every other escape sequence and
//! control character, so it cannot move the cursor, clear the screen, retitle the terminal
//! or hide text; a name shows its control characters escaped (`\x1b`).
//!
//! One tokenizer serves the plain progress and the TUI (which turns the SGR tokens into
//! ratatui styles in `tui::ansi`). Pure: no I/O but the writer it is given.

use std::fmt::Write as _;
use std::io;

use stagescope_fs::shown_escaped;

#[derive(Debug, PartialEq)]
pub enum Token<'a> {
    Text(&'a str),
    /// The parameters of an SGR sequence (`1;31` of `ESC [ 1;31 m`), digits, `;` and `:`.
    Sgr(&'a str),
    /// `\r` or a tab: handled by the consumer, which knows the column.
    Control(char),
}

const ESC: u8 = 0x1B;
const BEL: u8 = 0x07;

/// The C1 control (U+0080..=U+009F, `0xC2 0x80..=0x9F` in UTF-8) starting at byte `i`.
fn c1_at(b: &[u8], i: usize) -> Option<u8> {
    if b[i] != 0xC2 {
        return None;
    }
    b.get(i + 1).copied().filter(|c| (0x80..=0x9F).contains(c))
}

/// The end of a control string (OSC, DCS, SOS, PM, APC) whose body starts at `j`: after
/// BEL, ST (`ESC \` or U+009C), or before any other ESC, which a terminal takes as the start
/// of the next sequence.
fn string_end(b: &[u8], mut j: usize) -> usize {
    while j < b.len() {
        match b[j] {
            BEL => return j + 1,
            ESC if b.get(j + 1) == Some(&b'\\') => return j + 2,
            ESC => return j,
            _ if c1_at(b, j) == Some(0x9C) => return j + 2,
            _ => j += 1,
        }
    }
    j
}

/// The end of a CSI sequence whose parameters start at `j`, and its parameters when it is
/// an SGR made of digits, `;` and `:` only.
fn csi_end(s: &str, params: usize) -> (usize, Option<&str>) {
    let b = s.as_bytes();
    let mut j = params;
    while j < b.len() && (0x20..=0x3F).contains(&b[j]) {
        j += 1;
    }
    if j >= b.len() || !(0x40..=0x7E).contains(&b[j]) {
        // Cut short: what follows is text again.
        return (j, None);
    }
    let p = &s[params..j];
    let sgr = b[j] == b'm'
        && p.bytes()
            .all(|x| x.is_ascii_digit() || x == b';' || x == b':');
    (j + 1, sgr.then_some(p))
}

/// Splits a line into text runs, SGR parameter strings and the controls worth keeping
/// (`\r`, tab); every other escape sequence and C0/C1 control character is dropped.
pub fn tokens<'a>(s: &'a str) -> Vec<Token<'a>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut text_start = 0;
    let flush = |out: &mut Vec<Token<'a>>, from: usize, to: usize| {
        if to > from {
            out.push(Token::Text(&s[from..to]));
        }
    };
    while i < b.len() {
        let c = b[i];
        let c1 = c1_at(b, i);
        if c == ESC || c1.is_some() {
            flush(&mut out, text_start, i);
            // The sequence's kind: the byte after ESC, or the C1 control's 7-bit form
            // (U+009B is `ESC [`).
            let kind = match c1 {
                Some(x) => Some(x - 0x40),
                None => b.get(i + 1).copied(),
            };
            let j = match kind {
                Some(b'[') => {
                    let (end, sgr) = csi_end(s, i + 2);
                    out.extend(sgr.map(Token::Sgr));
                    end
                }
                Some(b']' | b'P' | b'X' | b'^' | b'_') => string_end(b, i + 2),
                _ if c1.is_some() => i + 2,
                None => b.len(),
                Some(_) => {
                    // ESC, intermediates, one final byte (ESC 7, ESC ( B, ESC c, ...). A
                    // control or another ESC in its place is not eaten: it is read next.
                    let mut j = i + 1;
                    while j < b.len() && (0x20..=0x2F).contains(&b[j]) {
                        j += 1;
                    }
                    if j < b.len() && (0x30..=0x7E).contains(&b[j]) {
                        j += 1;
                    }
                    j
                }
            };
            i = j.min(b.len());
            text_start = i;
        } else if c < 0x20 || c == 0x7F {
            flush(&mut out, text_start, i);
            if c == b'\r' || c == b'\t' {
                out.push(Token::Control(c as char));
            }
            i += 1;
            text_start = i;
        } else {
            i += 1;
        }
    }
    flush(&mut out, text_start, b.len());
    out
}

/// Where the shown tokens of a line start: after its last `\r` that has text behind it, as
/// a terminal would show a line that rewrites itself (a progress bar). Linear, however many
/// `\r` a line holds.
pub fn visible_from(toks: &[Token<'_>]) -> usize {
    let Some(last_text) = toks.iter().rposition(|t| matches!(t, Token::Text(_))) else {
        return 0;
    };
    toks[..last_text]
        .iter()
        .rposition(|t| *t == Token::Control('\r'))
        .map_or(0, |n| n + 1)
}

/// Spaces a tab at column `col` stands for (stops every 8 columns).
pub fn expand_tab(col: usize) -> usize {
    8 - col % 8
}

fn push_sgr(out: &mut String, params: &str) {
    out.push_str("\x1b[");
    out.push_str(params);
    out.push('m');
}

/// One log line as it may reach a terminal: SGR kept when `colour`, every other escape
/// sequence and control character removed, tabs expanded, and only what follows the last
/// `\r` (the SGR before it still colours it).
pub fn line(s: &str, colour: bool) -> String {
    if !s.bytes().any(|b| b < 0x20 || b == 0x7F || b == 0xC2) {
        return s.to_string();
    }
    let toks = tokens(s);
    let start = visible_from(&toks);
    let mut out = String::with_capacity(s.len());
    if colour {
        for t in &toks[..start] {
            if let Token::Sgr(p) = t {
                push_sgr(&mut out, p);
            }
        }
    }
    let mut col = 0;
    for t in &toks[start..] {
        match t {
            Token::Text(x) => {
                out.push_str(x);
                col += x.chars().count();
            }
            Token::Sgr(p) if colour => push_sgr(&mut out, p),
            Token::Control('\t') => {
                let n = expand_tab(col);
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            Token::Sgr(_) | Token::Control(_) => {}
        }
    }
    out
}

/// The text alone, for search and for writing a log to a file.
pub fn plain(s: &str) -> String {
    line(s, false)
}

/// Text of several lines (an error message): each line as [`line`], newlines kept.
pub fn text(s: &str, colour: bool) -> String {
    s.split('\n')
        .map(|l| line(l, colour))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A name or a one-line label (instruction text, stage name, image id): its control
/// characters (C0, DEL, C1) and bidirectional overrides shown as `\xNN` per UTF-8 byte, like file names, so that what a
/// hostile name holds is seen rather than done.
pub fn name(s: &str) -> String {
    if !s.chars().any(shown_escaped) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if shown_escaped(c) {
            for byte in c.encode_utf8(&mut [0u8; 4]).bytes() {
                let _ = write!(out, "\\x{byte:02x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether output may carry colour: never with `NO_COLOR` set to anything non-empty; always
/// with `FORCE_COLOR` set to anything non-empty but `0`; otherwise when it goes to a
/// terminal.
pub fn colour_allowed(is_tty: bool, no_color: Option<&str>, force_color: Option<&str>) -> bool {
    if no_color.is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if force_color.is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    is_tty
}

/// serde_json's compact output, with DEL and the C1 controls escaped too (`\u009b`):
/// serde_json escapes only U+0000..=U+001F, and a terminal may take a raw U+009B for CSI.
struct ControlEscaping;

impl serde_json::ser::Formatter for ControlEscaping {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_control() {
                w.write_all(&fragment.as_bytes()[start..i])?;
                write!(w, "\\u{:04x}", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&fragment.as_bytes()[start..])
    }
}

/// One NDJSON line in which no control character appears raw.
pub(crate) fn json_line(out: &mut impl io::Write, v: &impl serde::Serialize) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(&mut *out, ControlEscaping);
    v.serialize(&mut ser).map_err(io::Error::other)?;
    out.write_all(b"\n")
}

#[cfg(test)]
#[path = "sanitize_tests.rs"]
mod tests;
