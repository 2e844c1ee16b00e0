//! The build arguments BuildKit defines before any ARG (`dockerfile2llb/platform.go`
//! defaultArgs): `BUILDPLATFORM`, `BUILDOS`, `BUILDOSVERSION`, `BUILDARCH`, `BUILDVARIANT`, the
//! same five for `TARGET`, and `TARGETSTAGE`. The build platform is this machine's (buildx
//! passes the worker's); the target platform is `--platform` when given, else the build
//! platform (buildPlatformOpt). A `--build-arg` of one of these names overrides it.

use std::collections::BTreeMap;

use super::expand::Env;

/// An OCI platform, normalized as containerd's `platforms.Normalize` does for the usual names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: String,
}

impl Platform {
    /// The machine we run on: `std::env::consts`, in Go's names (`x86_64` is `amd64`).
    pub fn host() -> Platform {
        let (arch, variant) = normalize_arch(std::env::consts::ARCH, "");
        Platform {
            os: normalize_os(std::env::consts::OS),
            arch,
            variant,
        }
    }

    /// `os[/arch[/variant]]` or a bare architecture (containerd's `platforms.Parse`, leniently:
    /// an unknown name is kept as written). Of a comma-separated list, the first.
    pub fn parse(spec: &str) -> Platform {
        let host = Platform::host();
        let first = spec.split(',').next().unwrap_or_default().trim();
        let parts: Vec<String> = first.split('/').map(str::to_lowercase).collect();
        match parts.as_slice() {
            [one] if KNOWN_OS.contains(&normalize_os(one).as_str()) => Platform {
                os: normalize_os(one),
                ..host
            },
            [one] => {
                let (arch, variant) = normalize_arch(one, "");
                Platform {
                    os: host.os,
                    arch,
                    variant,
                }
            }
            [os, arch, rest @ ..] => {
                let (arch, variant) = normalize_arch(arch, rest.first().map_or("", String::as_str));
                Platform {
                    os: normalize_os(os),
                    arch,
                    variant,
                }
            }
            [] => host,
        }
    }

    /// containerd's `platforms.Format`: `os/arch[/variant]`.
    pub fn format(&self) -> String {
        let mut s = format!("{}/{}", self.os, self.arch);
        if !self.variant.is_empty() {
            s.push('/');
            s.push_str(&self.variant);
        }
        s
    }
}

const KNOWN_OS: [&str; 14] = [
    "aix",
    "android",
    "darwin",
    "dragonfly",
    "freebsd",
    "hurd",
    "illumos",
    "ios",
    "js",
    "linux",
    "netbsd",
    "openbsd",
    "solaris",
    "windows",
];

fn normalize_os(os: &str) -> String {
    match os.to_lowercase().as_str() {
        "macos" => "darwin".into(),
        other => other.into(),
    }
}

fn normalize_arch(arch: &str, variant: &str) -> (String, String) {
    let arch = arch.to_lowercase();
    let variant = variant.to_lowercase();
    let (a, v) = match (arch.as_str(), variant.as_str()) {
        ("i386" | "x86", _) => ("386", ""),
        ("x86_64" | "x86-64" | "amd64", "v1") => ("amd64", ""),
        ("x86_64" | "x86-64" | "amd64", v) => ("amd64", v),
        ("aarch64" | "arm64", "8" | "v8" | "v8.0") => ("arm64", ""),
        ("aarch64" | "arm64", v) => ("arm64", v),
        ("armhf", _) => ("arm", "v7"),
        ("armel", _) => ("arm", "v6"),
        ("arm", "" | "7") => ("arm", "v7"),
        ("arm", "5" | "6" | "8") => return ("arm".into(), format!("v{variant}")),
        (a, v) => (a, v),
    };
    (a.into(), v.into())
}

/// defaultArgs: the platform arguments and `TARGETSTAGE` (the target, or "default").
pub(crate) fn default_args(
    target_platform: Option<&str>,
    target_stage: &str,
    overrides: &BTreeMap<String, String>,
) -> Env {
    let build = Platform::host();
    let target = target_platform.map_or_else(|| build.clone(), Platform::parse);
    let stage = if target_stage.is_empty() {
        "default"
    } else {
        target_stage
    };
    let mut env = Env::new();
    for (prefix, p) in [("BUILD", &build), ("TARGET", &target)] {
        env.insert(format!("{prefix}PLATFORM"), p.format());
        env.insert(format!("{prefix}OS"), p.os.clone());
        env.insert(format!("{prefix}OSVERSION"), String::new());
        env.insert(format!("{prefix}ARCH"), p.arch.clone());
        env.insert(format!("{prefix}VARIANT"), p.variant.clone());
    }
    env.insert("TARGETSTAGE".into(), stage.into());
    for (k, v) in env.iter_mut() {
        if let Some(o) = overrides.get(k) {
            v.clone_from(o);
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalizes() {
        let p = |s: &str| Platform::parse(s).format();
        assert_eq!(p("linux/arm64"), "linux/arm64");
        assert_eq!(p("linux/aarch64/v8"), "linux/arm64");
        assert_eq!(p("linux/arm/v6"), "linux/arm/v6");
        assert_eq!(p("linux/armhf"), "linux/arm/v7");
        assert_eq!(p("Linux/x86_64"), "linux/amd64");
        assert_eq!(p("linux/s390x,linux/amd64"), "linux/s390x");
        assert_eq!(p("arm64"), format!("{}/arm64", Platform::host().os));
        assert_eq!(Platform::parse("windows").arch, Platform::host().arch);
    }

    #[test]
    fn host_uses_go_names() {
        let h = Platform::host();
        assert!(!["x86_64", "aarch64"].contains(&h.arch.as_str()));
        if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
            assert_eq!(h.format(), "linux/amd64");
        }
    }

    #[test]
    fn default_args_follow_platform_go() {
        let none = BTreeMap::new();
        let env = default_args(Some("linux/arm/v7"), "", &none);
        assert_eq!(env["TARGETPLATFORM"], "linux/arm/v7");
        assert_eq!(env["TARGETOS"], "linux");
        assert_eq!(env["TARGETARCH"], "arm");
        assert_eq!(env["TARGETVARIANT"], "v7");
        assert_eq!(env["TARGETOSVERSION"], "");
        assert_eq!(env["TARGETSTAGE"], "default");
        assert_eq!(env["BUILDPLATFORM"], Platform::host().format());
        let env = default_args(None, "build", &none);
        assert_eq!(env["TARGETPLATFORM"], env["BUILDPLATFORM"]);
        assert_eq!(env["TARGETSTAGE"], "build");
        let over = BTreeMap::from([
            ("TARGETARCH".to_string(), "riscv64".to_string()),
            ("OTHER".to_string(), "x".to_string()),
        ]);
        let env = default_args(None, "", &over);
        assert_eq!(env["TARGETARCH"], "riscv64");
        assert!(!env.contains_key("OTHER"));
    }
}
