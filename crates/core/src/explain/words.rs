//! What one instruction does, in plain sentences, from its keyword, flags and arguments.
//! Each sentence follows Docker's Dockerfile reference (docs.docker.com/reference/dockerfile);
//! what makes a layer follows BuildKit and the classic builder alike: RUN, COPY and ADD make
//! one, WORKDIR only when it has to create its directory, the rest change only the image's
//! configuration.

use stagescope_dockerfile::{Args, Dockerfile, GraphOptions, Instruction, Keyword, SourceKind};
use stagescope_dockerfile::{classify_source, csv_fields};

/// What an instruction does to the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Writes files: a new layer (RUN, COPY, ADD).
    Layer,
    /// WORKDIR: a layer only when the directory must be created.
    Workdir,
    /// Changes only the image's configuration (ENV, CMD, …), or nothing at all (ARG).
    Metadata,
    /// FROM: a new stage starts from its base's layers.
    Stage,
}

pub fn effect(k: Keyword) -> Effect {
    match k {
        Keyword::Run | Keyword::Copy | Keyword::Add => Effect::Layer,
        Keyword::Workdir => Effect::Workdir,
        Keyword::From => Effect::Stage,
        _ => Effect::Metadata,
    }
}

/// The sentence that says whether `k` makes a layer.
pub(super) fn effect_sentence(k: Keyword) -> &'static str {
    match (effect(k), k) {
        (Effect::Layer, _) => "It makes a new layer: the files it writes are part of the image.",
        (Effect::Workdir, _) => {
            "It makes a layer only when it has to create the directory; otherwise it changes only \
             the image's configuration."
        }
        (Effect::Stage, _) => {
            "It makes no layer of its own: the stage starts with every layer of its base."
        }
        (_, Keyword::Arg) => "It changes no files and makes no layer.",
        (_, Keyword::Onbuild) => {
            "It only records the trigger in the image's configuration: no layer, no files."
        }
        _ => "It changes only the image's configuration (metadata): no layer, no files.",
    }
}

const SHORT: usize = 60;

/// `text` on one line, cut to a readable length.
pub(super) fn short(text: &str) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= SHORT {
        return one;
    }
    let cut: String = one.chars().take(SHORT - 1).collect();
    format!("{}…", cut.trim_end())
}

pub(super) fn code(s: &str) -> String {
    format!("`{}`", short(s))
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The earlier stage `word` names in `--from` (a name in any case, or an index), as
/// BuildKit resolves it; `None`: an image.
pub fn stage_named(df: &Dockerfile, before: usize, word: &str) -> Option<usize> {
    let lower = word.to_lowercase();
    df.stages[..before.min(df.stages.len())]
        .iter()
        .position(|s| s.name.as_deref() == Some(lower.as_str()))
        .or_else(|| word.parse::<usize>().ok().filter(|&i| i < before))
}

fn stage_label(df: &Dockerfile, i: usize) -> String {
    df.stages[i].display_name()
}

/// The plain sentences for `ins` of stage `stage` (`None`: an ARG before the first FROM),
/// the layer sentence last.
pub(super) fn sentences(df: &Dockerfile, stage: Option<usize>, ins: &Instruction) -> Vec<String> {
    let mut out = vec![what(df, stage, ins)];
    for f in &ins.flags {
        if let Some(s) = flag(df, stage, ins, &f.name, f.value.as_deref()) {
            out.push(s);
        }
    }
    if !ins.heredocs.is_empty() && ins.keyword == Keyword::Run {
        let names: Vec<String> = ins.heredocs.iter().map(|h| code(&h.name)).collect();
        out.push(format!(
            "The here-document {} (lines {}-{}) is written inline in the Dockerfile and fed to \
             the command, a script without a file in the build context.",
            list(&names),
            ins.heredocs[0].line,
            ins.heredocs[ins.heredocs.len() - 1].end_line
        ));
    }
    out.push(effect_sentence(ins.keyword).to_string());
    out
}

fn args_text(ins: &Instruction) -> String {
    match &ins.args {
        Args::Shell(s) => s.clone(),
        Args::Exec(v) => v.join(" "),
    }
}

fn what(df: &Dockerfile, stage: Option<usize>, ins: &Instruction) -> String {
    let args = args_text(ins);
    let words = ins.args.words();
    match ins.keyword {
        Keyword::From => from(df, stage),
        Keyword::Run => match &ins.args {
            Args::Exec(v) => format!(
                "Runs the program {} directly, without a shell, on the files of the stage so far.",
                code(&v.join(" "))
            ),
            Args::Shell(s) => format!(
                "Runs {} in a shell (`/bin/sh -c` unless SHELL changed it) on the files of the \
                 stage so far.",
                code(s)
            ),
        },
        Keyword::Cmd => format!(
            "Sets the default command of a container started from the image, {}: arguments \
             given to `docker run` replace it, and with an ENTRYPOINT it is the entrypoint's \
             default arguments. Only the last CMD counts.",
            code(&args)
        ),
        Keyword::Label => format!(
            "Adds the label(s) {} to the image's metadata (`docker inspect` shows them).",
            code(&args)
        ),
        Keyword::Maintainer => format!(
            "Sets the image's author field to {}; deprecated, a `LABEL \
             org.opencontainers.image.authors=…` says the same.",
            code(&args)
        ),
        Keyword::Expose => format!(
            "Documents that a container listens on {}; it publishes nothing (that is `docker \
             run -p`).",
            code(&args)
        ),
        Keyword::Env => format!(
            "Sets the environment variable(s) {} for the rest of this stage, for stages built \
             FROM it, and in every container of the image.",
            code(&args)
        ),
        Keyword::Add => add(df, stage, ins, &words),
        Keyword::Copy => copy(df, stage, ins, &words),
        Keyword::Entrypoint => match &ins.args {
            Args::Exec(_) => format!(
                "Sets the executable a container runs, {}; CMD, or the arguments of `docker \
                 run`, are passed to it.",
                code(&args)
            ),
            Args::Shell(_) => format!(
                "Sets the executable a container runs, {}, under `/bin/sh -c`: in shell form \
                 it ignores CMD and `docker run` arguments.",
                code(&args)
            ),
        },
        Keyword::Volume => format!(
            "Marks {} as mount point(s) for volumes: each container gets a volume there, \
             outside the image's layers.",
            code(&words.join(" "))
        ),
        Keyword::User => format!(
            "Sets the user (and group) {} for the following RUN, CMD and ENTRYPOINT, and for \
             containers of the image.",
            code(&args)
        ),
        Keyword::Workdir => format!(
            "Sets the working directory to {} for the following RUN, CMD, ENTRYPOINT, COPY and \
             ADD, and creates it if it is missing.",
            code(&args)
        ),
        Keyword::Arg => arg(stage, &args),
        Keyword::Onbuild => format!(
            "Stores the trigger {} in the image: it does not run here, but in a later build \
             (or stage) that starts FROM this one, right after that FROM.",
            code(&args)
        ),
        Keyword::Stopsignal => format!(
            "Sets the signal `docker stop` sends to a container, {} (default SIGTERM).",
            code(&args)
        ),
        Keyword::Healthcheck => {
            if words
                .first()
                .is_some_and(|w| w.eq_ignore_ascii_case("none"))
            {
                "Disables any healthcheck inherited from the base image.".to_string()
            } else {
                let cmd = args.trim_start().get(3..).unwrap_or_default().trim();
                format!(
                    "Tells Docker how to test that a container still works: it runs {} \
                     periodically, and after enough failures in a row the container is \
                     unhealthy. Only the last HEALTHCHECK counts.",
                    code(cmd)
                )
            }
        }
        Keyword::Shell => format!(
            "Sets the shell, {}, that the shell form of the following RUN, CMD and ENTRYPOINT \
             runs in (default `[\"/bin/sh\", \"-c\"]`).",
            code(&args)
        ),
    }
}

fn from(df: &Dockerfile, stage: Option<usize>) -> String {
    let Some(st) = stage.and_then(|i| df.stages.get(i)) else {
        return "Starts a new stage.".to_string();
    };
    let named = match &st.name {
        Some(n) => format!("Starts stage {} ({n})", st.index),
        None => format!(
            "Starts stage {} (unnamed: later stages refer to it as {})",
            st.index, st.index
        ),
    };
    let base = match st.base_stage {
        Some(b) => format!(
            " from the result of stage {}: every file and setting {} ended with is the \
             starting point",
            stage_label(df, b),
            stage_label(df, b)
        ),
        None if st.base_expanded == "scratch" => {
            " from `scratch`, an empty filesystem with no layers".to_string()
        }
        None => format!(" from the image {}", code(&st.base_expanded)),
    };
    format!("{named}{base}.")
}

fn arg(stage: Option<usize>, args: &str) -> String {
    let scope = match stage {
        None => {
            "Declared before the first FROM, it is global: only FROM lines can use it, unless \
             a stage declares it again with `ARG NAME` (no value) to use it inside."
        }
        Some(_) => {
            "Declared inside a stage, it is visible from here to the end of this stage only; \
             RUN commands see it as a variable, but unlike ENV it is not kept in the image's \
             environment."
        }
    };
    format!(
        "Declares the build argument(s) {}, which `--build-arg NAME=value` can set. {scope}",
        code(args)
    )
}

/// A COPY/ADD destination; a relative one is under the working directory.
fn dest(dst: &str) -> String {
    if dst.starts_with('/') {
        code(dst)
    } else {
        format!("{} (relative to the working directory)", code(dst))
    }
}

/// The sources and destination of COPY/ADD: (sources, destination).
fn split_dst(words: &[String]) -> (Vec<String>, String) {
    match words.split_last() {
        Some((dst, srcs)) => (srcs.to_vec(), dst.clone()),
        None => (Vec::new(), String::new()),
    }
}

/// The arguments of `ins`, an instruction of `stage`, as BuildKit expands them with the
/// ARG defaults (`None` for a trigger or words that do not expand).
fn expanded_args(df: &Dockerfile, stage: Option<usize>, ins: &Instruction) -> Option<Vec<String>> {
    let s = stage?;
    let k = df
        .stages
        .get(s)?
        .instructions
        .iter()
        .position(|i| std::ptr::eq(i, ins))?;
    let all = df.expanded_words(&GraphOptions::default());
    all.into_iter()
        .nth(s)?
        .into_iter()
        .nth(k)?
        .ok()
        .map(|w| w.args)
}

fn copy_from(df: &Dockerfile, stage: Option<usize>, ins: &Instruction) -> Option<String> {
    let from = ins.flag("from").flatten()?;
    let before = stage.unwrap_or(0);
    Some(match stage_named(df, before, from) {
        Some(s) => format!("the result of stage {}", stage_label(df, s)),
        None => format!("the image {} (pulled if the engine lacks it)", code(from)),
    })
}

fn copy(df: &Dockerfile, stage: Option<usize>, ins: &Instruction, words: &[String]) -> String {
    let (srcs, dst) = split_dst(words);
    if !ins.heredocs.is_empty() {
        let names: Vec<String> = ins.heredocs.iter().map(|h| code(&h.name)).collect();
        return format!(
            "Creates {} from the here-document {} written inline in the Dockerfile; nothing \
             from the build context.",
            dest(&dst),
            list(&names)
        );
    }
    let srcs: Vec<String> = srcs.iter().map(|s| code(s)).collect();
    match copy_from(df, stage, ins) {
        Some(from) => format!(
            "Copies {} from {from} into {} of this stage; nothing from the build context.",
            list(&srcs),
            dest(&dst)
        ),
        None => format!(
            "Copies {} from the build context into {}.",
            list(&srcs),
            dest(&dst)
        ),
    }
}

fn add(df: &Dockerfile, stage: Option<usize>, ins: &Instruction, words: &[String]) -> String {
    if !ins.heredocs.is_empty() || ins.flag("from").is_some() {
        return copy(df, stage, ins, words);
    }
    let (srcs, dst) = split_dst(words);
    // What a source is, BuildKit decides on the word expanded (`"https://…"` is a URL).
    let expanded = expanded_args(df, stage, ins);
    let mut parts = Vec::new();
    let mut local = Vec::new();
    for (i, s) in srcs.iter().enumerate() {
        let word = expanded.as_ref().and_then(|e| e.get(i)).unwrap_or(s);
        match classify_source(word) {
            Ok(SourceKind::Git { .. }) => parts.push(format!(
                "clones the Git repository {} (without its `.git` directory unless \
                 `--keep-git-dir`)",
                code(s)
            )),
            Ok(SourceKind::Http) => parts.push(format!(
                "downloads {} (a remote archive is not extracted)",
                code(s)
            )),
            _ => local.push(code(s)),
        }
    }
    if !local.is_empty() {
        parts.insert(
            0,
            format!(
                "copies {} from the build context, extracting any local tar archive \
                 (plain, gzip, bzip2 or xz) into a directory",
                list(&local)
            ),
        );
    }
    let mut first = list(&parts);
    if let Some(c) = first.get_mut(..1) {
        c.make_ascii_uppercase();
    }
    format!("{first}, into {}.", dest(&dst))
}

/// The sentence of one flag, `None` for a flag the first sentence already tells (`--from`).
fn flag(
    df: &Dockerfile,
    stage: Option<usize>,
    ins: &Instruction,
    name: &str,
    value: Option<&str>,
) -> Option<String> {
    let v = value.unwrap_or("true");
    let off = value.is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let k = ins.keyword;
    Some(match (k, name) {
        (Keyword::From, "platform") => format!(
            "`--platform={v}` takes the {} variant of the base image instead of the build's \
             target platform.",
            code(v)
        ),
        (Keyword::Copy | Keyword::Add, "from") => return None,
        (Keyword::Copy | Keyword::Add, "chown") => format!(
            "`--chown={v}`: the copied files belong to {} instead of root (0:0).",
            code(v)
        ),
        (Keyword::Copy | Keyword::Add, "chmod") => format!(
            "`--chmod={v}`: the copied files get the permissions {}.",
            code(v)
        ),
        (Keyword::Copy | Keyword::Add, "link") if off => "`--link=false`: an ordinary copy \
             onto the layers below."
            .to_string(),
        (Keyword::Copy | Keyword::Add, "link") => "`--link`: the files go into a layer of their \
             own that does not depend on the layers below, so it is reused from the cache even \
             when those change."
            .to_string(),
        (Keyword::Copy, "parents") if off => {
            "`--parents=false`: sources land in the destination without their parent \
             directories."
                .to_string()
        }
        (Keyword::Copy, "parents") => "`--parents`: each source keeps its parent directories \
             under the destination (`a/b/c` lands as `dest/a/b/c`)."
            .to_string(),
        (Keyword::Copy | Keyword::Add, "exclude") => {
            format!("`--exclude={v}`: paths matching {} are left out.", code(v))
        }
        (Keyword::Add, "keep-git-dir") if off => {
            "`--keep-git-dir=false`: the clone's `.git` directory is left out.".to_string()
        }
        (Keyword::Add, "keep-git-dir") => {
            "`--keep-git-dir`: the cloned repository keeps its `.git` directory.".to_string()
        }
        (Keyword::Add, "checksum") => format!(
            "`--checksum={v}`: the build fails unless the downloaded file (or the Git commit) \
             has the checksum {}.",
            code(v)
        ),
        (Keyword::Add, "unpack") if off => {
            "`--unpack=false`: an archive is copied as the file it is, not extracted.".to_string()
        }
        (Keyword::Add, "unpack") => {
            "`--unpack`: archives are extracted, a remote one (URL) too.".to_string()
        }
        (Keyword::Run, "mount") => mount(df, stage, v),
        (Keyword::Run, "network") => match v {
            "none" => "`--network=none`: the command runs with no network access at all.",
            "host" => {
                "`--network=host`: the command uses the host's network (the builder must allow \
                 the `network.host` entitlement)."
            }
            _ => "`--network=default`: the command gets the builder's default network.",
        }
        .to_string(),
        (Keyword::Run, "security") => match v {
            "insecure" => {
                "`--security=insecure`: the command runs with full privileges, like `docker \
                 run --privileged` (the builder must allow the `security.insecure` \
                 entitlement)."
            }
            _ => "`--security=sandbox`: the command runs in the default sandbox.",
        }
        .to_string(),
        (Keyword::Run, "device") => format!(
            "`--device={v}`: gives the command access to the CDI device {}; only the \
             Dockerfile labs frontend accepts it, the stable one refuses it.",
            code(v)
        ),
        (Keyword::Healthcheck, "interval") => format!(
            "`--interval={v}`: the check runs every {} (default 30s).",
            code(v)
        ),
        (Keyword::Healthcheck, "timeout") => format!(
            "`--timeout={v}`: a check taking longer than {} counts as a failure (default 30s).",
            code(v)
        ),
        (Keyword::Healthcheck, "start-period") => format!(
            "`--start-period={v}`: failures in the first {} after the container starts do not \
             count (default 0s).",
            code(v)
        ),
        (Keyword::Healthcheck, "start-interval") => format!(
            "`--start-interval={v}`: during the start period the check runs every {} (default \
             5s).",
            code(v)
        ),
        (Keyword::Healthcheck, "retries") => format!(
            "`--retries={v}`: {} failures in a row make the container unhealthy (default 3).",
            code(v)
        ),
        _ => format!("`--{name}={v}`."),
    })
}

/// One `--mount=…` value, read as BuildKit reads it (`type` defaults to bind).
fn mount(df: &Dockerfile, stage: Option<usize>, value: &str) -> String {
    let fields = csv_fields(value).unwrap_or_default();
    let get = |keys: &[&str]| {
        fields.iter().find_map(|f| {
            let (k, v) = f.split_once('=')?;
            keys.contains(&k.to_lowercase().as_str())
                .then(|| v.to_string())
        })
    };
    let flag_set = |keys: &[&str]| {
        fields.iter().any(|f| {
            let (k, v) = f.split_once('=').unwrap_or((f, "true"));
            keys.contains(&k.to_lowercase().as_str()) && !v.eq_ignore_ascii_case("false")
        })
    };
    let kind = get(&["type"])
        .unwrap_or_else(|| "bind".into())
        .to_lowercase();
    let target = get(&["target", "dst", "destination"]);
    let at = |default: &str| code(target.as_deref().unwrap_or(default));
    let m = format!("`--mount=type={kind}`");
    match kind.as_str() {
        "cache" => format!(
            "{m}: the command runs with a cache directory at {} that is not part of the image \
             and is kept between builds (package and compiler caches go there).",
            at("?")
        ),
        "secret" => {
            let id = get(&["id"]);
            let default = format!("/run/secrets/{}", id.as_deref().unwrap_or("<id>"));
            let env = get(&["env"])
                .map(|e| format!(" (and in ${e})"))
                .unwrap_or_default();
            format!(
                "{m}: the secret {} is readable at {}{env} while this command runs only; it is \
                 not stored in the image or its layers.",
                code(id.as_deref().or(target.as_deref()).unwrap_or("?")),
                at(&default)
            )
        }
        "ssh" => format!(
            "{m}: the command can use the SSH agent (keys) of whoever runs the build, through \
             a socket at {}; no key is copied into the image.",
            at("/run/buildkit/ssh_agent.0")
        ),
        "tmpfs" => format!(
            "{m}: an empty in-memory tmpfs at {} for this command only; nothing written there \
             stays.",
            at("?")
        ),
        _ => {
            let source = get(&["source", "src"]).unwrap_or_else(|| "/".into());
            let from = match get(&["from"]) {
                Some(f) => match stage_named(df, stage.unwrap_or(0), &f) {
                    Some(s) => format!("of stage {}", stage_label(df, s)),
                    None => format!("of the image {}", code(&f)),
                },
                None => "of the build context".into(),
            };
            let rw = if flag_set(&["rw", "readwrite"]) {
                "writable, but what the command writes there is thrown away"
            } else {
                "read-only"
            };
            format!(
                "{m}: {} {from} is mounted at {} ({rw}) for this command only; nothing of it \
                 is copied into the image.",
                code(&source),
                at("?")
            )
        }
    }
}
