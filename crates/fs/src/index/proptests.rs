//! Arbitrary entry lists (names of any bytes, every kind, links between them, hostile
//! `..` and `/`) through the tar reader into the index, checked against a plain model:
//! never a panic, paths unique, sorted and normalized, sizes summed right, links marked.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::tests::tar_of;
use super::*;

/// The reference: `..` pops, `.` and empty components vanish, the root is the floor.
fn model_normalize(raw: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in raw.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join(&b'/')
}

fn name_byte() -> impl Strategy<Value = u8> {
    // No NUL: a tar name ends there. Everything else a hostile image may hold.
    prop_oneof![
        4 => Just(b'a'),
        2 => Just(b'b'),
        3 => Just(b'/'),
        3 => Just(b'.'),
        1 => Just(0xffu8),
        1 => Just(b'\n'),
        1 => Just(0x1bu8),
        1 => 1u8..=255,
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        4 => Just(Kind::File),
        2 => Just(Kind::Dir),
        1 => Just(Kind::Symlink),
        2 => Just(Kind::Hardlink),
        1 => Just(Kind::Other),
    ]
}

/// (name, kind, content or link target; a link may name another entry of the list).
type Entry = (Vec<u8>, Kind, Vec<u8>);

fn entries() -> impl Strategy<Value = Vec<Entry>> {
    proptest::collection::vec(
        (
            proptest::collection::vec(name_byte(), 1..24),
            kind(),
            proptest::collection::vec(any::<u8>(), 0..40),
            any::<prop::sample::Index>(),
            any::<bool>(),
        ),
        1..40,
    )
    .prop_map(|raw| {
        let names: Vec<Vec<u8>> = raw.iter().map(|r| r.0.clone()).collect();
        raw.into_iter()
            .map(|(name, kind, data, pick, to_entry)| {
                let data = match kind {
                    Kind::Symlink | Kind::Hardlink if to_entry => pick.get(&names).clone(),
                    Kind::Symlink | Kind::Hardlink => {
                        data.into_iter().filter(|&b| b != 0).take(20).collect()
                    }
                    _ => data,
                };
                (name, kind, data)
            })
            .collect()
    })
}

fn normalized(p: &[u8]) -> bool {
    p.is_empty()
        || p.split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_entry_list_indexes_like_the_model(list in entries()) {
        let rows: Vec<(&[u8], Kind, &[u8], u32)> = list
            .iter()
            .map(|(n, k, d)| (n.as_slice(), *k, d.as_slice(), 0o4755))
            .collect();
        let tar = tar_of(&rows);
        let ix = FsIndex::from_tar(tar.as_slice()).expect("a well-formed tar indexes");

        // The model: last entry per normalized path wins; the root itself is never an entry.
        let mut model: BTreeMap<Vec<u8>, &Entry> = BTreeMap::new();
        for e in &list {
            let p = model_normalize(&e.0);
            if !p.is_empty() {
                model.insert(p, e);
            }
        }
        let mut seen = std::collections::HashSet::new();
        let mut prev: Option<&[u8]> = None;
        for e in ix.entries() {
            let p = e.path();
            prop_assert!(normalized(p), "{}", escape(p));
            prop_assert!(seen.insert(p.to_vec()), "duplicate {}", escape(p));
            if let Some(q) = prev {
                prop_assert_eq!(path_cmp(q, p), std::cmp::Ordering::Less);
            }
            prev = Some(p);
            match model.get(p) {
                Some((_, k, d)) => {
                    prop_assert_eq!(e.kind(), *k, "{}", escape(p));
                    let size = if *k == Kind::File { d.len() as u64 } else { 0 };
                    prop_assert_eq!(e.size(), size);
                    if *k == Kind::Hardlink {
                        let target = model_normalize(d);
                        // An empty link field is no link at all.
                        let want = (!d.is_empty()).then_some(target.as_slice());
                        prop_assert_eq!(e.link(), want);
                        let missing = target == p
                            || model.get(&target).is_none_or(|t| t.1 == Kind::Dir);
                        prop_assert_eq!(e.link_missing(), missing, "{}", escape(p));
                    }
                }
                // Not named by the stream: an ancestor it implied, a directory.
                None => {
                    prop_assert_eq!(e.kind(), Kind::Dir);
                    prop_assert!(model.keys().any(|m| m.starts_with(p) && m.get(p.len()) == Some(&b'/')));
                }
            }
            prop_assert_eq!(ix.lookup(p), Some(e.id));
        }
        for p in model.keys() {
            prop_assert!(seen.contains(p), "lost {}", escape(p));
        }
        let files: u64 = model
            .values()
            .filter(|(_, k, _)| *k == Kind::File)
            .map(|(_, _, d)| d.len() as u64)
            .sum();
        prop_assert_eq!(ix.root().total(), files);
        prop_assert_eq!(ix.root().count() as usize, ix.len());
        // The cache's form gives the same index back.
        let back = codec::decode(&codec::encode(&ix)).expect("decode");
        prop_assert_eq!(back.len(), ix.len());
    }
}
