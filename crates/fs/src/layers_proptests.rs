//! Arbitrary layers (names of any bytes, whiteouts, opaque markers) through the `docker
//! save` reader and the attribution: never a panic, every path normalized, each entry
//! attributed to the last layer that wrote it.

use std::collections::HashMap;

use proptest::prelude::*;

use super::tests::{gzip, tar_with};
use super::*;
use crate::Kind;
use crate::index::tests::tar_of;

fn normalized(p: &[u8]) -> bool {
    p.is_empty()
        || p.split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

fn name() -> impl Strategy<Value = Vec<u8>> {
    let comp = prop_oneof![
        4 => proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'b'), 1u8..=255], 1..4),
        1 => Just(b"..".to_vec()),
        1 => Just(b".".to_vec()),
        1 => Just(b".wh.a".to_vec()),
        1 => Just(b".wh..".to_vec()),
        1 => Just(b".wh...".to_vec()),
        1 => Just(b".wh..wh..opq".to_vec()),
    ];
    (any::<bool>(), proptest::collection::vec(comp, 1..4)).prop_map(|(abs, comps)| {
        let mut p = if abs { b"/".to_vec() } else { Vec::new() };
        p.extend(comps.join(&b'/'));
        p
    })
}

/// A raw (not `tar`-crate-checked) layer of empty files.
fn layer_tar(names: &[Vec<u8>]) -> Vec<u8> {
    let rows: Vec<(&[u8], Kind, &[u8], u32)> = names
        .iter()
        .map(|n| (n.as_slice(), Kind::File, &b""[..], 0o644))
        .collect();
    tar_of(&rows)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_layers_read_back_normalized_and_attributed(
        layers in proptest::collection::vec(proptest::collection::vec(name(), 0..8), 1..5),
        zipped in any::<bool>(),
    ) {
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        let mut order = Vec::new();
        for (i, l) in layers.iter().enumerate() {
            let t = layer_tar(l);
            let path = format!("l{i}/layer.tar");
            files.push((path.clone(), if zipped { gzip(&t) } else { t }));
            order.push(format!("\"{path}\""));
        }
        let manifest = format!(r#"[{{"Config":"c.json","Layers":[{}]}}]"#, order.join(","));
        files.push(("c.json".into(), br#"{"history":[]}"#.to_vec()));
        files.push(("manifest.json".into(), manifest.into_bytes()));
        let rows: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (p.as_str(), d.as_slice())).collect();
        let save = tar_with(&rows);
        let read = read_save(save.as_slice()).expect("a well-formed save reads");
        prop_assert_eq!(read.layers.len(), layers.len());
        for l in &read.layers {
            prop_assert!(!l.unreadable);
            for p in l.added.iter().chain(&l.deleted).chain(&l.opaque) {
                prop_assert!(normalized(p), "{}", crate::escape(p));
            }
            prop_assert!(l.added.iter().chain(&l.deleted).all(|p| !p.is_empty()));
        }
        // The flattened filesystem: every layer's files, whiteouts left out.
        let all: Vec<Vec<u8>> = read.layers.iter().flat_map(|l| l.added.clone()).collect();
        let ix = FsIndex::from_tar(layer_tar(&all).as_slice()).expect("index");
        let mut last: HashMap<&[u8], u16> = HashMap::new();
        for (i, l) in read.layers.iter().enumerate() {
            for p in &l.added {
                last.insert(p, i as u16);
            }
        }
        let attr = read.attribute(&ix);
        prop_assert_eq!(attr.len(), ix.len());
        for e in ix.entries() {
            prop_assert_eq!(attr[e.id as usize], last.get(e.path()).copied());
        }
    }

    #[test]
    fn any_bytes_into_the_save_reader_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..3000),
        keep in 0usize..3000,
    ) {
        let _ = read_save(bytes.as_slice());
        // A real save stream cut and damaged anywhere.
        let mut save = tar_with(&[("l/layer.tar", layer_tar(&[b"a/../b".to_vec()]).as_slice())]);
        let at = keep % save.len();
        save[at] ^= 0xa5;
        let _ = read_save(&save[..keep.min(save.len())]);
    }
}
