//! Keys and mouse to actions: pure, so every binding is testable without a terminal.

use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

use super::model::{Focus, Model, Overlay, Pause};
use super::update::{Action, Msg};

pub(crate) fn on_event(model: &Model, ev: &Event) -> Option<Msg> {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => on_key(model, k).map(Msg::Action),
        Event::Mouse(m) => on_mouse(m),
        Event::Resize(w, h) => Some(Msg::Resize(*w, *h)),
        _ => None,
    }
}

pub(crate) fn on_key(model: &Model, k: &KeyEvent) -> Option<Action> {
    use Action as A;
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        return match k.code {
            KeyCode::Char('c') => Some(A::Quit),
            KeyCode::Char('d') => Some(A::PageDown),
            KeyCode::Char('u') => Some(A::PageUp),
            _ => None,
        };
    }
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
        return match k.code {
            KeyCode::Char('?') if files.input.is_none() => Some(A::Help),
            _ => crate::files::keys::on_key(files, k).map(A::Files),
        };
    }
    if let Some(o) = &model.overlay {
        let any = match o {
            Overlay::Help => match k.code {
                KeyCode::Up | KeyCode::Char('k') => Some(A::Up),
                KeyCode::Down | KeyCode::Char('j') => Some(A::Down),
                KeyCode::PageUp => Some(A::PageUp),
                KeyCode::PageDown | KeyCode::Char(' ') => Some(A::PageDown),
                _ => None,
            },
            Overlay::Slowest(_) => match k.code {
                KeyCode::Up | KeyCode::Char('k') => Some(A::Up),
                KeyCode::Down | KeyCode::Char('j') => Some(A::Down),
                KeyCode::Enter => Some(A::Enter),
                _ => None,
            },
            Overlay::Timeline(_) => match k.code {
                KeyCode::Up | KeyCode::Char('k') => Some(A::Up),
                KeyCode::Down | KeyCode::Char('j') => Some(A::Down),
                KeyCode::Left | KeyCode::Char('h') => Some(A::Left),
                KeyCode::Right | KeyCode::Char('l') => Some(A::Right),
                KeyCode::Char('+') | KeyCode::Char('=') => Some(A::ZoomIn),
                KeyCode::Char('-') => Some(A::ZoomOut),
                KeyCode::Char('t') => Some(A::Close),
                _ => None,
            },
            Overlay::Error(_) => None,
        };
        if any.is_some() {
            return any;
        }
        return match k.code {
            KeyCode::Char('q') => Some(A::Quit),
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('S') => Some(A::Close),
            _ => None,
        };
    }
    if model.diff.view.is_some() {
        return match k.code {
            KeyCode::Char('?') => Some(A::Help),
            _ => crate::diff::keys::on_key(k).map(A::Diff),
        };
    }
    let paused = matches!(
        model.pause,
        Some(Pause::BeforeStage(_) | Pause::Breakpoint(..))
    );
    if let Some(a) = movement(k) {
        return Some(a);
    }
    Some(match k.code {
        KeyCode::Char('q') => A::Quit,
        KeyCode::Char('?') => A::Help,
        KeyCode::Tab => A::FocusNext,
        KeyCode::BackTab => A::FocusPrev,
        KeyCode::Right | KeyCode::Char('l') => A::FocusNext,
        KeyCode::Left | KeyCode::Char('h') => A::FocusPrev,
        KeyCode::Esc => A::Close,
        KeyCode::Char('f') if model.focus == Focus::Log => A::ToggleFollow,
        KeyCode::Char('f') => A::OpenFiles,
        KeyCode::Char('r') => A::ToggleWrap,
        KeyCode::Char('a') => A::ToggleWholeStage,
        KeyCode::Char('/') => A::SearchStart,
        // `n` is the next match while a search is active, otherwise the next stage.
        KeyCode::Char('n') if paused && model.log.search.is_none() => A::NextStage,
        KeyCode::Char('n') => A::NextMatch,
        KeyCode::Char('N') => A::PrevMatch,
        KeyCode::Char('c') => A::Continue,
        KeyCode::Char('b') => A::ToggleBreakpoint,
        KeyCode::Char('s') => A::Shell,
        KeyCode::Char('w') => A::WriteLog,
        KeyCode::Char('S') => A::Slowest,
        KeyCode::Char('d') => A::OpenDiff,
        KeyCode::Char('e') => A::ToggleExplain,
        KeyCode::Char('t') => A::Timeline,
        _ => return None,
    })
}

/// Moving a selection and opening it: the same keys in the build panes and the diff view.
fn movement(k: &KeyEvent) -> Option<Action> {
    use Action as A;
    Some(match k.code {
        KeyCode::Up | KeyCode::Char('k') => A::Up,
        KeyCode::Down | KeyCode::Char('j') => A::Down,
        KeyCode::PageUp => A::PageUp,
        KeyCode::PageDown => A::PageDown,
        KeyCode::Home | KeyCode::Char('g') => A::Top,
        KeyCode::End | KeyCode::Char('G') => A::Bottom,
        KeyCode::Enter => A::Enter,
        _ => return None,
    })
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
    use super::*;
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
