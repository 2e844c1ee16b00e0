//! ADD/COPY sources that are not in the build context: Git repositories and HTTP(S) files, told
//! apart as BuildKit's `dfgitutil.ParseGitRef`, `util/gitutil.ParseURL` and
//! `dockerfile2llb/convert_copy.go` (isGitSource, isHTTPSource) do.

/// What one source word names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A path in the build context (or the `--from` stage/image).
    Local,
    /// A Git repository: `https://host/x/y.git#ref:dir`, `git@host:x/y.git`, `ssh://`, `git://`.
    /// `keep_git_dir` and `checksum` come from the URL's query, when it sets them.
    Git {
        keep_git_dir: Option<bool>,
        checksum: Option<String>,
    },
    /// Any other `http://` or `https://` URL.
    Http,
}

const PROTOCOLS: [&str; 4] = ["http", "https", "ssh", "git"];

/// Classify a source; `Err` is BuildKit's error for a Git ref with a bad query.
pub fn classify(src: &str) -> Result<Source, String> {
    let git = match git_query(src) {
        None => None,
        Some(query) => Some(load_query(query)?),
    };
    Ok(match git {
        Some(source) => source,
        None if src.starts_with("http://") || src.starts_with("https://") => Source::Http,
        None => Source::Local,
    })
}

/// `Some(query)` when `src` parses as a Git ref (the query may be empty).
fn git_query(src: &str) -> Option<&str> {
    if src.starts_with("./") || src.starts_with("../") || src.starts_with("github.com/") {
        // The last form is a Git ref "indistinguishable from local": BuildKit copies the path.
        return None;
    }
    let proto_len = src
        .find("://")
        .filter(|&i| i > 0 && src[..i].bytes().all(|b| b.is_ascii_alphanumeric()));
    if let Some(i) = proto_len {
        let proto = src[..i].to_lowercase();
        if !PROTOCOLS.contains(&proto.as_str()) {
            return None;
        }
        let rest = &src[i + 3..];
        let no_fragment = rest.split_once('#').map_or(rest, |(a, _)| a);
        let (before_query, query) = no_fragment.split_once('?').unwrap_or((no_fragment, ""));
        let path = before_query.find('/').map_or("", |p| &before_query[p..]);
        if proto.starts_with("http") && !path.ends_with(".git") {
            return None;
        }
        return Some(query);
    }
    scp_style(src)
}

/// `^([a-zA-Z0-9-_]+)@([a-zA-Z0-9-.]+):(.*?)(?:\?(.*?))?(?:#(.*))?$`: the query, if it matches.
fn scp_style(src: &str) -> Option<&str> {
    let (user, rest) = src.split_once('@')?;
    let (host, path) = rest.split_once(':')?;
    let user_ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let host_ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
    if user.is_empty()
        || !user.chars().all(user_ok)
        || host.is_empty()
        || !host.chars().all(host_ok)
    {
        return None;
    }
    let no_fragment = path.split_once('#').map_or(path, |(a, _)| a);
    Some(no_fragment.split_once('?').map_or("", |(_, q)| q))
}

/// GitRef.loadQuery: the keys BuildKit knows, and its errors.
fn load_query(query: &str) -> Result<Source, String> {
    let mut seen: Vec<&str> = Vec::new();
    let (mut keep_git_dir, mut checksum) = (None, None);
    let pairs = query.split('&').filter(|p| !p.is_empty());
    for pair in pairs.clone() {
        let key = pair.split_once('=').map_or(pair, |(k, _)| k);
        if pairs
            .clone()
            .filter(|p| p.split('=').next() == Some(key))
            .count()
            > 1
        {
            return Err(format!("query {key:?} has multiple values"));
        }
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let value = pair.split_once('=').map_or("", |(_, v)| v);
        let flag = matches!(key, "submodules" | "keep-git-dir" | "fetch-by-commit");
        if value.is_empty() && !flag {
            return Err(format!("query {key:?} has no value"));
        }
        let boolean = || match value {
            "" => Ok(true),
            v => go_bool(v).ok_or_else(|| format!("invalid {key} value: {v:?}")),
        };
        match key {
            "ref" | "tag" | "branch" | "subdir" => {}
            "checksum" | "commit" => checksum = Some(value.to_string()),
            "keep-git-dir" => keep_git_dir = Some(boolean()?),
            "submodules" | "fetch-by-commit" => {
                boolean()?;
            }
            "mtime" if value == "checkout" || value == "commit" => {}
            "mtime" => {
                return Err(format!(
                    "invalid mtime value: {value:?} (must be \"checkout\" or \"commit\")"
                ));
            }
            _ => return Err(format!("unexpected query {key:?}")),
        }
    }
    Ok(Source::Git {
        keep_git_dir,
        checksum,
    })
}

/// Go's strconv.ParseBool.
pub(crate) fn go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// go-digest's Parse, for `ADD --checksum` of an HTTP source.
pub(crate) fn check_digest(s: &str) -> Result<(), String> {
    let format = || Err("invalid checksum digest format".to_string());
    let Some((alg, hex)) = s
        .split_once(':')
        .filter(|(a, h)| !a.is_empty() && !h.is_empty())
    else {
        return format();
    };
    let len = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            let alg_ok = alg.split(['+', '.', '_', '-']).all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
            let hex_ok = hex
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
            return if alg_ok && hex_ok {
                Err("unsupported digest algorithm".into())
            } else {
                format()
            };
        }
    };
    if hex.len() != len {
        return Err("invalid checksum digest length".into());
    }
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return format();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git() -> Source {
        Source::Git {
            keep_git_dir: None,
            checksum: None,
        }
    }

    #[test]
    fn classifies_like_buildkit() {
        for g in [
            "https://github.com/moby/buildkit.git",
            "https://github.com/moby/buildkit.git#v0.10.1:docs",
            "git@github.com:moby/buildkit.git",
            "git@github.com:moby/buildkit.git#main",
            "ssh://git@example.com/x/y",
            "git://example.com/x/y",
            "HTTPS://example.com/x.git",
        ] {
            assert_eq!(classify(g), Ok(git()), "{g}");
        }
        for h in [
            "https://example.com/file.tar.gz",
            "http://example.com/x.git.tar",
            "https://github.com/moby/buildkit",
        ] {
            assert_eq!(classify(h), Ok(Source::Http), "{h}");
        }
        for l in [
            "src",
            "./a.git",
            "github.com/moby/buildkit",
            "s3://b/x",
            "a@b",
            "<<EOF",
        ] {
            assert_eq!(classify(l), Ok(Source::Local), "{l}");
        }
    }

    #[test]
    fn git_queries() {
        assert_eq!(
            classify("https://x.io/a.git?keep-git-dir=true&checksum=abc"),
            Ok(Source::Git {
                keep_git_dir: Some(true),
                checksum: Some("abc".into())
            })
        );
        assert_eq!(
            classify("https://x.io/a.git?foo=1"),
            Err("unexpected query \"foo\"".into())
        );
        assert_eq!(
            classify("git@x.io:a.git?ref=a&ref=b"),
            Err("query \"ref\" has multiple values".into())
        );
        assert_eq!(
            classify("https://x.io/a.git?tag"),
            Err("query \"tag\" has no value".into())
        );
        assert_eq!(
            classify("https://x.io/a.git?submodules=maybe"),
            Err("invalid submodules value: \"maybe\"".into())
        );
    }

    #[test]
    fn digests() {
        let ok = format!("sha256:{}", "a".repeat(64));
        assert_eq!(check_digest(&ok), Ok(()));
        assert_eq!(
            check_digest("abc"),
            Err("invalid checksum digest format".into())
        );
        assert_eq!(
            check_digest("sha256:abc"),
            Err("invalid checksum digest length".into())
        );
        assert_eq!(
            check_digest("md5:abc"),
            Err("unsupported digest algorithm".into())
        );
    }
}
