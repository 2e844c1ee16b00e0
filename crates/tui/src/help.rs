//! What `?` lists: the key tables of where it was pressed, in the order the help draws them.

use crate::keymap::{BUILD, HELP_VIEW, OVERLAY, PANES, SLOWEST, TIMELINE};
use crate::keys::KeyRow;
use crate::model::Model;

/// One line of the help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HelpLine {
    /// Where the keys below it work.
    Title(&'static str),
    Keys {
        keys: &'static str,
        help: &'static str,
    },
}

/// The mouse has no key table: its line is said here, after the build screen's keys.
const MOUSE: HelpLine = HelpLine::Keys {
    keys: "mouse",
    help: "click to select, wheel to scroll",
};

/// The files pane lists its own keys; everywhere else the build screen's come first, then
/// those of what opens over it.
pub(crate) fn lines(m: &Model) -> Vec<HelpLine> {
    let mut out = Vec::new();
    if m.files.is_some() {
        section(&mut out, None, PANES);
        section(&mut out, None, crate::files::keys::FILES);
        return out;
    }
    section(&mut out, None, BUILD);
    out.push(MOUSE);
    section(&mut out, Some("in this help"), HELP_VIEW);
    section(&mut out, Some("in the slowest list (S)"), SLOWEST);
    section(&mut out, Some("in the timeline (t)"), TIMELINE);
    section(
        &mut out,
        Some("over the screen (help, S, t, errors)"),
        OVERLAY,
    );
    section(
        &mut out,
        Some("in the diff view (d)"),
        crate::diff::keys::DIFF,
    );
    out
}

fn section<A, S>(out: &mut Vec<HelpLine>, title: Option<&'static str>, rows: &[KeyRow<A, S>]) {
    out.extend(title.map(HelpLine::Title));
    out.extend(rows.iter().map(|r| HelpLine::Keys {
        keys: r.keys,
        help: r.help,
    }));
}
