//! What the daemon has asked of one context before, so that every solve keeps the daemon's
//! copy whole.
//!
//! BuildKit keeps one copy of a local source per shared key (`context:<hint>:<session shared
//! key>`), and fsutil's receiver deletes from that copy whatever the sender does not list.
//! Each solve asks with its own include patterns (the Dockerfile frontend's `followpaths`,
//! the COPY sources the target needs), so the build's solve and a stage image's solve, each
//! with its own set, would take turns deleting what the other needs — and send it again on
//! every run. The session therefore offers every solve the union of the sets this context's
//! solves asked for lately: the daemon's copy then holds all of them, and a warm run sends no
//! file contents. The sets are kept on disk beside the layer cache, most recent first.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// How many distinct sets are kept: a set no solve asked for in that many newer ones is
/// dropped (its files leave the daemon's copy at the next sync).
const KEEP: usize = 16;

/// One solve's include patterns and follow paths. Both empty: the whole directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub(super) struct PatternSet {
    pub includes: Vec<String>,
    pub follow: Vec<String>,
}

impl PatternSet {
    pub(super) fn is_everything(&self) -> bool {
        self.includes.is_empty() && self.follow.is_empty()
    }

    /// The frontend reading the `.dockerignore` (BuildKit keeps that read in a copy of its
    /// own, under another shared key hint): no solve's files belong in it.
    pub(super) fn only_dockerignore(&self) -> bool {
        !self.is_everything()
            && self
                .includes
                .iter()
                .chain(&self.follow)
                .all(|p| p.trim_start_matches('/').ends_with(".dockerignore") && !p.contains('/'))
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Stored {
    sets: Vec<PatternSet>,
}

/// The sets one context's solves asked for, most recent first.
#[derive(Debug, Default)]
pub(super) struct SyncMemory {
    path: Option<PathBuf>,
    sets: Vec<PatternSet>,
}

impl SyncMemory {
    /// The memory of the context whose session shared key is `key` (None: keep nothing).
    pub(super) fn load(key: &str) -> Self {
        let path =
            stagescope_fs::dirs::cache_dir().map(|d| d.join("sync").join(format!("{key}.json")));
        let sets = path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<Stored>(&b).ok())
            .map(|s| s.sets)
            .unwrap_or_default();
        SyncMemory { path, sets }
    }

    /// Notes that a solve asked for `asked` and returns what to offer it: `asked` with every
    /// set asked for lately (all of it when one of them is the whole directory).
    pub(super) fn offer(&mut self, asked: PatternSet) -> PatternSet {
        if asked.only_dockerignore() {
            return asked;
        }
        self.sets.retain(|s| *s != asked);
        self.sets.insert(0, asked);
        self.sets.truncate(KEEP);
        self.save();
        union(&self.sets)
    }

    /// Best effort: a cache directory that cannot be written costs a resend, never a build.
    fn save(&self) {
        let Some(path) = &self.path else { return };
        let stored = Stored {
            sets: self.sets.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&stored) {
            let _ = stagescope_fs::cache::write_atomic(path, &bytes);
        }
    }
}

/// The sets' patterns together; the whole directory when any set is.
pub(super) fn union(sets: &[PatternSet]) -> PatternSet {
    if sets.iter().any(PatternSet::is_everything) {
        return PatternSet::default();
    }
    let mut out = PatternSet::default();
    for s in sets {
        for i in &s.includes {
            if !out.includes.contains(i) {
                out.includes.push(i.clone());
            }
        }
        for f in &s.follow {
            if !out.follow.contains(f) {
                out.follow.push(f.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(includes: &[&str], follow: &[&str]) -> PatternSet {
        PatternSet {
            includes: includes.iter().map(|s| s.to_string()).collect(),
            follow: follow.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn every_set_asked_lately_is_offered() {
        let mut m = SyncMemory::default();
        assert_eq!(m.offer(set(&[], &["a"])), set(&[], &["a"]));
        assert_eq!(m.offer(set(&[], &["b"])), set(&[], &["b", "a"]));
        // Asked again: nothing new, the order of recency changes.
        assert_eq!(m.offer(set(&[], &["a"])), set(&[], &["a", "b"]));
    }

    #[test]
    fn a_set_of_everything_offers_everything() {
        let mut m = SyncMemory::default();
        m.offer(set(&["x"], &[]));
        assert!(m.offer(PatternSet::default()).is_everything());
        assert!(m.offer(set(&["y"], &[])).is_everything());
    }

    #[test]
    fn reading_the_dockerignore_is_served_as_asked_and_not_remembered() {
        let mut m = SyncMemory::default();
        m.offer(PatternSet::default());
        let ignore = set(&[], &[".dockerignore"]);
        assert_eq!(m.offer(ignore.clone()), ignore);
        assert_eq!(m.sets, vec![PatternSet::default()]);
    }

    #[test]
    fn old_sets_are_forgotten() {
        let mut m = SyncMemory::default();
        for i in 0..KEEP + 3 {
            m.offer(set(&[], &[&format!("f{i}")]));
        }
        let offered = m.offer(set(&[], &["last"]));
        assert_eq!(offered.follow.len(), KEEP);
        assert!(!offered.follow.contains(&"f0".to_string()));
    }

    #[test]
    fn the_memory_survives_the_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sync").join("k.json");
        let mut m = SyncMemory {
            path: Some(path.clone()),
            sets: Vec::new(),
        };
        m.offer(set(&[], &["a"]));
        let again = SyncMemory {
            path: Some(path.clone()),
            sets: serde_json::from_slice::<Stored>(&std::fs::read(&path).expect("saved"))
                .expect("json")
                .sets,
        };
        assert_eq!(again.sets, vec![set(&[], &["a"])]);
    }
}
