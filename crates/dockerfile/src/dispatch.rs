//! Errors BuildKit raises only when it dispatches a stage (`dockerfile2llb` dispatchStages →
//! dispatch → dispatchRun / dispatchCopy), so only for the stages the target needs: a
//! `--from` naming a stage not built yet, a whole `--mount` value (`setMountState` with the
//! stage's variables), `--device` outside the labs frontend, `--chmod`, `--checksum`, and
//! remote sources (`convert_copy.go`). Every check reads the words as BuildKit's `Expand`
//! leaves them ([`StageVars::words`]): quotes removed, the stage's ARG and ENV in.

use std::collections::BTreeMap;

use super::error::DockerfileError;
use super::instruction::{Instruction, Keyword};
use super::model::Stage;
use super::mount;
use super::remote::{self, Source};
use super::scope::{StageVars, Words};

/// The instructions stage `stage` runs, in order: its base's ONBUILD triggers, then its own.
pub(crate) struct Commands<'a> {
    pub stage: &'a Stage,
    pub list: Vec<&'a Instruction>,
    /// Per instruction of `list`: the stage's variables when it is dispatched.
    pub vars: Vec<StageVars<'a>>,
}

/// BuildKit's stage name in messages: the name, or `stage-N`.
pub(crate) fn stage_name(stage: &Stage) -> String {
    stage
        .name
        .clone()
        .unwrap_or_else(|| format!("stage-{}", stage.index))
}

/// The first error BuildKit's dispatch of the needed stages meets, in stage order.
pub(crate) fn check(
    all: &[Commands<'_>],
    needed: &[bool],
    by_name: &BTreeMap<String, usize>,
) -> Result<(), DockerfileError> {
    for cmds in all.iter().filter(|c| needed[c.stage.index]) {
        for (ins, vars) in cmds.list.iter().zip(&cmds.vars) {
            let at = |m: String| DockerfileError::new(ins.line, 1, m);
            // dispatchArg expands the defaults itself; every other instruction is expanded
            // before it is dispatched.
            if ins.keyword == Keyword::Arg {
                vars.clone().step(ins).map_err(at)?;
                continue;
            }
            let words = vars.words(ins).map_err(at)?;
            command(cmds.stage, ins, vars, &words, by_name).map_err(at)?;
        }
    }
    Ok(())
}

fn command(
    stage: &Stage,
    ins: &Instruction,
    vars: &StageVars<'_>,
    words: &Words,
    by_name: &BTreeMap<String, usize>,
) -> Result<(), String> {
    let current = stage.index;
    match ins.keyword {
        Keyword::Run => {
            let expand = |w: &str| vars.expand(w);
            let mounts: Vec<mount::Mount> = ins
                .flag_values("mount")
                .map(|m| mount::check(m, &expand))
                .collect::<Result<_, _>>()?;
            for (value, m) in ins.flag_values("mount").zip(&mounts) {
                let from = mount::parse_from(value)?.unwrap_or_default();
                if by_name
                    .get(&from.to_lowercase())
                    .is_some_and(|&j| j >= current)
                {
                    return Err(format!(
                        "cannot mount from stage {from:?} to {:?}, stage needs to be defined \
                         before current command",
                        m.target
                    ));
                }
            }
            if ins.flag_values("device").next().is_some() {
                return Err(
                    "device feature is only supported in Dockerfile frontend 1.14.0-labs or later"
                        .into(),
                );
            }
            Ok(())
        }
        Keyword::Copy | Keyword::Add => {
            if let Some(from) = ins.flag("from").flatten().filter(|f| !f.is_empty()) {
                let source = match go_atoi(from) {
                    Some(i) => usize::try_from(i).ok(),
                    None => by_name.get(&from.to_lowercase()).copied(),
                };
                if source.is_some_and(|j| j >= current) {
                    return Err(format!(
                        "cannot copy from stage \"{from}\", it needs to be defined before \
                         current stage \"{}\"",
                        stage_name(stage)
                    ));
                }
            }
            copy(ins, words)
        }
        _ => Ok(()),
    }
}

/// dispatchCopy's checks, in its order, on the expanded words.
fn copy(ins: &Instruction, words: &Words) -> Result<(), String> {
    if let Some(chmod) = words.flag("chmod").flatten() {
        check_chmod(chmod)?;
    }
    let (sources, _) = words.sources_and_dest();
    let is_add = ins.keyword == Keyword::Add;
    let checksum = words.flag("checksum").flatten().filter(|c| !c.is_empty());
    if checksum.is_some() {
        if sources.len() != 1 {
            return Err("checksum can't be specified for multiple sources".into());
        }
        if remote::classify(sources[0]).is_ok_and(|s| s == Source::Local) {
            return Err("checksum requires HTTP(S) or Git sources".into());
        }
    }
    let keep_flag = words
        .flag("keep-git-dir")
        .map(|v| v.is_none_or(|v| v.eq_ignore_ascii_case("true")));
    for src in sources {
        match remote::classify(src)? {
            Source::Local => {}
            Source::Git { .. } if !is_add => {
                return Err("source can't be a git ref for COPY".into());
            }
            Source::Http if !is_add => return Err("source can't be a URL for COPY".into()),
            Source::Git {
                keep_git_dir,
                checksum: url_sum,
            } => {
                if keep_flag.zip(keep_git_dir).is_some_and(|(a, b)| a != b) {
                    return Err("inconsistent keep-git-dir configuration".into());
                }
                if let (Some(flag), Some(url)) = (checksum, url_sum.as_deref())
                    && flag != url
                {
                    return Err(format!("checksum mismatch {flag:?} != {url:?}"));
                }
            }
            Source::Http => {
                if let Some(sum) = checksum {
                    remote::check_digest(sum)?;
                }
            }
        }
    }
    Ok(())
}

/// `--chmod`: octal up to 07777, or a symbolic mode (not checked here).
fn check_chmod(v: &str) -> Result<(), String> {
    let err = || {
        Err(format!(
            "invalid chmod parameter: '{v}'. it should be octal string and between 0 and 07777"
        ))
    };
    if !v.is_empty() && v.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return match u64::from_str_radix(v, 8) {
            Ok(n) if n <= 0o7777 => Ok(()),
            _ => err(),
        };
    }
    if v.starts_with(|c: char| c.is_ascii_digit()) {
        return err();
    }
    Ok(())
}

/// Go's strconv.Atoi: optional sign, decimal digits.
pub(super) fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}
