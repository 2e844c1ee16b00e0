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

fn stage_words(df: &Dockerfile, stage: usize) -> Vec<Vec<String>> {
    df.stages[stage]
        .instructions
        .iter()
        .map(|i| i.args.words())
        .collect()
}

#[test]
fn backtick_escape_makes_backslash_ordinary() {
    let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022 AS build\n\
                COPY build\\ C:\\build\\\nRUN echo \\\nCOPY [\"C:\\\\a b\", \"D:\\\\\"]\n\
                COPY --chown=C:\\Users --from=build a`\n  b\n";
    let df = Dockerfile::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(df.escape, '`');
    let words = stage_words(&df, 0);
    assert_eq!(words[0], vec!["build\\", "C:\\build\\"]);
    // `RUN echo \` is not continued: the next line is its own instruction.
    assert_eq!(words[1], vec!["echo", "\\"]);
    // JSON keeps JSON's escapes whatever the directive says.
    assert_eq!(words[2], vec!["C:\\a b", "D:\\"]);
    let copy = &df.stages[0].instructions[3];
    assert_eq!(copy.flag("chown"), Some(Some("C:\\Users")));
    assert_eq!(copy.flag("from"), Some(Some("build")));
    assert_eq!(words[3], vec!["a", "b"]);
}

#[test]
fn backtick_escape_in_global_args_and_from() {
    let text = "# ESCAPE = `\nARG DIR=C:\\tools\\bin\nARG Q=`$DIR\n\
                FROM img:${DIR##*\\\\}-${Q}\nFROM img:${DIR%\\*}\n";
    let b = bases(text, GraphOptions::default());
    assert_eq!(b[0], "img:bin-$DIR");
    assert_eq!(b[1], "img:C:\\tools\\bin");
    // A lone `\` ends a pattern: BuildKit rejects it as an invalid escape.
    let e = Dockerfile::parse(b"# escape=`\nARG D=C:\\x\nFROM img:${D##*\\}\n").unwrap_err();
    assert!(
        e.message.contains("invalid pattern (*\\) in substitution"),
        "{e}"
    );
}

#[test]
fn default_escape_splits_list_arguments_on_blanks_only() {
    let df = Dockerfile::parse(b"FROM a\nCOPY x\\ y z\nCOPY \"a b\" c\n").unwrap();
    let words = stage_words(&df, 0);
    assert_eq!(words[0], vec!["x\\", "y", "z"]);
    assert_eq!(words[1], vec!["\"a", "b\"", "c"]);
    let e = Dockerfile::parse(b"FROM a\nCOPY only\\ one\n");
    assert!(
        e.is_ok(),
        "COPY `only\\` `one` has two arguments for BuildKit"
    );
}

#[test]
fn escape_directive_rules() {
    // Only at the very top: after an instruction or another comment it is a comment.
    for text in [
        "FROM a\n# escape=`\nRUN x \\\n y\n",
        "# hello\n# escape=`\nFROM a\nRUN x \\\n y\n",
        "\n# escape=`\nFROM a\nRUN x \\\n y\n",
    ] {
        let df = Dockerfile::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(df.escape, '\\', "{text}");
    }
    let e = Dockerfile::parse(b"# escape=x\nFROM a\n").unwrap_err();
    assert_eq!(e.message, "invalid escape token 'x' does not match ` or \\");
    let e = Dockerfile::parse(b"# escape=`\n# Escape=\\\nFROM a\n").unwrap_err();
    assert_eq!(e.message, "only one escape parser directive can be used");
}
