//! `stagescope graph` renderers: JSON (the contract), a plain-text picture, Mermaid and DOT.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use stagescope_dockerfile::{Dockerfile, Edge, EdgeKind, External, StageGraph};

#[derive(Serialize)]
struct JsonStage<'a> {
    index: usize,
    name: Option<&'a str>,
    base: &'a str,
    base_expanded: &'a str,
    base_stage: Option<usize>,
    platform: Option<&'a str>,
    line: usize,
    end_line: usize,
    instructions: usize,
    needed: bool,
}

#[derive(Serialize)]
struct JsonGraph<'a> {
    file: &'a str,
    target: usize,
    stages: Vec<JsonStage<'a>>,
    edges: &'a [Edge],
    externals: &'a [External],
    order: &'a [usize],
}

/// The JSON contract of issue 2 (`file`, `target`, `stages`, `edges`, `externals`), plus
/// `base_expanded` per stage and the build `order`.
pub fn json(file: &str, df: &Dockerfile, g: &StageGraph) -> String {
    let stages = df
        .stages
        .iter()
        .map(|s| JsonStage {
            index: s.index,
            name: s.name.as_deref(),
            base: &s.base,
            base_expanded: &g.base_expanded[s.index],
            base_stage: g.base_stage[s.index],
            platform: s.platform.as_deref(),
            line: s.line,
            end_line: s.end_line,
            instructions: s.instructions.len(),
            needed: g.needed[s.index],
        })
        .collect();
    let doc = JsonGraph {
        file,
        target: g.target,
        stages,
        edges: &g.edges,
        externals: &g.externals,
        order: &g.order,
    };
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

/// The stage's name, or `stage N` for an unnamed one.
fn label(df: &Dockerfile, i: usize) -> String {
    match &df.stages[i].name {
        Some(n) => n.clone(),
        None => format!("stage {i}"),
    }
}

fn base_text(df: &Dockerfile, g: &StageGraph, i: usize) -> String {
    let s = &df.stages[i];
    if g.base_expanded[i] == s.base {
        s.base.clone()
    } else {
        format!("{} (= {})", s.base, g.base_expanded[i])
    }
}

/// A picture of the DAG for a terminal or a slide: one row per stage, what feeds it
/// underneath, the target and the stages BuildKit skips marked.
pub fn text(file: &str, df: &Dockerfile, g: &StageGraph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Dockerfile: {file}");
    let target = match &df.stages[g.target].name {
        Some(n) => format!("{n} (stage {})", g.target),
        None => format!("stage {}", g.target),
    };
    let _ = writeln!(out, "Target:     {target}");
    out.push('\n');
    let names: Vec<String> = (0..df.stages.len()).map(|i| label(df, i)).collect();
    let bases: Vec<String> = (0..df.stages.len())
        .map(|i| format!("FROM {}", base_text(df, g, i)))
        .collect();
    let name_w = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let base_w = bases.iter().map(|b| b.chars().count()).max().unwrap_or(0);
    let spans: Vec<String> = df
        .stages
        .iter()
        .map(|s| format!("lines {}-{}", s.line, s.end_line))
        .collect();
    let span_w = spans.iter().map(String::len).max().unwrap_or(0);
    // `[9]` and `[10]` take the same width, so the columns stay straight past ten stages.
    let index_w = df.stages.len().saturating_sub(1).to_string().len() + 2;
    for i in 0..df.stages.len() {
        let mark = match role(g, i) {
            Role::Target => "  <== target",
            Role::Unused => "  (not needed)",
            Role::Needed => "",
        };
        let index = format!("[{i}]");
        let row = format!(
            "  {index:<index_w$} {:<name_w$}  {:<base_w$}  {:<span_w$}{mark}",
            names[i], bases[i], spans[i]
        );
        let _ = writeln!(out, "{}", row.trim_end());
        for e in g.edges_into(i) {
            let onbuild = e
                .onbuild
                .map(|l| format!(", ONBUILD on line {l}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "        <-{:-<6} {}  (line {}{onbuild})",
                e.via.as_str(),
                names[e.from],
                e.line
            );
        }
        for x in g.externals.iter().filter(|x| x.to == i) {
            let what = if x.via == EdgeKind::Add {
                "url"
            } else {
                "image"
            };
            let _ = writeln!(
                out,
                "        <-{:-<6} {what} {}  (line {})",
                x.via.as_str(),
                x.image,
                x.line
            );
        }
    }
    out.push('\n');
    let order: Vec<&str> = g
        .order
        .iter()
        .filter(|&&i| g.needed[i])
        .map(|&i| names[i].as_str())
        .collect();
    let _ = writeln!(out, "Build order: {}", order.join(" -> "));
    let skipped: Vec<&str> = (0..df.stages.len())
        .filter(|&i| !g.needed[i])
        .map(|i| names[i].as_str())
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "Not needed:  {}", skipped.join(", "));
    }
    out
}

/// External images, numbered in order of first use.
fn external_ids(g: &StageGraph) -> BTreeMap<&str, usize> {
    let mut ids = BTreeMap::new();
    for x in &g.externals {
        let next = ids.len();
        ids.entry(x.image.as_str()).or_insert(next);
    }
    ids
}

fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

#[derive(PartialEq)]
enum Role {
    Target,
    Unused,
    Needed,
}

fn role(g: &StageGraph, i: usize) -> Role {
    if i == g.target {
        Role::Target
    } else if !g.needed[i] {
        Role::Unused
    } else {
        Role::Needed
    }
}

/// A Mermaid flowchart: solid arrows for FROM, dashed for COPY, dotted-thick for mounts.
pub fn mermaid(df: &Dockerfile, g: &StageGraph) -> String {
    let mut out = String::from("flowchart TD\n");
    for (i, s) in df.stages.iter().enumerate() {
        let class = match role(g, i) {
            Role::Target => ":::target",
            Role::Unused => ":::unused",
            Role::Needed => "",
        };
        let _ = writeln!(
            out,
            "    s{i}[\"{}<br/>FROM {}\"]{class}",
            mermaid_escape(&label(df, i)),
            mermaid_escape(&base_text(df, g, s.index))
        );
    }
    let ids = external_ids(g);
    for (image, id) in ids.iter().collect::<Vec<_>>().into_iter() {
        let _ = writeln!(out, "    x{id}[(\"{}\")]:::image", mermaid_escape(image));
    }
    let arrow = |via: EdgeKind| match via {
        EdgeKind::From => "-->",
        EdgeKind::Copy | EdgeKind::Add => "-.->",
        EdgeKind::Mount => "==>",
    };
    for e in &g.edges {
        let _ = writeln!(
            out,
            "    s{} {}|\"{} :{}\"| s{}",
            e.from,
            arrow(e.via),
            e.via.as_str(),
            e.line,
            e.to
        );
    }
    for x in &g.externals {
        let _ = writeln!(
            out,
            "    x{} {}|\"{} :{}\"| s{}",
            ids[x.image.as_str()],
            arrow(x.via),
            x.via.as_str(),
            x.line,
            x.to
        );
    }
    out.push_str("    classDef target stroke-width:3px\n");
    out.push_str("    classDef unused stroke-dasharray:5 5,opacity:0.6\n");
    out.push_str("    classDef image fill:#eee\n");
    out
}

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz DOT, same conventions as the Mermaid output.
pub fn dot(df: &Dockerfile, g: &StageGraph) -> String {
    let mut out = String::from("digraph stages {\n    rankdir=TB;\n    node [shape=box];\n");
    for (i, s) in df.stages.iter().enumerate() {
        let style = match role(g, i) {
            Role::Target => ", penwidth=3",
            Role::Unused => ", style=dashed, fontcolor=gray50, color=gray50",
            Role::Needed => "",
        };
        let _ = writeln!(
            out,
            "    s{i} [label=\"{}\\nFROM {}\"{style}];",
            dot_escape(&label(df, i)),
            dot_escape(&base_text(df, g, s.index))
        );
    }
    let ids = external_ids(g);
    for (image, id) in &ids {
        let _ = writeln!(
            out,
            "    x{id} [label=\"{}\", shape=cylinder];",
            dot_escape(image)
        );
    }
    let style = |via: EdgeKind| match via {
        EdgeKind::From => "solid",
        EdgeKind::Copy | EdgeKind::Add => "dashed",
        EdgeKind::Mount => "dotted",
    };
    for e in &g.edges {
        let _ = writeln!(
            out,
            "    s{} -> s{} [label=\"{} :{}\", style={}];",
            e.from,
            e.to,
            e.via.as_str(),
            e.line,
            style(e.via)
        );
    }
    for x in &g.externals {
        let _ = writeln!(
            out,
            "    x{} -> s{} [label=\"{} :{}\", style={}];",
            ids[x.image.as_str()],
            x.to,
            x.via.as_str(),
            x.line,
            style(x.via)
        );
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_dockerfile::GraphOptions;

    const GO: &str = "# syntax=docker/dockerfile:1
ARG GO=1.22
FROM --platform=$BUILDPLATFORM golang:${GO} AS builder
WORKDIR /src
RUN --mount=type=cache,target=/root/.cache go build -o /app .

FROM node:20 AS docs
RUN npm run docs

FROM builder AS test
RUN go test ./...

FROM gcr.io/distroless/static AS release
COPY --from=builder /app /app
COPY --from=nginx:1.27 /etc/nginx/mime.types /etc/
ENTRYPOINT [\"/app\"]
";

    const DIAMOND: &str = "FROM alpine AS base
RUN apk add build-base
FROM base AS left
RUN make left
FROM base AS right
RUN --mount=from=left,target=/l make right
FROM scratch
COPY --from=left /l /l
COPY --from=2 /r /r
";

    const UNNAMED: &str = "FROM \"debian:12\"
RUN <<EOF
apt-get update
EOF
FROM 0
COPY --from=0 /x /y
";

    fn both(text: &str) -> (Dockerfile, StageGraph) {
        let df = Dockerfile::parse(text.as_bytes()).unwrap();
        let g = StageGraph::build(&df, &GraphOptions::default()).unwrap();
        (df, g)
    }

    #[test]
    fn json_contract_keys() {
        let (df, g) = both(GO);
        let v: serde_json::Value = serde_json::from_str(&json("Dockerfile", &df, &g)).unwrap();
        assert_eq!(v["file"], "Dockerfile");
        assert_eq!(v["target"], 3);
        let s0 = &v["stages"][0];
        for key in [
            "index",
            "name",
            "base",
            "base_stage",
            "platform",
            "line",
            "end_line",
            "instructions",
            "needed",
        ] {
            assert!(s0.get(key).is_some(), "{key}");
        }
        assert_eq!(s0["platform"], "$BUILDPLATFORM");
        assert_eq!(s0["base"], "golang:${GO}");
        assert_eq!(v["stages"][1]["needed"], false);
        assert_eq!(v["stages"][3]["instructions"], 3);
        assert_eq!(
            v["edges"][0],
            serde_json::json!({"from": 0, "to": 2, "via": "from", "line": 10})
        );
        assert_eq!(
            v["externals"][0],
            serde_json::json!({"image": "nginx:1.27", "to": 3, "via": "copy", "line": 15})
        );
    }

    #[test]
    fn snapshots() {
        for (name, text) in [("go", GO), ("diamond", DIAMOND), ("unnamed", UNNAMED)] {
            let (df, g) = both(text);
            insta::assert_snapshot!(format!("{name}_text"), super::text("Dockerfile", &df, &g));
            insta::assert_snapshot!(format!("{name}_mermaid"), mermaid(&df, &g));
            insta::assert_snapshot!(format!("{name}_dot"), dot(&df, &g));
        }
    }
}
