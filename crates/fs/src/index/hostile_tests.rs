//! Hostile tar streams into the index: names that climb out of the root, devices and
//! special modes, hard links to nothing, link loops, an entry claiming 8 GiB.

use super::tests::tar_of;
use super::*;
use crate::format::mode_string;
use crate::testutil::LazyTar;

fn paths(ix: &FsIndex) -> Vec<Vec<u8>> {
    ix.entries().map(|e| e.path().to_vec()).collect()
}

/// One header of `kind` with the raw `name` bytes (no checks by the `tar` crate).
fn raw_header(name: &[u8], t: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(t);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h.as_gnu_mut().expect("gnu").name[..name.len()].copy_from_slice(name);
    h.set_cksum();
    h
}

fn tar_of_headers(headers: &[tar::Header]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for h in headers {
        b.append(h, std::io::empty()).expect("append");
    }
    b.into_inner().expect("tar")
}

#[test]
fn names_climbing_out_of_the_root_stop_at_the_root() {
    let tar = tar_of(&[
        (b"etc/passwd", Kind::File, b"root:x:0:0", 0o644),
        (b"../../etc/evil", Kind::File, b"evil", 0o644),
        (b"/abs/file", Kind::File, b"", 0o644),
        (b"a/../b", Kind::File, b"", 0o644),
        (b"x/y/../../../../z", Kind::File, b"", 0o644),
        (b"..", Kind::Dir, b"", 0o755),
        (b"../l", Kind::Hardlink, b"../../../etc/passwd", 0o644),
    ]);
    let ix = FsIndex::from_tar(tar.as_slice()).expect("index");
    for p in paths(&ix) {
        assert!(
            !p.split(|&c| c == b'/')
                .any(|c| c == b".." || c == b"." || c.is_empty()),
            "{}",
            escape(&p)
        );
    }
    let found = |p: &[u8]| ix.lookup(p).map(|id| ix.get(id).path().to_vec());
    assert_eq!(found(b"etc/evil"), Some(b"etc/evil".to_vec()));
    assert_eq!(found(b"abs/file"), Some(b"abs/file".to_vec()));
    assert_eq!(found(b"b"), Some(b"b".to_vec()));
    assert_eq!(found(b"z"), Some(b"z".to_vec()));
    // `x` and `x/y` were only ancestors of a name that left them: not made.
    assert_eq!(found(b"x"), None);
    // Asking with the hostile spelling finds the same entry, as the engine would.
    assert_eq!(ix.lookup(b"../etc/evil"), ix.lookup(b"etc/evil"));
    let l = ix.get(ix.lookup(b"l").expect("l"));
    assert_eq!(l.link(), Some(&b"etc/passwd"[..]));
    assert!(!l.link_missing());
    let passwd = ix.get(ix.lookup(b"etc/passwd").expect("passwd"));
    assert_eq!(l.hash(), passwd.hash());
}

#[test]
fn devices_fifos_and_special_bits_show_their_kind_and_mode() {
    let mut chr = raw_header(b"dev/null", tar::EntryType::Char, 0o666, 0);
    chr.set_device_major(1).expect("major");
    chr.set_device_minor(3).expect("minor");
    chr.set_cksum();
    let mut blk = raw_header(b"dev/sda", tar::EntryType::Block, 0o660, 0);
    blk.set_device_major(8).expect("major");
    blk.set_cksum();
    let tar = tar_of_headers(&[
        chr,
        blk,
        raw_header(b"run/fifo", tar::EntryType::Fifo, 0o644, 0),
        raw_header(b"bin/su", tar::EntryType::Regular, 0o4755, 0),
        raw_header(b"bin/wall", tar::EntryType::Regular, 0o2755, 0),
        raw_header(b"tmp", tar::EntryType::Directory, 0o1777, 0),
        raw_header(b"bin/odd", tar::EntryType::Regular, 0o7000, 0),
    ]);
    let ix = FsIndex::from_tar(tar.as_slice()).expect("index");
    let shown = |p: &[u8]| {
        let e = ix.get(ix.lookup(p).expect("entry"));
        (e.kind(), mode_string(e.kind(), e.mode()))
    };
    assert_eq!(shown(b"dev/null"), (Kind::Other, "crw-rw-rw-".into()));
    assert_eq!(shown(b"dev/sda"), (Kind::Other, "brw-rw----".into()));
    assert_eq!(shown(b"run/fifo"), (Kind::Other, "prw-r--r--".into()));
    assert_eq!(shown(b"bin/su"), (Kind::File, "-rwsr-xr-x".into()));
    assert_eq!(shown(b"bin/wall"), (Kind::File, "-rwxr-sr-x".into()));
    assert_eq!(shown(b"tmp"), (Kind::Dir, "drwxrwxrwt".into()));
    assert_eq!(shown(b"bin/odd"), (Kind::File, "---S--S--T".into()));
    // The disk cache keeps the type: a reopened index shows the same.
    let back = codec::decode(&codec::encode(&ix)).expect("decode");
    let e = back.get(back.lookup(b"dev/null").expect("entry"));
    assert_eq!(mode_string(e.kind(), e.mode()), "crw-rw-rw-");
}

#[test]
fn a_hard_link_to_nothing_is_a_hard_link_marked_missing() {
    let tar = tar_of(&[
        (b"bin/real", Kind::File, b"#!/bin/sh\n", 0o755),
        (b"bin/good", Kind::Hardlink, b"bin/real", 0o755),
        (b"bin/gone", Kind::Hardlink, b"no/such/file", 0o755),
        (b"bin/self", Kind::Hardlink, b"bin/self", 0o755),
        (b"bin/empty", Kind::Hardlink, b"", 0o755),
        (b"bin/dir", Kind::Hardlink, b"bin", 0o755),
        (b"bin/root", Kind::Hardlink, b"/", 0o755),
    ]);
    let ix = FsIndex::from_tar(tar.as_slice()).expect("index");
    let get = |p: &[u8]| ix.get(ix.lookup(p).expect("entry"));
    assert!(!get(b"bin/good").link_missing());
    assert_ne!(get(b"bin/good").hash(), 0);
    for p in [
        &b"bin/gone"[..],
        b"bin/self",
        b"bin/empty",
        b"bin/dir",
        b"bin/root",
    ] {
        let e = get(p);
        assert_eq!(e.kind(), Kind::Hardlink, "{}", escape(p));
        assert!(e.link_missing(), "{}", escape(p));
        assert_eq!(e.hash(), 0);
    }
    assert_eq!(get(b"bin/gone").link(), Some(&b"no/such/file"[..]));
}

/// A GNU sparse entry: a header claiming `real` bytes, one 512-byte data block at the end.
fn gnu_sparse(name: &[u8], real: u64) -> Vec<u8> {
    let mut h = raw_header(name, tar::EntryType::GNUSparse, 0o644, 512);
    let gnu = h.as_gnu_mut().expect("gnu");
    gnu.set_real_size(real);
    gnu.sparse[0].set_offset(real - 512);
    gnu.sparse[0].set_length(512);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(&[b'x'; 512]);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[test]
fn an_entry_claiming_8_gib_indexes_with_its_size_and_nothing_held() {
    const BIG: u64 = 8 << 30;
    let mut b = IndexBuilder::new();
    b.read_tar(LazyTar::new(b"var/big", BIG), |_| {})
        .expect("index");
    let ix = b.finish();
    let e = ix.get(ix.lookup(b"var/big").expect("big"));
    assert_eq!((e.kind(), e.size()), (Kind::File, BIG));
    assert_eq!(ix.root().total(), BIG);
    // The whole content went through the hash: the stream has to be read past anyway.
    assert_eq!(ix.progress().bytes, BIG);
    assert_ne!(e.hash(), 0);

    let ix = FsIndex::from_tar(gnu_sparse(b"var/sparse", BIG).as_slice()).expect("sparse");
    let e = ix.get(ix.lookup(b"var/sparse").expect("sparse"));
    assert_eq!((e.kind(), e.size()), (Kind::File, BIG));
}

#[test]
fn link_loops_never_hang_what_reads_links() {
    use crate::compare::Comparison;
    use crate::provenance::{Inputs, ReleaseModel};
    let loops: &[(&[u8], Kind, &[u8], u32)] = &[
        (b"app/loop", Kind::Symlink, b"loop", 0o777),
        (b"app/a", Kind::Symlink, b"b", 0o777),
        (b"app/b", Kind::Symlink, b"/app/a", 0o777),
        (b"app/d/up", Kind::Symlink, b"..", 0o777),
        (b"app/h1", Kind::Hardlink, b"app/h2", 0o644),
        (b"app/h2", Kind::Hardlink, b"app/h1", 0o644),
    ];
    let ix = FsIndex::from_tar(tar_of(loops).as_slice()).expect("index");
    assert_eq!(ix.len(), 9);
    let builder = ix.clone();
    let release = FsIndex::from_tar(tar_of(&loops[..3]).as_slice()).expect("release");
    let df = stagescope_dockerfile::Dockerfile::parse(
        b"FROM busybox AS b\nRUN x\nFROM busybox\nCOPY --from=b /app /app\n",
    )
    .expect("parse");
    let model = ReleaseModel::from_dockerfile(&df, 1);
    let stages = [(0usize, &builder)];
    let c = Comparison::compute(
        ("b", ix),
        ("release", release),
        &crate::rules::RuleSet::builtin(),
        Some((
            model,
            Inputs {
                stages: &stages,
                base: None,
            },
        )),
    );
    assert!(!c.diff.is_empty());
    let (model, prov) = c.origins.as_ref().expect("origins");
    let a = c.right.lookup(b"app/a").expect("a");
    assert!(crate::provenance::Provenance::describe(model, prov.of(a)).contains("COPY"));
}
