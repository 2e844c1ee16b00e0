use proptest::prelude::*;

use super::*;

fn clean(s: &str) -> String {
    line(s, true)
}

#[test]
fn keeps_sgr_colours_when_colour_is_on() {
    assert_eq!(clean("\x1b[31mred\x1b[0m ok"), "\x1b[31mred\x1b[0m ok");
    assert_eq!(clean("\x1b[38;5;196mx\x1b[m"), "\x1b[38;5;196mx\x1b[m");
    assert_eq!(line("\x1b[31mred\x1b[0m ok", false), "red ok");
    // An SGR with other bytes in its parameters is not a colour: dropped.
    assert_eq!(clean("\x1b[?1mx\x1b[>4;2m"), "x");
}

#[test]
fn strips_osc_title() {
    assert_eq!(clean("\x1b]0;TITLE\x07\x1b[2J hi"), " hi");
    assert_eq!(clean("\x1b]2;title\x1b\\after"), "after");
    assert_eq!(clean("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"), "link");
    // Unterminated: the title runs to the end of the line, and goes.
    assert_eq!(clean("before\x1b]0;no end"), "before");
    // An ESC ends the string, as in a terminal: the next sequence is read (and dropped).
    assert_eq!(clean("\x1b]0;t\x1b[2Jshown"), "shown");
}

#[test]
fn strips_clear_screen_and_cursor_moves() {
    assert_eq!(
        clean("a\x1b[2Jb\x1b[Hc\x1b[10;5Hd\x1b[3Ae\x1b[?25lf"),
        "abcdef"
    );
    assert_eq!(clean("x\x1b[K\x1b[1;1fy\x1b[6n"), "xy");
    assert_eq!(clean("cut at the end \x1b["), "cut at the end ");
    assert_eq!(clean("cut \x1b[12"), "cut ");
}

#[test]
fn strips_dcs_and_other_strings() {
    assert_eq!(clean("\x1bPq#0;2;0;0;0#0~~\x1b\\ok"), "ok");
    assert_eq!(
        clean("\x1bX sos \x1b\\\x1b^ pm \x1b\\\x1b_ apc \x07ok"),
        "ok"
    );
}

#[test]
fn strips_c1_controls_in_utf8() {
    // U+009B is CSI, U+009D OSC, U+0090 DCS, U+009C ST; U+0085 (NEL) is a plain C1.
    assert_eq!(clean("\u{9b}2Jz"), "z");
    assert_eq!(clean("\u{9b}31mc1 sgr"), "\x1b[31mc1 sgr");
    assert_eq!(clean("\u{9d}0;TITLE\u{9c}after"), "after");
    assert_eq!(clean("\u{90}dcs\u{9c}ok"), "ok");
    assert_eq!(clean("a\u{85}b\u{9c}c"), "abc");
    assert_eq!(clean("multi byte é \u{9b}2Kok ü"), "multi byte é ok ü");
}

#[test]
fn strips_bare_esc_and_c0_controls() {
    assert_eq!(clean("lone esc\x1b"), "lone esc");
    assert_eq!(clean("\x1b7save\x1b8\x1bc\x1b(Bx"), "savex");
    assert_eq!(clean("bell\x07 bs\x08 nul\0 del\x7f"), "bell bs nul del");
    // ESC NUL does not eat the line; ESC ESC [2J is one bare ESC and a clear screen.
    assert_eq!(clean("a\x1b\0b"), "ab");
    assert_eq!(clean("a\x1b\x1b[2Jb"), "ab");
    assert_eq!(clean("a\x1b\u{e9}b"), "a\u{e9}b");
}

#[test]
fn carriage_return_keeps_what_a_terminal_shows() {
    assert_eq!(plain("10%\r50%\r100%"), "100%");
    assert_eq!(plain("done\r"), "done");
    assert_eq!(plain("\r\r\r"), "");
    assert_eq!(clean("\x1b[32m1%\r2%"), "\x1b[32m2%");
    // Linear however many: a megabyte of `\r` is quick.
    let many = "\r".repeat(1 << 20) + "x";
    assert_eq!(plain(&many), "x");
}

#[test]
fn tabs_expand() {
    assert_eq!(plain("a\tb"), "a       b");
    assert_eq!(plain("\x1b[31mred\x1b[0m\tx"), "red     x");
}

#[test]
fn text_keeps_newlines_and_cleans_each_line() {
    assert_eq!(
        text("one\x1b]0;t\x07\ntwo\x1b[2J\n", false),
        "one\ntwo\n".to_string()
    );
}

#[test]
fn names_show_controls_escaped() {
    assert_eq!(name("RUN make"), "RUN make");
    assert_eq!(
        name("RUN printf '\x1b]0;T\x07'\n"),
        "RUN printf '\\x1b]0;T\\x07'\\x0a"
    );
    assert_eq!(name("\u{9b}2J é"), "\\xc2\\x9b2J é");
}

#[test]
fn colour_follows_tty_no_color_and_force_color() {
    assert!(colour_allowed(true, None, None));
    assert!(!colour_allowed(false, None, None));
    assert!(!colour_allowed(true, Some("1"), None));
    assert!(
        colour_allowed(true, Some(""), None),
        "empty NO_COLOR is unset"
    );
    assert!(colour_allowed(false, None, Some("1")));
    assert!(!colour_allowed(false, None, Some("0")));
    assert!(!colour_allowed(false, None, Some("")));
    assert!(
        !colour_allowed(false, Some("1"), Some("1")),
        "NO_COLOR wins"
    );
    assert!(!colour_allowed(true, Some("yes"), Some("1")));
}

#[test]
fn json_lines_escape_every_control() {
    let v = serde_json::json!({"text": "\x1b]0;T\x07\x1b[2J hi \u{9b}2J \x7f\n"});
    let mut out = Vec::new();
    json_line(&mut out, &v).expect("write");
    let s = String::from_utf8(out).expect("utf8");
    assert_eq!(
        s,
        "{\"text\":\"\\u001b]0;T\\u0007\\u001b[2J hi \\u009b2J \\u007f\\n\"}\n"
    );
    let back: serde_json::Value = serde_json::from_str(&s).expect("json");
    assert_eq!(back, v);
}

proptest! {
    /// Whatever a line holds, the result has no control character, and ESC only as the
    /// start of a kept SGR.
    #[test]
    fn nothing_but_sgr_gets_through(s in "(\\PC|[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]|\\x1b\\[[0-9;?]*[a-zA-Z]){0,40}") {
        let off = line(&s, false);
        prop_assert!(!off.chars().any(char::is_control), "{off:?}");
        let on = line(&s, true);
        let sgr = regex::Regex::new("\x1b\\[[0-9;:]*m").expect("regex");
        let rest = sgr.replace_all(&on, "");
        prop_assert!(!rest.chars().any(char::is_control), "{on:?}");
    }
}

/// Bytes a hostile log is made of: text, every control, whole and cut-short sequences of
/// each kind (CSI, SGR, OSC ended by BEL or ST, DCS, C1 forms), `\r` and tabs.
fn hostile_line() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => "\\PC{0,3}",
        2 => "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]",
        2 => "\\x1b\\[[0-9;:?<=>]{0,4}[ -/]?[@-~]?",
        1 => "\\x1b\\[[0-9;:]{0,6}m",
        1 => "\\u{9b}[0-9;]{0,3}[a-zA-Z]?",
        1 => "\\x1b[\\]P_^X][^\\x07\\x1b]{0,6}(\\x07|\\x1b\\\\|\\u{9c})?",
        1 => "\\x1b[ -/]{0,2}[0-~]?",
        1 => "[\\r\\t]",
    ];
    prop::collection::vec(piece, 0..30).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    /// No ESC but at the start of a well-formed SGR; cleaning twice changes nothing; the
    /// output is never longer than the input but for the spaces tabs become.
    #[test]
    fn sanitizer_holds_on_hostile_lines(s in hostile_line()) {
        let sgr = regex::Regex::new("\x1b\\[[0-9;:]*m").expect("regex");
        let tabs = s.matches('\t').count();
        for colour in [false, true] {
            let once = line(&s, colour);
            let rest = sgr.replace_all(&once, "");
            prop_assert!(!rest.chars().any(char::is_control), "{s:?} -> {once:?}");
            if !colour {
                prop_assert!(!once.contains('\x1b'), "{s:?} -> {once:?}");
            }
            prop_assert_eq!(line(&once, colour), once.clone(), "not idempotent on {:?}", s);
            prop_assert!(once.len() <= s.len() + 7 * tabs, "{s:?} grew to {once:?}");
            if !s.contains('\n') {
                // A sequence cut short at a line's end does not eat the next line.
                let many = text(&format!("{s}\n{s}"), colour);
                prop_assert_eq!(many, format!("{once}\n{once}"));
            }
        }
    }
}
