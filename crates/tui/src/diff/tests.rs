use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys::DiffKey;
use super::*;
use crate::diff::preview::{FetchSides, Sides};
use crate::keymap::on_key;
use crate::model::Model;
use crate::update::tests::{DOCKERFILE, model};
use crate::update::{Action, Cmd};
use crate::update::{Msg, update};
use stagescope_dockerfile::Dockerfile;
use stagescope_fs::ContentFlags;
pub(crate) use stagescope_fs::testutil::fetched;
use stagescope_fs::testutil::{dir, file, index, symlink};

/// The builder: sources, a git checkout, a cache and a compiler next to the binary.
pub(crate) fn builder() -> FsIndex {
    index(&[
        file("etc/passwd", 100, 1),
        file("src/.git/HEAD", 23, 2),
        file("src/.git/config", 50, 3),
        file("src/main.c", 300, 4),
        file("src/server", 5000, 5),
        file("src/deploy.txt", 400, 6).sniffed(ContentFlags::PRIVATE_KEY),
        dir("root/.cache/pip"),
        file("root/.cache/pip/wheel", 900, 7),
        file("usr/bin/gcc", 2000, 8),
    ])
}

/// The release: `COPY --from=builder /src /app` brought all of src, secrets included.
pub(crate) fn release() -> FsIndex {
    index(&[
        file("app/.git/HEAD", 23, 2),
        file("app/.git/config", 50, 3),
        file("app/main.c", 300, 4),
        file("app/server", 5000, 5),
        file("app/deploy.txt", 400, 6).sniffed(ContentFlags::PRIVATE_KEY),
        symlink("bin/sh", "busybox"),
        file("etc/passwd", 120, 9),
    ])
}

pub(crate) fn data() -> DiffData {
    let df = Dockerfile::parse(DOCKERFILE.as_bytes()).expect("parse");
    let model = ReleaseModel::from_dockerfile(&df, 3);
    let left = builder();
    let stages = [(1usize, &left)];
    let attribution = Attribution {
        model,
        inputs: Inputs {
            stages: &stages,
            base: None,
        },
    };
    let mut d = DiffData::compute(
        ("builder", builder()),
        ("stage-3", release()),
        &RuleSet::builtin(),
        Some(attribution),
    );
    d.images = Some(("img-builder".into(), "img-release".into()));
    d
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

/// The view open on `path` (revealed from the top), as Enter on it leaves it.
pub(crate) fn detail_of(m: &mut Model, path: &[u8]) -> Vec<Cmd> {
    let v = m.diff.view.as_mut().expect("view");
    let d = v.data().expect("ready");
    let i = (0..d.len() as u32)
        .find(|&i| d.diff.entries()[i as usize].path(&d.left, &d.right) == path)
        .expect("path in the diff");
    v.reveal(i);
    act(m, Action::Diff(DiffKey::Enter))
}

fn act(m: &mut Model, a: Action) -> Vec<Cmd> {
    update(m, Msg::Action(a))
}

/// Every stage built, the default pair known, as `app` sets it up.
pub(crate) fn built() -> Model {
    let mut m = crate::views::tests::state("cached");
    m.diff.default_from = Some(1);
    m
}

/// The view open and answered.
pub(crate) fn ready() -> Model {
    let mut m = built();
    act(&mut m, Action::OpenDiff);
    update(
        &mut m,
        Msg::DiffIndexed(Indexed {
            request: 1,
            result: Ok(Box::new(data())),
        }),
    );
    m
}

fn view(m: &Model) -> &DiffView {
    m.diff.view.as_ref().expect("view open")
}

fn row_paths(m: &Model) -> Vec<String> {
    let v = view(m);
    let d = v.data().expect("ready");
    v.tree
        .rows()
        .iter()
        .map(|r| {
            let i = r.id;
            let e = &d.diff.entries()[i as usize];
            format!(
                "{} {}",
                e.status.mark(),
                String::from_utf8_lossy(e.path(&d.left, &d.right))
            )
        })
        .collect()
}

#[test]
fn d_opens_the_view_and_q_goes_back_without_quitting() {
    let mut m = built();
    assert_eq!(on_key(&m, &key(KeyCode::Char('d'))), Some(Action::OpenDiff));
    let cmds = act(&mut m, Action::OpenDiff);
    assert_eq!(
        cmds,
        vec![Cmd::IndexDiff {
            request: 1,
            from: 1,
            to: 3,
            images: vec![None; 4],
        }]
    );
    assert!(matches!(view(&m).phase, Phase::Loading));
    // In the view, keys mean the view's things.
    assert_eq!(
        on_key(&m, &key(KeyCode::Char('q'))),
        Some(Action::Diff(DiffKey::Close))
    );
    assert_eq!(
        on_key(&m, &key(KeyCode::Char('v'))),
        Some(Action::Diff(DiffKey::CycleFilter))
    );
    assert_eq!(
        on_key(&m, &key(KeyCode::Right)),
        Some(Action::Diff(DiffKey::Expand))
    );
    assert_eq!(
        on_key(&m, &key(KeyCode::Char('h'))),
        Some(Action::Diff(DiffKey::Collapse))
    );
    assert_eq!(
        on_key(&m, &key(KeyCode::Tab)),
        Some(Action::Diff(DiffKey::SwitchPane))
    );
    assert_eq!(
        on_key(
            &m,
            &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
        ),
        Some(Action::Quit)
    );
    act(&mut m, Action::Diff(DiffKey::Close));
    assert!(m.diff.view.is_none());
    assert!(!m.quit);
}

#[test]
fn nothing_to_compare_until_both_stages_are_built() {
    let mut m = model();
    m.diff.default_from = Some(1);
    assert!(act(&mut m, Action::OpenDiff).is_empty());
    assert!(m.diff.view.is_none());
    assert!(m.notice.as_deref().is_some_and(|n| n.contains("built")));
    m.diff.default_from = None;
    act(&mut m, Action::OpenDiff);
    assert!(
        m.notice
            .as_deref()
            .is_some_and(|n| n.contains("copies from no"))
    );
}

#[test]
fn stale_answers_are_dropped() {
    let mut m = built();
    act(&mut m, Action::OpenDiff);
    act(&mut m, Action::Diff(DiffKey::Close));
    act(&mut m, Action::OpenDiff);
    assert_eq!(view(&m).request, 2);
    // The first opening's answer arrives late.
    update(
        &mut m,
        Msg::DiffIndexed(Indexed {
            request: 1,
            result: Ok(Box::new(data())),
        }),
    );
    assert!(matches!(view(&m).phase, Phase::Loading));
    update(
        &mut m,
        Msg::DiffIndexed(Indexed {
            request: 2,
            result: Err(crate::update::tests::failed("daemon gone")),
        }),
    );
    assert!(matches!(&view(&m).phase, Phase::Failed(e) if e == "daemon gone"));
    // An answer with no view open changes nothing.
    act(&mut m, Action::Diff(DiffKey::Close));
    update(
        &mut m,
        Msg::DiffIndexed(Indexed {
            request: 2,
            result: Ok(Box::new(data())),
        }),
    );
    assert!(m.diff.view.is_none());
}

#[test]
fn the_tree_materialises_only_expanded_directories() {
    let mut m = ready();
    assert_eq!(
        row_paths(&m),
        ["+ app", "+ bin", "= etc", "- root", "- src", "- usr"]
    );
    act(&mut m, Action::Diff(DiffKey::Expand));
    assert_eq!(
        row_paths(&m)[..4],
        ["+ app", "+ app/.git", "+ app/deploy.txt", "+ app/main.c"]
    );
    // Collapse on a child goes to its directory; again folds it.
    act(&mut m, Action::Diff(DiffKey::Down));
    act(&mut m, Action::Diff(DiffKey::Collapse));
    assert_eq!(view(&m).tree.selected(), 0);
    act(&mut m, Action::Diff(DiffKey::Collapse));
    assert_eq!(row_paths(&m).len(), 6);
}

#[test]
fn filters_cycle_through_release_leftovers_and_changed() {
    let mut m = ready();
    act(&mut m, Action::Diff(DiffKey::Expand));
    act(&mut m, Action::Diff(DiffKey::CycleFilter));
    assert_eq!(view(&m).filter, Filter::Release);
    assert_eq!(
        row_paths(&m),
        [
            "+ app",
            "+ app/.git",
            "+ app/deploy.txt",
            "+ app/main.c",
            "+ app/server",
            "+ bin",
            "= etc"
        ]
    );
    act(&mut m, Action::Diff(DiffKey::CycleFilter));
    assert_eq!(view(&m).filter, Filter::Leftovers);
    assert_eq!(
        row_paths(&m),
        ["+ app", "+ app/.git", "+ app/deploy.txt", "+ app/main.c"]
    );
    act(&mut m, Action::Diff(DiffKey::CycleFilter));
    assert_eq!(view(&m).filter, Filter::Changed);
    // etc is unchanged itself but holds a change.
    assert_eq!(row_paths(&m).len(), 10);
    assert!(row_paths(&m).contains(&"= etc".to_string()));
    act(&mut m, Action::Diff(DiffKey::CycleFilter));
    assert_eq!(view(&m).filter, Filter::All);
}

#[test]
fn enter_shows_both_sides_and_esc_steps_back() {
    let mut m = ready();
    act(&mut m, Action::Diff(DiffKey::Bottom));
    act(&mut m, Action::Diff(DiffKey::Up));
    act(&mut m, Action::Diff(DiffKey::Up));
    act(&mut m, Action::Diff(DiffKey::Up));
    assert_eq!(row_paths(&m)[view(&m).tree.selected()], "= etc");
    act(&mut m, Action::Diff(DiffKey::Enter));
    act(&mut m, Action::Diff(DiffKey::Down));
    act(&mut m, Action::Diff(DiffKey::Enter));
    let d = view(&m).detail.expect("detail");
    let data = view(&m).data().expect("ready");
    assert_eq!(
        data.diff.entries()[d as usize].path(&data.left, &data.right),
        b"etc/passwd"
    );
    // Keys other than Esc/Enter leave the detail alone.
    act(&mut m, Action::Diff(DiffKey::Down));
    assert!(view(&m).detail.is_some());
    act(&mut m, Action::Diff(DiffKey::Close));
    assert!(view(&m).detail.is_none());
    act(&mut m, Action::Diff(DiffKey::Close));
    assert!(m.diff.view.is_none());
}

#[test]
fn findings_name_the_reason_and_the_instruction_and_enter_reveals_them() {
    let mut m = ready();
    let d = view(&m).data().expect("ready");
    let rows: Vec<String> = d
        .findings
        .iter()
        .map(|f| format!("{} {} {:?}", f.rule, f.path, f.instruction))
        .collect();
    assert_eq!(
        rows,
        [
            "vcs-metadata /app/.git Some(\"COPY --from=builder /src /app (line 10), identical\")",
            "private-key-content /app/deploy.txt Some(\"COPY --from=builder /src /app (line 10), identical\")",
            "sources /app/main.c Some(\"COPY --from=builder /src /app (line 10), identical\")",
        ]
    );
    act(&mut m, Action::Diff(DiffKey::SwitchPane));
    act(&mut m, Action::Diff(DiffKey::Down));
    act(&mut m, Action::Diff(DiffKey::Enter));
    let v = view(&m);
    assert_eq!(row_paths(&m)[v.tree.selected()], "+ app/deploy.txt");
    assert_eq!(v.detail, v.tree.selected_row().map(|r| r.id));
}

#[test]
fn help_still_opens_over_the_view() {
    let mut m = ready();
    act(&mut m, Action::Help);
    assert_eq!(m.overlay, Some(crate::model::Overlay::Help));
    assert_eq!(on_key(&m, &key(KeyCode::Esc)), Some(Action::Close));
    act(&mut m, Action::Close);
    assert!(m.overlay.is_none() && m.diff.view.is_some());
}

fn sides(request: u64, left: Option<&[u8]>, right: Option<&[u8]>) -> Msg {
    Msg::DiffSides(Sides {
        request,
        left: left.map(|b| fetched(b).map_err(|e| crate::update::tests::failed(&e))),
        right: right.map(|b| fetched(b).map_err(|e| crate::update::tests::failed(&e))),
    })
}

fn contents(m: &Model) -> Option<&crate::diff::preview::Contents> {
    view(m).contents.as_ref()
}

#[test]
fn enter_reads_both_sides_and_stale_answers_are_dropped() {
    let mut m = ready();
    let cmds = detail_of(&mut m, b"etc/passwd");
    assert_eq!(
        cmds,
        vec![Cmd::FetchSides(FetchSides {
            request: 2,
            left: Some(("img-builder".into(), b"etc/passwd".to_vec())),
            right: Some(("img-release".into(), b"etc/passwd".to_vec())),
        })]
    );
    assert_eq!(contents(&m).map(|c| c.rows.is_none()), Some(true));
    // Esc and Enter again: a new request; the first one's answer is stale.
    act(&mut m, Action::Diff(DiffKey::Close));
    assert!(contents(&m).is_none());
    let again = act(&mut m, Action::Diff(DiffKey::Enter));
    assert!(matches!(&again[..], [Cmd::FetchSides(f)] if f.request == 3));
    update(&mut m, sides(2, Some(b"old\n"), Some(b"old\n")));
    assert_eq!(contents(&m).map(|c| c.rows.is_none()), Some(true));
    update(
        &mut m,
        sides(3, Some(b"root:x:0\n"), Some(b"root:x:0\napp:x:1\n")),
    );
    let rows = contents(&m).and_then(|c| c.rows.clone()).expect("rows");
    assert!(
        rows.iter().any(|r| r.text.ends_with("+ app:x:1")),
        "{rows:?}"
    );
    // An answer after Esc changes nothing.
    act(&mut m, Action::Diff(DiffKey::Close));
    update(&mut m, sides(3, Some(b"x"), Some(b"y")));
    assert!(contents(&m).is_none() && view(&m).detail.is_none());
}

#[test]
fn only_existing_file_sides_are_read_and_the_content_scrolls() {
    let mut m = ready();
    let cmds = detail_of(&mut m, b"app/main.c");
    assert!(matches!(
        &cmds[..],
        [Cmd::FetchSides(FetchSides {
            left: None,
            right: Some(_),
            ..
        })]
    ));
    let text: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    update(&mut m, sides(2, None, Some(text.as_bytes())));
    act(&mut m, Action::Diff(DiffKey::Down));
    act(&mut m, Action::Diff(DiffKey::PageDown));
    assert!(contents(&m).is_some_and(|c| c.top > 1));
    act(&mut m, Action::Diff(DiffKey::Top));
    assert_eq!(contents(&m).map(|c| c.top), Some(0));
    act(&mut m, Action::Diff(DiffKey::Bottom));
    assert!(contents(&m).is_some_and(|c| c.top < 110));
    act(&mut m, Action::Diff(DiffKey::Close));
    // A link has nothing to read: metadata only.
    assert!(detail_of(&mut m, b"bin/sh").is_empty());
    assert!(view(&m).detail.is_some() && contents(&m).is_none());
}
