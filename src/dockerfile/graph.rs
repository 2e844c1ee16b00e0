//! Stage graph: which stage feeds which, as BuildKit's `dockerfile2llb/convert.go` decides
//! (addState for FROM, toCommand for `COPY --from`, detectRunMount for `RUN --mount=from=`),
//! plus the target, the stages it needs, and a build order.

use std::collections::{BTreeMap, BTreeSet};

use super::error::DockerfileError;
use super::instruction::{Instruction, Keyword};
use super::model::Dockerfile;
use super::shell::{Env, expand_word};
use super::source::position_in;

/// How one stage feeds another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    From,
    Copy,
    Mount,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::From => "from",
            EdgeKind::Copy => "copy",
            EdgeKind::Mount => "mount",
        }
    }
}

/// Stage `from` feeds stage `to` through the instruction on `line`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub via: EdgeKind,
    pub line: usize,
}

/// An image (not a stage) that stage `to` copies or mounts from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct External {
    pub image: String,
    pub to: usize,
    pub via: EdgeKind,
    pub line: usize,
}

/// What to build: `--target` (default: last stage), `--build-arg` values and `--platform`
/// (the target platform that `TARGETPLATFORM` & co. describe; default: this machine's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphOptions {
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub platform: Option<String>,
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
        for s in &stages {
            if let Some(b) = s.base_stage {
                edges.push(Edge {
                    from: b,
                    to: s.index,
                    via: EdgeKind::From,
                    line: s.line,
                });
            }
            for ins in &s.instructions {
                let mut seen = BTreeSet::new();
                for source in sources(df, ins, &by_name, n)? {
                    if !seen.insert(source.clone()) {
                        continue;
                    }
                    match source {
                        (Ok(from), via) => edges.push(Edge {
                            from,
                            to: s.index,
                            via,
                            line: ins.line,
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
        }

        let deps = |i: usize| edges.iter().filter(move |e| e.to == i).map(|e| e.from);
        if let Some(e) = cycle(n, &edges) {
            return Err(DockerfileError::new(
                e.line,
                1,
                format!(
                    "circular dependency detected on stage: {}",
                    stage_name(&stages[e.to].name, e.to)
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

        // dispatchStages walks stages in order: a needed stage copying from a later one finds
        // it not yet built.
        for e in &edges {
            if e.via == EdgeKind::Copy && needed[e.to] && e.from > e.to {
                let ins = stages[e.to].instructions.iter().find(|i| i.line == e.line);
                let from = ins
                    .and_then(|i| i.flag("from").flatten())
                    .unwrap_or_default();
                return Err(DockerfileError::new(
                    e.line,
                    1,
                    format!(
                        "cannot copy from stage \"{from}\", it needs to be defined before \
                         current stage \"{}\"",
                        stage_name(&stages[e.to].name, e.to)
                    ),
                ));
            }
        }

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

/// BuildKit's stage name in messages: the name, or `stage-N`.
fn stage_name(name: &Option<String>, i: usize) -> String {
    name.clone().unwrap_or_else(|| format!("stage-{i}"))
}

type Source = (Result<usize, String>, EdgeKind);

/// The stages (Ok) or images (Err) one instruction reads from. ONBUILD makes none.
fn sources(
    df: &Dockerfile,
    ins: &Instruction,
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
                let from = mount_fields(mount)
                    .into_iter()
                    .filter(|(k, _)| k == "from")
                    .map(|(_, v)| v)
                    .next_back();
                if let Some(from) = from.filter(|f| !f.is_empty()) {
                    let source = by_name.get(&from.to_lowercase()).copied().ok_or(from);
                    out.push((source, EdgeKind::Mount));
                }
            }
        }
        _ => {}
    }
    Ok(out)
}

/// Go's strconv.Atoi: optional sign, decimal digits.
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `--mount` value: CSV of `key=value` (keys lower-cased), double quotes allowed.
fn mount_fields(value: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    for c in value.chars().chain(std::iter::once(',')) {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                let f = std::mem::take(&mut field);
                let (k, v) = f.split_once('=').unwrap_or((&f, ""));
                fields.push((k.trim().to_lowercase(), v.to_string()));
            }
            c => field.push(c),
        }
    }
    fields
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
        if pairs.insert((e.from, e.to)) {
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
    order
}
