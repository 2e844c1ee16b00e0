//! The filesystem pane, full screen: a title line, the tree (or a list, or a preview) with
//! its columns, and a status line for progress, notices and the prompt. Only the rows on
//! screen are formatted, so a frame costs the same for 100 entries or 100k expanded.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::files::{ChangeRow, FilesPane, InputKind, List};
use crate::layout::first_visible;
use crate::widgets::{clip, selected_style};
use stagescope_fs::format::{human_size, mode_string};
use stagescope_fs::preview::{Body, Preview};
use stagescope_fs::tree::SortBy;
use stagescope_fs::{EntryId, FsIndex, Kind, escape};

fn added_width(w: u16) -> usize {
    match w {
        0..80 => 0,
        80..110 => 22,
        _ => 34,
    }
}

/// `    12.5K -rwxr-xr-x  0:0      line 6 RUN make       `: the columns before the name.
fn columns(p: &FilesPane, ix: &FsIndex, id: EntryId, added_w: usize) -> String {
    let e = ix.get(id);
    let size = if e.kind() == Kind::Dir {
        e.total()
    } else {
        e.size()
    };
    let mut s = format!(
        "{:>7} {} {:<9}",
        human_size(size),
        mode_string(e.kind(), e.mode()),
        clip(&format!("{}:{}", e.uid(), e.gid()), 9)
    );
    if added_w > 0 {
        let mut by = if e.is_runtime_mount_point() {
            // An empty /dev, /proc or /sys: the RUN's container runtime made it.
            "runtime mount point".to_string()
        } else {
            p.added_by(id)
                .unwrap_or(if p.layers.is_some() || p.layers_error.is_some() {
                    ""
                } else {
                    "…"
                })
                .to_string()
        };
        // A directory a later instruction wrote again: `(last 21)`, the line of the last one,
        // kept in view whatever the width clips of the first.
        let last = p
            .last_changed_by(id)
            .filter(|_| !e.is_runtime_mount_point())
            .map(|l| {
                let at = l
                    .strip_prefix("line ")
                    .and_then(|r| r.split(' ').next())
                    .unwrap_or("base");
                format!(" (last {at})")
            })
            .unwrap_or_default();
        let room = added_w.saturating_sub(last.chars().count());
        s.push(' ');
        if last.is_empty() || room < 8 {
            by.push_str(&last);
            s.push_str(&clip(&by, added_w));
        } else {
            s.push_str(&clip(
                &format!("{}{last}", clip(&by, room).trim_end()),
                added_w,
            ));
        }
    }
    s.push(' ');
    s
}

fn name_and_link(ix: &FsIndex, id: EntryId, full_path: bool) -> (String, Option<String>) {
    let e = ix.get(id);
    let mut name = escape(if full_path { e.path() } else { e.name() });
    if full_path {
        name.insert(0, '/');
    }
    if e.kind() == Kind::Dir {
        name.push('/');
    }
    let link = match (e.kind(), e.link()) {
        (Kind::Symlink, Some(l)) => Some(format!(" -> {}", escape(l))),
        (Kind::Hardlink, Some(l)) => Some(format!(" => /{}", escape(l))),
        _ => None,
    };
    (name, link)
}

fn header(added_w: usize) -> Line<'static> {
    let mut s = format!("{:>7} {:<10} {:<9}", "SIZE", "MODE", "OWNER");
    if added_w > 0 {
        s.push(' ');
        s.push_str(&clip("ADDED BY", added_w));
    }
    s.push_str(" NAME");
    Line::styled(s, Style::default().add_modifier(Modifier::BOLD))
}

fn tree_lines(p: &FilesPane, ix: &FsIndex, area: Rect) -> Vec<Line<'static>> {
    let rows = usize::from(area.height.saturating_sub(1));
    let added_w = added_width(area.width);
    let first = first_visible(p.tree.selected(), rows);
    let mut out = vec![header(added_w)];
    for (n, r) in p.tree.rows().iter().enumerate().skip(first).take(rows) {
        let marker = match (r.has_children, r.expanded) {
            (true, true) => "▾ ",
            (true, false) => "▸ ",
            _ => "  ",
        };
        let (name, link) = name_and_link(ix, r.id, false);
        let sel = selected_style(n == p.tree.selected());
        let kind = ix.get(r.id).kind();
        let name_style = match kind {
            Kind::Dir => sel.fg(Color::Blue).add_modifier(Modifier::BOLD),
            Kind::Symlink | Kind::Hardlink => sel.fg(Color::Cyan),
            _ if ix.get(r.id).mode() & 0o111 != 0 => sel.fg(Color::Green),
            _ => sel,
        };
        let mut spans = vec![
            Span::styled(columns(p, ix, r.id, added_w), sel),
            Span::styled(
                format!("{}{marker}", "  ".repeat(usize::from(r.depth).min(60))),
                sel,
            ),
            Span::styled(name, name_style),
        ];
        if let Some(l) = link {
            spans.push(Span::styled(l, sel.fg(Color::DarkGray)));
        }
        out.push(Line::from(spans));
    }
    out
}

fn list_lines(p: &FilesPane, ix: &FsIndex, list: &List, area: Rect) -> Vec<Line<'static>> {
    let rows = usize::from(area.height.saturating_sub(1));
    let added_w = added_width(area.width);
    let first = first_visible(p.list_selected, rows);
    let mut out = vec![header(added_w)];
    let line = |n: usize, id: Option<EntryId>, path: &[u8], deleted: bool| {
        let sel = selected_style(n == p.list_selected);
        match id {
            Some(id) => {
                let (name, link) = name_and_link(ix, id, true);
                let mut spans = vec![
                    Span::styled(columns(p, ix, id, added_w), sel),
                    Span::styled(name, sel),
                ];
                if let Some(l) = link {
                    spans.push(Span::styled(l, sel.fg(Color::DarkGray)));
                }
                Line::from(spans)
            }
            None => Line::from(vec![
                Span::styled(
                    format!(
                        "{:>7} {:<10} {:<9} ",
                        "",
                        if deleted { "deleted" } else { "" },
                        ""
                    ),
                    sel.fg(Color::Red),
                ),
                Span::styled(
                    format!(
                        "{}/{}",
                        " ".repeat(if added_w > 0 { added_w + 1 } else { 0 }),
                        escape(path)
                    ),
                    sel.fg(Color::Red).add_modifier(Modifier::CROSSED_OUT),
                ),
            ]),
        }
    };
    match list {
        List::Largest(ids) => {
            for (n, &id) in ids.iter().enumerate().skip(first).take(rows) {
                out.push(line(n, Some(id), b"", false));
            }
        }
        List::Changes(rows_) => {
            for (n, ChangeRow { path, id, deleted }) in
                rows_.iter().enumerate().skip(first).take(rows)
            {
                out.push(line(n, *id, path, *deleted));
            }
            if rows_.is_empty() {
                out.push(Line::from(
                    "  (that instruction changed nothing in this state)",
                ));
            }
        }
        List::Waste(w) => return super::waste::lines(w, p.list_selected, area),
    }
    out
}

fn preview_lines(pv: &Preview, area: Rect) -> Vec<Line<'static>> {
    let rows = usize::from(area.height.saturating_sub(1));
    let what = match &pv.body {
        Body::Text(l) => format!("text, {} lines", l.len()),
        Body::Hex { guess, .. } => format!("{guess}, hex"),
        Body::Note(_) => "".into(),
    };
    let mut head = format!("/{}  {}  {what}", pv.path, human_size(pv.size));
    if pv.truncated {
        head.push_str("  (first 1 MiB)");
    }
    let mut out = vec![Line::styled(
        head,
        Style::default().add_modifier(Modifier::BOLD),
    )];
    match &pv.body {
        Body::Text(lines) => {
            for (n, l) in lines.iter().enumerate().skip(pv.top).take(rows) {
                out.push(Line::from(vec![
                    Span::styled(
                        format!("{:>6} │ ", n + 1),
                        Style::default().fg(Color::DarkGray),
                    ),
                    Span::raw(l.clone()),
                ]));
            }
        }
        Body::Hex { lines, .. } => {
            out.extend(
                lines
                    .iter()
                    .skip(pv.top)
                    .take(rows)
                    .map(|l| Line::raw(l.clone())),
            );
        }
        Body::Note(n) => out.push(Line::raw(n.clone())),
    }
    out
}

fn title(p: &FilesPane) -> Line<'static> {
    let mut s = format!(" Files · {}", p.title);
    if let Some(ix) = &p.index {
        s.push_str(&format!(
            " · {} entries, {}",
            ix.len().saturating_sub(1),
            human_size(ix.root().total())
        ));
    }
    s.push_str(match p.tree.sort() {
        SortBy::Name => " · by name",
        SortBy::Size => " · by size",
    });
    if let Some(f) = &p.filter {
        s.push_str(&format!(" · filter {f}"));
    }
    match &p.list {
        Some(List::Largest(_)) => s.push_str(" · largest files"),
        Some(List::Changes(_)) => s.push_str(" · changed by this instruction"),
        Some(List::Waste(_)) => s.push_str(" · wasted copies, largest first"),
        None => {}
    }
    Line::styled(
        s,
        Style::default()
            .fg(Color::Black)
            .bg(Color::Cyan)
            .add_modifier(Modifier::BOLD),
    )
}

fn status(p: &FilesPane) -> Line<'static> {
    if let Some((kind, text)) = &p.input {
        let label = match kind {
            InputKind::Filter => "filter (name or glob): ",
            InputKind::Extract => "extract to (host path): ",
        };
        return Line::from(vec![
            Span::styled(label, Style::default().fg(Color::Yellow)),
            Span::raw(format!("{text}▏")),
        ]);
    }
    if let Some(n) = &p.notice {
        return Line::styled(n.clone(), Style::default().fg(Color::Yellow));
    }
    if let Some(e) = &p.error {
        return Line::styled(format!("error: {e}"), Style::default().fg(Color::Red));
    }
    let counts = format!(
        "{} entries, {}",
        p.progress.entries,
        human_size(p.progress.bytes)
    );
    let mut s = match (p.loading, p.from_cache) {
        (true, _) if p.progress.entries == 0 && p.index.is_none() => {
            "opening… (making the image, then streaming its export)".to_string()
        }
        (true, _) => format!("indexing… {counts}"),
        (false, true) => "from cache".to_string(),
        (false, false) => format!("indexed {counts}"),
    };
    if !p.loading {
        s.push_str(match (&p.layers, &p.layers_error) {
            (Some(_), _) => " · layers read",
            (None, Some(_)) => " · no layer attribution",
            (None, None) => " · reading layers…",
        });
    }
    s.push_str(" · ? keys · Esc back");
    Line::styled(s, Style::default().fg(Color::DarkGray))
}

pub fn render(frame: &mut Frame, area: Rect, p: &FilesPane) {
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(title(p)), top);
    let lines = match (&p.preview, &p.index, &p.list) {
        (Some(pv), _, _) => preview_lines(pv, body),
        (None, Some(ix), Some(list)) => list_lines(p, ix, list, body),
        (None, Some(ix), None) => tree_lines(p, ix, body),
        (None, None, _) => vec![Line::raw(match &p.error {
            Some(_) => "",
            None => "waiting for the first entries…",
        })],
    };
    frame.render_widget(Paragraph::new(lines), body);
    frame.render_widget(Paragraph::new(status(p)), bottom);
}
