//! Rules BuildKit runs while parsing instructions (`instructions/parse.go`) and right after
//! (`dockerfile2llb/validations.go`: stage names, command casing).

use std::collections::BTreeSet;

use super::super::{Args, Dockerfile, Instruction, Keyword};
use super::text::Source;
use super::{Config, Sink, rules};

/// The words after FROM's flags, as written.
pub(super) fn from_words(from: &Instruction) -> Vec<String> {
    match &from.args {
        Args::Shell(s) => s.split_whitespace().map(str::to_string).collect(),
        Args::Exec(v) => v.clone(),
    }
}

/// ARG names of an instruction's `k[=v]` words.
pub(super) fn arg_keys(ins: &Instruction, escape: char) -> Vec<String> {
    match &ins.args {
        Args::Shell(s) => super::super::expand::split_words(s, escape)
            .into_iter()
            .map(|w| {
                w.text
                    .split_once('=')
                    .map_or(w.text.clone(), |(k, _)| k.to_string())
            })
            .collect(),
        Args::Exec(_) => Vec::new(),
    }
}

fn is_upper(s: &str) -> bool {
    s == s.to_uppercase()
}

fn is_lower(s: &str) -> bool {
    s == s.to_lowercase()
}

/// InvalidDefinitionDescription (experimental): the last comment above a FROM … AS or ARG
/// should start with the name it describes.
fn definition(
    instruction: &str,
    keys: &[String],
    comments: &[String],
    line: usize,
    cfg: &Config,
    sink: &mut Sink,
) {
    let (Some(last), Some(first)) = (comments.last(), keys.first()) else {
        return;
    };
    let word = last.split(' ').next().unwrap_or_default();
    if keys.iter().any(|k| k == word) {
        return;
    }
    let example = if keys.len() > 1 { "<arg_key>" } else { first };
    let detail =
        format!("Comment for {instruction} should follow the format: `# {example} <description>`");
    sink.run(cfg, &rules::INVALID_DEFINITION_DESCRIPTION, line, detail);
}

/// StageNameCasing, FromAsCasing, MaintainerDeprecated, InvalidDefinitionDescription.
pub(super) fn parse_phase(df: &Dockerfile, src: &Source<'_>, base: &Config, sink: &mut Sink) {
    let mut global: BTreeSet<usize> = BTreeSet::new();
    for a in &df.global_args {
        if !global.insert(a.line) {
            continue;
        }
        let keys: Vec<String> = df
            .global_args
            .iter()
            .filter(|b| b.line == a.line)
            .map(|b| b.name.clone())
            .collect();
        let comments = src.comments(a.line);
        let cfg = base.with_comments(&comments);
        definition("ARG", &keys, &comments, a.line, &cfg, sink);
    }
    for st in &df.stages {
        let comments = src.comments(st.line);
        let cfg = base.with_comments(&comments);
        let words = from_words(&st.from);
        let cmd = src.command(st.line);
        if let [_, as_, name] = words.as_slice() {
            if !is_lower(name) {
                let detail = format!("Stage name '{name}' should be lowercase");
                sink.run(&cfg, &rules::STAGE_NAME_CASING, st.line, detail);
            }
            let mismatch = (is_lower(cmd) && !is_lower(as_))
                || (!is_lower(cmd) && is_upper(cmd) && !is_upper(as_));
            if mismatch {
                let detail = format!("'{as_}' and '{cmd}' keywords' casing do not match");
                sink.run(&cfg, &rules::FROM_AS_CASING, st.line, detail);
            }
        }
        if let Some(name) = &st.name {
            definition(
                "FROM",
                std::slice::from_ref(name),
                &comments,
                st.line,
                &cfg,
                sink,
            );
        }
        for ins in &st.instructions {
            let comments = src.comments(ins.line);
            let cfg = base.with_comments(&comments);
            match ins.keyword {
                Keyword::Maintainer => {
                    let detail = "Maintainer instruction is deprecated in favor of using label";
                    sink.run(&cfg, &rules::MAINTAINER_DEPRECATED, ins.line, detail.into());
                }
                Keyword::Arg => {
                    let keys = arg_keys(ins, df.escape);
                    definition("ARG", &keys, &comments, ins.line, &cfg, sink);
                }
                _ => {}
            }
        }
    }
}

/// ReservedStageName, DuplicateStageName.
pub(super) fn stage_names(df: &Dockerfile, cfg: &Config, sink: &mut Sink) {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for st in &df.stages {
        let Some(name) = st.name.as_deref() else {
            continue;
        };
        if matches!(name, "context" | "scratch") {
            let detail =
                format!("Stage name should not use the same name as reserved stage \"{name}\"");
            sink.run(cfg, &rules::RESERVED_STAGE_NAME, st.line, detail);
        }
        if !seen.insert(name) {
            let detail = format!("Duplicate stage name \"{name}\", stage names should be unique");
            sink.run(cfg, &rules::DUPLICATE_STAGE_NAME, st.line, detail);
        }
    }
}

/// ConsistentInstructionCasing: every FROM and stage instruction against the majority
/// (global ARGs do not count; a tie counts as upper case).
pub(super) fn command_casing(df: &Dockerfile, cfg: &Config, sink: &mut Sink) {
    let src = df.source();
    let word = |ins: &Instruction| -> String {
        src.get(ins.span.clone())
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let all: Vec<(usize, String)> = df
        .stages
        .iter()
        .flat_map(|s| std::iter::once(&s.from).chain(&s.instructions))
        .map(|i| (i.line, word(i)))
        .collect();
    let (mut lower, mut upper) = (0, 0);
    for (_, w) in &all {
        if is_lower(w) {
            lower += 1;
        } else if is_upper(w) {
            upper += 1;
        }
    }
    let majority_lower = lower > upper;
    for (line, w) in all {
        let casing = if majority_lower && !is_lower(&w) {
            "lowercase"
        } else if !majority_lower && !is_upper(&w) {
            "uppercase"
        } else {
            continue;
        };
        let detail =
            format!("Command '{w}' should match the case of the command majority ({casing})");
        sink.run(cfg, &rules::CONSISTENT_INSTRUCTION_CASING, line, detail);
    }
}
