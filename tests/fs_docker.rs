//! The real daemon is the oracle for what a stage's filesystem holds: an image with every
//! kind of entry is built with the classic builder, and `FsIndex` (streamed through
//! `engine::export`) must equal the `docker export` tar read with the `tar` crate — names,
//! kinds, sizes, modes, link targets. No export container may be left behind. Skipped (with
//! a note) when docker is not available, unless `CI` is set.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use stagescope_core::engine_internals::connect::{Environment, connect};
use stagescope_core::engine_internals::export::{finish_cleanups, image_layers, index_image};
use stagescope_fs::{FsIndex, Kind, escape};

const BIN: &str = env!("CARGO_BIN_EXE_stagescope");

mod oracle;

use oracle::{Cleanup, docker, docker_available};

const DOCKERFILE: &str = r#"FROM busybox AS base
RUN mkdir -p /t/dir/sub /t/empty \
 && echo hello > /t/dir/file.txt \
 && ln -s dir/file.txt /t/link \
 && ln -s /nowhere/at/all /t/dangling \
 && ln /t/dir/file.txt /t/hard \
 && echo x > /t/suid && chmod 4755 /t/suid \
 && echo y > /t/exec && chmod 755 /t/exec \
 && chmod 2750 /t/dir/sub && chmod 1777 /t/empty \
 && touch "/t/$(printf 'bad\377name')" \
 && touch "/t/$(printf 'new\nline')"
RUN mkdir /t/many && cd /t/many && i=0; while [ $i -lt 10000 ]; do echo $i > f$i; i=$((i+1)); done
RUN rm /t/many/f9999 && echo changed > /t/exec
"#;

fn build_image(ctx: &Path, tag: &str) {
    std::fs::write(ctx.join("Dockerfile"), DOCKERFILE).expect("write Dockerfile");
    let out = Command::new(BIN)
        .arg("setup-base")
        .output()
        .expect("run setup-base");
    assert!(
        out.status.success(),
        "setup-base: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ctx = ctx.to_str().expect("utf-8 temp path");
    let out = docker(&["build", "-q", "-t", tag, ctx]);
    assert!(
        out.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

type Listing = BTreeMap<String, (&'static str, u64, u32, Option<String>)>;

fn oracle_kind(t: tar::EntryType) -> &'static str {
    match t {
        tar::EntryType::Regular => "file",
        tar::EntryType::Directory => "dir",
        tar::EntryType::Symlink => "symlink",
        tar::EntryType::Link => "hardlink",
        _ => "other",
    }
}

/// `docker export | tar -tv`, read with the `tar` crate.
fn oracle(image: &str, guard: &mut Cleanup) -> Listing {
    let out = docker(&["create", image, "/nonexistent"]);
    assert!(out.status.success(), "docker create failed");
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    guard.container = Some(id.clone());
    let out = docker(&["export", &id]);
    assert!(out.status.success(), "docker export failed");
    let _ = docker(&["rm", "-f", &id]);
    guard.container = None;
    let mut listing = Listing::new();
    let mut ar = tar::Archive::new(out.stdout.as_slice());
    for entry in ar.entries().expect("entries") {
        let entry = entry.expect("entry");
        let h = entry.header();
        let raw = entry.path_bytes();
        let path = escape(raw.strip_suffix(b"/").unwrap_or(&raw));
        let kind = oracle_kind(h.entry_type());
        let link = entry.link_name_bytes().map(|l| escape(&l));
        let mode = h.mode().expect("mode") & 0o7777;
        listing.insert(path, (kind, entry.size(), mode, link));
    }
    listing
}

fn listing_of(ix: &FsIndex) -> Listing {
    ix.entries()
        .map(|e| {
            (
                escape(e.path()),
                (e.kind().as_str(), e.size(), e.mode(), e.link().map(escape)),
            )
        })
        .collect()
}

fn export_containers_left() -> String {
    let out = docker(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        "label=dev.stagescope.build=export",
    ]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn index_equals_docker_export_listing() {
    if !docker_available() {
        return;
    }
    let tag = format!("stagescope-fs-test:{}", std::process::id());
    let mut guard = Cleanup {
        image: tag.clone(),
        container: None,
    };
    let ctx = tempfile::tempdir().expect("tempdir");
    build_image(ctx.path(), &tag);

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (ix, layers) = rt.block_on(async {
        let engine = connect(&Environment::from_process(None))
            .await
            .expect("connect");
        let ix = index_image(&engine, &tag, |_| {})
            .await
            .expect("index image");
        // Interrupted mid-export: the dropped future's guard removes the container.
        let early = tokio::time::timeout(
            std::time::Duration::from_millis(5),
            index_image(&engine, &tag, |_| {}),
        )
        .await;
        assert!(early.is_err(), "the export should not finish in 5 ms");
        finish_cleanups().await;
        let layers = image_layers(&engine, &tag).await.expect("image layers");
        (ix, layers)
    });

    let expected = oracle(&tag, &mut guard);
    let actual = listing_of(&ix);
    let missing: Vec<_> = expected
        .iter()
        .filter(|(k, v)| actual.get(*k) != Some(v))
        .take(10)
        .collect();
    let extra: Vec<_> = actual
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .take(10)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "differs from docker export:\n missing or different: {missing:?}\n extra: {extra:?}"
    );
    assert_eq!(actual.len(), expected.len());

    // The cases the test is about are really there.
    let kind = |p: &str| actual.get(p).map(|v| v.0);
    assert_eq!(kind("t/link"), Some("symlink"));
    assert_eq!(kind("t/hard"), Some("hardlink"));
    assert_eq!(kind("t/empty"), Some("dir"));
    assert_eq!(kind("t/bad\\xffname"), Some("file"));
    assert_eq!(kind("t/new\\x0aline"), Some("file"));
    assert_eq!(actual["t/suid"].2, 0o4755);
    assert_eq!(actual["t/dir/sub"].2, 0o2750);
    assert_eq!(actual["t/exec"].1, 8);
    assert!(!actual.contains_key("t/many/f9999"));
    let many = ix.get(ix.lookup(b"t/many").expect("t/many"));
    assert_eq!(many.children().len(), 9999);
    assert_eq!(
        ix.get(ix.lookup(b"t/hard").expect("hard")).hash(),
        ix.get(ix.lookup(b"t/dir/file.txt").expect("file")).hash()
    );

    // Which instruction added what: the last RUN changed t/exec and deleted f9999.
    let attr = layers.attribute(&ix);
    let by = |p: &[u8]| {
        layers
            .describe(&attr, ix.lookup(p).expect("entry"))
            .map(|(_, text)| text)
    };
    let last = by(b"t/exec").expect("t/exec attributed");
    assert!(last.contains("RUN rm /t/many/f9999"), "{last}");
    let many = by(b"t/many/f0").expect("f0 attributed");
    assert!(many.contains("RUN mkdir /t/many"), "{many}");
    assert!(by(b"t/suid").expect("suid").contains("chmod 4755"));
    let top = layers.layers.last().expect("layers");
    assert_eq!(top.deleted, [b"t/many/f9999".to_vec()]);

    // The command line gives the same entries.
    let out = Command::new(BIN)
        .args(["tree", "--image", &tag, "--json"])
        .output()
        .expect("run tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = out
        .stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("json line"))
        .collect();
    // The command line composes the image's layers: the same entries but for those the
    // container's init layer adds to the export (`/.dockerenv`, `/etc/hosts`, …).
    let init = |p: &str| {
        [
            ".dockerenv",
            "dev",
            "dev/console",
            "dev/pts",
            "dev/shm",
            "etc",
        ]
        .into_iter()
        .chain(["etc/hostname", "etc/hosts", "etc/mtab", "etc/resolv.conf"])
        .chain(["proc", "sys"])
        .any(|i| i == p)
    };
    let paths: Vec<&str> = lines.iter().filter_map(|v| v["path"].as_str()).collect();
    assert_eq!(
        paths.iter().filter(|p| !init(p)).count(),
        expected.keys().filter(|p| !init(p)).count()
    );
    assert!(
        lines
            .iter()
            .any(|v| v["path"] == "t/bad\\xffname" && v["kind"] == "file")
    );
    assert!(
        lines
            .iter()
            .any(|v| v["path"] == "t/link" && v["link"] == "dir/file.txt")
    );
    assert_eq!(Kind::Dir.as_str(), "dir");

    assert_eq!(
        export_containers_left(),
        "",
        "export containers left behind"
    );
}
