use super::layer::layer_codec;
use super::layer::{LayerIndex, compose};
use super::*;

enum T<'a> {
    F(&'a str, &'a [u8]),
    D(&'a str),
    L(&'a str, &'a str),
    H(&'a str, &'a str),
}

fn layer(entries: &[T]) -> LayerIndex {
    let bytes = layer_tar(entries);
    LayerIndex::from_tar(bytes.as_slice(), |_| {}).expect("layer")
}

fn layer_tar(entries: &[T]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        match e {
            T::F(p, data) => {
                h.set_size(data.len() as u64);
                h.set_entry_type(tar::EntryType::Regular);
                b.append_data(&mut h, p, *data).expect("file");
            }
            T::D(p) => {
                h.set_mode(0o700);
                h.set_size(0);
                h.set_entry_type(tar::EntryType::Directory);
                b.append_data(&mut h, p, &[][..]).expect("dir");
            }
            T::L(p, to) | T::H(p, to) => {
                h.set_size(0);
                h.set_entry_type(if matches!(e, T::L(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                b.append_link(&mut h, p, to).expect("link");
            }
        }
    }
    b.into_inner().expect("tar")
}

/// `path kind size [-> link]` per entry, the implied directories included.
fn listing(ix: &FsIndex) -> Vec<String> {
    ix.entries()
        .map(|e| {
            let mut s = format!("{} {} {}", escape(e.path()), e.kind().as_str(), e.size());
            if let Some(l) = e.link() {
                s.push_str(&format!(" -> {}", escape(l)));
            }
            s
        })
        .collect()
}

#[test]
fn whiteouts_and_opaque_directories_hide_what_is_underneath() {
    let base = layer(&[
        T::D("etc"),
        T::F("etc/a", b"1"),
        T::F("etc/b", b"22"),
        T::D("src"),
        T::F("src/main.c", b"int"),
        T::D("var"),
        T::F("var/x", b"x"),
    ]);
    let top = layer(&[
        T::D("etc"),
        T::F("etc/.wh..wh..opq", b""),
        T::F("etc/c", b"333"),
        T::F(".wh.src", b""),
        T::D("var"),
        T::F("var/.wh.x", b""),
        T::F("var/y", b"yy"),
    ]);
    let ix = compose(&[&base, &top]);
    assert_eq!(
        listing(&ix),
        ["etc dir 0", "etc/c file 3", "var dir 0", "var/y file 2"]
    );
    assert_eq!(ix.get(ix.lookup(b"etc").expect("etc")).mode(), 0o700);
}

#[test]
fn the_upper_layer_wins_and_a_file_replacing_a_directory_hides_its_subtree() {
    let base = layer(&[
        T::D("a"),
        T::F("a/in", b"1"),
        T::D("a/deep"),
        T::F("a/deep/x", b"1"),
        T::F("a.b", b"1"),
        T::F("f", b"1"),
    ]);
    let top = layer(&[T::F("a", b"file now"), T::D("f"), T::F("f/g", b"12")]);
    let ix = compose(&[&base, &top]);
    assert_eq!(
        listing(&ix),
        ["a file 8", "a.b file 1", "f dir 0", "f/g file 2"]
    );
}

#[test]
fn a_whiteout_only_hides_layers_underneath_and_paths_may_come_back() {
    let l0 = layer(&[T::D("d"), T::F("d/x", b"1")]);
    let l1 = layer(&[T::F(".wh.d", b"")]);
    let l2 = layer(&[T::D("d"), T::F("d/y", b"22")]);
    let ix = compose(&[&l0, &l1, &l2]);
    assert_eq!(listing(&ix), ["d dir 0", "d/y file 2"]);
    // A whiteout in the same layer as a new entry at that path does not delete it.
    let same = layer(&[T::F(".wh.z", b""), T::F("z", b"new")]);
    let ix = compose(&[&layer(&[T::F("z", b"o")]), &same]);
    assert_eq!(listing(&ix), ["z file 3"]);
}

#[test]
fn hard_links_keep_their_content_when_the_target_is_replaced() {
    let l0 = layer(&[
        T::F("bin/busybox", b"elf!"),
        T::H("bin/sh", "bin/busybox"),
        T::H("bin/true", "bin/busybox"),
        T::F("keep", b"k"),
        T::H("keep2", "keep"),
    ]);
    let l1 = layer(&[T::F("bin/busybox", b"new elf"), T::F(".wh.keep", b"")]);
    let ix = compose(&[&l0, &l1]);
    assert_eq!(
        listing(&ix),
        [
            "bin dir 0",
            "bin/busybox file 7",
            "bin/sh file 4",
            "bin/true hardlink 0 -> bin/sh",
            "keep2 file 1",
        ]
    );
    let h = |p: &[u8]| ix.get(ix.lookup(p).expect("entry")).hash();
    assert_eq!(h(b"bin/sh"), xxhash_rust::xxh3::xxh3_64(b"elf!"));
    assert_eq!(h(b"bin/true"), h(b"bin/sh"));
    // A link in the new layer to the new layer's own file stays a link.
    let l2 = layer(&[T::F("k", b"2"), T::H("k2", "k")]);
    let ix = compose(&[&layer(&[T::F("k", b"1")]), &l2]);
    assert_eq!(listing(&ix), ["k file 1", "k2 hardlink 0 -> k"]);
}

#[test]
fn one_layer_composes_to_what_the_index_of_its_tar_says() {
    let entries = [
        T::F("odd name\n\u{202e}x", b"1"),
        T::L("usr/lib/libc.so", "../../lib/libc.so.6"),
        T::F("usr/bin/env", b"#!/bin/sh\n"),
        T::H("usr/bin/env2", "usr/bin/env"),
    ];
    let l = layer(&entries);
    let ix = compose(&[&l]);
    assert_eq!(
        listing(&ix),
        [
            "odd name\\x0a\\xe2\\x80\\xaex file 1",
            "usr dir 0",
            "usr/bin dir 0",
            "usr/bin/env file 10",
            "usr/bin/env2 hardlink 0 -> usr/bin/env",
            "usr/lib dir 0",
            "usr/lib/libc.so symlink 0 -> ../../lib/libc.so.6",
        ]
    );
    // Hashes, sniffing and modes as the index of the same tar has them.
    let direct = FsIndex::from_tar(layer_tar(&entries).as_slice()).expect("index");
    assert_eq!(ix.len(), direct.len());
    for (a, b) in ix.entries().zip(direct.entries()) {
        assert_eq!(a.path(), b.path());
        assert_eq!(
            (a.hash(), a.content_flags(), a.mode(), a.uid(), a.link()),
            (b.hash(), b.content_flags(), b.mode(), b.uid(), b.link())
        );
    }
}

#[test]
fn layer_codec_round_trips_and_refuses_damage() {
    let l = layer(&[
        T::D("etc"),
        T::F("etc/.wh..wh..opq", b""),
        T::F(".wh.gone", b""),
        T::F("etc/x", b"abc"),
        T::L("s", "etc/x"),
    ]);
    let bytes = layer_codec::encode(&l);
    assert_eq!(layer_codec::decode(&bytes).as_ref(), Some(&l));
    assert!(layer_codec::decode(&bytes[..bytes.len() - 1]).is_none());
    // A layer of one file and nothing else (the smallest there is) reads back too.
    let one = layer(&[T::F("f", b"x")]);
    assert_eq!(layer_codec::decode(&layer_codec::encode(&one)), Some(one));
    for i in (0..bytes.len()).step_by(5) {
        let mut bad = bytes.clone();
        bad[i] ^= 0x21;
        assert!(layer_codec::decode(&bad).is_none(), "flip at {i} accepted");
    }
}

#[test]
fn a_directory_was_made_by_the_layer_it_first_appeared_in() {
    // WORKDIR /src makes src/, COPY adds a file in it, RUN another: src/ is in all three.
    let workdir = layer(&[T::D("src/")]);
    let copy = layer(&[T::D("src/"), T::F("src/main.c", b"int main;")]);
    let run = layer(&[T::D("src/"), T::F("src/demo", b"bin"), T::D("tmp/")]);
    // A whiteout of the directory and a new one in the same layer: made again there.
    let again = layer(&[T::F("src/.wh..wh..opq", b""), T::D("src/")]);
    let ix = compose(&[&workdir, &copy, &run]);
    let at = |ix: &FsIndex, p: &str| {
        let e = ix.get(ix.lookup(p.as_bytes()).expect(p));
        (e.created_layer(), e.layer())
    };
    assert_eq!(at(&ix, "src"), (Some(0), Some(2)));
    assert_eq!(at(&ix, "src/main.c"), (Some(1), Some(1)));
    assert_eq!(at(&ix, "src/demo"), (Some(2), Some(2)));
    assert_eq!(at(&ix, "tmp"), (Some(2), Some(2)));
    // An opaque directory keeps its own entry (only what was in it goes).
    let ix = compose(&[&workdir, &copy, &again]);
    assert_eq!(at(&ix, "src"), (Some(0), Some(2)));
    assert!(ix.lookup(b"src/main.c").is_none());
    let gone = layer(&[T::F(".wh.src", b"")]);
    let back = layer(&[T::D("src/")]);
    let ix = compose(&[&workdir, &gone, &back]);
    assert_eq!(at(&ix, "src"), (Some(2), Some(2)));
    // The index codec keeps both.
    let bytes = super::codec::encode(&compose(&[&workdir, &copy, &run]));
    let decoded = super::codec::decode(&bytes).expect("decodes");
    assert_eq!(at(&decoded, "src"), (Some(0), Some(2)));
}
