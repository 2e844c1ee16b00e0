use super::*;
use crate::testutil::{dir, file, index, symlink};

const DOCKERFILE: &str = "\
FROM busybox AS builder
WORKDIR /src
RUN make
FROM busybox AS assets
RUN echo
FROM busybox
WORKDIR /srv
COPY --from=builder /src /app
COPY --from=builder /src/bin/tool /usr/local/bin/
COPY --from=assets /web/*.css static/
COPY conf.toml /etc/app.toml
RUN echo hi > /srv/hello
";

fn model() -> ReleaseModel {
    let df = Dockerfile::parse(DOCKERFILE.as_bytes()).expect("parse");
    ReleaseModel::from_dockerfile(&df, 2)
}

#[test]
fn reads_the_copies_of_the_release_stage() {
    let m = model();
    assert_eq!(m.base_name, "busybox");
    assert_eq!(m.source_stages(), vec![0, 1]);
    let c: Vec<(usize, &CopySource, Vec<String>, &str, bool)> = m
        .copies
        .iter()
        .map(|c| {
            (
                c.instruction,
                &c.from,
                c.srcs.clone(),
                c.dst.as_str(),
                c.dst_is_dir,
            )
        })
        .collect();
    assert_eq!(
        c,
        vec![
            (
                2,
                &CopySource::Stage(0),
                vec!["src".to_string()],
                "app",
                false
            ),
            (
                3,
                &CopySource::Stage(0),
                vec!["src/bin/tool".to_string()],
                "usr/local/bin",
                true
            ),
            (
                4,
                &CopySource::Stage(1),
                vec!["web/*.css".to_string()],
                "srv/static",
                true
            ),
            (
                5,
                &CopySource::Context,
                vec!["conf.toml".to_string()],
                "etc/app.toml",
                false
            ),
        ]
    );
}

#[test]
fn attributes_each_release_file() {
    let m = model();
    let builder = index(&[
        file("bin/busybox", 1000, 1),
        file("src/bin/tool", 70, 2),
        file("src/main.c", 30, 3),
        dir("src/.git"),
        file("src/.git/HEAD", 5, 4),
    ]);
    let assets = index(&[file("web/a.css", 9, 5), file("web/b.js", 9, 6)]);
    let base = index(&[
        file("bin/busybox", 1000, 1),
        dir("etc"),
        symlink("bin/sh", "busybox"),
    ]);
    let release = index(&[
        file("bin/busybox", 1000, 1),
        symlink("bin/sh", "busybox"),
        file("app/bin/tool", 70, 2),
        file("app/main.c", 31, 99),
        file("app/.git/HEAD", 5, 4),
        file("usr/local/bin/tool", 70, 2),
        file("srv/static/a.css", 9, 5),
        file("srv/hello", 3, 7),
        file("etc/app.toml", 4, 8),
        file("etc/passwd", 4, 9),
    ]);
    let stages = [(0, &builder), (1, &assets)];
    let p = Provenance::attribute(
        &m,
        &release,
        &Inputs {
            stages: &stages,
            base: Some(&base),
        },
    );
    let says = |path: &str| {
        let id = release.lookup(path.as_bytes()).expect(path);
        Provenance::describe(&m, p.of(id))
    };
    assert_eq!(says("bin/busybox"), "base image busybox");
    assert_eq!(says("bin/sh"), "base image busybox");
    assert_eq!(
        says("app"),
        "COPY --from=builder /src /app (line 8), identical"
    );
    assert_eq!(
        says("app/bin/tool"),
        "COPY --from=builder /src /app (line 8), identical"
    );
    assert_eq!(
        says("app/main.c"),
        "COPY --from=builder /src /app (line 8), changed since"
    );
    assert_eq!(
        says("app/.git/HEAD"),
        "COPY --from=builder /src /app (line 8), identical"
    );
    assert_eq!(
        says("usr/local/bin/tool"),
        "COPY --from=builder /src/bin/tool /usr/local/bin/ (line 9), identical"
    );
    assert_eq!(
        says("usr/local/bin"),
        "COPY --from=builder /src/bin/tool /usr/local/bin/ (line 9)"
    );
    assert_eq!(
        says("srv/static/a.css"),
        "COPY --from=assets /web/*.css static/ (line 10), identical"
    );
    assert_eq!(
        says("etc/app.toml"),
        "COPY conf.toml /etc/app.toml (line 11)"
    );
    assert_eq!(says("srv"), "WORKDIR (line 7)");
    assert_eq!(says("srv/hello"), "RUN (line 12)");
    assert_eq!(says("etc/passwd"), "RUN (line 12)");
    let id = release.lookup(b"app/main.c").expect("main.c");
    let Origin::Copy {
        source: Some(s), ..
    } = p.of(id)
    else {
        panic!("not a copy")
    };
    assert_eq!(builder.get(s).path(), b"src/main.c");
    assert_eq!(
        p.copied_from_stages(&m, &release),
        (5, 70 + 31 + 5 + 70 + 9)
    );
    // Without the base image's index, the rest cannot be told apart.
    let p = Provenance::attribute(
        &m,
        &release,
        &Inputs {
            stages: &stages,
            base: None,
        },
    );
    let id = release.lookup(b"bin/busybox").expect("busybox");
    assert_eq!(p.of(id), Origin::BaseOrOwn);
}

#[test]
fn a_later_copy_of_the_same_path_wins() {
    let df = Dockerfile::parse(
        b"FROM a AS one\nFROM a AS two\nFROM a\nCOPY --from=one /x /x\nCOPY --from=two /x /x\n",
    )
    .expect("parse");
    let m = ReleaseModel::from_dockerfile(&df, 2);
    let one = index(&[file("x", 1, 1)]);
    let two = index(&[file("x", 1, 2)]);
    let release = index(&[file("x", 1, 2)]);
    let stages = [(0, &one), (1, &two)];
    let p = Provenance::attribute(
        &m,
        &release,
        &Inputs {
            stages: &stages,
            base: None,
        },
    );
    let id = release.lookup(b"x").expect("x");
    assert_eq!(
        p.of(id),
        Origin::Copy {
            step: 1,
            source: two.lookup(b"x"),
            identical: Some(true)
        }
    );
    assert_eq!(Provenance::instruction(&m, p.of(id)), Some(2));
}

#[test]
fn workdir_and_copy_words_are_read_as_buildkit_expands_them() {
    let df = Dockerfile::parse(
        b"FROM a AS build\nFROM a\nARG ROOT=/srv\nENV APP=\"$ROOT/app\"\nWORKDIR \"$APP\"\n\
          COPY --from=build \"/out/${NAME:-tool}\" ./bin/\n",
    )
    .expect("parse");
    let m = ReleaseModel::from_dockerfile(&df, 1);
    assert_eq!(m.others[0].3.as_deref(), Some("srv/app"));
    assert_eq!(m.copies[0].srcs, ["out/tool"]);
    assert_eq!(m.copies[0].dst, "srv/app/bin");
    let opts = GraphOptions {
        build_args: [("ROOT".to_string(), "/opt".to_string())].into(),
        ..GraphOptions::default()
    };
    let m = ReleaseModel::from_dockerfile_with(&df, 1, &opts);
    assert_eq!(m.copies[0].dst, "opt/app/bin");
}
