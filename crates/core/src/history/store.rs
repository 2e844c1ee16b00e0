//! Where runs are kept: `$XDG_STATE_HOME/stagescope/runs` (else
//! `~/.local/state/stagescope/runs`), one directory per build context, one JSON file per
//! run named so that names sort by start time. Bounded: the oldest runs of a context go
//! beyond [`KEEP_PER_CONTEXT`].

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::record::RunRecord;

pub(crate) const KEEP_PER_CONTEXT: usize = 50;

/// The runs of one place: a store rooted at a runs directory.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

/// A run on disk, known by its file name before it is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    pub id: String,
    pub started_unix_ms: u64,
    /// Of the Dockerfile, to tell runs of different Dockerfiles of one context apart.
    pub dockerfile_key: String,
}

fn key(p: &Path) -> String {
    let d = Sha256::digest(p.as_os_str().as_encoded_bytes());
    hex::encode(&d[..8])
}

impl Store {
    pub fn new(root: PathBuf) -> Store {
        Store { root }
    }

    /// The user's store; none when `STAGESCOPE_NO_HISTORY` is set (non-empty).
    pub fn user() -> Option<Store> {
        if std::env::var_os("STAGESCOPE_NO_HISTORY").is_some_and(|v| !v.is_empty()) {
            return None;
        }
        Some(Store::new(stagescope_fs::dirs::state_dir()?.join("runs")))
    }

    fn context_dir(&self, context: &Path) -> PathBuf {
        let canon = std::fs::canonicalize(context).unwrap_or_else(|_| context.to_path_buf());
        self.root.join(key(&canon))
    }

    /// Writes `rec` and drops the context's oldest runs beyond the bound. Returns its path.
    pub fn save(&self, rec: &RunRecord) -> std::io::Result<PathBuf> {
        let dir = self.context_dir(&rec.context);
        std::fs::create_dir_all(&dir)?;
        let name = format!(
            "{:015}-{}-{}.json",
            rec.started_unix_ms,
            key(&rec.dockerfile),
            sanitize_id(&rec.id)
        );
        let path = dir.join(name);
        let text = serde_json::to_vec(rec).map_err(std::io::Error::other)?;
        stagescope_fs::cache::write_atomic(&path, &text)?;
        let runs = self.list(&rec.context);
        if runs.len() > KEEP_PER_CONTEXT {
            for old in &runs[..runs.len() - KEEP_PER_CONTEXT] {
                let _ = std::fs::remove_file(&old.path);
            }
        }
        Ok(path)
    }

    /// The runs of `context`, oldest first.
    pub fn list(&self, context: &Path) -> Vec<Entry> {
        let dir = self.context_dir(context);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut out: Vec<Entry> = rd
            .filter_map(Result::ok)
            .filter_map(|e| parse_name(&e.path()))
            .collect();
        out.sort_by(|a, b| (a.started_unix_ms, &a.id).cmp(&(b.started_unix_ms, &b.id)));
        out
    }

    /// The runs of `context` with this Dockerfile, newest first, read (unreadable ones
    /// skipped), at most `n`.
    pub fn previous(&self, context: &Path, dockerfile: &Path, n: usize) -> Vec<RunRecord> {
        let dkey = key(dockerfile);
        self.list(context)
            .into_iter()
            .rev()
            .filter(|e| e.dockerfile_key == dkey)
            .filter_map(|e| load(&e.path).ok())
            .take(n)
            .collect()
    }

    /// A run of `context` by id (or a unique prefix of one).
    pub fn find(&self, context: &Path, id: &str) -> Result<Entry, String> {
        let hits: Vec<Entry> = self
            .list(context)
            .into_iter()
            .filter(|e| e.id.starts_with(id))
            .collect();
        match hits.len() {
            1 => Ok(hits.into_iter().next().expect("one")),
            0 => Err(format!(
                "no recorded run {id} for {} (see `stagescope history`)",
                shown(context)
            )),
            n => Err(format!(
                "{n} recorded runs start with {id}: give more of the id"
            )),
        }
    }
}

/// The context as messages name it: its full path when it exists.
pub fn shown(context: &Path) -> String {
    std::fs::canonicalize(context)
        .unwrap_or_else(|_| context.to_path_buf())
        .display()
        .to_string()
}

fn sanitize_id(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(40)
        .collect()
}

fn parse_name(path: &Path) -> Option<Entry> {
    let name = path.file_name()?.to_str()?.strip_suffix(".json")?;
    let mut parts = name.splitn(3, '-');
    let started_unix_ms = parts.next()?.parse().ok()?;
    let dockerfile_key = parts.next()?.to_string();
    let id = parts.next()?.to_string();
    Some(Entry {
        path: path.to_path_buf(),
        id,
        started_unix_ms,
        dockerfile_key,
    })
}

/// Reads one record file.
pub fn load(path: &Path) -> Result<RunRecord, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    RunRecord::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes a record to a file the user named (`--record FILE`).
pub(crate) fn write_file(rec: &RunRecord, path: &Path) -> std::io::Result<()> {
    let text = serde_json::to_vec_pretty(rec).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}
