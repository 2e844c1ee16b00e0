//! Global ARGs and FROM under BuildKit's expansion (dockerfile2llb convert.go: defaultArgs,
//! buildMetaArgs, buildDispatchStates), and the escape directive end to end.

use super::*;

fn bases(text: &str, opts: GraphOptions) -> Vec<String> {
    let df = Dockerfile::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    StageGraph::build(&df, &opts)
        .unwrap_or_else(|e| panic!("{e}"))
        .base_expanded
}

fn on(platform: &str) -> GraphOptions {
    GraphOptions {
        platform: Some(platform.into()),
        ..Default::default()
    }
}

/// moby's Dockerfile picks `delve-supported` or `delve-unsupported` this way.
const SUPPORTED: &str = "ARG OK=${TARGETPLATFORM#linux/amd64}
ARG OK=${OK#linux/arm64}
ARG OK=${OK:+\"unsupported\"}
ARG OK=${OK:-\"supported\"}
FROM busybox AS pick-supported
FROM scratch AS pick-unsupported
FROM pick-${OK}
";

#[test]
fn platform_args_drive_prefix_removal() {
    assert_eq!(bases(SUPPORTED, on("linux/amd64"))[2], "pick-supported");
    assert_eq!(bases(SUPPORTED, on("linux/arm64"))[2], "pick-supported");
    assert_eq!(bases(SUPPORTED, on("linux/s390x"))[2], "pick-unsupported");
    let df = Dockerfile::parse(SUPPORTED.as_bytes()).unwrap();
    let g = StageGraph::build(&df, &on("linux/riscv64")).unwrap();
    assert_eq!(g.base_stage[2], Some(1));
    // With no --platform the target is this machine.
    let host = Platform::host().format();
    let expected = if host == "linux/amd64" || host == "linux/arm64" {
        "pick-supported"
    } else {
        "pick-unsupported"
    };
    assert_eq!(bases(SUPPORTED, GraphOptions::default())[2], expected);
}

#[test]
fn every_platform_arg_is_visible_before_the_first_from() {
    let text = "ARG TARGETARCH\nFROM a-$TARGETPLATFORM-$TARGETOS-$TARGETARCH-${TARGETVARIANT:-none}\n\
                FROM b-$BUILDPLATFORM-$BUILDOS-$BUILDARCH-${BUILDVARIANT:-none}\n";
    let b = bases(text, on("linux/arm/v7"));
    assert_eq!(b[0], "a-linux/arm/v7-linux-arm-v7");
    let host = Platform::host();
    assert_eq!(
        b[1],
        format!("b-{}-{}-{}-none", host.format(), host.os, host.arch)
    );
    // `--build-arg TARGETARCH=...` overrides even without `ARG TARGETARCH`.
    let mut opts = on("linux/arm64");
    opts.build_args
        .insert("TARGETARCH".into(), "ppc64le".into());
    assert_eq!(bases("FROM x-${TARGETARCH}\n", opts)[0], "x-ppc64le");
}

#[test]
fn arg_without_default_keeps_the_earlier_value() {
    let text = "ARG V=1\nARG V\nARG W\nFROM a:${V}-${W:-unset}\n";
    assert_eq!(bases(text, GraphOptions::default())[0], "a:1-unset");
}

#[test]
fn targetstage_is_the_target_or_the_last_stage() {
    let text = "ARG S=${TARGETSTAGE}\nFROM img:${S} AS first\nFROM img:${TARGETSTAGE} AS last\n";
    assert_eq!(
        bases(text, GraphOptions::default()),
        vec!["img:last", "img:last"]
    );
    let opts = GraphOptions {
        target: Some("first".into()),
        ..Default::default()
    };
    assert_eq!(bases(text, opts)[0], "img:first");
    assert_eq!(
        bases("FROM img:$TARGETSTAGE\n", GraphOptions::default())[0],
        "img:default"
    );
}

#[test]
fn expansion_errors_point_at_the_arg_or_from() {
    let e = Dockerfile::parse(b"ARG A=1\nARG X=${NOPE:?need}\nFROM a\n").unwrap_err();
    assert_eq!((e.line, e.col), (2, 1));
    assert_eq!(e.message, "failed to process \"${NOPE:?need}\": NOPE: need");
    // ARG splits its words first, as BuildKit's parseWords: the blank ends the word.
    let e = Dockerfile::parse(b"ARG X=${NOPE:?set it}\nFROM a\n").unwrap_err();
    assert!(e.message.ends_with("syntax error: missing '}'"), "{e}");
    let e = Dockerfile::parse(b"ARG V=1\nFROM a AS b\nFROM b:${V:#x}\n").unwrap_err();
    assert_eq!(e.line, 3);
    assert!(
        e.message
            .contains("unsupported modifier (:#) in substitution"),
        "{e}"
    );
    assert_eq!(e.to_string(), format!("3:1: {}", e.message));
}
