//! A stage's role in the graph (what it starts from, who reads it, whether the target needs
//! it) and, with a build's numbers, its size and what of it reaches the final image; and the
//! whole build in a few sentences.

use std::fmt::Write as _;

use super::numbers::BuildNumbers;
use super::words::code;
use super::{Explanation, Fact};
use stagescope_dockerfile::{Dockerfile, EdgeKind, StageGraph};
use stagescope_fs::format::human_size;

fn name(df: &Dockerfile, i: usize) -> String {
    df.stages[i].display_name()
}

/// `line 3`, `lines 3 and 9`.
fn lines(v: &[usize]) -> String {
    let words: Vec<String> = v.iter().map(usize::to_string).collect();
    match words.as_slice() {
        [one] => format!("line {one}"),
        [init @ .., last] => format!("lines {} and {last}", init.join(", ")),
        [] => String::new(),
    }
}

fn via_word(v: EdgeKind) -> &'static str {
    match v {
        EdgeKind::From => "is built FROM",
        EdgeKind::Copy => "copies from",
        EdgeKind::Mount => "mounts",
        EdgeKind::Add => "adds from",
    }
}

/// "release copies from it (lines 26 and 29)" for each (stage, kind) reading stage `i`.
fn readers(df: &Dockerfile, g: &StageGraph, i: usize) -> Vec<String> {
    let mut groups: Vec<(usize, EdgeKind, Vec<usize>)> = Vec::new();
    for e in g.edges.iter().filter(|e| e.from == i) {
        match groups.iter_mut().find(|x| x.0 == e.to && x.1 == e.via) {
            Some(x) => x.2.push(e.line),
            None => groups.push((e.to, e.via, vec![e.line])),
        }
    }
    groups
        .into_iter()
        .map(|(to, via, ls)| format!("{} {} it ({})", name(df, to), via_word(via), lines(&ls)))
        .collect()
}

/// What stage `i` is for, with its numbers when `numbers` has them.
pub fn stage(
    df: &Dockerfile,
    g: &StageGraph,
    i: usize,
    numbers: Option<&BuildNumbers>,
) -> Explanation {
    let st = &df.stages[i];
    let mut s = Vec::new();
    let base = match g.base_stage.get(i).copied().flatten() {
        Some(b) => format!("the result of stage {}", name(df, b)),
        None if g.base_expanded[i] == "scratch" => "scratch (an empty filesystem)".into(),
        None => format!("the image {}", code(&g.base_expanded[i])),
    };
    s.push(format!("Stage {} starts from {base}.", name(df, i)));
    let mut groups: Vec<(EdgeKind, usize, Vec<usize>)> = Vec::new();
    for e in g.edges_into(i).filter(|e| e.via != EdgeKind::From) {
        match groups.iter_mut().find(|x| x.0 == e.via && x.1 == e.from) {
            Some(x) => x.2.push(e.line),
            None => groups.push((e.via, e.from, vec![e.line])),
        }
    }
    let reads: Vec<String> = groups
        .into_iter()
        .map(|(via, from, ls)| format!("{} {} ({})", via_word(via), name(df, from), lines(&ls)))
        .chain(
            g.externals
                .iter()
                .filter(|x| x.to == i)
                .map(|x| format!("{} {} (line {})", via_word(x.via), code(&x.image), x.line)),
        )
        .collect();
    if !reads.is_empty() {
        s.push(format!("It {}.", reads.join("; ")));
    }
    let by = readers(df, g, i);
    if !by.is_empty() {
        s.push(format!("{}.", capital(&by.join("; "))));
    }
    s.push(if i == g.target {
        "It is the target: its image is what the build produces.".to_string()
    } else if g.needed[i] {
        format!("The target, {}, needs it.", name(df, g.target))
    } else if i < g.target {
        format!(
            "The target, {}, does not need it: BuildKit skips it, while the classic builder \
             builds every stage up to the target, this one included.",
            name(df, g.target)
        )
    } else {
        format!(
            "It comes after the target, {}, which does not need it: no builder builds it.",
            name(df, g.target)
        )
    });
    let mut facts = vec![
        Fact::new("base", &base),
        Fact::new("lines", &format!("{}-{}", st.line, st.end_line)),
    ];
    if let Some(n) = numbers.and_then(|n| n.stage(i)) {
        s.push(format!(
            "Its image holds {}, {}.",
            files(n.files),
            human_size(n.bytes)
        ));
        facts.push(Fact::new(
            "size",
            &format!("{} files, {}", n.files, human_size(n.bytes)),
        ));
        if let Some(r) = &n.reach {
            let mut via = String::new();
            for c in &r.via {
                let _ = write!(
                    via,
                    "{}{} ({}) through {} (line {})",
                    if via.is_empty() { "" } else { "; " },
                    files(c.files),
                    human_size(c.bytes),
                    code(&c.text),
                    c.line
                );
            }
            s.push(format!(
                "{} ({}) of it {} the final image: {via}. {} ({}) {} behind.",
                files(r.files),
                human_size(r.bytes),
                if r.files == 1 { "reaches" } else { "reach" },
                files(r.left_files),
                human_size(r.left_bytes),
                if r.left_files == 1 { "stays" } else { "stay" }
            ));
            facts.push(Fact::new(
                "reaches final",
                &format!("{}, {}", files(r.files), human_size(r.bytes)),
            ));
            facts.push(Fact::new(
                "stays behind",
                &format!("{}, {}", files(r.left_files), human_size(r.left_bytes)),
            ));
        }
    }
    Explanation {
        title: format!("Stage {} ({})", name(df, i), i),
        sentences: s,
        facts,
    }
}

/// `1 file`, `3 files`.
pub fn files(n: u64) -> String {
    if n == 1 {
        "1 file".into()
    } else {
        format!("{n} files")
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The stage the target copies the most bytes from, with its size: what the final image is
/// measured against.
pub fn largest_source(g: &StageGraph, numbers: &BuildNumbers) -> Option<(usize, u64)> {
    g.edges_into(g.target)
        .filter(|e| e.via == EdgeKind::Copy)
        .filter_map(|e| numbers.stage(e.from).map(|n| (e.from, n.bytes)))
        .max_by_key(|&(s, b)| (b, std::cmp::Reverse(s)))
}

fn ms(v: u64) -> String {
    format!("{:.1}s", v as f64 / 1000.0)
}

/// The whole build: target, stages built, and with numbers the final size against the
/// largest stage it copies from, and the critical path.
pub fn build(df: &Dockerfile, g: &StageGraph, numbers: Option<&BuildNumbers>) -> Explanation {
    let mut s = Vec::new();
    let needed = g.needed.iter().filter(|n| **n).count();
    s.push(format!(
        "The target is stage {}; it needs {needed} of the {} stages, and only what it copies \
         from the others ends up in the final image.",
        name(df, g.target),
        df.stages.len()
    ));
    let mut facts = Vec::new();
    if let Some(n) = numbers {
        if let Some(t) = n.stage(g.target) {
            facts.push(Fact::new("final image", &human_size(t.bytes)));
            match largest_source(g, n) {
                Some((src, bytes)) if bytes > 0 => {
                    let pct = t.bytes as f64 * 100.0 / bytes as f64;
                    s.push(format!(
                        "The final image holds {}, {}; the largest stage it copies from, \
                         {}, holds {}: the final image is {pct:.0}% of it, where a \
                         single-stage build would ship at least all of {}.",
                        files(t.files),
                        human_size(t.bytes),
                        name(df, src),
                        human_size(bytes),
                        name(df, src)
                    ));
                    facts.push(Fact::new(
                        &format!("stage {}", name(df, src)),
                        &human_size(bytes),
                    ));
                }
                _ => s.push(format!(
                    "The final image holds {}, {}.",
                    files(t.files),
                    human_size(t.bytes)
                )),
            }
        }
        if !n.critical_path.is_empty() {
            let path: Vec<String> = n.critical_path.iter().map(|&i| name(df, i)).collect();
            s.push(format!(
                "Critical path (the chain of stages that decided the total time): {}.",
                path.join(" -> ")
            ));
            facts.push(Fact::new("critical path", &path.join(" -> ")));
        }
        if let Some(d) = n.duration_ms {
            facts.push(Fact::new("build time", &ms(d)));
        }
    }
    Explanation {
        title: "The build".into(),
        sentences: s,
        facts,
    }
}

/// Facts of one instruction's numbers, for a pane or a handout.
pub(super) fn instruction_facts(n: &super::numbers::InstructionNumbers) -> Vec<Fact> {
    let mut f = vec![Fact::new(
        "files",
        &format!("+{} ~{} -{}", n.added, n.changed, n.removed),
    )];
    f.push(Fact::new("bytes", &human_size(n.bytes)));
    if !n.largest.is_empty() {
        f.push(Fact::new(
            "largest",
            &super::numbers::sizes_line(&n.largest),
        ));
    }
    f.push(Fact::new(
        "layer",
        &n.layer.map_or("none".into(), |l| format!("layer {l}")),
    ));
    if let Some(w) = &n.waste {
        f.push(Fact::new(
            "hid",
            &format!(
                "{} of earlier layers ({})",
                human_size(w.bytes),
                files(w.files)
            ),
        ));
    }
    if let Some(c) = n.cached {
        let said = match (c, n.no_work) {
            (true, _) => "cached",
            (false, true) => "no work",
            (false, false) => "ran",
        };
        f.push(Fact::new("cache", said));
    }
    if let Some(d) = n.duration_ms {
        f.push(Fact::new("time", &ms(d)));
    }
    f
}
