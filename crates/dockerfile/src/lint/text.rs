//! What the checks read from the text rather than the model: the comments right above an
//! instruction (BuildKit's `Node.PrevComment`), the command word as written, and empty
//! continuation lines (`parser.Parse`'s warnings).

use std::collections::BTreeSet;

use super::super::Dockerfile;
use super::{Config, Sink, rules};

/// The source as BuildKit's scanner sees it, with the first line of every instruction.
pub(super) struct Source<'a> {
    lines: Vec<&'a str>,
    directives: BTreeSet<usize>,
    escape: char,
    /// First lines of all instructions (global ARGs included), ascending.
    starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(super) fn new(df: &'a Dockerfile) -> Self {
        let lines = df
            .source()
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        let mut starts: Vec<usize> = df.global_args.iter().map(|a| a.line).collect();
        for st in &df.stages {
            starts.push(st.from.line);
            starts.extend(st.instructions.iter().map(|i| i.line));
        }
        starts.sort_unstable();
        starts.dedup();
        Source {
            lines,
            directives: df.directives.iter().map(|d| d.line).collect(),
            escape: df.escape,
            starts,
        }
    }

    fn line(&self, n: usize) -> &'a str {
        n.checked_sub(1)
            .and_then(|i| self.lines.get(i))
            .copied()
            .unwrap_or_default()
    }

    /// The instruction word at the start of line `n`, as written.
    pub(super) fn command(&self, n: usize) -> &'a str {
        self.line(n).split_whitespace().next().unwrap_or_default()
    }

    /// Comments between the previous instruction and line `n`, from after the last empty
    /// `#`, directives left out, `#` dropped and trimmed (BuildKit keeps the text after the
    /// first character of a comment line, trimmed).
    pub(super) fn comments(&self, n: usize) -> Vec<String> {
        let mut found = Vec::new();
        let mut i = n;
        while i > 1 {
            i -= 1;
            let raw = self.line(i);
            let t = raw.trim_start_matches([' ', '\t']);
            if t.is_empty() || self.directives.contains(&i) {
                continue;
            }
            if !t.starts_with('#') {
                break;
            }
            let text = raw.get(1..).unwrap_or_default().trim().to_string();
            if text.is_empty() {
                break;
            }
            found.push(text);
        }
        found.reverse();
        found
    }

    fn continues(&self, line: &str) -> bool {
        line.trim_end_matches([' ', '\t']).ends_with(self.escape)
    }
}

/// NoEmptyContinuation: a blank line inside an instruction's continuation, reported on the
/// instruction's last line.
pub(super) fn empty_continuations(src: &Source<'_>, cfg: &Config, sink: &mut Sink) {
    for &start in &src.starts {
        let mut n = start;
        let mut empty = false;
        let mut more = src.continues(src.line(n));
        while more && n < src.lines.len() {
            n += 1;
            let l = src.line(n);
            let t = l.trim_start_matches([' ', '\t']);
            if t.starts_with('#') {
                continue;
            }
            if t.trim_end_matches([' ', '\t']).is_empty() {
                empty = true;
                continue;
            }
            more = src.continues(l);
        }
        if empty {
            let detail = "Empty continuation line".to_string();
            sink.run(cfg, &rules::NO_EMPTY_CONTINUATION, n, detail);
        }
    }
}
