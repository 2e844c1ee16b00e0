use super::*;
use crate::testutil::{E, dir, file, index, symlink};
use proptest::prelude::*;

fn listing(d: &Diff, l: &FsIndex, r: &FsIndex) -> Vec<String> {
    d.entries()
        .iter()
        .map(|e| {
            let aspects: Vec<&str> = e.aspects.names().collect();
            format!(
                "{} {} {}",
                e.status.mark(),
                String::from_utf8_lossy(e.path(l, r)),
                aspects.join(",")
            )
            .trim_end()
            .to_string()
        })
        .collect()
}

#[test]
fn merges_two_trees_in_path_order() {
    let builder = index(&[
        dir("src"),
        file("src/main.c", 100, 1),
        file("src/main.o", 50, 2),
        file("app", 10, 3),
        symlink("lnk", "app"),
        file("same", 5, 9),
    ]);
    let mut moded = file("same", 5, 9);
    moded.mode = 0o755;
    let mut owned = file("app", 10, 3);
    owned.uid = 1000;
    let release = index(&[
        owned,
        symlink("lnk", "other"),
        moded,
        file("src", 7, 4),
        file("etc/conf", 20, 5),
    ]);
    let d = Diff::compute(&builder, &release);
    assert_eq!(
        listing(&d, &builder, &release),
        vec![
            "~ app owner",
            "+ etc",
            "+ etc/conf",
            "~ lnk link",
            "~ same mode",
            "~ src mode,type",
            "- src/main.c",
            "- src/main.o",
        ]
    );
    let t = d.totals();
    assert_eq!((t.added, t.removed, t.changed, t.unchanged), (2, 2, 4, 0));
    assert_eq!(t.added_bytes, 20);
    assert_eq!(t.removed_bytes, 150);
    assert_eq!(t.left_bytes, 165);
    assert_eq!(t.right_bytes, 42);
    assert_eq!(t.byte_delta(), 42 - 165);
}

#[test]
fn directory_rollups_count_their_subtree() {
    let a = index(&[file("d/x", 10, 1), file("d/sub/y", 5, 2), file("top", 1, 1)]);
    let b = index(&[
        file("d/x", 12, 7),
        file("d/sub/y", 5, 2),
        file("d/sub/z", 30, 3),
        file("top", 1, 1),
    ]);
    let diff = Diff::compute(&a, &b);
    let roll = |p: &str| {
        let e = diff
            .entries()
            .iter()
            .find(|e| e.path(&a, &b) == p.as_bytes())
            .expect("entry");
        *diff.rollup(e).expect("a directory")
    };
    let d = roll("d");
    assert_eq!((d.added, d.changed, d.unchanged), (1, 1, 2));
    assert_eq!((d.left_bytes, d.right_bytes, d.byte_delta()), (15, 47, 32));
    let sub = roll("d/sub");
    assert_eq!((sub.added, sub.unchanged, sub.added_bytes), (1, 1, 30));
    let t = diff.totals();
    assert_eq!((t.added, t.changed, t.unchanged), (1, 1, 4));
    assert!(!diff.is_empty());
    assert!(
        diff.entries()
            .iter()
            .find(|e| e.path(&a, &b) == b"top")
            .and_then(|e| diff.rollup(e))
            .is_none()
    );
}

#[test]
fn same_size_other_bytes_is_a_content_change() {
    let a = index(&[file("f", 4, 1)]);
    let b = index(&[file("f", 4, 2)]);
    let d = Diff::compute(&a, &b);
    assert_eq!(listing(&d, &a, &b), vec!["~ f content"]);
}

#[test]
fn empty_sides() {
    let empty = index(&[]);
    let one = index(&[file("a/b", 3, 1)]);
    assert!(Diff::compute(&empty, &empty).entries().is_empty());
    let d = Diff::compute(&empty, &one);
    assert_eq!(listing(&d, &empty, &one), vec!["+ a", "+ a/b"]);
    assert_eq!(d.totals().added_bytes, 3);
}

fn arb_index() -> impl Strategy<Value = FsIndex> {
    let name = prop::sample::select(vec!["a", "b", "a.b", "a-b", "c", "b0"]);
    let path = prop::collection::vec(name, 1..4).prop_map(|v| v.join("/"));
    let entry = (path, 0u8..4, 0u64..50, 0u64..3, prop::bool::ANY);
    prop::collection::vec(entry, 0..40).prop_map(|v| {
        let owned: Vec<(String, u8, u64, u64, bool)> = v;
        let es: Vec<E<'_>> = owned
            .iter()
            .map(|(p, k, size, hash, exec)| {
                let mut e = match k {
                    0 => dir(p),
                    3 => symlink(p, if *exec { "x" } else { "y" }),
                    _ => file(p, *size, *hash),
                };
                if *exec && *k != 3 {
                    e.mode = 0o755;
                }
                e
            })
            .collect();
        index(&es)
    })
}

proptest! {
    #[test]
    fn an_index_against_itself_is_empty(a in arb_index()) {
        let d = Diff::compute(&a, &a);
        prop_assert!(d.is_empty());
        prop_assert_eq!(d.entries().len(), a.len() - 1);
        prop_assert_eq!(d.totals().left_bytes, a.root().total());
    }

    #[test]
    fn swapping_sides_swaps_added_and_removed(a in arb_index(), b in arb_index()) {
        let ab = Diff::compute(&a, &b);
        let ba = Diff::compute(&b, &a);
        prop_assert_eq!(ab.entries().len(), ba.entries().len());
        for (x, y) in ab.entries().iter().zip(ba.entries()) {
            let swapped = match x.status {
                Status::Added => Status::Removed,
                Status::Removed => Status::Added,
                s => s,
            };
            prop_assert_eq!(swapped, y.status);
            prop_assert_eq!(x.aspects, y.aspects);
            prop_assert_eq!((x.left, x.right), (y.right, y.left));
        }
        let (t, u) = (ab.totals(), ba.totals());
        prop_assert_eq!((t.added, t.added_bytes), (u.removed, u.removed_bytes));
        prop_assert_eq!(t.byte_delta(), -u.byte_delta());
    }

    #[test]
    fn totals_are_consistent(a in arb_index(), b in arb_index()) {
        let d = Diff::compute(&a, &b);
        let t = d.totals();
        prop_assert_eq!(t.left_bytes, a.root().total());
        prop_assert_eq!(t.right_bytes, b.root().total());
        prop_assert_eq!(
            (t.added + t.removed + t.changed + t.unchanged) as usize,
            d.entries().len()
        );
        prop_assert_eq!(t.added as usize + t.changed as usize + t.unchanged as usize, b.len() - 1);
        prop_assert_eq!(t.removed as usize + t.changed as usize + t.unchanged as usize, a.len() - 1);
        // Every directory's roll-up is the sum over its own children.
        for (k, e) in d.entries().iter().enumerate() {
            let Some(r) = d.rollup(e) else { continue };
            let p = e.path(&a, &b);
            let below = d.entries()[k + 1..]
                .iter()
                .take_while(|c| {
                    let cp = c.path(&a, &b);
                    cp.len() > p.len() && cp[p.len()] == b'/' && cp.starts_with(p)
                })
                .count();
            prop_assert_eq!(r.added + r.removed + r.changed + r.unchanged, below as u32);
        }
    }
}

#[test]
fn empty_runtime_mount_points_are_no_change() {
    // BuildKit's first RUN on a base without them leaves empty /dev, /proc and /sys.
    let builder = index(&[
        dir("dev"),
        dir("proc"),
        dir("sys"),
        dir("src"),
        file("src/a", 1, 1),
        dir("srv/proc"),
    ]);
    // A /dev that holds something is a real directory, on either side.
    let release = index(&[dir("dev"), file("dev/null", 0, 2), dir("srv/proc")]);
    let d = Diff::compute(&builder, &release);
    assert_eq!(
        listing(&d, &builder, &release),
        [
            "= dev",
            "+ dev/null",
            "- src",
            "- src/a",
            "= srv",
            "= srv/proc"
        ]
    );
    assert_eq!(d.totals().removed, 2);
    let d = Diff::compute(&release, &builder);
    assert_eq!(d.totals().added, 2, "src and src/a only");
    let e = builder.get(builder.lookup(b"proc").expect("proc"));
    assert!(e.is_runtime_mount_point());
    let nested = builder.get(builder.lookup(b"srv/proc").expect("srv/proc"));
    assert!(!nested.is_runtime_mount_point());
}
