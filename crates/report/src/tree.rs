//! `stagescope tree` output: NDJSON (one object per entry) or an indented listing.

use std::io::{self, Write};

use stagescope_fs::format::{human_size, mode_string};
use stagescope_fs::{EntryId, EntryRef, FsIndex, Kind, escape};

/// Which layer made (or last changed) an entry and, when the build is known, which
/// instruction that was.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AddedBy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The image layer, counted from the bottom.
    pub layer: u16,
    /// The instruction only: as the Dockerfile wrote it when the build is known, else the
    /// layer's history line (`RUN make`; empty for an imported base).
    pub text: String,
}

/// What the layers say of one entry: the instruction that made it and, when a later one
/// changed it (a directory something was added to), the last of those.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributed {
    pub added_by: Option<AddedBy>,
    pub last_changed_by: Option<AddedBy>,
}

/// Which instructions made and last changed an entry, when known.
pub(crate) type AddedByFn<'a> = &'a dyn Fn(EntryId) -> Attributed;

#[derive(serde::Serialize)]
struct JsonEntry {
    path: String,
    kind: &'static str,
    size: u64,
    mode: u32,
    uid: u32,
    gid: u32,
    link: Option<String>,
    /// A hard link whose target is not in the image ([`EntryRef::link_missing`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    link_missing: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    added_by: Option<AddedBy>,
    /// A directory: the last instruction that wrote it, when not the one that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_changed_by: Option<AddedBy>,
    /// An empty mount point a RUN left (`/dev`, `/proc`, `/sys`): the runtime's, not the
    /// Dockerfile's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    runtime: bool,
}

/// One JSON object per line, depth-first, children by name; `depth` limits like the text.
pub fn json_lines(
    ix: &FsIndex,
    depth: Option<usize>,
    added_by: AddedByFn<'_>,
    out: &mut impl Write,
) -> io::Result<()> {
    for e in ix
        .entries()
        .filter(|e| depth.is_none_or(|d| e.depth() <= d))
    {
        let Attributed {
            added_by,
            last_changed_by,
        } = added_by(e.id);
        let obj = JsonEntry {
            path: escape(e.path()),
            kind: e.kind().as_str(),
            size: e.size(),
            mode: e.mode(),
            uid: e.uid(),
            gid: e.gid(),
            link: e.link().map(escape),
            link_missing: e.link_missing(),
            added_by,
            last_changed_by,
            runtime: e.is_runtime_mount_point(),
        };
        serde_json::to_writer(&mut *out, &obj)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn line(e: &EntryRef<'_>) -> String {
    let size = if e.kind() == Kind::Dir {
        e.total()
    } else {
        e.size()
    };
    let mut name = escape(e.name());
    if e.kind() == Kind::Dir {
        name.push('/');
    }
    let indent = "  ".repeat(e.depth().saturating_sub(1));
    let link = match (e.kind(), e.link()) {
        (Kind::Symlink, Some(l)) => format!(" -> {}", escape(l)),
        (Kind::Hardlink, Some(l)) if e.link_missing() => {
            format!(" => /{} (missing)", escape(l))
        }
        (Kind::Hardlink, Some(l)) => format!(" => /{}", escape(l)),
        _ if e.is_runtime_mount_point() => " (runtime mount point)".to_string(),
        _ => String::new(),
    };
    format!(
        "{} {:>11} {:>7}  {indent}{name}{link}",
        mode_string(e.kind(), e.mode()),
        format!("{}:{}", e.uid(), e.gid()),
        human_size(size),
    )
}

/// An indented listing: mode, owner, size (directories: their whole subtree), name.
pub fn text(ix: &FsIndex, depth: Option<usize>, out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "{} entries, {} in files",
        ix.len().saturating_sub(1),
        human_size(ix.root().total())
    )?;
    for e in ix
        .entries()
        .filter(|e| depth.is_none_or(|d| e.depth() <= d))
    {
        writeln!(out, "{}", line(&e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_fs::{IndexBuilder, Meta};

    fn sample() -> FsIndex {
        let mut b = IndexBuilder::new();
        let add = |b: &mut IndexBuilder, p: &[u8], k, size, mode, link: Option<&[u8]>| {
            b.add(p, k, Meta::new(size, mode), link, 0).expect("add");
        };
        add(&mut b, b"bin/busybox", Kind::File, 1_100_000, 0o4755, None);
        add(&mut b, b"bin/sh", Kind::Symlink, 0, 0o777, Some(b"busybox"));
        add(
            &mut b,
            b"bin/ash",
            Kind::Hardlink,
            0,
            0o755,
            Some(b"bin/busybox"),
        );
        add(&mut b, b"tmp", Kind::Dir, 0, 0o1777, None);
        add(&mut b, b"bad\xffname\n", Kind::File, 3, 0o644, None);
        b.finish()
    }

    #[test]
    fn text_listing() {
        let mut out = Vec::new();
        text(&sample(), None, &mut out).expect("write");
        insta::assert_snapshot!(String::from_utf8(out).expect("utf8"));
    }

    #[test]
    fn json_lines_escape_and_limit_depth() {
        let mut out = Vec::new();
        let run = AddedBy {
            stage: Some("base".into()),
            instruction: Some(3),
            line: Some(4),
            layer: 1,
            text: "RUN make".into(),
        };
        let by = |id: EntryId| match id {
            1 => Attributed {
                added_by: Some(run.clone()),
                last_changed_by: None,
            },
            // A directory made by the base image's layer, written again by the RUN.
            2 => Attributed {
                added_by: Some(AddedBy {
                    stage: None,
                    instruction: None,
                    line: None,
                    layer: 0,
                    text: String::new(),
                }),
                last_changed_by: Some(run.clone()),
            },
            _ => Attributed::default(),
        };
        json_lines(&sample(), Some(1), &by, &mut out).expect("write");
        insta::assert_snapshot!(String::from_utf8(out).expect("utf8"));
    }

    #[test]
    fn hostile_names_are_escaped_on_one_line() {
        let mut b = IndexBuilder::new();
        let m = |size| Meta::new(size, 0o644);
        b.add(b"evil\x1b]0;T\x07\nname\x1b[2J", Kind::File, m(1), None, 0)
            .expect("add");
        b.add(b"ln", Kind::Symlink, m(0), Some(b"\xc2\x9b2J\r"), 0)
            .expect("add");
        let mut out = Vec::new();
        text(&b.finish(), None, &mut out).expect("write");
        let out = String::from_utf8(out).expect("utf8");
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert_eq!(out.lines().count(), 3, "{out}");
        assert!(
            out.contains("  evil\\x1b]0;T\\x07\\x0aname\\x1b[2J\n"),
            "{out}"
        );
        assert!(out.contains("  ln -> \\xc2\\x9b2J\\x0d\n"), "{out}");
    }

    /// A hard link to nothing reads as one in both reports (the index marks it missing).
    #[test]
    fn a_hard_link_to_nothing_reads_missing_in_text_and_json() {
        use stagescope_fs::{FsIndex, Kind, testutil::tar_of};
        let tar = tar_of(&[
            (b"bin/real", Kind::File, b"#!/bin/sh\n", 0o755),
            (b"bin/good", Kind::Hardlink, b"bin/real", 0o755),
            (b"bin/gone", Kind::Hardlink, b"no/such/file", 0o755),
        ]);
        let ix = FsIndex::from_tar(tar.as_slice()).expect("index");
        let mut out = Vec::new();
        crate::tree::text(&ix, None, &mut out).expect("text");
        let out = String::from_utf8(out).expect("utf8");
        assert!(out.contains("gone => /no/such/file (missing)"), "{out}");
        assert!(out.contains("good => /bin/real\n"), "{out}");
        let mut out = Vec::new();
        crate::tree::json_lines(&ix, None, &|_| Default::default(), &mut out).expect("json");
        let out = String::from_utf8(out).expect("utf8");
        let gone = out
            .lines()
            .find(|l| l.contains("\"bin/gone\""))
            .expect("gone");
        assert!(gone.contains("\"link_missing\":true"), "{gone}");
        let good = out
            .lines()
            .find(|l| l.contains("\"bin/good\""))
            .expect("good");
        assert!(!good.contains("link_missing"), "{good}");
    }
}
