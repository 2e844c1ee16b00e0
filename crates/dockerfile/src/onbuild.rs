//! ONBUILD triggers of a stage, run in the stages built FROM it. dockerfile2llb
//! (`resolveStages`, `initOnBuildTriggers`) does this for every stage the target needs whose
//! base is a stage of the same Dockerfile: it takes the ONBUILD instructions of that base
//! stage (its own, not those the base inherited), parses each as a fresh instruction located at
//! the child's FROM, and runs them before the child's own instructions. A trigger's
//! `COPY --from` or `RUN --mount=…,from=` is a dependency of the child.

use super::error::DockerfileError;
use super::flags::{self, Flag};
use super::instruction::{Args, Instruction, Keyword, after_first_word, form};
use super::model::Stage;

/// One trigger as it runs in the child: an instruction placed at the child's FROM (line, span),
/// and the line of the ONBUILD it came from.
pub(crate) struct Trigger {
    pub instruction: Instruction,
    pub onbuild_line: usize,
}

/// The triggers `base` hands to a child whose FROM is `child_from`, in order. A trigger that
/// does not parse is BuildKit's error at the child's FROM (raised only if the child is built).
pub(crate) fn triggers(
    base: &Stage,
    child_from: &Instruction,
    escape: char,
) -> Vec<Result<Trigger, DockerfileError>> {
    base.instructions
        .iter()
        .filter(|i| i.keyword == Keyword::Onbuild)
        .map(|ob| {
            trigger(ob, child_from, escape)
                .map(|instruction| Trigger {
                    instruction,
                    onbuild_line: ob.line,
                })
                .map_err(|m| DockerfileError::new(child_from.line, 1, m))
        })
        .collect()
}

fn trigger(onbuild: &Instruction, at: &Instruction, escape: char) -> Result<Instruction, String> {
    let Args::Shell(text) = &onbuild.args else {
        return Err("onbuild trigger should be a single expression".into());
    };
    let word = text.split_whitespace().next().unwrap_or_default();
    let keyword = Keyword::parse(word)
        .ok_or_else(|| format!("unknown instruction: {}", word.to_uppercase()))?;
    let rest = after_first_word(text);
    let (words, off) = flags::extract(rest, escape);
    let typed = flags::check(keyword, &words).map_err(|(_, m)| m)?;
    let args = form(keyword, &rest[off..])?;
    Ok(Instruction {
        keyword,
        line: at.line,
        end_line: at.line,
        span: at.span.clone(),
        original: text.clone(),
        flags: typed
            .into_iter()
            .map(|(name, value)| Flag {
                name,
                value,
                span: at.span.start..at.span.start,
            })
            .collect(),
        args,
        heredocs: onbuild.heredocs.clone(),
    })
}
