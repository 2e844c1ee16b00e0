//! Stage graph: which stage feeds which, as BuildKit's `dockerfile2llb/convert.go` decides
//! (addState for FROM, toCommand for `COPY --from`, detectRunMount for `RUN --mount=from=`,
//! initOnBuildTriggers for the ONBUILD triggers a stage runs from its base stage), plus the
//! target, the stages it needs, and a build order.

use std::collections::{BTreeMap, BTreeSet};

use super::dispatch::{self, Commands, go_atoi, stage_name};
use super::error::DockerfileError;
use super::expand::{Env, expand_word};
use super::instruction::{Instruction, Keyword};
use super::model::{Dockerfile, GraphOptions};
use super::mount;
use super::onbuild;
use super::remote::{self, Source as Remote};
use super::scope::StageVars;
use super::source::position_in;

/// How one stage feeds another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    From,
    Copy,
    Mount,
    /// `ADD` of a Git repository or an HTTP(S) file (externals only).
    Add,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::From => "from",
            EdgeKind::Copy => "copy",
            EdgeKind::Mount => "mount",
            EdgeKind::Add => "add",
        }
    }
}

/// Stage `from` feeds stage `to` through the instruction on `line`. For an ONBUILD trigger
/// run in `to`, `line` is `to`'s FROM (where BuildKit runs and locates it) and `onbuild` the
/// line of the ONBUILD instruction in `to`'s base stage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub via: EdgeKind,
    pub line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onbuild: Option<usize>,
}

/// An image (not a stage) that stage `to` copies or mounts from, or (`via` add) the URL of a
/// Git repository or HTTP(S) file that it ADDs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct External {
    pub image: String,
    pub to: usize,
    pub via: EdgeKind,
    pub line: usize,
}

/// The stages as a DAG.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StageGraph {
    pub edges: Vec<Edge>,
    pub externals: Vec<External>,
    pub target: usize,
    /// `needed[i]`: the target depends on stage i (BuildKit builds only these).
    pub needed: Vec<bool>,
    /// Every stage, dependencies first (ties by index).
    pub order: Vec<usize>,
    /// Per stage: base after global-ARG expansion under these options.
    pub base_expanded: Vec<String>,
    /// Per stage: the earlier stage its FROM names, under these options.
    pub base_stage: Vec<Option<usize>>,
}

const FROM_VARIABLE: &str = "variable expansion is not supported for --from, define a new stage \
                             with FROM using ARG from global scope as a workaround";

impl StageGraph {
    pub fn build(df: &Dockerfile, opts: &GraphOptions) -> Result<StageGraph, DockerfileError> {
        let stages = df.stages_with_args(opts)?;
        let n = stages.len();
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        for s in &stages {
            if let Some(name) = &s.name {
                by_name.insert(name.clone(), s.index);
            }
        }
        let target = match &opts.target {
            None => n - 1,
            Some(t) => *by_name.get(&t.to_lowercase()).ok_or_else(|| {
                DockerfileError::whole_file(format!("target stage \"{t}\" could not be found"))
            })?,
        };

        let mut edges = Vec::new();
        let mut externals = Vec::new();
        let mut trigger_errors: Vec<(usize, DockerfileError)> = Vec::new();
        let mut triggers = Vec::new();
        for s in &stages {
            if let Some(b) = s.base_stage {
                edges.push(Edge {
                    from: b,
                    to: s.index,
                    via: EdgeKind::From,
                    line: s.line,
                    onbuild: None,
                });
                for t in onbuild::triggers(&stages[b], &s.from, df.escape) {
                    match t {
                        Ok(t) => triggers.push((s.index, t)),
                        Err(e) => trigger_errors.push((s.index, e)),
                    }
                }
            }
        }
        let globals = df.global_env(opts)?;
        let mut ended: Vec<Env> = Vec::with_capacity(n);
        let mut commands: Vec<Commands<'_>> = Vec::new();
        for s in &stages {
            let inherited = s.base_stage.and_then(|b| ended.get(b));
            let mut vars = StageVars::new(inherited, &globals, &opts.build_args, df.escape);
            let own = triggers.iter().filter(|(to, _)| *to == s.index);
            let list = own
                .map(|(_, t)| (&t.instruction, Some(t.onbuild_line)))
                .chain(s.instructions.iter().map(|i| (i, None)));
            let mut cmds = Commands {
                stage: s,
                list: Vec::new(),
                vars: Vec::new(),
            };
            for (ins, onbuild) in list {
                cmds.list.push(ins);
                cmds.vars.push(vars.clone());
                let found = sources(df, ins, &vars, &by_name, n);
                // dispatch::check reports an ARG or ENV that does not expand.
                let _ = vars.step(ins);
                let found = match found {
                    Ok(found) => found,
                    // initOnBuildTriggers runs only for stages the target needs.
                    Err(e) if onbuild.is_some() => {
                        trigger_errors.push((s.index, e));
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let mut seen = BTreeSet::new();
                for source in found {
                    if !seen.insert(source.clone()) {
                        continue;
                    }
                    match source {
                        (Ok(from), via) => edges.push(Edge {
                            from,
                            to: s.index,
                            via,
                            line: ins.line,
                            onbuild,
                        }),
                        (Err(image), via) => externals.push(External {
                            image,
                            to: s.index,
                            via,
                            line: ins.line,
                        }),
                    }
                }
            }
            commands.push(cmds);
            ended.push(vars.env().clone());
        }

        let deps = |i: usize| edges.iter().filter(move |e| e.to == i).map(|e| e.from);
        // validateCircularDependency runs before any ONBUILD trigger is read.
        let own_edges: Vec<Edge> = edges
            .iter()
            .filter(|e| e.onbuild.is_none())
            .cloned()
            .collect();
        if let Some(e) = cycle(n, &own_edges) {
            return Err(DockerfileError::new(
                e.line,
                1,
                format!(
                    "circular dependency detected on stage: {}",
                    stage_name(&stages[e.to])
                ),
            ));
        }

        let mut needed = vec![false; n];
        let mut stack = vec![target];
        while let Some(i) = stack.pop() {
            if !std::mem::replace(&mut needed[i], true) {
                stack.extend(deps(i));
            }
        }
        if let Some((_, e)) = trigger_errors.into_iter().find(|(to, _)| needed[*to]) {
            return Err(e);
        }
        dispatch::check(&commands, &needed, &by_name)?;

        let order = topological(n, &edges);
        Ok(StageGraph {
            edges,
            externals,
            target,
            needed,
            order,
            base_expanded: stages.iter().map(|s| s.base_expanded.clone()).collect(),
            base_stage: stages.iter().map(|s| s.base_stage).collect(),
        })
    }

    /// Edges into stage `i`.
    pub fn edges_into(&self, i: usize) -> impl Iterator<Item = &Edge> {
        self.edges.iter().filter(move |e| e.to == i)
    }

    /// The stage `to` copies the most from (COPY --from edges; the earlier stage on a tie,
    /// usually the builder), else its FROM stage: what a diff compares `to` against by
    /// default, in `stagescope diff` and in the TUI alike.
    pub fn copied_most_from(&self, to: usize) -> Option<usize> {
        let mut counts: Vec<(usize, usize)> = Vec::new();
        for e in self.edges_into(to).filter(|e| e.via == EdgeKind::Copy) {
            match counts.iter_mut().find(|c| c.0 == e.from) {
                Some(c) => c.1 += 1,
                None => counts.push((e.from, 1)),
            }
        }
        let best = counts
            .iter()
            .max_by_key(|&&(s, n)| (n, std::cmp::Reverse(s)))
            .map(|c| c.0);
        best.or(self.base_stage.get(to).copied().flatten())
    }
}

type Source = (Result<usize, String>, EdgeKind);

/// The stages (Ok) or images and URLs (Err) one instruction reads from. ONBUILD makes none
/// where it is written (its triggers are read as instructions of the child stages).
fn sources(
    df: &Dockerfile,
    ins: &Instruction,
    vars: &StageVars<'_>,
    by_name: &BTreeMap<String, usize>,
    n: usize,
) -> Result<Vec<Source>, DockerfileError> {
    let mut out = Vec::new();
    match ins.keyword {
        Keyword::Copy => {
            let Some(flag) = ins.flags.iter().find(|f| f.name == "from") else {
                return Ok(out);
            };
            let from = flag.value.clone().unwrap_or_default();
            let err_at = |msg: String| {
                let (line, col) = position_in(df.source(), flag.span.start);
                DockerfileError::new(line, col, msg)
            };
            if from.is_empty() {
                return Ok(out);
            }
            if expand_word(&from, df.escape, &Env::new()).map_err(err_at)? != from {
                return Err(err_at(FROM_VARIABLE.into()));
            }
            let source = match go_atoi(&from) {
                Some(i) if i < 0 || i >= n as i64 => {
                    return Err(err_at(format!("invalid stage index {i}")));
                }
                Some(i) => Ok(i as usize),
                None => by_name.get(&from.to_lowercase()).copied().ok_or(from),
            };
            out.push((source, EdgeKind::Copy));
        }
        Keyword::Run => {
            for mount in ins.flag_values("mount") {
                // Checked when the instruction was parsed.
                let from = mount::parse_from(mount).ok().flatten();
                if let Some(from) = from.filter(|f| !f.is_empty()) {
                    let source = by_name.get(&from.to_lowercase()).copied().ok_or(from);
                    out.push((source, EdgeKind::Mount));
                }
            }
        }
        Keyword::Add => {
            // As BuildKit reads them: quotes gone, variables in. Words that do not expand are
            // dispatch's error (for a stage the target needs); none of them is an edge.
            let Ok(words) = vars.words(ins) else {
                return Ok(out);
            };
            for src in words.sources_and_dest().0 {
                if let Ok(Remote::Git { .. } | Remote::Http) = remote::classify(src) {
                    out.push((Err(src.to_string()), EdgeKind::Add));
                }
            }
        }
        _ => {}
    }
    Ok(out)
}

/// The first edge found on a cycle, if any.
fn cycle(n: usize, edges: &[Edge]) -> Option<&Edge> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit<'e>(i: usize, edges: &'e [Edge], marks: &mut [Mark]) -> Option<&'e Edge> {
        marks[i] = Mark::Open;
        for e in edges.iter().filter(|e| e.to == i) {
            match marks[e.from] {
                Mark::Open => return Some(e),
                Mark::New => {
                    if let Some(c) = visit(e.from, edges, marks) {
                        return Some(c);
                    }
                }
                Mark::Done => {}
            }
        }
        marks[i] = Mark::Done;
        None
    }
    let mut marks = vec![Mark::New; n];
    (0..n).find_map(|i| {
        if marks[i] == Mark::New {
            visit(i, edges, &mut marks)
        } else {
            None
        }
    })
}

/// Kahn's algorithm, always taking the lowest ready index (stable, source-like order).
fn topological(n: usize, edges: &[Edge]) -> Vec<usize> {
    let mut indegree = vec![0usize; n];
    let mut pairs: BTreeSet<(usize, usize)> = BTreeSet::new();
    for e in edges {
        if e.from != e.to && pairs.insert((e.from, e.to)) {
            indegree[e.to] += 1;
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &(_, to) in pairs.range((i, 0)..=(i, usize::MAX)) {
            indegree[to] -= 1;
            if indegree[to] == 0 {
                ready.insert(to);
            }
        }
    }
    // An ONBUILD trigger can close a cycle among stages the target does not need: those
    // stages come last, in index order.
    order.extend((0..n).filter(|&i| indegree[i] > 0));
    order
}
