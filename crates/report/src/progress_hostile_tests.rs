//! Build output that tries to drive the terminal, or to exhaust memory, through the
//! progress reporters.

use super::*;
use stagescope_plan::plan::fixtures::three_stages;

const HOSTILE: &str = "\x1b]0;TITLE\x07\x1b[2J hi\n\
    \x1b[31mred\x1b[0m \x1b[10;5Hmoved \u{9b}2Jc1 \x1bPdcs\x1b\\bare\x1b\n\
    10%\r100%\tdone\x07\n";

fn log(text: &str) -> BuildEvent {
    BuildEvent::Log {
        stage: 1,
        instruction: 2,
        stream: LogStream::Stdout,
        text: text.into(),
    }
}

fn finished() -> BuildEvent {
    BuildEvent::InstructionFinished {
        stage: 1,
        instruction: 2,
        cached: false,
        duration_ms: 1_000,
    }
}

fn plain(plan: BuildPlan, colour: bool, events: &[BuildEvent]) -> String {
    let mut buf = Vec::new();
    {
        let mut r = PlainReporter::new(plan, &mut buf).with_colour(colour);
        for e in events {
            r.on_event(e).expect("write");
        }
    }
    String::from_utf8(buf).expect("utf8")
}

/// Controls other than newline in `s`, with the SGR sequences taken out first.
fn controls_but_sgr(s: &str) -> Vec<char> {
    let sgr = regex::Regex::new("\x1b\\[[0-9;:]*m").expect("regex");
    sgr.replace_all(s, "")
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect()
}

#[test]
fn plain_log_loses_every_escape_without_colour() {
    let out = plain(three_stages(), false, &[log(HOSTILE), finished()]);
    assert!(!out.contains('\x1b'), "{out:?}");
    assert_eq!(controls_but_sgr(&out), Vec::<char>::new());
    insta::assert_snapshot!(out);
}

#[test]
fn plain_log_keeps_only_sgr_with_colour() {
    let out = plain(three_stages(), true, &[log(HOSTILE), finished()]);
    assert!(
        out.contains("   \x1b[31mred\x1b[0m moved c1 bare\n"),
        "{out:?}"
    );
    assert!(out.contains("    hi\n"));
    assert!(out.contains("   100%    done\n"));
    assert_eq!(controls_but_sgr(&out), Vec::<char>::new());
}

#[test]
fn names_and_messages_are_escaped_or_stripped() {
    let mut plan = three_stages();
    plan.stages[1].instructions[2].text = "RUN printf '\x1b]0;T\x07'\u{9b}2J".into();
    let failed = BuildEvent::BuildFailed {
        stage: Some(1),
        instruction: Some(2),
        message: "process \x1b]0;T\x07did not\x1b[2J complete\nsecond line".into(),
        exit_code: Some(1),
    };
    let state = BuildEvent::StateImage {
        stage: 1,
        instruction: 1,
        image: "sha256:\x1b[2Jé0123456789abcdef".into(),
    };
    let out = plain(plan, false, &[log(HOSTILE), failed, state]);
    assert!(!out.contains('\x1b'), "{out:?}");
    assert_eq!(controls_but_sgr(&out), Vec::<char>::new());
    assert!(out.contains("RUN printf '\\x1b]0;T\\x07'\\xc2\\x9b2J   FAILED"));
    assert!(out.contains("error at line 6 (exit code 1): process did not complete\nsecond line"));
    // A multi-byte char at the 12-char cut does not panic.
    assert!(
        out.contains("docker run -it --rm \\x1b[2Jé0123456 sh"),
        "{out:?}"
    );
}

#[test]
fn json_has_no_raw_escape_and_keeps_the_text() {
    let mut buf = Vec::new();
    {
        let mut r = JsonReporter::new(three_stages(), &mut buf);
        for e in [log(HOSTILE), finished()] {
            r.on_event(&e).expect("write");
        }
        r.finish().expect("write");
    }
    assert!(!buf.contains(&0x1b), "no raw ESC");
    assert!(!buf.windows(2).any(|w| w == [0xC2, 0x9B]), "no raw U+009B");
    let text = String::from_utf8(buf).expect("utf8");
    assert!(
        text.contains(r"\u001b]0;TITLE\u0007\u001b[2J hi\n"),
        "{text}"
    );
    let first: Value = serde_json::from_str(text.lines().next().expect("line")).expect("json");
    assert_eq!(first["text"], HOSTILE);
}

#[test]
fn a_10_mb_line_and_a_million_lines_print_bounded() {
    let mut events = vec![log(&"a".repeat(10 << 20)), log("\n")];
    let chunk: String = (0..1000).map(|i| format!("{i}\n")).collect();
    events.extend((0..1000).map(|_| log(&chunk)));
    events.push(finished());
    let out = plain(three_stages(), false, &events);
    let first = out.lines().nth(2).expect("a log line");
    assert!(out.contains(&format!(
        "    … {} earlier lines not kept",
        1_000_001 - 5_000
    )));
    // The big line went with the rest of the oldest: the newest 5 000 are printed.
    assert_eq!(first, "    0");
    assert!(out.len() < 64 * 1024, "{} bytes printed", out.len());
}

#[test]
fn a_10_mb_line_prints_its_head_and_the_cut() {
    let events = [log(&"a".repeat(10 << 20)), log("\u{fffd}end\n"), finished()];
    let out = plain(three_stages(), false, &events);
    assert!(out.len() < 2 * stagescope_plan::state::LINE_BYTES_KEPT);
    assert!(out.contains(&format!("a … ({} bytes cut)\n", (10 << 20) - 8192 + 6)));
}
