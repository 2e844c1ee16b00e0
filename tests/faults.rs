//! Faults stagescope must survive, against the real daemon. The shared daemon cannot be
//! restarted here (other tests use it), so "the engine restarted" is every connection to
//! it cut: stagescope talks to a loopback proxy (`-H tcp://127.0.0.1:PORT`) that pipes
//! each connection to the daemon's socket, and the test cuts them all mid-build or
//! mid-export, then lets the proxy accept again (the engine back) or not (the engine gone).

mod common;

use std::io::{BufRead, BufReader};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::{
    BIN, Cleanup, Project, containers_of, docker, docker_ok, leftover_images, nonce, wait_until,
};
use serde_json::Value;

/// A loopback TCP proxy to the daemon's socket whose connections can all be cut at once.
struct CutProxy {
    port: u16,
    /// Refuse new connections (the engine gone) while set.
    down: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    /// Bytes from the daemon to clients; at `cut_at` everything is cut (0: never).
    from_daemon: Arc<AtomicU64>,
    /// Bytes from clients to the daemon (a build context being uploaded).
    to_daemon: Arc<AtomicU64>,
    cut_at: Arc<AtomicU64>,
    /// Past this many bytes from the daemon, the stream stalls (0: never).
    stall_at: Arc<AtomicU64>,
}

impl CutProxy {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("addr").port();
        let proxy = CutProxy {
            port,
            down: Arc::default(),
            conns: Arc::default(),
            from_daemon: Arc::default(),
            to_daemon: Arc::default(),
            cut_at: Arc::default(),
            stall_at: Arc::default(),
        };
        let sent = proxy.to_daemon.clone();
        let (down, conns) = (proxy.down.clone(), proxy.conns.clone());
        let (counted, cut_at) = (proxy.from_daemon.clone(), proxy.cut_at.clone());
        let stall_at = proxy.stall_at.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if down.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(daemon) = UnixStream::connect(common::loopback::socket()) else {
                    continue;
                };
                if let Ok(c) = client.try_clone() {
                    conns.lock().expect("lock").push(c);
                }
                let (c2, d2) = (
                    client.try_clone().expect("clone"),
                    daemon.try_clone().expect("clone"),
                );
                let sent = sent.clone();
                std::thread::spawn(move || pipe(c2, d2, &sent));
                let (counted, cut_at, conns) = (counted.clone(), cut_at.clone(), conns.clone());
                let (stall_at, down) = (stall_at.clone(), down.clone());
                std::thread::spawn(move || {
                    use std::io::{Read, Write};
                    let (mut from, mut to) = (daemon, client);
                    let mut buf = [0u8; 32 * 1024];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                        let total = counted.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                        let at = cut_at.load(Ordering::SeqCst);
                        if at > 0 && total >= at {
                            cut_all(&conns);
                            break;
                        }
                        // A stalled engine: nothing more until the connection goes.
                        let stall = stall_at.load(Ordering::SeqCst);
                        while stall > 0 && total >= stall && !down.load(Ordering::SeqCst) {
                            if to.write_all(&[]).is_err() || from.peer_addr().is_err() {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(50));
                        }
                    }
                    let _ = to.shutdown(Shutdown::Write);
                });
            }
        });
        proxy
    }

    fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    /// Every open connection cut; new ones refused until [`CutProxy::back`].
    fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        cut_all(&self.conns);
    }

    fn back(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    /// Hold the daemon's stream once `bytes` more have come from it: the engine stalls
    /// mid-stream, so an interrupt lands while the stream is open, however fast it is.
    fn stall_after(&self, bytes: u64) {
        let now = self.from_daemon.load(Ordering::SeqCst);
        self.stall_at.store(now + bytes, Ordering::SeqCst);
    }

    /// Cut everything once `bytes` more have come from the daemon, and let the engine
    /// come straight back (a restart).
    fn cut_after(&self, bytes: u64) {
        let now = self.from_daemon.load(Ordering::SeqCst);
        self.cut_at.store(now + bytes, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: UnixStream, sent: &AtomicU64) {
    use std::io::{Read, Write};
    let mut buf = [0u8; 32 * 1024];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
        sent.fetch_add(n as u64, Ordering::SeqCst);
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Sends SIGINT to `child` once `counter` passes `bytes` (panics if it never does).
fn interrupt_once(child: &Child, counter: &AtomicU64, bytes: u64, what: &str) {
    assert!(
        wait_until(Duration::from_secs(60), || counter.load(Ordering::SeqCst)
            >= bytes),
        "{what} never got going"
    );
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
}

/// Waits for `child` to exit: its exit code.
fn exit_code(child: &mut Child, limit: Duration) -> Option<i32> {
    let mut status = None;
    let ended = wait_until(limit, || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    if !ended {
        let _ = child.kill();
        panic!("still running {limit:?} after the interrupt");
    }
    status.and_then(|s| s.code())
}

fn cut_all(conns: &Mutex<Vec<TcpStream>>) {
    for c in conns.lock().expect("lock").drain(..) {
        let _ = c.shutdown(Shutdown::Both);
    }
}

/// A running `stagescope build --progress json`: its events arrive on a channel. Killed
/// if the test fails before it ends.
struct Running {
    child: Child,
    events: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Running {
    fn start(dir: &std::path::Path, args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .arg("build")
            .arg(dir)
            .args(["--progress", "json"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn stagescope build");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        Running {
            child,
            events,
            seen: Vec::new(),
        }
    }

    /// Reads events until `stop` holds for one (panics after `limit`).
    fn until(&mut self, limit: Duration, stop: impl Fn(&Value) -> bool) {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let ev = self
                .events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("never came; saw {:?}", self.seen));
            let hit = stop(&ev);
            self.seen.push(ev);
            if hit {
                return;
            }
        }
    }

    fn build_id(&self) -> String {
        self.seen
            .iter()
            .find_map(|e| e["build_id"].as_str().map(str::to_string))
            .expect("build_started names the build")
    }

    /// The images this run made (a FROM's is the shared base).
    fn images(&mut self) -> Vec<String> {
        self.seen.extend(self.events.try_iter());
        self.seen
            .iter()
            .filter(|e| e["instruction"] != 0)
            .filter_map(|e| e["image"].as_str().map(str::to_string))
            .collect()
    }

    /// Waits for the exit: (code, stderr).
    fn wait(&mut self, limit: Duration) -> (Option<i32>, String) {
        let mut status = None;
        let ended = wait_until(limit, || {
            status = self.child.try_wait().expect("try_wait");
            status.is_some()
        });
        assert!(ended, "still running {limit:?} after the fault");
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        (status.and_then(|s| s.code()), err.trim().to_string())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `stagescope clean --build ID` on the engine under test, not through a proxy.
fn clean_build(id: &str) -> Output {
    let out = Command::new(BIN)
        .args(["clean", "--build", id])
        .output()
        .expect("stagescope clean");
    assert!(
        out.status.success(),
        "clean: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn image_exists(id: &str) -> bool {
    docker(&["image", "inspect", id]).status.success()
}

/// A build whose second RUN sleeps: the first RUN's image is this run's alone (the nonce).
fn sleeping_project() -> (Project, String) {
    let n = nonce();
    let marker = format!("stagescope-fault-{n}");
    let project = Project::new(&format!(
        "FROM busybox AS slow\nRUN echo {n} > /n\nRUN sleep 60; echo {marker}\n"
    ));
    (project, marker)
}

/// Starts a build of the sleeping project and returns once its sleep runs.
fn running_sleep(project: &Project, builder: &str, host: Option<&str>) -> Running {
    let mut args = vec!["--builder", builder];
    if let Some(h) = host {
        args.extend(["-H", h]);
    }
    let mut run = Running::start(project.path(), &args);
    run.until(Duration::from_secs(60), |e| {
        e["event"] == "instruction_started" && e["instruction"] == 2
    });
    // The sleep's container (classic) or process is up.
    std::thread::sleep(Duration::from_secs(2));
    run
}

/// After a run that could not clean up: nothing of it runs, and `clean --build` removes
/// every image it made.
fn clean_finds_everything(what: &str, run: &mut Running) {
    let id = run.build_id();
    let images = run.images();
    if what.contains("classic") {
        assert!(
            !images.is_empty(),
            "{what}: no intermediate image seen, the check below would be vacuous"
        );
    }
    let mut left = vec![];
    assert!(
        wait_until(Duration::from_secs(20), || {
            left = containers_of(&id, &images);
            left.is_empty()
        }),
        "{what}: containers left: {left:?}"
    );
    clean_build(&id);
    let tagged = leftover_images(&id);
    assert!(tagged.is_empty(), "{what}: after clean: {tagged:?}");
    let kept: Vec<&String> = images.iter().filter(|i| image_exists(i)).collect();
    assert!(
        kept.is_empty(),
        "{what}: after clean, still there: {kept:?}"
    );
}

fn engine_cut_mid_build(builder: &str) {
    let (project, _) = sleeping_project();
    let proxy = CutProxy::start();
    let mut run = running_sleep(&project, builder, Some(&proxy.host()));
    proxy.cut();
    let (code, err) = run.wait(Duration::from_secs(20));
    assert_eq!(code, Some(1), "{builder}: {err}");
    assert_eq!(err.lines().count(), 1, "{builder}: one line: {err:?}");
    assert!(err.starts_with("error: "), "{builder}: {err:?}");
    assert!(err.contains("connection was lost"), "{builder}: {err:?}");
    // The engine comes back later; a clean through the real socket finds the rest.
    proxy.back();
    clean_finds_everything(&format!("{builder}, engine cut"), &mut run);
}

#[test]
fn the_engine_cut_mid_build_buildkit_ends_in_one_line_and_clean_removes_the_rest() {
    require_docker!();
    engine_cut_mid_build("buildkit");
}

#[test]
fn the_engine_cut_mid_build_classic_ends_in_one_line_and_clean_removes_the_rest() {
    require_docker!();
    engine_cut_mid_build("classic");
}

fn sigkill_mid_run(builder: &str) {
    let (project, _) = sleeping_project();
    let mut run = running_sleep(&project, builder, None);
    let killed = Command::new("kill")
        .args(["-KILL", &run.child.id().to_string()])
        .status()
        .expect("kill -9");
    assert!(killed.success());
    let (code, _) = run.wait(Duration::from_secs(10));
    assert_eq!(code, None, "{builder}: killed by a signal");
    clean_finds_everything(&format!("{builder}, SIGKILL"), &mut run);
}

#[test]
fn sigkill_mid_buildkit_run_then_clean_removes_what_it_made() {
    require_docker!();
    sigkill_mid_run("buildkit");
}

#[test]
fn sigkill_mid_classic_run_then_clean_removes_what_it_made() {
    require_docker!();
    sigkill_mid_run("classic");
}

/// A test image of `mib` MiB of random bytes (so an export takes a while).
fn big_image(cleanup: &mut Cleanup, mib: usize) -> String {
    let tag = cleanup.tag("fault-big");
    let project = Project::new(&format!(
        "FROM busybox\nRUN head -c {} /dev/urandom > /big && echo {}\n",
        mib << 20,
        nonce()
    ));
    common::docker_build_classic(project.path(), &tag);
    tag
}

/// A 24 MiB image to export through a fresh proxy, with an index cache of its own.
struct ExportCase {
    _cleanup: Cleanup,
    tag: String,
    image: String,
    cache: tempfile::TempDir,
    proxy: CutProxy,
}

impl ExportCase {
    fn new() -> Self {
        let mut cleanup = Cleanup::new();
        let tag = big_image(&mut cleanup, 24);
        let image = docker_ok(&["image", "inspect", "-f", "{{.Id}}", &tag]);
        ExportCase {
            _cleanup: cleanup,
            tag,
            image,
            cache: tempfile::tempdir().expect("tempdir"),
            proxy: CutProxy::start(),
        }
    }
}

#[test]
fn the_engine_restarted_mid_export_ends_in_one_line_and_leaves_no_container() {
    require_docker!();
    let case = ExportCase::new();
    let (tag, image, cache, proxy) = (case.tag.as_str(), &case.image, &case.cache, &case.proxy);
    // Past the API's small answers, into the export stream.
    proxy.cut_after(4 << 20);
    let out = Command::new(BIN)
        .args(["tree", "--image", tag, "--json", "-H", &proxy.host()])
        .env("XDG_CACHE_HOME", cache.path())
        .stdin(Stdio::null())
        .output()
        .expect("stagescope tree");
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.contains("connection was lost"), "{err:?}");
    let left = containers_of("export-none", std::slice::from_ref(image));
    assert!(left.is_empty(), "export containers left: {left:?}");
    // Nothing half-written was cached: the next run reads the whole export.
    let again = Command::new(BIN)
        .args(["tree", "--image", tag, "--json"])
        .env("XDG_CACHE_HOME", cache.path())
        .output()
        .expect("stagescope tree");
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("\"path\":\"big\""));
}

#[test]
fn a_missing_socket_is_one_line_for_build_and_tree() {
    require_docker!();
    let gone = tempfile::tempdir().expect("tempdir");
    let host = format!("unix://{}/docker.sock", gone.path().display());
    let project = Project::new("FROM busybox\n");
    for args in [
        vec!["build".to_string(), project.path().display().to_string()],
        vec!["tree".into(), "--image".into(), "busybox:latest".into()],
        vec!["clean".into()],
    ] {
        let out = Command::new(BIN)
            .args(&args)
            .args(["-H", &host])
            .stdin(Stdio::null())
            .output()
            .expect("stagescope");
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err:?}");
        assert!(err.contains("docker.sock"), "{args:?}: {err:?}");
    }
}

fn tree_json(cache: &std::path::Path, image: &str) -> (Option<i32>, String, String) {
    let out = Command::new(BIN)
        .args(["tree", "--image", image, "--json"])
        .env("XDG_CACHE_HOME", cache)
        .stdin(Stdio::null())
        .output()
        .expect("stagescope tree");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).trim().to_string(),
    )
}

#[test]
fn a_corrupt_or_unwritable_index_cache_is_recomputed() {
    require_docker!();
    let cache = tempfile::tempdir().expect("tempdir");
    let (code, want, err) = tree_json(cache.path(), "busybox:latest");
    assert_eq!(code, Some(0), "{err}");
    let index = cache.path().join("stagescope/index");
    let files: Vec<_> = std::fs::read_dir(&index)
        .expect("the index was cached")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let bytes = std::fs::read(file).expect("read");

    // Damaged three ways: flipped bytes in the middle, cut short, junk.
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    for b in &mut flipped[mid..mid + 16] {
        *b ^= 0xA5;
    }
    for damaged in [flipped, bytes[..bytes.len() / 3].to_vec(), b"junk".to_vec()] {
        std::fs::write(file, &damaged).expect("damage");
        let (code, got, err) = tree_json(cache.path(), "busybox:latest");
        assert_eq!(code, Some(0), "{err}");
        assert!(err.lines().count() <= 1, "{err:?}");
        assert_eq!(got, want, "a damaged cache changed the answer");
    }

    // Unwritable: the cache's directory is a file.
    let blocked = tempfile::tempdir().expect("tempdir");
    std::fs::write(blocked.path().join("stagescope"), "not a directory").expect("write");
    let (code, got, err) = tree_json(blocked.path(), "busybox:latest");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.lines().count() <= 1, "at most one line: {err:?}");
    assert_eq!(got, want);
}

fn two_at_once(builder: &str) {
    let n = nonce();
    let project = Project::new(&format!(
        "FROM busybox AS one\nRUN echo {n} > /one\nFROM busybox AS two\nCOPY --from=one /one /two\nRUN cat /two\n"
    ));
    let mut cleanup = Cleanup::new();
    let runs: Vec<_> = (0..2)
        .map(|_| Running::start(project.path(), &["--builder", builder]))
        .collect();
    let mut ids = vec![];
    for mut run in runs {
        let (code, err) = run.wait(Duration::from_secs(180));
        run.seen.extend(run.events.try_iter());
        let id = run.build_id();
        cleanup.build_ids.push(id.clone());
        assert_eq!(code, Some(0), "{builder}: {err}");
        ids.push(id);
    }
    assert_ne!(ids[0], ids[1], "{builder}: one build id for two runs");
    for id in &ids {
        let tags = docker_ok(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            &format!("stagescope.local/{id}"),
        ]);
        let mut tags: Vec<&str> = tags.lines().collect();
        tags.sort();
        // Classic made every stage's image on its way; BuildKit exports the target only.
        let want: Vec<String> = match builder {
            "classic" => vec![
                format!("stagescope.local/{id}:one"),
                format!("stagescope.local/{id}:two"),
            ],
            _ => vec![format!("stagescope.local/{id}:two")],
        };
        assert_eq!(tags, want, "{builder}: each run tags its own stages");
    }
    for id in &ids {
        clean_build(id);
        assert!(
            leftover_images(id).is_empty(),
            "{builder}: {id} left images"
        );
    }
}

#[test]
fn two_buildkit_runs_on_one_context_at_once_do_not_collide() {
    require_docker!();
    two_at_once("buildkit");
}

#[test]
fn two_classic_runs_on_one_context_at_once_do_not_collide() {
    require_docker!();
    two_at_once("classic");
}

#[test]
fn ctrl_c_during_the_context_upload_stops_and_leaves_nothing() {
    require_docker!();
    let n = nonce();
    let project = Project::new(&format!("FROM busybox\nCOPY big /big\nRUN echo {n}\n"));
    // 512 MiB of holes: cheap on disk, long enough on the wire.
    let big = std::fs::File::create(project.path().join("big")).expect("create");
    big.set_len(512 << 20).expect("set_len");
    let proxy = CutProxy::start();
    let mut run = Running::start(project.path(), &["-H", &proxy.host()]);
    interrupt_once(&run.child, &proxy.to_daemon, 8 << 20, "the upload");
    let code = exit_code(&mut run.child, Duration::from_secs(15));
    assert_eq!(code, Some(130));
    let uploaded = proxy.to_daemon.load(Ordering::SeqCst);
    assert!(uploaded < 512 << 20, "the upload went on: {uploaded} bytes");
    // The reader thread has the last lines once the pipe closed.
    std::thread::sleep(Duration::from_millis(500));
    let images = run.images();
    let id = run.build_id();
    assert!(wait_until(Duration::from_secs(10), || containers_of(
        &id, &images
    )
    .is_empty()));
    assert!(leftover_images(&id).is_empty());
}

#[test]
fn ctrl_c_during_an_export_stops_and_leaves_no_container() {
    require_docker!();
    let case = ExportCase::new();
    let (tag, image, cache, proxy) = (case.tag.as_str(), &case.image, &case.cache, &case.proxy);
    let mut child = Command::new(BIN)
        .args(["tree", "--image", tag, "-H", &proxy.host()])
        .env("XDG_CACHE_HOME", cache.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("stagescope tree");
    // The image's stream (save, or export where the engine cannot save) stalls half-way.
    proxy.stall_after(8 << 20);
    interrupt_once(&child, &proxy.from_daemon, 4 << 20, "the export");
    assert_eq!(exit_code(&mut child, Duration::from_secs(15)), Some(130));
    let mut left = vec![];
    assert!(
        wait_until(Duration::from_secs(10), || {
            left = containers_of("export-none", std::slice::from_ref(image));
            left.is_empty()
        }),
        "export containers left: {left:?}"
    );
}
