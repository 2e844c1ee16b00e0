//! The filesystem pane without a terminal: keys, messages, stale results, the memory cache,
//! and snapshots of what it draws.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys::on_key;
use super::*;
use crate::keymap;
use crate::model::{Focus, Model};
use crate::update::Cmd;
use crate::update::tests::{feed, ins, model};
use crate::update::{Action, Msg, update};
use crate::views::tests::render_with;
use stagescope_fs::layers::{ImageLayers, Layer};
use stagescope_fs::waste::{HiddenCopy, How, Waste};
use stagescope_fs::{IndexBuilder, Meta};
use stagescope_plan::BuildEvent;
use stagescope_plan::added_by::layer_info;

pub(crate) const IMAGE: &str =
    "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// The builder stage (1) built, its image known.
pub(crate) fn built() -> Model {
    let mut m = model();
    for k in 0..4 {
        feed(&mut m, ins(1, k, false, 10));
    }
    feed(
        &mut m,
        [BuildEvent::StageImage {
            stage: 1,
            image: IMAGE.into(),
        }],
    );
    m.stage = 1;
    m.focus = Focus::Graph;
    m.size = (100, 16);
    m
}

pub(crate) fn sample() -> FsIndex {
    let mut b = IndexBuilder::new();
    let mut add = |p: &[u8], k: Kind, size: u64, mode: u32, link: Option<&[u8]>| {
        b.add(p, k, Meta::new(size, mode), link, 0).expect("add");
    };
    add(b"bin/busybox", Kind::File, 1_100_000, 0o4755, None);
    add(b"bin/sh", Kind::Symlink, 0, 0o777, Some(b"busybox"));
    add(b"src/deps.txt", Kind::File, 5, 0o644, None);
    add(b"src/main.c", Kind::File, 2_048, 0o644, None);
    add(b"src/evil\x1b[2J\xff", Kind::File, 1, 0o644, None);
    add(b"etc/passwd", Kind::File, 300, 0o644, None);
    add(b"loop", Kind::Symlink, 0, 0o777, Some(b"loop"));
    b.finish()
}

fn act(m: &mut Model, k: FilesKey) -> Vec<Cmd> {
    update(m, Msg::Action(Action::Files(k)))
}

fn msg(m: &mut Model, f: FilesMsg) -> Vec<Cmd> {
    update(m, Msg::Files(f))
}

fn indexed(m: &mut Model, ix: FsIndex) -> Vec<Cmd> {
    indexed_with(m, ix, None)
}

fn indexed_with(m: &mut Model, ix: FsIndex, waste: Option<Waste>) -> Vec<Cmd> {
    let req = m.files.as_ref().expect("pane").req;
    msg(
        m,
        FilesMsg::Indexed {
            req,
            result: Ok(Shared::new(ix)),
            image_id: Some(IMAGE.into()),
            from_cache: false,
            waste: waste.map(Shared::new),
        },
    )
}

/// What the sample's layers hid: the `RUN` (layer 3) deleted src/old.o, which the `COPY`
/// (layer 2) wrote, and etc/shadow of the base, and wrote src/main.c over the COPY's copy.
pub(crate) fn waste() -> Waste {
    let h = |path: &str, size: u64, layer: u16, how: How| HiddenCopy {
        path: path.as_bytes().to_vec(),
        size,
        layer,
        hidden_by: 3,
        how,
    };
    Waste {
        layer_bytes: vec![1_101_200, 0, 41_505, 2_049],
        hidden: vec![
            h("etc/shadow", 900, 0, How::Deleted),
            h("src/main.c", 1_500, 2, How::Overwritten),
            h("src/old.o", 40_000, 2, How::Deleted),
        ],
    }
}

/// Layers of the sample: the base made bin/ and etc/, `COPY --from=deps` (instruction 2)
/// made src/deps.txt, the `RUN` (3) made the rest and deleted src/old.o.
pub(crate) fn layers() -> ImageLayers {
    let l = |created: &str, added: &[&str], deleted: &[&str]| Layer {
        added: added.iter().map(|p| p.as_bytes().to_vec()).collect(),
        deleted: deleted.iter().map(|p| p.as_bytes().to_vec()).collect(),
        created_by: Some(created.into()),
        ..Layer::default()
    };
    ImageLayers {
        light: false,
        layers: vec![
            l(
                "ADD file:abc in /",
                &["bin/busybox", "bin/sh", "etc/passwd"],
                &[],
            ),
            l("WORKDIR /src", &["src"], &[]),
            l("COPY /deps.txt . # buildkit", &["src/deps.txt"], &[]),
            l(
                "RUN echo building && sleep 1",
                &["src/main.c", "loop"],
                &["src/old.o"],
            ),
        ],
    }
}

/// Opened on the builder's state after instruction 3, indexed, layers read.
pub(crate) fn opened() -> Model {
    opened_with(None)
}

/// [`opened`], the open having counted `waste`.
fn opened_with(waste: Option<Waste>) -> Model {
    let mut m = indexed_only(waste);
    let p = m.files.as_ref().expect("pane");
    let info = layer_info(m.plan(), 1, 3, &layers(), p.index.as_ref().expect("index"));
    let req = p.req;
    msg(
        &mut m,
        FilesMsg::Layers {
            req,
            result: Ok(Shared::new(info)),
        },
    );
    m
}

/// Opened on the builder's state after instruction 3 and indexed (with `waste`); its layers
/// not read yet.
fn indexed_only(waste: Option<Waste>) -> Model {
    let mut m = built();
    m.focus = Focus::Instructions;
    m.instruction = 3;
    update(&mut m, Msg::Action(Action::OpenFiles));
    indexed_with(&mut m, sample(), waste);
    m
}

fn names(m: &Model) -> Vec<String> {
    let p = m.files.as_ref().expect("pane");
    let ix = p.index.as_ref().expect("index");
    p.tree
        .rows()
        .iter()
        .map(|r| escape(ix.get(r.id).path()))
        .collect()
}

fn screen(m: &Model) -> String {
    let (w, h) = m.size;
    render_with(w, h, |f| crate::views::draw(f, m))
}

#[test]
fn f_opens_the_stage_and_asks_for_its_export() {
    let mut m = built();
    let key = KeyEvent::new(KeyCode::Char('f'), KeyModifiers::NONE);
    assert_eq!(keymap::on_key(&m, &key), Some(Action::OpenFiles));
    let cmds = update(&mut m, Msg::Action(Action::OpenFiles));
    assert_eq!(
        cmds,
        vec![Cmd::Files(FilesCmd::Open {
            req: 1,
            stage: 1,
            instruction: 3,
            image: Some(IMAGE.into())
        })]
    );
    assert!(m.files.as_ref().expect("pane").loading);
    // In the log pane `f` still follows the tail.
    m.files = None;
    m.focus = Focus::Log;
    assert_eq!(keymap::on_key(&m, &key), Some(Action::ToggleFollow));
}

#[test]
fn an_unbuilt_state_is_not_opened_and_an_instruction_without_image_is_made() {
    let mut m = model();
    m.focus = Focus::Instructions;
    assert!(update(&mut m, Msg::Action(Action::OpenFiles)).is_empty());
    assert_eq!(m.notice.as_deref(), Some("that state is not built yet"));
    let mut m = built();
    m.focus = Focus::Instructions;
    m.instruction = 1;
    let cmds = update(&mut m, Msg::Action(Action::OpenFiles));
    assert_eq!(
        cmds,
        vec![Cmd::Files(FilesCmd::Open {
            req: 1,
            stage: 1,
            instruction: 1,
            image: None
        })]
    );
}

#[test]
fn snapshots_refresh_the_tree_keeping_what_is_open() {
    let mut m = built();
    update(&mut m, Msg::Action(Action::OpenFiles));
    let mut b = IndexBuilder::new();
    b.add(b"src/a", Kind::File, Meta::new(1, 0o644), None, 0)
        .expect("add");
    msg(
        &mut m,
        FilesMsg::Progress {
            req: 1,
            progress: b.progress(),
            snapshot: Some(Shared::new(b.snapshot())),
        },
    );
    assert_eq!(names(&m), ["src"]);
    act(&mut m, FilesKey::Expand);
    act(&mut m, FilesKey::Down);
    assert_eq!(names(&m), ["src", "src/a"]);
    let cmds = indexed(&mut m, sample());
    assert!(matches!(
        cmds[..],
        [Cmd::Files(FilesCmd::Layers { req: 1, .. })]
    ));
    // src stays open and src/a... is gone, so the selection stays on its row.
    assert_eq!(
        names(&m),
        [
            "bin",
            "etc",
            "loop",
            "src",
            "src/deps.txt",
            "src/evil\\x1b[2J\\xff",
            "src/main.c"
        ]
    );
}

#[test]
fn stale_results_are_dropped() {
    let mut m = built();
    update(&mut m, Msg::Action(Action::OpenFiles));
    act(&mut m, FilesKey::Close);
    assert!(m.files.is_none());
    update(&mut m, Msg::Action(Action::OpenFiles));
    assert_eq!(m.files.as_ref().expect("pane").req, 2);
    msg(
        &mut m,
        FilesMsg::Indexed {
            req: 1,
            result: Ok(Shared::new(sample())),
            image_id: None,
            from_cache: false,
            waste: None,
        },
    );
    let p = m.files.as_ref().expect("pane");
    assert!(p.index.is_none() && p.loading);
}

#[test]
fn reopening_comes_from_memory_at_once() {
    let mut m = opened();
    assert_eq!(
        act(&mut m, FilesKey::Close),
        vec![Cmd::Files(FilesCmd::Cancel)]
    );
    m.focus = Focus::Graph;
    let cmds = update(&mut m, Msg::Action(Action::OpenFiles));
    let p = m.files.as_ref().expect("pane");
    assert!(p.from_cache && !p.loading && p.index.is_some());
    // No export: only the layers are read again, in the background.
    assert!(matches!(cmds[..], [Cmd::Files(FilesCmd::Layers { .. })]));
}

#[test]
fn keys_of_the_pane() {
    let m = opened();
    let p = m.files.as_ref().expect("pane");
    let k = |c| KeyEvent::new(c, KeyModifiers::NONE);
    assert_eq!(
        keymap::on_key(&m, &k(KeyCode::Char('q'))),
        Some(Action::Files(FilesKey::Close))
    );
    assert_eq!(
        keymap::on_key(&m, &k(KeyCode::Char('?'))),
        Some(Action::Help)
    );
    assert_eq!(
        on_key(p, &k(KeyCode::Char('/'))),
        Some(FilesKey::StartFilter)
    );
    assert_eq!(
        on_key(p, &k(KeyCode::Char('s'))),
        Some(FilesKey::ToggleSort)
    );
    assert_eq!(on_key(p, &k(KeyCode::Char('L'))), Some(FilesKey::Largest));
    assert_eq!(on_key(p, &k(KeyCode::Enter)), Some(FilesKey::Activate));
    let mut typing = p.clone();
    typing.input = Some((InputKind::Filter, String::new()));
    assert_eq!(
        on_key(&typing, &k(KeyCode::Char('q'))),
        Some(FilesKey::Input('q'))
    );
}

#[test]
fn filter_sort_largest_and_preview() {
    let mut m = opened();
    act(&mut m, FilesKey::StartFilter);
    for c in "*.c".chars() {
        act(&mut m, FilesKey::Input(c));
    }
    act(&mut m, FilesKey::Submit);
    assert_eq!(names(&m), ["src", "src/main.c"]);
    act(&mut m, FilesKey::Close);
    assert_eq!(names(&m)[0], "bin");
    act(&mut m, FilesKey::ToggleSort);
    assert_eq!(names(&m)[0], "bin", "bin holds the largest file");
    act(&mut m, FilesKey::Largest);
    let cmds = act(&mut m, FilesKey::Activate);
    assert_eq!(
        cmds,
        vec![Cmd::Files(FilesCmd::Preview {
            req: 1,
            image: IMAGE.into(),
            path: b"bin/busybox".to_vec()
        })]
    );
    act(&mut m, FilesKey::StartExtract);
    for c in "/tmp/out".chars() {
        act(&mut m, FilesKey::Input(c));
    }
    let cmds = act(&mut m, FilesKey::Submit);
    assert_eq!(
        cmds,
        vec![Cmd::Files(FilesCmd::Extract {
            req: 1,
            image: IMAGE.into(),
            path: b"bin/busybox".to_vec(),
            dest: "/tmp/out".into()
        })]
    );
}

#[test]
fn a_symlink_loop_previews_as_a_note() {
    let mut m = opened();
    let row = names(&m).iter().position(|n| n == "loop").expect("loop");
    m.files.as_mut().expect("pane").tree.select(row);
    assert!(act(&mut m, FilesKey::Activate).is_empty());
    let pv = m
        .files
        .as_ref()
        .and_then(|p| p.preview.clone())
        .expect("preview");
    assert_eq!(
        pv.body,
        stagescope_fs::preview::Body::Note("symbolic link to loop".into())
    );
}

#[test]
fn snapshot_loading_with_progress() {
    let mut m = built();
    update(&mut m, Msg::Action(Action::OpenFiles));
    let mut b = IndexBuilder::new();
    for i in 0..3 {
        b.add(
            format!("usr/lib/l{i}.so").as_bytes(),
            Kind::File,
            Meta::new(4096, 0o755),
            None,
            0,
        )
        .expect("add");
    }
    msg(
        &mut m,
        FilesMsg::Progress {
            req: 1,
            progress: Progress {
                entries: 12_345,
                bytes: 45 << 20,
            },
            snapshot: Some(Shared::new(b.snapshot())),
        },
    );
    insta::assert_snapshot!("files_loading", screen(&m));
}

#[test]
fn snapshot_tree_with_columns() {
    let mut m = opened();
    act(&mut m, FilesKey::ExpandAll);
    insta::assert_snapshot!("files_expanded", screen(&m));
}

#[test]
fn snapshot_filtered() {
    let mut m = opened();
    act(&mut m, FilesKey::StartFilter);
    for c in "pass".chars() {
        act(&mut m, FilesKey::Input(c));
    }
    act(&mut m, FilesKey::Submit);
    insta::assert_snapshot!("files_filtered", screen(&m));
}

#[test]
fn snapshot_changes_of_the_instruction() {
    let mut m = opened();
    act(&mut m, FilesKey::Changes);
    insta::assert_snapshot!("files_changes", screen(&m));
}

fn show(m: &mut Model, pv: Preview) {
    msg(
        m,
        FilesMsg::Preview {
            req: 1,
            result: Ok(pv),
        },
    );
}

#[test]
fn snapshot_previews() {
    let mut m = opened();
    let passwd = b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n";
    show(&mut m, Preview::of_file(b"etc/passwd", 60, passwd));
    insta::assert_snapshot!("files_preview_text", screen(&m));
    act(&mut m, FilesKey::Close);
    let mut elf =
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00".to_vec();
    elf.extend(0u8..40);
    show(&mut m, Preview::of_file(b"bin/busybox", 1_100_000, &elf));
    insta::assert_snapshot!("files_preview_hex", screen(&m));
}

#[test]
fn hostile_names_render_escaped_on_one_row() {
    let mut m = built();
    m.focus = Focus::Instructions;
    m.instruction = 3;
    update(&mut m, Msg::Action(Action::OpenFiles));
    let mut b = IndexBuilder::new();
    let meta = Meta::new(1, 0o644);
    b.add(b"evil\x1b]0;T\x07\nname", Kind::File, meta, None, 0)
        .expect("add");
    b.add(b"ln", Kind::Symlink, meta, Some(b"\x1b[2J\r"), 0)
        .expect("add");
    indexed(&mut m, b.finish());
    act(&mut m, FilesKey::ExpandAll);
    let s = screen(&m);
    assert!(!s.chars().any(|c| c.is_control() && c != '\n'), "{s}");
    assert!(s.contains("evil\\x1b]0;T\\x07\\x0aname"), "{s}");
    assert!(s.contains("ln -> \\x1b[2J\\x0d"), "{s}");
}

#[test]
fn runtime_mount_points_are_marked_and_no_change_of_the_instruction() {
    // BuildKit's first RUN leaves an empty /proc in its layer, beside what it wrote in src/,
    // which WORKDIR made.
    let mut m = built();
    m.focus = Focus::Instructions;
    m.instruction = 3;
    update(&mut m, Msg::Action(Action::OpenFiles));
    let mut b = IndexBuilder::new();
    for (p, k) in [
        (&b"bin/sh"[..], Kind::File),
        (b"proc", Kind::Dir),
        (b"src/deps.txt", Kind::File),
        (b"src/main.c", Kind::File),
    ] {
        b.add(p, k, Meta::new(1, 0o755), None, 0).expect("add");
    }
    let ix = b.finish();
    indexed(&mut m, ix.clone());
    let l = |created: &str, added: &[&str]| Layer {
        added: added.iter().map(|p| p.as_bytes().to_vec()).collect(),
        created_by: Some(created.into()),
        ..Layer::default()
    };
    let layers = ImageLayers {
        light: false,
        layers: vec![
            l("ADD file:abc in /", &["bin", "bin/sh"]),
            l("WORKDIR /src", &["src"]),
            l("COPY /deps.txt . # buildkit", &["src", "src/deps.txt"]),
            l(
                "RUN echo building && sleep 1",
                &["proc", "src", "src/main.c"],
            ),
        ],
    };
    let info = layer_info(m.plan(), 1, 3, &layers, &ix);
    let req = m.files.as_ref().expect("pane").req;
    msg(
        &mut m,
        FilesMsg::Layers {
            req,
            result: Ok(Shared::new(info)),
        },
    );
    let p = m.files.as_ref().expect("pane");
    let src = ix.lookup(b"src").expect("src");
    assert_eq!(p.added_by(src), Some("line 4 WORKDIR /src"));
    assert!(p.last_changed_by(src).is_some_and(|l| l.contains("RUN")));
    let s = screen(&m);
    assert!(s.contains("runtime mount point"), "{s}");
    assert!(s.contains("line 4 WORKD… (last 6)"), "{s}");
    act(&mut m, FilesKey::Changes);
    let Some(List::Changes(rows)) = &m.files.as_ref().expect("pane").list else {
        panic!("no changes list");
    };
    let paths: Vec<&[u8]> = rows.iter().map(|r| r.path.as_slice()).collect();
    assert_eq!(paths, [&b"src"[..], b"src/main.c"]);
}

fn waste_paths(m: &Model) -> Vec<(String, u64)> {
    let p = m.files.as_ref().expect("pane");
    let Some(List::Waste(w)) = &p.list else {
        panic!("no waste list: {:?}", p.list)
    };
    (0..w.rows.len())
        .filter_map(|n| w.row(n))
        .map(|(f, c)| (f.path.clone(), c.size))
        .collect()
}

#[test]
fn w_lists_the_wasted_copies_largest_first_and_enter_goes_to_the_path() {
    let mut m = opened_with(Some(waste()));
    let p = m.files.as_ref().expect("pane");
    let key = KeyEvent::new(KeyCode::Char('W'), KeyModifiers::NONE);
    assert_eq!(on_key(p, &key), Some(FilesKey::Waste));
    act(&mut m, FilesKey::Waste);
    assert_eq!(
        waste_paths(&m),
        [
            ("/src/old.o".to_string(), 40_000),
            ("/src/main.c".to_string(), 1_500),
            ("/etc/shadow".to_string(), 900)
        ]
    );
    let p = m.files.as_ref().expect("pane");
    let Some(List::Waste(w)) = &p.list else {
        panic!("no list")
    };
    // The report's numbers, the base (layer 0) counted apart as `waste --stage` does.
    assert_eq!(w.report.wasted_bytes, 42_400);
    assert_eq!(w.report.base_layers, 1);
    assert_eq!(w.report.user_wasted_bytes, 42_400);
    // A deleted path has no entry; an overwritten one is the visible file.
    assert_eq!(p.current(), None);
    act(&mut m, FilesKey::Down);
    let ix = m.files.as_ref().and_then(|p| p.index.clone()).expect("ix");
    assert_eq!(
        m.files.as_ref().expect("pane").current(),
        ix.lookup(b"src/main.c")
    );
    // Enter: the tree, on the path.
    act(&mut m, FilesKey::Activate);
    let p = m.files.as_ref().expect("pane");
    assert!(p.list.is_none());
    assert_eq!(p.current(), ix.lookup(b"src/main.c"));
    // A deleted path: its nearest directory, said so.
    act(&mut m, FilesKey::Waste);
    act(&mut m, FilesKey::Activate);
    let p = m.files.as_ref().expect("pane");
    assert_eq!(p.current(), ix.lookup(b"src"));
    assert_eq!(
        p.notice.as_deref(),
        Some("/src/old.o is not in this image any more: its directory /src")
    );
    // W again closes the list.
    act(&mut m, FilesKey::Waste);
    act(&mut m, FilesKey::Waste);
    assert!(m.files.as_ref().expect("pane").list.is_none());
}

#[test]
fn without_a_counted_waste_w_says_why() {
    let mut m = opened();
    act(&mut m, FilesKey::Waste);
    let p = m.files.as_ref().expect("pane");
    assert!(p.list.is_none());
    assert!(
        p.notice
            .as_deref()
            .unwrap_or("")
            .starts_with("no waste known")
    );
}

#[test]
fn reopening_from_memory_keeps_the_waste() {
    let mut m = opened_with(Some(waste()));
    act(&mut m, FilesKey::Close);
    m.focus = Focus::Graph;
    update(&mut m, Msg::Action(Action::OpenFiles));
    act(&mut m, FilesKey::Waste);
    assert_eq!(waste_paths(&m).len(), 3);
}

#[test]
fn snapshot_wasted_copies() {
    let mut m = opened_with(Some(waste()));
    act(&mut m, FilesKey::Waste);
    insta::assert_snapshot!("files_waste", screen(&m));
    m.size = (130, 12);
    act(&mut m, FilesKey::Down);
    insta::assert_snapshot!("files_waste_wide", screen(&m));
}

#[test]
fn snapshot_wasted_copies_before_the_layers_are_read() {
    let mut m = indexed_only(Some(waste()));
    act(&mut m, FilesKey::Waste);
    insta::assert_snapshot!("files_waste_unnamed", screen(&m));
}
