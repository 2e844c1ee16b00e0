//! Hostile images against the real daemon: a crafted tar is `docker import`ed (the daemon
//! runs as root, so device nodes, setuid files and every link kind are made for real) and
//! the real binary lists it (`tree --image`, text and JSON, `diff-images`), while preview
//! and extraction go through the library as the TUI's `p` and `e` do.
//!
//! What Docker itself refuses or rewrites is asserted too, so the README can say which
//! hostile inputs only the pure tests (crates/fs/src/index/hostile_tests.rs) can reach: a hard
//! link to a missing target (refused by the import), GNU sparse headers (refused), `../`
//! names (clamped to the root by the import, as the index does).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Output};

use common::{BIN, Cleanup, docker, docker_ok, runtime};
use serde_json::Value;

/// The big file: large enough to be more than a preview, small enough that importing and
/// exporting it (the daemon stores it whole, holes and all) stays quick.
const BIG: u64 = 64 << 20;

fn header(name: &[u8], t: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(t);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(1_700_000_000);
    h.as_gnu_mut().expect("gnu").name[..name.len()].copy_from_slice(name);
    h
}

fn link(name: &[u8], t: tar::EntryType, to: &[u8]) -> tar::Header {
    let mut h = header(name, t, 0o777, 0);
    h.set_link_name_literal(to).expect("link name");
    h
}

fn device(name: &[u8], t: tar::EntryType, mode: u32, major: u32, minor: u32) -> tar::Header {
    let mut h = header(name, t, mode, 0);
    h.set_device_major(major).expect("major");
    h.set_device_minor(minor).expect("minor");
    h
}

/// The hostile image's filesystem; `variant` changes a few entries for `diff-images`.
fn hostile_tar(variant: bool) -> Vec<u8> {
    use tar::EntryType as T;
    let entries: Vec<(tar::Header, Vec<u8>)> = vec![
        (header(b"dev/", T::Directory, 0o755, 0), vec![]),
        (device(b"dev/null", T::Char, 0o666, 1, 3), vec![]),
        (device(b"dev/loop0", T::Block, 0o660, 7, 0), vec![]),
        if variant {
            (device(b"run/fifo", T::Char, 0o600, 5, 1), vec![])
        } else {
            (header(b"run/fifo", T::Fifo, 0o644, 0), vec![])
        },
        (
            header(b"bin/su", T::Regular, 0o4755, 5),
            b"su!\n\n".to_vec(),
        ),
        (
            header(b"bin/wall", T::Regular, 0o2755, 5),
            b"wall\n".to_vec(),
        ),
        (header(b"tmp/", T::Directory, 0o1777, 0), vec![]),
        (link(b"loop", T::Symlink, b"loop"), vec![]),
        (link(b"a", T::Symlink, b"b"), vec![]),
        (
            link(b"b", T::Symlink, if variant { b"c" } else { b"a" }),
            vec![],
        ),
        (link(b"up", T::Symlink, b"../../../../etc/passwd"), vec![]),
        (header(b"data/real", T::Regular, 0o644, 4), b"real".to_vec()),
        (link(b"data/hard", T::Link, b"data/real"), vec![]),
        (
            header(b"evil\x1b[2Jname\n", T::Regular, 0o644, 1),
            b"x".to_vec(),
        ),
        (header(b"../climbed", T::Regular, 0o644, 1), b"y".to_vec()),
    ];
    let mut b = tar::Builder::new(Vec::new());
    for (mut h, data) in entries {
        h.set_cksum();
        b.append(&h, data.as_slice()).expect("append");
    }
    let mut big = header(b"var/big", T::Regular, 0o644, BIG);
    big.set_cksum();
    b.append(&big, std::io::Read::take(std::io::repeat(0), BIG))
        .expect("big");
    b.into_inner().expect("tar")
}

/// `docker import` of `tar` as a new tag the cleanup removes.
fn import(tar: &[u8], cleanup: &mut Cleanup, what: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("fs.tar");
    std::fs::write(&file, tar).expect("write tar");
    let tag = cleanup.tag(what);
    let out = docker(&["import", file.to_str().expect("utf8"), &tag]);
    if out.status.success() {
        Ok(tag)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn stagescope(cache: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .env("NO_COLOR", "1")
        .output()
        .expect("run stagescope")
}

fn assert_clean_run(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert!(
        !stdout.chars().any(|c| c.is_control() && c != '\n'),
        "{what}: a control character reached the output: {stdout:?}"
    );
    stdout
}

#[test]
fn tree_and_diff_images_of_a_hostile_image() {
    require_docker!();
    let mut cleanup = Cleanup::new();
    let cache = tempfile::tempdir().expect("cache dir");
    let img = import(&hostile_tar(false), &mut cleanup, "hostile").expect("import");

    let out = stagescope(cache.path(), &["tree", "--image", &img]);
    let text = assert_clean_run(&out, "tree");
    assert_eq!(out.status.code(), Some(0), "{text}");
    for want in [
        "crw-rw-rw-",
        "brw-rw----",
        "prw-r--r--",
        "-rwsr-xr-x",
        "-rwxr-sr-x",
        "drwxrwxrwt",
        "loop -> loop\n",
        "a -> b\n",
        "b -> a\n",
        "up -> ../../../../etc/passwd\n",
        // The export lists a hard-linked pair by name: the second one is the link.
        "real => /data/hard\n",
        "evil\\x1b[2Jname\\x0a\n",
        "  climbed\n",
        "64.0M  ",
    ] {
        assert!(text.contains(want), "tree lacks {want:?}:\n{text}");
    }
    assert!(
        !text
            .lines()
            .any(|l| l.ends_with(" ../") || l.contains(" ../climbed")),
        "a `..` name survived:\n{text}"
    );

    let out = stagescope(cache.path(), &["tree", "--image", &img, "--json"]);
    let json = assert_clean_run(&out, "tree --json");
    assert_eq!(out.status.code(), Some(0));
    let by_path = |p: &str| -> Value {
        json.lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("json line"))
            .find(|v| v["path"] == p)
            .unwrap_or_else(|| panic!("no {p} in\n{json}"))
    };
    let null = by_path("dev/null");
    assert_eq!(
        (null["kind"].as_str(), null["mode"].as_u64()),
        (Some("other"), Some(0o20666))
    );
    assert_eq!(by_path("run/fifo")["mode"].as_u64(), Some(0o10644));
    assert_eq!(by_path("bin/su")["mode"].as_u64(), Some(0o4755));
    assert_eq!(by_path("var/big")["size"].as_u64(), Some(BIG));
    assert_eq!(by_path("data/real")["kind"], "hardlink");
    assert!(by_path("data/real").get("link_missing").is_none());
    by_path("evil\\x1b[2Jname\\x0a");

    let other = import(&hostile_tar(true), &mut cleanup, "hostile-b").expect("import b");
    let out = stagescope(cache.path(), &["diff-images", &img, &other]);
    let diff = assert_clean_run(&out, "diff-images");
    assert_eq!(out.status.code(), Some(0), "{diff}");
    assert!(diff.contains("b"), "{diff}");
    assert!(diff.contains("run/fifo"), "{diff}");
}

#[test]
fn docker_refuses_or_rewrites_what_only_the_pure_tests_reach() {
    require_docker!();
    let mut cleanup = Cleanup::new();
    let build = |entries: Vec<tar::Header>| {
        let mut b = tar::Builder::new(Vec::new());
        for mut h in entries {
            h.set_cksum();
            b.append(&h, std::io::empty()).expect("append");
        }
        b.into_inner().expect("tar")
    };
    use tar::EntryType as T;
    let missing = build(vec![
        header(b"ok", T::Regular, 0o644, 0),
        link(b"h", T::Link, b"nowhere"),
    ]);
    let err = import(&missing, &mut cleanup, "missing-link").expect_err("imported");
    assert!(err.contains("no such file"), "{err}");

    let mut sparse = header(b"s", T::GNUSparse, 0o644, 0);
    sparse.as_gnu_mut().expect("gnu").set_real_size(8 << 30);
    let err = import(&build(vec![sparse]), &mut cleanup, "sparse").expect_err("imported");
    assert!(err.contains("unhandled tar header type"), "{err}");
}

#[test]
fn preview_and_extract_of_a_hostile_image() {
    use stagescope_core::engine_internals::fetch::{extract_path, fetch_path};
    use stagescope_fs::Kind;
    use stagescope_fs::preview::PREVIEW_LIMIT;
    require_docker!();
    let mut cleanup = Cleanup::new();
    let img = import(&hostile_tar(false), &mut cleanup, "hostile-x").expect("import");
    let dest = tempfile::tempdir().expect("dest");
    let d = dest.path().to_path_buf();
    runtime().block_on(async {
        let engine = common::engine().await;
        let big = fetch_path(&engine, &img, b"var/big", PREVIEW_LIMIT)
            .await
            .expect("preview big");
        assert_eq!(
            (big.kind, big.size, big.data.len()),
            (Kind::File, BIG, PREVIEW_LIMIT)
        );
        // The engine's archive API resolves a link it is asked for: a loop is its error in
        // one line (`too many links`), never a hang; whatever comes back is not followed.
        for p in [&b"loop"[..], b"a", b"up"] {
            match fetch_path(&engine, &img, p, PREVIEW_LIMIT).await {
                Ok(l) => assert_eq!(l.kind, Kind::Symlink, "{p:?}"),
                Err(e) => assert!(!e.to_string().contains('\n'), "{e}"),
            }
        }
        let null = fetch_path(&engine, &img, b"dev/null", PREVIEW_LIMIT)
            .await
            .expect("preview device");
        assert_eq!((null.kind, null.data.len()), (Kind::Other, 0));

        let (path, n) = extract_path(&engine, &img, b"var/big", d.clone())
            .await
            .expect("extract big");
        assert_eq!((path.clone(), n), (d.join("big"), BIG));
        let md = std::fs::metadata(&path).expect("extracted");
        assert_eq!(md.len(), BIG);
        assert!(
            md.blocks() * 512 < 1 << 20,
            "{} blocks on disk",
            md.blocks()
        );

        let (su, _) = extract_path(&engine, &img, b"bin/su", d.clone())
            .await
            .expect("extract su");
        assert_eq!(std::fs::metadata(&su).expect("su").mode() & 0o7000, 0);
        for p in [&b"up"[..], b"loop", b"dev/null", b"data"] {
            let err = extract_path(&engine, &img, p, d.clone())
                .await
                .expect_err("extracted a non-file");
            let err = err.to_string();
            assert!(
                err.contains("only files are extracted") || err.contains("too many links"),
                "{err}"
            );
        }
        let err = extract_path(&engine, &img, b"bin/su", d.clone())
            .await
            .expect_err("overwrote");
        assert!(err.to_string().contains("not overwritten"), "{err}");
    });
    let mut names: Vec<String> = std::fs::read_dir(&d)
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["big", "su"]);
    let _ = docker_ok(&["image", "inspect", &img]);
}
