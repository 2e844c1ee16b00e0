//! The imperative shell: terminal setup and restore, the input thread, the build driver, and
//! the loop that drains every pending message and then draws once, at most ~60 times a second.

use std::io::{self, Write};
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

use super::diffpreview::Sides;
use super::diffview::Indexed;
use super::files_task::FilesRunner;
use super::model::{Model, Pause};
use super::runlog::RunLog;
use super::update::{Cmd, Msg, StepMode, update};
use super::{diffjob, keymap, views};
use crate::build::{BuildEvent, BuildPlan};
use crate::dockerfile::{Dockerfile, GraphOptions, StageGraph};
use crate::engine::clean as engine_clean;
use crate::engine::connect::Engine;
use crate::engine::context::BuildContext;
use crate::engine::names::BUILD_LABEL;
use crate::engine::run::{BuildRequest, choose_builder, run_build, state_image};

const FRAME: Duration = Duration::from_millis(16);
/// Build events handled before input is looked at again, so a log flood cannot starve keys.
const EVENTS_PER_TURN: usize = 20_000;

/// Everything one TUI run needs, owned so the build can run in its own task.
pub struct Session {
    pub engine: Engine,
    pub dockerfile: Dockerfile,
    pub plan: BuildPlan,
    pub context: BuildContext,
    pub request: BuildRequest,
    pub step: bool,
}

impl Session {
    /// The image of the state after event-instruction `k` of `stage`, built from the cache
    /// with the session's builder; its internal steps go to `tx`.
    pub async fn state_image(
        &self,
        build_id: &str,
        stage: usize,
        k: usize,
        tx: &UnboundedSender<BuildEvent>,
    ) -> Result<Option<String>, String> {
        let kind = choose_builder(&self.engine, self.request.builder).map_err(|e| e.to_string())?;
        state_image(
            &self.engine,
            kind,
            &self.request,
            &self.dockerfile,
            &self.context,
            build_id,
            stage,
            k,
            tx,
        )
        .await
        .map_err(|e| e.to_string())
    }
}

/// Puts the terminal back as it was: cooked mode, main screen, cursor shown, no mouse.
pub fn restore_terminal() {
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

/// What the build driver tells the loop besides BuildEvents.
enum DriverMsg {
    Paused(Pause),
    Ended(Result<(), String>),
}

struct Advance {
    mode: StepMode,
    breakpoints: Vec<(usize, usize)>,
}

/// Runs the TUI to the end; returns the process exit code.
pub async fn run(session: Session) -> io::Result<u8> {
    let session = Arc::new(session);
    let build_id = crate::engine::run::new_build_id();
    let mut model = Model::new(session.plan.clone(), session.step);
    model.engine = format!(
        "docker {} (API {})",
        session.engine.server_version, session.engine.api_version
    );
    if let Ok((w, h)) = ratatui::crossterm::terminal::size() {
        model.size = (w, h);
    }
    let opts = GraphOptions {
        target: session.request.target.clone(),
        build_args: session.request.build_args.clone(),
    };
    model.diff.default_from = StageGraph::build(&session.dockerfile, &opts)
        .ok()
        .and_then(|g| g.copied_most_from(model.plan().target));

    install_panic_hook();
    enter_terminal()?;
    let guard = TerminalGuard;
    let mut terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
    terminal.clear()?;

    let (key_tx, mut key_rx) = unbounded_channel();
    let input_paused = Arc::new(AtomicBool::new(false));
    let input_stop = Arc::new(AtomicBool::new(false));
    spawn_input(key_tx, input_paused.clone(), input_stop.clone());

    let (ev_tx, mut ev_rx) = unbounded_channel::<BuildEvent>();
    let (drv_tx, mut drv_rx) = unbounded_channel::<DriverMsg>();
    let (adv_tx, adv_rx) = unbounded_channel::<Advance>();
    let (bp_tx, bp_rx) = tokio::sync::watch::channel(Vec::<(usize, usize)>::new());
    let driver = tokio::spawn(drive(
        session.clone(),
        build_id.clone(),
        ev_tx.clone(),
        drv_tx,
        adv_rx,
        bp_rx,
    ));

    // At most one diff job: a newer request aborts the older one.
    let (diff_tx, mut diff_rx) = unbounded_channel::<Indexed>();
    let mut diff_job: Option<tokio::task::JoinHandle<()>> = None;
    // Likewise at most one read of a file's two sides.
    let (sides_tx, mut sides_rx) = unbounded_channel::<Sides>();
    let mut sides_job: Option<tokio::task::JoinHandle<()>> = None;
    let (files_tx, mut files_rx) = unbounded_channel::<Msg>();
    let mut files = FilesRunner::new(session.clone(), build_id.clone(), ev_tx.clone(), files_tx);

    let mut runlog = RunLog::new(&build_id);
    let started = Instant::now();
    let mut last_draw: Option<Instant> = None;
    let mut dirty = true;
    let mut term = signal_stream();
    let mut failed = false;
    let code = loop {
        if dirty && last_draw.is_none_or(|t| t.elapsed() >= FRAME) {
            terminal.draw(|f| views::draw(f, &model))?;
            last_draw = Some(Instant::now());
            dirty = false;
        }
        let wait = if dirty {
            FRAME.saturating_sub(last_draw.map_or(FRAME, |t| t.elapsed()))
        } else {
            Duration::from_millis(250)
        };
        let mut cmds = Vec::new();
        tokio::select! {
            biased;
            Some(ev) = key_rx.recv() => {
                if let Some(msg) = keymap::on_event(&model, &ev) {
                    cmds.extend(update(&mut model, msg));
                }
                dirty = true;
            }
            Some(ev) = ev_rx.recv() => {
                runlog.record(&ev);
                cmds.extend(update(&mut model, Msg::Build(ev)));
                dirty = true;
            }
            Some(msg) = files_rx.recv() => {
                cmds.extend(update(&mut model, msg));
                dirty = true;
            }
            Some(d) = drv_rx.recv() => {
                cmds.extend(on_driver(&mut model, d, &mut ev_rx, &mut runlog));
                dirty = true;
            }
            Some(r) = diff_rx.recv() => {
                cmds.extend(update(&mut model, Msg::DiffIndexed(r)));
                dirty = true;
            }
            Some(r) = sides_rx.recv() => {
                cmds.extend(update(&mut model, Msg::DiffSides(r)));
                dirty = true;
            }
            _ = tokio::time::sleep(wait) => {
                if !model.ended {
                    update(&mut model, Msg::Tick { elapsed_ms: ms(started.elapsed()) });
                    dirty = true;
                }
            }
            _ = term.recv() => break 130,
        }
        // Drain what else is pending, keys first, then a bounded batch of build events.
        while let Ok(ev) = key_rx.try_recv() {
            if let Some(msg) = keymap::on_event(&model, &ev) {
                cmds.extend(update(&mut model, msg));
            }
        }
        while let Ok(msg) = files_rx.try_recv() {
            cmds.extend(update(&mut model, msg));
        }
        let mut n = 0;
        while n < EVENTS_PER_TURN {
            let Ok(ev) = ev_rx.try_recv() else { break };
            runlog.record(&ev);
            cmds.extend(update(&mut model, Msg::Build(ev)));
            n += 1;
        }
        if n < EVENTS_PER_TURN {
            while let Ok(d) = drv_rx.try_recv() {
                cmds.extend(on_driver(&mut model, d, &mut ev_rx, &mut runlog));
            }
        }
        failed |= model.state.failure.is_some();
        let mut quit = false;
        for cmd in cmds {
            match cmd {
                Cmd::Quit => quit = true,
                Cmd::Files(c) => files.run(c),
                Cmd::Advance { mode, breakpoints } => {
                    let _ = adv_tx.send(Advance { mode, breakpoints });
                }
                Cmd::Breakpoints(bps) => {
                    let _ = bp_tx.send(bps);
                }
                Cmd::IndexDiff {
                    request,
                    from,
                    to,
                    images,
                } => {
                    if let Some(old) = diff_job.take() {
                        old.abort();
                    }
                    let (s, id, tx) = (session.clone(), build_id.clone(), diff_tx.clone());
                    let job = diffjob::Job {
                        request,
                        from,
                        to,
                        images,
                    };
                    diff_job = Some(tokio::spawn(async move {
                        let _ = tx.send(diffjob::run(&s, &id, job).await);
                    }));
                }
                Cmd::FetchSides(job) => {
                    if let Some(old) = sides_job.take() {
                        old.abort();
                    }
                    let (s, tx) = (session.clone(), sides_tx.clone());
                    sides_job = Some(tokio::spawn(async move {
                        let _ = tx.send(diffjob::fetch_sides(&s, job).await);
                    }));
                }
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
                    let text = runlog.full_text(stage, instruction, n).unwrap_or(text);
                    let note = match std::fs::write(&path, text) {
                        Ok(()) => format!("wrote {path}"),
                        Err(e) => format!("cannot write {path}: {e}"),
                    };
                    update(&mut model, Msg::Notice(note));
                }
                Cmd::Shell {
                    stage,
                    instruction,
                    image,
                    command,
                } => {
                    input_paused.store(true, Ordering::Relaxed);
                    // Longer than one poll of the input thread, so it lets go of stdin.
                    tokio::time::sleep(Duration::from_millis(80)).await;
                    let note = shell(
                        &session,
                        &build_id,
                        &ev_tx,
                        stage,
                        instruction,
                        image,
                        command,
                    )
                    .await;
                    enter_terminal()?;
                    terminal.clear()?;
                    input_paused.store(false, Ordering::Relaxed);
                    update(&mut model, Msg::Notice(note));
                }
            }
            dirty = true;
        }
        if quit {
            break if failed {
                1
            } else if model.state.finished.is_some() {
                0
            } else {
                130
            };
        }
    };
    input_stop.store(true, Ordering::Relaxed);
    files.stop();
    for job in [diff_job, sides_job].into_iter().flatten() {
        job.abort();
    }
    crate::engine::export::finish_cleanups().await;
    driver.abort();
    let _ = driver.await;
    // Export containers of aborted file tasks go before the process does.
    crate::engine::export::finish_cleanups().await;
    drop(terminal);
    drop(guard);
    // Whatever the build left (cut builds, shells): removed unless the build went through.
    if code != 0 {
        engine_clean::clean_unfinished(&session.engine, &build_id, &model.state).await;
    }
    Ok(code)
}

fn on_driver(
    m: &mut Model,
    d: DriverMsg,
    ev_rx: &mut UnboundedReceiver<BuildEvent>,
    runlog: &mut RunLog,
) -> Vec<Cmd> {
    // Events the driver sent before this message come first.
    let mut cmds = Vec::new();
    while let Ok(ev) = ev_rx.try_recv() {
        runlog.record(&ev);
        cmds.extend(update(m, Msg::Build(ev)));
    }
    cmds.extend(match d {
        DriverMsg::Paused(p) => update(m, Msg::Paused(p)),
        DriverMsg::Ended(r) => update(m, Msg::Ended(r)),
    });
    cmds
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// SIGTERM and SIGINT from outside (in raw mode Ctrl-C is a key, handled by the keymap).
fn signal_stream() -> UnboundedReceiver<()> {
    let (tx, rx) = unbounded_channel();
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        let _ = tx.send(());
    });
    rx
}

/// The build: one run, or in step mode one build per stage (or cut) in topological order.
async fn drive(
    s: Arc<Session>,
    build_id: String,
    ev_tx: UnboundedSender<BuildEvent>,
    out: UnboundedSender<DriverMsg>,
    mut adv: UnboundedReceiver<Advance>,
    breakpoints: tokio::sync::watch::Receiver<Vec<(usize, usize)>>,
) {
    let result = if s.step {
        step_through(&s, &build_id, &ev_tx, &out, &mut adv).await
    } else {
        run_to_breakpoint(&s, &build_id, &ev_tx, &out, &mut adv, breakpoints).await
    };
    let _ = out.send(DriverMsg::Ended(result));
}

/// The whole build in one solve, as fast as it goes, until an instruction with a breakpoint
/// finishes: then the solve is dropped (the daemon cancels it), that state is built from the
/// cache, and the rest goes on step by step from there.
async fn run_to_breakpoint(
    s: &Session,
    build_id: &str,
    ev_tx: &UnboundedSender<BuildEvent>,
    out: &UnboundedSender<DriverMsg>,
    adv: &mut UnboundedReceiver<Advance>,
    breakpoints: tokio::sync::watch::Receiver<Vec<(usize, usize)>>,
) -> Result<(), String> {
    let (tx, mut rx) = unbounded_channel();
    let mut work = Box::pin(run_build(
        &s.engine,
        &s.request,
        &s.dockerfile,
        &s.plan,
        &s.context,
        build_id,
        &tx,
    ));
    // Per stage, the instructions that finished, so a resumed stage skips them.
    let mut finished: Vec<Option<usize>> = vec![None; s.plan.stages.len()];
    let mut hit = None;
    let outcome = loop {
        tokio::select! {
            biased;
            Some(ev) = rx.recv() => {
                if let BuildEvent::InstructionFinished { stage, instruction, .. } = &ev
                    && let Some(f) = finished.get_mut(*stage)
                {
                    *f = Some(f.map_or(*instruction, |x| x.max(*instruction)));
                    if breakpoints.borrow().contains(&(*stage, *instruction)) {
                        hit = Some((*stage, *instruction));
                    }
                }
                let _ = ev_tx.send(ev);
                if hit.is_some() {
                    break None;
                }
            }
            r = work.as_mut() => break Some(r),
        }
    };
    if let Some(r) = outcome {
        drop(work);
        while let Ok(ev) = rx.try_recv() {
            let _ = ev_tx.send(ev);
        }
        return r.map(|_| ()).map_err(|e| e.to_string());
    }
    drop(work);
    // What the solve had already said (the stage that just finished, its image) still counts.
    while let Ok(ev) = rx.try_recv() {
        let _ = ev_tx.send(ev);
    }
    let Some((stage, k)) = hit else {
        return Ok(());
    };
    // The state at the breakpoint, from the cache the run just filled.
    if !build_cut(s, build_id, ev_tx, stage, k, Some(k), true).await? {
        return Ok(());
    }
    finished[stage] = Some(k);
    let t = Instant::now();
    step_from(
        s,
        build_id,
        ev_tx,
        out,
        adv,
        finished,
        Some(Pause::Breakpoint(stage, k)),
        t,
    )
    .await
}

/// One build of the Dockerfile cut after event-instruction `k` of `stage`; its events for
/// that stage (past `skip_upto`) reach the UI, the rest are replays of cached work.
#[allow(clippy::too_many_arguments)]
async fn build_cut(
    s: &Session,
    build_id: &str,
    ev_tx: &UnboundedSender<BuildEvent>,
    stage: usize,
    k: usize,
    skip_upto: Option<usize>,
    is_breakpoint: bool,
) -> Result<bool, String> {
    let text = s.dockerfile.cut_after(stage, k.checked_sub(1));
    let df = Dockerfile::parse(text.as_bytes()).map_err(|e| e.message)?;
    let opts = GraphOptions {
        target: None,
        build_args: s.request.build_args.clone(),
    };
    let g = StageGraph::build(&df, &opts).map_err(|e| e.message)?;
    let plan = BuildPlan::from_model(&df, &g);
    let ctx = s.context.with_dockerfile_text(text);
    let mut req = s.request.clone();
    req.target = None;
    req.tags.clear();
    let (tx, mut rx) = unbounded_channel();
    let mut work = Box::pin(run_build(&s.engine, &req, &df, &plan, &ctx, build_id, &tx));
    let forward = |ev: BuildEvent| {
        let keep = match &ev {
            BuildEvent::InstructionStarted {
                stage: st,
                instruction,
            }
            | BuildEvent::InstructionFinished {
                stage: st,
                instruction,
                ..
            }
            | BuildEvent::Log {
                stage: st,
                instruction,
                ..
            } => *st == stage && skip_upto.is_none_or(|u| *instruction > u),
            BuildEvent::StageStarted { stage: st }
            | BuildEvent::StageFinished { stage: st, .. } => *st == stage && !is_breakpoint,
            BuildEvent::StageImage { stage: st, .. } => *st == stage,
            BuildEvent::BuildStarted { .. } | BuildEvent::BuildFinished { .. } => false,
            _ => true,
        };
        if !keep {
            return;
        }
        let ev = match ev {
            // A cut's "stage image" is the state after the breakpoint.
            BuildEvent::StageImage { stage: st, image } if is_breakpoint => {
                BuildEvent::StateImage {
                    stage: st,
                    instruction: k,
                    image,
                }
            }
            other => other,
        };
        let _ = ev_tx.send(ev);
    };
    let outcome = loop {
        tokio::select! {
            biased;
            Some(ev) = rx.recv() => forward(ev),
            r = work.as_mut() => break r,
        }
    };
    drop(work);
    while let Ok(ev) = rx.try_recv() {
        forward(ev);
    }
    outcome.map(|o| !o.failed).map_err(|e| e.to_string())
}

async fn step_through(
    s: &Session,
    build_id: &str,
    ev_tx: &UnboundedSender<BuildEvent>,
    out: &UnboundedSender<DriverMsg>,
    adv: &mut UnboundedReceiver<Advance>,
) -> Result<(), String> {
    let kind = choose_builder(&s.engine, s.request.builder).map_err(|e| e.to_string())?;
    let _ = ev_tx.send(BuildEvent::BuildStarted {
        builder: kind,
        build_id: build_id.to_string(),
    });
    let none = vec![None; s.plan.stages.len()];
    step_from(s, build_id, ev_tx, out, adv, none, None, Instant::now()).await
}

/// Builds the needed stages in order, each as cut builds up to its next breakpoint, pausing
/// before each stage in `n` mode. `finished[stage]` is the last instruction already built
/// (those are skipped); `first` is a pause to wait in before anything runs.
#[allow(clippy::too_many_arguments)]
async fn step_from(
    s: &Session,
    build_id: &str,
    ev_tx: &UnboundedSender<BuildEvent>,
    out: &UnboundedSender<DriverMsg>,
    adv: &mut UnboundedReceiver<Advance>,
    finished: Vec<Option<usize>>,
    first: Option<Pause>,
    t: Instant,
) -> Result<(), String> {
    let mut mode = StepMode::Next;
    let mut breakpoints: Vec<(usize, usize)> = vec![];
    let mut wait = async |p: Pause, mode: &mut StepMode, bps: &mut Vec<(usize, usize)>| {
        let _ = out.send(DriverMsg::Paused(p));
        match adv.recv().await {
            Some(a) => {
                *mode = a.mode;
                *bps = a.breakpoints;
                true
            }
            None => false,
        }
    };
    if let Some(p) = first
        && !wait(p, &mut mode, &mut breakpoints).await
    {
        return Ok(());
    }
    for stage in s.plan.stages.iter().filter(|st| st.needed) {
        let last = stage.instructions.len().saturating_sub(1);
        let mut done: Option<usize> = finished.get(stage.index).copied().flatten();
        if done == Some(last) {
            let _ = ev_tx.send(BuildEvent::StageFinished {
                stage: stage.index,
                image: None,
            });
            continue;
        }
        if done.is_none()
            && mode == StepMode::Next
            && !wait(Pause::BeforeStage(stage.index), &mut mode, &mut breakpoints).await
        {
            return Ok(());
        }
        loop {
            let next_bp = breakpoints
                .iter()
                .filter(|(st, k)| *st == stage.index && *k < last && done.is_none_or(|d| *k > d))
                .map(|(_, k)| *k)
                .min();
            let upto = next_bp.unwrap_or(last);
            let ok = build_cut(
                s,
                build_id,
                ev_tx,
                stage.index,
                upto,
                done,
                next_bp.is_some(),
            )
            .await?;
            if !ok {
                return Ok(());
            }
            done = Some(upto);
            match next_bp {
                Some(k) => {
                    if !wait(
                        Pause::Breakpoint(stage.index, k),
                        &mut mode,
                        &mut breakpoints,
                    )
                    .await
                    {
                        return Ok(());
                    }
                }
                None => break,
            }
        }
        let _ = ev_tx.send(BuildEvent::StageFinished {
            stage: stage.index,
            image: None,
        });
    }
    let _ = ev_tx.send(BuildEvent::BuildFinished {
        image: None,
        duration_ms: ms(t.elapsed()),
    });
    Ok(())
}

/// `/bin/sh` in a new container from the state after `instruction` of `stage`, on the real
/// terminal; the container is removed when the shell exits.
#[allow(clippy::too_many_arguments)]
async fn shell(
    s: &Session,
    build_id: &str,
    ev_tx: &UnboundedSender<BuildEvent>,
    stage: usize,
    instruction: usize,
    image: Option<String>,
    command: Option<String>,
) -> String {
    restore_terminal();
    let image = match image {
        Some(i) => Some(i),
        None => {
            println!("making the image of that state (served from the build cache)…");
            s.state_image(build_id, stage, instruction, ev_tx)
                .await
                .ok()
                .flatten()
        }
    };
    let Some(image) = image else {
        return "no image for that state".into();
    };
    let _ = ev_tx.send(BuildEvent::StateImage {
        stage,
        instruction,
        image: image.clone(),
    });
    let name = format!("stagescope-{build_id}-sh-{stage}-{instruction}");
    println!("shell in {name}; exit to return to stagescope");
    let _ = io::stdout().flush();
    let mut cmd = std::process::Command::new("docker");
    cmd.env("DOCKER_HOST", &s.engine.endpoint.host).args([
        "run",
        "--rm",
        "-it",
        "--name",
        &name,
        "--label",
        &format!("{BUILD_LABEL}={build_id}"),
        "--entrypoint",
        "/bin/sh",
        &image,
    ]);
    if let Some(c) = &command {
        cmd.args(["-c", c]);
    }
    let status = tokio::task::spawn_blocking(move || cmd.status()).await;
    // `--rm` removes it; this catches a shell killed before docker could.
    let host = s.engine.endpoint.host.clone();
    let rm = name.clone();
    let _ = tokio::task::spawn_blocking(move || {
        std::process::Command::new("docker")
            .env("DOCKER_HOST", host)
            .args(["rm", "-f", &rm])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
    })
    .await;
    if command.is_some() {
        // The command's output stays on the screen until the user has read it.
        println!("\n[press Enter to return to stagescope]");
        let _ = tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            let _ = std::io::stdin().read_line(&mut line);
        })
        .await;
    }
    match status {
        Ok(Ok(st)) => format!("shell exited ({st})"),
        Ok(Err(e)) => format!("cannot run docker: {e}"),
        Err(e) => format!("shell: {e}"),
    }
}
