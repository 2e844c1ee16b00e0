//! The numbers an explanation quotes when a build ran: what each instruction's layer wrote
//! and deleted, each stage's size, and what of it reaches the final image. Computed here from
//! plain data (an image's layers, filesystem indexes, the build state) so that explanations
//! read the same with and without a build: the numbers are an optional input.

use std::collections::{BTreeSet, HashMap, HashSet};

use stagescope_fs::layers::{ImageLayers, Layer};
use stagescope_fs::provenance::{CopySource, Inputs, Origin, Provenance, ReleaseModel};
use stagescope_fs::waste::{HiddenCopy, How, Waste};
use stagescope_fs::{FsIndex, Kind, escape};
use stagescope_plan::added_by::map_layers;
use stagescope_plan::plan::BuildPlan;
use stagescope_plan::state::StageState;

/// How many of the largest paths an instruction or a stage quotes.
pub const LARGEST: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PathSize {
    /// Absolute, with bytes that are not UTF-8 escaped (`\xNN`).
    pub path: String,
    pub bytes: u64,
}

/// What one instruction did in a build.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct InstructionNumbers {
    /// Files (not directories) its layer wrote that were not in the stage before.
    pub added: u64,
    /// Files its layer wrote over ones already there.
    pub changed: u64,
    /// Paths its layer deleted (whiteouts).
    pub removed: u64,
    /// Bytes of the files it wrote.
    pub bytes: u64,
    pub largest: Vec<PathSize>,
    /// Its layer, counted from the bottom of the stage's image; `None`: it made none.
    pub layer: Option<usize>,
    /// Served from the build cache (`None`: the build did not say).
    pub cached: Option<bool>,
    /// Not from the cache, and nothing to do either (a FROM of an image already there, an
    /// ARG, ENV…): it did not run.
    pub no_work: bool,
    pub duration_ms: Option<u64>,
    /// What its layer hid of files earlier layers wrote (absent when it hid nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waste: Option<InstructionWaste>,
}

/// The copies of files written by earlier layers that one instruction's layer hid: bytes
/// the image still carries and nobody can see (counted by [`Waste`], each copy once).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct InstructionWaste {
    /// Bytes of the hidden copies.
    pub bytes: u64,
    /// Hidden copies, one per path.
    pub files: u64,
    /// Of those, how many it deleted (a whiteout, an opaque or replaced directory) and how
    /// many it wrote over.
    pub deleted: u64,
    pub overwritten: u64,
    pub largest: Vec<PathSize>,
}

/// Files of a source stage that one `COPY --from` line brought into the final image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyReach {
    pub line: usize,
    pub text: String,
    pub files: u64,
    pub bytes: u64,
}

/// What of a stage reaches the final image, and what stays behind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reach {
    pub files: u64,
    pub bytes: u64,
    /// Per `COPY --from` line of the final stage that reads this stage.
    pub via: Vec<CopyReach>,
    /// Files of the stage that are not in the final image (neither copied nor, identical,
    /// from the final stage's own base).
    pub left_files: u64,
    pub left_bytes: u64,
    pub left_largest: Vec<PathSize>,
}

/// One stage's numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StageNumbers {
    /// Files (not directories) and their bytes in the stage's image.
    pub files: u64,
    pub bytes: u64,
    /// Per instruction, the FROM being 0 (as in [`BuildPlan`]).
    pub instructions: Vec<InstructionNumbers>,
    /// For a stage the final stage copies from.
    pub reach: Option<Reach>,
}

/// A whole build's numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct BuildNumbers {
    /// Per stage; `None` for a stage the build did not make.
    pub stages: Vec<Option<StageNumbers>>,
    /// Stage indexes, from the first to the target: the chain that decided the total time.
    pub critical_path: Vec<usize>,
    pub duration_ms: Option<u64>,
}

impl BuildNumbers {
    pub fn stage(&self, i: usize) -> Option<&StageNumbers> {
        self.stages.get(i).and_then(Option::as_ref)
    }

    pub fn instruction(&self, stage: usize, k: usize) -> Option<&InstructionNumbers> {
        self.stage(stage).and_then(|s| s.instructions.get(k))
    }
}

/// `/a 1.2M, /b 40K`: paths with their sizes, for one line.
pub fn sizes_line(v: &[PathSize]) -> String {
    v.iter()
        .map(|p| format!("{} {}", p.path, stagescope_fs::format::human_size(p.bytes)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn shown(path: &[u8]) -> String {
    format!("/{}", escape(path))
}

fn largest(mut v: Vec<PathSize>, n: usize) -> Vec<PathSize> {
    v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.path.cmp(&b.path)));
    v.truncate(n);
    v
}

/// Files (not directories) of an index and their bytes.
pub fn totals(ix: &FsIndex) -> (u64, u64) {
    ix.entries()
        .filter(|e| e.kind() != Kind::Dir)
        .fold((0, 0), |(n, b), e| (n + 1, b + e.size()))
}

/// Paths present after the layers applied so far: whiteouts and opaque directories remove
/// what is below them.
#[derive(Default)]
struct Present(BTreeSet<Vec<u8>>);

impl Present {
    fn remove_under(&mut self, dir: &[u8], with_dir: bool) {
        let mut prefix = dir.to_vec();
        if with_dir {
            self.0.remove(dir);
        }
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        let gone: Vec<Vec<u8>> = self
            .0
            .range(prefix.clone()..)
            .take_while(|p| p.starts_with(&prefix))
            .cloned()
            .collect();
        for p in gone {
            self.0.remove(&p);
        }
    }

    /// Counts what `layer` did against what is present, then applies it.
    fn apply(&mut self, layer: &Layer) -> InstructionNumbers {
        for d in &layer.deleted {
            self.remove_under(d, true);
        }
        for d in &layer.opaque {
            self.remove_under(d, false);
        }
        let mut n = InstructionNumbers {
            removed: layer.deleted.len() as u64,
            ..InstructionNumbers::default()
        };
        let mut files = Vec::new();
        for (i, p) in layer.added.iter().enumerate() {
            let Some(size) = layer.sizes.get(i).copied().unwrap_or(Some(0)) else {
                continue;
            };
            if self.0.contains(p) {
                n.changed += 1;
            } else {
                n.added += 1;
            }
            n.bytes += size;
            files.push(PathSize {
                path: shown(p),
                bytes: size,
            });
        }
        self.0.extend(layer.added.iter().cloned());
        n.largest = largest(files, LARGEST);
        n
    }
}

/// Per instruction of `stage` (the FROM being 0), what its layer in `layers` (the layers of
/// the stage's image) did. Instructions without a layer get zeros and `layer: None`.
pub fn from_layers(
    plan: &BuildPlan,
    stage: usize,
    layers: &ImageLayers,
) -> Vec<InstructionNumbers> {
    let last = plan
        .stages
        .get(stage)
        .map_or(0, |s| s.instructions.len().saturating_sub(1));
    from_state_layers(plan, stage, last, layers)
}

/// [`from_layers`] for the state right after instruction `upto` (a tour's or a breakpoint's
/// pause): the image's layers end there.
pub(crate) fn from_state_layers(
    plan: &BuildPlan,
    stage: usize,
    upto: usize,
    layers: &ImageLayers,
) -> Vec<InstructionNumbers> {
    let count = plan.stages.get(stage).map_or(0, |s| s.instructions.len());
    let mut out = vec![InstructionNumbers::default(); count];
    let origins = map_layers(plan, stage, upto, layers);
    let mut present = Present::default();
    for (li, (layer, origin)) in layers.layers.iter().zip(&origins).enumerate() {
        let n = present.apply(layer);
        if let Some(o) = origin
            && o.stage_index == stage
            && let Some(slot) = out.get_mut(o.instruction)
        {
            *slot = InstructionNumbers {
                layer: Some(li),
                ..n
            };
        }
    }
    out
}

/// Adds to each instruction that made a layer what that layer hid of earlier layers'
/// files, from `waste` (the stage's image's, counted when it was opened). Instructions that
/// hid nothing keep `waste: None`.
pub fn with_waste(numbers: &mut [InstructionNumbers], waste: &Waste) {
    let mut by_layer: HashMap<usize, Vec<&HiddenCopy>> = HashMap::new();
    for h in &waste.hidden {
        by_layer
            .entry(usize::from(h.hidden_by))
            .or_default()
            .push(h);
    }
    for n in numbers.iter_mut() {
        let Some(copies) = n.layer.and_then(|l| by_layer.get(&l)) else {
            continue;
        };
        let overwritten = copies.iter().filter(|h| h.how == How::Overwritten).count() as u64;
        let paths = copies
            .iter()
            .map(|h| PathSize {
                path: shown(&h.path),
                bytes: h.size,
            })
            .collect();
        n.waste = Some(InstructionWaste {
            bytes: copies.iter().map(|h| h.size).sum(),
            files: copies.len() as u64,
            deleted: copies.len() as u64 - overwritten,
            overwritten,
            largest: largest(paths, LARGEST),
        });
    }
}

/// Adds what the build said of each instruction: cached, duration.
pub fn with_state(numbers: &mut [InstructionNumbers], state: &StageState) {
    for (n, s) in numbers.iter_mut().zip(&state.instructions) {
        n.duration_ms = s.duration_ms;
        n.cached = s.duration_ms.map(|_| s.cached);
        n.no_work = s.no_work;
    }
}

/// For every stage the final stage (`model`, indexed as `release`) copies from (indexed in
/// `sources`): what of it reaches the final image, through which line, and what stays behind.
pub fn reach(
    model: &ReleaseModel,
    release: &FsIndex,
    sources: &[(usize, &FsIndex)],
) -> Vec<(usize, Reach)> {
    let inputs = Inputs {
        stages: sources,
        base: None,
    };
    let prov = Provenance::attribute(model, release, &inputs);
    let mut per_step: HashMap<usize, (u64, u64)> = HashMap::new();
    let mut reached: HashMap<usize, HashSet<u32>> = HashMap::new();
    for e in release.entries().filter(|e| e.kind() != Kind::Dir) {
        let Origin::Copy { step, source, .. } = prov.of(e.id) else {
            continue;
        };
        let Some(CopySource::Stage(s)) = model.copies.get(step).map(|c| &c.from) else {
            continue;
        };
        let t = per_step.entry(step).or_default();
        t.0 += 1;
        t.1 += e.size();
        if let Some(id) = source {
            reached.entry(*s).or_default().insert(id);
        }
    }
    sources
        .iter()
        .map(|&(s, ix)| {
            let mut r = Reach::default();
            for (k, c) in model.copies.iter().enumerate() {
                if c.from != CopySource::Stage(s) {
                    continue;
                }
                let (files, bytes) = per_step.get(&k).copied().unwrap_or_default();
                r.files += files;
                r.bytes += bytes;
                r.via.push(CopyReach {
                    line: c.line,
                    text: c.text.clone(),
                    files,
                    bytes,
                });
            }
            let copied = reached.remove(&s).unwrap_or_default();
            let mut left = Vec::new();
            for e in ix.entries().filter(|e| e.kind() != Kind::Dir) {
                let in_release = release.lookup(e.path()).is_some_and(|id| {
                    let f = release.get(id);
                    f.kind() == e.kind() && f.size() == e.size() && f.hash() == e.hash()
                });
                if copied.contains(&e.id) || in_release {
                    continue;
                }
                r.left_files += 1;
                r.left_bytes += e.size();
                left.push(PathSize {
                    path: shown(e.path()),
                    bytes: e.size(),
                });
            }
            r.left_largest = largest(left, 5);
            (s, r)
        })
        .collect()
}
