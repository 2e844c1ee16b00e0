//! Content sniffing against the real daemon: a release stage that ships a PEM private key
//! under an innocent name (`/app/deploy.txt`) and an `.npmrc` holding a token, copied from
//! a builder. Indexing the exported image must flag both by content, and the rules must
//! report them as errors. The image is removed on every path. Skipped (with a note) when
//! docker is not available, unless `CI` is set.

use std::process::Command;

use stagescope_core::engine_internals::connect::{Environment, connect};
use stagescope_core::engine_internals::export::{finish_cleanups, index_image};
use stagescope_fs::ContentFlags;
use stagescope_fs::rules::{RuleSet, Severity};

mod oracle;

use oracle::{Cleanup, docker, docker_available};

const DOCKERFILE: &str = r#"FROM busybox AS builder
RUN mkdir -p /src \
 && printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n' > /src/deploy.txt \
 && printf '//registry.npmjs.org/:_authToken=npm_0123456789abcdef\n' > /src/.npmrc \
 && echo 'just notes' > /src/notes.txt
FROM busybox
COPY --from=builder /src /app
"#;

#[test]
fn a_pem_key_under_an_innocent_name_is_found_by_content() {
    if !docker_available() {
        return;
    }
    // docker_available made the base already; setup-base is idempotent, so say so here too.
    let out = Command::new(env!("CARGO_BIN_EXE_stagescope"))
        .arg("setup-base")
        .output()
        .expect("run setup-base");
    assert!(out.status.success(), "setup-base failed");
    let tag = format!("stagescope-sniff-test:{}", std::process::id());
    // The builder stage is an untagged image of its own; its RUN writes "just notes".
    let _builder = oracle::Dangling("just notes".into());
    let _guard = Cleanup {
        image: tag.clone(),
        container: None,
    };
    let ctx = tempfile::tempdir().expect("tempdir");
    std::fs::write(ctx.path().join("Dockerfile"), DOCKERFILE).expect("write Dockerfile");
    let out = docker(&[
        "build",
        "-q",
        "-t",
        &tag,
        ctx.path().to_str().expect("utf-8 temp path"),
    ]);
    assert!(
        out.status.success(),
        "docker build: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ix = rt.block_on(async {
        let engine = connect(&Environment::from_process(None))
            .await
            .expect("connect");
        let ix = index_image(&engine, &tag, |_| {}).await.expect("index");
        finish_cleanups().await;
        ix
    });
    let flags = |p: &str| {
        let id = ix
            .lookup(p.as_bytes())
            .unwrap_or_else(|| panic!("{p} missing"));
        ix.get(id).content_flags()
    };
    assert_eq!(flags("app/deploy.txt"), ContentFlags::PRIVATE_KEY);
    assert_eq!(flags("app/.npmrc"), ContentFlags::AUTH_TOKEN);
    assert_eq!(flags("app/notes.txt"), ContentFlags::empty());
    // busybox itself is larger than the sniffing limit and holds nothing of the sort.
    assert_eq!(flags("bin/busybox"), ContentFlags::empty());

    let rules = RuleSet::builtin();
    let found: Vec<(String, String, Severity)> = rules
        .scan(&ix)
        .iter()
        .map(|f| {
            let r = rules.rule(f);
            let path = String::from_utf8_lossy(ix.get(f.entry).path()).into_owned();
            (path, r.name.clone(), r.severity)
        })
        .collect();
    for (path, rule) in [
        ("app/deploy.txt", "private-key-content"),
        ("app/.npmrc", "registry-token-content"),
    ] {
        assert!(
            found
                .iter()
                .any(|(p, r, s)| p == path && r == rule && *s == Severity::Error),
            "{path} not reported by {rule}: {found:?}"
        );
    }
}
