use super::*;
use crate::sniff::SNIFF_LIMIT;
use proptest::prelude::*;

pub(crate) use crate::testutil::tar_of;

fn paths(ix: &FsIndex) -> Vec<String> {
    ix.entries().map(|e| escape(e.path())).collect()
}

#[test]
fn indexes_kinds_links_and_metadata() {
    let tar = tar_of(&[
        (b"etc/", Kind::Dir, b"", 0o755),
        (b"etc/passwd", Kind::File, b"root:x:0:0\n", 0o644),
        (b"bin/sh", Kind::Symlink, b"busybox", 0o777),
        (b"bin/busybox", Kind::File, b"\x7fELF....", 0o4755),
        (b"bin/ash", Kind::Hardlink, b"bin/busybox", 0o755),
        (b"dev/null", Kind::Other, b"", 0o666),
    ]);
    let ix = FsIndex::from_tar(tar.as_slice()).expect("index");
    assert_eq!(
        paths(&ix),
        [
            "bin",
            "bin/ash",
            "bin/busybox",
            "bin/sh",
            "dev",
            "dev/null",
            "etc",
            "etc/passwd"
        ]
    );
    let bb = ix.get(ix.lookup(b"bin/busybox").expect("busybox"));
    assert_eq!((bb.kind(), bb.size(), bb.mode()), (Kind::File, 8, 0o4755));
    assert_eq!((bb.uid(), bb.gid(), bb.mtime()), (1000, 100, 1_700_000_000));
    let ash = ix.get(ix.lookup(b"/bin/ash").expect("ash"));
    assert_eq!(ash.kind(), Kind::Hardlink);
    assert_eq!(ash.link(), Some(&b"bin/busybox"[..]));
    assert_eq!(ash.hash(), bb.hash());
    assert_ne!(bb.hash(), 0);
    let sh = ix.get(ix.lookup(b"bin/sh").expect("sh"));
    assert_eq!(
        (sh.kind(), sh.link()),
        (Kind::Symlink, Some(&b"busybox"[..]))
    );
    // Implicit parent with default mode.
    let bin = ix.get(ix.lookup(b"bin").expect("bin"));
    assert_eq!((bin.kind(), bin.mode()), (Kind::Dir, 0o755));
    assert_eq!(bin.total(), 8);
    assert_eq!(ix.root().total(), 8 + 11);
    assert_eq!(ix.root().count() as usize, ix.len());
    let names: Vec<_> = bin.children().iter().map(|&c| ix.get(c).name()).collect();
    assert_eq!(names, [&b"ash"[..], b"busybox", b"sh"]);
}

#[test]
fn depth_first_order_puts_subtrees_together() {
    let tar = tar_of(&[
        (b"a.txt", Kind::File, b"x", 0o644),
        (b"a/b", Kind::File, b"yy", 0o644),
        (b"a-b", Kind::File, b"", 0o644),
        (b"a/c/d", Kind::File, b"zzz", 0o644),
    ]);
    let ix = FsIndex::from_tar(tar.as_slice()).expect("index");
    assert_eq!(paths(&ix), ["a", "a/b", "a/c", "a/c/d", "a-b", "a.txt"]);
    assert_eq!(ix.get(ix.lookup(b"a").expect("a")).total(), 5);
    assert_eq!(ix.get(ix.lookup(b"a").expect("a")).count(), 4);
}

#[test]
fn last_entry_for_a_path_wins() {
    let tar = tar_of(&[
        (b"f", Kind::File, b"old", 0o600),
        (b"./f", Kind::File, b"newer", 0o644),
    ]);
    let ix = FsIndex::from_tar(tar.as_slice()).expect("index");
    assert_eq!(ix.len(), 2);
    assert_eq!(ix.get(1).size(), 5);
}

#[test]
fn hostile_names_are_normalized_kept_as_bytes_and_escaped() {
    let tar = tar_of(&[
        (b"x/../../etc/evil", Kind::File, b"", 0o644),
        (b"/abs/file", Kind::File, b"", 0o644),
        (b"bad\xff\xfename", Kind::File, b"", 0o644),
        (b"new\nline\x1b[31m", Kind::File, b"", 0o644),
        (b"back\\slash", Kind::File, b"", 0o644),
    ]);
    let ix = FsIndex::from_tar(tar.as_slice()).expect("index");
    let p = paths(&ix);
    assert!(p.contains(&"etc/evil".to_string()), "{p:?}");
    assert!(p.contains(&"abs/file".to_string()));
    assert!(p.contains(&"bad\\xff\\xfename".to_string()));
    assert!(p.contains(&"new\\x0aline\\x1b[31m".to_string()));
    assert!(p.contains(&"back\\\\slash".to_string()));
    // `..` climbs, and stops at the root: the entry is /etc/evil, never above the root.
    let evil = ix.get(ix.lookup(b"x/../../etc/evil").expect("evil"));
    assert_eq!((evil.path(), evil.depth()), (&b"etc/evil"[..], 2));
}

#[test]
fn pax_records_override_ids_and_time() {
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("uid", &b"100000000"[..]),
        ("gid", &b"200000"[..]),
        ("mtime", &b"1700000001.5"[..]),
    ])
    .expect("pax");
    let mut h = tar::Header::new_ustar();
    h.set_size(0);
    h.set_mode(0o644);
    b.append_data(&mut h, "f", std::io::empty()).expect("file");
    let tar = b.into_inner().expect("tar");
    let ix = FsIndex::from_tar(tar.as_slice()).expect("index");
    let f = ix.get(ix.lookup(b"f").expect("f"));
    assert_eq!(
        (f.uid(), f.gid(), f.mtime()),
        (100_000_000, 200_000, 1_700_000_001)
    );
}

#[test]
fn long_names_survive() {
    let long = format!("{}/file", "d".repeat(300));
    let tar = tar_of(&[(long.as_bytes(), Kind::File, b"1", 0o644)]);
    let ix = FsIndex::from_tar(tar.as_slice()).expect("index");
    assert!(ix.lookup(long.as_bytes()).is_some());
}

#[test]
fn broken_stream_keeps_what_was_read() {
    let mut tar = tar_of(&[
        (b"a", Kind::File, b"1", 0o644),
        (b"b", Kind::File, &[7u8; 2000], 0o644),
    ]);
    tar.truncate(512 * 3);
    let mut b = IndexBuilder::new();
    assert!(b.read_tar(tar.as_slice(), |_| {}).is_err());
    let ix = b.finish();
    assert!(ix.lookup(b"a").is_some());
}

#[test]
fn snapshot_while_reading() {
    let tar = tar_of(&[(b"a/b", Kind::File, b"1", 0o644)]);
    let mut b = IndexBuilder::new();
    b.read_tar(tar.as_slice(), |_| {}).expect("read");
    let snap = b.snapshot();
    assert_eq!(snap.len(), 3);
    assert_eq!(b.progress().entries, 1);
    assert_eq!(b.progress().bytes, 1);
}

fn check_invariants(ix: &FsIndex) {
    let n = ix.len();
    let mut total = 0u64;
    let mut count = 0u32;
    for e in ix.entries() {
        let p = e.parent().expect("parent");
        assert!(p < e.id, "parent before child");
        let pp = ix.get(p).path();
        assert!(pp.is_empty() || e.path().starts_with(pp));
        if e.kind() != Kind::Dir {
            total += e.size();
        }
        let sum: u64 = e.children().iter().map(|&c| ix.get(c).total()).sum::<u64>()
            + if e.kind() == Kind::Dir { 0 } else { e.size() };
        assert_eq!(e.total(), sum);
        count += 1;
    }
    assert_eq!(ix.root().total(), total);
    assert_eq!(ix.root().count() as usize, n);
    assert_eq!(count as usize + 1, n);
    for w in ix.records.windows(2) {
        let a = &ix.arena[range(&w[0])];
        let b = &ix.arena[range(&w[1])];
        assert_eq!(path_cmp(a, b), std::cmp::Ordering::Less);
    }
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut b = IndexBuilder::new();
        let _ = b.read_tar(bytes.as_slice(), |_| {});
        check_invariants(&b.finish());
    }

    #[test]
    fn never_panics_on_mangled_tars(
        names in proptest::collection::vec(proptest::collection::vec(
            prop_oneof![Just(b'/'), Just(b'.'), Just(b'a'), Just(b'b'), Just(0xffu8), Just(b'\n')], 1..12), 1..20),
        cut in 0usize..20000,
        flip in 0usize..20000,
    ) {
        let entries: Vec<(&[u8], Kind, &[u8], u32)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_slice(), if i % 3 == 0 { Kind::Dir } else { Kind::File }, &b"data"[..], 0o644))
            .collect();
        let mut tar = tar_of(&entries);
        let full = FsIndex::from_tar(tar.as_slice()).expect("whole tar");
        check_invariants(&full);
        if flip < tar.len() { tar[flip] ^= 0x5a; }
        tar.truncate(cut);
        let mut b = IndexBuilder::new();
        let _ = b.read_tar(tar.as_slice(), |_| {});
        check_invariants(&b.finish());
    }
}

/// Hands out at most 7 bytes a read, as a network stream may.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn small_files_are_sniffed_in_the_hashing_pass() {
    let key = b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    let mut big = vec![b'x'; SNIFF_LIMIT as usize + 1];
    big[..key.len()].copy_from_slice(key);
    let tar = tar_of(&[
        (b"app/deploy.txt", Kind::File, key, 0o644),
        (b"app/deploy.bak", Kind::Hardlink, b"app/deploy.txt", 0o644),
        (
            b"root/.npmrc",
            Kind::File,
            b"//r.example/:_authToken=abc\n",
            0o600,
        ),
        (b"etc/aws", Kind::File, b"id=AKIAIOSFODNN7EXAMPLE\n", 0o600),
        (b"app/readme", Kind::File, b"nothing to see\n", 0o644),
        (b"app/huge.bin", Kind::File, &big, 0o644),
    ]);
    let mut b = IndexBuilder::new();
    b.read_tar(Trickle(&tar), |_| {}).expect("index");
    let ix = b.finish();
    let flags = |p: &str| ix.get(ix.lookup(p.as_bytes()).expect(p)).content_flags();
    assert_eq!(flags("app/deploy.txt"), ContentFlags::PRIVATE_KEY);
    // A hard link carries no content of its own: it gets its target's.
    assert_eq!(flags("app/deploy.bak"), ContentFlags::PRIVATE_KEY);
    assert_eq!(flags("root/.npmrc"), ContentFlags::AUTH_TOKEN);
    assert_eq!(flags("etc/aws"), ContentFlags::AWS_KEY_ID);
    assert_eq!(flags("app/readme"), ContentFlags::empty());
    // Past the limit nothing is sniffed; directories never are.
    assert_eq!(flags("app/huge.bin"), ContentFlags::empty());
    assert_eq!(flags("app"), ContentFlags::empty());
    // Hashing is unchanged by the one-shot path for small files.
    let hash = |p: &str| ix.get(ix.lookup(p.as_bytes()).expect(p)).hash();
    assert_eq!(hash("app/deploy.txt"), xxhash_rust::xxh3::xxh3_64(key));
    assert_eq!(hash("app/huge.bin"), xxhash_rust::xxh3::xxh3_64(&big));
    assert_eq!(
        ix.progress().bytes,
        (key.len() + 28 + 24 + 15 + big.len()) as u64
    );
}

#[test]
fn names_that_reorder_the_screen_are_shown_escaped() {
    // U+202E (right-to-left override) would show evil<U+202E>gpj.exe as evilexe.jpg.
    assert_eq!(
        escape("evil\u{202e}gpj.exe".as_bytes()),
        "evil\\xe2\\x80\\xaegpj.exe"
    );
    assert_eq!(escape("a\u{2066}b".as_bytes()), "a\\xe2\\x81\\xa6b");
    assert_eq!(escape("é.txt".as_bytes()), "é.txt", "ordinary letters stay");
}

#[test]
fn a_layer_arriving_is_shown_over_its_base_and_replaced_at_each_view() {
    let file = |b: &mut IndexBuilder, p: &str, size: u64| {
        b.add(p.as_bytes(), Kind::File, Meta::new(size, 0o644), None, 0)
            .expect("add");
    };
    let mut base = IndexBuilder::new();
    file(&mut base, "a", 1);
    file(&mut base, "d/b", 1);
    let mut view = base.base();
    assert_eq!(paths(&view.view().snapshot()), ["a", "d", "d/b"]);
    let mut top = IndexBuilder::new();
    file(&mut top, "d/b", 7);
    file(&mut top, "c", 3);
    let ix = view.over(&top).snapshot();
    assert_eq!(paths(&ix), ["a", "c", "d", "d/b"]);
    assert_eq!(
        ix.get(ix.lookup(b"d/b").expect("b")).size(),
        7,
        "the top wins"
    );
    // The next view of the top as it grew replaces the last, the base stays.
    file(&mut top, "e", 1);
    let ix = view.over(&top).snapshot();
    assert_eq!(paths(&ix), ["a", "c", "d", "d/b", "e"]);
    assert_eq!(ix.progress().entries, 5);
}
