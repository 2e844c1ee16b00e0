//! What a classic build made that carries neither our label nor our tag: the intermediate
//! image of each instruction it ran. Written as they appear, one id a line, under
//! `$XDG_CACHE_HOME/stagescope/runs/<build-id>`, so that a run that could not clean up
//! after itself (killed with SIGKILL, or the engine gone mid-build) leaves a note
//! `stagescope clean` reads. A run that ends on its own deletes its note.

use std::io::Write;
use std::path::PathBuf;

use stagescope_plan::BuildEvent;

/// The note of one run. Best effort: a cache directory that cannot be written costs only
/// the note, never the build.
#[derive(Debug)]
pub(crate) struct Journal {
    path: Option<PathBuf>,
    /// Instructions finished uncached whose image has not been seen yet.
    fresh: Vec<(usize, usize)>,
}

fn runs_dir() -> Option<PathBuf> {
    Some(stagescope_fs::dirs::cache_dir()?.join("runs"))
}

/// Build ids are our own hex; anything else is no file name of ours.
fn valid(build_id: &str) -> bool {
    !build_id.is_empty() && build_id.chars().all(|c| c.is_ascii_alphanumeric())
}

impl Journal {
    pub(crate) fn new(build_id: &str) -> Self {
        Journal {
            path: runs_dir()
                .filter(|_| valid(build_id))
                .map(|d| d.join(build_id)),
            fresh: Vec::new(),
        }
    }

    /// Notes the images of instructions that ran (not served from cache); a FROM's image
    /// is the base, never ours.
    pub(crate) fn note(&mut self, events: &[BuildEvent]) {
        for ev in events {
            match ev {
                BuildEvent::InstructionFinished {
                    stage,
                    instruction,
                    cached: false,
                    ..
                } if *instruction > 0 => self.fresh.push((*stage, *instruction)),
                BuildEvent::StateImage {
                    stage,
                    instruction,
                    image,
                } => {
                    if let Some(at) = self.fresh.iter().position(|f| *f == (*stage, *instruction)) {
                        self.fresh.swap_remove(at);
                        self.append(image);
                    }
                }
                _ => {}
            }
        }
    }

    fn append(&self, image: &str) {
        let Some(path) = &self.path else { return };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let new = !path.exists();
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            if new {
                // Whose note it is: `clean` leaves the notes of runs still going alone.
                let _ = writeln!(f, "pid={}", std::process::id());
            }
            let _ = writeln!(f, "{image}");
        }
    }

    /// The run ended on its own: nothing for `clean` to find.
    pub(crate) fn close(&self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// The notes left by runs that did not end on their own: (build id, images, oldest first).
/// `Some(id)`: that run's only.
pub(crate) fn left_behind(build_id: Option<&str>) -> Vec<(String, Vec<String>)> {
    let Some(dir) = runs_dir() else {
        return Vec::new();
    };
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !valid(&name) || build_id.is_some_and(|id| id != name) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(e.path()) else {
            continue;
        };
        if still_running(&text) {
            continue;
        }
        let images = text
            .lines()
            .map(str::trim)
            .filter(|l| {
                let hex = l.strip_prefix("sha256:").unwrap_or(l);
                !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit())
            })
            .map(str::to_string)
            .collect();
        out.push((name, images));
    }
    out
}

/// Whether the run that wrote `note` is another process that is still alive (its images
/// may still be in use; the run removes its note itself when it ends).
fn still_running(note: &str) -> bool {
    let pid = note
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("pid="))
        .and_then(|p| p.trim().parse::<u32>().ok());
    pid.is_some_and(|p| {
        p != std::process::id() && std::path::Path::new(&format!("/proc/{p}")).exists()
    })
}

/// Forgets the note of `build_id` (its images are gone, or are somebody's cache now).
pub(crate) fn forget(build_id: &str) {
    if let Some(dir) = runs_dir().filter(|_| valid(build_id)) {
        let _ = std::fs::remove_file(dir.join(build_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_images_of_instructions_that_ran_are_noted() {
        let finished = |instruction, cached| BuildEvent::InstructionFinished {
            stage: 0,
            instruction,
            cached,
            duration_ms: 1,
        };
        let image = |instruction, image: &str| BuildEvent::StateImage {
            stage: 0,
            instruction,
            image: image.into(),
        };
        let dir = tempfile::tempdir().expect("tempdir");
        let mut j = Journal {
            path: Some(dir.path().join("abc123")),
            fresh: Vec::new(),
        };
        j.note(&[finished(0, false), image(0, "base")]);
        j.note(&[finished(1, true), image(1, "cached")]);
        j.note(&[finished(2, false)]);
        j.note(&[image(2, "made")]);
        let text = std::fs::read_to_string(dir.path().join("abc123")).expect("note");
        assert_eq!(text, format!("pid={}\nmade\n", std::process::id()));
        // Our own note is ours to clean; a live process's is not; a dead one's is.
        assert!(!still_running(&text));
        assert!(still_running("pid=1\nx\n"));
        assert!(!still_running(&format!("pid={}\n", u32::MAX)));
        j.close();
        assert!(!dir.path().join("abc123").exists());
        assert!(!valid("../x") && !valid("") && valid("abc123"));
    }
}
