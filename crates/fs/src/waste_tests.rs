use proptest::prelude::*;

use super::*;
use crate::index::layer::{Composer, LayerIndex, compose};

/// One entry of a made-up layer's tar.
#[derive(Debug, Clone)]
enum E {
    /// A file of `n` bytes.
    F(String, usize),
    D(String),
    /// A hard link to another entry of the same layer.
    H(String, String),
    /// `rm path` (a whiteout).
    W(String),
    /// `dir/.wh..wh..opq`.
    O(String),
}

fn layer(entries: &[E]) -> LayerIndex {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(0);
        match e {
            E::F(p, n) => {
                h.set_size(*n as u64);
                h.set_entry_type(tar::EntryType::Regular);
                b.append_data(&mut h, p, vec![b'x'; *n].as_slice())
                    .expect("file");
            }
            E::D(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                b.append_data(&mut h, p, &[][..]).expect("dir");
            }
            E::H(p, to) => {
                h.set_entry_type(tar::EntryType::Link);
                b.append_link(&mut h, p, to).expect("link");
            }
            E::W(p) => {
                let (dir, name) = p.rsplit_once('/').map_or(("", p.as_str()), |(d, n)| (d, n));
                let w = if dir.is_empty() {
                    format!(".wh.{name}")
                } else {
                    format!("{dir}/.wh.{name}")
                };
                h.set_entry_type(tar::EntryType::Regular);
                b.append_data(&mut h, w, &[][..]).expect("whiteout");
            }
            E::O(d) => {
                h.set_entry_type(tar::EntryType::Regular);
                b.append_data(&mut h, format!("{d}/.wh..wh..opq"), &[][..])
                    .expect("opaque");
            }
        }
    }
    LayerIndex::from_tar(b.into_inner().expect("tar").as_slice(), |_| {}).expect("layer")
}

fn f(p: &str, n: usize) -> E {
    E::F(p.into(), n)
}

fn waste_of(layers: &[Vec<E>]) -> (Waste, FsIndex) {
    let ls: Vec<LayerIndex> = layers.iter().map(|l| layer(l)).collect();
    let refs: Vec<&LayerIndex> = ls.iter().collect();
    let mut c = Composer::default();
    for l in &refs {
        c.push(l);
    }
    (c.finish_with_waste().1, compose(&refs))
}

/// (path, size, layer, hidden_by, how) of each hidden copy.
fn copies(w: &Waste) -> Vec<(String, u64, u16, u16, How)> {
    let mut v: Vec<_> = w
        .hidden
        .iter()
        .map(|h| (escape(&h.path), h.size, h.layer, h.hidden_by, h.how))
        .collect();
    v.sort_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2)));
    v
}

#[test]
fn an_overwritten_file_wastes_its_old_copy_not_the_new_one() {
    let (w, _) = waste_of(&[vec![f("app", 1000)], vec![f("app", 300)]]);
    assert_eq!(copies(&w), [("app".into(), 1000, 0, 1, How::Overwritten)]);
    let t = w.totals(0);
    assert_eq!((t.stored_bytes, t.wasted_bytes), (1300, 1000));
    assert!((t.efficiency - 300.0 / 1300.0).abs() < 1e-12);
}

#[test]
fn a_file_rewritten_three_times_wastes_each_earlier_copy_once() {
    let (w, ix) = waste_of(&[
        vec![f("etc/conf", 10)],
        vec![f("etc/conf", 20)],
        vec![f("etc/conf", 40)],
        vec![f("etc/conf", 80)],
    ]);
    assert_eq!(w.wasted_bytes(), 10 + 20 + 40);
    let files = w.files(Some(&ix), 0);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].copies.len(), 3);
    assert_eq!(files[0].visible, Some((Some(3), 80)));
    assert_eq!(w.hidden_by_layer(), [0, 10, 20, 40]);
    assert_eq!(w.lost_by_layer(), [10, 20, 40, 0]);
}

#[test]
fn a_deleted_file_and_a_deleted_directory_waste_all_they_held() {
    let (w, ix) = waste_of(&[
        vec![
            f("big.tar", 500),
            E::D("src".into()),
            f("src/a.c", 7),
            f("src/b.c", 9),
        ],
        vec![E::W("big.tar".into()), E::W("src".into())],
    ]);
    assert_eq!(
        copies(&w),
        [
            ("big.tar".into(), 500, 0, 1, How::Deleted),
            ("src/a.c".into(), 7, 0, 1, How::Deleted),
            ("src/b.c".into(), 9, 0, 1, How::Deleted),
        ]
    );
    assert_eq!(w.files(Some(&ix), 0)[0].visible, None, "gone");
}

#[test]
fn an_opaque_directory_wastes_what_was_below_it() {
    let (w, _) = waste_of(&[
        vec![
            E::D("cache".into()),
            f("cache/a", 100),
            f("cache/b", 50),
            f("keep", 1),
        ],
        vec![E::D("cache".into()), E::O("cache".into()), f("cache/c", 5)],
    ]);
    assert_eq!(
        copies(&w),
        [
            ("cache/a".into(), 100, 0, 1, How::OpaqueDir),
            ("cache/b".into(), 50, 0, 1, How::OpaqueDir),
        ]
    );
}

#[test]
fn a_file_replacing_a_directory_wastes_what_the_directory_held() {
    let (w, _) = waste_of(&[vec![E::D("d".into()), f("d/x", 30)], vec![f("d", 2)]]);
    assert_eq!(copies(&w), [("d/x".into(), 30, 0, 1, How::ReplacedDir)]);
}

#[test]
fn a_hard_link_keeps_its_bytes_until_every_name_is_gone() {
    // Layer 0 stores 64 bytes once, under two names.
    let base = vec![f("a", 64), E::H("b".into(), "a".into())];
    // Overwriting one name: the bytes still show under the other.
    let (w, _) = waste_of(&[base.clone(), vec![f("a", 1)]]);
    assert_eq!(w.wasted_bytes(), 0);
    // Then the other goes too: the 64 bytes are wasted, once.
    let (w, _) = waste_of(&[base.clone(), vec![f("a", 1)], vec![E::W("b".into())]]);
    assert_eq!(copies(&w), [("b".into(), 64, 0, 2, How::Deleted)]);
    // Both names at once: once, not twice.
    let (w, _) = waste_of(&[base, vec![E::W("a".into()), E::W("b".into())]]);
    assert_eq!(w.wasted_bytes(), 64);
}

#[test]
fn the_base_image_waste_is_counted_apart() {
    let (w, ix) = waste_of(&[
        vec![f("os/lib", 100)],
        vec![f("os/lib", 120)], // the base image rewrote its own file
        vec![f("app", 10)],
        vec![E::W("os/lib".into()), f("app", 11)], // the Dockerfile's RUN
    ]);
    let t = w.totals(2);
    assert_eq!((t.base_wasted_bytes, t.user_wasted_bytes), (100, 130));
    assert_eq!(t.user_bytes, 21);
    assert!((t.user_wasted_ratio - 130.0 / 21.0).abs() < 1e-12);
    let files = w.files(Some(&ix), 2);
    assert_eq!(files[0].shown_path(), "/os/lib");
    assert!(!files[0].base, "one copy was hidden by the Dockerfile");
    let (w, ix) = waste_of(&[
        vec![f("os/lib", 100)],
        vec![f("os/lib", 120)],
        vec![f("app", 10)],
    ]);
    assert!(w.files(Some(&ix), 2)[0].base);
}

#[test]
fn nothing_stored_is_fully_efficient() {
    let t = Waste::default().totals(0);
    assert_eq!((t.efficiency, t.user_wasted_ratio), (1.0, 0.0));
}

#[test]
fn the_composer_counts_what_compose_hides() {
    let layers = [
        vec![f("a", 3), f("b", 4)],
        vec![f("a", 5)],
        vec![E::W("b".into())],
    ];
    let ls: Vec<LayerIndex> = layers.iter().map(|l| layer(l)).collect();
    let mut c = Composer::default();
    for l in &ls {
        c.push(l);
    }
    assert_eq!(c.waste().wasted_bytes(), 7);
    let (ix, w) = c.finish_with_waste();
    assert_eq!(ix.len(), 2, "the root and a");
    assert_eq!(w.layer_bytes, [7, 5, 0]);
}

fn name() -> impl Strategy<Value = String> {
    proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c")], 1..4)
        .prop_map(|c| c.join("/"))
}

fn entry() -> impl Strategy<Value = E> {
    prop_oneof![
        4 => (name(), 0usize..50).prop_map(|(p, n)| E::F(p, n)),
        2 => name().prop_map(E::D),
        1 => name().prop_map(E::W),
        1 => name().prop_map(E::O),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Bytes are conserved: every copy a layer stored is either the one the image shows or
    /// hidden, exactly once.
    #[test]
    fn stored_is_visible_plus_wasted(layers in proptest::collection::vec(proptest::collection::vec(entry(), 0..6), 1..5)) {
        let ls: Vec<LayerIndex> = layers.iter().map(|l| layer(l)).collect();
        let refs: Vec<&LayerIndex> = ls.iter().collect();
        let (ix, w) = {
            let mut c = Composer::default();
            for l in &refs {
                c.push(l);
            }
            c.finish_with_waste()
        };
        let visible: u64 = ix.entries().filter(|e| e.kind() != crate::Kind::Dir).map(|e| e.size()).sum();
        prop_assert_eq!(w.stored_bytes(), visible + w.wasted_bytes());
        // Each (layer, path) copy with bytes is hidden at most once.
        let mut seen = std::collections::HashSet::new();
        for h in &w.hidden {
            prop_assert!(h.layer < h.hidden_by);
            prop_assert!(seen.insert((h.layer, h.path.clone())), "{} twice", escape(&h.path));
        }
        let t = w.totals(1);
        prop_assert!((0.0..=1.0).contains(&t.efficiency));
        prop_assert_eq!(t.base_wasted_bytes + t.user_wasted_bytes, t.wasted_bytes);
        prop_assert_eq!(w.files(Some(&ix), 1).iter().map(|f| f.wasted_bytes).sum::<u64>(), t.wasted_bytes);
    }
}
