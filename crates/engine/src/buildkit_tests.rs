use super::*;
use bollard_buildkit_proto::google::protobuf::Timestamp;
use stagescope_plan::plan::fixtures::three_stages;

fn vertex(
    digest: &str,
    name: &str,
    started: Option<i64>,
    completed: Option<i64>,
    cached: bool,
) -> Vertex {
    Vertex {
        digest: digest.into(),
        name: name.into(),
        cached,
        started: started.map(|s| Timestamp {
            seconds: s,
            nanos: 0,
        }),
        completed: completed.map(|s| Timestamp {
            seconds: s,
            nanos: 0,
        }),
        ..Default::default()
    }
}

fn status(vs: Vec<Vertex>) -> StatusResponse {
    StatusResponse {
        vertexes: vs,
        ..Default::default()
    }
}

#[test]
fn labels_parse_with_and_without_platform() {
    assert_eq!(
        parse_label("[builder 3/5] RUN make"),
        Some(("builder", 3, 5, "RUN make"))
    );
    assert_eq!(
        parse_label("[linux/arm64 stage-2 1/2] FROM docker.io/library/busybox"),
        Some(("stage-2", 1, 2, "FROM docker.io/library/busybox"))
    );
    assert_eq!(parse_label("[2/3] RUN make"), Some(("", 2, 3, "RUN make")));
    assert_eq!(parse_label("[internal] load metadata for x"), None);
    assert_eq!(parse_label("copy /context /"), None);
}

#[test]
fn shared_from_vertex_counts_for_every_stage_on_that_image() {
    let mut m = VertexMapper::new(three_stages());
    let ev = m.on_status(&status(vec![vertex(
        "sha256:from",
        "[deps 1/2] FROM docker.io/library/busybox",
        Some(10),
        Some(11),
        false,
    )]));
    let finished = finished_steps(&ev);
    assert_eq!(finished, vec![(0, 0), (1, 0), (2, 0)]);
}

#[test]
fn parallel_stages_are_attributed_by_label_and_logs_follow_their_vertex() {
    let mut m = VertexMapper::new(three_stages());
    let mut ev = m.on_status(&status(vec![
        vertex(
            "sha256:a",
            "[deps 2/2] RUN echo deps > /deps.txt && sleep 1",
            Some(1),
            None,
            false,
        ),
        vertex(
            "sha256:b",
            "[builder 3/3] RUN echo building",
            Some(1),
            None,
            false,
        ),
    ]));
    ev.extend(m.on_status(&StatusResponse {
        logs: vec![bollard::moby::buildkit::v1::VertexLog {
            vertex: "sha256:b".into(),
            stream: 2,
            msg: b"err\n".to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    }));
    ev.extend(m.on_status(&status(vec![vertex(
        "sha256:b",
        "[builder 3/3] RUN echo building",
        Some(1),
        Some(4),
        true,
    )])));
    assert!(ev.contains(&BuildEvent::InstructionStarted {
        stage: 0,
        instruction: 1
    }));
    assert!(ev.contains(&BuildEvent::Log {
        stage: 1,
        instruction: 2,
        stream: LogStream::Stderr,
        text: "err\n".into()
    }));
    // WORKDIR (builder 2/3) never reported here, but RUN 3/3 cannot start before it; it is a
    // vertex-making instruction, so it stays unsettled rather than guessed.
    assert!(ev.contains(&BuildEvent::InstructionFinished {
        stage: 1,
        instruction: 2,
        cached: true,
        duration_ms: 3000
    }));
}

#[test]
fn trailing_metadata_instructions_close_the_stage() {
    let mut m = VertexMapper::new(three_stages());
    let mut ev = Vec::new();
    for (d, name) in [
        ("sha256:f", "[stage-2 1/5] FROM docker.io/library/busybox"),
        ("sha256:r", "[stage-2 2/5] RUN echo one"),
        (
            "sha256:c1",
            "[stage-2 3/5] COPY --from=builder /src/app /app",
        ),
        (
            "sha256:c2",
            "[stage-2 4/5] COPY --from=deps /deps.txt /deps.txt",
        ),
    ] {
        ev.extend(m.on_status(&status(vec![vertex(d, name, Some(1), Some(2), false)])));
    }
    assert!(ev.contains(&BuildEvent::InstructionFinished {
        stage: 2,
        instruction: 4,
        cached: false,
        duration_ms: 0
    }));
    assert!(ev.contains(&BuildEvent::StageFinished {
        stage: 2,
        image: None
    }));
}

#[test]
fn failure_names_the_failing_step_and_exit_code() {
    let mut m = VertexMapper::new(three_stages());
    let failed = Vertex {
        error: "executor failed running [/bin/sh -c exit 3]: exit code: 3".into(),
        ..vertex(
            "sha256:x",
            "[stage-2 2/5] RUN echo one",
            Some(1),
            Some(2),
            false,
        )
    };
    let ev = m.on_status(&status(vec![failed.clone()]));
    assert!(
        !ev.iter()
            .any(|e| matches!(e, BuildEvent::InstructionFinished { .. } if false))
    );
    let f = m.failure(&failed.error, std::slice::from_ref(&failed));
    assert_eq!(
        f,
        BuildEvent::BuildFailed {
            stage: Some(2),
            instruction: Some(1),
            message: failed.error.clone(),
            exit_code: Some(3)
        }
    );
}

#[test]
fn vertexes_match_by_text_when_buildkit_skips_instructions_in_its_count() {
    let ins = |keyword: &str, text: &str| stagescope_plan::PlanInstruction {
        keyword: keyword.into(),
        line: 1,
        text: text.into(),
    };
    let mut plan = three_stages();
    plan.stages[1].instructions = vec![
        ins("FROM", "FROM busybox AS builder"),
        ins("ARG", "ARG V"),
        ins("COPY", "COPY src/ ."),
        ins("COPY", "COPY --from=deps /deps/cache \\\n    /root/.cache"),
    ];
    let stage = &plan.stages[1];
    assert_eq!(
        match_instruction(stage, 3, "COPY --from=deps /deps/cache /root/.cache"),
        Some(3)
    );
    assert_eq!(match_instruction(stage, 2, "COPY src/ ."), Some(2));
    assert_eq!(match_instruction(stage, 2, "RUN nothing"), None);
}

#[test]
fn numbering_skips_what_makes_no_vertex() {
    // BuildKit (20.10 and later) numbers only vertex-making instructions: `FROM a AS b`
    // and `FROM scratch` are not counted, nor are ENV and the like.
    let ins = |keyword: &str, text: &str| stagescope_plan::PlanInstruction {
        keyword: keyword.into(),
        line: 1,
        text: text.into(),
    };
    let on_stage = PlanStage {
        index: 1,
        name: Some("b".into()),
        base: "a".into(),
        base_stage: Some(0),
        deps: vec![0],
        needed: true,
        instructions: vec![
            ins("FROM", "FROM a AS b"),
            ins("ENV", "ENV Y=2"),
            ins("RUN", "RUN echo before"),
            ins("RUN", "RUN exit 7"),
            ins("COPY", "COPY --from=s /a /sa"),
        ],
    };
    assert_eq!(instruction_of(&on_stage, 1, 3, "RUN echo before"), Some(2));
    assert_eq!(instruction_of(&on_stage, 2, 3, "RUN exit 7"), Some(3));
    assert_eq!(
        instruction_of(&on_stage, 3, 3, "COPY --from=s /a /sa"),
        Some(4)
    );
    let scratch = PlanStage {
        base: "scratch".into(),
        base_stage: None,
        instructions: vec![
            ins("FROM", "FROM scratch AS s"),
            ins("COPY", "COPY --from=a /a /a"),
            ins("ENV", "ENV X=1"),
        ],
        ..on_stage.clone()
    };
    assert_eq!(
        instruction_of(&scratch, 1, 1, "COPY --from=a /a /a"),
        Some(1)
    );
    // A count that fits no known numbering falls back to the text.
    assert_eq!(instruction_of(&on_stage, 1, 9, "RUN exit 7"), Some(3));
}

#[test]
fn image_names_normalize() {
    assert_eq!(normalize_image("docker.io/library/busybox"), "busybox");
    assert_eq!(normalize_image("busybox:latest"), "busybox");
    assert_eq!(normalize_image("docker.io/foo/bar:1"), "foo/bar:1");
}

#[test]
fn logs_decode_invalid_utf8_lossily_and_join_cut_chars() {
    let mut tail = Vec::new();
    assert_eq!(
        decode_log(&mut tail, b"bad \xff\xfe end\n"),
        "bad \u{fffd}\u{fffd} end\n"
    );
    // "é" (C3 A9) and "€" (E2 82 AC) cut across chunks come out whole.
    assert_eq!(decode_log(&mut tail, b"caf\xc3"), "caf");
    assert_eq!(tail, b"\xc3");
    assert_eq!(decode_log(&mut tail, b"\xa9 \xe2\x82"), "é ");
    assert_eq!(decode_log(&mut tail, b"\xac\n"), "€\n");
    // A lone bad byte at the end is not a cut char: it is replaced at once.
    assert_eq!(decode_log(&mut tail, b"x\xff"), "x\u{fffd}");
    assert!(tail.is_empty());
}

#[test]
fn log_chunks_of_one_vertex_keep_a_cut_char_whole() {
    let mut m = VertexMapper::new(three_stages());
    m.on_status(&status(vec![vertex(
        "sha256:b",
        "[builder 3/3] RUN echo building",
        Some(1),
        None,
        false,
    )]));
    let chunk = |msg: &[u8]| StatusResponse {
        logs: vec![bollard::moby::buildkit::v1::VertexLog {
            vertex: "sha256:b".into(),
            stream: 1,
            msg: msg.to_vec(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut text = String::new();
    for msg in [&b"\xe2"[..], b"\x82", b"\xac \xff\n"] {
        for ev in m.on_status(&chunk(msg)) {
            if let BuildEvent::Log { text: t, .. } = ev {
                text.push_str(&t);
            }
        }
    }
    assert_eq!(text, "€ \u{fffd}\n");
}

/// A record's vertexes are placed by the source map's lines, whatever their labels say: a
/// label that would place it elsewhere (or nowhere) does not count.
#[test]
fn a_source_map_places_vertexes_by_line_not_by_label() {
    let plan = stagescope_plan::plan::fixtures::plan_of(
        "FROM busybox AS a\nRUN echo a \\\n    && echo more\n\nFROM busybox AS b\nRUN echo b\n",
    );
    let lines: HashMap<String, Vec<u32>> = [
        // BuildKit merged the two FROMs: one vertex, both lines.
        ("sha256:from".to_string(), vec![5, 1]),
        // A line inside a continued RUN is that RUN.
        ("sha256:run-a".to_string(), vec![3]),
        ("sha256:run-b".to_string(), vec![6]),
        // In the map with no location: the context, not an instruction.
        ("sha256:ctx".to_string(), vec![]),
    ]
    .into_iter()
    .collect();
    let mut m = VertexMapper::with_source_lines(plan, &lines);
    let ev = m.on_status(&status(vec![
        vertex(
            "sha256:from",
            "whatever BuildKit names it",
            Some(1),
            Some(2),
            true,
        ),
        vertex(
            "sha256:run-b",
            "[a 2/2] RUN echo a",
            Some(2),
            Some(3),
            false,
        ),
        vertex("sha256:run-a", "no label", Some(2), Some(4), false),
        vertex(
            "sha256:ctx",
            "[internal] load build context",
            Some(1),
            Some(2),
            false,
        ),
    ]));
    let finished = finished_steps(&ev);
    assert_eq!(finished, vec![(1, 0), (0, 0), (1, 1), (0, 1)]);
    assert!(ev.iter().any(|e| matches!(
        e,
        BuildEvent::InternalFinished { step, .. } if step.name == "[internal] load build context"
    )));
}

/// The (stage, instruction) of each InstructionFinished, in order.
fn finished_steps(ev: &[BuildEvent]) -> Vec<(usize, usize)> {
    ev.iter()
        .filter_map(|e| match e {
            BuildEvent::InstructionFinished {
                stage, instruction, ..
            } => Some((*stage, *instruction)),
            _ => None,
        })
        .collect()
}
