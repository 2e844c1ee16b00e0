use super::*;
use crate::index::layer::compose;
use crate::layers::tests::{gzip, tar_with, zstd};

const CONFIG: &str = r#"{"rootfs":{"type":"layers","diff_ids":["sha256:d0","sha256:d1"]},
    "history":[
    {"created_by":"/bin/sh -c #(nop) ADD file:abc in / "},
    {"created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true},
    {"created_by":"RUN /bin/sh -c rm -rf /src # buildkit"}]}"#;

fn layers() -> (Vec<u8>, Vec<u8>) {
    let l0 = tar_with(&[("a", b"0"), ("src/main.c", b"int")]);
    let l1 = tar_with(&[("a", b"11"), (".wh.src", b"")]);
    (l0, l1)
}

/// A classic save: the layers before the manifest, in an order that is not the image's.
fn classic() -> Vec<u8> {
    let (l0, l1) = layers();
    tar_with(&[
        ("bb/layer.tar", &l1),
        ("aa/layer.tar", &l0),
        ("cfg.json", CONFIG.as_bytes()),
        (
            "manifest.json",
            br#"[{"Config":"cfg.json","Layers":["aa/layer.tar","bb/layer.tar"]}]"#,
        ),
    ])
}

fn indexed(r: &LayerRead) -> &LayerIndex {
    match r {
        LayerRead::Indexed(index) => index,
        other => panic!("not indexed: {other:?}"),
    }
}

fn check(read: &SaveRead) {
    assert_eq!(read.layers.len(), 2);
    assert_eq!(read.layers[0].0.as_deref(), Some("sha256:d0"));
    assert_eq!(read.created_by[1].as_deref(), Some("RUN rm -rf /src"));
    let ix = compose(&[indexed(&read.layers[0].1), indexed(&read.layers[1].1)]);
    let paths: Vec<_> = ix
        .entries()
        .map(|e| (e.path().to_vec(), e.size()))
        .collect();
    assert_eq!(paths, [(b"a".to_vec(), 2)]);
}

#[test]
fn classic_layout_composes_in_manifest_order() {
    let read = read_with(classic().as_slice(), |_, _| None).expect("read");
    check(&read);
}

#[test]
fn oci_layout_with_compressed_layers() {
    for compress in [gzip as fn(&[u8]) -> Vec<u8>, zstd] {
        let (l0, l1) = layers();
        let save = tar_with(&[
            ("blobs/sha256/cc", CONFIG.as_bytes()),
            ("blobs/sha256/11", &compress(&l1)),
            ("blobs/sha256/00", &compress(&l0)),
            ("index.json", br#"{"schemaVersion":2}"#),
            (
                "manifest.json",
                br#"[{"Config":"blobs/sha256/cc","Layers":["blobs/sha256/00","blobs/sha256/11"]}]"#,
            ),
        ]);
        check(&read_with(save.as_slice(), |_, _| None).expect("read"));
    }
}

#[test]
fn known_layers_are_read_through_and_a_wrong_guess_is_caught() {
    let (l0, _) = layers();
    let d0 = format!("sha256:{}", hex::encode(Sha256::digest(&l0)));
    let guess = |id: &str, verify| {
        let id = id.to_string();
        move |p: &[u8], _| {
            (p == b"aa/layer.tar").then(|| Known {
                diff_id: id.clone(),
                verify,
            })
        }
    };
    let read = read_with(classic().as_slice(), guess(&d0, true)).expect("read");
    assert_eq!(read.layers[0].1, LayerRead::Skipped(d0.clone()));
    assert!(matches!(read.layers[1].1, LayerRead::Indexed(_)));
    let wrong = "sha256:00";
    let read = read_with(classic().as_slice(), guess(wrong, true)).expect("read");
    assert_eq!(read.layers[0].1, LayerRead::Mismatch);
    // An exact name (a content-addressed blob) is trusted without reading its digest.
    let read = read_with(classic().as_slice(), guess(wrong, false)).expect("read");
    assert_eq!(read.layers[0].1, LayerRead::Skipped(wrong.into()));
}

#[test]
fn a_layer_missing_from_the_stream_is_unreadable_and_garbage_never_panics() {
    let save = tar_with(&[
        ("cfg.json", CONFIG.as_bytes()),
        (
            "manifest.json",
            br#"[{"Config":"cfg.json","Layers":["aa/layer.tar"]}]"#,
        ),
    ]);
    let read = read_with(save.as_slice(), |_, _| None).expect("read");
    assert_eq!(read.layers[0].1, LayerRead::Unreadable);
    let _ = read_with(&b"not a tar"[..], |_, _| None);
    let cut = classic();
    let _ = read_with(&cut[..cut.len() / 2], |_, _| None);
}

/// Reads a save stream, each parsed layer kept in memory.
fn read_with(
    save: &[u8],
    known: impl FnMut(&[u8], u64) -> Option<Known>,
) -> Result<SaveRead, crate::IndexError> {
    read_save_indexed(save, known, |_| {}, LayerRead::Indexed)
}

#[test]
fn parsed_layers_can_wait_on_disk_and_come_back_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = crate::layer_cache::LayerCache::new(Some(dir.path().to_path_buf()), 1 << 20);
    let spooled = read_save_indexed(
        classic().as_slice(),
        |_, _| None,
        |_| {},
        |ix| LayerRead::Spooled(Arc::new(cache.spool(&ix).expect("spooled"))),
    )
    .expect("read");
    let kept = read_with(classic().as_slice(), |_, _| None).expect("read");
    for ((_, s), (_, k)) in spooled.layers.iter().zip(&kept.layers) {
        let (LayerRead::Spooled(s), LayerRead::Indexed(k)) = (s, k) else {
            panic!("{s:?} / {k:?}");
        };
        assert_eq!(cache.unspool(s).as_ref(), Some(k));
    }
    // Kept under its diff id, the file moves; a spool dropped unkept leaves nothing.
    let LayerRead::Spooled(s0) = spooled.layers[0].1.clone() else {
        panic!("spooled")
    };
    drop(spooled);
    let s0 = Arc::try_unwrap(s0).expect("one owner");
    let id = format!("sha256:{}", "d0".repeat(32));
    cache.keep_spooled(&id, s0);
    let LayerRead::Indexed(k0) = &kept.layers[0].1 else {
        panic!("indexed")
    };
    assert_eq!(cache.get(&id).as_ref(), Some(k0));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .collect();
    assert!(
        left.iter()
            .all(|e| !e.file_name().to_string_lossy().starts_with('.')),
        "{left:?}"
    );
}
