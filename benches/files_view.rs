//! The filesystem pane: one frame of a 100k-entry image with every directory expanded
//! (goal: under 2 ms), and reopening that index from the disk cache (goal: under 0.2 s).
//!
//! Beside it, the same tree drawn by `tui-tree-widget` (what the design card first named),
//! so the README's choice of our own lazy rows rests on a figure: once with its items built
//! from the index in the frame (they must be: the index streams in, the filter and the sort
//! change the tree), once with items built a single time and reused.

use criterion::{Criterion, criterion_group, criterion_main};
use stagescope_tui::ratatui::Terminal;
use stagescope_tui::ratatui::backend::TestBackend;
use stagescope_tui::ratatui::style::{Color, Modifier, Style};
use stagescope_tui::ratatui::text::{Line, Span};
use std::borrow::Cow;
use std::hint::black_box;
use std::mem::{size_of, size_of_val};
use tui_tree_widget::{Tree, TreeItem, TreeState};

use stagescope_fs::cache::DiskCache;
use stagescope_fs::format::{human_size, mode_string};
use stagescope_fs::index::ROOT;
use stagescope_fs::tree::TreeView;
use stagescope_fs::{EntryId, FsIndex, IndexBuilder, Kind, Meta, escape};
use stagescope_tui::files::view;
use stagescope_tui::files::{FilesPane, Shared};

const ID: &str = "sha256:abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd";

/// 100k files in 1,000 directories of 100, two levels deep.
fn big_index() -> FsIndex {
    let mut b = IndexBuilder::new();
    for d in 0..1_000 {
        for f in 0..100 {
            let p = format!("usr/share/pkg{:03}/sub{}/file{f:03}.dat", d / 10, d % 10);
            b.add(
                p.as_bytes(),
                Kind::File,
                Meta::new((d * f) as u64, 0o644),
                None,
                0,
            )
            .expect("add");
        }
    }
    b.finish()
}

fn bench(c: &mut Criterion) {
    let ix = big_index();
    let mut pane = FilesPane::new(1, 0, 0, "bench".into());
    let mut tree = TreeView::new(&ix);
    tree.expand_all(&ix);
    assert!(tree.rows().len() > 100_000);
    pane.tree = tree;
    pane.tree.select(60_000);
    pane.loading = false;
    pane.index = Some(Shared::new(ix.clone()));
    let mut term = Terminal::new(TestBackend::new(160, 50)).expect("terminal");
    c.bench_function("files frame, 100k expanded", |b| {
        b.iter(|| {
            term.draw(|f| view::render(f, f.area(), black_box(&pane)))
                .expect("draw");
        })
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let cache = DiskCache::new(dir.path().to_path_buf(), 1 << 30);
    cache.put(ID, &ix).expect("put");
    c.bench_function("reopen 100k entries from the disk cache", |b| {
        b.iter(|| black_box(cache.get(ID).expect("hit")))
    });
}

/// The widget's items for the shown children of `id`, in the view's order: name (styled
/// as our pane does) then size, mode and owner, since the widget draws its indent and marker
/// before the text. `heap` adds up what they hold, roughly.
fn tree_items(
    ix: &FsIndex,
    view: &TreeView,
    id: EntryId,
    heap: &mut usize,
) -> Vec<TreeItem<'static, EntryId>> {
    view.visible_children(ix, id)
        .into_iter()
        .map(|c| {
            let e = ix.get(c);
            let dir = e.kind() == Kind::Dir;
            let mut name = escape(e.name());
            let style = if dir {
                name.push('/');
                Style::default()
                    .fg(Color::Blue)
                    .add_modifier(Modifier::BOLD)
            } else {
                Style::default()
            };
            let size = if dir { e.total() } else { e.size() };
            let cols = format!(
                "  {:>7} {} {}:{}",
                human_size(size),
                mode_string(e.kind(), e.mode()),
                e.uid(),
                e.gid()
            );
            let line = Line::from(vec![Span::styled(name, style), Span::raw(cols)]);
            *heap += size_of::<TreeItem<'static, EntryId>>()
                + size_of::<Line>()
                + line.spans.capacity() * size_of::<Span>()
                + line
                    .spans
                    .iter()
                    .map(|s| match &s.content {
                        Cow::Owned(o) => o.capacity(),
                        Cow::Borrowed(_) => 0,
                    })
                    .sum::<usize>();
            let kids = tree_items(ix, view, c, heap);
            if kids.is_empty() {
                TreeItem::new_leaf(c, line)
            } else {
                TreeItem::new(c, line, kids).expect("ids are unique")
            }
        })
        .collect()
}

/// The widget's identifier of `id`: the ids from the root's child down to it.
fn id_path(ix: &FsIndex, id: EntryId) -> Vec<EntryId> {
    let mut path = vec![id];
    let mut at = id;
    while let Some(p) = ix.get(at).parent().filter(|&p| p != ROOT) {
        path.push(p);
        at = p;
    }
    path.reverse();
    path
}

fn tree_widget(c: &mut Criterion) {
    let ix = big_index();
    let mut view = TreeView::new(&ix);
    view.expand_all(&ix);
    let rows = view.rows();
    let mut state = TreeState::default();
    let mut opened = 0;
    for r in rows.iter().filter(|r| r.expanded) {
        let path = id_path(&ix, r.id);
        opened += size_of::<Vec<EntryId>>() + 1 + path.len() * size_of::<EntryId>();
        state.open(path);
    }
    state.select(id_path(&ix, rows[60_000].id));
    let mut heap = 0;
    let items = tree_items(&ix, &view, ROOT, &mut heap);
    let ids: usize = rows
        .iter()
        .map(|r| size_of::<Vec<EntryId>>() + (usize::from(r.depth) + 1) * size_of::<EntryId>())
        .sum();
    eprintln!(
        "memory at {} rows: our rows {:.1} MB (+{:.1} MB expanded flags); widget items \
         {:.1} MB, open set {:.2} MB, ids kept after each frame {:.1} MB",
        rows.len(),
        size_of_val(rows) as f64 / 1e6,
        ix.len() as f64 / 1e6,
        heap as f64 / 1e6,
        opened as f64 / 1e6,
        ids as f64 / 1e6,
    );

    let mut term = Terminal::new(TestBackend::new(160, 50)).expect("terminal");
    let highlight = Style::default().add_modifier(Modifier::REVERSED);
    c.bench_function(
        "tree-widget frame, 100k expanded, items built from the index",
        |b| {
            b.iter(|| {
                let items = tree_items(&ix, black_box(&view), ROOT, &mut 0);
                let tree = Tree::new(&items).expect("ids").highlight_style(highlight);
                term.draw(|f| f.render_stateful_widget(tree, f.area(), &mut state))
                    .expect("draw");
            })
        },
    );
    c.bench_function("tree-widget frame, 100k expanded, items reused", |b| {
        b.iter(|| {
            let tree = Tree::new(black_box(&items))
                .expect("ids")
                .highlight_style(highlight);
            term.draw(|f| f.render_stateful_widget(tree, f.area(), &mut state))
                .expect("draw");
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench, tree_widget
}
criterion_main!(benches);
