//! Which instruction put each file of a release stage there: a `COPY --from=<stage>` (mapped
//! back to the source stage's path, with whether the bytes are identical), a `COPY`/`ADD`
//! from the context, the base image, or the stage's own `RUN`s.
//!
//! Layers are not read: attribution replays the copy rules of the Dockerfile (`dst/` takes
//! a source's name, a source directory's contents land in `dst`, the last copy of a path
//! wins) against the indexes of the stages involved. Where the rules cannot tell, it says
//! so rather than guess (`Origin::Own { instruction: None }`, `Origin::BaseOrOwn`).

use globset::GlobBuilder;

use super::index::{EntryId, EntryRef, FsIndex, Kind};
use stagescope_dockerfile::{Dockerfile, GraphOptions, Keyword};

/// Where a copy reads from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "value")]
pub enum CopySource {
    Stage(usize),
    Image(String),
    Context,
}

/// One `COPY` or `ADD` of the release stage.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyStep {
    /// Index in the stage, the FROM being 0 (as `stage@N`).
    pub instruction: usize,
    pub line: usize,
    pub text: String,
    pub from: CopySource,
    /// Sources without leading `/` (for stages: relative to that stage's root).
    pub srcs: Vec<String>,
    /// Destination without leading or trailing `/`, WORKDIR applied.
    pub dst: String,
    /// `dst/` or several sources: each source goes inside `dst`.
    pub dst_is_dir: bool,
}

/// What the release stage is made of, read from the Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReleaseModel {
    pub stage: usize,
    /// The base: a stage, or an image name (`scratch` for none).
    pub base: CopySource,
    pub base_name: String,
    pub copies: Vec<CopyStep>,
    /// RUN, and WORKDIR with the directory it makes: (instruction, line, keyword, path).
    pub others: Vec<(usize, usize, String, Option<String>)>,
    /// Stage names by index, for display.
    pub stage_names: Vec<String>,
}

/// `a/./b//c/` -> `a/b/c`, leading `/` dropped.
fn normalize(p: &str) -> String {
    p.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

fn join(dir: &str, rel: &str) -> String {
    if rel.starts_with('/') {
        normalize(rel)
    } else {
        normalize(&format!("{dir}/{rel}"))
    }
}

impl ReleaseModel {
    /// The model of stage `stage` of `df`, its words read with the defaults of its ARGs.
    pub fn from_dockerfile(df: &Dockerfile, stage: usize) -> ReleaseModel {
        ReleaseModel::from_dockerfile_with(df, stage, &GraphOptions::default())
    }

    /// The model of stage `stage` of `df` built with `opts`: WORKDIR and COPY/ADD words as
    /// BuildKit expands them (quotes removed, the stage's ARG and ENV in).
    pub fn from_dockerfile_with(
        df: &Dockerfile,
        stage: usize,
        opts: &GraphOptions,
    ) -> ReleaseModel {
        let st = &df.stages[stage];
        let expanded = df.expanded_words(opts);
        let words_of = |k: usize, ins: &stagescope_dockerfile::Instruction| -> Vec<String> {
            match expanded.get(stage).and_then(|s| s.get(k)) {
                Some(Ok(w)) => w.args.clone(),
                _ => ins.args.words(),
            }
        };
        let stage_names: Vec<String> = df.stages.iter().map(|s| s.display_name()).collect();
        let stage_ref = |name: &str| -> Option<usize> {
            df.stages[..stage]
                .iter()
                .position(|s| s.name.as_deref() == Some(name.to_lowercase().as_str()))
                .or_else(|| name.parse::<usize>().ok().filter(|&i| i < stage))
        };
        let base = match st.base_stage {
            Some(b) => CopySource::Stage(b),
            None => CopySource::Image(st.base_expanded.clone()),
        };
        let mut workdir = String::new();
        let mut copies = Vec::new();
        let mut others = Vec::new();
        for (k, ins) in st.instructions.iter().enumerate() {
            let instruction = k + 1;
            match ins.keyword {
                Keyword::Workdir => {
                    let w = words_of(k, ins).join(" ");
                    workdir = join(&workdir, &w);
                    others.push((
                        instruction,
                        ins.line,
                        "WORKDIR".to_string(),
                        Some(workdir.clone()),
                    ));
                }
                Keyword::Copy | Keyword::Add => {
                    let mut words = words_of(k, ins);
                    if !ins.heredocs.is_empty() || words.len() < 2 {
                        others.push((instruction, ins.line, ins.keyword.to_string(), None));
                        continue;
                    }
                    let raw_dst = words.pop().unwrap_or_default();
                    let from = match ins.flag("from").flatten() {
                        Some(f) => match stage_ref(f) {
                            Some(i) => CopySource::Stage(i),
                            None => CopySource::Image(f.to_string()),
                        },
                        None => CopySource::Context,
                    };
                    copies.push(CopyStep {
                        instruction,
                        line: ins.line,
                        text: ins.original.clone(),
                        from,
                        dst_is_dir: raw_dst.ends_with('/') || words.len() > 1,
                        srcs: words.iter().map(|s| normalize(s)).collect(),
                        dst: join(&workdir, &raw_dst),
                    });
                }
                Keyword::Run => others.push((instruction, ins.line, "RUN".to_string(), None)),
                _ => {}
            }
        }
        ReleaseModel {
            stage,
            base_name: match &base {
                CopySource::Stage(b) => stage_names[*b].clone(),
                CopySource::Image(i) => i.clone(),
                CopySource::Context => String::new(),
            },
            base,
            copies,
            others,
            stage_names,
        }
    }

    /// The source stage each copy step reads, deduplicated: the indexes attribution wants.
    pub fn source_stages(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .copies
            .iter()
            .filter_map(|c| match c.from {
                CopySource::Stage(i) => Some(i),
                _ => None,
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Where one entry of the release came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "origin")]
pub enum Origin {
    /// Copy step `step` of [`ReleaseModel::copies`]; `source` is the entry in the source
    /// stage's index when it is known, `identical` whether kind and bytes match it.
    Copy {
        step: usize,
        source: Option<EntryId>,
        identical: Option<bool>,
    },
    /// Unchanged from the base image.
    Base,
    /// Made or changed by the stage's own instructions; `instruction` when only one can
    /// have done it.
    Own { instruction: Option<usize> },
    /// No base index to tell the base image from the stage's own instructions.
    BaseOrOwn,
}

/// The origin of every entry of a release index, by [`EntryId`].
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    origins: Vec<Origin>,
}

/// What attribution reads besides the release index.
pub struct Inputs<'a> {
    /// Indexes of the source stages (any subset of [`ReleaseModel::source_stages`]).
    pub stages: &'a [(usize, &'a FsIndex)],
    /// The base image's index, when known.
    pub base: Option<&'a FsIndex>,
}

fn same(a: &EntryRef<'_>, b: &EntryRef<'_>) -> bool {
    a.kind() == b.kind()
        && match a.kind() {
            Kind::File | Kind::Hardlink => a.hash() == b.hash() && a.size() == b.size(),
            Kind::Symlink => a.link() == b.link(),
            _ => true,
        }
}

/// `p` below `dir` (`dir` empty: the root): the rest of the path, `""` when equal.
fn under<'p>(p: &'p str, dir: &str) -> Option<&'p str> {
    if dir.is_empty() {
        return Some(p);
    }
    let rest = p.strip_prefix(dir)?;
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}

fn base_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

impl CopyStep {
    /// The source path this step would have written `p` from, if it writes `p` at all.
    /// `Some(None)`: written by the step, but no source path to name (a destination
    /// directory the step made).
    fn source_of(
        &self,
        p: &str,
        src_ix: Option<&FsIndex>,
        release: &FsIndex,
    ) -> Option<Option<String>> {
        let dst_dir = self.dst_is_dir
            || release
                .lookup(self.dst.as_bytes())
                .is_some_and(|d| release.get(d).kind() == Kind::Dir);
        for s in &self.srcs {
            if has_glob(s) {
                let (parent, pat) = s.rsplit_once('/').unwrap_or(("", s));
                let Ok(g) = GlobBuilder::new(pat).literal_separator(true).build() else {
                    continue;
                };
                let g = g.compile_matcher();
                let rest = under(p, &self.dst)?;
                if rest.is_empty() {
                    return Some(None);
                }
                let (first, tail) = rest.split_once('/').unwrap_or((rest, ""));
                if g.is_match(first) {
                    return Some(Some(join(&join(parent, first), tail)));
                }
                continue;
            }
            let kind = src_ix.and_then(|ix| ix.lookup(s.as_bytes()).map(|e| ix.get(e).kind()));
            let maybe_file = kind.is_none_or(|k| k != Kind::Dir) && !s.is_empty();
            if maybe_file {
                let target = if dst_dir {
                    join(&self.dst, base_name(s))
                } else {
                    self.dst.clone()
                };
                if p == target {
                    return Some(Some(s.clone()));
                }
            }
            let maybe_dir = kind.is_none_or(|k| k == Kind::Dir);
            if maybe_dir && let Some(rest) = under(p, &self.dst) {
                return Some(Some(join(s, rest)));
            }
        }
        None
    }

    /// `p` is the destination directory or one this step had to make to reach it.
    fn makes_dir(&self, p: &str) -> bool {
        under(&self.dst, p).is_some()
    }
}

impl Provenance {
    /// Attributes every entry of `release` (the stage `model` describes).
    pub fn attribute(model: &ReleaseModel, release: &FsIndex, inputs: &Inputs<'_>) -> Provenance {
        let stage_ix = |c: &CopyStep| match c.from {
            CopySource::Stage(i) => inputs.stages.iter().find(|(s, _)| *s == i).map(|x| x.1),
            _ => None,
        };
        let runs: Vec<usize> = model
            .others
            .iter()
            .filter(|o| o.2 == "RUN")
            .map(|o| o.0)
            .collect();
        let mut origins = vec![Origin::BaseOrOwn; release.len()];
        for e in release.entries() {
            let p = String::from_utf8_lossy(e.path());
            origins[e.id as usize] =
                Self::origin_of(model, release, inputs, &stage_ix, &runs, &e, &p);
        }
        Provenance { origins }
    }

    fn origin_of<'a>(
        model: &ReleaseModel,
        release: &FsIndex,
        inputs: &Inputs<'a>,
        stage_ix: &dyn Fn(&CopyStep) -> Option<&'a FsIndex>,
        runs: &[usize],
        e: &EntryRef<'_>,
        p: &str,
    ) -> Origin {
        // The last copy of a path wins.
        for (k, c) in model.copies.iter().enumerate().rev() {
            let ix = stage_ix(c);
            let Some(src) = c.source_of(p, ix, release) else {
                continue;
            };
            let (source, identical) = match (ix, src) {
                (Some(ix), Some(sp)) => match ix.lookup(sp.as_bytes()) {
                    Some(id) => (Some(id), Some(same(&ix.get(id), e))),
                    // The source stage has no such path: not this step's doing.
                    None => continue,
                },
                _ => (None, None),
            };
            return Origin::Copy {
                step: k,
                source,
                identical,
            };
        }
        if let Some(base) = inputs.base
            && let Some(b) = base.lookup(e.path())
            && same(&base.get(b), e)
        {
            return Origin::Base;
        }
        let in_base = inputs.base.map(|b| b.lookup(e.path()).is_some());
        if e.kind() == Kind::Dir && in_base != Some(true) {
            // The first instruction that needed the directory made it.
            let copy = model.copies.iter().position(|c| c.makes_dir(p));
            let workdir = model
                .others
                .iter()
                .find(|o| o.3.as_deref().is_some_and(|w| under(w, p).is_some()));
            match (copy, workdir) {
                (Some(k), w) if w.is_none_or(|w| model.copies[k].instruction < w.0) => {
                    return Origin::Copy {
                        step: k,
                        source: None,
                        identical: None,
                    };
                }
                (_, Some(w)) => {
                    return Origin::Own {
                        instruction: Some(w.0),
                    };
                }
                _ => {}
            }
        }
        match in_base {
            None => Origin::BaseOrOwn,
            Some(_) => Origin::Own {
                instruction: (runs.len() == 1).then(|| runs[0]),
            },
        }
    }

    pub fn of(&self, id: EntryId) -> Origin {
        self.origins
            .get(id as usize)
            .copied()
            .unwrap_or(Origin::BaseOrOwn)
    }

    /// Files (non-directories) that a `COPY --from=<stage>` brought, and their bytes.
    pub fn copied_from_stages(&self, model: &ReleaseModel, release: &FsIndex) -> (u64, u64) {
        let mut n = 0;
        let mut bytes = 0;
        for e in release.entries().filter(|e| e.kind() != Kind::Dir) {
            if let Origin::Copy { step, .. } = self.of(e.id)
                && matches!(model.copies[step].from, CopySource::Stage(_))
            {
                n += 1;
                bytes += e.size();
            }
        }
        (n, bytes)
    }

    /// The instruction (index in the stage) an origin names, if one.
    pub fn instruction(model: &ReleaseModel, origin: Origin) -> Option<usize> {
        match origin {
            Origin::Copy { step, .. } => model.copies.get(step).map(|c| c.instruction),
            Origin::Own { instruction } => instruction,
            _ => None,
        }
    }

    /// One line for people: `COPY --from=builder /src /app (line 9), identical`.
    pub fn describe(model: &ReleaseModel, origin: Origin) -> String {
        match origin {
            Origin::Copy {
                step, identical, ..
            } => {
                let Some(c) = model.copies.get(step) else {
                    return "a COPY".to_string();
                };
                let same = match identical {
                    Some(true) => ", identical",
                    Some(false) => ", changed since",
                    None => "",
                };
                format!("{} (line {}){same}", c.text, c.line)
            }
            Origin::Base => format!("base image {}", model.base_name),
            Origin::Own {
                instruction: Some(k),
            } => match model.others.iter().find(|o| o.0 == k) {
                Some((_, line, kw, _)) => format!("{kw} (line {line})"),
                None => format!("instruction {k}"),
            },
            Origin::Own { instruction: None } => "the stage's own instructions".to_string(),
            Origin::BaseOrOwn => format!(
                "base image {} or the stage's own instructions",
                model.base_name
            ),
        }
    }
}

#[cfg(test)]
#[path = "provenance_tests.rs"]
mod tests;
