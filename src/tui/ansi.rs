//! Build output may carry any escape sequence. Only SGR (colours, bold, ...) reaches the
//! screen, so a log cannot move the cursor, clear the screen, retitle the terminal or hide
//! text. Carriage returns keep what a terminal would show: the text after the last one.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

#[derive(Debug, PartialEq)]
enum Token<'a> {
    Text(&'a str),
    Sgr(&'a str),
    /// `\r` or a tab: handled by the consumer, which knows the column.
    Control(char),
}

/// Splits a line into text runs, SGR parameter strings and the controls worth keeping;
/// every other escape sequence and control character is dropped.
fn tokens(s: &str) -> Vec<Token<'_>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut text_start = 0;
    fn flush<'a>(out: &mut Vec<Token<'a>>, s: &'a str, from: usize, to: usize) {
        if to > from {
            out.push(Token::Text(&s[from..to]));
        }
    }
    while i < b.len() {
        let c = b[i];
        // C1 CSI (U+009B) as UTF-8 is 0xC2 0x9B.
        let c1_csi = c == 0xC2 && b.get(i + 1) == Some(&0x9B);
        if c == 0x1B || c1_csi {
            flush(&mut out, s, text_start, i);
            let (kind, mut j) = if c1_csi {
                (b'[', i + 2)
            } else {
                (b.get(i + 1).copied().unwrap_or(0), i + 2)
            };
            match kind {
                b'[' => {
                    let params = j;
                    while j < b.len() && (0x20..=0x3F).contains(&b[j]) {
                        j += 1;
                    }
                    if j < b.len() && (0x40..=0x7E).contains(&b[j]) {
                        if b[j] == b'm'
                            && s[params..j]
                                .bytes()
                                .all(|x| x.is_ascii_digit() || x == b';' || x == b':')
                        {
                            out.push(Token::Sgr(&s[params..j]));
                        }
                        j += 1;
                    }
                }
                // OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \).
                b']' | b'P' | b'X' | b'^' | b'_' => {
                    while j < b.len() {
                        if b[j] == 0x07 {
                            j += 1;
                            break;
                        }
                        if b[j] == 0x1B && b.get(j + 1) == Some(&b'\\') {
                            j += 2;
                            break;
                        }
                        j += 1;
                    }
                }
                0 => j = b.len(),
                _ => {
                    // ESC, intermediates, one final byte (ESC 7, ESC ( B, ESC c, ...).
                    j = i + 1;
                    while j < b.len() && (0x20..=0x2F).contains(&b[j]) {
                        j += 1;
                    }
                    if j < b.len() {
                        j += 1;
                    }
                }
            }
            i = j.min(b.len());
            // A sequence cut in the middle of a UTF-8 char cannot happen: every byte
            // consumed above is ASCII or the end of the string.
            while !s.is_char_boundary(i) {
                i += 1;
            }
            text_start = i;
        } else if c < 0x20 || c == 0x7F {
            flush(&mut out, s, text_start, i);
            if c == b'\r' || c == b'\t' {
                out.push(Token::Control(c as char));
            }
            i += 1;
            text_start = i;
        } else {
            i += 1;
        }
    }
    flush(&mut out, s, text_start, b.len());
    out
}

/// Where the kept tokens of a line start: after its last `\r` that has text behind it.
fn visible_from(toks: &[Token<'_>]) -> usize {
    let mut start = 0;
    for (n, t) in toks.iter().enumerate() {
        if *t == Token::Control('\r') && toks[n + 1..].iter().any(|t| matches!(t, Token::Text(_))) {
            start = n + 1;
        }
    }
    start
}

fn expand_tab(col: usize) -> usize {
    8 - col % 8
}

/// The line with SGR sequences kept and everything else an escape could do removed.
pub fn sanitize(s: &str) -> String {
    let toks = tokens(s);
    let mut out = String::with_capacity(s.len());
    let mut col = 0;
    // SGR before the last `\r` still sets the colour of what follows.
    for t in &toks[..visible_from(&toks)] {
        if let Token::Sgr(p) = t {
            out.push_str("\x1b[");
            out.push_str(p);
            out.push('m');
        }
    }
    for t in &toks[visible_from(&toks)..] {
        match t {
            Token::Text(x) => {
                out.push_str(x);
                col += x.chars().count();
            }
            Token::Sgr(p) => {
                out.push_str("\x1b[");
                out.push_str(p);
                out.push('m');
            }
            Token::Control('\t') => {
                let n = expand_tab(col);
                out.extend(std::iter::repeat_n(' ', n));
                col += n;
            }
            Token::Control(_) => {}
        }
    }
    out
}

/// The text alone, for search and for writing a log to a file.
pub fn plain(s: &str) -> String {
    if !s.bytes().any(|b| b < 0x20 || b == 0x7F || b == 0xC2) {
        return s.to_string();
    }
    let toks = tokens(s);
    let mut out = String::with_capacity(s.len());
    for t in &toks[visible_from(&toks)..] {
        match t {
            Token::Text(x) => out.push_str(x),
            Token::Control('\t') => {
                let n = expand_tab(out.chars().count());
                out.extend(std::iter::repeat_n(' ', n));
            }
            _ => {}
        }
    }
    out
}

fn basic(n: u16) -> Color {
    match n {
        0 => Color::Black,
        1 => Color::Red,
        2 => Color::Green,
        3 => Color::Yellow,
        4 => Color::Blue,
        5 => Color::Magenta,
        6 => Color::Cyan,
        _ => Color::Gray,
    }
}

fn bright(n: u16) -> Color {
    match n {
        0 => Color::DarkGray,
        1 => Color::LightRed,
        2 => Color::LightGreen,
        3 => Color::LightYellow,
        4 => Color::LightBlue,
        5 => Color::LightMagenta,
        6 => Color::LightCyan,
        _ => Color::White,
    }
}

/// Applies one SGR parameter list to a style. Concealed text (8) is not honoured: a log must
/// not hide text.
pub fn apply_sgr(mut style: Style, params: &str) -> Style {
    let nums: Vec<u16> = params
        .split([';', ':'])
        .map(|p| p.parse().unwrap_or(0))
        .collect();
    let mut i = 0;
    while i < nums.len() {
        let n = nums[i];
        match n {
            0 => style = Style::default(),
            1 => style = style.add_modifier(Modifier::BOLD),
            2 => style = style.add_modifier(Modifier::DIM),
            3 => style = style.add_modifier(Modifier::ITALIC),
            4 => style = style.add_modifier(Modifier::UNDERLINED),
            7 => style = style.add_modifier(Modifier::REVERSED),
            9 => style = style.add_modifier(Modifier::CROSSED_OUT),
            22 => style = style.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => style = style.remove_modifier(Modifier::ITALIC),
            24 => style = style.remove_modifier(Modifier::UNDERLINED),
            27 => style = style.remove_modifier(Modifier::REVERSED),
            29 => style = style.remove_modifier(Modifier::CROSSED_OUT),
            30..=37 => style = style.fg(basic(n - 30)),
            39 => style.fg = None,
            40..=47 => style = style.bg(basic(n - 40)),
            49 => style.bg = None,
            90..=97 => style = style.fg(bright(n - 90)),
            100..=107 => style = style.bg(bright(n - 100)),
            38 | 48 => {
                let color = match nums.get(i + 1) {
                    Some(5) => {
                        let c = nums.get(i + 2).copied().unwrap_or(0);
                        i += 2;
                        Some(Color::Indexed(u8::try_from(c).unwrap_or(0)))
                    }
                    Some(2) => {
                        let ch = |k: usize| {
                            u8::try_from(nums.get(i + k).copied().unwrap_or(0)).unwrap_or(0)
                        };
                        let c = Color::Rgb(ch(2), ch(3), ch(4));
                        i += 4;
                        Some(c)
                    }
                    _ => None,
                };
                if let Some(c) = color {
                    style = if n == 38 { style.fg(c) } else { style.bg(c) };
                }
            }
            _ => {}
        }
        i += 1;
    }
    style
}

/// The line as styled spans, starting from `base` (stderr is drawn in a different colour).
pub fn to_line(s: &str, base: Style) -> Line<'static> {
    let toks = tokens(s);
    let start = visible_from(&toks);
    let mut style = base;
    for t in &toks[..start] {
        if let Token::Sgr(p) = t {
            style = base.patch(apply_sgr(Style::default(), p)).patch(style);
        }
    }
    let mut spans = Vec::new();
    let mut col = 0;
    for t in &toks[start..] {
        match t {
            Token::Text(x) => {
                col += x.chars().count();
                spans.push(Span::styled((*x).to_string(), style));
            }
            Token::Sgr(p) => {
                let next = apply_sgr(style, p);
                // A reset returns to the stream's own colour, not the terminal default.
                style = if p.is_empty() || *p == "0" {
                    base
                } else {
                    next
                };
            }
            Token::Control('\t') => {
                let n = expand_tab(col);
                col += n;
                spans.push(Span::styled(" ".repeat(n), style));
            }
            Token::Control(_) => {}
        }
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_sgr_colours() {
        assert_eq!(sanitize("\x1b[31mred\x1b[0m ok"), "\x1b[31mred\x1b[0m ok");
        let line = to_line("\x1b[1;32mgreen\x1b[0m plain", Style::default());
        assert_eq!(line.spans[0].content, "green");
        assert_eq!(line.spans[0].style.fg, Some(Color::Green));
        assert!(line.spans[0].style.add_modifier.contains(Modifier::BOLD));
        assert_eq!(line.spans[1].style, Style::default());
    }

    #[test]
    fn strips_cursor_moves_and_clear_screen() {
        assert_eq!(
            sanitize("a\x1b[2Jb\x1b[Hc\x1b[10;5Hd\x1b[3Ae\x1b[?25lf"),
            "abcdef"
        );
        assert_eq!(sanitize("x\x1b[K\x1b[1;1fy"), "xy");
        assert_eq!(sanitize("\u{9b}2Jz"), "z");
    }

    #[test]
    fn strips_osc_title_and_other_strings() {
        assert_eq!(sanitize("\x1b]0;pwned\x07after"), "after");
        assert_eq!(sanitize("\x1b]2;title\x1b\\after"), "after");
        assert_eq!(sanitize("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"), "link");
        assert_eq!(sanitize("\x1bPdcs\x1b\\ok"), "ok");
    }

    #[test]
    fn strips_other_escapes_and_controls() {
        assert_eq!(sanitize("\x1b7save\x1b8\x1bc\x1b(Bx"), "savex");
        assert_eq!(sanitize("bell\x07 bs\x08 nul\0"), "bell bs nul");
        assert_eq!(sanitize("cut at the end \x1b["), "cut at the end ");
        assert_eq!(sanitize("lone esc\x1b"), "lone esc");
    }

    #[test]
    fn conceal_is_not_honoured() {
        let line = to_line("\x1b[8msecret", Style::default());
        assert_eq!(line.spans[0].content, "secret");
        assert!(!line.spans[0].style.add_modifier.contains(Modifier::HIDDEN));
    }

    #[test]
    fn carriage_return_keeps_what_a_terminal_shows() {
        assert_eq!(plain("10%\r50%\r100%"), "100%");
        assert_eq!(plain("done\r"), "done");
        assert_eq!(sanitize("\x1b[32m1%\r2%"), "\x1b[32m2%");
    }

    #[test]
    fn tabs_expand_and_plain_strips_colour() {
        assert_eq!(plain("a\tb"), "a       b");
        assert_eq!(plain("\x1b[31mred\x1b[0m"), "red");
        assert_eq!(plain("multi byte é \x1b[2Kok"), "multi byte é ok");
    }

    #[test]
    fn extended_colours() {
        let s = apply_sgr(Style::default(), "38;5;196;48;2;1;2;3");
        assert_eq!(s.fg, Some(Color::Indexed(196)));
        assert_eq!(s.bg, Some(Color::Rgb(1, 2, 3)));
    }
}
