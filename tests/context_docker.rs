//! The real docker daemon is the oracle for which files a build context sends.
//!
//! We build `FROM scratch` + `COPY . /ctx/` with the classic builder (the docker CLI makes
//! the tar with its own .dockerignore rules), export a container of the image, and compare
//! the entries under `ctx/` with `list_context`. Skipped (with a note) when docker is not
//! available, unless `CI` is set.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use stagescope_context::dockerignore::PatternMatcher;
use stagescope_context::list_context;

mod oracle;

use oracle::{Cleanup, docker, docker_available};

fn write(root: &Path, rel: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, rel).expect("write");
}

const DOCKERIGNORE: &str = "\
# a comment
*.md
!docs/*.md
**/*.log
!keep.log
/abs
dir/
a/**/b
[a-c]?.txt
\\*.txt
../x
node_modules
!node_modules/keep
other
!**/keep
  spaced  
emptydir
deep/**/drop*
!deep/one/drop.keep
Dockerfile
";

fn kind(t: tar::EntryType) -> &'static str {
    if t.is_dir() {
        "dir"
    } else if t.is_symlink() {
        "symlink"
    } else {
        "file"
    }
}

/// Create a container of `image`, export it and list what is under `ctx/` (path -> kind).
fn exported_ctx(image: &str, guard: &mut Cleanup) -> BTreeMap<String, &'static str> {
    let out = docker(&["create", image, "/nonexistent"]);
    assert!(
        out.status.success(),
        "docker create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    guard.container = Some(id.clone());
    let out = docker(&["export", &id]);
    assert!(out.status.success(), "docker export failed");
    let mut actual = BTreeMap::new();
    let mut ar = tar::Archive::new(out.stdout.as_slice());
    for entry in ar.entries().expect("export entries") {
        let entry = entry.expect("entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        if let Some(rel) = path.strip_prefix("ctx/") {
            let rel = rel.trim_end_matches('/');
            if !rel.is_empty() {
                actual.insert(rel.to_string(), kind(entry.header().entry_type()));
            }
        }
    }
    actual
}

/// The tree and `.dockerignore` the oracle tests build: every pattern kind, exceptions,
/// symlinks, empty directories, and an ignored Dockerfile.
fn fixture(root: &Path) {
    for f in [
        "README.md",
        "docs/a.md",
        "docs/sub/b.md",
        "a.log",
        "xx/y/z.log",
        "keep.log",
        "sub/keep.log",
        "node_modules/keep/x.js",
        "node_modules/drop/y.js",
        "other/keep/z",
        "abs",
        "sub/abs",
        "dir/file",
        "dirx",
        "a/b",
        "a/x/y/b",
        "a/xb",
        "a1.txt",
        "d1.txt",
        "*.txt",
        "plain.txt",
        "x",
        "spaced",
        "with space",
        "deep/one/drop.me",
        "deep/one/drop.keep",
        "deep/two/three/drop",
        "deep/two/three/stay",
        "[x]",
    ] {
        write(root, f);
    }
    fs::create_dir_all(root.join("emptydir")).expect("mkdir");
    fs::create_dir_all(root.join("kept-empty")).expect("mkdir");
    symlink("plain.txt", root.join("link")).expect("symlink");
    symlink("/nonexistent/target", root.join("dangling")).expect("symlink");
    fs::write(root.join("Dockerfile"), "FROM scratch\nCOPY . /ctx/\n").expect("Dockerfile");
    fs::write(root.join(".dockerignore"), DOCKERIGNORE).expect(".dockerignore");
}

#[test]
fn dockerignore_matches_docker_classic_builder() {
    if !docker_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    fixture(root);

    // Ours: the sent entries plus the directories the daemon creates implicitly.
    let ours = list_context(root, None).expect("list_context");
    let original = PatternMatcher::from_dockerignore(DOCKERIGNORE).expect("patterns");
    let mut expected: BTreeMap<String, &str> = BTreeMap::new();
    for p in &ours {
        let name = p.to_string_lossy().into_owned();
        // The classic daemon drops Dockerfile and .dockerignore when the patterns match them.
        if (name == "Dockerfile" || name == ".dockerignore")
            && original.matches_or_parent_matches(&name)
        {
            continue;
        }
        let meta = fs::symlink_metadata(root.join(p)).expect("meta");
        let k = if meta.is_dir() {
            "dir"
        } else if meta.file_type().is_symlink() {
            "symlink"
        } else {
            "file"
        };
        expected.insert(name.clone(), k);
        let mut parent = PathBuf::from(&name);
        while parent.pop() && !parent.as_os_str().is_empty() {
            expected.insert(parent.to_string_lossy().into_owned(), "dir");
        }
    }

    let actual = docker_cli_sees(root);

    // Guard against a vacuous pass.
    assert_eq!(actual.get("node_modules/keep/x.js"), Some(&"file"));
    assert_eq!(actual.get("link"), Some(&"symlink"));
    assert!(!actual.contains_key("other/keep/z"));
    assert!(!actual.contains_key("Dockerfile"));
    assert_eq!(
        expected, actual,
        "list_context (left) disagrees with what docker sent (right)"
    );
}

/// What `COPY . /ctx/` gets from the docker CLI's build of `root` (path -> kind).
fn docker_cli_sees(root: &Path) -> BTreeMap<String, &'static str> {
    let tag = format!(
        "stagescope-test-ctx:{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut guard = Cleanup {
        image: tag.clone(),
        container: None,
    };
    let root_str = root.to_str().expect("utf-8 temp path");
    let out = docker(&["build", "-q", "-t", &tag, root_str]);
    assert!(
        out.status.success(),
        "docker build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    exported_ctx(&tag, &mut guard)
}

/// What `COPY . /ctx/` gets from our BuildKit build of `root`, its context sent through
/// the build session.
fn session_build_sees(root: &Path) -> BTreeMap<String, &'static str> {
    use stagescope_context::BuildContext;
    use stagescope_core::engine_internals::connect::{Environment, connect};
    use stagescope_core::engine_internals::run::{
        BuildInputs, BuildOn, BuildRequest, BuilderChoice, new_build_id, run_build,
    };
    use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};
    use stagescope_plan::{BuildPlan, BuilderKind};

    let text = fs::read(root.join("Dockerfile")).expect("Dockerfile");
    let df = Dockerfile::parse(&text).expect("parse");
    let graph = StageGraph::build(&df, &GraphOptions::default()).expect("graph");
    let plan = BuildPlan::from_model(&df, &graph);
    let ctx = BuildContext::new(root, None).expect("context");
    let req = BuildRequest {
        builder: BuilderChoice::Buildkit,
        ..Default::default()
    };
    let id = new_build_id();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let outcome = rt.block_on(async {
        let engine = connect(&Environment::from_process(None))
            .await
            .expect("connect");
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let inputs = BuildInputs {
            engine: &engine,
            req: &req,
            dockerfile: &df,
            context: &ctx,
            build_id: &id,
            session: None,
        };
        run_build(BuildOn::Engine(inputs), &plan, &tx)
            .await
            .expect("build")
    });
    assert_eq!(outcome.builder, BuilderKind::Buildkit);
    let image = outcome.image.clone().expect("an image");
    let mut guard = Cleanup {
        image,
        container: None,
    };
    let seen = exported_ctx(&guard.image.clone(), &mut guard);
    drop(guard);
    rt.block_on(async {
        if let Ok(engine) = connect(&Environment::from_process(None)).await {
            let _ = stagescope_core::engine_internals::clean::clean(&engine, Some(&id)).await;
        }
    });
    seen
}

/// With BuildKit the context goes through the session and the daemon applies
/// `.dockerignore`: COPY sees exactly what it sees from the docker CLI, the ignored
/// Dockerfile left out.
#[test]
fn session_context_matches_the_docker_cli() {
    if !docker_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    fixture(tmp.path());
    let mut cli = docker_cli_sees(tmp.path());
    let ours = session_build_sees(tmp.path());
    assert_eq!(ours.get("node_modules/keep/x.js"), Some(&"file"));
    assert!(!ours.contains_key("Dockerfile"));
    // The one place BuildKit's walk (fsutil, in the client: buildx and the docker CLI's
    // BuildKit path alike) parts from the tar walk: `other` is excluded, but the wildcard
    // exception `!**/keep` makes fsutil walk into it and keep `other/keep`, where moby's
    // archive walk only descends for an exception spelled `other/...`.
    assert!(!cli.contains_key("other/keep/z"));
    for (p, k) in [
        ("other", "dir"),
        ("other/keep", "dir"),
        ("other/keep/z", "file"),
    ] {
        cli.insert(p.to_string(), k);
    }
    assert_eq!(
        ours, cli,
        "session build (left) and docker CLI (right) disagree"
    );
}

/// An ignored `.dockerignore` and Dockerfile stay out of `COPY .` with BuildKit, as with the
/// docker CLI (the tar path has to send both and ask the daemon to drop them).
#[test]
fn session_context_leaves_out_an_ignored_dockerfile_and_dockerignore() {
    if !docker_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(root, "kept/file");
    fs::write(root.join("Dockerfile"), "FROM scratch\nCOPY . /ctx/\n").expect("Dockerfile");
    fs::write(root.join(".dockerignore"), "Dockerfile\n.dockerignore\n").expect("ignore");
    let want: BTreeMap<String, &str> = [("kept", "dir"), ("kept/file", "file")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    assert_eq!(session_build_sees(root), want);
    assert_eq!(docker_cli_sees(root), want);
}

/// Our own stream, sent through bollard to the classic builder with `-f` outside the
/// context: the generated Dockerfile name is what the daemon reads, it does not end up in
/// the image (the sent .dockerignore names it), and symlinks arrive as symlinks.
#[tokio::test]
async fn our_stream_builds_with_outside_dockerfile() {
    use futures_util::StreamExt;
    use stagescope_context::BuildContext;
    use stagescope_core::engine_internals::bollard::query_parameters::{
        BuildImageOptions, BuilderVersion,
    };

    if !docker_available() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let ctx_dir = tmp.path().join("ctx");
    write(&ctx_dir, "sub/file.txt");
    write(&ctx_dir, "ignored.tmp");
    fs::write(ctx_dir.join(".dockerignore"), "*.tmp\n").expect(".dockerignore");
    symlink("sub/file.txt", ctx_dir.join("link")).expect("symlink");
    let df = tmp.path().join("elsewhere.Dockerfile");
    fs::write(&df, "FROM scratch\nCOPY . /ctx/\n").expect("Dockerfile");

    let ctx = BuildContext::new(&ctx_dir, Some(&df)).expect("context");
    assert!(ctx.dockerfile_outside());
    let name = ctx.dockerfile_name().to_string();
    assert!(
        ctx.list()
            .expect("list")
            .iter()
            .any(|p| p == Path::new(&name))
    );

    let tag = format!(
        "stagescope-test-ctx:{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let mut guard = Cleanup {
        image: tag.clone(),
        container: None,
    };
    let docker_api =
        stagescope_core::engine_internals::bollard::Docker::connect_with_local_defaults()
            .expect("connect")
            .negotiate_version()
            .await
            .expect("negotiate");
    let stream = ctx.stream();
    let progress = stream.progress();
    let options = BuildImageOptions {
        dockerfile: name.clone(),
        t: Some(tag.clone()),
        rm: true,
        version: BuilderVersion::BuilderV1,
        ..Default::default()
    };
    let mut build = docker_api.build_image(
        options,
        None,
        Some(stagescope_core::engine_internals::bollard::body_try_stream(
            stream,
        )),
    );
    while let Some(info) = build.next().await {
        let info = info.expect("build stream");
        if let Some(detail) = info.error_detail {
            panic!("build failed: {detail:?}");
        }
    }
    assert!(progress.bytes_sent() > 0);

    let actual = exported_ctx(&tag, &mut guard);
    drop(guard);
    let want: BTreeMap<String, &str> = [
        (".dockerignore", "file"),
        ("link", "symlink"),
        ("sub", "dir"),
        ("sub/file.txt", "file"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(actual, want);
}
