//! One comparison of two filesystems: what changed, what the rules find on the `to` side,
//! and (when the Dockerfile is known) which instruction brought each release path. The TUI's
//! diff view and `stagescope diff` both start from this, so they cannot disagree.

use super::FsIndex;
use super::diff::Diff;
use super::provenance::{Inputs, Provenance, ReleaseModel};
use super::rules::{Finding, RuleSet};

#[derive(Debug, Clone)]
pub struct Comparison {
    pub from_label: String,
    pub to_label: String,
    pub left: FsIndex,
    pub right: FsIndex,
    pub diff: Diff,
    pub findings: Vec<Finding>,
    pub origins: Option<(ReleaseModel, Provenance)>,
}

impl Comparison {
    /// Compares `left` (from) with `right` (to), scans `right` with `rules` and, given the
    /// release's model and its inputs, attributes its paths. Linear in the entries, plus the
    /// rules.
    pub fn compute(
        (from_label, left): (&str, FsIndex),
        (to_label, right): (&str, FsIndex),
        rules: &RuleSet,
        attribution: Option<(ReleaseModel, Inputs<'_>)>,
    ) -> Comparison {
        let diff = Diff::compute(&left, &right);
        let findings = rules.scan(&right);
        let origins = attribution.map(|(model, inputs)| {
            let p = Provenance::attribute(&model, &right, &inputs);
            (model, p)
        });
        Comparison {
            from_label: from_label.to_string(),
            to_label: to_label.to_string(),
            left,
            right,
            diff,
            findings,
            origins,
        }
    }
}
