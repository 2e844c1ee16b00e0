//! Any layers (names from a small alphabet so paths collide, whiteouts, opaque markers,
//! files replacing directories and back) composed by [`compose`] against a plain model of the
//! overlay: a map from path to entry, each layer's whiteouts and opaque directories removing
//! from what is underneath, each non-directory removing what was below it.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::layer::{LayerIndex, compose};
use super::*;

#[derive(Debug, Clone)]
enum Op {
    File(Vec<u8>, u8),
    Dir(Vec<u8>),
    Whiteout(Vec<u8>),
    Opaque(Vec<u8>),
}

fn path() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("a.b")], 1..4)
        .prop_map(|c| c.join("/").into_bytes())
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (path(), 0u8..4).prop_map(|(p, n)| Op::File(p, n)),
        2 => path().prop_map(Op::Dir),
        1 => path().prop_map(Op::Whiteout),
        1 => path().prop_map(Op::Opaque),
    ]
}

fn parent(p: &[u8]) -> Option<&[u8]> {
    p.iter().rposition(|&b| b == b'/').map(|i| &p[..i])
}

fn under(p: &[u8], dir: &[u8]) -> bool {
    p.len() > dir.len() && p[dir.len()] == b'/' && p.starts_with(dir)
}

/// One layer's tar: its parents named as directories first, as the engine writes a layer.
fn tar_of(ops: &[Op]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut named = std::collections::BTreeSet::new();
    let add = |b: &mut tar::Builder<Vec<u8>>, p: &[u8], dir: bool, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_mode(if dir { 0o700 } else { 0o640 });
        h.set_size(data.len() as u64);
        h.set_entry_type(if dir {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        let name = String::from_utf8(p.to_vec()).expect("ascii");
        b.append_data(&mut h, name, data).expect("append");
    };
    for o in ops {
        let (p, leaf): (&[u8], Option<(bool, Vec<u8>)>) = match o {
            Op::File(p, n) => (p, Some((false, vec![b'x'; *n as usize]))),
            Op::Dir(p) => (p, Some((true, Vec::new()))),
            Op::Whiteout(p) => (p, None),
            Op::Opaque(p) => (p, None),
        };
        let mut dirs = Vec::new();
        let mut q = parent(p);
        while let Some(d) = q {
            dirs.push(d.to_vec());
            q = parent(d);
        }
        for d in dirs.into_iter().rev() {
            if named.insert(d.clone()) {
                add(&mut b, &d, true, &[]);
            }
        }
        match (o, leaf) {
            (_, Some((dir, data))) => add(&mut b, p, dir, &data),
            (Op::Whiteout(_), None) => {
                let name = &p[parent(p).map_or(0, |d| d.len() + 1)..];
                let mut w = parent(p).map(|d| [d, b"/"].concat()).unwrap_or_default();
                w.extend_from_slice(b".wh.");
                w.extend_from_slice(name);
                add(&mut b, &w, false, &[]);
            }
            _ => {
                if named.insert(p.to_vec()) {
                    add(&mut b, p, true, &[]);
                }
                add(&mut b, &[p, &b"/.wh..wh..opq"[..]].concat(), false, &[]);
            }
        }
    }
    b.into_inner().expect("tar")
}

/// The overlay by hand: path -> (is dir, size, mode).
fn model(layers: &[Vec<Op>]) -> BTreeMap<Vec<u8>, (bool, u64, u32)> {
    let mut fs: BTreeMap<Vec<u8>, (bool, u64, u32)> = BTreeMap::new();
    for ops in layers {
        // What this layer's tar ends up saying for each path (the last entry wins).
        let idx = LayerIndex::from_tar(tar_of(ops).as_slice(), |_| {}).expect("layer");
        let summary = idx.summary();
        let lower = fs.clone();
        let mut next = lower.clone();
        for gone in &summary.deleted {
            next.retain(|p, _| p != gone && !under(p, gone));
        }
        for o in &summary.opaque {
            next.retain(|p, _| !under(p, o));
        }
        let one = compose(&[&idx]);
        for (i, p) in summary.added.iter().enumerate() {
            let e = one.get(one.lookup(p).expect("in its own layer"));
            let dir = e.kind() == Kind::Dir;
            if !dir {
                next.retain(|q, _| !under(q, p));
            }
            let size = summary.sizes.get(i).copied().flatten().unwrap_or(0);
            next.insert(p.clone(), (dir, size, e.mode()));
        }
        fs = next;
    }
    fs
}

/// Each layer indexed, and their composition.
fn composed(layers: &[Vec<Op>]) -> (Vec<LayerIndex>, FsIndex) {
    let indexes: Vec<LayerIndex> = layers
        .iter()
        .map(|ops| LayerIndex::from_tar(tar_of(ops).as_slice(), |_| {}).expect("layer"))
        .collect();
    let refs: Vec<&LayerIndex> = indexes.iter().collect();
    let ix = compose(&refs);
    (indexes, ix)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn compose_is_the_overlay(layers in proptest::collection::vec(proptest::collection::vec(op(), 0..6), 1..4)) {
        let (_, ix) = composed(&layers);
        let want = model(&layers);
        for (p, (dir, size, mode)) in &want {
            let id = ix.lookup(p);
            prop_assert!(id.is_some(), "{} missing", escape(p));
            let e = ix.get(id.unwrap_or(ROOT));
            prop_assert_eq!((e.kind() == Kind::Dir, e.size(), e.mode()), (*dir, *size, *mode), "{}", escape(p));
        }
        for e in ix.entries() {
            // Anything else is a directory some kept entry needed (never a file).
            prop_assert!(
                want.contains_key(e.path())
                    || (e.kind() == Kind::Dir && want.keys().any(|k| under(k, e.path()))),
                "{} should be gone", escape(e.path())
            );
        }
    }

    #[test]
    fn each_entry_knows_the_layer_that_wrote_it(layers in proptest::collection::vec(proptest::collection::vec(op(), 0..6), 1..4)) {
        let (indexes, ix) = composed(&layers);
        // The last layer whose tar names a path wrote it; a directory no layer named, none.
        let mut last: std::collections::HashMap<Vec<u8>, u16> = Default::default();
        for (i, l) in indexes.iter().enumerate() {
            for p in l.summary().added {
                last.insert(p, i as u16);
            }
        }
        for e in ix.entries() {
            prop_assert_eq!(e.layer(), last.get(e.path()).copied(), "{}", escape(e.path()));
        }
        // Kept on disk and read back, the numbers stay.
        let back = crate::index::codec::decode(&crate::index::codec::encode(&ix)).expect("decode");
        prop_assert!(ix.entries().zip(back.entries()).all(|(a, b)| a.layer() == b.layer()));
    }
}
