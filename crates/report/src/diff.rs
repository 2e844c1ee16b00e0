//! `stagescope diff` output: a plain summary with findings, JSON, or Markdown for a pull
//! request comment. Everything is computed once into a [`DiffReport`]; the renderers only
//! format it.

use std::fmt::Write;

use serde::Serialize;

use super::sanitize::name;
use stagescope_fs::compare::Comparison;
use stagescope_fs::diff::{Diff, Status};
use stagescope_fs::format::human_size;
use stagescope_fs::provenance::{Provenance, ReleaseModel};
use stagescope_fs::rules::{Category, Finding, RuleSet, Severity};
use stagescope_fs::{FsIndex, Kind, escape};

/// Which findings make `--fail-on` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// Any finding of warning severity or above.
    #[default]
    Leftovers,
    /// Secrets only.
    Secrets,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Side {
    pub label: String,
    pub files: u64,
    pub bytes: u64,
}

impl Side {
    pub fn of(label: &str, ix: &FsIndex) -> Side {
        Side {
            label: label.to_string(),
            files: ix.entries().filter(|e| e.kind() != Kind::Dir).count() as u64,
            bytes: ix.root().total(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub from: Side,
    pub to: Side,
    /// Files (and bytes) the `to` side copied from other stages, when provenance is known.
    pub copied_files: Option<u64>,
    pub copied_bytes: Option<u64>,
    /// Findings of warning severity or above, and the bytes they cover.
    pub leftovers: u64,
    pub leftover_bytes: u64,
    pub added: u32,
    pub removed: u32,
    pub changed: u32,
    pub unchanged: u32,
    pub byte_delta: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingRow {
    pub path: String,
    pub size: u64,
    pub files: u32,
    /// The path is a directory standing for `files` matching files directly inside it.
    pub grouped: bool,
    /// The path is a directory (grouped, or standing for its whole subtree).
    pub dir: bool,
    pub rule: String,
    pub severity: Severity,
    pub category: Category,
    pub reason: String,
    /// The instruction that brought it, when provenance knows.
    pub instruction: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeRow {
    pub status: Status,
    pub path: String,
    pub kind: &'static str,
    pub aspects: Vec<&'static str>,
    pub from_size: Option<u64>,
    pub to_size: Option<u64>,
    /// Entries below an added or removed directory, which text and Markdown fold into it.
    pub below: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffReport {
    pub summary: Summary,
    pub findings: Vec<FindingRow>,
    pub changes: Vec<ChangeRow>,
}

/// The release side's provenance, when the Dockerfile is known.
pub(crate) type Origins<'a> = Option<(&'a ReleaseModel, &'a Provenance)>;

impl DiffReport {
    /// The report of one [`Comparison`].
    pub fn of(c: &Comparison, rules: &RuleSet) -> DiffReport {
        DiffReport::new(
            (&c.from_label, &c.left),
            (&c.to_label, &c.right),
            &c.diff,
            rules,
            &c.findings,
            c.origins.as_ref().map(|(m, p)| (m, p)),
        )
    }

    pub fn new(
        (from_label, from): (&str, &FsIndex),
        (to_label, to): (&str, &FsIndex),
        diff: &Diff,
        rules: &RuleSet,
        findings: &[Finding],
        origins: Origins<'_>,
    ) -> DiffReport {
        let rows: Vec<FindingRow> = findings
            .iter()
            .map(|f| {
                let r = rules.rule(f);
                let e = to.get(f.entry);
                FindingRow {
                    path: format!("/{}", escape(e.path())),
                    size: f.size,
                    files: f.files,
                    grouped: f.grouped,
                    dir: e.kind() == Kind::Dir,
                    rule: r.name.clone(),
                    severity: r.severity,
                    category: r.category,
                    reason: r.reason.clone(),
                    instruction: origins.map(|(m, p)| Provenance::describe(m, p.of(f.entry))),
                }
            })
            .collect();
        let counted = rows.iter().filter(|r| r.severity >= Severity::Warning);
        let (leftovers, leftover_bytes) = counted.fold((0, 0), |(n, b), r| (n + 1, b + r.size));
        let copied = origins.map(|(m, p)| p.copied_from_stages(m, to));
        let t = diff.totals();
        let changes = diff
            .changes()
            .map(|d| {
                let e = d.entry(from, to);
                ChangeRow {
                    status: d.status,
                    path: format!("/{}", escape(e.path())),
                    kind: e.kind().as_str(),
                    aspects: d.aspects.names().collect(),
                    from_size: d.left.map(|i| from.get(i).total()),
                    to_size: d.right.map(|i| to.get(i).total()),
                    below: diff.rollup(d).map_or(0, |r| r.differences()),
                }
            })
            .collect();
        DiffReport {
            summary: Summary {
                from: Side::of(from_label, from),
                to: Side::of(to_label, to),
                copied_files: copied.map(|c| c.0),
                copied_bytes: copied.map(|c| c.1),
                leftovers,
                leftover_bytes,
                added: t.added,
                removed: t.removed,
                changed: t.changed,
                unchanged: t.unchanged,
                byte_delta: t.byte_delta(),
            },
            findings: rows,
            changes,
        }
    }

    /// Whether the findings reach the `--fail-on` level.
    pub fn fails(&self, on: FailOn) -> bool {
        self.findings.iter().any(|f| match on {
            FailOn::Leftovers => f.severity >= Severity::Warning,
            FailOn::Secrets => f.category == Category::Secret && f.severity >= Severity::Warning,
            FailOn::None => false,
        })
    }

    /// Changes with the insides of added and removed directories folded away.
    fn folded(&self) -> impl Iterator<Item = &ChangeRow> {
        let mut skip: Option<String> = None;
        self.changes.iter().filter(move |c| {
            if let Some(s) = &skip
                && c.path.starts_with(s.as_str())
            {
                return false;
            }
            skip = (c.kind == "dir" && matches!(c.status, Status::Added | Status::Removed))
                .then(|| format!("{}/", c.path));
            true
        })
    }
}

fn signed_size(d: i64) -> String {
    let s = human_size(d.unsigned_abs());
    if d < 0 {
        format!("-{s}")
    } else {
        format!("+{s}")
    }
}

fn opt(n: Option<u64>, f: impl Fn(u64) -> String) -> String {
    n.map_or_else(|| "?".to_string(), f)
}

fn what(f: &FindingRow) -> String {
    if f.grouped {
        format!("{}/ ({} matching files)", f.path, f.files)
    } else if f.dir {
        format!("{}/ ({} files)", f.path, f.files)
    } else {
        f.path.clone()
    }
}

/// The summary header and the findings with their reasons, then the folded changes.
pub fn text(r: &DiffReport) -> String {
    let s = &r.summary;
    let mut o = String::new();
    let w = s.from.label.len().max(s.to.label.len()).max(9);
    for side in [&s.from, &s.to] {
        let _ = writeln!(
            o,
            "{:w$}  {} files / {}",
            name(&side.label),
            side.files,
            human_size(side.bytes)
        );
    }
    let _ = writeln!(
        o,
        "{:w$}  {} files / {}",
        "copied",
        opt(s.copied_files, |n| n.to_string()),
        opt(s.copied_bytes, human_size)
    );
    let _ = writeln!(
        o,
        "{:w$}  {} / {}",
        "leftovers",
        s.leftovers,
        human_size(s.leftover_bytes)
    );
    let _ = writeln!(
        o,
        "{:w$}  +{} -{} ~{} ={}, {}",
        "diff",
        s.added,
        s.removed,
        s.changed,
        s.unchanged,
        signed_size(s.byte_delta)
    );
    if r.findings.is_empty() {
        o.push_str("\nno findings\n");
    } else {
        let _ = writeln!(o, "\nfindings ({}):", r.findings.len());
        for f in &r.findings {
            let _ = writeln!(
                o,
                "  {:7} {}  {}  [{}] {}",
                f.severity.as_str(),
                what(f),
                human_size(f.size),
                f.rule,
                f.reason
            );
            if let Some(i) = &f.instruction {
                // Instruction text from the Dockerfile: its controls shown, not done.
                let _ = writeln!(o, "          from {}", name(i));
            }
        }
    }
    if !r.changes.is_empty() {
        o.push_str("\nchanges:\n");
        for c in r.folded() {
            let _ = write!(o, "  {} {}", c.status.mark(), c.path);
            if c.below > 0 && matches!(c.status, Status::Added | Status::Removed) {
                let _ = write!(o, "/ ({} entries)", c.below);
            }
            if !c.aspects.is_empty() {
                let _ = write!(o, "  ({})", c.aspects.join(", "));
            }
            o.push('\n');
        }
    }
    o
}

pub fn json(r: &DiffReport) -> String {
    let mut s =
        serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

/// A cell's text with Markdown table syntax neutralized.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ").replace('`', "'")
}

/// A summary table and a findings table, fit for a pull-request comment.
pub fn markdown(r: &DiffReport) -> String {
    let s = &r.summary;
    let mut o = String::new();
    let verdict = if r.fails(FailOn::Secrets) {
        "secrets found"
    } else if r.fails(FailOn::Leftovers) {
        "leftovers found"
    } else {
        "clean"
    };
    let _ = writeln!(
        o,
        "### stagescope diff: `{}` → `{}` — {verdict}\n",
        cell(&s.from.label),
        cell(&s.to.label)
    );
    o.push_str("| | files | bytes |\n|---|---:|---:|\n");
    for side in [&s.from, &s.to] {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            cell(&side.label),
            side.files,
            human_size(side.bytes)
        );
    }
    let _ = writeln!(
        o,
        "| copied | {} | {} |",
        opt(s.copied_files, |n| n.to_string()),
        opt(s.copied_bytes, human_size)
    );
    let _ = writeln!(
        o,
        "| leftovers | {} | {} |",
        s.leftovers,
        human_size(s.leftover_bytes)
    );
    let _ = writeln!(
        o,
        "\n+{} added, -{} removed, ~{} changed, {} unchanged ({})\n",
        s.added,
        s.removed,
        s.changed,
        s.unchanged,
        signed_size(s.byte_delta)
    );
    if r.findings.is_empty() {
        o.push_str("No findings.\n");
        return o;
    }
    o.push_str("| severity | path | size | rule | reason | brought by |\n");
    o.push_str("|---|---|---:|---|---|---|\n");
    for f in &r.findings {
        let _ = writeln!(
            o,
            "| {} | `{}` | {} | {} | {} | {} |",
            f.severity.as_str(),
            cell(&what(f)),
            human_size(f.size),
            cell(&f.rule),
            cell(&f.reason),
            f.instruction
                .as_deref()
                .map_or_else(|| "?".to_string(), |i| format!("`{}`", cell(i)))
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_dockerfile::Dockerfile;
    use stagescope_fs::provenance::Inputs;
    use stagescope_fs::testutil::{file, index};

    fn report() -> DiffReport {
        let df = Dockerfile::parse(
            b"FROM busybox AS builder\nRUN make\nFROM busybox\nCOPY --from=builder /src /app\n",
        )
        .expect("parse");
        let model = ReleaseModel::from_dockerfile(&df, 1);
        let builder = index(&[
            file("bin/busybox", 1000, 1),
            file("src/app", 4096, 2),
            file("src/.git/HEAD", 23, 3),
            file("src/.env", 30, 4),
            file("src/main.c", 300, 5),
        ]);
        let base = index(&[file("bin/busybox", 1000, 1)]);
        let release = index(&[
            file("bin/busybox", 1000, 1),
            file("app/app", 4096, 2),
            file("app/.git/HEAD", 23, 3),
            file("app/.env", 30, 4),
            file("app/main.c", 300, 5),
        ]);
        let stages = [(0, &builder)];
        let inputs = Inputs {
            stages: &stages,
            base: Some(&base),
        };
        let prov = Provenance::attribute(&model, &release, &inputs);
        let rules = RuleSet::builtin();
        let findings = rules.scan(&release);
        let diff = Diff::compute(&builder, &release);
        DiffReport::new(
            ("builder", &builder),
            ("release", &release),
            &diff,
            &rules,
            &findings,
            Some((&model, &prov)),
        )
    }

    #[test]
    fn text_report() {
        insta::assert_snapshot!(text(&report()));
    }

    #[test]
    fn markdown_report() {
        insta::assert_snapshot!(markdown(&report()));
    }

    #[test]
    fn fail_levels() {
        let r = report();
        assert!(r.fails(FailOn::Leftovers));
        assert!(r.fails(FailOn::Secrets));
        assert!(!r.fails(FailOn::None));
        let v: serde_json::Value = serde_json::from_str(&json(&r)).expect("json");
        assert_eq!(v["summary"]["leftovers"], 3);
        assert_eq!(v["findings"][0]["severity"], "error");
    }

    #[test]
    fn hostile_names_are_escaped_on_one_line() {
        let from = index(&[file("bin/busybox", 1000, 1), file("app/old", 1, 4)]);
        let to = index(&[
            file("bin/busybox", 1000, 1),
            file("app/old", 1, 4),
            file("app/k\x1b]0;T\x07\n.pem", 30, 2),
            file("app/\u{9b}2J\nnew", 10, 3),
        ]);
        let rules = RuleSet::builtin();
        let findings = rules.scan(&to);
        let diff = Diff::compute(&from, &to);
        let r = DiffReport::new(("a", &from), ("b", &to), &diff, &rules, &findings, None);
        let out = text(&r);
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(
            out.contains("/app/k\\x1b]0;T\\x07\\x0a.pem  30  [private-key]"),
            "{out}"
        );
        assert!(out.contains("\n  + /app/\\xc2\\x9b2J\\x0anew\n"), "{out}");
    }
}
