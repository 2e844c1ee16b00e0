//! Build output in the log view: the shared sanitizer ([`stagescope_report::sanitize`]) drops
//! every escape sequence but SGR, and this turns SGR into ratatui styles. A log cannot move
//! the cursor, clear the screen, retitle the terminal or hide text. Carriage returns keep
//! what a terminal would show: the text after the last one.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

pub(crate) use stagescope_report::sanitize::plain;
use stagescope_report::sanitize::{Token, expand_tab, tokens, visible_from};

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
pub(crate) fn apply_sgr(mut style: Style, params: &str) -> Style {
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
pub(crate) fn to_line(s: &str, base: Style) -> Line<'static> {
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
        let line = to_line("\x1b[1;32mgreen\x1b[0m plain", Style::default());
        assert_eq!(line.spans[0].content, "green");
        assert_eq!(line.spans[0].style.fg, Some(Color::Green));
        assert!(line.spans[0].style.add_modifier.contains(Modifier::BOLD));
        assert_eq!(line.spans[1].style, Style::default());
    }

    #[test]
    fn hostile_sequences_leave_only_text() {
        let line = to_line(
            "\x1b]0;TITLE\x07\x1b[2J hi\u{9b}2J\x1bPdcs\x1b\\!",
            Style::default(),
        );
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, " hi!");
    }

    #[test]
    fn conceal_is_not_honoured() {
        let line = to_line("\x1b[8msecret", Style::default());
        assert_eq!(line.spans[0].content, "secret");
        assert!(!line.spans[0].style.add_modifier.contains(Modifier::HIDDEN));
    }

    #[test]
    fn carriage_return_and_tabs() {
        let line = to_line("\x1b[32m1%\r2%\tx", Style::default());
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "2%      x");
        assert_eq!(line.spans[0].style.fg, Some(Color::Green));
    }

    #[test]
    fn extended_colours() {
        let s = apply_sgr(Style::default(), "38;5;196;48;2;1;2;3");
        assert_eq!(s.fg, Some(Color::Indexed(196)));
        assert_eq!(s.bg, Some(Color::Rgb(1, 2, 3)));
    }
}
