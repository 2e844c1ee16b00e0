use crate::diff::keys::DiffKey;
use crate::diff::preview::Sides;
use crate::diff::tests::{detail_of, fetched, ready};
use crate::update::{Action, Msg, update};
use crate::views::tests::{render_with, screen};

fn act(m: &mut crate::model::Model, a: Action) {
    update(m, Msg::Action(a));
}

#[test]
fn summary_and_tree_in_each_filter() {
    let mut m = ready();
    m.size = (100, 30);
    act(&mut m, Action::Diff(DiffKey::Expand));
    for name in ["all", "release", "leftovers", "changed"] {
        insta::assert_snapshot!(format!("diff_filter_{name}"), screen(&m));
        act(&mut m, Action::Diff(DiffKey::CycleFilter));
    }
}

#[test]
fn findings_list_focused() {
    let mut m = ready();
    m.size = (100, 30);
    act(&mut m, Action::Diff(DiffKey::SwitchPane));
    act(&mut m, Action::Diff(DiffKey::Down));
    let s = screen(&m);
    assert!(s.contains("private-key-content"), "{s}");
    assert!(s.contains("COPY --from=builder /src /app (line 10)"), "{s}");
    insta::assert_snapshot!("diff_findings", s);
}

#[test]
fn both_sides_of_a_changed_file() {
    let mut m = ready();
    m.size = (100, 30);
    // etc, then etc/passwd.
    act(&mut m, Action::Diff(DiffKey::Down));
    act(&mut m, Action::Diff(DiffKey::Down));
    act(&mut m, Action::Diff(DiffKey::Enter));
    act(&mut m, Action::Diff(DiffKey::Down));
    act(&mut m, Action::Diff(DiffKey::Enter));
    insta::assert_snapshot!("diff_detail_changed", screen(&m));
}

#[test]
fn both_sides_of_a_finding_and_loading_and_small_screens() {
    let mut m = ready();
    m.size = (80, 24);
    act(&mut m, Action::Diff(DiffKey::SwitchPane));
    act(&mut m, Action::Diff(DiffKey::Down));
    act(&mut m, Action::Diff(DiffKey::Enter));
    insta::assert_snapshot!("diff_detail_key_by_content", screen(&m));
    for (w, h) in [(1, 1), (20, 5), (40, 10)] {
        let _ = render_with(w, h, |f| crate::views::draw(f, &m));
    }
    let mut m = crate::diff::tests::built();
    act(&mut m, Action::OpenDiff);
    let s = render_with(80, 6, |f| crate::views::draw(f, &m));
    assert!(s.contains("indexing both stages"), "{s}");
}

fn preview(path: &[u8], left: Option<&[u8]>, right: Option<&[u8]>) -> String {
    let mut m = ready();
    m.size = (100, 40);
    detail_of(&mut m, path);
    update(
        &mut m,
        Msg::DiffSides(Sides {
            request: 2,
            left: left.map(|b| fetched(b).map_err(|e| crate::update::tests::failed(&e))),
            right: right.map(|b| fetched(b).map_err(|e| crate::update::tests::failed(&e))),
        }),
    );
    screen(&m)
}

#[test]
fn content_of_both_sides_as_a_line_diff() {
    let s = preview(
        b"etc/passwd",
        Some(b"root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\nnobody:x:65534\n"),
        Some(b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/false\nnobody:x:65534\n"),
    );
    insta::assert_snapshot!("diff_content_text", s);
}

#[test]
fn content_of_a_file_only_in_the_release() {
    let s = preview(
        b"app/main.c",
        None,
        Some(b"int main(void) {\n\treturn 0;\n}\n"),
    );
    insta::assert_snapshot!("diff_content_one_side", s);
}

#[test]
fn content_of_binaries_as_type_size_hash_and_hex() {
    let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
    elf.extend((0u8..200).map(|b| b.wrapping_mul(7)));
    let s = preview(b"etc/passwd", Some(&[0x1f, 0x8b, 8, 0, 0, 0]), Some(&elf));
    insta::assert_snapshot!("diff_content_binary", s);
}

#[test]
fn reading_both_sides_shows_while_it_runs() {
    let mut m = ready();
    m.size = (100, 30);
    detail_of(&mut m, b"etc/passwd");
    assert!(screen(&m).contains("reading both sides…"));
}
