//! Digests of the context files a run's COPY/ADD read, so the next run can name the files
//! that changed. A file whose size and modification time match the previous record keeps
//! its digest unread: a warm rebuild only stats.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::MetadataExt;

use super::facts::SourceSet;
use super::record::{FileMark, StepFacts};
use stagescope_context::BuildContext;

/// At most this many files are kept; beyond it the record says it is truncated.
pub(crate) const MAX_FILES: usize = 100_000;

/// The marks of the files that `steps`' sources read, in `ctx` after `.dockerignore`.
pub fn digest_inputs(
    ctx: &BuildContext,
    steps: &[Vec<StepFacts>],
    previous: Option<&BTreeMap<String, FileMark>>,
) -> Result<(BTreeMap<String, FileMark>, bool), String> {
    let sources: Vec<String> = steps
        .iter()
        .flatten()
        .filter_map(|s| s.sources.clone())
        .flatten()
        .collect();
    let mut out = BTreeMap::new();
    if sources.is_empty() {
        return Ok((out, false));
    }
    let set = SourceSet::new(&sources);
    let entries = ctx
        .walk_only(&|rel| set.reads(rel), &|dir| set.may_read_below(dir))
        .map_err(|e| e.to_string())?;
    let mut truncated = false;
    for e in entries {
        if e.meta.is_dir() || !set.reads(&e.rel) {
            continue;
        }
        if out.len() >= MAX_FILES {
            truncated = true;
            break;
        }
        let size = e.meta.len();
        let mtime_ns = i128::from(e.meta.mtime()) * 1_000_000_000 + i128::from(e.meta.mtime_nsec());
        let known = previous
            .and_then(|p| p.get(&e.rel))
            .filter(|m| m.size == size && m.mtime_ns == mtime_ns);
        let digest = match known {
            Some(m) => m.digest.clone(),
            None => digest_of(&e.abs, &e.meta).map_err(|err| format!("{}: {err}", e.rel))?,
        };
        out.insert(
            e.rel,
            FileMark {
                size,
                mtime_ns,
                digest,
            },
        );
    }
    Ok((out, truncated))
}

fn digest_of(path: &std::path::Path, meta: &std::fs::Metadata) -> std::io::Result<String> {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    if meta.file_type().is_symlink() {
        h.update(std::fs::read_link(path)?.as_os_str().as_encoded_bytes());
    } else if meta.is_file() {
        let mut f = std::fs::File::open(path)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(format!("{:032x}", h.digest128()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(sources: &[&str]) -> Vec<Vec<StepFacts>> {
        vec![vec![StepFacts {
            sources: Some(sources.iter().map(|s| s.to_string()).collect()),
            ..StepFacts::default()
        }]]
    }

    #[test]
    fn marks_only_what_copy_reads_after_dockerignore() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        std::fs::create_dir(root.join("src")).expect("mkdir");
        std::fs::write(root.join("src/a.rs"), "a").expect("write");
        std::fs::write(root.join("src/skip.log"), "x").expect("write");
        std::fs::write(root.join("other"), "o").expect("write");
        std::fs::write(root.join(".dockerignore"), "**/*.log\n").expect("write");
        std::fs::write(root.join("Dockerfile"), "FROM scratch\n").expect("write");
        let ctx = BuildContext::new(root, None).expect("ctx");
        let (marks, truncated) = digest_inputs(&ctx, &steps(&["src"]), None).expect("digest");
        assert!(!truncated);
        assert_eq!(marks.keys().collect::<Vec<_>>(), vec!["src/a.rs"]);

        // Same size and mtime: the old digest is kept without reading (a planted wrong
        // digest survives); a changed file is read again.
        let mut planted = marks.clone();
        planted.get_mut("src/a.rs").expect("mark").digest = "planted".into();
        let (again, _) = digest_inputs(&ctx, &steps(&["src"]), Some(&planted)).expect("again");
        assert_eq!(again["src/a.rs"].digest, "planted");
        std::fs::write(root.join("src/a.rs"), "changed").expect("write");
        let (after, _) = digest_inputs(&ctx, &steps(&["src"]), Some(&planted)).expect("after");
        assert_ne!(after["src/a.rs"].digest, "planted");
        assert_ne!(after["src/a.rs"].digest, marks["src/a.rs"].digest);
    }
}
