//! The whole Dockerfile explained at once, for a page a teacher hands out: every stage and
//! instruction with its explanation and, when a build ran, its numbers. Serializes to the
//! JSON of `stagescope explain --format json` (keys documented in docs/commands.md).

use super::numbers::{BuildNumbers, InstructionNumbers, Reach};
use super::{Effect, Explanation, build, effect, global_args, instruction, stage, wasted};
use stagescope_dockerfile::{Dockerfile, StageGraph};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstructionPage {
    pub line: usize,
    pub text: String,
    pub keyword: String,
    /// layer, workdir, metadata or stage: what it does to the image.
    pub effect: Effect,
    /// The explanation's sentences as one paragraph.
    pub explanation: String,
    /// What it did in the build (absent without one).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub numbers: Option<InstructionNumbers>,
    /// What its layer hid of earlier layers' files, in words (only when it hid some).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wasted: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StagePage {
    pub index: usize,
    pub name: String,
    pub base: String,
    pub needed: bool,
    pub target: bool,
    pub explanation: Explanation,
    /// Files (not directories) and bytes of the stage's image; null without a build.
    pub files: Option<u64>,
    pub bytes: Option<u64>,
    /// For a stage the target copies from: what reaches the final image, and what stays.
    pub reaches_final: Option<Reach>,
    pub instructions: Vec<InstructionPage>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GlobalArg {
    pub line: usize,
    pub text: String,
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Handout {
    /// The build that gave the numbers (its images are removed when the handout is
    /// printed), set by the caller; null without one.
    pub build_id: Option<String>,
    pub target: String,
    pub summary: Explanation,
    pub global_args: Vec<GlobalArg>,
    pub stages: Vec<StagePage>,
    /// Stage names from the first to the target; empty without a build.
    pub critical_path: Vec<String>,
    pub duration_ms: Option<u64>,
}

/// Every stage and instruction of `df` explained, with `numbers` when a build ran.
pub fn handout(df: &Dockerfile, g: &StageGraph, numbers: Option<&BuildNumbers>) -> Handout {
    let stages = df
        .stages
        .iter()
        .enumerate()
        .map(|(i, st)| {
            let sn = numbers.and_then(|n| n.stage(i));
            let instructions = std::iter::once(&st.from)
                .chain(&st.instructions)
                .enumerate()
                .map(|(k, ins)| {
                    let n = numbers.and_then(|n| n.instruction(i, k));
                    let words = instruction(df, i, k, None).map(|e| e.paragraph());
                    InstructionPage {
                        line: ins.line,
                        text: ins.original.clone(),
                        keyword: ins.keyword.to_string(),
                        effect: effect(ins.keyword),
                        explanation: words.unwrap_or_default(),
                        numbers: n.cloned(),
                        wasted: n
                            .and_then(|n| n.waste.as_ref())
                            .map(|w| wasted(ins.keyword, w)),
                    }
                })
                .collect();
            StagePage {
                index: i,
                name: st.display_name(),
                base: g.base_expanded[i].clone(),
                needed: g.needed[i],
                target: i == g.target,
                explanation: stage(df, g, i, numbers),
                files: sn.map(|n| n.files),
                bytes: sn.map(|n| n.bytes),
                reaches_final: sn.and_then(|n| n.reach.clone()),
                instructions,
            }
        })
        .collect();
    Handout {
        build_id: None,
        target: df.stages[g.target].display_name(),
        summary: build(df, g, numbers),
        global_args: global_args(df)
            .into_iter()
            .map(|(line, text, e)| GlobalArg {
                line,
                text,
                explanation: e.paragraph(),
            })
            .collect(),
        stages,
        critical_path: numbers
            .map(|n| {
                n.critical_path
                    .iter()
                    .map(|&i| df.stages[i].display_name())
                    .collect()
            })
            .unwrap_or_default(),
        duration_ms: numbers.and_then(|n| n.duration_ms),
    }
}
