//! The real binary in a pseudo-terminal against the real daemon: the build runs to the end,
//! the second stage's log is on screen, `q` quits, the terminal is restored, and no container
//! is left; and `--step` pauses before each stage. Skipped with a note when the daemon is
//! missing, unless `CI` is set.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{CommandBuilder, PtySize, native_pty_system};

mod common;
use common::{loopback, podman};

const BIN: &str = env!("CARGO_BIN_EXE_stagescope");
const ROWS: u16 = 30;
const COLS: u16 = 100;

/// The TUI process, killed if a test fails before it quits.
struct Child(Box<dyn portable_pty::Child + Send + Sync>);

impl Drop for Child {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
    }
}
type Keys = Box<dyn Write + Send>;

fn docker_lines(args: &[&str]) -> Vec<String> {
    let out = Command::new("docker").args(args).output().expect("docker");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

fn stagescope_containers() -> Vec<String> {
    docker_lines(&["ps", "-a", "-q", "--filter", "label=dev.stagescope.build"])
}

fn stagescope_tags() -> Vec<String> {
    docker_lines(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .into_iter()
        .filter(|t| t.starts_with("stagescope.local/"))
        .collect()
}

/// Removes the tags this test made and no one else's (other runs may share the daemon).
fn remove_new_tags(before: &[String]) {
    for tag in stagescope_tags()
        .into_iter()
        .filter(|t| !before.contains(t))
    {
        let _ = Command::new("docker").args(["rmi", &tag]).output();
    }
}

fn assert_no_new_containers(before: &[String]) {
    let left_over: Vec<String> = stagescope_containers()
        .into_iter()
        .filter(|c| !before.contains(c))
        .collect();
    assert!(left_over.is_empty(), "containers left: {left_over:?}");
}

/// The terminal as the TUI left it: main screen, cursor shown.
fn assert_restored(screen: &Screen) {
    let raw = String::from_utf8_lossy(&screen.raw.lock().expect("lock")).to_string();
    let entered = raw
        .rfind("\x1b[?1049h")
        .expect("entered the alternate screen");
    let left = raw.rfind("\x1b[?1049l").expect("left the alternate screen");
    assert!(left > entered, "alternate screen not left last");
    let shown = raw.rfind("\x1b[?25h").expect("cursor shown");
    assert!(
        shown > raw.rfind("\x1b[?25l").unwrap_or(0),
        "cursor hidden at exit"
    );
    let parser = screen.parser.lock().expect("lock");
    assert!(!parser.screen().alternate_screen());
    assert!(!parser.screen().hide_cursor());
}

/// One TUI at a time: a test's leftover check must not see another test's live shell.
static SERIAL: Mutex<()> = Mutex::new(());

fn daemon_or_skip() -> bool {
    let setup = Command::new(BIN).arg("setup-base").output();
    let ok = setup.as_ref().is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "the Docker daemon is not available and CI is set: {setup:?}"
        );
        eprintln!("note: skipping the TUI end-to-end test, no Docker daemon");
    }
    ok
}

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// Kept open for the reader, and to resize the terminal.
    master: Box<dyn portable_pty::MasterPty + Send>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().expect("lock").screen().contents()
    }

    fn wait_for(&self, what: &str, f: impl Fn(&str) -> bool, secs: u64) {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(secs) {
            if f(&self.text()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}; screen:\n{}", self.text());
    }

    fn wait_done(&self) {
        self.wait_for(
            "the build to finish",
            |s| s.lines().last().is_some_and(|l| l.contains(" done ")) || s.contains("FAILED"),
            180,
        );
        assert!(!self.text().contains("FAILED"), "{}", self.text());
    }
}

/// The TUI on the fixture in a 100x30 pseudo-terminal, its screen read by a vt100 parser.
fn work_dir(fixture: &Path) -> std::path::PathBuf {
    let name = fixture.file_name().map(|n| n.to_string_lossy().to_string());
    let dir = std::env::temp_dir().join(format!(
        "stagescope-e2e-{}-{}",
        std::process::id(),
        name.unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir).expect("work dir");
    dir
}

fn spawn_tui(args: &[&str]) -> (Screen, Child, Keys) {
    spawn_on("tui", args)
}

fn spawn_on(fixture: &str, args: &[&str]) -> (Screen, Child, Keys) {
    spawn_with(fixture, args, |_| {})
}

/// The TUI with a PATH of one empty directory: whatever it does, it does without the docker
/// CLI (or any other program).
fn spawn_without_programs(fixture: &str, args: &[&str]) -> (Screen, Child, Keys) {
    let empty = std::env::temp_dir().join(format!("stagescope-e2e-{}-nopath", std::process::id()));
    std::fs::create_dir_all(&empty).expect("empty dir");
    spawn_with(fixture, args, |cmd| cmd.env("PATH", &empty))
}

fn spawn_with(
    fixture: &str,
    args: &[&str],
    configure: impl FnOnce(&mut CommandBuilder),
) -> (Screen, Child, Keys) {
    spawn_sub(None, fixture, args, configure)
}

/// `stagescope SUBCOMMAND FIXTURE ARGS…` (no subcommand: the TUI).
fn spawn_sub(
    sub: Option<&str>,
    fixture: &str,
    args: &[&str],
    configure: impl FnOnce(&mut CommandBuilder),
) -> (Screen, Child, Keys) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(fixture);
    let mut all: Vec<std::ffi::OsString> = sub.into_iter().map(Into::into).collect();
    all.push(fixture.clone().into_os_string());
    all.extend(args.iter().map(Into::into));
    // `w` writes logs into the working directory: keep them out of the repository.
    spawn_args(&all, &work_dir(&fixture), configure)
}

/// `stagescope ARGS…` in a 100x30 pseudo-terminal, its screen read by a vt100 parser.
fn spawn_args(
    args: &[std::ffi::OsString],
    cwd: &Path,
    configure: impl FnOnce(&mut CommandBuilder),
) -> (Screen, Child, Keys) {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("pty");
    let mut cmd = CommandBuilder::new(BIN);
    cmd.args(args);
    cmd.env("TERM", "xterm-256color");
    cmd.cwd(cwd);
    configure(&mut cmd);
    let child = Child(pair.slave.spawn_command(cmd).expect("spawn"));
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let writer = pair.master.take_writer().expect("writer");
    let screen = Screen {
        parser: Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0))),
        raw: Arc::new(Mutex::new(Vec::new())),
        master: pair.master,
    };
    let (parser, raw) = (screen.parser.clone(), screen.raw.clone());
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            parser.lock().expect("lock").process(&buf[..n]);
            raw.lock().expect("lock").extend_from_slice(&buf[..n]);
        }
    });
    (screen, child, writer)
}

fn press(keys: &mut Keys, k: &str) {
    keys.write_all(k.as_bytes()).expect("write key");
    keys.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(300));
}

fn wait_exit(child: &mut Child) -> portable_pty::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(st) = child.0.try_wait().expect("wait") {
            return st;
        }
        assert!(t.elapsed() < Duration::from_secs(30), "did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn tui_builds_shows_the_second_stage_log_and_restores_the_terminal() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !daemon_or_skip() {
        return;
    }
    let containers_before = stagescope_containers();
    let tags_before = stagescope_tags();
    // A fresh build argument, so the RUN is not served from cache and prints its line.
    let nonce = format!("n{}", std::process::id());
    let (screen, mut child, mut keys) = spawn_tui(&["--build-arg", &format!("NONCE={nonce}")]);
    screen.wait_done();

    // Graph pane: top, then one down is the second stage; `a` shows its whole log.
    press(&mut keys, "g");
    press(&mut keys, "j");
    press(&mut keys, "a");
    let expected = format!("second says hello {nonce}");
    screen.wait_for("the second stage's log line", |s| s.contains(&expected), 10);
    assert!(
        screen.text().contains("Log second (whole stage)"),
        "{}",
        screen.text()
    );

    // `w` writes the selected log, from the run's full log on disk.
    press(&mut keys, "w");
    screen.wait_for(
        "the log written",
        |s| s.contains("wrote stagescope-second.log"),
        10,
    );
    let dir = work_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tui"));
    let written = std::fs::read_to_string(dir.join("stagescope-second.log")).expect("log file");
    assert!(written.contains(&expected), "{written}");
    let _ = std::fs::remove_dir_all(&dir);

    // `f` opens the second stage's filesystem: the root's directories are listed.
    press(&mut keys, "f");
    screen.wait_for(
        "the second stage's files",
        |s| s.contains("Files · stage second") && s.contains("etc/") && s.contains("indexed"),
        60,
    );
    press(&mut keys, "\x1b");
    screen.wait_for("the graph again", |s| !s.contains("Files · stage"), 10);

    press(&mut keys, "q");
    let status = wait_exit(&mut child);
    assert!(status.success(), "exit: {status:?}");
    std::thread::sleep(Duration::from_millis(200));

    assert_restored(&screen);
    assert_no_new_containers(&containers_before);
    remove_new_tags(&tags_before);
}

/// `t` shows the stages along time; Esc closes it.
fn see_timeline(screen: &Screen, keys: &mut Keys) {
    press(keys, "t");
    screen.wait_for(
        "the timeline",
        |s| s.contains("Timeline ·") && s.contains("second"),
        10,
    );
    press(keys, "\x1b");
}

/// A run recorded by the TUI (`--record`, and into the history) replays with no engine at
/// all: the stages, a log line and the timeline come back; keys that need an engine say so.
#[test]
fn a_recorded_run_replays_without_an_engine() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !daemon_or_skip() {
        return;
    }
    let state = tempfile::tempdir().expect("state dir");
    let record = state.path().join("run.json");
    let nonce = format!("r{}", std::process::id());
    let record_arg = record.to_str().expect("utf8").to_string();
    let (screen, mut child, mut keys) = spawn_with(
        "tui",
        &[
            "--build-arg",
            &format!("NONCE={nonce}"),
            "--record",
            &record_arg,
        ],
        |cmd| cmd.env("XDG_STATE_HOME", state.path()),
    );
    screen.wait_done();
    // The live timeline: the stages along time.
    see_timeline(&screen, &mut keys);
    press(&mut keys, "q");
    assert!(wait_exit(&mut child).success());
    assert!(record.is_file(), "--record wrote the run");
    let runs = std::fs::read_dir(state.path().join("stagescope/runs"))
        .expect("history dir")
        .flat_map(|d| std::fs::read_dir(d.expect("entry").path()).expect("context dir"))
        .count();
    assert_eq!(runs, 1, "the TUI's run is in the history");

    let args: Vec<std::ffi::OsString> = vec!["replay".into(), record.clone().into_os_string()];
    let (screen, mut child, mut keys) = spawn_args(&args, state.path(), |cmd| {
        cmd.env("DOCKER_HOST", "unix:///nonexistent/docker.sock");
    });
    screen.wait_for(
        "the replayed run",
        |s| s.contains("replay of") && s.contains("second"),
        20,
    );
    press(&mut keys, "g");
    press(&mut keys, "j");
    press(&mut keys, "a");
    let expected = format!("second says hello {nonce}");
    screen.wait_for("the second stage's log line", |s| s.contains(&expected), 10);
    see_timeline(&screen, &mut keys);
    press(&mut keys, "f");
    screen.wait_for(
        "the one-line refusal",
        |s| s.contains("needs an engine"),
        10,
    );
    press(&mut keys, "q");
    assert!(wait_exit(&mut child).success());
    std::thread::sleep(Duration::from_millis(200));
    assert_restored(&screen);
}

#[test]
fn step_mode_pauses_before_each_stage_and_continues() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !daemon_or_skip() {
        return;
    }
    let tags_before = stagescope_tags();
    let nonce = format!("step{}", std::process::id());
    let (screen, mut child, mut keys) =
        spawn_tui(&["--step", "--build-arg", &format!("NONCE={nonce}")]);
    screen.wait_for(
        "a pause before the first stage",
        |s| s.contains("PAUSED before first"),
        60,
    );
    press(&mut keys, "n");
    screen.wait_for(
        "a pause before the second stage",
        |s| s.contains("PAUSED before second"),
        120,
    );
    // A breakpoint after the second stage's ARG: `c` stops there, then goes on.
    press(&mut keys, "\t");
    press(&mut keys, "j");
    press(&mut keys, "b");
    press(&mut keys, "c");
    screen.wait_for("the breakpoint", |s| s.contains("BREAK second#1"), 120);
    press(&mut keys, "c");
    screen.wait_done();
    press(&mut keys, "q");
    assert!(wait_exit(&mut child).success());
    remove_new_tags(&tags_before);
}

/// A BuildKit at tcp:// (the engine's, behind the loopback forwarder) and no engine at all:
/// step mode pauses and goes on, `f` lists a stage from the tar exporter, `s` says in one
/// line that a shell needs an engine, and `q` restores the terminal.
#[test]
fn on_a_buildkit_address_the_tui_steps_and_opens_files_with_no_engine() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !daemon_or_skip() {
        return;
    }
    let proxy = loopback::Proxy::start_buildkit(None);
    let nonce = format!("remote{}", std::process::id());
    let (screen, mut child, mut keys) = spawn_with(
        "tui",
        &[
            "--step",
            "--buildkit-addr",
            &proxy.url(),
            "--build-arg",
            &format!("NONCE={nonce}"),
        ],
        |cmd| cmd.env("DOCKER_HOST", "unix:///nonexistent/docker.sock"),
    );
    screen.wait_for(
        "a pause before the first stage",
        |s| s.contains("PAUSED before first"),
        60,
    );
    press(&mut keys, "c");
    screen.wait_done();
    assert!(screen.text().contains("BuildKit"), "{}", screen.text());
    press(&mut keys, "f");
    screen.wait_for("the stage's files", |s| s.contains("bin/"), 60);
    // A preview is read out of the state's tar export.
    press(&mut keys, "/");
    for k in ["f", "i", "r", "s", "t", "\r"] {
        press(&mut keys, k);
    }
    press(&mut keys, "p");
    screen.wait_for("the preview", |s| s.contains("ELF"), 60);
    press(&mut keys, "\x1b");
    press(&mut keys, "\x1b");
    press(&mut keys, "\x1b");
    press(&mut keys, "s");
    press(&mut keys, "\r");
    screen.wait_for(
        "the shell refused in one line",
        |s| s.contains("a shell needs a Docker engine"),
        30,
    );
    press(&mut keys, "q");
    assert!(wait_exit(&mut child).success());
    assert_restored(&screen);
}

#[test]
fn tour_explains_each_stage_and_instruction_and_counts_a_built_stage() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !daemon_or_skip() {
        return;
    }
    let containers_before = stagescope_containers();
    let tags_before = stagescope_tags();
    let nonce = format!("tour{}", std::process::id());
    let arg = format!("NONCE={nonce}");
    let (screen, mut child, mut keys) =
        spawn_sub(Some("tour"), "tui", &["--build-arg", &arg], |_| {});
    // Before a stage: what the stage is for.
    screen.wait_for(
        "the first stage explained before it is built",
        |s| s.contains("PAUSED before first") && s.contains("Explain · stage first"),
        60,
    );
    // `n`: one instruction at a time, each explained.
    press(&mut keys, "n");
    screen.wait_for(
        "a pause after the FROM, explained",
        |s| s.contains("BREAK first#0") && s.contains("line 1: FROM busybox AS first"),
        120,
    );
    press(&mut keys, "n");
    screen.wait_for(
        "a pause after the RUN, explained",
        |s| {
            s.contains("BREAK first#1")
                && s.contains("Explain · first#1")
                && s.contains("line 2: RUN echo first stage ran")
        },
        120,
    );
    // What the RUN did is counted in the state the tour paused at, before the stage ends.
    screen.wait_for(
        "the paused state's numbers",
        |s| s.contains("BREAK first#1") && s.contains("In this build"),
        120,
    );
    press(&mut keys, "n");
    screen.wait_for(
        "a pause before the second stage",
        |s| s.contains("PAUSED before second") && s.contains("Explain · stage second"),
        120,
    );
    // The first stage is built: selecting it counts its files in the background.
    press(&mut keys, "k");
    screen.wait_for(
        "the first stage's numbers",
        |s| s.contains("Explain · stage first") && s.contains("size:"),
        120,
    );
    press(&mut keys, "q");
    let _ = wait_exit(&mut child);
    std::thread::sleep(Duration::from_millis(200));
    assert_restored(&screen);
    assert_no_new_containers(&containers_before);
    remove_new_tags(&tags_before);
}

/// The `tui-fail` fixture failed in the TUI, which has no program on its PATH: its shells
/// go through the engine API, not the docker CLI.
fn failed_build(nonce: &str) -> (Screen, Child, Keys) {
    let (screen, child, keys) =
        spawn_without_programs("tui-fail", &["--build-arg", &format!("NONCE={nonce}")]);
    screen.wait_for("the failure", |s| s.contains("FAILED"), 180);
    (screen, child, keys)
}

/// `q` on a failed build: it exits 1, restores the terminal and leaves no container; the
/// tags it made (those not in `before`'s second list) are removed.
fn quit_failed(screen: &Screen, mut child: Child, mut keys: Keys, before: (&[String], &[String])) {
    press(&mut keys, "q");
    let status = wait_exit(&mut child);
    assert_eq!(status.exit_code(), 1, "a failed build exits 1");
    assert_restored(screen);
    assert_no_new_containers(before.0);
    remove_new_tags(before.1);
}

#[test]
fn failure_selects_the_failing_instruction_and_s_opens_a_shell_before_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !daemon_or_skip() {
        return;
    }
    let containers_before = stagescope_containers();
    let tags_before = stagescope_tags();
    let nonce = format!("fail{}", std::process::id());
    let (screen, child, mut keys) = failed_build(&nonce);
    let expected = format!("about to fail {nonce}");
    screen.wait_for("the failing log line", |s| s.contains(&expected), 10);
    assert!(screen.text().contains("Log broken#3"), "{}", screen.text());
    // The pre-failure state has /prepared; the shell's output proves it ran there.
    // `s` asks for a command first; Enter on an empty one opens /bin/sh.
    press(&mut keys, "s");
    screen.wait_for("the shell prompt", |s| s.contains("Enter run"), 10);
    press(&mut keys, "\r");
    std::thread::sleep(Duration::from_secs(2));
    press(
        &mut keys,
        "test -f /prepared && echo in-$((40+2))-side; exit\r",
    );
    screen.wait_for(
        "the TUI back after the shell",
        |s| s.contains("shell exited"),
        60,
    );
    let raw = String::from_utf8_lossy(&screen.raw.lock().expect("lock")).to_string();
    assert!(raw.contains("in-42-side"), "shell output missing");
    // A typed command runs with `sh -c` and waits for Enter before the TUI comes back.
    press(&mut keys, "s");
    screen.wait_for("the shell prompt again", |s| s.contains("Enter run"), 10);
    press(&mut keys, "echo typed-$((6*7))\r");
    screen.wait_for("the command's output", |s| s.contains("typed-42"), 60);
    screen.wait_for(
        "the return prompt",
        |s| s.contains("press Enter to return"),
        30,
    );
    press(&mut keys, "\r");
    screen.wait_for(
        "the TUI back after the command",
        |s| s.contains("Log broken#3"),
        30,
    );
    quit_failed(&screen, child, keys, (&containers_before, &tags_before));
}

#[test]
fn an_interactive_shell_reports_its_exit_status_and_leaves_no_container() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !daemon_or_skip() {
        return;
    }
    let containers_before = stagescope_containers();
    let tags_before = stagescope_tags();
    let nonce = format!("sh{}", std::process::id());
    let (screen, child, mut keys) = failed_build(&nonce);
    press(&mut keys, "s");
    screen.wait_for("the shell prompt", |s| s.contains("Enter run"), 10);
    press(&mut keys, "\r");
    screen.wait_for("/bin/sh's prompt", |s| s.contains("/ # "), 60);
    // The shell's TTY has the terminal's size, and follows it when it changes.
    press(&mut keys, "stty size\r");
    let raw = || String::from_utf8_lossy(&screen.raw.lock().expect("lock")).to_string();
    screen.wait_for(
        "the first size",
        |_| raw().contains(&format!("{ROWS} {COLS}")),
        10,
    );
    screen
        .master
        .resize(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("resize");
    std::thread::sleep(Duration::from_millis(500));
    press(&mut keys, "stty size\r");
    screen.wait_for("the new size", |_| raw().contains("40 120"), 10);
    press(&mut keys, "echo hello-from-$((1+1))-sh; exit 3\r");
    screen.wait_for(
        "the TUI back after the shell",
        |s| s.contains("shell exited (exit status: 3)"),
        60,
    );
    assert!(raw().contains("hello-from-2-sh"), "shell output missing");
    // The TUI has its keys back: the first one after the shell is not lost.
    quit_failed(&screen, child, keys, (&containers_before, &tags_before));
}

#[test]
fn sigterm_restores_the_terminal() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !daemon_or_skip() {
        return;
    }
    let tags_before = stagescope_tags();
    let (screen, mut child, _keys) = spawn_tui(&["--step"]);
    screen.wait_for(
        "a pause before the first stage",
        |s| s.contains("PAUSED before first"),
        60,
    );
    let pid = child.0.process_id().expect("pid");
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
    let status = wait_exit(&mut child);
    assert_eq!(status.exit_code(), 130);
    std::thread::sleep(Duration::from_millis(200));
    assert_restored(&screen);
    remove_new_tags(&tags_before);
}

/// Stands in for the daemon's socket and forwards to the real one until `cut`: the daemon
/// "disappears" for this one client without stopping the daemon others use.
struct SocketProxy {
    path: std::path::PathBuf,
    stop: Arc<std::sync::atomic::AtomicBool>,
    conns: Arc<Mutex<Vec<std::os::unix::net::UnixStream>>>,
}

impl SocketProxy {
    fn start() -> Self {
        use std::os::unix::net::{UnixListener, UnixStream};
        use std::sync::atomic::{AtomicBool, Ordering};
        let path =
            std::env::temp_dir().join(format!("stagescope-proxy-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path).expect("bind proxy socket");
        let stop = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<UnixStream>>> = Arc::new(Mutex::new(Vec::new()));
        let (stop2, conns2) = (stop.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(daemon) = UnixStream::connect(loopback::socket()) else {
                    continue;
                };
                for s in [&client, &daemon] {
                    if let Ok(c) = s.try_clone() {
                        conns2.lock().expect("lock").push(c);
                    }
                }
                for (mut from, mut to) in [
                    (
                        client.try_clone().expect("clone"),
                        daemon.try_clone().expect("clone"),
                    ),
                    (daemon, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        SocketProxy { path, stop, conns }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.path.display())
    }

    fn cut(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for c in self.conns.lock().expect("lock").iter() {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
        let _ = std::os::unix::net::UnixStream::connect(&self.path);
        let _ = std::fs::remove_file(&self.path);
    }
}

#[test]
fn the_daemon_going_away_mid_build_is_an_error_overlay_not_a_crash() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !daemon_or_skip() {
        return;
    }
    let containers_before = stagescope_containers();
    let tags_before = stagescope_tags();
    let proxy = SocketProxy::start();
    let nonce = format!("gone{}", std::process::id());
    let host = proxy.host();
    let (screen, mut child, mut keys) = spawn_on(
        "tui-slow",
        &["--host", &host, "--build-arg", &format!("NONCE={nonce}")],
    );
    let started = format!("slow step started {nonce}");
    screen.wait_for("the slow step", |s| s.contains(&started), 120);
    proxy.cut();
    screen.wait_for("the error overlay", |s| s.contains("Error"), 60);
    press(&mut keys, "q");
    let status = wait_exit(&mut child);
    assert_ne!(status.exit_code(), 0, "a build cut off is not a success");
    assert_restored(&screen);
    // The daemon cancels a solve whose client went away; give it a moment.
    std::thread::sleep(Duration::from_secs(3));
    assert_no_new_containers(&containers_before);
    remove_new_tags(&tags_before);
}

/// The `s` shell on Podman: the same engine-API container, attached with a TTY, and gone
/// afterwards; no docker CLI on PATH.
#[test]
fn on_podman_a_failure_opens_a_shell_in_the_state_before_it() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(host) = podman::podman_host(BIN) else {
        return;
    };
    let podman_ps = || {
        let out = Command::new("podman")
            .args(["--url", &host, "ps", "-a", "-q"])
            .output()
            .expect("podman ps");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let before = podman_ps();
    let nonce = format!("podman{}", std::process::id());
    let empty = std::env::temp_dir().join(format!("stagescope-e2e-{}-nopath", std::process::id()));
    std::fs::create_dir_all(&empty).expect("empty dir");
    let (screen, mut child, mut keys) = spawn_with(
        "tui-fail",
        &["--build-arg", &format!("NONCE={nonce}")],
        |cmd| {
            cmd.env("PATH", &empty);
            cmd.env("DOCKER_HOST", &host);
        },
    );
    screen.wait_for("the failure", |s| s.contains("FAILED"), 180);
    assert!(screen.text().contains("podman"), "{}", screen.text());
    press(&mut keys, "s");
    screen.wait_for("the shell prompt", |s| s.contains("Enter run"), 10);
    press(&mut keys, "\r");
    screen.wait_for("/bin/sh's prompt", |s| s.contains("/ # "), 60);
    press(
        &mut keys,
        "test -f /prepared && echo in-$((40+2))-podman; exit\r",
    );
    screen.wait_for(
        "the TUI back after the shell",
        |s| s.contains("shell exited"),
        60,
    );
    let raw = String::from_utf8_lossy(&screen.raw.lock().expect("lock")).to_string();
    assert!(raw.contains("in-42-podman"), "shell output missing");
    press(&mut keys, "q");
    assert_eq!(wait_exit(&mut child).exit_code(), 1);
    assert_restored(&screen);
    assert_eq!(podman_ps(), before, "no container left on Podman");
    let _ = Command::new(BIN)
        .arg("clean")
        .env("DOCKER_HOST", &host)
        .output();
}

/// Ctrl-C in the `s` shell belongs to the shell: it stops the command running there, not
/// stagescope. SIGTERM to stagescope while a shell is open ends both: exit 130, the
/// container removed, the terminal restored.
#[test]
fn ctrl_c_in_the_shell_stops_its_command_and_sigterm_removes_the_container() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !daemon_or_skip() {
        return;
    }
    let containers_before = stagescope_containers();
    let tags_before = stagescope_tags();
    let nonce = format!("cc{}", std::process::id());
    let (screen, mut child, mut keys) = failed_build(&nonce);
    press(&mut keys, "s");
    screen.wait_for("the shell prompt", |s| s.contains("Enter run"), 10);
    press(&mut keys, "\r");
    screen.wait_for("/bin/sh's prompt", |s| s.contains("/ # "), 60);
    press(&mut keys, "sleep 600; echo after-$((2*21))\r");
    std::thread::sleep(Duration::from_secs(1));
    press(&mut keys, "\x03");
    press(&mut keys, "echo still-$((40+2))-here\r");
    let raw = || String::from_utf8_lossy(&screen.raw.lock().expect("lock")).to_string();
    screen.wait_for(
        "the shell after Ctrl-C",
        |_| raw().contains("still-42-here"),
        20,
    );
    assert!(
        stagescope_containers().len() > containers_before.len(),
        "the shell's container is still there"
    );

    let pid = child.0.process_id().expect("pid");
    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    assert!(killed.is_ok_and(|s| s.success()));
    let status = wait_exit(&mut child);
    assert_eq!(status.exit_code(), 130, "{}", screen.text());
    std::thread::sleep(Duration::from_millis(200));
    assert_restored(&screen);
    assert_no_new_containers(&containers_before);
    remove_new_tags(&tags_before);
}

/// A build `docker buildx build` ran on today's Docker replays from BuildKit's own record:
/// its stages, the timeline, and keys that need an engine say so.
#[test]
fn a_buildx_build_replays_from_buildkits_record() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(host) = common::buildx::modern_engine() else {
        return;
    };
    let n = common::nonce();
    let p = common::Project::new(&format!(
        "FROM busybox AS fetch\nRUN echo fetched-{n} > /f\n\nFROM busybox\nCOPY --from=fetch /f /f\nRUN echo second-{n}\n"
    ));
    let arg = format!("NONCE={n}");
    let out = common::buildx::buildx(&host, p.path(), &["--build-arg", &arg]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs = common::buildx::records_with(&host, "NONCE", &n);
    let r = recs[0]["ref"].as_str().expect("ref").to_string();
    let args: Vec<std::ffi::OsString> = vec!["replay".into(), r.clone().into()];
    let (screen, mut child, mut keys) = spawn_args(&args, p.path(), |cmd| {
        cmd.env("DOCKER_HOST", &host);
    });
    screen.wait_for(
        "the record replayed",
        |s| s.contains(&format!("replay of {r}")) && s.contains("fetch"),
        30,
    );
    press(&mut keys, "t");
    screen.wait_for("the timeline", |s| s.contains("Timeline ·"), 10);
    press(&mut keys, "\x1b");
    press(&mut keys, "q");
    assert!(wait_exit(&mut child).success());
    std::thread::sleep(Duration::from_millis(200));
    assert_restored(&screen);
}

/// `attach` opens the TUI on a build someone else started and follows it to its end.
#[test]
fn attach_follows_a_buildx_build_live_in_the_tui() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(host) = common::buildx::modern_engine() else {
        return;
    };
    let n = common::nonce();
    let p = common::Project::new(
        "FROM busybox\nARG NONCE\nRUN echo \"$NONCE\" && sleep 4 && echo slept\n",
    );
    let mut build = common::buildx::running(&host, p.path(), &n);
    let args: Vec<std::ffi::OsString> = vec!["attach".into()];
    let (screen, mut child, mut keys) = spawn_args(&args, p.path(), |cmd| {
        cmd.env("DOCKER_HOST", &host);
    });
    screen.wait_for("attached", |s| s.contains("attached to"), 20);
    screen.wait_done();
    assert!(build.wait().expect("buildx").success());
    press(&mut keys, "q");
    assert!(wait_exit(&mut child).success());
    std::thread::sleep(Duration::from_millis(200));
    assert_restored(&screen);
}
