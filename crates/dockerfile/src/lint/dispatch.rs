//! Rules BuildKit runs while dispatching each instruction (`dockerfile2llb/convert.go`
//! `dispatch*`, `convert_expose.go`, `convert_copy.go`): UndefinedVar, WorkdirRelativePath,
//! JSONArgsRecommended, MultipleInstructionsDisallowed, LegacyKeyValueFormat,
//! SecretsUsedInArgOrEnv, ExposeProtoCasing, ExposeInvalidFormat, CopyIgnoredFile. As for
//! `--check`, every stage is dispatched, in order.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use regex::Regex;

use super::super::expand::Env;
use super::super::scope::{DEFAULT_PATH, NON_ENV, pairs};
use super::super::{Args, Dockerfile, Instruction, Keyword};
use super::from::global_env;
use super::vars::{lookups, suggest};
use super::{Config, Input, Scope, Sink, empty_args, rules};

/// What a stage carries to the stages built on it (`dispatchState.init`).
#[derive(Debug, Clone, Default)]
struct State {
    env: Env,
    build_args: BTreeSet<String>,
    shell_set: bool,
    workdir_set: bool,
}

/// Per stage: the last CMD/ENTRYPOINT/HEALTHCHECK line (not inherited).
#[derive(Default)]
struct Once {
    seen: HashMap<Keyword, usize>,
}

struct Ctx<'a> {
    df: &'a Dockerfile,
    input: &'a Input<'a>,
    globals: Env,
    cfg: Config,
    cmd: &'a str,
    line: usize,
}

pub(super) fn stages(scope: &Scope<'_>, sink: &mut Sink) {
    let (df, src, input, base) = (scope.df, scope.src, scope.input, scope.cfg);
    let Some(globals) = global_env(df, input.build_args.unwrap_or(empty_args())) else {
        return;
    };
    let mut done: Vec<State> = Vec::new();
    for st in &df.stages {
        let mut state = match st.base_stage.and_then(|i| done.get(i)) {
            Some(s) => s.clone(),
            None => {
                let mut s = State::default();
                s.env.insert("PATH".into(), DEFAULT_PATH.into());
                let image_env = input.base_env.and_then(|f| f(&st.base_expanded));
                for kv in image_env.unwrap_or_default() {
                    if let Some((k, v)) = kv.split_once('=') {
                        s.env.insert(k.to_string(), v.to_string());
                    }
                }
                s
            }
        };
        let mut once = Once::default();
        for ins in &st.instructions {
            let cx = Ctx {
                df,
                input,
                globals: globals.clone(),
                cfg: base.with_comments(&src.comments(ins.line)),
                cmd: src.command(ins.line),
                line: ins.line,
            };
            dispatch(&cx, ins, &mut state, &mut once, sink);
        }
        done.push(state);
    }
}

/// Expand a word in the stage's env, reporting what it uses that is not defined.
fn expand(cx: &Ctx<'_>, state: &State, word: &str, sink: &mut Sink) -> String {
    let found = lookups(word, cx.df.escape, &state.env);
    for var in &found.unmatched {
        if state.build_args.contains(var) || NON_ENV.contains(&var.as_str()) {
            continue;
        }
        let detail = match suggest(var, state.env.keys()) {
            Some(s) => format!("Usage of undefined variable '${var}' (did you mean ${s}?)"),
            None => format!("Usage of undefined variable '${var}'"),
        };
        sink.run(&cx.cfg, &rules::UNDEFINED_VAR, cx.line, detail);
    }
    found.result.unwrap_or_default()
}

static SECRET: LazyLock<Option<(Regex, Regex)>> = LazyLock::new(|| {
    let deny = "apikey|auth|credential|credentials|key|password|pword|passwd|secret|token";
    let re = |alts: &str| Regex::new(&format!("(?i)(?:_|^)(?:{alts})(?:_|$)")).ok();
    Some((re(deny)?, re("public|file|version")?))
});

fn secret(cx: &Ctx<'_>, instruction: &str, key: &str, sink: &mut Sink) {
    if let Some((deny, allow)) = SECRET.as_ref()
        && deny.is_match(key)
        && !allow.is_match(key)
    {
        let detail = format!(
            "Do not use ARG or ENV instructions for sensitive data ({instruction} \"{key}\")"
        );
        sink.run(&cx.cfg, &rules::SECRETS_USED_IN_ARG_OR_ENV, cx.line, detail);
    }
}

fn whole(ins: &Instruction) -> String {
    match &ins.args {
        Args::Shell(s) => s.trim().to_string(),
        Args::Exec(v) => v.join(" "),
    }
}

fn dispatch(cx: &Ctx<'_>, ins: &Instruction, state: &mut State, once: &mut Once, sink: &mut Sink) {
    let esc = cx.df.escape;
    match ins.keyword {
        Keyword::Env | Keyword::Label => {
            let p = pairs(ins, esc);
            let expanded: Vec<(String, String)> = p
                .pairs
                .iter()
                .map(|(k, v)| {
                    let k = expand(cx, state, k, sink);
                    let v = expand(cx, state, v.as_deref().unwrap_or_default(), sink);
                    (k, v)
                })
                .collect();
            for (k, v) in expanded {
                if p.legacy {
                    let c = cx.cmd;
                    let detail = format!(
                        "\"{c} key=value\" should be used instead of legacy \"{c} key value\" format"
                    );
                    sink.run(&cx.cfg, &rules::LEGACY_KEY_VALUE_FORMAT, cx.line, detail);
                }
                if ins.keyword == Keyword::Env {
                    secret(cx, "ENV", &k, sink);
                    state.env.insert(k, v);
                }
            }
        }
        Keyword::Arg => {
            let args = cx.input.build_args.unwrap_or(empty_args());
            for (k, default) in pairs(ins, esc).pairs {
                secret(cx, "ARG", &k, sink);
                let value = match (args.get(&k), default) {
                    (Some(v), _) => Some(v.clone()),
                    (None, Some(d)) => Some(expand(cx, state, &d, sink)),
                    (None, None) => cx.globals.get(&k).cloned(),
                };
                if let Some(v) = value
                    && !NON_ENV.contains(&k.as_str())
                {
                    state.env.insert(k.clone(), v);
                }
                state.build_args.insert(k);
            }
        }
        Keyword::Workdir => {
            let path = expand(cx, state, &whole(ins), sink);
            if !state.workdir_set && !path.starts_with('/') {
                let detail = format!(
                    "Relative workdir \"{path}\" can have unexpected results if the base image changes"
                );
                sink.run(&cx.cfg, &rules::WORKDIR_RELATIVE_PATH, cx.line, detail);
            }
            state.workdir_set = true;
        }
        Keyword::User | Keyword::Stopsignal => {
            expand(cx, state, &whole(ins), sink);
        }
        Keyword::Volume => {
            for w in ins.args.words() {
                expand(cx, state, &w, sink);
            }
        }
        Keyword::Run => {
            for m in ins.flag_values("mount") {
                expand(cx, state, m, sink);
            }
        }
        Keyword::Cmd | Keyword::Entrypoint | Keyword::Healthcheck => {
            if let Some(prev) = once.seen.insert(ins.keyword, cx.line) {
                let detail = format!(
                    "Multiple {} instructions should not be used in the same stage because only the last one will be used",
                    cx.cmd
                );
                sink.run(
                    &cx.cfg,
                    &rules::MULTIPLE_INSTRUCTIONS_DISALLOWED,
                    prev,
                    detail,
                );
            }
            if ins.keyword != Keyword::Healthcheck && !ins.args.is_exec() && !state.shell_set {
                let detail = format!(
                    "JSON arguments recommended for {} to prevent unintended behavior related to OS signals",
                    cx.cmd
                );
                sink.run(&cx.cfg, &rules::JSON_ARGS_RECOMMENDED, cx.line, detail);
            }
        }
        Keyword::Shell => state.shell_set = true,
        Keyword::Expose => {
            for w in ins.args.words() {
                let ports = lookups(&w, esc, &state.env).result.unwrap_or_default();
                for port in ports.split_whitespace() {
                    if !expose(cx, port, sink) {
                        return;
                    }
                }
            }
        }
        Keyword::Copy | Keyword::Add => copy(cx, ins, state, sink),
        _ => {}
    }
}

/// ExposeProtoCasing, ExposeInvalidFormat for one port; false where BuildKit errors out.
fn expose(cx: &Ctx<'_>, raw: &str, sink: &mut Sink) -> bool {
    let parts: Vec<&str> = raw.split(':').collect();
    let n = parts.len();
    let (ip, host) = match n {
        1 => (String::new(), ""),
        2 => (String::new(), parts[0]),
        _ => (parts[..n - 2].join(":"), parts[n - 2]),
    };
    let container = parts[n - 1];
    let (port, proto) = container.split_once('/').unwrap_or((container, ""));
    let known = matches!(proto.to_lowercase().as_str(), "" | "tcp" | "udp" | "sctp");
    if port.is_empty() || !known {
        return false;
    }
    if proto != proto.to_lowercase() {
        let detail = format!("Defined protocol '{raw}' in EXPOSE instruction should be lowercase");
        sink.run(&cx.cfg, &rules::EXPOSE_PROTO_CASING, cx.line, detail);
    }
    if !ip.is_empty() || !host.is_empty() {
        let detail = format!(
            "EXPOSE instruction should not define an IP address or host-port mapping, found '{raw}'"
        );
        sink.run(&cx.cfg, &rules::EXPOSE_INVALID_FORMAT, cx.line, detail);
    }
    true
}

fn copy(cx: &Ctx<'_>, ins: &Instruction, state: &State, sink: &mut Sink) {
    let add = ins.keyword == Keyword::Add;
    let mut flags = vec!["chown", "chmod"];
    if add {
        flags.push("checksum");
    }
    for f in flags {
        if let Some(Some(v)) = ins.flag(f) {
            expand(cx, state, v, sink);
        }
    }
    let words = ins.args.words();
    let Some((_dest, srcs)) = words.split_last() else {
        return;
    };
    let srcs: Vec<String> = srcs
        .iter()
        .filter(|s| ins.heredocs.is_empty() || !s.starts_with("<<"))
        .map(|s| expand(cx, state, s, sink))
        .collect();
    if let Some(d) = words.last() {
        expand(cx, state, d, sink);
    }
    let Some(ignored) = cx.input.ignored else {
        return;
    };
    if !add && ins.flag("from").is_some() {
        return;
    }
    let verb = if add { "Add" } else { "Copy" };
    for s in srcs {
        if add && (s.contains("://") || s.starts_with("git@")) {
            continue;
        }
        if let Some(s) = ignored(&s) {
            let detail =
                format!("Attempting to {verb} file \"{s}\" that is excluded by .dockerignore");
            sink.run(&cx.cfg, &rules::COPY_IGNORED_FILE, cx.line, detail);
        }
    }
}
