//! The words of each instruction as BuildKit's dispatch reads them. dockerfile2llb's
//! `dispatch` runs every instruction's `Expand` (`instructions/commands.go`) through
//! `shell.Lex.ProcessWord` with the stage's environment before any check looks at a word: quotes
//! removed, escapes applied, `$VAR` replaced. That environment is the base's (an image's
//! config, of which only `PATH` is known here, or the base stage's state), then each ARG
//! (`dispatchArg`: the `--build-arg`, else the default expanded, else a redeclared global's
//! value) and ENV in order.
//!
//! [`StageVars`] follows one stage through its instructions; [`Words`] is what one
//! instruction's `Expand` produces.

use std::collections::BTreeMap;

use super::expand::{Env, expand_word, split_words};
use super::instruction::{Args, Instruction, Keyword};
use super::model::{Dockerfile, GraphOptions};

/// The `PATH` BuildKit gives a state whose image config says none (`system.DefaultPathEnv`).
pub(crate) const DEFAULT_PATH: &str =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// ARGs BuildKit never puts in a stage's environment nor reports as undefined (`nonEnvArgs`).
pub(crate) const NON_ENV: [&str; 2] = ["BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"];

/// One instruction's words after BuildKit's expansion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Words {
    /// The arguments: for COPY and ADD the sources then the destination (a heredoc source
    /// as written), for WORKDIR, USER and STOPSIGNAL the one value, for VOLUME each path, for
    /// ENV and LABEL `key=value` per pair; for every other instruction the words as written
    /// ([`Args::words`]): BuildKit does not expand them (RUN's shell does).
    pub args: Vec<String>,
    /// Every flag, in order: `--chown`, `--chmod` and (ADD) `--checksum` expanded, the rest
    /// as written (`--from` never holds a variable; a `--mount` is expanded field by field
    /// when it is checked, see [`StageVars::expand`]).
    pub flags: Vec<(String, Option<String>)>,
}

impl Words {
    /// The value of the first flag with this name (`Some(None)` for a bare `--link`).
    pub fn flag(&self, name: &str) -> Option<Option<&str>> {
        self.flags
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_deref())
    }

    /// COPY/ADD: the sources (heredoc sources left out) and the destination.
    pub fn sources_and_dest(&self) -> (Vec<&str>, Option<&str>) {
        match self.args.split_last() {
            Some((dest, srcs)) => (
                srcs.iter()
                    .map(String::as_str)
                    .filter(|s| !s.starts_with("<<"))
                    .collect(),
                Some(dest.as_str()),
            ),
            None => (Vec::new(), None),
        }
    }
}

/// `key=value` pairs of ENV, LABEL or ARG as written (BuildKit's parseNameVal and
/// parseNameOrNameVal over parseWords); `legacy` for `ENV KEY value…`, whose value is the
/// rest of the line.
pub(crate) struct Pairs {
    pub pairs: Vec<(String, Option<String>)>,
    pub legacy: bool,
}

pub(crate) fn pairs(ins: &Instruction, escape: char) -> Pairs {
    let Args::Shell(text) = &ins.args else {
        return Pairs {
            pairs: Vec::new(),
            legacy: false,
        };
    };
    let words = split_words(text, escape);
    let arg = ins.keyword == Keyword::Arg;
    match words.first() {
        Some(first) if !arg && !first.text.contains('=') => {
            let rest = text
                .get(first.start + first.text.len()..)
                .unwrap_or_default();
            Pairs {
                pairs: vec![(first.text.clone(), Some(rest.trim().to_string()))],
                legacy: true,
            }
        }
        _ => Pairs {
            pairs: words
                .into_iter()
                .map(|w| match w.text.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (w.text, None),
                })
                .collect(),
            legacy: false,
        },
    }
}

/// The variables of one stage as its instructions are dispatched.
#[derive(Debug, Clone)]
pub struct StageVars<'a> {
    env: Env,
    escape: char,
    globals: &'a Env,
    build_args: &'a BTreeMap<String, String>,
}

impl<'a> StageVars<'a> {
    /// A stage on an image (`inherited` `None`: only `PATH` is known of its config) or on an
    /// earlier stage (that stage's variables when it ended).
    pub fn new(
        inherited: Option<&Env>,
        globals: &'a Env,
        build_args: &'a BTreeMap<String, String>,
        escape: char,
    ) -> StageVars<'a> {
        let env = inherited.cloned().unwrap_or_else(|| {
            let mut env = Env::new();
            env.insert("PATH".into(), DEFAULT_PATH.into());
            env
        });
        StageVars {
            env,
            escape,
            globals,
            build_args,
        }
    }

    /// What `$NAME` means at this point of the stage.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// One word, processed as `ProcessWord` does with this stage's variables.
    pub fn expand(&self, word: &str) -> Result<String, String> {
        expand_word(word, self.escape, &self.env)
    }

    /// The instruction's words after BuildKit's `Expand`, or the error it stops at.
    pub fn words(&self, ins: &Instruction) -> Result<Words, String> {
        let expanded_flags: &[&str] = match ins.keyword {
            Keyword::Add => &["chown", "chmod", "checksum"],
            Keyword::Copy => &["chown", "chmod"],
            _ => &[],
        };
        let flags = ins
            .flags
            .iter()
            .map(|f| {
                let value = match &f.value {
                    Some(v) if expanded_flags.contains(&f.name.as_str()) => Some(self.expand(v)?),
                    v => v.clone(),
                };
                Ok((f.name.clone(), value))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let whole = || match &ins.args {
            Args::Shell(s) => s.trim().to_string(),
            Args::Exec(v) => v.join(" "),
        };
        let args = match ins.keyword {
            Keyword::Copy | Keyword::Add => {
                let heredocs = !ins.heredocs.is_empty();
                let raw = ins.args.words();
                let n = raw.len();
                raw.into_iter()
                    .enumerate()
                    .map(|(i, w)| {
                        if heredocs && i + 1 < n && w.starts_with("<<") {
                            Ok(w)
                        } else {
                            self.expand(&w)
                        }
                    })
                    .collect::<Result<Vec<_>, String>>()?
            }
            Keyword::Workdir | Keyword::User | Keyword::Stopsignal => vec![self.expand(&whole())?],
            Keyword::Volume => ins
                .args
                .words()
                .iter()
                .map(|w| self.expand(w))
                .collect::<Result<Vec<_>, String>>()?,
            Keyword::Env | Keyword::Label => pairs(ins, self.escape)
                .pairs
                .iter()
                .map(|(k, v)| {
                    let k = self.expand(k)?;
                    let v = self.expand(v.as_deref().unwrap_or_default())?;
                    Ok(format!("{k}={v}"))
                })
                .collect::<Result<Vec<_>, String>>()?,
            _ => ins.args.words(),
        };
        Ok(Words { args, flags })
    }

    /// What an ARG or ENV leaves for the instructions after it (`dispatchArg`,
    /// `dispatchEnv`); an error where BuildKit's expansion fails.
    pub fn step(&mut self, ins: &Instruction) -> Result<(), String> {
        match ins.keyword {
            Keyword::Env => {
                let set: Vec<(String, String)> = pairs(ins, self.escape)
                    .pairs
                    .iter()
                    .map(|(k, v)| {
                        Ok((
                            self.expand(k)?,
                            self.expand(v.as_deref().unwrap_or_default())?,
                        ))
                    })
                    .collect::<Result<_, String>>()?;
                self.env.extend(set);
            }
            Keyword::Arg => {
                for (name, default) in pairs(ins, self.escape).pairs {
                    let value = match (self.build_args.get(&name), default) {
                        (Some(v), _) => Some(v.clone()),
                        (None, Some(d)) => Some(self.expand(&d)?),
                        (None, None) => self.globals.get(&name).cloned(),
                    };
                    if let Some(v) = value
                        && !NON_ENV.contains(&name.as_str())
                    {
                        self.env.insert(name, v);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

impl Dockerfile {
    /// Per stage, per instruction after its FROM: its words as BuildKit expands them under
    /// these options (`Err`: the expansion error BuildKit would stop at, were the stage
    /// built). A stage on an earlier stage starts with that stage's variables; ONBUILD
    /// triggers are not run here ([`super::StageGraph`] runs them for its checks).
    pub fn expanded_words(&self, opts: &GraphOptions) -> Vec<Vec<Result<Words, String>>> {
        let globals = self.global_env(opts).unwrap_or_default();
        let stages = self
            .stages_with_args(opts)
            .unwrap_or_else(|_| self.stages.clone());
        let mut ended: Vec<Env> = Vec::with_capacity(stages.len());
        let mut out = Vec::with_capacity(stages.len());
        for st in &stages {
            let inherited = st.base_stage.and_then(|b| ended.get(b));
            let mut vars = StageVars::new(inherited, &globals, &opts.build_args, self.escape);
            let mut words = Vec::with_capacity(st.instructions.len());
            for ins in &st.instructions {
                words.push(vars.words(ins));
                // An ARG or ENV that does not expand stops the build; what follows is read
                // with the variables as they were.
                let _ = vars.step(ins);
            }
            ended.push(vars.env);
            out.push(words);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(df: &str, stage: usize, k: usize) -> Result<Words, String> {
        let df = Dockerfile::parse(df.as_bytes()).expect("parses");
        df.expanded_words(&GraphOptions::default())[stage][k].clone()
    }

    #[test]
    fn copy_and_add_words_lose_quotes_and_take_the_stage_variables() {
        let df = "FROM busybox\nARG SUM=sha256:abc\nENV DIR=/usr/src\n\
                  ADD --checksum=${SUM} \"https://example.com/x.tar.gz\" $DIR/x.tar.gz\n";
        let w = words(df, 0, 2).expect("expands");
        assert_eq!(
            w.args,
            ["https://example.com/x.tar.gz", "/usr/src/x.tar.gz"]
        );
        assert_eq!(w.flag("checksum"), Some(Some("sha256:abc")));
        let (srcs, dest) = w.sources_and_dest();
        assert_eq!(srcs, ["https://example.com/x.tar.gz"]);
        assert_eq!(dest, Some("/usr/src/x.tar.gz"));
    }

    #[test]
    fn workdir_env_and_label_are_expanded_whole() {
        let df = "FROM busybox\nENV APP=demo\nWORKDIR \"/srv/$APP\"\n\
                  ENV HOME_DIR=/home/${APP:-x} OTHER='$APP'\nLABEL \"v\"=\"${APP}\"\n";
        assert_eq!(words(df, 0, 1).expect("workdir").args, ["/srv/demo"]);
        assert_eq!(
            words(df, 0, 2).expect("env").args,
            ["HOME_DIR=/home/demo", "OTHER=$APP"]
        );
        assert_eq!(words(df, 0, 3).expect("label").args, ["v=demo"]);
    }

    #[test]
    fn a_build_arg_wins_and_a_stage_inherits_its_base_stage_variables() {
        let text = "ARG V=1\nFROM busybox AS a\nARG V\nENV W=$V-w\nFROM a\nCOPY $W /x\n";
        let df = Dockerfile::parse(text.as_bytes()).expect("parses");
        let plain = df.expanded_words(&GraphOptions::default());
        assert_eq!(plain[1][0].as_ref().expect("copy").args, ["1-w", "/x"]);
        let opts = GraphOptions {
            build_args: [("V".to_string(), "9".to_string())].into(),
            ..GraphOptions::default()
        };
        let with = df.expanded_words(&opts);
        assert_eq!(with[1][0].as_ref().expect("copy").args, ["9-w", "/x"]);
    }

    #[test]
    fn a_global_arg_is_seen_only_once_redeclared() {
        let df = "ARG G=g\nFROM busybox\nCOPY a$G /x\nARG G\nCOPY a$G /y\n";
        assert_eq!(words(df, 0, 0).expect("copy").args, ["a", "/x"]);
        assert_eq!(words(df, 0, 2).expect("copy").args, ["ag", "/y"]);
    }

    #[test]
    fn an_expansion_error_is_buildkits() {
        let err = words("FROM busybox\nWORKDIR ${X:?need X}\n", 0, 0).expect_err("fails");
        assert!(
            err.starts_with("failed to process \"${X:?need X}\""),
            "{err}"
        );
        let err = words("FROM busybox\nCOPY \"a b\" /x\n", 0, 0).expect_err("fails");
        assert!(err.contains("double-quote"), "{err}");
    }

    #[test]
    fn heredoc_sources_and_run_words_stay_as_written() {
        let df = "FROM busybox\nCOPY <<EOF /$D\nhi\nEOF\nRUN echo \"$HOME\"\n";
        assert_eq!(words(df, 0, 0).expect("copy").args, ["<<EOF", "/"]);
        assert_eq!(words(df, 0, 1).expect("run").args, ["echo", "\"$HOME\""]);
    }
}
