use super::numbers::{self, BuildNumbers, StageNumbers};
use super::*;
use stagescope_dockerfile::{GraphOptions, Keyword, MOUNT_TYPES, StageGraph, known_flags};
use stagescope_fs::layers::{ImageLayers, Layer};
use stagescope_plan::BuildPlan;

fn parse(text: &str) -> Dockerfile {
    Dockerfile::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e:?}"))
}

/// The explanation of the last instruction of the last stage of `text`.
fn last(text: &str) -> String {
    let df = parse(text);
    let s = df.stages.len() - 1;
    let k = df.stages[s].instructions.len();
    instruction(&df, s, k, None)
        .expect("instruction")
        .paragraph()
}

const PRELUDE: &str = "FROM busybox AS builder\nRUN true\nFROM busybox AS app\n";

/// One row per keyword: an instruction after PRELUDE, and phrases its explanation must hold
/// (from Docker's Dockerfile reference).
const KEYWORDS: &[(Keyword, &str, &[&str])] = &[
    (
        Keyword::From,
        "FROM builder AS next",
        &[
            "from the result of stage builder",
            "makes no layer of its own",
        ],
    ),
    (
        Keyword::Run,
        "RUN make all",
        &["Runs `make all` in a shell", "makes a new layer"],
    ),
    (
        Keyword::Cmd,
        "CMD [\"app\", \"--serve\"]",
        &[
            "default command",
            "`docker run` replace it",
            "Only the last CMD counts",
            "metadata",
        ],
    ),
    (
        Keyword::Label,
        "LABEL org.example.team=web",
        &["label(s) `org.example.team=web`", "metadata"],
    ),
    (
        Keyword::Maintainer,
        "MAINTAINER ann@example.org",
        &["author", "deprecated", "metadata"],
    ),
    (
        Keyword::Expose,
        "EXPOSE 8080/tcp",
        &["listens on `8080/tcp`", "publishes nothing", "metadata"],
    ),
    (
        Keyword::Env,
        "ENV MODE=prod",
        &[
            "environment variable(s) `MODE=prod`",
            "every container",
            "metadata",
        ],
    ),
    (
        Keyword::Add,
        "ADD rootfs.tar.gz /",
        &[
            "from the build context",
            "extracting any local tar archive",
            "makes a new layer",
        ],
    ),
    (
        Keyword::Copy,
        "COPY app /usr/local/bin/",
        &[
            "Copies `app` from the build context into `/usr/local/bin/`",
            "makes a new layer",
        ],
    ),
    (
        Keyword::Entrypoint,
        "ENTRYPOINT [\"/app\"]",
        &[
            "executable a container runs",
            "CMD",
            "are passed to it",
            "metadata",
        ],
    ),
    (
        Keyword::Volume,
        "VOLUME /data",
        &[
            "`/data` as mount point(s)",
            "outside the image's layers",
            "metadata",
        ],
    ),
    (
        Keyword::User,
        "USER 1000:1000",
        &[
            "user (and group) `1000:1000`",
            "following RUN, CMD and ENTRYPOINT",
            "metadata",
        ],
    ),
    (
        Keyword::Workdir,
        "WORKDIR /app",
        &[
            "working directory to `/app`",
            "creates it if it is missing",
            "only when it has to create",
        ],
    ),
    (
        Keyword::Arg,
        "ARG VERSION=1",
        &[
            "build argument(s) `VERSION=1`",
            "--build-arg",
            "to the end of this stage only",
            "not kept in the image's environment",
            "no layer",
        ],
    ),
    (
        Keyword::Onbuild,
        "ONBUILD RUN make",
        &[
            "trigger `RUN make`",
            "does not run here",
            "starts FROM this one",
            "no layer",
        ],
    ),
    (
        Keyword::Stopsignal,
        "STOPSIGNAL SIGINT",
        &["`docker stop` sends", "`SIGINT`", "metadata"],
    ),
    (
        Keyword::Healthcheck,
        "HEALTHCHECK CMD wget -q -O- localhost",
        &[
            "how to test that a container still works",
            "`wget -q -O- localhost`",
            "unhealthy",
            "metadata",
        ],
    ),
    (
        Keyword::Shell,
        "SHELL [\"/bin/ash\", \"-eo\", \"pipefail\", \"-c\"]",
        &[
            "shell form of the following RUN, CMD and ENTRYPOINT",
            "metadata",
        ],
    ),
];

/// One row per flag the front end knows: keyword, instruction, phrases.
const FLAGS: &[(Keyword, &str, &str, &[&str])] = &[
    (
        Keyword::From,
        "platform",
        "FROM --platform=linux/arm64 busybox AS x",
        &["`linux/arm64` variant of the base image"],
    ),
    (
        Keyword::Run,
        "mount",
        "RUN --mount=type=cache,target=/root/.cache make",
        &["cache directory at `/root/.cache` that is not part of the image"],
    ),
    (
        Keyword::Run,
        "network",
        "RUN --network=none make",
        &["no network access"],
    ),
    (
        Keyword::Run,
        "security",
        "RUN --security=insecure make",
        &["full privileges", "security.insecure"],
    ),
    (
        Keyword::Run,
        "device",
        "RUN --device=vendor.com/gpu=all make",
        &["CDI device", "labs"],
    ),
    (
        Keyword::Copy,
        "from",
        "COPY --from=builder /src/app /usr/local/bin/",
        &[
            "Copies `/src/app` from the result of stage builder into `/usr/local/bin/` of this stage; nothing from the build context",
        ],
    ),
    (
        Keyword::Copy,
        "chown",
        "COPY --chown=app:app a /b",
        &["belong to `app:app` instead of root"],
    ),
    (
        Keyword::Copy,
        "chmod",
        "COPY --chmod=0755 a /b",
        &["permissions `0755`"],
    ),
    (
        Keyword::Copy,
        "link",
        "COPY --link a /b",
        &["layer of their own", "does not depend on the layers below"],
    ),
    (
        Keyword::Copy,
        "parents",
        "COPY --parents a/b/c /d/",
        &["keeps its parent directories"],
    ),
    (
        Keyword::Copy,
        "exclude",
        "COPY --exclude=*.md . /src/",
        &["`*.md` are left out"],
    ),
    (
        Keyword::Add,
        "chown",
        "ADD --chown=1:2 a /b",
        &["belong to `1:2`"],
    ),
    (
        Keyword::Add,
        "chmod",
        "ADD --chmod=600 a /b",
        &["permissions `600`"],
    ),
    (
        Keyword::Add,
        "link",
        "ADD --link a /b",
        &["layer of their own"],
    ),
    (
        Keyword::Add,
        "keep-git-dir",
        "ADD --keep-git-dir https://github.com/moby/buildkit.git /src",
        &["Clones the Git repository", "keeps its `.git` directory"],
    ),
    (
        Keyword::Add,
        "checksum",
        "ADD --checksum=sha256:abc https://example.org/f.tgz /f",
        &[
            "Downloads `https://example.org/f.tgz` (a remote archive is not extracted)",
            "has the checksum `sha256:abc`",
        ],
    ),
    (
        Keyword::Add,
        "exclude",
        "ADD --exclude=*.log . /app/",
        &["`*.log` are left out"],
    ),
    (
        Keyword::Add,
        "unpack",
        "ADD --unpack=true https://example.org/f.tgz /f",
        &["a remote one (URL) too"],
    ),
    (
        Keyword::Healthcheck,
        "interval",
        "HEALTHCHECK --interval=5m CMD true",
        &["every `5m`", "default 30s"],
    ),
    (
        Keyword::Healthcheck,
        "timeout",
        "HEALTHCHECK --timeout=3s CMD true",
        &["longer than `3s`", "default 30s"],
    ),
    (
        Keyword::Healthcheck,
        "start-period",
        "HEALTHCHECK --start-period=1m CMD true",
        &["first `1m`", "do not count"],
    ),
    (
        Keyword::Healthcheck,
        "start-interval",
        "HEALTHCHECK --start-interval=2s CMD true",
        &["every `2s`", "default 5s"],
    ),
    (
        Keyword::Healthcheck,
        "retries",
        "HEALTHCHECK --retries=5 CMD true",
        &["`5` failures in a row", "unhealthy"],
    ),
];

/// One row per mount type.
const MOUNTS: &[(&str, &str, &[&str])] = &[
    (
        "bind",
        "RUN --mount=type=bind,from=builder,source=/out,target=/in cp -r /in /app",
        &[
            "`/out` of stage builder is mounted at `/in` (read-only) for this command only",
            "nothing of it is copied into the image",
        ],
    ),
    (
        "cache",
        "RUN --mount=type=cache,target=/var/cache/apk apk add gcc",
        &[
            "cache directory at `/var/cache/apk` that is not part of the image",
            "kept between builds",
        ],
    ),
    (
        "tmpfs",
        "RUN --mount=type=tmpfs,target=/tmp make",
        &["tmpfs at `/tmp`", "nothing written there stays"],
    ),
    (
        "secret",
        "RUN --mount=type=secret,id=npmrc npm ci",
        &[
            "secret `npmrc`",
            "`/run/secrets/npmrc`",
            "not stored in the image",
        ],
    ),
    (
        "ssh",
        "RUN --mount=type=ssh git clone git@example.org:x.git",
        &["SSH agent", "no key is copied into the image"],
    ),
];

fn check(row: &str, text: &str, phrases: &[&str]) {
    for p in phrases {
        assert!(text.contains(p), "{row}: {p:?} not in {text:?}");
    }
}

#[test]
fn every_keyword_is_explained() {
    for k in Keyword::ALL {
        let (_, line, phrases) = KEYWORDS
            .iter()
            .find(|r| r.0 == k)
            .unwrap_or_else(|| panic!("no row for {k}"));
        check(line, &last(&format!("{PRELUDE}{line}\n")), phrases);
    }
}

#[test]
fn every_flag_is_explained() {
    for k in Keyword::ALL {
        for name in known_flags(k) {
            let (_, _, line, phrases) = FLAGS
                .iter()
                .find(|r| r.0 == k && r.1 == name)
                .unwrap_or_else(|| panic!("no row for {k} --{name}"));
            let text = last(&format!("{PRELUDE}{line}\n"));
            check(line, &text, phrases);
            assert!(
                name == "from" || text.contains(&format!("`--{name}")),
                "{line}: the flag is not named in {text:?}"
            );
        }
    }
}

#[test]
fn every_mount_type_is_explained() {
    for t in MOUNT_TYPES {
        let (_, line, phrases) = MOUNTS
            .iter()
            .find(|r| r.0 == t)
            .unwrap_or_else(|| panic!("no row for type={t}"));
        check(line, &last(&format!("{PRELUDE}{line}\n")), phrases);
    }
    // bind is the default type; rw writes are thrown away.
    let text = last(&format!("{PRELUDE}RUN --mount=target=/src,rw make\n"));
    check(
        "default bind",
        &text,
        &["`--mount=type=bind`", "of the build context", "thrown away"],
    );
}

#[test]
fn copy_from_an_image_an_index_and_a_heredoc() {
    let text = last(&format!(
        "{PRELUDE}COPY --from=nginx:1 /etc/nginx /etc/nginx\n"
    ));
    check(
        "image",
        &text,
        &["from the image `nginx:1` (pulled if the engine lacks it)"],
    );
    let text = last(&format!("{PRELUDE}COPY --from=0 /out out\n"));
    check(
        "relative",
        &text,
        &["into `out` (relative to the working directory)"],
    );
    check("index", &text, &["from the result of stage builder"]);
    let text = last(&format!("{PRELUDE}COPY <<EOF /etc/motd\nhello\nEOF\n"));
    check(
        "heredoc",
        &text,
        &[
            "Creates `/etc/motd` from the here-document `EOF`",
            "nothing from the build context",
        ],
    );
    let text = last(&format!("{PRELUDE}RUN <<EOF\nset -e\nmake\nEOF\n"));
    check(
        "run heredoc",
        &text,
        &["here-document `EOF` (lines 5-7)", "makes a new layer"],
    );
}

#[test]
fn add_sources_git_and_urls() {
    let text = last(&format!(
        "{PRELUDE}ADD https://github.com/moby/buildkit.git#v0.12 /src\n"
    ));
    check(
        "git",
        &text,
        &["Clones the Git repository", "without its `.git` directory"],
    );
    let text = last(&format!("{PRELUDE}ADD https://example.org/a.tar.gz /a\n"));
    check("url", &text, &["Downloads", "not extracted"]);
    // Quoted, or held by an ARG: still a download, as BuildKit reads it.
    let text = last(&format!(
        "{PRELUDE}ARG U=https://example.org\nADD \"$U/a.tar.gz\" /a\n"
    ));
    check("quoted url", &text, &["Downloads", "not extracted"]);
    assert!(!text.contains("from the build context"), "{text}");
}

#[test]
fn arg_scope_before_from_and_in_a_stage() {
    let df = parse("ARG BASE=busybox\nFROM $BASE AS a\nARG BASE\nRUN echo $BASE\n");
    let globals = global_args(&df);
    assert_eq!(globals.len(), 1);
    check(
        "global",
        &globals[0].2.paragraph(),
        &[
            "before the first FROM",
            "only FROM lines can use it",
            "declares it again",
        ],
    );
    let inside = instruction(&df, 0, 1, None).unwrap().paragraph();
    check("stage", &inside, &["to the end of this stage only"]);
}

#[test]
fn from_scratch_an_image_and_an_unnamed_stage() {
    let df = parse("FROM scratch\nCOPY a /\nFROM 0\n");
    check(
        "scratch",
        &instruction(&df, 0, 0, None).unwrap().paragraph(),
        &["`scratch`, an empty filesystem", "unnamed"],
    );
    // FROM names stages, never indexes (BuildKit): `FROM 0` is an image called 0.
    check(
        "index",
        &instruction(&df, 1, 0, None).unwrap().paragraph(),
        &["from the image `0`"],
    );
    assert!(instruction(&df, 0, 9, None).is_none());
    assert!(instruction(&df, 9, 0, None).is_none());
}

const DEMO: &str = "\
FROM busybox AS deps
RUN echo deps > /deps
FROM busybox AS tools
RUN echo unused
FROM busybox AS builder
COPY --from=deps /deps /src/deps
RUN make
FROM busybox AS release
COPY --from=builder /src/app /usr/local/bin/app
CMD [\"app\"]
";

fn demo() -> (Dockerfile, StageGraph) {
    let df = parse(DEMO);
    let g = StageGraph::build(&df, &GraphOptions::default()).unwrap();
    (df, g)
}

#[test]
fn stage_roles_in_the_graph() {
    let (df, g) = demo();
    let p = |i| stage(&df, &g, i, None).paragraph();
    check(
        "deps",
        &p(0),
        &[
            "starts from the image `busybox`",
            "Builder copies from it (line 6)",
            "The target, release, needs it",
        ],
    );
    check(
        "tools",
        &p(1),
        &[
            "does not need it",
            "BuildKit skips it",
            "classic builder builds every stage up to the target",
        ],
    );
    check(
        "builder",
        &p(2),
        &[
            "It copies from deps (line 6)",
            "Release copies from it (line 9)",
        ],
    );
    check("release", &p(3), &["It is the target"]);
    let df = parse("FROM busybox AS a\nFROM busybox AS b\n");
    let g = StageGraph::build(
        &df,
        &GraphOptions {
            target: Some("a".into()),
            ..GraphOptions::default()
        },
    )
    .unwrap();
    check(
        "after",
        &stage(&df, &g, 1, None).paragraph(),
        &["comes after the target, a", "no builder builds it"],
    );
}

fn numbers_for_demo() -> BuildNumbers {
    let mut n = BuildNumbers {
        stages: vec![None; 4],
        critical_path: vec![0, 2, 3],
        duration_ms: Some(4200),
    };
    n.stages[2] = Some(StageNumbers {
        files: 10,
        bytes: 10_000,
        reach: Some(numbers::Reach {
            files: 1,
            bytes: 2048,
            via: vec![numbers::CopyReach {
                line: 9,
                text: "COPY --from=builder /src/app /usr/local/bin/app".into(),
                files: 1,
                bytes: 2048,
            }],
            left_files: 9,
            left_bytes: 7952,
            left_largest: Vec::new(),
        }),
        ..StageNumbers::default()
    });
    n.stages[3] = Some(StageNumbers {
        files: 3,
        bytes: 2500,
        ..StageNumbers::default()
    });
    n
}

#[test]
fn numbers_change_the_facts_not_the_words() {
    let (df, g) = demo();
    let n = numbers_for_demo();
    let without = stage(&df, &g, 2, None);
    let with = stage(&df, &g, 2, Some(&n));
    assert_eq!(
        with.sentences[..without.sentences.len()],
        without.sentences[..]
    );
    check(
        "builder",
        &with.paragraph(),
        &[
            "Its image holds 10 files, 9.8K",
            "1 file (2.0K) of it reaches the final image: 1 file (2.0K) through `COPY --from=builder /src/app /usr/local/bin/app` (line 9)",
            "9 files (7.8K) stay behind",
        ],
    );
    let b = build(&df, &g, Some(&n)).paragraph();
    check(
        "build",
        &b,
        &[
            "holds 3 files, 2.4K",
            "builder, holds 9.8K",
            "25% of it",
            "deps -> builder -> release",
        ],
    );
    let h = handout(&df, &g, Some(&n));
    assert_eq!(h.critical_path, ["deps", "builder", "release"]);
    assert_eq!(h.stages[2].bytes, Some(10_000));
    assert_eq!(h.stages[1].bytes, None);
    let plain = handout(&df, &g, None);
    assert_eq!(
        plain.stages[2].instructions[1].explanation,
        h.stages[2].instructions[1].explanation
    );
}

fn layer(created: &str, added: &[(&str, Option<u64>)], deleted: &[&str]) -> Layer {
    Layer {
        added: added.iter().map(|(p, _)| p.as_bytes().to_vec()).collect(),
        sizes: added.iter().map(|(_, s)| *s).collect(),
        deleted: deleted.iter().map(|p| p.as_bytes().to_vec()).collect(),
        created_by: Some(created.into()),
        ..Layer::default()
    }
}

#[test]
fn instruction_numbers_from_layers() {
    let df =
        parse("FROM busybox AS b\nWORKDIR /src\nCOPY . .\nENV A=1\nRUN make && rm /src/main.c\n");
    let g = StageGraph::build(&df, &GraphOptions::default()).unwrap();
    let plan = BuildPlan::from_model(&df, &g);
    let layers = ImageLayers {
        light: false,
        layers: vec![
            layer(
                "ADD file:x in /",
                &[("bin", None), ("bin/sh", Some(900))],
                &[],
            ),
            layer(
                "COPY . . # buildkit",
                &[
                    ("src", None),
                    ("src/main.c", Some(40)),
                    ("src/Makefile", Some(12)),
                ],
                &[],
            ),
            layer(
                "RUN make && rm /src/main.c",
                &[
                    ("src/app", Some(5000)),
                    ("src/Makefile", Some(13)),
                    ("bin/sh", Some(901)),
                ],
                &["src/main.c"],
            ),
        ],
    };
    let n = numbers::from_layers(&plan, 0, &layers);
    assert_eq!(n.len(), 5);
    assert_eq!(n[1].layer, None, "WORKDIR made no layer here");
    assert_eq!(
        (n[2].added, n[2].changed, n[2].removed, n[2].bytes),
        (2, 0, 0, 52)
    );
    assert_eq!(n[2].layer, Some(1));
    assert_eq!(n[3], InstructionNumbers::default(), "ENV");
    assert_eq!(
        (n[4].added, n[4].changed, n[4].removed, n[4].bytes),
        (1, 2, 1, 5914)
    );
    assert_eq!(n[4].largest[0].path, "/src/app");
    assert_eq!(n[4].largest.len(), numbers::LARGEST);
    let e = instruction(&df, 0, 4, Some(&n[4])).unwrap();
    check(
        "run",
        &e.paragraph(),
        &["its layer (2 from the bottom) added 1 file, changed 2 and removed 1: 5.8K written"],
    );
    assert!(
        e.facts
            .iter()
            .any(|f| f.label == "files" && f.value == "+1 ~2 -1"),
        "{:?}",
        e.facts
    );
}

#[test]
fn what_reaches_the_final_image_and_what_stays_behind() {
    use stagescope_fs::provenance::ReleaseModel;
    use stagescope_fs::testutil::{dir, file, index};
    let df = parse(
        "FROM busybox AS builder\nRUN make\nFROM busybox AS release\nCOPY --from=builder /src/app /app\n",
    );
    let builder = index(&[
        dir("bin"),
        file("bin/sh", 2, 1),
        dir("src"),
        file("src/app", 6, 2),
        file("src/main.c", 8, 3),
    ]);
    let release = index(&[file("app", 6, 2), dir("bin"), file("bin/sh", 2, 1)]);
    let model = ReleaseModel::from_dockerfile(&df, 1);
    let r = numbers::reach(&model, &release, &[(0, &builder)]);
    assert_eq!(r.len(), 1);
    let (s, r) = &r[0];
    assert_eq!(*s, 0);
    assert_eq!((r.files, r.bytes), (1, 6));
    assert_eq!(r.via[0].line, 4);
    assert_eq!(
        (r.left_files, r.left_bytes),
        (1, 8),
        "main.c stays; bin/sh is the release's own"
    );
    assert_eq!(r.left_largest[0].path, "/src/main.c");
}

#[test]
fn an_instruction_that_hid_earlier_files_is_quoted_with_its_waste() {
    use stagescope_fs::waste::{HiddenCopy, How, Waste};
    let df = parse(
        "FROM busybox AS b\nRUN make\nCOPY app.conf /etc/app.conf\nRUN rm -rf /var/cache/apt /big\nRUN true\n",
    );
    let g = StageGraph::build(&df, &GraphOptions::default()).unwrap();
    let plan = BuildPlan::from_model(&df, &g);
    let layers = ImageLayers {
        light: false,
        layers: vec![
            layer("ADD file:x in /", &[("bin/sh", Some(900))], &[]),
            layer(
                "RUN make",
                &[
                    ("var/cache/apt/pkgcache.bin", Some(12_000_000)),
                    ("var/cache/apt/srcpkgcache.bin", Some(300_000)),
                    ("big", Some(5)),
                    ("etc/app.conf", Some(40)),
                ],
                &[],
            ),
            layer(
                "COPY app.conf /etc/app.conf # buildkit",
                &[("etc/app.conf", Some(41))],
                &[],
            ),
            layer(
                "RUN rm -rf /var/cache/apt /big",
                &[],
                &["var/cache/apt", "big"],
            ),
            layer("RUN true", &[], &[]),
        ],
    };
    // What the composition counted: the RUN (layer 3) deleted three copies of layer 1, the
    // COPY (layer 2) wrote over one.
    let hid = |path: &str, size, layer, hidden_by, how| HiddenCopy {
        path: path.as_bytes().to_vec(),
        size,
        layer,
        hidden_by,
        how,
    };
    let waste = Waste {
        layer_bytes: vec![900, 12_300_045, 41, 0, 0],
        hidden: vec![
            hid("etc/app.conf", 40, 1, 2, How::Overwritten),
            hid("big", 5, 1, 3, How::Deleted),
            hid("var/cache/apt/pkgcache.bin", 12_000_000, 1, 3, How::Deleted),
            hid("var/cache/apt/srcpkgcache.bin", 300_000, 1, 3, How::Deleted),
        ],
    };
    let mut n = numbers::from_layers(&plan, 0, &layers);
    numbers::with_waste(&mut n, &waste);
    assert_eq!(n[1].waste, None, "the RUN that made them hid nothing");
    assert_eq!(n[4].waste, None, "RUN true hid nothing");
    let w = n[3].waste.as_ref().expect("the rm's waste");
    assert_eq!(
        (w.bytes, w.files, w.deleted, w.overwritten),
        (12_300_005, 3, 3, 0)
    );
    assert_eq!(w.largest[0].path, "/var/cache/apt/pkgcache.bin");
    let e = instruction(&df, 0, 3, Some(&n[3])).unwrap();
    check(
        "rm",
        &e.paragraph(),
        &[
            "This RUN deleted 11.7M (12300005 bytes) that earlier layers of this image still \
           carry (3 files; largest /var/cache/apt/pkgcache.bin, 11.4M): the bytes stay in the \
           image, hidden. Do it in the same RUN that made them, or make them in a stage that \
           is not copied.",
        ],
    );
    assert!(
        e.facts
            .iter()
            .any(|f| f.label == "hid" && f.value == "11.7M of earlier layers (3 files)"),
        "{:?}",
        e.facts
    );
    let copy = instruction(&df, 0, 2, Some(&n[2])).unwrap().paragraph();
    check(
        "copy",
        &copy,
        &[
            "This COPY overwrote 40 bytes that earlier layers of this image still carry \
           (1 file; largest /etc/app.conf, 40 bytes): the bytes stay in the image, hidden. Write \
           each file once",
        ],
    );
    // Only the instructions that hid something say so.
    let quiet = instruction(&df, 0, 4, Some(&n[4])).unwrap().paragraph();
    assert!(!quiet.contains("earlier layers of this image"), "{quiet}");
}
