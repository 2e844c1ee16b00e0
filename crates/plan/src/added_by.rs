//! Which Dockerfile instruction made each layer of a stage's image: the image's history
//! lines (`RUN make`, `COPY …`) matched against the instructions that led to that state —
//! the base stage's first when `FROM` names a stage, then the stage's own up to the one
//! opened. Matching runs from the top layer down, so the base image's layers (below every
//! instruction of the build) stay unattributed rather than guessed.

use super::plan::BuildPlan;
use stagescope_fs::FsIndex;
use stagescope_fs::layers::ImageLayers;

/// The instruction behind a layer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Origin {
    /// Stage index in the plan.
    #[serde(skip)]
    pub stage_index: usize,
    /// The stage's display name.
    pub stage: String,
    /// Index in the stage, the FROM being 0.
    pub instruction: usize,
    /// 1-based Dockerfile line.
    pub line: usize,
    #[serde(skip)]
    pub text: String,
}

impl Origin {
    /// `line 6 RUN make`, for a narrow column.
    pub fn label(&self) -> String {
        format!("line {} {}", self.line, self.text)
    }
}

/// Keywords whose instructions may make a layer.
const LAYER_KEYWORDS: &[&str] = &["RUN", "COPY", "ADD", "WORKDIR"];

/// How far past a non-matching instruction the matcher looks (a WORKDIR that made no layer,
/// a RUN whose history text differs).
const LOOKAHEAD: usize = 4;

/// (stage, instruction) of every instruction up to `at` of `stage`, base stages first.
pub fn chain(plan: &BuildPlan, stage: usize, at: usize) -> Vec<(usize, usize)> {
    let mut stages = vec![(stage, at)];
    // FROM <stage> chains are acyclic in a valid plan; the bound keeps a bad one finite.
    while let Some(&(s, _)) = stages.last() {
        match plan.stages.get(s).and_then(|st| st.base_stage) {
            Some(b) if stages.len() <= plan.stages.len() => {
                let last = plan.stages[b].instructions.len().saturating_sub(1);
                stages.push((b, last));
            }
            _ => break,
        }
    }
    stages
        .into_iter()
        .rev()
        .flat_map(|(s, upto)| {
            let n = plan.stages.get(s).map_or(0, |st| st.instructions.len());
            (1..n.min(upto.saturating_add(1))).map(move |k| (s, k))
        })
        .collect()
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The instruction of each layer (bottom first), `None` for the base image's layers and
/// for layers no instruction explains.
pub fn map_layers(
    plan: &BuildPlan,
    stage: usize,
    at: usize,
    layers: &ImageLayers,
) -> Vec<Option<Origin>> {
    let candidates: Vec<(usize, usize)> = chain(plan, stage, at)
        .into_iter()
        .filter(|&(s, k)| LAYER_KEYWORDS.contains(&plan.stages[s].instructions[k].keyword.as_str()))
        .collect();
    let mut out = vec![None; layers.layers.len()];
    let mut j = candidates.len();
    for (li, layer) in layers.layers.iter().enumerate().rev() {
        if j == 0 {
            break;
        }
        let Some(created) = layer.created_by.as_deref() else {
            continue;
        };
        let created = squash(created);
        let kw = created.split(' ').next().unwrap_or("");
        let window = (j.saturating_sub(LOOKAHEAD + 1)..j).rev();
        let mut by_keyword = None;
        let mut exact = None;
        for p in window {
            let (s, k) = candidates[p];
            let ins = &plan.stages[s].instructions[k];
            if ins.keyword != kw {
                continue;
            }
            by_keyword.get_or_insert(p);
            if squash(&ins.text) == created {
                exact = Some(p);
                break;
            }
        }
        if let Some(p) = exact.or(by_keyword) {
            let (s, k) = candidates[p];
            let ins = &plan.stages[s].instructions[k];
            out[li] = Some(Origin {
                stage_index: s,
                stage: plan.stages[s].display_name(),
                instruction: k,
                line: ins.line,
                text: ins.text.clone(),
            });
            j = p;
        }
    }
    out
}

/// What the layers say of one opened image, ready to draw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerInfo {
    /// Per index entry: the layer that last wrote it.
    pub attribution: Vec<Option<u16>>,
    /// Per index entry: the layer that made it (for a directory the first it appears in;
    /// see [`ImageLayers::attribute_created`]).
    pub created: Vec<Option<u16>>,
    /// Per layer: `line 6 RUN make`, or the history line for the base image's layers.
    pub labels: Vec<String>,
    /// The base image's layers: those below the first a Dockerfile instruction made (all of
    /// them when none did), as `stagescope waste --stage` counts them apart.
    pub base_layers: usize,
    /// The layer the opened instruction made, if it made one.
    pub target_layer: Option<usize>,
    /// What that layer wrote and deleted (paths).
    pub added: Vec<Vec<u8>>,
    pub deleted: Vec<Vec<u8>>,
}

/// The base image's layers among `origins` (what [`map_layers`] answered): those below the
/// first an instruction made, all of them when none did.
pub fn base_layers(origins: &[Option<Origin>]) -> usize {
    origins
        .iter()
        .position(Option::is_some)
        .unwrap_or(origins.len())
}

/// Attribution, instruction labels and the opened instruction's own changes, from the
/// layers of the image of `instruction` of `stage`, indexed as `ix`.
pub fn layer_info(
    plan: &BuildPlan,
    stage: usize,
    instruction: usize,
    layers: &ImageLayers,
    ix: &FsIndex,
) -> LayerInfo {
    let origins = map_layers(plan, stage, instruction, layers);
    let labels = layers
        .layers
        .iter()
        .zip(&origins)
        .enumerate()
        .map(|(i, (l, o))| match o {
            Some(o) => o.label(),
            // An imported base (`docker import`) has an empty history line.
            None => match l.created_by.as_deref().map(str::trim) {
                Some(c) if !c.is_empty() => format!("base: {c}"),
                _ => format!("base image, layer {i}"),
            },
        })
        .collect();
    let target_layer = origins.iter().rposition(|o| {
        o.as_ref()
            .is_some_and(|o| o.stage_index == stage && o.instruction == instruction)
    });
    let (added, deleted) = match target_layer.and_then(|t| layers.layers.get(t)) {
        Some(l) => (l.added.clone(), l.deleted.clone()),
        None => (Vec::new(), Vec::new()),
    };
    LayerInfo {
        attribution: layers.attribute(ix),
        created: layers.attribute_created(ix),
        labels,
        base_layers: base_layers(&origins),
        target_layer,
        added,
        deleted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::plan_of;
    use stagescope_fs::layers::Layer;

    fn layers(created: &[&str]) -> ImageLayers {
        ImageLayers {
            light: false,
            layers: created
                .iter()
                .map(|c| Layer {
                    created_by: Some(c.to_string()),
                    ..Layer::default()
                })
                .collect(),
        }
    }

    const DF: &str = "\
FROM busybox AS base
RUN echo one > /one
FROM base AS builder
WORKDIR /src
COPY --from=base /one .
RUN make
RUN  make   install
";

    #[test]
    fn base_stage_first_then_own_instructions() {
        let plan = plan_of(DF);
        assert_eq!(chain(&plan, 1, 2), vec![(0, 1), (1, 1), (1, 2)]);
        let l = layers(&[
            "ADD file:abc in /",
            "RUN echo one > /one",
            "WORKDIR /src",
            "COPY /one . # buildkit",
            "RUN make",
            "RUN make install",
        ]);
        let got: Vec<Option<String>> = map_layers(&plan, 1, 4, &l)
            .into_iter()
            .map(|o| o.map(|o| format!("{}@{} {}", o.stage, o.instruction, o.label())))
            .collect();
        assert_eq!(
            got,
            vec![
                None,
                Some("base@1 line 2 RUN echo one > /one".into()),
                Some("builder@1 line 4 WORKDIR /src".into()),
                Some("builder@2 line 5 COPY --from=base /one .".into()),
                Some("builder@3 line 6 RUN make".into()),
                Some("builder@4 line 7 RUN  make   install".into()),
            ]
        );
    }

    #[test]
    fn a_workdir_without_a_layer_is_skipped() {
        let plan = plan_of(DF);
        let l = layers(&[
            "ADD file:abc in /",
            "RUN echo one > /one",
            "COPY file:x in /src/",
            "RUN make",
        ]);
        let got: Vec<Option<usize>> = map_layers(&plan, 1, 3, &l)
            .into_iter()
            .map(|o| o.map(|o| o.line))
            .collect();
        assert_eq!(got, vec![None, Some(2), Some(5), Some(6)]);
    }
}
