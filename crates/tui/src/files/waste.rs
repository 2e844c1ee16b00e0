//! `W` in the files pane: the copies of files that later layers hid (the image still
//! carries their bytes), one row per hidden copy, largest first, under the totals
//! `stagescope waste` prints. The numbers are the report's: this only orders and draws them.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::Shared;
use crate::layout::first_visible;
use crate::widgets::{clip, selected_style};
use stagescope_fs::FsIndex;
use stagescope_fs::format::human_size;
use stagescope_fs::waste::Waste;
use stagescope_plan::added_by::LayerInfo;
use stagescope_report::sanitize;
use stagescope_report::waste::{CopyOut, FileOut, WasteReport};

/// The report and its rows: `(file, copy)` indexes into `report.files`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WasteList {
    pub report: Shared<WasteReport>,
    pub rows: Vec<(usize, usize)>,
}

impl WasteList {
    /// `layers`, once read, name the layers by their instructions and say which are the
    /// base image's; before, the layers go by number and the bottom one is the base (as
    /// `stagescope waste IMAGE` counts).
    pub fn new(title: &str, waste: &Waste, ix: &FsIndex, layers: Option<&LayerInfo>) -> Self {
        let (labels, base): (&[String], usize) = match layers {
            Some(l) => (&l.labels, l.base_layers),
            None => (&[], 1),
        };
        let report = WasteReport::of(title, waste, Some(ix), labels, base);
        let mut rows: Vec<(usize, usize)> = report
            .files
            .iter()
            .enumerate()
            .flat_map(|(f, file)| (0..file.copies.len()).map(move |c| (f, c)))
            .collect();
        // Stable: equal copies keep the report's order (the file's total, then its path).
        rows.sort_by_key(|&(f, c)| std::cmp::Reverse(report.files[f].copies[c].size));
        WasteList {
            report: Shared::new(report),
            rows,
        }
    }

    pub fn row(&self, n: usize) -> Option<(&FileOut, &CopyOut)> {
        let &(f, c) = self.rows.get(n)?;
        let file = self.report.files.get(f)?;
        Some((file, file.copies.get(c)?))
    }

    /// The path of row `n`, as the index spells it.
    pub fn raw_path(&self, n: usize) -> Option<&[u8]> {
        self.row(n).map(|(f, _)| f.raw_path.as_slice())
    }
}

/// How the pane says how a copy was hidden, in the report's words, short enough for a
/// column.
fn how(c: &CopyOut) -> &'static str {
    match c.how {
        "opaque directory" => "opaque dir",
        "directory replaced" => "dir replaced",
        other => other,
    }
}

fn label_width(w: u16) -> usize {
    match w {
        0..80 => 12,
        80..110 => 18,
        _ => 26,
    }
}

/// The instruction that made `layer`, or its number while the layers are being read.
fn made_by(label: &str, layer: u16, w: usize) -> String {
    let s = match label.lines().next() {
        Some(l) if !l.is_empty() => l.to_string(),
        _ => format!("layer {layer}"),
    };
    clip(&sanitize::text(&s, false), w)
}

/// The totals, a header, and the rows on screen.
pub(super) fn lines(list: &WasteList, selected: usize, area: Rect) -> Vec<Line<'static>> {
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let [total, user] = list.report.summary();
    let mut out = vec![Line::styled(total, bold), Line::raw(user)];
    let rows = usize::from(area.height.saturating_sub(3));
    let lw = label_width(area.width);
    out.push(Line::styled(
        format!(
            "{:>7} {:<12} {} {} PATH",
            "SIZE",
            "HOW",
            clip("WRITTEN BY", lw),
            clip("HIDDEN BY", lw)
        ),
        bold,
    ));
    if list.rows.is_empty() {
        out.push(Line::raw("  no file was hidden by a later layer"));
        return out;
    }
    let first = first_visible(selected, rows);
    for n in (first..list.rows.len()).take(rows) {
        let Some((file, c)) = list.row(n) else {
            continue;
        };
        let sel = selected_style(n == selected);
        let gone = file.visible.is_none();
        let path_style = if gone {
            sel.fg(Color::Red).add_modifier(Modifier::CROSSED_OUT)
        } else {
            sel
        };
        out.push(Line::from(vec![
            Span::styled(
                format!(
                    "{:>7} {:<12} {} {} ",
                    human_size(c.size),
                    how(c),
                    made_by(&c.written_by, c.layer, lw),
                    made_by(&c.hidden_by, c.hidden_by_layer, lw),
                ),
                sel,
            ),
            Span::styled(sanitize::text(&file.path, false), path_style),
        ]));
    }
    out
}
