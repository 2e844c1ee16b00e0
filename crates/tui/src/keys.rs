//! Key tables: a key context's keys in one table that the keymap looks keys up in and `?`
//! draws, so a key cannot be bound without a line in the help.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key as a table matches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) code: KeyCode,
    pub(crate) mods: KeyModifiers,
}

pub(crate) const fn code(code: KeyCode) -> Key {
    Key {
        code,
        mods: KeyModifiers::NONE,
    }
}

pub(crate) const fn ch(c: char) -> Key {
    code(KeyCode::Char(c))
}

pub(crate) const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        mods: KeyModifiers::CONTROL,
    }
}

// The keys that move a selection mean the same in every pane that has one.
pub(crate) const UP: &[Key] = &[code(KeyCode::Up), ch('k')];
pub(crate) const DOWN: &[Key] = &[code(KeyCode::Down), ch('j')];
pub(crate) const LEFT: &[Key] = &[code(KeyCode::Left), ch('h')];
pub(crate) const RIGHT: &[Key] = &[code(KeyCode::Right), ch('l')];
pub(crate) const PAGE_UP: &[Key] = &[code(KeyCode::PageUp)];
pub(crate) const PAGE_DOWN: &[Key] = &[code(KeyCode::PageDown)];
pub(crate) const TOP: &[Key] = &[ch('g'), code(KeyCode::Home)];
pub(crate) const BOTTOM: &[Key] = &[ch('G'), code(KeyCode::End)];
pub(crate) const ENTER: &[Key] = &[code(KeyCode::Enter)];

impl Key {
    /// Only Control tells keys apart: terminals differ on whether a capital or Shift-Tab
    /// comes with Shift, and Alt has never meant anything here.
    pub(crate) fn matches(self, k: &KeyEvent) -> bool {
        let ctrl = |m: KeyModifiers| m.contains(KeyModifiers::CONTROL);
        self.code == k.code && ctrl(self.mods) == ctrl(k.modifiers)
    }

    /// How the help writes the key (not crossterm's names, which change on macOS).
    #[cfg(test)]
    pub(crate) fn name(self) -> String {
        let named = match self.code {
            KeyCode::Char(c) if self.mods.contains(KeyModifiers::CONTROL) => {
                return format!("Ctrl-{}", c.to_ascii_uppercase());
            }
            KeyCode::Char(' ') => "Space",
            KeyCode::Char(c) => return c.to_string(),
            KeyCode::Up => "↑",
            KeyCode::Down => "↓",
            KeyCode::Left => "←",
            KeyCode::Right => "→",
            KeyCode::PageUp => "PgUp",
            KeyCode::PageDown => "PgDn",
            KeyCode::Home => "Home",
            KeyCode::End => "End",
            KeyCode::Enter => "Enter",
            KeyCode::Esc => "Esc",
            KeyCode::Tab => "Tab",
            KeyCode::BackTab => "Shift-Tab",
            KeyCode::Backspace => "Backspace",
            other => return format!("{other:?}"),
        };
        named.to_string()
    }
}

/// One line of a context's help and the keys behind it: keys with the action they give.
/// `A` is the context's action, `S` the state a `when` reads.
pub(crate) struct KeyRow<A: 'static, S: 'static = ()> {
    /// The keys as the help writes them; a test holds them to `binds`, and a part in
    /// parentheses says when the row holds.
    pub(crate) keys: &'static str,
    pub(crate) binds: &'static [(&'static [Key], A)],
    /// The row holds only in this state. Such a row wins over a plain row of the same key,
    /// so a table can list the usual meaning of a key first.
    pub(crate) when: Option<fn(&S) -> bool>,
    pub(crate) help: &'static str,
}

impl<A, S> KeyRow<A, S> {
    pub(crate) const fn new(
        keys: &'static str,
        binds: &'static [(&'static [Key], A)],
        help: &'static str,
    ) -> Self {
        KeyRow {
            keys,
            binds,
            when: None,
            help,
        }
    }

    pub(crate) const fn when(self, holds: fn(&S) -> bool) -> Self {
        KeyRow {
            when: Some(holds),
            ..self
        }
    }
}

/// The action `k` gives in a context's table, with `state` deciding the rows that need one.
pub(crate) fn lookup<A: Clone, S>(rows: &[KeyRow<A, S>], state: &S, k: &KeyEvent) -> Option<A> {
    let bound = |r: &KeyRow<A, S>| {
        r.binds
            .iter()
            .find(|(keys, _)| keys.iter().any(|key| key.matches(k)))
            .map(|(_, a)| a.clone())
    };
    let held = |r: &&KeyRow<A, S>| r.when.is_some_and(|holds| holds(state));
    rows.iter()
        .filter(held)
        .find_map(bound)
        .or_else(|| rows.iter().filter(|r| r.when.is_none()).find_map(bound))
}

/// The key names a row's label writes: commas and spaces part keys, so does `/` between two
/// keys (`↑/↓`, `n / N`) but not on its own (the search key); what is in parentheses is not
/// a key.
#[cfg(test)]
pub(crate) fn label_names(label: &str) -> std::collections::BTreeSet<String> {
    let mut keys = String::new();
    let mut depth = 0usize;
    for c in label.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => keys.push(c),
            _ => {}
        }
    }
    keys.replace(" / ", ",")
        .split([',', ' '])
        .flat_map(|word| {
            if word == "/" {
                vec![word]
            } else {
                word.split('/').collect()
            }
        })
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_part_into_key_names() {
        let names = |l: &str| label_names(l).into_iter().collect::<Vec<_>>();
        assert_eq!(names("↑/↓, k/j"), ["j", "k", "↑", "↓"]);
        assert_eq!(names("n / N"), ["N", "n"]);
        assert_eq!(names("/"), ["/"]);
        assert_eq!(names("f (log pane)"), ["f"]);
        assert_eq!(names("q, Ctrl-C"), ["Ctrl-C", "q"]);
    }

    #[test]
    fn a_row_with_a_state_wins_only_in_that_state() {
        const ROWS: &[KeyRow<u8, bool>] = &[
            KeyRow::new("x", &[(&[ch('x')], 1)], "plain"),
            KeyRow::new("x", &[(&[ch('x')], 2)], "held").when(|on| *on),
        ];
        let x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE);
        assert_eq!(lookup(ROWS, &false, &x), Some(1));
        assert_eq!(lookup(ROWS, &true, &x), Some(2));
        let ctrl_x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL);
        assert_eq!(lookup(ROWS, &true, &ctrl_x), None);
        let shift_x = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::SHIFT);
        assert_eq!(lookup(ROWS, &false, &shift_x), Some(1));
    }
}
