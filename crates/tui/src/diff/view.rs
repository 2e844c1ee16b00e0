//! `d`: the diff view. A summary header, the unified tree (`+ − ~ =`, roll-ups on
//! directories) over the findings list, and both sides of one entry drawn on top.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

use crate::diff::preview::Contents;
use crate::diff::{DiffData, DiffView, Pane, Phase, first_row};
use crate::layout::first_visible;
use crate::widgets::{centered, pane};
use stagescope_fs::content_diff::Tone;
use stagescope_fs::diff::Status;
use stagescope_fs::format::human_size;
use stagescope_fs::provenance::Provenance;
use stagescope_fs::rules::Severity;
use stagescope_fs::tree::Row;
use stagescope_fs::{EntryRef, Kind, escape};

pub(crate) fn render(frame: &mut Frame, area: Rect, v: &DiffView) {
    let d = match &v.phase {
        Phase::Ready(d) => d,
        Phase::Loading => {
            let text = "indexing both stages as they stream (from the build cache)…";
            return message(frame, area, text, Color::Yellow);
        }
        Phase::Failed(e) => return message(frame, area, &format!("cannot diff: {e}"), Color::Red),
    };
    let cap = (area.height / 3).max(3);
    let findings_h = (d.findings.len() as u16 * 3 + 2).clamp(3, cap);
    // Narrow screens wrap the summary onto a third line.
    let head_h = if area.width >= 100 { 4 } else { 5 };
    let [head, tree, findings] = Layout::vertical([
        Constraint::Length(head_h),
        Constraint::Min(3),
        Constraint::Length(findings_h),
    ])
    .areas(area);
    summary(frame, head, v, d);
    tree_pane(frame, tree, v, d);
    findings_pane(frame, findings, v, d);
    if let Some(i) = v.detail {
        detail(frame, area, d, i, v.contents.as_ref());
    }
}

fn message(frame: &mut Frame, area: Rect, text: &str, color: Color) {
    frame.render_widget(
        Paragraph::new(Span::styled(text.to_string(), Style::default().fg(color)))
            .block(pane(" Diff · Esc back ".into(), true)),
        area,
    );
}

fn side(label: &str, files: u64, bytes: u64) -> Vec<Span<'static>> {
    vec![
        Span::styled(
            format!("{label} "),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!("{files} files / {}   ", human_size(bytes))),
    ]
}

fn summary(frame: &mut Frame, area: Rect, v: &DiffView, d: &DiffData) {
    let s = &d.summary;
    let mut first = side(&s.from.label, s.from.files, s.from.bytes);
    first.extend(side(&s.to.label, s.to.files, s.to.bytes));
    first.extend(side(
        "copied",
        s.copied_files.unwrap_or(0),
        s.copied_bytes.unwrap_or(0),
    ));
    let leftovers = Style::default().fg(if s.leftovers > 0 {
        Color::Red
    } else {
        Color::Green
    });
    first.push(Span::styled(
        format!(
            "leftovers {} / {}",
            s.leftovers,
            human_size(s.leftover_bytes)
        ),
        leftovers,
    ));
    let delta = s.byte_delta;
    let second = Line::from(vec![
        Span::styled(format!("+{} ", s.added), Style::default().fg(Color::Green)),
        Span::styled(format!("−{} ", s.removed), Style::default().fg(Color::Red)),
        Span::styled(
            format!("~{} ", s.changed),
            Style::default().fg(Color::Yellow),
        ),
        Span::styled(
            format!("={}   ", s.unchanged),
            Style::default().fg(Color::DarkGray),
        ),
        Span::raw(format!(
            "bytes {}{}",
            sign(delta),
            human_size(delta.unsigned_abs())
        )),
    ]);
    let title = format!(
        " Diff {} → {} · filter: {} (v) · Esc back ",
        d.from_label,
        d.to_label,
        v.filter.as_str()
    );
    frame.render_widget(
        Paragraph::new(vec![Line::from(first), second])
            .wrap(Wrap { trim: true })
            .block(pane(title, false)),
        area,
    );
}

fn sign(d: i64) -> &'static str {
    if d < 0 { "-" } else { "+" }
}

fn mark_style(s: Status) -> Style {
    Style::default().fg(match s {
        Status::Added => Color::Green,
        Status::Removed => Color::Red,
        Status::Changed => Color::Yellow,
        Status::Unchanged => Color::DarkGray,
    })
}

fn mark(s: Status) -> char {
    // A real minus sign, as the issue draws it.
    match s {
        Status::Removed => '−',
        other => other.mark(),
    }
}

fn tree_pane(frame: &mut Frame, area: Rect, v: &DiffView, d: &DiffData) {
    let rows = usize::from(area.height.saturating_sub(2));
    let first = first_row(v, rows);
    let lines: Vec<Line> = v
        .tree
        .rows()
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(n, &r)| tree_line(d, r, n == v.tree.selected() && v.pane == Pane::Tree))
        .collect();
    let body = if lines.is_empty() {
        vec![Line::from(Span::styled(
            "nothing matches this filter",
            Style::default().fg(Color::DarkGray),
        ))]
    } else {
        lines
    };
    let title = format!(" Tree · {} of {} paths ", v.tree.rows().len(), d.len());
    frame.render_widget(
        Paragraph::new(body).block(pane(title, v.pane == Pane::Tree)),
        area,
    );
}

fn tree_line(d: &DiffData, r: Row, selected: bool) -> Line<'_> {
    let i = r.id;
    let e = &d.diff.entries()[i as usize];
    let here = e.entry(&d.left, &d.right);
    let base = if selected {
        Style::default().add_modifier(Modifier::REVERSED)
    } else {
        Style::default()
    };
    let indent = "  ".repeat(usize::from(r.depth));
    let fold = match (r.has_children, r.expanded) {
        (true, true) => "▾ ",
        (true, false) => "▸ ",
        _ => "  ",
    };
    let name = escape(here.name());
    let mut spans = vec![
        Span::styled(format!("{} ", mark(e.status)), mark_style(e.status)),
        Span::styled(format!("{indent}{fold}"), base),
        Span::styled(
            if d.is_dir(i) {
                format!("{name}/")
            } else {
                name
            },
            if d.is_leftover(i) {
                base.fg(Color::Red)
            } else {
                base
            },
        ),
    ];
    let info = match d.diff.rollup(e) {
        Some(r) => format!(
            "  +{} −{} ~{}  {}{}",
            r.added,
            r.removed,
            r.changed,
            sign(r.byte_delta()),
            human_size(r.byte_delta().unsigned_abs())
        ),
        None => {
            let mut s = format!("  {}", human_size(here.size()));
            let aspects: Vec<&str> = e.aspects.names().collect();
            if !aspects.is_empty() {
                s.push_str(&format!("  ({})", aspects.join(", ")));
            }
            s
        }
    };
    spans.push(Span::styled(info, Style::default().fg(Color::DarkGray)));
    Line::from(spans)
}

fn severity_style(s: Severity) -> Style {
    Style::default()
        .fg(match s {
            Severity::Error => Color::Red,
            Severity::Warning => Color::Yellow,
            Severity::Info => Color::Blue,
        })
        .add_modifier(Modifier::BOLD)
}

fn findings_pane(frame: &mut Frame, area: Rect, v: &DiffView, d: &DiffData) {
    let rows = usize::from(area.height.saturating_sub(2)) / 3;
    let first = first_visible(v.finding, rows);
    let mut lines = Vec::new();
    for (n, f) in d.findings.iter().enumerate().skip(first).take(rows) {
        let sel = n == v.finding && v.pane == Pane::Findings;
        let base = if sel {
            Style::default().add_modifier(Modifier::REVERSED)
        } else {
            Style::default()
        };
        let what = if f.grouped {
            format!("{} ({} files, {})", f.path, f.files, human_size(f.size))
        } else {
            format!("{} ({})", f.path, human_size(f.size))
        };
        lines.push(Line::from(vec![
            Span::styled(
                format!("{:<7} ", f.severity.as_str()),
                severity_style(f.severity),
            ),
            Span::styled(format!("{} ", f.rule), Style::default().fg(Color::Cyan)),
            Span::styled(what, base),
        ]));
        let from = f.instruction.as_deref().unwrap_or("?");
        lines.push(Line::from(Span::styled(
            format!("        {}", f.reason),
            Style::default().fg(Color::DarkGray),
        )));
        lines.push(Line::from(vec![
            Span::styled("        from ", Style::default().fg(Color::DarkGray)),
            Span::raw(from.to_string()),
        ]));
    }
    if lines.is_empty() {
        lines.push(Line::from(Span::styled(
            "no leftovers or secrets",
            Style::default().fg(Color::Green),
        )));
    }
    let title = format!(" Findings · {} · Tab ", d.findings.len());
    frame.render_widget(
        Paragraph::new(lines).block(pane(title, v.pane == Pane::Findings)),
        area,
    );
}

/// type, size, mode, owner, hash, link, content: one side's column of the detail.
fn meta(e: Option<EntryRef<'_>>) -> [String; 7] {
    let Some(e) = e else {
        let mut absent: [String; 7] = Default::default();
        absent[0] = "absent".into();
        return absent;
    };
    let flags: Vec<&str> = e.content_flags().names().collect();
    [
        e.kind().as_str().to_string(),
        if e.kind() == Kind::Dir {
            format!("{} in {} entries", human_size(e.total()), e.count() - 1)
        } else {
            format!("{} ({} bytes)", human_size(e.size()), e.size())
        },
        format!("{:04o}", e.mode()),
        format!("{}:{}", e.uid(), e.gid()),
        match e.kind() {
            Kind::File | Kind::Hardlink => format!("{:016x}", e.hash()),
            _ => String::new(),
        },
        e.link().map(escape).unwrap_or_default(),
        flags.join(", "),
    ]
}

fn detail(frame: &mut Frame, area: Rect, d: &DiffData, i: u32, contents: Option<&Contents>) {
    let e = &d.diff.entries()[i as usize];
    let here = e.entry(&d.left, &d.right);
    let left = meta(e.left.map(|l| d.left.get(l)));
    let right = meta(e.right.map(|r| d.right.get(r)));
    let w = usize::from(area.width.min(100).saturating_sub(2));
    let col = w.saturating_sub(10) / 2;
    let cell = |s: &str| -> String {
        let c: String = s.chars().take(col.saturating_sub(1)).collect();
        format!("{c:<col$}")
    };
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{} ", mark(e.status)), mark_style(e.status)),
            Span::styled(format!("/{}", escape(here.path())), bold),
        ]),
        Line::from(match e.status {
            Status::Changed => {
                format!(
                    "differs in {}",
                    e.aspects.names().collect::<Vec<_>>().join(", ")
                )
            }
            Status::Unchanged => "the same on both sides".to_string(),
            Status::Added => format!("only in {}", d.to_label),
            Status::Removed => format!("only in {}", d.from_label),
        }),
        Line::from(vec![
            Span::raw(format!("{:<10}", "")),
            Span::styled(cell(&d.from_label), bold),
            Span::styled(cell(&d.to_label), bold),
        ]),
    ];
    let names = ["type", "size", "mode", "owner", "hash", "link", "content"];
    for (k, name) in names.iter().enumerate() {
        if left[k].is_empty() && right[k].is_empty() {
            continue;
        }
        lines.push(Line::from(vec![
            Span::styled(format!("{name:<10}"), Style::default().fg(Color::Cyan)),
            Span::raw(cell(&left[k])),
            Span::raw(cell(&right[k])),
        ]));
    }
    if e.left.is_some() && e.right.is_some() && matches!(here.kind(), Kind::File | Kind::Hardlink) {
        let same = !e.aspects.contains(stagescope_fs::diff::Aspects::CONTENT);
        lines.push(Line::from(Span::styled(
            if same {
                "content: identical bytes (same hash)"
            } else {
                "content: different bytes"
            },
            Style::default().fg(if same { Color::Green } else { Color::Yellow }),
        )));
    }
    if let (Some(r), Some((model, prov))) = (e.right, &d.origins) {
        lines.push(Line::from(format!(
            "brought by: {}",
            Provenance::describe(model, prov.of(r))
        )));
    }
    let mut title = " Both sides · Esc ".to_string();
    if let Some(c) = contents {
        // The content takes what the screen has left under the metadata.
        let room = usize::from(area.height.saturating_sub(2)).saturating_sub(lines.len() + 1);
        lines.push(Line::from(Span::styled(
            "─".repeat(w),
            Style::default().fg(Color::DarkGray),
        )));
        match &c.rows {
            None => lines.push(Line::from(Span::styled(
                "reading both sides…",
                Style::default().fg(Color::Yellow),
            ))),
            Some(rows) => {
                let top = c.top.min(rows.len().saturating_sub(room));
                if rows.len() > room {
                    title = format!(
                        " Both sides · {}-{} of {} · ↑↓ PgUp PgDn · Esc ",
                        top + 1,
                        (top + room).min(rows.len()),
                        rows.len()
                    );
                }
                lines.extend(rows.iter().skip(top).take(room).map(|r| {
                    let style = match r.tone {
                        Tone::Head => Style::default().add_modifier(Modifier::BOLD),
                        Tone::Same => Style::default(),
                        Tone::Del => Style::default().fg(Color::Red),
                        Tone::Add => Style::default().fg(Color::Green),
                        Tone::Note => Style::default().fg(Color::Yellow),
                    };
                    Line::from(Span::styled(r.text.clone(), style))
                }));
            }
        }
    }
    // Sized to what it holds; the content part never makes it taller than the screen.
    let h = u16::try_from(lines.len() + 2).unwrap_or(u16::MAX);
    let r = centered(area, 100, h);
    frame.render_widget(Clear, r);
    frame.render_widget(Paragraph::new(lines).block(pane(title, true)), r);
}

#[cfg(test)]
#[path = "view_tests.rs"]
mod tests;
