//! `stagescope waste`: the bytes a later layer hid, per file and per instruction, the
//! efficiency, and dive's CI gates (`--lowest-efficiency`, `--highest-wasted-bytes`,
//! `--highest-user-wasted-percent`, a `.dive-ci` file) over them.

use std::io::{self, Write};

use serde::Serialize;
use stagescope_fs::FsIndex;
use stagescope_fs::format::human_size;
use stagescope_fs::waste::{HiddenCopy, Waste};

use crate::sanitize;

/// One layer of the report: what it stores, hid, and lost.
#[derive(Debug, Clone, Serialize)]
pub struct LayerWaste {
    pub layer: u16,
    /// The instruction (or history line) that made it.
    pub created_by: String,
    pub base: bool,
    pub stored_bytes: u64,
    /// Bytes of lower layers' copies this layer hid.
    pub hid_bytes: u64,
    /// Bytes of this layer's copies that later layers hid.
    pub lost_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CopyOut {
    pub layer: u16,
    pub size: u64,
    pub written_by: String,
    pub hidden_by_layer: u16,
    pub hidden_by: String,
    pub how: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Visible {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<u16>,
    pub size: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileOut {
    pub path: String,
    /// The path's own bytes (no leading `/`), for a front end that looks it up.
    #[serde(skip)]
    pub raw_path: Vec<u8>,
    pub wasted_bytes: u64,
    /// Every copy was written and hidden by the base image's own layers.
    pub base: bool,
    /// The copy the image shows, when the path is still there.
    pub visible: Option<Visible>,
    /// The hidden copies, lowest layer first.
    pub copies: Vec<CopyOut>,
}

/// The whole report, as `--format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct WasteReport {
    pub image: String,
    /// Bytes of every hidden copy, each counted once.
    pub wasted_bytes: u64,
    /// Share of the stored bytes still visible: `1 − wasted_bytes / stored_bytes`.
    pub efficiency: f64,
    /// `user_wasted_bytes / user_bytes`, a ratio 0..1 (named as dive names it).
    pub user_wasted_percent: f64,
    pub stored_bytes: u64,
    pub base_layers: usize,
    pub base_wasted_bytes: u64,
    pub user_wasted_bytes: u64,
    pub user_bytes: u64,
    pub layers: Vec<LayerWaste>,
    pub files: Vec<FileOut>,
}

impl WasteReport {
    /// `labels[i]`: what made layer `i`; `base_layers`: how many bottom layers are the base
    /// image's.
    pub fn of(
        image: &str,
        waste: &Waste,
        ix: Option<&FsIndex>,
        labels: &[String],
        base_layers: usize,
    ) -> WasteReport {
        let t = waste.totals(base_layers);
        let label = |l: u16| labels.get(usize::from(l)).cloned().unwrap_or_default();
        let copy = |h: &HiddenCopy| CopyOut {
            layer: h.layer,
            size: h.size,
            written_by: label(h.layer),
            hidden_by_layer: h.hidden_by,
            hidden_by: label(h.hidden_by),
            how: h.how.as_str(),
        };
        let hid = waste.hidden_by_layer();
        let lost = waste.lost_by_layer();
        WasteReport {
            image: image.to_string(),
            wasted_bytes: t.wasted_bytes,
            efficiency: t.efficiency,
            user_wasted_percent: t.user_wasted_ratio,
            stored_bytes: t.stored_bytes,
            base_layers,
            base_wasted_bytes: t.base_wasted_bytes,
            user_wasted_bytes: t.user_wasted_bytes,
            user_bytes: t.user_bytes,
            layers: waste
                .layer_bytes
                .iter()
                .enumerate()
                .map(|(i, &stored)| LayerWaste {
                    layer: u16::try_from(i).unwrap_or(u16::MAX),
                    created_by: labels.get(i).cloned().unwrap_or_default(),
                    base: i < base_layers,
                    stored_bytes: stored,
                    hid_bytes: hid[i],
                    lost_bytes: lost[i],
                })
                .collect(),
            files: waste
                .files(ix, base_layers)
                .into_iter()
                .map(|f| FileOut {
                    path: f.shown_path(),
                    raw_path: f.path.clone(),
                    wasted_bytes: f.wasted_bytes,
                    base: f.base,
                    visible: f.visible.map(|(layer, size)| Visible { layer, size }),
                    copies: f.copies.iter().map(copy).collect(),
                })
                .collect(),
        }
    }

    /// The totals in two lines, as the text report and the files pane word them: what was
    /// wasted and the efficiency, then the Dockerfile's share apart from the base image's.
    pub fn summary(&self) -> [String; 2] {
        [
            format!(
                "wasted: {} ({} bytes) of {} stored; efficiency {:.4}",
                human_size(self.wasted_bytes),
                self.wasted_bytes,
                human_size(self.stored_bytes),
                self.efficiency
            ),
            format!(
                "by the Dockerfile's instructions: {} ({:.4} of the {} they stored); by the base image's {} layer(s) alone: {}",
                human_size(self.user_wasted_bytes),
                self.user_wasted_percent,
                human_size(self.user_bytes),
                self.base_layers,
                human_size(self.base_wasted_bytes),
            ),
        ]
    }

    pub fn json(&self, out: &mut impl Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        writeln!(out)
    }

    /// The totals, the instructions that hid bytes, and the `top` most wasted files.
    pub fn text(&self, top: usize, out: &mut impl Write) -> io::Result<()> {
        let clean = |s: &str| sanitize::text(s, false);
        writeln!(out, "image: {}", clean(&self.image))?;
        let [total, user] = self.summary();
        writeln!(out, "{total}")?;
        writeln!(out, "  {user}")?;
        let hiders: Vec<&LayerWaste> = self.layers.iter().filter(|l| l.hid_bytes > 0).collect();
        if !hiders.is_empty() {
            writeln!(out, "\ninstructions that hid bytes of earlier layers:")?;
            for l in hiders {
                writeln!(
                    out,
                    "  layer {:>3}{} {:>10}  {}",
                    l.layer,
                    if l.base { " (base)" } else { "" },
                    human_size(l.hid_bytes),
                    clean(&one_line(&l.created_by, 100))
                )?;
            }
        }
        if self.files.is_empty() {
            writeln!(out, "\nno file was hidden by a later layer")?;
            return Ok(());
        }
        writeln!(out, "\nwasted copies, largest first:")?;
        for f in self.files.iter().take(top) {
            writeln!(
                out,
                "{:>10}  {}{}",
                human_size(f.wasted_bytes),
                clean(&f.path),
                if f.base { "  (base image)" } else { "" }
            )?;
            for c in &f.copies {
                writeln!(
                    out,
                    "            {} in layer {} ({}), {} by layer {} ({})",
                    human_size(c.size),
                    c.layer,
                    clean(&one_line(&c.written_by, 50)),
                    c.how,
                    c.hidden_by_layer,
                    clean(&one_line(&c.hidden_by, 50)),
                )?;
            }
        }
        if self.files.len() > top {
            writeln!(
                out,
                "… {} more files (--format json lists them all)",
                self.files.len() - top
            )?;
        }
        Ok(())
    }
}

/// The first line of `s`, at most `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > max {
        let mut t: String = line.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    } else if line.is_empty() {
        "-".to_string()
    } else {
        line.to_string()
    }
}

/// dive's CI rules. `None`: the rule is not checked (dive's "disabled").
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Gates {
    pub lowest_efficiency: Option<f64>,
    pub highest_wasted_bytes: Option<u64>,
    pub highest_user_wasted_percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct GateError(pub String);

/// A rule's value that dive reads as "do not check" (`disabled`, `off`, `false`, empty).
fn disabled(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "" | "disabled" | "off" | "false"
    )
}

/// A ratio 0..1 as dive reads `lowestEfficiency` and `highestUserWastedPercent`.
pub fn parse_ratio(key: &str, v: &str) -> Result<Option<f64>, GateError> {
    if disabled(v) {
        return Ok(None);
    }
    let f: f64 = v
        .trim()
        .parse()
        .map_err(|_| GateError(format!("{key}: {v:?} is not a number (a ratio 0..1)")))?;
    if !(0.0..=1.0).contains(&f) {
        return Err(GateError(format!(
            "{key}: {v} is outside 0..1 (a ratio, as dive reads it: 0.1 means 10%)"
        )));
    }
    Ok(Some(f))
}

/// A byte count as dive reads `highestWastedBytes` (go-humanize's ParseBytes): a number
/// with an optional unit, `kB`/`MB`/`GB`… powers of 1000 and `KiB`/`MiB`/`GiB`… powers of
/// 1024, case-insensitive, `B` optional (`20M` is `20MB`); `disabled` turns the rule off.
pub fn parse_bytes(key: &str, v: &str) -> Result<Option<u64>, GateError> {
    if disabled(v) {
        return Ok(None);
    }
    let bad = || {
        GateError(format!(
            "{key}: {v:?} is not a size (bytes, or 20MB, 1.5GiB…)"
        ))
    };
    let s = v.trim().replace(',', "");
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let num: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.strip_suffix('b').unwrap_or(&unit);
    let mult: f64 = match unit {
        "" => 1.0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "t" => 1e12,
        "p" => 1e15,
        "e" => 1e18,
        "ki" => 1024f64,
        "mi" => 1024f64.powi(2),
        "gi" => 1024f64.powi(3),
        "ti" => 1024f64.powi(4),
        "pi" => 1024f64.powi(5),
        "ei" => 1024f64.powi(6),
        _ => return Err(bad()),
    };
    let n = num * mult;
    if !n.is_finite() || n < 0.0 || n > u64::MAX as f64 {
        return Err(bad());
    }
    Ok(Some(n as u64))
}

/// The `rules:` of a `.dive-ci` file, as dive reads it.
#[derive(serde::Deserialize, Default)]
struct DiveCiFile {
    #[serde(default)]
    rules: Option<DiveCiRules>,
}

#[derive(serde::Deserialize, Default)]
struct DiveCiRules {
    #[serde(rename = "lowestEfficiency", alias = "lowest-efficiency", default)]
    lowest_efficiency: Option<serde_norway::Value>,
    #[serde(rename = "highestWastedBytes", alias = "highest-wasted-bytes", default)]
    highest_wasted_bytes: Option<serde_norway::Value>,
    #[serde(
        rename = "highestUserWastedPercent",
        alias = "highest-user-wasted-percent",
        default
    )]
    highest_user_wasted_percent: Option<serde_norway::Value>,
}

/// A YAML scalar as the text dive would read it (`0.95`, `20MB`, `disabled`).
fn scalar(key: &str, v: &serde_norway::Value) -> Result<String, GateError> {
    use serde_norway::Value as V;
    match v {
        V::Null => Ok(String::new()),
        V::Bool(b) => Ok(b.to_string()),
        V::Number(n) => Ok(n.to_string()),
        V::String(s) => Ok(s.clone()),
        _ => Err(GateError(format!("{key}: not a single value"))),
    }
}

impl Gates {
    /// dive's defaults for a key a `.dive-ci` leaves out: `lowestEfficiency: 0.9`,
    /// `highestWastedBytes: disabled`, `highestUserWastedPercent: 0.1`.
    pub const DIVE_DEFAULTS: Gates = Gates {
        lowest_efficiency: Some(0.9),
        highest_wasted_bytes: None,
        highest_user_wasted_percent: Some(0.1),
    };

    /// Reads a `.dive-ci` file's text: `rules:` with dive's three keys (camelCase, or the
    /// kebab-case newer dive writes); a key left out keeps dive's default.
    pub fn from_dive_ci(text: &str) -> Result<Gates, GateError> {
        let file: DiveCiFile = if text.trim().is_empty() {
            DiveCiFile::default()
        } else {
            serde_norway::from_str(text).map_err(|e| GateError(format!("not a .dive-ci: {e}")))?
        };
        let mut g = Gates::DIVE_DEFAULTS;
        let Some(r) = file.rules else {
            return Ok(g);
        };
        if let Some(v) = &r.lowest_efficiency {
            g.lowest_efficiency = parse_ratio("lowestEfficiency", &scalar("lowestEfficiency", v)?)?;
        }
        if let Some(v) = &r.highest_wasted_bytes {
            g.highest_wasted_bytes =
                parse_bytes("highestWastedBytes", &scalar("highestWastedBytes", v)?)?;
        }
        if let Some(v) = &r.highest_user_wasted_percent {
            let key = "highestUserWastedPercent";
            g.highest_user_wasted_percent = parse_ratio(key, &scalar(key, v)?)?;
        }
        Ok(g)
    }

    pub fn is_empty(&self) -> bool {
        *self == Gates::default()
    }

    /// One line per failed rule (dive's wording, with our numbers); empty when all pass.
    pub fn check(&self, r: &WasteReport) -> Vec<String> {
        let mut failed = Vec::new();
        if let Some(t) = self.lowest_efficiency
            && r.efficiency < t
        {
            failed.push(format!(
                "lowestEfficiency: image efficiency is too low (efficiency={:.4} < threshold={t})",
                r.efficiency
            ));
        }
        if let Some(t) = self.highest_wasted_bytes
            && r.wasted_bytes > t
        {
            failed.push(format!(
                "highestWastedBytes: too many bytes wasted (wasted-bytes={} > threshold={t})",
                r.wasted_bytes
            ));
        }
        if let Some(t) = self.highest_user_wasted_percent
            && r.user_wasted_percent > t
        {
            failed.push(format!(
                "highestUserWastedPercent: too many bytes wasted, relative to the user bytes added (user-wasted={:.4} > threshold={t})",
                r.user_wasted_percent
            ));
        }
        failed
    }
}

#[cfg(test)]
#[path = "waste_tests.rs"]
mod tests;
