//! The filesystem composed from an image's layers (one `docker save` stream) must list what
//! `docker export` of a container of the image lists — paths, kinds, sizes, modes, owners,
//! link targets, content hashes — on images made to hold the hard cases: odd names, hard
//! links (one whose target a later layer rewrote), whiteouts, opaque directories, symlinks,
//! devices and FIFOs. Then the layer cache: the same image again reads no stream, and an
//! image on the same base parses only its own layer.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{Cleanup, docker_ready, engine, runtime};
use stagescope_core::engine_internals::export::{finish_cleanups, index_image};
use stagescope_core::engine_internals::layers::{OpenStats, open_image_fs};
use stagescope_fs::layer_cache::LayerCache;
use stagescope_fs::{FsIndex, escape};

/// Made by the classic builder (`DOCKER_BUILDKIT=0`): one layer per RUN.
const BASE: &str = r#"FROM busybox
RUN mkdir -p /t/dir/sub /t/opq/old /t/gone/deep /t/empty \
 && echo hello > /t/dir/file.txt \
 && ln -s dir/file.txt /t/link \
 && ln -s /nowhere/at/all /t/dangling \
 && ln /t/dir/file.txt /t/hard \
 && ln /t/dir/file.txt /t/hard2 \
 && echo same > /t/keep && ln /t/keep /t/keep.link \
 && echo x > /t/suid && chmod 4755 /t/suid && chown 1234:5678 /t/suid \
 && chmod 2750 /t/dir/sub && chmod 1777 /t/empty \
 && touch "/t/$(printf 'bad\377name')" "/t/$(printf 'new\nline')" "/t/ sp ace" "/t/$(printf 'r\342\200\256l')" \
 && echo o > /t/opq/old/f && echo g > /t/gone/deep/f && echo w > /t/gone.txt \
 && mkfifo /t/fifo && mknod /t/null c 1 3 && mknod /t/blk b 7 0
RUN rm -rf /t/gone /t/gone.txt /t/opq && mkdir -p /t/opq/new && echo n > /t/opq/new/f \
 && echo changed > /t/dir/file.txt && chmod 600 /t/keep \
 && rm /bin/ls && mkdir /t/dir/sub/more && echo 1 > /t/dir/sub/more/one
RUN rm -rf /t/dir/sub && echo file > /t/empty2 && ln -sf /etc/passwd /t/link
"#;

/// `docker create` adds the container's init layer, which is no part of the image: these
/// paths (and only these) may differ between the export and the image's layers.
const INIT_LAYER: &[&str] = &[
    ".dockerenv",
    "dev",
    "dev/console",
    "dev/pts",
    "dev/shm",
    "etc",
    "etc/hostname",
    "etc/hosts",
    "etc/mtab",
    "etc/resolv.conf",
    "proc",
    "sys",
];

type Row = (&'static str, u64, u32, u32, u32, Option<String>, u64);

fn listing(ix: &FsIndex) -> BTreeMap<String, Row> {
    ix.entries()
        .map(|e| {
            (
                escape(e.path()),
                (
                    e.kind().as_str(),
                    e.size(),
                    e.mode(),
                    e.uid(),
                    e.gid(),
                    e.link().map(escape),
                    e.hash(),
                ),
            )
        })
        .collect()
}

fn build(dockerfile: &str, tag: &str) {
    let ctx = tempfile::tempdir().expect("tempdir");
    std::fs::write(ctx.path().join("Dockerfile"), dockerfile).expect("Dockerfile");
    let out = Command::new("docker")
        .args(["build", "-q", "-t", tag])
        .arg(ctx.path())
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .expect("docker build");
    assert!(
        out.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every entry of the export (bar the init layer's) and of the layers, compared one by one.
fn assert_same(exported: &FsIndex, composed: &FsIndex) {
    let (mut want, got) = (listing(exported), listing(composed));
    let init: Vec<String> = INIT_LAYER.iter().map(|p| p.to_string()).collect();
    let mut diffs = Vec::new();
    for p in &init {
        // An init-layer path the image also has must agree but for the directory's own
        // metadata, which the init layer may set.
        match (want.remove(p), got.get(p)) {
            (Some(w), Some(g)) if w.0 != "dir" && w != *g => {
                diffs.push(format!("{p}: {w:?} vs {g:?}"))
            }
            _ => {}
        }
    }
    for (p, w) in &want {
        match got.get(p) {
            Some(g) if g == w => {}
            Some(g) => diffs.push(format!("{p}: export {w:?}, layers {g:?}")),
            None => diffs.push(format!("{p}: only in the export {w:?}")),
        }
    }
    for (p, g) in &got {
        if !want.contains_key(p) && !init.contains(p) {
            diffs.push(format!("{p}: only in the layers {g:?}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn layers_compose_to_the_export_listing_and_the_cache_skips_known_layers() {
    if !docker_ready() {
        return;
    }
    let mut cleanup = Cleanup::new();
    let base = cleanup.tag("layers-base");
    let child = cleanup.tag("layers-child");
    build(BASE, &base);
    build(
        &format!("FROM {base}\nRUN echo more > /t/more && rm /t/hard2\n"),
        &child,
    );
    let dir = tempfile::tempdir().expect("cache dir");
    let cache: &'static LayerCache = Box::leak(Box::new(LayerCache::new(
        Some(dir.path().to_path_buf()),
        64 << 20,
    )));
    runtime().block_on(async {
        let engine = engine().await;
        for image in [base.as_str(), "busybox:latest", child.as_str()] {
            let exported = index_image(&engine, image, |_| {}).await.expect("export");
            let fresh: &'static LayerCache = Box::leak(Box::new(LayerCache::new(None, 0)));
            let composed = open_image_fs(&engine, image, fresh, true, |_| {})
                .await
                .expect("layers");
            assert_same(&exported, &composed.index);
        }
        finish_cleanups().await;

        // The cases are really there, and the layers say who added what.
        let fs = open_image_fs(&engine, &base, cache, true, |_| {})
            .await
            .expect("base");
        assert_eq!(fs.stats.streams, 1);
        let ix = &fs.index;
        let kind = |p: &[u8]| ix.lookup(p).map(|id| ix.get(id).kind().as_str());
        assert_eq!(kind(b"t/gone"), None);
        assert_eq!(kind(b"t/opq/old"), None);
        assert_eq!(kind(b"t/opq/new/f"), Some("file"));
        assert_eq!(kind(b"t/dir/sub"), None);
        assert_eq!(kind(b"t/fifo"), Some("other"));
        assert_eq!(kind(b"t/bad\xffname"), Some("file"));
        assert_eq!(kind(b"bin/ls"), None);
        // The hard links whose target a later layer rewrote keep the old content, the
        // first as a file, the second linked to it; a rewritten link target breaks a link.
        assert_eq!(kind(b"t/hard"), Some("file"));
        assert_eq!(kind(b"t/hard2"), Some("hardlink"));
        assert_eq!(kind(b"t/keep.link"), Some("file"));
        let size = |p: &[u8]| ix.get(ix.lookup(p).expect("entry")).size();
        assert_eq!((size(b"t/hard"), size(b"t/dir/file.txt")), (6, 8));
        let attr = fs.layers.attribute(ix);
        let by = |p: &[u8]| {
            fs.layers
                .describe(&attr, ix.lookup(p).expect("entry"))
                .map(|(_, text)| text)
        };
        assert!(
            by(b"t/empty2")
                .expect("empty2")
                .contains("RUN rm -rf /t/dir/sub")
        );
        assert!(
            by(b"t/opq/new/f")
                .expect("f")
                .contains("RUN rm -rf /t/gone")
        );
        assert_eq!(fs.layers.layers.len(), 4);
        // With the index, no list of every path: the index says who wrote each entry.
        assert!(fs.layers.light && fs.layers.layers.iter().all(|l| l.added.is_empty()));
        // Without it, what each layer wrote, read back from the layer cache (no stream).
        let full = open_image_fs(&engine, &base, cache, false, |_| {})
            .await
            .expect("layers");
        assert_eq!(full.stats.streams, 0);
        assert!(!full.layers.light);
        assert_eq!(
            full.layers.attribute_by_paths(ix),
            attr,
            "paths say what the index says"
        );

        // Again: everything from the cache, no stream; the same tree.
        let again = open_image_fs(&engine, &base, cache, true, |_| {})
            .await
            .expect("again");
        assert_eq!(
            again.stats,
            OpenStats {
                streams: 0,
                parsed: 0,
                cached: 4
            }
        );
        assert_eq!(listing(&again.index), listing(ix));
        assert_eq!(again.layers, fs.layers);

        // An image on the same base: its one new layer parsed, the others read through;
        // the base is shown before the stream gets to the new layer.
        let seen: Arc<Mutex<Vec<FsIndex>>> = Arc::default();
        let keep = seen.clone();
        let child_fs = open_image_fs(&engine, &child, cache, true, move |b| {
            keep.lock().expect("seen").push(b.snapshot())
        })
        .await
        .expect("child");
        let first = seen
            .lock()
            .expect("seen")
            .first()
            .cloned()
            .expect("a first view");
        assert_eq!(listing(&first), listing(ix), "the known base, composed");
        assert!(first.lookup(b"t/more").is_none());
        assert!(child_fs.index.lookup(b"t/more").is_some());
        assert_eq!(
            child_fs.stats,
            OpenStats {
                streams: 1,
                parsed: 1,
                cached: 4
            }
        );
        let exported = index_image(&engine, &child, |_| {}).await.expect("export");
        assert_same(&exported, &child_fs.index);
        // Parsed layers waited on disk for the manifest, then were kept: nothing is left aside.
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .expect("cache dir")
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(aside.is_empty(), "{aside:?}");
        finish_cleanups().await;
    });
}
