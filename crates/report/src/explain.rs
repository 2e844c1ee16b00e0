//! The handout of `stagescope explain`: text for a terminal, Markdown (with the stage graph
//! as Mermaid) for a page or a pull request, JSON for tools. All three render one
//! [`Handout`], so they say the same.

use std::fmt::Write as _;

use super::sanitize;
use stagescope_core::explain::handout::{InstructionPage, StagePage};
use stagescope_core::explain::numbers::sizes_line;
use stagescope_core::explain::{Effect, Explanation, Handout, files};
use stagescope_dockerfile::{Dockerfile, StageGraph};
use stagescope_fs::format::human_size;

const WIDTH: usize = 88;

/// `text` wrapped at [`WIDTH`], every line indented by `indent` spaces.
fn wrap(out: &mut String, text: &str, indent: usize) {
    let pad = " ".repeat(indent);
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && indent + line.chars().count() + 1 + word.chars().count() > WIDTH {
            let _ = writeln!(out, "{pad}{line}");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        let _ = writeln!(out, "{pad}{line}");
    }
}

fn facts_line(e: &Explanation) -> String {
    e.facts
        .iter()
        .map(|f| format!("{}: {}", f.label, f.value))
        .collect::<Vec<_>>()
        .join("; ")
}

fn numbers_line(i: &InstructionPage) -> Option<String> {
    let n = i.numbers.as_ref()?;
    if n.layer.is_none() && i.effect != Effect::Layer {
        // Metadata: no files to count, and the cache state is its neighbours'.
        return None;
    }
    let mut parts = vec![
        format!("files +{} ~{} -{}", n.added, n.changed, n.removed),
        format!("{} written", human_size(n.bytes)),
        n.layer.map_or("no layer".into(), |l| format!("layer {l}")),
    ];
    match n.cached {
        Some(true) => parts.push("cached".into()),
        Some(false) if n.no_work => parts.push("no work".into()),
        Some(false) => parts.push("ran".into()),
        None => {}
    }
    if let Some(d) = n.duration_ms {
        parts.push(format!("{:.1}s", d as f64 / 1000.0));
    }
    let mut s = parts.join(", ");
    if !n.largest.is_empty() {
        let _ = write!(s, "; largest: {}", sizes_line(&n.largest));
    }
    Some(s)
}

fn size_of(st: &StagePage) -> String {
    match (st.files, st.bytes) {
        (Some(f), Some(b)) => format!("{}, {}", files(f), human_size(b)),
        _ => "not built".into(),
    }
}

/// Rows of the what-stays-behind table: stages the target copies from.
fn behind_rows(h: &Handout) -> Vec<[String; 5]> {
    h.stages
        .iter()
        .filter_map(|st| {
            let r = st.reaches_final.as_ref()?;
            Some([
                st.name.clone(),
                size_of(st),
                format!("{}, {}", files(r.files), human_size(r.bytes)),
                format!("{}, {}", files(r.left_files), human_size(r.left_bytes)),
                sizes_line(&r.left_largest),
            ])
        })
        .collect()
}

const BEHIND_HEAD: [&str; 5] = [
    "stage",
    "size",
    "reaches the final image",
    "stays behind",
    "largest left behind",
];

/// For a terminal: every stage and instruction, explanations wrapped, numbers on a line.
pub fn text(h: &Handout) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", h.summary.title);
    wrap(&mut out, &h.summary.paragraph(), 2);
    if !h.summary.facts.is_empty() {
        wrap(&mut out, &facts_line(&h.summary), 2);
    }
    let rows = behind_rows(h);
    if !rows.is_empty() {
        let _ = writeln!(out, "\nWhat stays behind");
        let mut widths = BEHIND_HEAD.map(|s| s.chars().count());
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let row = |out: &mut String, cells: [&str; 5]| {
            let mut line = String::from(" ");
            for (c, w) in cells.iter().zip(widths) {
                let _ = write!(line, " {c:<w$} ");
            }
            let _ = writeln!(out, "{}", line.trim_end());
        };
        row(&mut out, BEHIND_HEAD);
        for r in &rows {
            row(&mut out, [&r[0], &r[1], &r[2], &r[3], &r[4]]);
        }
    }
    if !h.global_args.is_empty() {
        let _ = writeln!(out, "\nBefore the first FROM");
        for a in &h.global_args {
            let _ = writeln!(out, "  line {:<4} {}", a.line, a.text);
            wrap(&mut out, &a.explanation, 12);
        }
    }
    for st in &h.stages {
        let _ = writeln!(
            out,
            "\nStage {} ({})  FROM {}  {}",
            st.name,
            st.index,
            st.base,
            size_of(st)
        );
        wrap(&mut out, &st.explanation.paragraph(), 2);
        for i in &st.instructions {
            let _ = writeln!(out, "  line {:<4} {}", i.line, i.text);
            wrap(&mut out, &i.explanation, 12);
            if let Some(n) = numbers_line(i) {
                wrap(&mut out, &n, 12);
            }
            if let Some(w) = &i.wasted {
                wrap(&mut out, w, 12);
            }
        }
    }
    // Instruction text and stage names come from the Dockerfile: nothing in them reaches
    // the terminal as a control character.
    out.split('\n')
        .map(sanitize::name)
        .collect::<Vec<_>>()
        .join("\n")
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn code_cell(s: &str) -> String {
    format!("`{}`", cell(&s.replace('`', "'")))
}

/// For a page or a pull request: the graph as Mermaid, sizes, the what-stays-behind table,
/// then each stage with a table of its instructions.
pub fn markdown(h: &Handout, df: &Dockerfile, g: &StageGraph) -> String {
    let mut out = String::from("# How this Dockerfile builds\n\n");
    let _ = writeln!(out, "{}\n", h.summary.paragraph());
    if !h.summary.facts.is_empty() {
        out.push_str("| | |\n|---|---|\n");
        for f in &h.summary.facts {
            let _ = writeln!(out, "| {} | {} |", cell(&f.label), cell(&f.value));
        }
        out.push('\n');
    }
    out.push_str("## Stage graph\n\n```mermaid\n");
    out.push_str(&super::graph::mermaid(df, g));
    out.push_str(
        "```\n\n## Sizes\n\n| stage | base | target needs it | size |\n|---|---|---|---|\n",
    );
    for st in &h.stages {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&st.name),
            code_cell(&st.base),
            if st.target {
                "target"
            } else if st.needed {
                "yes"
            } else {
                "no"
            },
            size_of(st)
        );
    }
    let rows = behind_rows(h);
    if !rows.is_empty() {
        out.push_str("\n## What stays behind\n\n");
        let _ = writeln!(out, "| {} |", BEHIND_HEAD.join(" | "));
        out.push_str("|---|---|---|---|---|\n");
        for r in &rows {
            let cells: Vec<String> = r.iter().map(|c| cell(c)).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    if !h.global_args.is_empty() {
        out.push_str("\n## Before the first FROM\n\n");
        for a in &h.global_args {
            let _ = writeln!(
                out,
                "- line {}: {} — {}",
                a.line,
                code_cell(&a.text),
                a.explanation
            );
        }
    }
    for st in &h.stages {
        let _ = writeln!(out, "\n## Stage {} ({})\n", cell(&st.name), st.index);
        let _ = writeln!(out, "{}\n", st.explanation.paragraph());
        let built = st.instructions.iter().any(|i| i.numbers.is_some());
        if built {
            out.push_str(
                "| line | instruction | what it does | files +/~/- | bytes | layer | cache |\n",
            );
            out.push_str("|---|---|---|---|---|---|---|\n");
        } else {
            out.push_str("| line | instruction | what it does |\n|---|---|---|\n");
        }
        for i in &st.instructions {
            let _ = write!(
                out,
                "| {} | {} | {} |",
                i.line,
                code_cell(&i.text),
                cell(&i.explanation)
            );
            if let Some(n) = &i.numbers {
                let _ = write!(
                    out,
                    " +{} ~{} -{} | {} | {} | {} |",
                    n.added,
                    n.changed,
                    n.removed,
                    human_size(n.bytes),
                    n.layer.map_or("none".into(), |l| l.to_string()),
                    match n.cached {
                        Some(true) => "cached",
                        Some(false) if n.no_work => "no work",
                        Some(false) => "ran",
                        None => "",
                    }
                );
            } else if built {
                out.push_str(" | | | |");
            }
            out.push('\n');
        }
        let wasted: Vec<&InstructionPage> = st
            .instructions
            .iter()
            .filter(|i| i.wasted.is_some())
            .collect();
        if !wasted.is_empty() {
            out.push_str("\nWasted space:\n\n");
            for i in wasted {
                let _ = writeln!(
                    out,
                    "- line {} {}: {}",
                    i.line,
                    code_cell(&i.text),
                    cell(i.wasted.as_deref().unwrap_or_default())
                );
            }
        }
    }
    out
}

/// The handout as one JSON document.
pub fn json(h: &Handout) -> String {
    let mut s = serde_json::to_string_pretty(h).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_core::explain::handout;
    use stagescope_dockerfile::GraphOptions;

    const DF: &str = "\
ARG BASE=busybox
FROM $BASE AS builder
RUN --mount=type=cache,target=/root/.cache make | tee log
FROM busybox AS release
COPY --from=builder /out/app /app
";

    fn page() -> (Handout, Dockerfile, StageGraph) {
        let df = Dockerfile::parse(DF.as_bytes()).unwrap();
        let g = StageGraph::build(&df, &GraphOptions::default()).unwrap();
        (handout(&df, &g, None), df, g)
    }

    #[test]
    fn text_wraps_and_names_every_instruction() {
        let (h, _, _) = page();
        let t = text(&h);
        assert!(t.lines().all(|l| l.chars().count() <= WIDTH), "{t}");
        for needle in [
            "line 1    ARG BASE=busybox",
            "Stage builder (0)  FROM busybox  not built",
            "line 5    COPY --from=builder /out/app /app",
            "cache directory at `/root/.cache`",
        ] {
            assert!(t.contains(needle), "{needle:?} not in\n{t}");
        }
    }

    #[test]
    fn markdown_has_the_graph_and_escapes_pipes() {
        let (h, df, g) = page();
        let m = markdown(&h, &df, &g);
        assert!(m.contains("```mermaid\nflowchart TD\n"), "{m}");
        assert!(m.contains("make \\| tee log"), "{m}");
        assert!(
            m.contains("| builder | `busybox` | yes | not built |"),
            "{m}"
        );
    }

    #[test]
    fn control_characters_of_the_dockerfile_are_shown_escaped() {
        let df = Dockerfile::parse(b"FROM busybox\nRUN echo \x1b]0;owned\x07 \x1b[2J\n").unwrap();
        let g = StageGraph::build(&df, &GraphOptions::default()).unwrap();
        let t = text(&handout(&df, &g, None));
        assert!(!t.contains('\x1b') && !t.contains('\x07'), "{t:?}");
        assert!(t.contains("\\x1b]0;owned\\x07"), "{t}");
    }

    #[test]
    fn json_keys() {
        let (h, _, _) = page();
        let v: serde_json::Value = serde_json::from_str(&json(&h)).unwrap();
        let st = &v["stages"][1];
        assert_eq!(st["name"], "release");
        assert_eq!(st["index"], 1);
        assert!(st["bytes"].is_null() && st["files"].is_null());
        let ins = &st["instructions"][1];
        assert_eq!(ins["line"], 5);
        assert_eq!(ins["effect"], "layer");
        assert!(
            ins["explanation"]
                .as_str()
                .unwrap()
                .contains("the result of stage builder")
        );
        assert!(ins.get("added").is_none(), "no numbers without a build");
    }

    #[test]
    fn the_waste_of_an_instruction_is_quoted_in_every_format() {
        use stagescope_core::explain::numbers::{BuildNumbers, PathSize, StageNumbers};
        use stagescope_core::explain::{InstructionNumbers, InstructionWaste};
        let df = Dockerfile::parse(
            b"FROM busybox AS app\nRUN dd if=/dev/zero of=/big bs=1k count=2048\nRUN rm /big\n",
        )
        .unwrap();
        let g = StageGraph::build(&df, &GraphOptions::default()).unwrap();
        let big = || {
            vec![PathSize {
                path: "/big".into(),
                bytes: 2_097_152,
            }]
        };
        let mut ins = vec![InstructionNumbers::default(); 3];
        ins[1] = InstructionNumbers {
            added: 1,
            bytes: 2_097_152,
            largest: big(),
            layer: Some(1),
            ..InstructionNumbers::default()
        };
        ins[2] = InstructionNumbers {
            removed: 1,
            layer: Some(2),
            waste: Some(InstructionWaste {
                bytes: 2_097_152,
                files: 1,
                deleted: 1,
                overwritten: 0,
                largest: big(),
            }),
            ..InstructionNumbers::default()
        };
        let numbers = BuildNumbers {
            stages: vec![Some(StageNumbers {
                files: 400,
                bytes: 3_197_152,
                instructions: ins,
                reach: None,
            })],
            ..BuildNumbers::default()
        };
        let h = handout(&df, &g, Some(&numbers));
        insta::assert_snapshot!("explain_waste_text", text(&h));
        insta::assert_snapshot!("explain_waste_markdown", markdown(&h, &df, &g));
        let v: serde_json::Value = serde_json::from_str(&json(&h)).unwrap();
        let rm = &v["stages"][0]["instructions"][2];
        assert_eq!(rm["waste"]["bytes"], 2_097_152);
        assert_eq!(rm["waste"]["largest"][0]["path"], "/big");
        let said = rm["wasted"].as_str().unwrap_or_default();
        assert!(
            said.starts_with("This RUN deleted 2.0M (2097152 bytes)"),
            "{said}"
        );
        let dd = &v["stages"][0]["instructions"][1];
        assert!(
            dd.get("waste").is_none() && dd.get("wasted").is_none(),
            "{dd}"
        );
    }
}
