use super::super::tests::{render_with, screen};
use crate::tui::diffview::tests::ready;
use crate::tui::update::{Action, Msg, update};

fn act(m: &mut crate::tui::model::Model, a: Action) {
    update(m, Msg::Action(a));
}

#[test]
fn summary_and_tree_in_each_filter() {
    let mut m = ready();
    m.size = (100, 30);
    act(&mut m, Action::Expand);
    for name in ["all", "release", "leftovers", "changed"] {
        insta::assert_snapshot!(format!("diff_filter_{name}"), screen(&m));
        act(&mut m, Action::CycleFilter);
    }
}

#[test]
fn findings_list_focused() {
    let mut m = ready();
    m.size = (100, 30);
    act(&mut m, Action::FocusNext);
    act(&mut m, Action::Down);
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
    act(&mut m, Action::Down);
    act(&mut m, Action::Down);
    act(&mut m, Action::Enter);
    act(&mut m, Action::Down);
    act(&mut m, Action::Enter);
    insta::assert_snapshot!("diff_detail_changed", screen(&m));
}

#[test]
fn both_sides_of_a_finding_and_loading_and_small_screens() {
    let mut m = ready();
    m.size = (80, 24);
    act(&mut m, Action::FocusNext);
    act(&mut m, Action::Down);
    act(&mut m, Action::Enter);
    insta::assert_snapshot!("diff_detail_key_by_content", screen(&m));
    for (w, h) in [(1, 1), (20, 5), (40, 10)] {
        let _ = render_with(w, h, |f| super::super::draw(f, &m));
    }
    let mut m = crate::tui::diffview::tests::built();
    act(&mut m, Action::OpenDiff);
    let s = render_with(80, 6, |f| super::super::draw(f, &m));
    assert!(s.contains("indexing both stages"), "{s}");
}
