//! Rules on FROM lines (`dockerfile2llb`: `validateBaseImagesWithDefaultArgs`,
//! `buildDispatchStates`, `resolveBaseImage`): UndefinedArgInFrom, InvalidDefaultArgInFrom,
//! RedundantTargetPlatform, FromPlatformFlagConstDisallowed, InvalidBaseImagePlatform.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::Regex;

use super::super::Dockerfile;
use super::super::expand::Env;
use super::vars::{Lookups, lookups, suggest};
use super::{Config, Scope, Sink, empty_args, rules};

/// Built-in args `defaultArgs` defines that the model's global env leaves out.
const MORE_BUILTINS: [&str; 3] = ["BUILDOSVERSION", "TARGETOSVERSION", "TARGETSTAGE"];

/// Global ARG values as BuildKit's `buildMetaArgs` leaves them (`None` when a default does
/// not expand: BuildKit then fails the build, and checks nothing more here).
pub(super) fn global_env(df: &Dockerfile, args: &BTreeMap<String, String>) -> Option<Env> {
    let opts = super::super::GraphOptions {
        build_args: args.clone(),
        ..Default::default()
    };
    let mut env = df.global_env(&opts).ok()?;
    for k in MORE_BUILTINS {
        env.entry(k.to_string()).or_default();
    }
    Some(env)
}

/// distribution/reference's grammar, as `ParseNormalizedNamed` applies it.
static REFERENCE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let dom = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    let domain = format!(r"(?:{dom}(?:\.{dom})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?");
    let comp = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
    let tag = r"[\w][\w.-]{0,127}";
    let digest = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";
    Regex::new(&format!(
        r"^(?:({domain})/)?({comp}(?:/{comp})*)(?::{tag})?(?:@{digest})?$"
    ))
    .ok()
});

/// Whether BuildKit's `reference.ParseNormalizedNamed` accepts a base image name.
pub(super) fn valid_reference(name: &str) -> bool {
    let hex64 = name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    let Some(re) = REFERENCE.as_ref() else {
        return true;
    };
    let Some(caps) = re.captures(name) else {
        return false;
    };
    let path_len = caps.get(2).map_or(0, |m| m.len());
    let domain_len = caps.get(1).map_or(0, |m| m.len() + 1);
    !hex64 && path_len + domain_len <= 255
}

/// InvalidDefaultArgInFrom: bases as they expand with ARG defaults only.
pub(super) fn default_args(df: &Dockerfile, cfg: &Config, sink: &mut Sink) {
    let Some(env) = global_env(df, empty_args()) else {
        return;
    };
    for st in &df.stages {
        let Some(result) = lookups(&st.base, df.escape, &env).result else {
            return;
        };
        if !valid_reference(&result) {
            let detail = format!(
                "Default value for ARG {} results in empty or invalid base image name",
                st.base
            );
            sink.run(cfg, &rules::INVALID_DEFAULT_ARG_IN_FROM, st.line, detail);
        }
    }
}

/// A platform as containerd's `platforms.Parse` reads it: (os, arch), normalized.
pub(super) fn parse_platform(s: &str) -> Option<(String, String)> {
    let valid = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    };
    let parts: Vec<String> = s.split('/').map(str::to_lowercase).collect();
    if parts.iter().any(|p| !valid(p)) || parts.len() > 3 {
        return None;
    }
    let arch = |a: &str| -> String {
        match a {
            "x86_64" | "x86-64" | "amd64" => "amd64",
            "aarch64" | "arm64" => "arm64",
            "i386" | "386" => "386",
            "armhf" | "armel" | "arm" => "arm",
            other => other,
        }
        .to_string()
    };
    const OSES: [&str; 12] = [
        "linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos",
        "android", "ios", "aix", "plan9",
    ];
    match parts.as_slice() {
        [one] if OSES.contains(&one.as_str()) => Some((one.clone(), arch(std::env::consts::ARCH))),
        [one] => Some(("linux".into(), arch(one))),
        [os, a, ..] => Some((os.clone(), arch(a))),
        [] => None,
    }
}

/// InvalidBaseImagePlatform's detail when OS or architecture differ.
pub(super) fn base_image_platform(image: &str, expected: &str, actual: &str) -> Option<String> {
    let (e, a) = (parse_platform(expected)?, parse_platform(actual)?);
    (e != a).then(|| {
        format!("Base image {image} was pulled with platform \"{actual}\", expected \"{expected}\" for current build")
    })
}

fn undeclared(
    found: &Lookups,
    keys: &BTreeSet<String>,
    line: usize,
    cfg: &Config,
    sink: &mut Sink,
) {
    for arg in &found.unmatched {
        if keys.contains(arg) {
            continue;
        }
        let detail = match suggest(arg, keys) {
            Some(s) => format!("FROM argument '{arg}' is not declared (did you mean {s}?)"),
            None => format!("FROM argument '{arg}' is not declared"),
        };
        sink.run(cfg, &rules::UNDEFINED_ARG_IN_FROM, line, detail);
    }
}

/// The per-FROM rules, each under the config of the comments above its FROM.
pub(super) fn stages(scope: &Scope<'_>, sink: &mut Sink) {
    let (df, src, input, base) = (scope.df, scope.src, scope.input, scope.cfg);
    let args = input.build_args.unwrap_or(empty_args());
    let Some(env) = global_env(df, args) else {
        return;
    };
    let mut keys: BTreeSet<String> = env.keys().cloned().collect();
    keys.extend(df.global_args.iter().map(|a| a.name.clone()));
    for st in &df.stages {
        let cfg = base.with_comments(&src.comments(st.line));
        let name = lookups(&st.base, df.escape, &env);
        undeclared(&name, &keys, st.line, &cfg, sink);
        let mut expected = input.target_platform.map(str::to_string);
        if let Some(p) = &st.platform {
            let plat = lookups(p, df.escape, &env);
            undeclared(&plat, &keys, st.line, &cfg, sink);
            let result = plat.result.clone().unwrap_or_default();
            if plat.matched.len() == 1
                && plat.unmatched.is_empty()
                && plat.matched.contains("TARGETPLATFORM")
                && env.get("TARGETPLATFORM") == Some(&result)
            {
                let detail = format!(
                    "Setting platform to predefined {p} in FROM is redundant as this is the default behavior"
                );
                sink.run(&cfg, &rules::REDUNDANT_TARGET_PLATFORM, st.line, detail);
            }
            let constant = plat.matched.is_empty() && plat.unmatched.is_empty();
            if let (true, Some((os, arch))) = (constant, parse_platform(&result)) {
                let stage = st.name.as_deref().unwrap_or_default();
                if !stage.contains(&os) && !stage.contains(&arch) {
                    let detail =
                        format!("FROM --platform flag should not use constant value \"{result}\"");
                    sink.run(
                        &cfg,
                        &rules::FROM_PLATFORM_FLAG_CONST_DISALLOWED,
                        st.line,
                        detail,
                    );
                }
            }
            expected = Some(result);
        }
        let external = st.base_stage.is_none() && st.base_expanded != "scratch";
        if let (true, Some(known), Some(expected)) = (external, input.base_platform, expected)
            && let Some(actual) = known(&st.base_expanded)
            && let Some(detail) = base_image_platform(&st.base_expanded, &expected, &actual)
        {
            sink.run(&cfg, &rules::INVALID_BASE_IMAGE_PLATFORM, st.line, detail);
        }
    }
}
