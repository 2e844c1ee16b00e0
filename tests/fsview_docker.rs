//! What `f` does in the TUI, as library calls against the real daemon: export + index with
//! snapshots while it streams, the layers mapped to the Dockerfile's instructions, a preview
//! of one path without a second export, extraction that never overwrites nor escapes its
//! destination, and the disk cache. Nothing is left behind. Skipped (with a note) when
//! docker is not available, unless `CI` is set.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use stagescope_core::engine_internals::connect::{Environment, connect};
use stagescope_core::engine_internals::export::{
    finish_cleanups, image_layers, index_image_observed,
};
use stagescope_core::engine_internals::fetch::{extract_path, fetch_path, image_id};
use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};
use stagescope_fs::cache::DiskCache;
use stagescope_fs::preview::{Body, PREVIEW_LIMIT, Preview};
use stagescope_fs::sides::{self, Side};
use stagescope_fs::{IndexBuilder, Kind};
use stagescope_plan::BuildPlan;
use stagescope_plan::added_by::map_layers;

mod oracle;

use oracle::{Cleanup, docker, docker_available};

const DOCKERFILE: &str = "FROM busybox
RUN mkdir /d && echo hello world > /d/greeting.txt && ln -s /etc /d/escape \\
 && cp /bin/busybox /d/tool
RUN echo second > /d/second.txt
";

fn containers_of(image: &str) -> String {
    let out = docker(&["ps", "-aq", "--filter", &format!("ancestor={image}")]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `docker build -t tag` of a context holding only `dockerfile`.
fn build(tag: &str, dockerfile: &str) {
    let ctx = tempfile::tempdir().expect("tempdir");
    std::fs::write(ctx.path().join("Dockerfile"), dockerfile).expect("write");
    let out = docker(&["build", "-q", "-t", tag, ctx.path().to_str().expect("utf8")]);
    assert!(
        out.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Enter in the diff view: both sides of one changed file read for real, then diffed by
/// lines; a file only on one side is read from that side alone.
#[test]
fn both_sides_of_a_changed_file_are_read_and_diffed() {
    if !docker_available() {
        return;
    }
    let (left, right) = (
        format!("stagescope-sides-test:left-{}", std::process::id()),
        format!("stagescope-sides-test:right-{}", std::process::id()),
    );
    let _guards = [&left, &right].map(|t| Cleanup {
        image: t.clone(),
        container: None,
    });
    build(
        &left,
        "FROM busybox\nRUN printf 'one\\ntwo\\nthree\\n' > /conf\n",
    );
    build(
        &right,
        "FROM busybox\nRUN printf 'one\\n2\\nthree\\nfour\\n' > /conf && echo new > /only\n",
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let engine = connect(&Environment::from_process(None))
            .await
            .expect("connect");
        let (l, r) = tokio::join!(
            fetch_path(&engine, &left, b"conf", PREVIEW_LIMIT),
            fetch_path(&engine, &right, b"conf", PREVIEW_LIMIT),
        );
        let (l, r) = (l.map_err(|e| e.to_string()), r.map_err(|e| e.to_string()));
        let side = |label, fetched| Side {
            label,
            hash: 0,
            fetched,
        };
        let rows = sides::rows(b"conf", Some(side("left", &l)), Some(side("right", &r)));
        let marks: Vec<String> = rows
            .iter()
            .skip(1)
            .map(|r| r.text.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            marks,
            ["1 1 one", "2 - two", "2 + 2", "3 3 three", "4 + four"],
            "{rows:?}"
        );
        let only = fetch_path(&engine, &right, b"only", PREVIEW_LIMIT)
            .await
            .map_err(|e| e.to_string());
        let rows = sides::rows(b"only", None, Some(side("right", &only)));
        assert_eq!(rows.last().map(|r| r.text.trim()), Some("1 + new"));
        finish_cleanups().await;
    });
    for t in [&left, &right] {
        assert_eq!(containers_of(t), "", "a container was left behind");
    }
}

#[test]
fn open_preview_extract_and_cache_a_stage() {
    if !docker_available() {
        return;
    }
    let tag = format!("stagescope-fsview-test:{}", std::process::id());
    let _guard = Cleanup {
        image: tag.clone(),
        container: None,
    };
    build(&tag, DOCKERFILE);

    let dest = tempfile::tempdir().expect("tempdir");
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let engine = connect(&Environment::from_process(None))
            .await
            .expect("connect");

        // Export + index, watching the builder as the TUI does.
        let seen = Arc::new(Mutex::new(0u64));
        let seen2 = seen.clone();
        let ix = index_image_observed(&engine, &tag, move |b: &IndexBuilder| {
            let snap = b.snapshot();
            *seen2.lock().expect("lock") = snap.progress().entries;
        })
        .await
        .expect("index");
        assert_eq!(*seen.lock().expect("lock"), ix.progress().entries);
        let greeting = ix.lookup(b"d/greeting.txt").expect("greeting");
        assert_eq!(ix.get(greeting).size(), 12);
        assert_eq!(
            ix.get(ix.lookup(b"d/escape").expect("escape")).kind(),
            Kind::Symlink
        );

        // Layers to instructions: the first RUN (line 2) made d/greeting.txt.
        let layers = image_layers(&engine, &tag).await.expect("layers");
        let df = Dockerfile::parse(DOCKERFILE.as_bytes()).expect("parse");
        let g = StageGraph::build(&df, &GraphOptions::default()).expect("graph");
        let plan = BuildPlan::from_model(&df, &g);
        let origins = map_layers(&plan, 0, 2, &layers);
        let attr = layers.attribute(&ix);
        let origin_of = |p: &[u8]| {
            let layer = attr[ix.lookup(p).expect("entry") as usize].expect("attributed");
            origins[usize::from(layer)].clone()
        };
        assert_eq!(origin_of(b"d/greeting.txt").map(|o| o.line), Some(2));
        assert_eq!(origin_of(b"d/second.txt").map(|o| o.line), Some(4));
        assert_eq!(origin_of(b"bin/busybox"), None, "the base image's layer");

        // Preview of one path, text and binary, without another export.
        let f = fetch_path(&engine, &tag, b"d/greeting.txt", PREVIEW_LIMIT)
            .await
            .expect("fetch");
        let pv = Preview::of_file(b"d/greeting.txt", f.size, &f.data);
        assert_eq!(pv.body, Body::Text(vec!["hello world".into()]));
        let f = fetch_path(&engine, &tag, b"d/tool", 4096)
            .await
            .expect("fetch");
        assert!(f.truncated());
        match Preview::of_file(b"d/tool", f.size, &f.data).body {
            Body::Hex { guess, .. } => assert_eq!(guess, "ELF executable or library"),
            other => panic!("not hex: {other:?}"),
        }
        let f = fetch_path(&engine, &tag, b"d/escape", 4096)
            .await
            .expect("fetch");
        assert_eq!(
            (f.kind, f.link.as_deref()),
            (Kind::Symlink, Some(&b"/etc"[..]))
        );

        // Extraction: into a directory, never twice, never a link, never through a link.
        let (written, n) = extract_path(&engine, &tag, b"d/greeting.txt", dest.path().into())
            .await
            .expect("extract");
        assert_eq!(written, dest.path().join("greeting.txt"));
        assert_eq!(
            (n, std::fs::read(&written).expect("read")),
            (12, b"hello world\n".to_vec())
        );
        let again = extract_path(&engine, &tag, b"d/greeting.txt", dest.path().into()).await;
        assert!(again.expect_err("overwrote").to_string().contains("exists"));
        let link = extract_path(&engine, &tag, b"d/escape", dest.path().join("e")).await;
        assert!(
            link.expect_err("extracted a link")
                .to_string()
                .contains("not a regular file")
        );
        std::os::unix::fs::symlink("/tmp/stagescope-outside", dest.path().join("out"))
            .expect("symlink");
        let through = extract_path(&engine, &tag, b"d/greeting.txt", dest.path().join("out")).await;
        assert!(through.is_err());
        assert!(!std::path::Path::new("/tmp/stagescope-outside").exists());

        // The disk cache: reopening is a read of one file.
        let id = image_id(&engine, &tag).await.expect("id");
        let cache = DiskCache::new(cache_dir.path().to_path_buf(), 64 << 20);
        cache.put(&id, &ix).expect("put");
        let t = Instant::now();
        let back = cache.get(&id).expect("cached");
        eprintln!(
            "reopen from the disk cache: {:?} for {} entries",
            t.elapsed(),
            back.len()
        );
        assert_eq!(back.len(), ix.len());

        finish_cleanups().await;
    });
    assert_eq!(containers_of(&tag), "", "a container was left behind");
}
