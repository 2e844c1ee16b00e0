//! The imperative shell: terminal setup and restore, the input thread, the build driver, and
//! the loop that drains every pending message and then draws once, at most ~60 times a second.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::crossterm::{cursor, execute};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::explain_state::ExplainState;
use super::jobs::Jobs;
use super::model::Model;
use super::runlog::RunLog;
use super::update::{Cmd, Msg, update};
use super::{keymap, shell, views};
use stagescope_core::engine::clean as engine_clean;
use stagescope_core::history::{RunRecord, Timed};
use stagescope_core::session::SessionError;
use stagescope_core::session::driver::{self, Advance};
use stagescope_core::session::record::Recording;
use stagescope_core::session::{Events, Session, SessionEvent};
use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};
use stagescope_plan::{BuildEvent, StageRef};

const FRAME: Duration = Duration::from_millis(16);
/// Background messages handled before input is looked at again, so a log flood cannot
/// starve keys.
const EVENTS_PER_TURN: usize = 20_000;
/// Puts the terminal back as it was: cooked mode, main screen, cursor shown, no mouse.
pub(crate) fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(
        io::stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        cursor::Show
    );
}

fn enter_terminal() -> io::Result<()> {
    enable_raw_mode()?;
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        cursor::Hide
    )
}

/// Restores the terminal when dropped: on return, on `?`, and while unwinding.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// A panic prints its message on a usable terminal, not inside the alternate screen.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}

/// Reads terminal events on a thread of its own; `paused` hands the terminal to a shell.
fn spawn_input(tx: UnboundedSender<event::Event>, paused: Arc<AtomicBool>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            if paused.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            match event::poll(Duration::from_millis(50)) {
                Ok(true) => match event::read() {
                    Ok(ev) => {
                        if tx.send(ev).is_err() {
                            return;
                        }
                    }
                    Err(_) => return,
                },
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });
}

/// Every background answer, by value, into the loop's one channel.
fn session_events(tx: &UnboundedSender<Msg>) -> Events {
    let tx = tx.clone();
    Events::new(move |ev| {
        let _ = tx.send(match ev {
            SessionEvent::Build(ev) => Msg::Build(ev),
            SessionEvent::Paused(p) => Msg::Paused(p),
            SessionEvent::Ended(r) => Msg::Ended(r),
        });
    })
}

/// How the TUI starts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Start {
    /// `--step`: pause before every stage.
    pub step: bool,
    /// `--explain`: the Explain pane open from the start.
    pub explain: bool,
    /// `stagescope tour`: step mode with the Explain pane, pausing after every instruction.
    pub tour: bool,
}

/// The engine side of a live TUI: the session, its build driver, background jobs, the
/// run's log on disk and its recording. A replay has none.
struct Live {
    session: Arc<Session>,
    events: Events,
    adv_tx: UnboundedSender<Advance>,
    bp_tx: tokio::sync::watch::Sender<Vec<(usize, usize)>>,
    driver: tokio::task::JoinHandle<()>,
    jobs: Jobs,
    runlog: RunLog,
    recording: Recording,
}

/// Runs the TUI on a build to the end; returns the process exit code.
pub async fn run(session: Session, start: Start, recording: Recording) -> io::Result<u8> {
    let session = Arc::new(session);
    let step = start.step || start.tour;
    let mut model = Model::new(session.plan.clone(), step);
    model.explain = ExplainState::new(session.dockerfile.clone(), session.graph.clone());
    model.explain.open = start.explain || start.tour;
    model.tour = start.tour;
    model.engine = session.engine_label();
    // A check config that does not parse only costs the marks: the build reports it.
    model.warnings = session.lint().await.map(|r| r.warnings).unwrap_or_default();
    model.diff.default_from = session.graph.copied_most_from(model.plan().target);

    // Keys have their own lane; everything else arrives here.
    let (tx, rx) = unbounded_channel::<Msg>();
    let events = recording.wrap(session_events(&tx));
    let (adv_tx, adv_rx) = unbounded_channel::<Advance>();
    let (bp_tx, bp_rx) = tokio::sync::watch::channel(Vec::<(usize, usize)>::new());
    let driver = {
        let (s, events) = (session.clone(), events.clone());
        tokio::spawn(async move { driver::drive(&s, step, &events, adv_rx, bp_rx).await })
    };
    let live = Live {
        jobs: Jobs::new(session.clone(), events.clone(), tx.clone()),
        runlog: RunLog::new(&session.build_id),
        session,
        events,
        adv_tx,
        bp_tx,
        driver,
        recording,
    };
    screen(model, tx, rx, Some(live)).await
}

/// Opens the TUI on a recorded run, with no engine: everything the record holds (graph,
/// instructions, logs, timing, cache badges and misses, the timeline); keys that need an
/// engine say so.
pub async fn replay(record: &RunRecord) -> io::Result<u8> {
    let mut model = opened(record);
    for t in &record.events {
        if is_timed(&t.event) {
            model.timeline.push(t.clone());
        }
        update(&mut model, Msg::Build(t.event.clone()));
    }
    model.elapsed_ms = record.wall_ms;
    update(&mut model, Msg::Ended(Ok(())));
    let (tx, rx) = unbounded_channel::<Msg>();
    screen(model, tx, rx, None).await
}

/// Opens the TUI on a build someone else runs, as its events arrive (`stagescope attach`):
/// `record` holds its facts, `events` its events until it ends. Keys that need an engine
/// say so, as in a replay; leaving stops the following, not the build.
pub async fn follow(
    record: &RunRecord,
    mut events: UnboundedReceiver<BuildEvent>,
) -> io::Result<u8> {
    let mut model = opened(record);
    model.engine = format!("attached to {} · {}", record.id, record.engine);
    let (tx, rx) = unbounded_channel::<Msg>();
    let forward = tx.clone();
    tokio::spawn(async move {
        while let Some(ev) = events.recv().await {
            if forward.send(Msg::Build(ev)).is_err() {
                return;
            }
        }
        let _ = forward.send(Msg::Ended(Ok(())));
    });
    screen(model, tx, rx, None).await
}

/// The model of a run with no engine behind it: plan, Explain pane, the default diff.
fn opened(record: &RunRecord) -> Model {
    let mut model = Model::new(record.plan.clone(), false);
    if let Ok(df) = Dockerfile::parse(record.dockerfile_text.as_bytes()) {
        let opts = GraphOptions {
            target: record.target.clone(),
            build_args: record.build_args.clone(),
            platform: record.platform.clone(),
        };
        if let Ok(graph) = StageGraph::build(&df, &opts) {
            model.diff.default_from = graph.copied_most_from(model.plan().target);
            model.explain = ExplainState::new(df, graph);
        }
    }
    model.replay = Some(record.id.clone());
    model.engine = format!("replay of {} · {}", record.id, record.engine);
    model
}

/// Whether the timeline keeps this event.
fn is_timed(ev: &BuildEvent) -> bool {
    matches!(
        ev,
        BuildEvent::InstructionStarted { .. } | BuildEvent::InstructionFinished { .. }
    )
}

/// The terminal and the loop: keys and background messages in, one draw per frame out.
async fn screen(
    mut model: Model,
    tx: UnboundedSender<Msg>,
    mut rx: UnboundedReceiver<Msg>,
    mut live: Option<Live>,
) -> io::Result<u8> {
    model.monochrome = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if let Ok((w, h)) = ratatui::crossterm::terminal::size() {
        model.size = (w, h);
    }
    let mut screen = Screen::open()?;
    // Kept open so a replay's loop waits on keys, not on a closed channel.
    let _tx = tx;
    let code = screen.run(&mut model, &mut rx, live.as_mut()).await?;
    screen.input_stop.store(true, Ordering::Relaxed);
    match live {
        Some(l) => shut_down(l, screen, code, &model).await,
        None => drop(screen),
    }
    Ok(code)
}

/// What the loop holds besides the model: the terminal, the input thread's lane, and when
/// it last drew.
struct Screen {
    /// Dropped before `_guard`, which gives the terminal back.
    terminal: Terminal<CrosstermBackend<io::Stdout>>,
    _guard: TerminalGuard,
    keys: UnboundedReceiver<event::Event>,
    input_paused: Arc<AtomicBool>,
    input_stop: Arc<AtomicBool>,
    started: Instant,
    last_draw: Option<Instant>,
    dirty: bool,
}

impl Screen {
    fn open() -> io::Result<Self> {
        install_panic_hook();
        enter_terminal()?;
        let guard = TerminalGuard;
        let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        terminal.clear()?;
        let (key_tx, keys) = unbounded_channel();
        let input_paused = Arc::new(AtomicBool::new(false));
        let input_stop = Arc::new(AtomicBool::new(false));
        spawn_input(key_tx, input_paused.clone(), input_stop.clone());
        Ok(Screen {
            terminal,
            _guard: guard,
            keys,
            input_paused,
            input_stop,
            started: Instant::now(),
            last_draw: None,
            dirty: true,
        })
    }

    /// Until a quit or a signal; the process's exit code.
    async fn run(
        &mut self,
        model: &mut Model,
        rx: &mut UnboundedReceiver<Msg>,
        mut live: Option<&mut Live>,
    ) -> io::Result<u8> {
        let mut term = signal_stream();
        let mut failed = false;
        loop {
            self.draw_if_due(model)?;
            let Some(mut cmds) = self.next(model, rx, live.as_deref_mut(), &mut term).await else {
                return Ok(130);
            };
            cmds.extend(self.drain(model, rx, live.as_deref_mut()));
            failed |= model.state.failure.is_some();
            if self.run_cmds(model, live.as_deref_mut(), cmds).await? {
                return Ok(exit_code(live.is_some(), failed, model));
            }
        }
    }

    fn draw_if_due(&mut self, model: &Model) -> io::Result<()> {
        if self.dirty && self.last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
            self.terminal.draw(|f| views::draw(f, model))?;
            self.last_draw = Some(Instant::now());
            self.dirty = false;
        }
        Ok(())
    }

    /// A key, a background message or a tick, and what they ask for; None on a signal.
    async fn next(
        &mut self,
        model: &mut Model,
        rx: &mut UnboundedReceiver<Msg>,
        live: Option<&mut Live>,
        term: &mut UnboundedReceiver<()>,
    ) -> Option<Vec<Cmd>> {
        // Until the next frame is due when one is to be drawn; otherwise only the clock.
        let wait = if self.dirty {
            FRAME.saturating_sub(self.last_draw.map_or(FRAME, |t| t.elapsed()))
        } else {
            Duration::from_millis(250)
        };
        let mut cmds = Vec::new();
        tokio::select! {
            biased;
            Some(ev) = self.keys.recv() => {
                cmds.extend(on_input(model, &ev));
                self.dirty = true;
            }
            Some(msg) = rx.recv() => {
                cmds.extend(on_msg(model, live, self.started, msg));
                self.dirty = true;
            }
            _ = tokio::time::sleep(wait) => {
                if !model.ended {
                    update(model, Msg::Tick { elapsed_ms: ms(self.started.elapsed()) });
                    self.dirty = true;
                }
            }
            _ = term.recv() => return None,
        }
        Some(cmds)
    }

    /// What else is pending, keys first, then a bounded batch of the rest.
    fn drain(
        &mut self,
        model: &mut Model,
        rx: &mut UnboundedReceiver<Msg>,
        mut live: Option<&mut Live>,
    ) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        while let Ok(ev) = self.keys.try_recv() {
            cmds.extend(on_input(model, &ev));
        }
        for _ in 0..EVENTS_PER_TURN {
            let Ok(msg) = rx.try_recv() else { break };
            cmds.extend(on_msg(model, live.as_deref_mut(), self.started, msg));
        }
        cmds
    }

    /// Does what the update asked for; true when that was to quit.
    async fn run_cmds(
        &mut self,
        model: &mut Model,
        mut live: Option<&mut Live>,
        cmds: Vec<Cmd>,
    ) -> io::Result<bool> {
        let mut quit = false;
        for cmd in cmds {
            if cmd == Cmd::Quit {
                quit = true;
                continue;
            }
            let Some(l) = live.as_deref_mut() else {
                answer_without_engine(model, cmd);
                continue;
            };
            match cmd {
                Cmd::Shell {
                    stage,
                    instruction,
                    image,
                    command,
                } => {
                    let at = StageRef {
                        stage,
                        at: Some(instruction),
                    };
                    let note = self.shell(l, at, image, command).await?;
                    update(model, Msg::Notice(note));
                }
                cmd => to_engine(model, l, cmd),
            }
            self.dirty = true;
        }
        Ok(quit)
    }

    /// Lends the terminal to a shell in the state `at`; the note says how it went.
    async fn shell(
        &mut self,
        l: &Live,
        at: StageRef,
        image: Option<String>,
        command: Option<String>,
    ) -> io::Result<String> {
        self.input_paused.store(true, Ordering::Relaxed);
        // Longer than one poll of the input thread, so it lets go of stdin.
        tokio::time::sleep(Duration::from_millis(80)).await;
        restore_terminal();
        let note = shell::run(&l.session, &l.events, at, image, command).await;
        enter_terminal()?;
        self.terminal.clear()?;
        self.input_paused.store(false, Ordering::Relaxed);
        Ok(note)
    }
}

fn on_input(model: &mut Model, ev: &event::Event) -> Vec<Cmd> {
    keymap::on_event(model, ev)
        .map(|msg| update(model, msg))
        .unwrap_or_default()
}

/// A command the engine side carries out without the terminal.
fn to_engine(model: &mut Model, l: &mut Live, cmd: Cmd) {
    match cmd {
        Cmd::Files(c) => l.jobs.files(c),
        Cmd::Advance { mode, breakpoints } => {
            let _ = l.adv_tx.send(Advance { mode, breakpoints });
        }
        Cmd::Breakpoints(bps) => {
            let _ = l.bp_tx.send(bps);
        }
        Cmd::IndexDiff {
            request,
            from,
            to,
            images,
        } => l.jobs.compare(request, from, to, images),
        Cmd::FetchSides(job) => l.jobs.sides(job),
        Cmd::ExplainNumbers { stage, at, images } => l.jobs.explain_numbers(stage, at, images),
        Cmd::WriteLog {
            path,
            text,
            stage,
            instruction,
        } => {
            let n = model
                .state
                .stages
                .get(stage)
                .map_or(0, |s| s.instructions.len());
            let written = l
                .runlog
                .write_full(stage, instruction, n, std::path::Path::new(&path))
                .unwrap_or_else(|| std::fs::write(&path, text));
            update(model, Msg::Notice(written_note(&path, written)));
        }
        // The loop runs these itself: one ends it, the other needs the terminal.
        Cmd::Quit | Cmd::Shell { .. } => {}
    }
}

/// A replay always ends well; a build by how it went, 130 when quit before its end.
fn exit_code(live: bool, failed: bool, model: &Model) -> u8 {
    if !live {
        0
    } else if failed {
        1
    } else if model.state.finished.is_some() {
        0
    } else {
        130
    }
}

/// After a live run's loop: background work stops while the screen is still up, then the
/// terminal is given back before the record and the cleanup can print.
async fn shut_down(mut l: Live, screen: Screen, code: u8, model: &Model) {
    l.jobs.stop();
    l.session.finish_cleanups().await;
    l.driver.abort();
    let _ = l.driver.await;
    // Export containers of aborted file tasks go before the process does.
    l.session.finish_cleanups().await;
    drop(screen);
    // A run quit before it ended is recorded as interrupted.
    if let Err(e) = l.recording.finish() {
        eprintln!(
            "warning: {}",
            stagescope_report::sanitize::text(&e.to_string(), false)
        );
    }
    // Whatever the build left (cut builds, shells): removed unless the build went through.
    if code != 0
        && let Ok(engine) = l.session.engine()
    {
        engine_clean::clean_unfinished(engine, &l.session.build_id, &model.state).await;
    }
}

fn written_note(path: &str, written: io::Result<()>) -> String {
    match written {
        Ok(()) => format!("wrote {path}"),
        Err(e) => format!("cannot write {path}: {e}"),
    }
}

/// A replay's answer to what would need the engine: the log it holds is written, numbers
/// are refused in one line, the rest cannot happen (the keys are refused first).
fn answer_without_engine(m: &mut Model, cmd: Cmd) {
    match cmd {
        Cmd::WriteLog { path, text, .. } => {
            let note = written_note(&path, std::fs::write(&path, text));
            update(m, Msg::Notice(note));
        }
        Cmd::ExplainNumbers { stage, at, .. } => {
            update(
                m,
                Msg::ExplainNumbers {
                    stage,
                    at,
                    result: Err(SessionError::Replay("no files to count").into()),
                },
            );
        }
        _ => {}
    }
}

/// One background message: build events are also kept in the run's log on disk and, when
/// they start or finish an instruction, on the timeline; the end of the build writes the
/// run's record.
fn on_msg(m: &mut Model, live: Option<&mut Live>, started: Instant, msg: Msg) -> Vec<Cmd> {
    if let Msg::Build(ev) = &msg
        && is_timed(ev)
    {
        m.timeline.push(Timed {
            at_ms: ms(started.elapsed()),
            event: ev.clone(),
        });
    }
    if let Some(l) = live {
        match &msg {
            Msg::Build(ev) => l.runlog.record(ev),
            Msg::Ended(_) => {
                if let Err(e) = l.recording.finish() {
                    m.notice = Some(e.to_string());
                }
            }
            _ => {}
        }
    }
    update(m, msg)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// SIGTERM and SIGINT from outside (in raw mode Ctrl-C is a key, handled by the keymap).
fn signal_stream() -> UnboundedReceiver<()> {
    let (tx, rx) = unbounded_channel();
    tokio::spawn(async move {
        super::signals::terminated().await;
        let _ = tx.send(());
    });
    rx
}
