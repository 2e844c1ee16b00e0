//! The `?` key list: what every key does, for the help overlay.

/// Every key, for the help overlay: (keys, what they do).
pub(crate) const HELP: &[(&str, &str)] = &[
    ("q, Ctrl-C", "quit (the build is cancelled)"),
    ("?", "this help (↑/↓ scroll it)"),
    ("Tab, Shift-Tab", "next / previous pane"),
    ("←/→, h/l", "previous / next pane"),
    ("↑/↓, k/j", "move the selection, or scroll the log"),
    ("PgUp/PgDn", "page up / down"),
    ("g / G", "top / bottom (G follows the log tail)"),
    ("Enter", "open: stage → instructions → log"),
    ("f", "files of the selected stage / instruction's state"),
    ("f (log pane)", "toggle follow-tail of the log"),
    ("r", "toggle wrapping of long log lines"),
    ("a", "log of the whole stage / of the instruction"),
    ("/", "search the log (Enter to search, Esc to cancel)"),
    (
        "n / N",
        "next / previous match (n runs the next stage when paused)",
    ),
    ("n", "step mode: build the next stage"),
    ("c", "step mode: continue to the end (stops at breakpoints)"),
    (
        "b",
        "breakpoint: the build stops after the selected instruction",
    ),
    (
        "s",
        "shell in the state after the selection (type a command)",
    ),
    (
        "e",
        "explain the selected stage / instruction (Esc or e closes)",
    ),
    ("w", "write the selected log to a file"),
    ("S", "slowest instructions (and why each ran)"),
    (
        "t",
        "timeline: +/- zoom, ←/→ pan, ↑/↓ scroll, * critical path",
    ),
    ("Esc", "close the overlay, clear the search"),
    ("mouse", "click to select, wheel to scroll"),
    (
        "d",
        "diff: the final stage against the stage it copies most",
    ),
    (
        "diff: v",
        "tree filter: all / release / leftovers / changed",
    ),
    (
        "diff: Tab",
        "tree / findings (reason, instruction that brought it)",
    ),
    (
        "diff: Enter",
        "open a directory; both sides of a file or finding",
    ),
    (
        "diff: ↑↓ PgUp",
        "in both sides: scroll the line diff or hex dump",
    ),
    ("diff: ←/→", "collapse (or go up) / expand a directory"),
    ("diff: Esc, q", "close the detail, then back to the build"),
];
