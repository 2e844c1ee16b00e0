//! `s`: `/bin/sh` in a new container from a state's image, on the real terminal, through
//! the engine API (no docker CLI); the container is removed when the shell exits.
//!
//! Keys reach the shell through crossterm's event reader, turned back into the bytes a
//! terminal sends, not by reading stdin raw: crossterm's reader is the one the TUI's input
//! thread uses, so nothing it has buffered is lost in either direction, it tells the size
//! of the terminal as it changes (SIGWINCH) along with the keys, and polled with a short
//! timeout it stops the moment the shell is done — a blocking read of stdin could not be
//! called off and would eat the first key meant for the TUI.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use stagescope_core::session::shell::ShellInput;
use stagescope_core::session::{Events, Session};
use stagescope_plan::StageRef;

/// How often the key reader looks whether the shell is done.
const POLL: Duration = Duration::from_millis(20);

/// Runs the shell (the terminal is the shell's meanwhile); returns a line for the status bar.
pub(crate) async fn run(
    s: &Session,
    events: &Events,
    at: StageRef,
    image: Option<String>,
    command: Option<String>,
) -> String {
    let image = match image {
        Some(i) => i,
        None => {
            println!("making the image of that state (served from the build cache)…");
            match s.state_image(&[], at, events).await {
                Ok(i) => i,
                Err(e) => return format!("no image for that state: {e}"),
            }
        }
    };
    println!(
        "shell in {}; exit to return to stagescope",
        s.shell_name(at)
    );
    let _ = std::io::stdout().flush();
    let raw = RawMode::enter();
    let (tx, rx) = unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let hangup = spawn_hangup(tx.clone());
    let reader = spawn_key_reader(tx, stop.clone());
    let size = terminal::size().ok();
    let ran = s
        .shell(&image, at, command.as_deref(), size, rx, write_out)
        .await;
    stop.store(true, Ordering::Relaxed);
    let hung_up = hangup.is_finished();
    hangup.abort();
    let _ = tokio::task::spawn_blocking(move || reader.join()).await;
    if command.is_some() && !hung_up {
        // The command's output stays on the screen until the user has read it.
        write_out(b"\r\n[press Enter to return to stagescope]\r\n");
        let _ = tokio::task::spawn_blocking(wait_for_enter).await;
    }
    drop(raw);
    match ran {
        Ok(code) => format!("shell exited (exit status: {code})"),
        Err(e) => format!("shell: {e}"),
    }
}

fn write_out(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Raw mode while it lives: every key goes to the shell, Ctrl-C included.
struct RawMode;

impl RawMode {
    fn enter() -> std::io::Result<RawMode> {
        terminal::enable_raw_mode().map(|()| RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = terminal::disable_raw_mode();
    }
}

/// Sends keys (as bytes) and resizes to the shell until `stop` is set or the shell stops
/// listening (the engine drops the receiver the moment the container exits).
fn spawn_key_reader(
    tx: UnboundedSender<ShellInput>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let done = || stop.load(Ordering::Relaxed) || tx.is_closed();
        while !done() {
            // Looked at again between poll and read: a key after the shell is the TUI's.
            match event::poll(POLL) {
                Ok(true) if !done() => {}
                Ok(_) => continue,
                Err(_) => return,
            }
            let input = match event::read() {
                Ok(Event::Key(k)) => key_bytes(k).map(ShellInput::Bytes),
                Ok(Event::Paste(text)) => Some(ShellInput::Bytes(text.into_bytes())),
                Ok(Event::Resize(cols, rows)) => Some(ShellInput::Resize { cols, rows }),
                Ok(_) => None,
                Err(_) => return,
            };
            if let Some(input) = input
                && tx.send(input).is_err()
            {
                return;
            }
        }
    })
}

/// SIGTERM or SIGINT from outside while the shell runs (the app's own handler acts on it
/// once the shell is gone) stops the shell first: Ctrl-C typed in the shell is a byte for
/// the shell, but `kill` from outside must not leave the container behind.
fn spawn_hangup(tx: UnboundedSender<ShellInput>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        super::signals::terminated().await;
        let _ = tx.send(ShellInput::Hangup);
    })
}

/// Blocks until Enter is pressed (or the terminal fails).
fn wait_for_enter() {
    loop {
        match event::read() {
            Ok(Event::Key(k)) if k.code == KeyCode::Enter && k.kind != KeyEventKind::Release => {
                return;
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// The bytes a terminal (xterm, normal cursor mode) sends for a key; None for a key it sends
/// nothing for (a release, a modifier alone). Alt prefixes ESC.
pub(crate) fn key_bytes(k: KeyEvent) -> Option<Vec<u8>> {
    if k.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    let shift = k.modifiers.contains(KeyModifiers::SHIFT);
    // xterm's modifier parameter: 1 + Shift 1 + Alt 2 + Ctrl 4.
    let m = 1 + u8::from(shift) + 2 * u8::from(alt) + 4 * u8::from(ctrl);
    // ESC [ params end, the modifier the last parameter (after a 1 when there is no other).
    let seq = |param: Option<u8>, end: char| {
        match (param, m) {
            (None, 1) => format!("\x1b[{end}"),
            (None, m) => format!("\x1b[1;{m}{end}"),
            (Some(n), 1) => format!("\x1b[{n}{end}"),
            (Some(n), m) => format!("\x1b[{n};{m}{end}"),
        }
        .into_bytes()
    };
    let csi = |end: char| seq(None, end);
    let tilde = |n: u8| seq(Some(n), '~');
    let plain: Vec<u8> = match k.code {
        KeyCode::Char(c) if ctrl => vec![control_byte(c)?],
        KeyCode::Char(c) => c.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::BackTab => return Some(b"\x1b[Z".to_vec()),
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up => return Some(csi('A')),
        KeyCode::Down => return Some(csi('B')),
        KeyCode::Right => return Some(csi('C')),
        KeyCode::Left => return Some(csi('D')),
        KeyCode::Home => return Some(csi('H')),
        KeyCode::End => return Some(csi('F')),
        KeyCode::Insert => return Some(tilde(2)),
        KeyCode::Delete => return Some(tilde(3)),
        KeyCode::PageUp => return Some(tilde(5)),
        KeyCode::PageDown => return Some(tilde(6)),
        KeyCode::F(n @ 1..=4) if m == 1 => return Some(vec![0x1b, b'O', b'P' + n - 1]),
        KeyCode::F(n @ 1..=4) => return Some(csi(char::from(b'P' + n - 1))),
        KeyCode::F(n @ 5..=12) => {
            return Some(tilde([15, 17, 18, 19, 20, 21, 23, 24][usize::from(n - 5)]));
        }
        _ => return None,
    };
    Some(if alt {
        [&[0x1b][..], &plain].concat()
    } else {
        plain
    })
}

/// Ctrl with a character: the C0 control byte a terminal sends (Ctrl-C is 0x03).
fn control_byte(c: char) -> Option<u8> {
    let c = c.to_ascii_lowercase();
    Some(match c {
        'a'..='z' => c as u8 - b'a' + 1,
        ' ' | '@' | '2' => 0,
        '[' | '3' => 0x1b,
        '\\' | '4' => 0x1c,
        ']' | '5' => 0x1d,
        '^' | '6' => 0x1e,
        '_' | '7' => 0x1f,
        '?' | '8' => 0x7f,
        _ => return None,
    })
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
