use std::os::unix::fs::symlink;

use super::*;

fn tree(files: &[&str]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    for f in files {
        let p = tmp.path().join(f);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(&p, f).expect("write");
    }
    tmp
}

fn paths(dir: &SyncDir, inc: &[&str], exc: &[&str], follow: &[&str]) -> Vec<String> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let f = Filter::new(&s(inc), &s(exc), &s(follow), &dir.root).expect("filter");
    dir.walk(&f)
        .expect("walk")
        .into_iter()
        .map(|i| i.stat.path)
        .collect()
}

fn dir(root: &Path) -> SyncDir {
    SyncDir {
        root: root.to_path_buf(),
        reset_owner: true,
        virtual_files: BTreeMap::new(),
    }
}

#[test]
fn lexical_order_directories_before_their_contents() {
    let t = tree(&["a.b", "a/x", "b"]);
    assert_eq!(
        paths(&dir(t.path()), &[], &[], &[]),
        ["a", "a/x", "a.b", "b"]
    );
}

#[test]
fn excluded_directories_are_sent_only_for_what_an_exception_keeps() {
    let t = tree(&["nm/keep/x.js", "nm/drop/y.js", "src/a.rs", "README.md"]);
    let d = dir(t.path());
    assert_eq!(
        paths(&d, &[], &["nm", "!nm/keep", "*.md"], &[]),
        ["nm", "nm/keep", "nm/keep/x.js", "src", "src/a.rs"]
    );
    // A wildcard exception: every directory is walked, and an excluded one appears only
    // with something inside it.
    assert_eq!(
        paths(&d, &[], &["nm", "!nm/*/x.js"], &[]),
        [
            "README.md",
            "nm",
            "nm/keep",
            "nm/keep/x.js",
            "src",
            "src/a.rs"
        ]
    );
    assert_eq!(paths(&d, &[], &["**"], &[]), Vec::<String>::new());
}

#[test]
fn includes_and_followpaths_pick_single_files() {
    let t = tree(&["Dockerfile", "sub/deep/file", "other"]);
    symlink("sub/deep/file", t.path().join("link")).expect("symlink");
    let d = dir(t.path());
    assert_eq!(paths(&d, &["Dockerfile"], &[], &[]), ["Dockerfile"]);
    assert_eq!(
        paths(&d, &[], &[], &["link"]),
        ["link", "sub", "sub/deep", "sub/deep/file"]
    );
    assert_eq!(
        paths(&d, &["sub/deep"], &[], &[]),
        ["sub", "sub/deep", "sub/deep/file"]
    );
}

#[test]
fn stats_carry_go_modes_sizes_and_links() {
    let t = tree(&["f", "d/g"]);
    symlink("f", t.path().join("l")).expect("symlink");
    fs::hard_link(t.path().join("f"), t.path().join("h")).expect("hardlink");
    let items = dir(t.path()).walk(&Filter::default()).expect("walk");
    let by: HashMap<_, _> = items.iter().map(|i| (i.stat.path.as_str(), i)).collect();
    assert_eq!(by["d"].stat.mode & GO_DIR, GO_DIR);
    assert_eq!(by["d"].stat.size, 0);
    assert_eq!(by["f"].stat.mode & GO_TYPE, 0);
    assert_eq!(by["f"].stat.size, 1);
    assert_eq!(by["f"].stat.uid, 0);
    assert!(by["f"].source.is_some());
    assert_eq!(by["l"].stat.mode & GO_SYMLINK, GO_SYMLINK);
    assert_eq!(by["l"].stat.linkname, "f");
    assert!(by["l"].source.is_none());
    assert_eq!(by["h"].stat.linkname, "f");
    assert_eq!(by["h"].stat.size, 0);
}

#[test]
fn made_up_files_take_their_place_and_their_stat_follows_their_text() {
    let t = tree(&["Dockerfile", "zzz"]);
    let mut d = dir(t.path());
    d.virtual_files
        .insert("Dockerfile.cut".into(), Arc::from(&b"FROM a\n"[..]));
    let items = d.walk(&Filter::default()).expect("walk");
    let names: Vec<_> = items.iter().map(|i| i.stat.path.as_str()).collect();
    assert_eq!(names, ["Dockerfile", "Dockerfile.cut", "zzz"]);
    let a = virtual_stat("x", b"FROM a\n");
    assert_eq!(a, virtual_stat("x", b"FROM a\n"));
    assert_ne!(a.mod_time, virtual_stat("x", b"FROM b\n").mod_time);
}

#[test]
fn extended_attributes_travel_with_the_stat() {
    let t = tree(&["caps", "plain"]);
    let caps = t.path().join("caps");
    rustix::fs::lsetxattr(
        &caps,
        "user.stagescope",
        b"kept",
        rustix::fs::XattrFlags::empty(),
    )
    .expect("set a user xattr (ext4 here)");
    let f = Filter::new(&[], &[], &[], t.path()).expect("filter");
    let items = dir(t.path()).walk(&f).expect("walk");
    let x = |name: &str| {
        items
            .iter()
            .find(|i| i.stat.path == name)
            .map(|i| i.stat.xattrs.clone())
            .expect("entry")
    };
    assert_eq!(
        x("caps").get("user.stagescope").map(Vec::as_slice),
        Some(&b"kept"[..])
    );
    assert!(x("plain").is_empty());
}
