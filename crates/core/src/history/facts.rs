//! What each instruction's cache key can depend on, read from the Dockerfile model: its
//! text, the ARG values it can see, and the context paths a COPY/ADD reads.

use std::collections::BTreeMap;

use globset::{Glob, GlobMatcher};

use super::record::StepFacts;
use stagescope_dockerfile::{
    Dockerfile, Env, GraphOptions, Instruction, Keyword, SourceKind, Words, classify_source,
    expand_word,
};

/// Per stage, per instruction (0 the FROM): the facts of a build with these options.
pub fn step_facts(df: &Dockerfile, opts: &GraphOptions) -> Vec<Vec<StepFacts>> {
    let globals = df.global_env(opts).unwrap_or_default();
    let expanded = df.expanded_words(opts);
    df.stages
        .iter()
        .zip(&expanded)
        .map(|(st, words)| {
            let mut scope: BTreeMap<String, String> = BTreeMap::new();
            let mut out = vec![StepFacts {
                text: st.from.original.clone(),
                line: st.line,
                ..StepFacts::default()
            }];
            for (k, ins) in st.instructions.iter().enumerate() {
                let env = env_of(&globals, &scope);
                let sources = match words.get(k) {
                    Some(Ok(w)) => context_sources_of(ins, w),
                    _ => context_sources(ins, df.escape, &env),
                };
                let mut facts = StepFacts {
                    text: ins.original.clone(),
                    line: ins.line,
                    args: BTreeMap::new(),
                    sources,
                };
                if ins.keyword == Keyword::Arg {
                    for (name, value) in declared(ins, df.escape, &env, &globals, opts) {
                        facts.args.insert(name.clone(), value.clone());
                        scope.insert(name, value);
                    }
                } else {
                    facts.args = seen_args(ins, &scope);
                }
                out.push(facts);
            }
            out
        })
        .collect()
}

/// What `$NAME` means inside the stage: the stage's ARGs over the global ones (a global ARG
/// is visible in a stage only once redeclared, which puts it in `scope`).
fn env_of(globals: &Env, scope: &BTreeMap<String, String>) -> Env {
    let mut env: Env = globals.clone();
    env.extend(scope.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// The names an ARG instruction declares and the values they take: the `--build-arg`, else
/// the default expanded, else the global ARG's value (a redeclared global), else empty.
fn declared(
    ins: &Instruction,
    escape: char,
    env: &Env,
    globals: &Env,
    opts: &GraphOptions,
) -> Vec<(String, String)> {
    ins.args
        .words()
        .into_iter()
        .map(|w| {
            let (name, default) = match w.split_once('=') {
                Some((n, d)) => (n.to_string(), Some(d.to_string())),
                None => (w, None),
            };
            let value = if let Some(v) = opts.build_args.get(&name) {
                v.clone()
            } else if let Some(d) = default {
                expand_word(&d, escape, env).unwrap_or(d)
            } else {
                globals.get(&name).cloned().unwrap_or_default()
            };
            (name, value)
        })
        .collect()
}

/// The ARGs an instruction's cache key sees: every one in scope for a RUN (BuildKit and the
/// classic builder both put them in its environment), the ones its text names otherwise.
fn seen_args(ins: &Instruction, scope: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    scope
        .iter()
        .filter(|(name, _)| ins.keyword == Keyword::Run || names_var(&ins.original, name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Whether `text` refers to `$name` or `${name…}`.
fn names_var(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices('$').any(|(i, _)| {
        let rest = &text[i + 1..];
        let rest = rest.strip_prefix('{').unwrap_or(rest);
        rest.strip_prefix(name)
            .is_some_and(|after| !after.starts_with(word))
    })
}

/// The context paths a COPY/ADD reads, from its words as BuildKit expands them (the stage's
/// ENV too): none with `--from`, for heredocs, URLs and git.
fn context_sources_of(ins: &Instruction, words: &Words) -> Option<Vec<String>> {
    if !matches!(ins.keyword, Keyword::Copy | Keyword::Add) || ins.flag("from").is_some() {
        return None;
    }
    let sources: Vec<String> = words
        .sources_and_dest()
        .0
        .into_iter()
        .filter(|w| matches!(classify_source(w), Ok(SourceKind::Local)))
        .map(str::to_string)
        .collect();
    (!sources.is_empty()).then_some(sources)
}

/// [`context_sources_of`] for words that do not expand: each expanded alone with the ARGs,
/// a word that fails kept as written.
fn context_sources(ins: &Instruction, escape: char, env: &Env) -> Option<Vec<String>> {
    if !matches!(ins.keyword, Keyword::Copy | Keyword::Add) || ins.flag("from").is_some() {
        return None;
    }
    let mut words = ins.args.words();
    words.pop(); // the destination
    let sources: Vec<String> = words
        .into_iter()
        .filter(|w| !w.starts_with("<<"))
        .map(|w| expand_word(&w, escape, env).unwrap_or(w))
        .filter(|w| matches!(classify_source(w), Ok(SourceKind::Local)))
        .collect();
    (!sources.is_empty()).then_some(sources)
}

/// Matches context paths against the sources of one COPY/ADD: a path is read when a source
/// names it or one of its parent directories (Docker's `filepath.Match` per source, where `*`
/// stays within one path element).
pub(crate) struct SourceSet {
    all: bool,
    globs: Vec<GlobMatcher>,
    /// Each source's pattern split at `/`, a matcher per component: which directories a walk
    /// must go down into to find what the globs match.
    parts: Vec<Vec<Part>>,
}

/// One `/`-separated component of a source pattern.
enum Part {
    /// `**`: any depth.
    Any,
    Glob(GlobMatcher),
}

impl SourceSet {
    pub(crate) fn new(sources: &[String]) -> SourceSet {
        let mut all = false;
        let mut globs = Vec::new();
        let mut parts = Vec::new();
        for s in sources {
            let clean = s.trim_start_matches("./").trim_matches('/');
            if clean.is_empty() || clean == "." {
                all = true;
                continue;
            }
            if let Ok(g) = globset::GlobBuilder::new(clean)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .or_else(|_| Glob::new(&globset::escape(clean)))
            {
                globs.push(g.compile_matcher());
                parts.push(clean.split('/').map(Part::of).collect());
            }
        }
        SourceSet { all, globs, parts }
    }

    /// Whether something under directory `dir` may be read: a walk looking for the sources
    /// need not go into any other directory.
    pub(crate) fn may_read_below(&self, dir: &str) -> bool {
        if self.all || self.reads(dir) {
            return true;
        }
        let comps: Vec<&str> = dir.split('/').collect();
        self.parts.iter().any(|pattern| {
            for (i, c) in comps.iter().enumerate() {
                match pattern.get(i) {
                    Some(Part::Any) => return true,
                    Some(Part::Glob(g)) if g.is_match(c) => {}
                    // Shorter than the directory (it matched `reads` or it does not reach
                    // here), or a component that differs.
                    _ => return false,
                }
            }
            pattern.len() > comps.len()
        })
    }

    pub(crate) fn reads(&self, path: &str) -> bool {
        if self.all {
            return true;
        }
        // The path itself and each of its ancestors: `COPY src .` reads `src/a/b`.
        let mut prefix = path;
        loop {
            if self.globs.iter().any(|g| g.is_match(prefix)) {
                return true;
            }
            match prefix.rfind('/') {
                Some(i) => prefix = &prefix[..i],
                None => return false,
            }
        }
    }
}

impl Part {
    fn of(component: &str) -> Part {
        if component == "**" {
            return Part::Any;
        }
        let glob = globset::GlobBuilder::new(component)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .or_else(|_| Glob::new(&globset::escape(component)));
        match glob {
            Ok(g) => Part::Glob(g.compile_matcher()),
            // Unreachable in practice (the escaped text is a valid glob); going down is
            // the safe answer.
            Err(_) => Part::Any,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_walk_goes_down_only_where_a_source_may_lie() {
        let set = SourceSet::new(&["data/d0*".to_string(), "blobs/blob0".to_string()]);
        assert!(set.may_read_below("data"));
        assert!(
            set.may_read_below("data/d01"),
            "matched itself: all of it is read"
        );
        assert!(!set.may_read_below("data/d11"));
        assert!(set.may_read_below("blobs"));
        assert!(!set.may_read_below("other"));
        assert!(!set.may_read_below("blobs/blob0x"));
        let deep = SourceSet::new(&["src/**/*.rs".to_string()]);
        assert!(deep.may_read_below("src"));
        assert!(deep.may_read_below("src/a/b"));
        assert!(!deep.may_read_below("docs"));
        let all = SourceSet::new(&[".".to_string()]);
        assert!(all.may_read_below("anything/at/all"));
    }

    fn facts(text: &str, args: &[(&str, &str)]) -> Vec<Vec<StepFacts>> {
        let df = Dockerfile::parse(text.as_bytes()).expect("parse");
        let opts = GraphOptions {
            build_args: args
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..GraphOptions::default()
        };
        step_facts(&df, &opts)
    }

    #[test]
    fn run_sees_every_arg_in_scope_others_only_named_ones() {
        let f = facts(
            "ARG V=1\nFROM busybox\nARG V\nARG MODE=fast\nRUN make\nCOPY app/$MODE /x\nENV A=b\n",
            &[("MODE", "slow")],
        );
        let st = &f[0];
        assert_eq!(st[1].args.get("V").map(String::as_str), Some("1"));
        assert_eq!(st[3].args.len(), 2, "RUN sees V and MODE");
        assert_eq!(st[3].args["MODE"], "slow");
        assert_eq!(st[4].args.keys().collect::<Vec<_>>(), vec!["MODE"]);
        assert_eq!(st[4].sources, Some(vec!["app/slow".to_string()]));
        assert!(st[5].args.is_empty());
    }

    #[test]
    fn global_args_are_invisible_until_redeclared() {
        let f = facts("ARG V=1\nFROM busybox\nRUN echo $V\n", &[]);
        assert!(f[0][1].args.is_empty());
    }

    #[test]
    fn copy_from_a_stage_or_url_reads_no_context() {
        let f = facts(
            "FROM busybox AS a\nFROM busybox\nCOPY --from=a /x /y\nADD https://example.com/f /f\nCOPY <<EOF /h\nhi\nEOF\nCOPY a b ./\n",
            &[],
        );
        assert_eq!(f[1][1].sources, None);
        assert_eq!(f[1][2].sources, None);
        assert_eq!(f[1][3].sources, None);
        assert_eq!(
            f[1][4].sources,
            Some(vec!["a".to_string(), "b".to_string()])
        );
    }

    #[test]
    fn sources_read_paths_below_them() {
        let s = SourceSet::new(&["src".into(), "*.toml".into()]);
        assert!(s.reads("src"));
        assert!(s.reads("src/a/b.rs"));
        assert!(s.reads("Cargo.toml"));
        assert!(!s.reads("sub/Cargo.toml"), "* stays in one element");
        assert!(!s.reads("srcx"));
        assert!(SourceSet::new(&[".".into()]).reads("any/thing"));
        assert!(SourceSet::new(&["./app/".into()]).reads("app/main.go"));
    }

    #[test]
    fn names_var_needs_the_whole_name() {
        assert!(names_var("COPY $A /x", "A"));
        assert!(names_var("COPY ${A:-x} /x", "A"));
        assert!(!names_var("COPY $AB /x", "A"));
        assert!(!names_var("COPY A /x", "A"));
    }
}
