//! Keys and mouse to actions: pure, so every binding is testable without a terminal. Each key
//! context has one table here (or in its pane's `keys`) that `?` draws as well.

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::keys::{
    BOTTOM, DOWN, ENTER, KeyRow, LEFT, PAGE_DOWN, PAGE_UP, RIGHT, TOP, UP, ch, code, ctrl, lookup,
};
use super::model::{Focus, Model, Overlay, Pause};
use crate::msg::{Action, Msg};

use Action as A;

const HELP_KEY: KeyRow<Action, Model> =
    KeyRow::new("?", &[(&[ch('?')], A::Help)], "this help (↑/↓ scroll it)");

/// The build screen: the stage graph, instructions and log (or Explain) panes.
pub(crate) const BUILD: &[KeyRow<Action, Model>] = &[
    KeyRow::new(
        "q, Ctrl-C",
        &[(&[ch('q'), ctrl('c')], A::Quit)],
        "quit (the build is cancelled)",
    ),
    HELP_KEY,
    KeyRow::new(
        "Tab, Shift-Tab",
        &[
            (&[code(KeyCode::Tab)], A::FocusNext),
            (&[code(KeyCode::BackTab)], A::FocusPrev),
        ],
        "next / previous pane",
    ),
    KeyRow::new(
        "←/→, h/l",
        &[(LEFT, A::FocusPrev), (RIGHT, A::FocusNext)],
        "previous / next pane",
    ),
    KeyRow::new(
        "↑/↓, k/j",
        &[(UP, A::Up), (DOWN, A::Down)],
        "move the selection, or scroll the log",
    ),
    KeyRow::new(
        "PgUp/PgDn",
        &[(PAGE_UP, A::PageUp), (PAGE_DOWN, A::PageDown)],
        "page up / down",
    ),
    KeyRow::new(
        "Ctrl-U/Ctrl-D",
        &[(&[ctrl('u')], A::PageUp), (&[ctrl('d')], A::PageDown)],
        "page up / down",
    ),
    KeyRow::new(
        "g/G, Home/End",
        &[(TOP, A::Top), (BOTTOM, A::Bottom)],
        "top / bottom (G follows the log tail)",
    ),
    KeyRow::new(
        "Enter",
        &[(ENTER, A::Enter)],
        "open: stage → instructions → log",
    ),
    KeyRow::new(
        "f",
        &[(&[ch('f')], A::OpenFiles)],
        "files of the selected stage / instruction's state",
    ),
    KeyRow::new(
        "f (log pane)",
        &[(&[ch('f')], A::ToggleFollow)],
        "toggle follow-tail of the log",
    )
    .when(|m| m.focus == Focus::Log),
    KeyRow::new(
        "r",
        &[(&[ch('r')], A::ToggleWrap)],
        "toggle wrapping of long log lines",
    ),
    KeyRow::new(
        "a",
        &[(&[ch('a')], A::ToggleWholeStage)],
        "log of the whole stage / of the instruction",
    ),
    KeyRow::new(
        "/",
        &[(&[ch('/')], A::SearchStart)],
        "search the log (Enter to search, Esc to cancel)",
    ),
    KeyRow::new(
        "n / N",
        &[(&[ch('n')], A::NextMatch), (&[ch('N')], A::PrevMatch)],
        "next / previous match (n runs the next stage when paused)",
    ),
    // While a search is active `n` stays the next match, paused or not.
    KeyRow::new(
        "n",
        &[(&[ch('n')], A::NextStage)],
        "step mode: build the next stage",
    )
    .when(|m| {
        matches!(m.pause, Some(Pause::BeforeStage(_) | Pause::Breakpoint(..)))
            && m.log.search.is_none()
    }),
    KeyRow::new(
        "c",
        &[(&[ch('c')], A::Continue)],
        "step mode: continue to the end (stops at breakpoints)",
    ),
    KeyRow::new(
        "b",
        &[(&[ch('b')], A::ToggleBreakpoint)],
        "breakpoint: the build stops after the selected instruction",
    ),
    KeyRow::new(
        "s",
        &[(&[ch('s')], A::Shell)],
        "shell in the state after the selection (type a command)",
    ),
    KeyRow::new(
        "e",
        &[(&[ch('e')], A::ToggleExplain)],
        "explain the selected stage / instruction (Esc or e closes)",
    ),
    KeyRow::new(
        "w",
        &[(&[ch('w')], A::WriteLog)],
        "write the selected log to a file",
    ),
    KeyRow::new(
        "S",
        &[(&[ch('S')], A::Slowest)],
        "slowest instructions (and why each ran)",
    ),
    KeyRow::new(
        "t",
        &[(&[ch('t')], A::Timeline)],
        "timeline: +/- zoom, ←/→ pan, ↑/↓ scroll, * critical path",
    ),
    KeyRow::new(
        "Esc",
        &[(&[code(KeyCode::Esc)], A::Close)],
        "close the overlay, clear the search",
    ),
    KeyRow::new(
        "d",
        &[(&[ch('d')], A::OpenDiff)],
        "diff: the final stage against the stage it copies most",
    ),
];

/// What a full-screen pane (files, diff) leaves to the screen around it.
pub(crate) const PANES: &[KeyRow<Action, Model>] = &[HELP_KEY];

/// The `?` overlay.
pub(crate) const HELP_VIEW: &[KeyRow<Action>] = &[
    KeyRow::new("↑/↓, k/j", &[(UP, A::Up), (DOWN, A::Down)], "scroll"),
    KeyRow::new(
        "PgUp/PgDn",
        &[(PAGE_UP, A::PageUp), (PAGE_DOWN, A::PageDown)],
        "scroll a page",
    ),
    KeyRow::new("Space", &[(&[ch(' ')], A::PageDown)], "scroll a page down"),
];

/// The `S` overlay.
pub(crate) const SLOWEST: &[KeyRow<Action>] = &[
    KeyRow::new("↑/↓, k/j", &[(UP, A::Up), (DOWN, A::Down)], "move"),
    KeyRow::new("Enter", &[(ENTER, A::Enter)], "select that instruction"),
];

/// The `t` overlay.
pub(crate) const TIMELINE: &[KeyRow<Action>] = &[
    KeyRow::new(
        "↑/↓, k/j",
        &[(UP, A::Up), (DOWN, A::Down)],
        "scroll the stages",
    ),
    KeyRow::new("←/→, h/l", &[(LEFT, A::Left), (RIGHT, A::Right)], "pan"),
    // `=` is `+` without Shift.
    KeyRow::new(
        "+/-, =",
        &[(&[ch('+'), ch('=')], A::ZoomIn), (&[ch('-')], A::ZoomOut)],
        "zoom in / out",
    ),
    KeyRow::new("t", &[(&[ch('t')], A::Close)], "close the timeline"),
];

/// Every overlay, after its own keys.
pub(crate) const OVERLAY: &[KeyRow<Action>] = &[
    KeyRow::new("q", &[(&[ch('q')], A::Quit)], "quit"),
    KeyRow::new(
        "Esc, ?, S",
        &[(&[code(KeyCode::Esc), ch('?'), ch('S')], A::Close)],
        "close it",
    ),
];

pub(crate) fn on_event(model: &Model, ev: &Event) -> Option<Msg> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => on_key(model, k).map(Msg::Action),
        Event::Mouse(m) => on_mouse(m),
        Event::Resize(w, h) => Some(Msg::Resize(*w, *h)),
        _ => None,
    }
}

pub(crate) fn on_key(model: &Model, k: &KeyEvent) -> Option<Action> {
    // Control keys are the build screen's wherever the screen is: Ctrl-C quits from a prompt.
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        return lookup(BUILD, model, k);
    }
    // A prompt takes every other key as text.
    if model.shell_prompt.is_some() {
        return match k.code {
            KeyCode::Enter => Some(A::ShellSubmit),
            KeyCode::Esc => Some(A::ShellCancel),
            KeyCode::Backspace => Some(A::ShellBackspace),
            KeyCode::Char(c) => Some(A::ShellInput(c)),
            _ => None,
        };
    }
    if model.log.input.is_some() {
        return match k.code {
            KeyCode::Enter => Some(A::SearchSubmit),
            KeyCode::Esc => Some(A::SearchCancel),
            KeyCode::Backspace => Some(A::SearchBackspace),
            KeyCode::Char(c) => Some(A::SearchInput(c)),
            _ => None,
        };
    }
    if let Some(files) = model.files.as_ref().filter(|_| model.overlay.is_none()) {
        let pane = || crate::files::keys::on_key(files, k).map(A::Files);
        return match files.input {
            Some(_) => pane(),
            None => lookup(PANES, model, k).or_else(pane),
        };
    }
    if let Some(o) = &model.overlay {
        let own = match o {
            Overlay::Help => HELP_VIEW,
            Overlay::Slowest(_) => SLOWEST,
            Overlay::Timeline(_) => TIMELINE,
            Overlay::Error(_) => &[],
        };
        return lookup(own, &(), k).or_else(|| lookup(OVERLAY, &(), k));
    }
    if model.diff.view.is_some() {
        return lookup(PANES, model, k).or_else(|| crate::diff::keys::on_key(k).map(A::Diff));
    }
    lookup(BUILD, model, k)
}

pub(crate) fn on_mouse(m: &MouseEvent) -> Option<Msg> {
    let at = (m.column, m.row);
    match m.kind {
        MouseEventKind::ScrollUp => Some(Msg::Scroll { at, down: false }),
        MouseEventKind::ScrollDown => Some(Msg::Scroll { at, down: true }),
        MouseEventKind::Down(MouseButton::Left) => Some(Msg::Click { at }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::help::HelpLine;
    use crate::keys::{Key, label_names};
    use crate::update::tests::model;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn plain_keys() {
        let m = model();
        assert_eq!(on_key(&m, &key(KeyCode::Char('q'))), Some(Action::Quit));
        assert_eq!(
            on_key(
                &m,
                &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
            ),
            Some(Action::Quit)
        );
        assert_eq!(on_key(&m, &key(KeyCode::Char('j'))), Some(Action::Down));
        assert_eq!(on_key(&m, &key(KeyCode::Tab)), Some(Action::FocusNext));
        assert_eq!(on_key(&m, &key(KeyCode::Char('?'))), Some(Action::Help));
        assert_eq!(
            on_key(&m, &key(KeyCode::Char('e'))),
            Some(Action::ToggleExplain)
        );
        assert_eq!(on_key(&m, &key(KeyCode::Char('x'))), None);
    }

    #[test]
    fn n_is_next_stage_only_when_paused_without_search() {
        let mut m = model();
        assert_eq!(
            on_key(&m, &key(KeyCode::Char('n'))),
            Some(Action::NextMatch)
        );
        m.pause = Some(Pause::BeforeStage(0));
        assert_eq!(
            on_key(&m, &key(KeyCode::Char('n'))),
            Some(Action::NextStage)
        );
        m.log.search = Some("x".into());
        assert_eq!(
            on_key(&m, &key(KeyCode::Char('n'))),
            Some(Action::NextMatch)
        );
    }

    #[test]
    fn search_input_takes_every_char() {
        let mut m = model();
        m.log.input = Some(String::new());
        assert_eq!(
            on_key(&m, &key(KeyCode::Char('q'))),
            Some(Action::SearchInput('q'))
        );
        assert_eq!(on_key(&m, &key(KeyCode::Enter)), Some(Action::SearchSubmit));
        assert_eq!(on_key(&m, &key(KeyCode::Esc)), Some(Action::SearchCancel));
    }

    #[test]
    fn overlays_close_with_esc() {
        let mut m = model();
        m.overlay = Some(Overlay::Help);
        assert_eq!(on_key(&m, &key(KeyCode::Esc)), Some(Action::Close));
        // The key list is taller than an 80x24 screen: j/k scroll it.
        assert_eq!(on_key(&m, &key(KeyCode::Char('j'))), Some(Action::Down));
        assert_eq!(on_key(&m, &key(KeyCode::Char('x'))), None);
        m.overlay = Some(Overlay::Slowest(0));
        assert_eq!(on_key(&m, &key(KeyCode::Char('j'))), Some(Action::Down));
    }

    #[test]
    fn timeline_keys_zoom_and_pan() {
        let mut m = model();
        assert_eq!(on_key(&m, &key(KeyCode::Char('t'))), Some(Action::Timeline));
        m.overlay = Some(Overlay::Timeline(Default::default()));
        assert_eq!(on_key(&m, &key(KeyCode::Char('+'))), Some(Action::ZoomIn));
        assert_eq!(on_key(&m, &key(KeyCode::Char('-'))), Some(Action::ZoomOut));
        assert_eq!(on_key(&m, &key(KeyCode::Right)), Some(Action::Right));
        assert_eq!(on_key(&m, &key(KeyCode::Char('h'))), Some(Action::Left));
        assert_eq!(on_key(&m, &key(KeyCode::Char('t'))), Some(Action::Close));
        assert_eq!(on_key(&m, &key(KeyCode::Esc)), Some(Action::Close));
    }

    /// A label names exactly the keys its row binds: the help cannot show a key the table
    /// lost, nor leave out one it gained.
    #[test]
    fn every_row_names_the_keys_it_binds() {
        fn check<A, S>(rows: &[KeyRow<A, S>]) {
            for r in rows {
                let bound: BTreeSet<String> = r
                    .binds
                    .iter()
                    .flat_map(|(keys, _)| keys.iter().map(|k| k.name()))
                    .collect();
                assert_eq!(label_names(r.keys), bound, "row {:?}", r.keys);
            }
        }
        check(BUILD);
        check(PANES);
        check(HELP_VIEW);
        check(SLOWEST);
        check(TIMELINE);
        check(OVERLAY);
        check(crate::files::keys::FILES);
        check(crate::diff::keys::DIFF);
    }

    /// Every key that gives an action, in every state that has keys of its own, is on a line
    /// of the help `?` shows there. Prompts are left out: they take any key as text.
    #[test]
    fn every_bound_key_has_a_help_row() {
        let mut states: Vec<(&str, Model)> = vec![("build", model())];
        let mut log = model();
        log.focus = Focus::Log;
        states.push(("log pane", log));
        let mut paused = model();
        paused.pause = Some(Pause::BeforeStage(0));
        states.push(("paused", paused));
        for o in [
            Overlay::Help,
            Overlay::Slowest(0),
            Overlay::Timeline(Default::default()),
            Overlay::Error(crate::update::tests::failed("gone")),
        ] {
            let mut m = model();
            m.overlay = Some(o);
            states.push(("overlay", m));
        }
        let diff = crate::diff::tests::ready();
        assert!(diff.diff.view.is_some());
        states.push(("diff", diff));
        let files = crate::files::tests::opened();
        let mut preview = files.clone();
        preview.files.as_mut().expect("files pane").preview =
            Some(stagescope_fs::preview::Preview::of_file(b"a", 1, b"a"));
        states.push(("files", files));
        states.push(("files preview", preview));

        let mut codes: Vec<KeyCode> = (' '..='~').map(KeyCode::Char).collect();
        codes.extend([
            KeyCode::Backspace,
            KeyCode::Enter,
            KeyCode::Left,
            KeyCode::Right,
            KeyCode::Up,
            KeyCode::Down,
            KeyCode::Home,
            KeyCode::End,
            KeyCode::PageUp,
            KeyCode::PageDown,
            KeyCode::Tab,
            KeyCode::BackTab,
            KeyCode::Delete,
            KeyCode::Insert,
            KeyCode::Esc,
        ]);
        codes.extend((1..=12).map(KeyCode::F));
        let build_help = crate::help::lines(&model());
        for (state, m) in &states {
            for &code in &codes {
                for mods in [
                    KeyModifiers::NONE,
                    KeyModifiers::SHIFT,
                    KeyModifiers::ALT,
                    KeyModifiers::CONTROL,
                ] {
                    let Some(action) = on_key(m, &KeyEvent::new(code, mods)) else {
                        continue;
                    };
                    let ctrl = mods == KeyModifiers::CONTROL;
                    let mods = if ctrl { mods } else { KeyModifiers::NONE };
                    let name = Key { code, mods }.name();
                    // Control keys are the build screen's everywhere (see on_key).
                    let help = if ctrl {
                        build_help.clone()
                    } else {
                        crate::help::lines(m)
                    };
                    let listed = help.iter().any(|l| {
                        matches!(l, HelpLine::Keys { keys, .. } if label_names(keys).contains(&name))
                    });
                    assert!(
                        listed,
                        "{state}: {name} gives {action:?} and is not in the help"
                    );
                }
            }
        }
    }

    #[test]
    fn mouse_and_resize() {
        let m = model();
        let ev = Event::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 3,
            row: 4,
            modifiers: KeyModifiers::NONE,
        });
        assert_eq!(
            on_event(&m, &ev),
            Some(Msg::Scroll {
                at: (3, 4),
                down: true
            })
        );
        assert_eq!(
            on_event(&m, &Event::Resize(100, 30)),
            Some(Msg::Resize(100, 30))
        );
    }
}
