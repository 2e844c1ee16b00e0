use super::*;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::fs::{PermissionsExt, symlink};
use tar::EntryType;

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(p, content).expect("write");
}

fn names(list: &[PathBuf]) -> Vec<String> {
    list.iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

async fn collect(stream: ContextStream) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut s = stream;
    while let Some(chunk) = s.next().await {
        let chunk = chunk?;
        assert!(chunk.len() <= CHUNK_SIZE);
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[test]
fn walk_order_and_exceptions_inside_excluded_dirs() {
    let t = tempfile::tempdir().expect("tempdir");
    let r = t.path();
    write(r, "Dockerfile", "FROM scratch\n");
    write(r, "b.txt", "b");
    write(r, "a.md", "a");
    write(r, "node_modules/keep/x.js", "k");
    write(r, "node_modules/drop/y.js", "d");
    write(r, "other/keep/z", "z");
    write(r, "logs/a.log", "");
    write(r, "logs/keep.log", "");
    write(
        r,
        ".dockerignore",
        "*.md\nnode_modules\n!node_modules/keep\nother\n!**/keep\n**/*.log\n!logs/keep.log\n",
    );
    let got = names(&list_context(r, None).expect("list"));
    assert_eq!(
        got,
        [
            ".dockerignore",
            "Dockerfile",
            "b.txt",
            "logs",
            "logs/keep.log",
            "node_modules/keep",
            "node_modules/keep/x.js",
        ]
    );
}

#[test]
fn dockerfile_and_dockerignore_always_sent() {
    let t = tempfile::tempdir().expect("tempdir");
    let r = t.path();
    write(r, "sub/Dockerfile", "FROM scratch\n");
    write(r, "sub/other", "");
    write(r, ".dockerignore", "*\n");
    let ctx = BuildContext::new(r, Some(&r.join("sub/Dockerfile"))).expect("ctx");
    assert_eq!(ctx.dockerfile_name(), "sub/Dockerfile");
    assert!(!ctx.dockerfile_outside());
    assert_eq!(
        names(&ctx.list().expect("list")),
        [".dockerignore", "sub/Dockerfile"]
    );
}

#[test]
fn dockerfile_specific_ignore_wins() {
    let t = tempfile::tempdir().expect("tempdir");
    let r = t.path();
    write(r, "app.Dockerfile", "FROM scratch\n");
    write(r, "app.Dockerfile.dockerignore", "a\n");
    write(r, ".dockerignore", "b\n");
    write(r, "a", "");
    write(r, "b", "");
    let ctx = BuildContext::new(r, Some(&r.join("app.Dockerfile"))).expect("ctx");
    assert_eq!(
        ctx.dockerignore_path(),
        Some(r.join("app.Dockerfile.dockerignore").as_path())
    );
    assert_eq!(
        names(&ctx.list().expect("list")),
        [
            ".dockerignore",
            "app.Dockerfile",
            "app.Dockerfile.dockerignore",
            "b"
        ]
    );
}

#[test]
fn lowercase_dockerfile_fallback() {
    let t = tempfile::tempdir().expect("tempdir");
    write(t.path(), "dockerfile", "FROM scratch\n");
    let ctx = BuildContext::new(t.path(), None).expect("ctx");
    assert_eq!(ctx.dockerfile_name(), "dockerfile");
}

#[test]
fn clear_errors() {
    let t = tempfile::tempdir().expect("tempdir");
    let missing = t.path().join("nope");
    let e = BuildContext::new(&missing, None).expect_err("missing dir");
    assert!(matches!(e, ContextError::MissingDir(_)), "{e}");
    let e = BuildContext::new(t.path(), None).expect_err("no Dockerfile");
    assert!(e.to_string().starts_with("cannot locate Dockerfile"), "{e}");
    write(t.path(), "Dockerfile", "FROM scratch\n");
    write(t.path(), ".dockerignore", "[\n");
    let e = BuildContext::new(t.path(), None).expect_err("bad pattern");
    assert!(e.to_string().contains("syntax error"), "{e}");
    assert!(!e.to_string().contains('\n'));
}

#[test]
fn unreadable_file_is_a_clear_error() {
    let t = tempfile::tempdir().expect("tempdir");
    write(t.path(), "Dockerfile", "FROM scratch\n");
    write(t.path(), "secret", "x");
    let p = t.path().join("secret");
    fs::set_permissions(&p, fs::Permissions::from_mode(0o000)).expect("chmod");
    if std::fs::File::open(&p).is_ok() {
        return; // running as root: permissions are not enforced
    }
    let e = list_context(t.path(), None).expect_err("unreadable");
    assert!(e.to_string().starts_with("cannot read "), "{e}");
    assert!(e.to_string().contains("secret"), "{e}");
}

#[tokio::test]
async fn stream_outside_dockerfile_symlinks_modes() {
    let t = tempfile::tempdir().expect("tempdir");
    let ctx_dir = t.path().join("ctx");
    write(&ctx_dir, "big.bin", &"x".repeat(200_000));
    write(&ctx_dir, "run.sh", "#!/bin/sh\n");
    fs::set_permissions(ctx_dir.join("run.sh"), fs::Permissions::from_mode(0o751)).expect("chmod");
    symlink("/etc/passwd", ctx_dir.join("link")).expect("symlink");
    write(t.path(), "outside.Dockerfile", "FROM scratch\nCOPY . /\n");
    let ctx = BuildContext::new(&ctx_dir, Some(&t.path().join("outside.Dockerfile"))).expect("ctx");
    assert!(ctx.dockerfile_outside());
    let name = ctx.dockerfile_name().to_string();
    assert!(name.starts_with(".dockerfile.") && name.len() == ".dockerfile.".len() + 20);

    let stream = ctx.stream();
    let progress = stream.progress();
    let data = collect(stream).await.expect("stream");
    assert_eq!(progress.bytes_sent(), data.len() as u64);

    let mut seen = HashMap::new();
    let mut ar = tar::Archive::new(data.as_slice());
    for entry in ar.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let h = entry.header().clone();
        let mut content = String::new();
        if h.entry_type() == EntryType::Regular && path != "big.bin" {
            entry.read_to_string(&mut content).expect("read");
        }
        seen.insert(path, (h, content));
    }
    let (df, content) = &seen[&name];
    assert_eq!(content, "FROM scratch\nCOPY . /\n");
    assert_eq!(df.uid().expect("uid"), 0);
    let (link, _) = &seen["link"];
    assert_eq!(link.entry_type(), EntryType::Symlink);
    assert_eq!(
        link.link_name().expect("link").expect("some"),
        Path::new("/etc/passwd")
    );
    let (run, _) = &seen["run.sh"];
    assert_eq!(run.mode().expect("mode") & 0o7777, 0o751);
    assert_eq!(run.gid().expect("gid"), 0);
    let (big, _) = &seen["big.bin"];
    assert_eq!(big.size().expect("size"), 200_000);
    let (_, ignore) = &seen[".dockerignore"];
    assert_eq!(ignore, &format!(".dockerignore\n{name}\n"));
    let listed = names(&ctx.list().expect("list"));
    assert_eq!(
        listed,
        ["big.bin", "link", "run.sh", name.as_str(), ".dockerignore"]
    );
}

#[tokio::test]
async fn write_tar_matches_stream_size_and_hardlinks() {
    let t = tempfile::tempdir().expect("tempdir");
    let r = t.path();
    write(r, "Dockerfile", "FROM scratch\n");
    write(r, "a", "same");
    fs::hard_link(r.join("a"), r.join("b")).expect("hardlink");
    let ctx = BuildContext::new(r, None).expect("ctx");
    let mut buf = Vec::new();
    let n = ctx.write_tar(&mut buf).expect("tar");
    assert_eq!(n, buf.len() as u64);
    let mut ar = tar::Archive::new(buf.as_slice());
    let kinds: Vec<_> = ar
        .entries()
        .expect("entries")
        .map(|e| e.expect("entry").header().entry_type())
        .collect();
    assert_eq!(
        kinds,
        [EntryType::Regular, EntryType::Regular, EntryType::Link]
    );
}
