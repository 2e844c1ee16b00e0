//! Front-end tests on whole Dockerfiles: the tricky parser cases and BuildKit's graph rules.

use super::*;

fn parse(text: &str) -> Dockerfile {
    match Dockerfile::parse(text.as_bytes()) {
        Ok(df) => df,
        Err(e) => panic!("{e}\n---\n{text}"),
    }
}

fn error(text: &str) -> DockerfileError {
    match Dockerfile::parse(text.as_bytes()) {
        Ok(df) => match StageGraph::build(&df, &GraphOptions::default()) {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(e) => e,
        },
        Err(e) => e,
    }
}

fn graph(text: &str) -> StageGraph {
    graph_with(text, GraphOptions::default())
}

fn graph_with(text: &str, opts: GraphOptions) -> StageGraph {
    StageGraph::build(&parse(text), &opts).unwrap_or_else(|e| panic!("{e}"))
}

fn edges(g: &StageGraph) -> Vec<(usize, usize, &'static str, usize)> {
    g.edges
        .iter()
        .map(|e| (e.from, e.to, e.via.as_str(), e.line))
        .collect()
}

#[test]
fn bom_crlf_lowercase_and_comments() {
    let df =
        parse("\u{feff}# c\r\nfrom alpine AS Base\r\n\r\nrun echo \\\r\n # inside\r\n\r\n  hi\r\n");
    assert_eq!(df.stages.len(), 1);
    let s = &df.stages[0];
    assert_eq!(s.name.as_deref(), Some("base"));
    assert_eq!(s.line, 2);
    assert_eq!(s.instructions[0].keyword, Keyword::Run);
    assert_eq!(s.instructions[0].line, 4);
    assert_eq!(s.instructions[0].end_line, 7);
    assert_eq!(s.end_line, 7);
    assert_eq!(s.instructions[0].args, Args::Shell("echo   hi".into()));
}

#[test]
fn escape_directive_backtick() {
    let df = parse("# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir c:\\ `\n  && echo hi\n");
    assert_eq!(df.escape, '`');
    assert_eq!(df.directives[0].name, "escape");
    let run = &df.stages[0].instructions[0];
    assert_eq!(run.args, Args::Shell("dir c:\\   && echo hi".into()));
}

#[test]
fn directive_errors_and_late_directives() {
    let e = error("# escape=x\nFROM a\n");
    assert_eq!((e.line, e.message.contains("escape")), (1, true));
    // A directive after an instruction is only a comment.
    let df = parse("FROM a\n# escape=`\nRUN a \\\n b\n");
    assert_eq!(df.escape, '\\');
}

#[test]
fn heredocs() {
    let text = "FROM a\nRUN <<EOF\necho hi\nEOF\nRUN <<-\"X\" <<'Y'\n\t\tone $A\n\tX\ntwo\nY\nRUN cat >/f <<EOF && echo done\ncontent\nEOF\nCOPY <<EOF /dst\nfile\nEOF\nCMD [\"x\"]\n";
    let df = parse(text);
    let ins = &df.stages[0].instructions;
    assert_eq!(ins.len(), 5);
    assert_eq!(ins[0].heredocs[0].content, "echo hi\n");
    assert_eq!((ins[0].line, ins[0].end_line), (2, 4));
    let h = &ins[1].heredocs;
    assert_eq!(h.len(), 2);
    assert!(h[0].chomp && !h[0].expand && !h[1].expand);
    assert_eq!(h[0].body(), "one $A\n");
    assert_eq!(h[1].content, "two\n");
    assert_eq!((h[1].line, h[1].end_line), (8, 9));
    assert_eq!(ins[2].heredocs[0].content, "content\n");
    assert_eq!(ins[3].keyword, Keyword::Copy);
    assert_eq!(ins[3].heredocs[0].content, "file\n");
    assert_eq!(ins[4].line, 16);
    // The span covers the body and terminator.
    assert_eq!(&text[ins[0].span.clone()], "RUN <<EOF\necho hi\nEOF");
    // Not heredocs: exec form, quoted markers, other instructions.
    let df = parse("FROM a\nRUN [\"sh\", \"-c\", \"cat <<EOF\"]\nRUN echo '<<EOF'\nENV X=<<EOF\n");
    assert!(
        df.stages[0]
            .instructions
            .iter()
            .all(|i| i.heredocs.is_empty())
    );
}

#[test]
fn heredoc_crlf_and_unterminated() {
    let df = parse("FROM a\r\nRUN <<EOF\r\nx\r\nEOF\r\n");
    assert_eq!(df.stages[0].instructions[0].heredocs[0].content, "x\n");
    let e = error("FROM a\nRUN <<EOF\necho\n");
    assert_eq!((e.line, e.col), (2, 5));
    assert!(e.message.starts_with("unterminated heredoc"));
}

#[test]
fn flags_are_typed_with_spans() {
    let text = "FROM --platform=$BUILDPLATFORM golang AS b\nRUN --mount=type=cache,target=/root/.cache \\\n    --network=none go build\nCOPY --link --from=b /a /b\n";
    let df = parse(text);
    let s = &df.stages[0];
    assert_eq!(s.platform.as_deref(), Some("$BUILDPLATFORM"));
    let run = &s.instructions[0];
    assert_eq!(run.flags.len(), 2);
    assert_eq!(run.flags[1].name, "network");
    assert_eq!(&text[run.flags[1].span.clone()], "--network=none");
    assert_eq!(run.args, Args::Shell("go build".into()));
    let copy = &s.instructions[1];
    assert_eq!(copy.flag("link"), Some(None));
    assert_eq!(copy.flag("from"), Some(Some("b")));
    let e = error("FROM a\nCOPY --form=b x y\n");
    assert_eq!(
        (e.line, e.col, e.message.as_str()),
        (2, 6, "unknown flag: --form (did you mean from?)")
    );
}

#[test]
fn json_forms() {
    let df =
        parse("FROM a\nRUN [\"a\", \"b\"]\nCMD [\"a\" \"b\"]\nSHELL [\"/bin/bash\", \"-c\"]\n");
    let ins = &df.stages[0].instructions;
    assert_eq!(ins[0].args, Args::Exec(vec!["a".into(), "b".into()]));
    // Malformed JSON is shell form for BuildKit.
    assert_eq!(ins[1].args, Args::Shell("[\"a\" \"b\"]".into()));
    assert!(
        error("FROM a\nRUN [\"a\", 1]\n")
            .message
            .contains("strings only")
    );
    assert!(
        error("FROM a\nSHELL /bin/bash -c\n")
            .message
            .contains("JSON form")
    );
    assert!(
        error("FROM a\nSHELL [\"a\" \"b\"]\n")
            .message
            .contains("JSON form")
    );
    assert!(error("FROM a\nCOPY x\n").message.contains("at least two"));
}

#[test]
fn rejected_files() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 1, "cannot be empty"),
        ("# only a comment\n\n", 1, "no instructions"),
        ("ARG A=1\n", 1, "no stages"),
        ("RUN echo\n", 1, "no build stage"),
        ("FROM a\nFRM b\n", 2, "unknown instruction: FRM"),
        ("FROM\n", 1, "FROM requires"),
        ("FROM a AS 1x\n", 1, "invalid name for build stage"),
        ("FROM a b\n", 1, "FROM requires"),
        ("ARG X\nFROM ${X}\n", 2, "should not be blank"),
        ("FROM a\nONBUILD FROM b\n", 2, "ONBUILD"),
    ];
    for (text, line, msg) in cases {
        let e = error(text);
        assert_eq!(e.line, *line, "{text:?}: {e}");
        assert!(e.message.contains(msg), "{text:?}: {e}");
    }
    assert!(Dockerfile::parse(b"FROM a\n\xff\xfe").is_err());
    assert!(Dockerfile::parse(b"\x7fELF\x02\x01\x01\0\0\0").is_err());
}

#[test]
fn from_names_earlier_stage_exactly_after_expansion() {
    let g = graph(
        "ARG BASE=builder\nFROM golang AS Builder\nFROM builder AS a\nFROM Builder AS b\nFROM ${BASE} AS c\nFROM d AS d\n",
    );
    assert_eq!(edges(&g), vec![(0, 1, "from", 3), (0, 3, "from", 5)]);
    assert_eq!(g.base_stage, vec![None, Some(0), None, Some(0), None]);
    // A stage cannot be its own base; FROM of a later stage is an image.
    let g = graph("FROM later AS first\nFROM alpine AS later\n");
    assert!(g.edges.is_empty());
}

#[test]
fn build_args_override_global_defaults() {
    let text = "ARG V=1.22\nARG IMG=golang:${V}\nARG UNSET\nFROM ${IMG}-alpine AS a\nFROM ${UNSET:-a} AS b\nFROM ${V:+x}y\n";
    let df = parse(text);
    assert_eq!(df.stages[0].base_expanded, "golang:1.22-alpine");
    let g = graph(text);
    assert_eq!(g.base_stage, vec![None, Some(0), None]);
    assert_eq!(g.base_expanded[2], "xy");
    let mut opts = GraphOptions::default();
    opts.build_args.insert("V".into(), "1.23".into());
    opts.build_args.insert("UNSET".into(), "scratch".into());
    let g = graph_with(text, opts);
    assert_eq!(g.base_expanded[0], "golang:1.23-alpine");
    assert_eq!(g.base_stage[1], None);
}

#[test]
fn copy_from_index_name_image() {
    let text = "FROM a AS Build\nFROM b\nCOPY --from=0 /x /x\nCOPY --from=BUILD /y /y\nCOPY --from=nginx:1.27 /z /z\nADD x /\nONBUILD COPY --from=build /o /o\n";
    let g = graph(text);
    assert_eq!(edges(&g), vec![(0, 1, "copy", 3), (0, 1, "copy", 4)]);
    assert_eq!(g.externals.len(), 1);
    assert_eq!(g.externals[0].image, "nginx:1.27");
    assert_eq!(g.externals[0].line, 5);
    assert_eq!(g.order, vec![0, 1]);
}

#[test]
fn copy_from_errors() {
    let e = error(
        "FROM a AS first\nCOPY --from=1 /x /x\nFROM b AS later\nFROM c\nCOPY --from=first /f /f\n",
    );
    assert!(e.message.contains("needs to be defined before"), "{e}");
    assert_eq!(e.line, 2);
    let e = error("FROM a\nCOPY --from=later /x /x\nFROM b AS later\nCOPY --from=0 /y /y\n");
    assert!(e.message.contains("circular"), "{e}");
    let e = error("ARG S=a\nFROM a\nCOPY --from=${S} /x /x\n");
    assert!(
        e.message.contains("variable expansion is not supported"),
        "{e}"
    );
    assert_eq!((e.line, e.col), (3, 6));
    let e = error("FROM a\nCOPY --from=5 /x /x\n");
    assert!(e.message.contains("invalid stage index 5"), "{e}");
    // Not needed by the target: BuildKit never dispatches it, so no error.
    let g = graph_with(
        "FROM a AS early\nCOPY --from=late /x /x\nFROM b AS late\n",
        GraphOptions {
            target: Some("late".into()),
            ..Default::default()
        },
    );
    assert_eq!(g.needed, vec![false, true]);
}

#[test]
fn run_mount_from() {
    let text = "FROM a AS deps\nFROM b\nRUN --mount=type=bind,from=DEPS,target=/d --mount=from=deps,target=/e --mount=type=cache,target=/c --mount=from=0,target=/z make\n";
    let g = graph(text);
    assert_eq!(edges(&g), vec![(0, 1, "mount", 3)]);
    assert_eq!(g.externals.len(), 1);
    assert_eq!(g.externals[0].image, "0");
    assert_eq!(g.externals[0].via, EdgeKind::Mount);
}

#[test]
fn target_needed_and_order() {
    let text = "FROM a AS base\nFROM base AS left\nFROM base AS right\nFROM alpine AS unused\nFROM scratch AS out\nCOPY --from=left /l /l\nCOPY --from=right /r /r\n";
    let g = graph(text);
    assert_eq!(g.target, 4);
    assert_eq!(g.needed, vec![true, true, true, false, true]);
    assert_eq!(g.order, vec![0, 1, 2, 3, 4]);
    let g = graph_with(
        text,
        GraphOptions {
            target: Some("LEFT".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        (g.target, g.needed.clone()),
        (1, vec![true, true, false, false, false])
    );
    let df = parse(text);
    let e = StageGraph::build(
        &df,
        &GraphOptions {
            target: Some("nope".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        e.message
            .contains("target stage \"nope\" could not be found")
    );
}

#[test]
fn cut_after_keeps_heredoc_and_drops_later_stages() {
    let text = "FROM a AS one\nRUN <<EOF\nx\nEOF\nRUN b\nFROM one AS two\nRUN c";
    let df = parse(text);
    assert_eq!(
        df.cut_after(0, Some(0)),
        "FROM a AS one\nRUN <<EOF\nx\nEOF\n"
    );
    assert_eq!(df.cut_after(0, None), "FROM a AS one\n");
    assert_eq!(df.cut_after(1, Some(0)), format!("{text}\n"));
    assert_eq!(
        parse(&df.cut_after(0, Some(1))).stages.len(),
        1,
        "the cut is itself a valid Dockerfile"
    );
}

#[test]
fn buildkit_only_syntax() {
    let df = parse(
        "FROM a\nRUN --mount=type=cache,target=/c make\nCOPY --chown=1 --chmod=644 a b\nRUN <<EOF\nx\nEOF\nCOPY --link a b\n",
    );
    assert_eq!(
        df.buildkit_only(),
        vec![
            (2, "RUN --mount".to_string()),
            (3, "COPY --chmod".to_string()),
            (4, "RUN heredoc".to_string()),
            (7, "COPY --link".to_string()),
        ]
    );
}

#[test]
fn display_name() {
    let df = parse("FROM a\nFROM b AS Named\n");
    assert_eq!(df.stages[0].display_name(), "0");
    assert_eq!(df.stages[1].display_name(), "named");
}

#[test]
fn a_base_left_to_a_build_arg_waits_for_it() {
    // `ARG IMAGE` + `FROM $IMAGE`: blank by default, named by --build-arg (BuildKit fails
    // only a build that leaves it blank).
    let df = Dockerfile::parse(b"ARG IMAGE\nFROM $IMAGE\nRUN true\n").expect("parse");
    let opts = GraphOptions {
        build_args: [("IMAGE".to_string(), "busybox".to_string())].into(),
        ..GraphOptions::default()
    };
    let stages = df.stages_with_args(&opts).expect("with the arg");
    assert_eq!(stages[0].base_expanded, "busybox");
    assert!(StageGraph::build(&df, &opts).is_ok());
    let e = StageGraph::build(&df, &GraphOptions::default()).expect_err("blank");
    assert!(e.message.contains("should not be blank"), "{e}");
}
