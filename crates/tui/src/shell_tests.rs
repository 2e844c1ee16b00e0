use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::key_bytes;

fn key(code: KeyCode, modifiers: KeyModifiers) -> Option<Vec<u8>> {
    key_bytes(KeyEvent::new(code, modifiers))
}

fn plain(code: KeyCode) -> Option<Vec<u8>> {
    key(code, KeyModifiers::NONE)
}

#[test]
fn characters_are_their_utf8() {
    assert_eq!(plain(KeyCode::Char('a')), Some(b"a".to_vec()));
    assert_eq!(
        key(KeyCode::Char('A'), KeyModifiers::SHIFT),
        Some(b"A".to_vec())
    );
    assert_eq!(plain(KeyCode::Char('é')), Some("é".as_bytes().to_vec()));
}

#[test]
fn editing_keys_are_what_a_terminal_sends() {
    assert_eq!(plain(KeyCode::Enter), Some(b"\r".to_vec()));
    assert_eq!(plain(KeyCode::Backspace), Some(vec![0x7f]));
    assert_eq!(plain(KeyCode::Tab), Some(b"\t".to_vec()));
    assert_eq!(
        key(KeyCode::BackTab, KeyModifiers::SHIFT),
        Some(b"\x1b[Z".to_vec())
    );
    assert_eq!(plain(KeyCode::Esc), Some(vec![0x1b]));
    assert_eq!(plain(KeyCode::Delete), Some(b"\x1b[3~".to_vec()));
    assert_eq!(plain(KeyCode::PageDown), Some(b"\x1b[6~".to_vec()));
}

#[test]
fn arrows_are_csi_sequences_with_xterm_modifiers() {
    assert_eq!(plain(KeyCode::Up), Some(b"\x1b[A".to_vec()));
    assert_eq!(plain(KeyCode::Down), Some(b"\x1b[B".to_vec()));
    assert_eq!(plain(KeyCode::Right), Some(b"\x1b[C".to_vec()));
    assert_eq!(plain(KeyCode::Left), Some(b"\x1b[D".to_vec()));
    assert_eq!(
        key(KeyCode::Left, KeyModifiers::CONTROL),
        Some(b"\x1b[1;5D".to_vec())
    );
    assert_eq!(plain(KeyCode::Home), Some(b"\x1b[H".to_vec()));
}

#[test]
fn function_keys() {
    assert_eq!(plain(KeyCode::F(1)), Some(b"\x1bOP".to_vec()));
    assert_eq!(plain(KeyCode::F(5)), Some(b"\x1b[15~".to_vec()));
    assert_eq!(plain(KeyCode::F(12)), Some(b"\x1b[24~".to_vec()));
    assert_eq!(plain(KeyCode::F(13)), None);
}

#[test]
fn ctrl_letters_are_control_bytes() {
    let ctrl = KeyModifiers::CONTROL;
    assert_eq!(key(KeyCode::Char('c'), ctrl), Some(vec![0x03]));
    assert_eq!(key(KeyCode::Char('d'), ctrl), Some(vec![0x04]));
    assert_eq!(key(KeyCode::Char('a'), ctrl), Some(vec![0x01]));
    assert_eq!(key(KeyCode::Char('z'), ctrl), Some(vec![0x1a]));
    assert_eq!(key(KeyCode::Char(' '), ctrl), Some(vec![0x00]));
    // crossterm reads 0x1c..0x1f as Ctrl-4..Ctrl-7.
    assert_eq!(key(KeyCode::Char('4'), ctrl), Some(vec![0x1c]));
    assert_eq!(key(KeyCode::Char('7'), ctrl), Some(vec![0x1f]));
    assert_eq!(key(KeyCode::Char('é'), ctrl), None);
}

#[test]
fn alt_prefixes_escape() {
    assert_eq!(
        key(KeyCode::Char('b'), KeyModifiers::ALT),
        Some(b"\x1bb".to_vec())
    );
    assert_eq!(
        key(
            KeyCode::Char('c'),
            KeyModifiers::ALT | KeyModifiers::CONTROL
        ),
        Some(vec![0x1b, 0x03])
    );
}

#[test]
fn releases_send_nothing() {
    let mut k = KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE);
    k.kind = KeyEventKind::Release;
    assert_eq!(key_bytes(k), None);
}

/// Every byte crossterm parses to a key comes back out as itself.
#[test]
fn control_bytes_round_trip_through_crossterm_names() {
    for b in (1u8..=0x1a).chain(0x1c..=0x1f) {
        let code = if b <= 0x1a {
            KeyCode::Char(char::from(b - 1 + b'a'))
        } else {
            KeyCode::Char(char::from(b - 0x1c + b'4'))
        };
        assert_eq!(key(code, KeyModifiers::CONTROL), Some(vec![b]));
    }
}
