//! The Dockerfile model: directives, global ARGs, stages of instructions. Grouping follows
//! BuildKit's `instructions/parse.go` Parse: ARGs before the first FROM are global, any
//! other instruction before it is an error, every FROM opens a stage.

use std::collections::BTreeMap;

use super::error::DockerfileError;
use super::expand::{Env, expand_word, split_words};
use super::instruction::{self, Args, Instruction, Keyword};
use super::platform;
use super::source::{self, Cursor, Directive};

/// What to build: `--target` (default: last stage), `--build-arg` values and `--platform`
/// (the target platform that `TARGETPLATFORM` & co. describe; default: this machine's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphOptions {
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub platform: Option<String>,
}

/// An `ARG` before the first FROM: visible to every FROM line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArgDecl {
    pub name: String,
    /// The default as written (quotes kept); expanded when used.
    pub default: Option<String>,
    pub line: usize,
}

/// One build stage: its FROM and the instructions after it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stage {
    pub index: usize,
    /// `AS name`, lower-cased as BuildKit does.
    pub name: Option<String>,
    /// The image or stage after FROM, as written.
    pub base: String,
    /// `base` with global ARGs expanded (defaults; see [`Dockerfile::stages_with_args`]).
    pub base_expanded: String,
    /// The earlier stage that `base_expanded` names exactly.
    pub base_stage: Option<usize>,
    /// `--platform` as written.
    pub platform: Option<String>,
    /// Line of the FROM and last line of the stage's last instruction (1-based).
    pub line: usize,
    pub end_line: usize,
    pub from: Instruction,
    /// Instructions after FROM.
    pub instructions: Vec<Instruction>,
}

impl Stage {
    /// The name, or the index when the stage has none — how `--from` may refer to it.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.index.to_string())
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Dockerfile {
    pub directives: Vec<Directive>,
    pub global_args: Vec<ArgDecl>,
    pub stages: Vec<Stage>,
    /// `\` or, with `# escape=\``, a backtick.
    pub escape: char,
    #[serde(skip)]
    source: String,
}

impl Dockerfile {
    /// Parse Dockerfile bytes. Rejects what BuildKit's parser rejects, and non-text input.
    pub fn parse(text: &[u8]) -> Result<Dockerfile, DockerfileError> {
        // dockerfile2llb checks this before parsing; a file of only comments gets the
        // parser's "file with no instructions" instead.
        if text.is_empty() {
            return Err(DockerfileError::whole_file(
                "the Dockerfile cannot be empty",
            ));
        }
        let source = source::decode(text)?;
        let lines = source::physical_lines(&source);
        let (directives, escape) = source::parse_directives(&source, &lines)?;
        let mut cursor = Cursor {
            text: &source,
            lines: &lines,
            next: 0,
            escape,
        };
        let mut global_args = Vec::new();
        let mut stages: Vec<Stage> = Vec::new();
        let mut any = false;
        while let Some(logical) = cursor.next_logical() {
            any = true;
            let ins = instruction::parse(&mut cursor, logical)?;
            match ins.keyword {
                Keyword::From => stages.push(new_stage(stages.len(), ins)),
                _ if stages.is_empty() => {
                    if ins.keyword != Keyword::Arg {
                        return Err(DockerfileError::new(
                            ins.line,
                            1,
                            "no build stage in current context",
                        ));
                    }
                    global_args.extend(arg_decls(&ins, escape));
                }
                _ => {
                    if let Some(stage) = stages.last_mut() {
                        stage.end_line = ins.end_line;
                        stage.instructions.push(ins);
                    }
                }
            }
        }
        if !any {
            return Err(DockerfileError::whole_file("file with no instructions"));
        }
        if stages.is_empty() {
            return Err(DockerfileError::whole_file(
                "dockerfile contains no stages to build (no FROM)",
            ));
        }
        let mut df = Dockerfile {
            directives,
            global_args,
            stages,
            escape,
            source,
        };
        // The defaults may not name a base yet (`ARG IMAGE` + `FROM $IMAGE` waits for its
        // --build-arg): only a build with its options can say the base is missing.
        df.resolve_bases(&GraphOptions::default(), Resolve::Lenient)?;
        Ok(df)
    }

    /// The source text (byte-order mark removed); instruction spans index into it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Global ARG values as BuildKit computes them (dockerfile2llb defaultArgs, then
    /// buildMetaArgs): the platform args and `TARGETSTAGE`, then each declared ARG in order,
    /// a `--build-arg` winning over its expanded default. An ARG with neither keeps the
    /// value it had (`ARG TARGETARCH` is still the target's architecture).
    pub fn global_env(&self, opts: &GraphOptions) -> Result<Env, DockerfileError> {
        let target = match &opts.target {
            Some(t) => t.clone(),
            None => self
                .stages
                .last()
                .and_then(|s| s.name.clone())
                .unwrap_or_default(),
        };
        let mut env = platform::default_args(opts.platform.as_deref(), &target, &opts.build_args);
        for a in &self.global_args {
            if let Some(v) = opts.build_args.get(&a.name) {
                env.insert(a.name.clone(), v.clone());
            } else if let Some(d) = &a.default {
                let v = expand_word(d, self.escape, &env)
                    .map_err(|m| DockerfileError::new(a.line, 1, m))?;
                env.insert(a.name.clone(), v);
            }
        }
        Ok(env)
    }

    /// Stages with bases re-expanded under these options (`--build-arg`, `--target`,
    /// `--platform`).
    pub fn stages_with_args(&self, opts: &GraphOptions) -> Result<Vec<Stage>, DockerfileError> {
        let mut df = self.clone();
        df.resolve_bases(opts, Resolve::Strict)?;
        Ok(df.stages)
    }

    /// Expand every FROM and link it to the earlier stage it names (dockerfile2llb
    /// buildDispatchStates + addState: exact match against lower-cased earlier names).
    fn resolve_bases(&mut self, opts: &GraphOptions, how: Resolve) -> Result<(), DockerfileError> {
        let lenient = how == Resolve::Lenient;
        let env = self.global_env(opts)?;
        let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
        for st in &mut self.stages {
            let expanded = expand_word(&st.base, self.escape, &env)
                .map_err(|m| DockerfileError::new(st.line, 1, m))?;
            if expanded.is_empty() && !lenient {
                return Err(DockerfileError::new(
                    st.line,
                    1,
                    format!("base name ({}) should not be blank", st.base),
                ));
            }
            st.base_stage = by_name.get(&expanded).copied();
            st.base_expanded = expanded;
            if let Some(n) = &st.name {
                by_name.insert(n.clone(), st.index);
            }
        }
        Ok(())
    }

    /// The source cut right after instruction `instruction` of `stage` (`None`: right after its
    /// FROM), heredoc bodies included and everything later dropped. Building the result with
    /// that stage as target gives the state after that instruction.
    pub fn cut_after(&self, stage: usize, instruction: Option<usize>) -> String {
        let Some(st) = self.stages.get(stage) else {
            return self.source.clone();
        };
        let ins = instruction
            .and_then(|i| st.instructions.get(i))
            .unwrap_or(&st.from);
        let end = ins.span.end.min(self.source.len());
        let mut out = self.source[..end].to_string();
        if !out.ends_with('\n') {
            out.push('\n');
        }
        out
    }

    /// Syntax the classic builder rejects: `(line, what)`, in source order.
    pub fn buildkit_only(&self) -> Vec<(usize, String)> {
        let mut found = Vec::new();
        let all = self
            .stages
            .iter()
            .flat_map(|s| std::iter::once(&s.from).chain(&s.instructions));
        for ins in all {
            if !ins.heredocs.is_empty() {
                found.push((ins.line, format!("{} heredoc", ins.keyword)));
            }
            let flags: &[&str] = match ins.keyword {
                Keyword::Run => &["mount", "network", "security", "device"],
                Keyword::Copy | Keyword::Add => &[
                    "chmod",
                    "link",
                    "parents",
                    "exclude",
                    "checksum",
                    "keep-git-dir",
                    "unpack",
                ],
                _ => &[],
            };
            for f in &ins.flags {
                if flags.contains(&f.name.as_str()) {
                    found.push((ins.line, format!("{} --{}", ins.keyword, f.name)));
                }
            }
        }
        found
    }
}

fn new_stage(index: usize, from: Instruction) -> Stage {
    let words: Vec<String> = match &from.args {
        Args::Shell(s) => s.split_whitespace().map(str::to_string).collect(),
        Args::Exec(v) => v.clone(),
    };
    let base = words.first().cloned().unwrap_or_default();
    Stage {
        index,
        name: words.get(2).map(|n| n.to_lowercase()),
        base_expanded: base.clone(),
        base,
        base_stage: None,
        platform: from.flag("platform").flatten().map(str::to_string),
        line: from.line,
        end_line: from.end_line,
        from,
        instructions: Vec::new(),
    }
}

fn arg_decls(ins: &Instruction, escape: char) -> Vec<ArgDecl> {
    let Args::Shell(text) = &ins.args else {
        return Vec::new();
    };
    split_words(text, escape)
        .into_iter()
        .map(|w| match w.text.split_once('=') {
            Some((k, v)) => ArgDecl {
                name: k.to_string(),
                default: Some(v.to_string()),
                line: ins.line,
            },
            None => ArgDecl {
                name: w.text,
                default: None,
                line: ins.line,
            },
        })
        .collect()
}

/// Whether a FROM that does not expand to a base is an error (a build) or waits for the
/// build's arguments (parsing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resolve {
    Strict,
    Lenient,
}
