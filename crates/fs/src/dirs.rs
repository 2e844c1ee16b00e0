//! Where stagescope keeps what outlives a run, after the XDG Base Directory spec: one lookup
//! per kind, so every store (the caches, the classic builds' notes, the tag ledger, the sync
//! memory, the run history) reads an odd `XDG_*` value the same way.

use std::path::PathBuf;

use etcetera::BaseStrategy;
use etcetera::base_strategy::Xdg;

/// `$XDG_CACHE_HOME/stagescope`, else `~/.cache/stagescope`: what a later run can make
/// again (indexes, layers, notes and ledgers for cleaning up).
pub fn cache_dir() -> Option<PathBuf> {
    under(|x| Some(x.cache_dir()))
}

/// `$XDG_STATE_HOME/stagescope`, else `~/.local/state/stagescope`: what no later run can
/// make again (the run history).
pub fn state_dir() -> Option<PathBuf> {
    under(Xdg::state_dir)
}

fn under(kind: impl FnOnce(&Xdg) -> Option<PathBuf>) -> Option<PathBuf> {
    // etcetera already skips an empty or relative XDG_* value, as the spec asks. A relative
    // home (HOME=.) would do what the spec forbids by the back door, scattering the stores
    // wherever a command happens to run: no directory then, as with no home at all.
    let xdg = Xdg::new().ok()?;
    kind(&xdg)
        .filter(|d| d.is_absolute())
        .map(|d| d.join("stagescope"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set in the child process that [`probe`] runs in.
    const PROBE: &str = "STAGESCOPE_DIRS_PROBE";

    /// Prints the directories when run as the probe; nothing otherwise.
    #[test]
    fn probe() {
        if std::env::var_os(PROBE).is_some() {
            println!("\n{PROBE} cache={:?}", cache_dir());
            println!("\n{PROBE} state={:?}", state_dir());
        }
    }

    /// The (cache, state) directories a fresh process sees with `env`. A child, because
    /// changing this process's environment would race the tests beside it (and is unsafe).
    fn dirs_with(env: &[(&str, &str)]) -> (String, String) {
        let exe = std::env::current_exe().expect("test binary");
        let out = std::process::Command::new(exe)
            .args(["--exact", "dirs::tests::probe", "--nocapture"])
            .args(["--test-threads", "1"])
            .env_remove("XDG_CACHE_HOME")
            .env_remove("XDG_STATE_HOME")
            .env(PROBE, "1")
            .envs(env.iter().copied())
            .output()
            .expect("probe ran");
        let text = String::from_utf8_lossy(&out.stdout);
        let said = |what: &str| {
            let mark = format!("{PROBE} {what}=");
            text.lines()
                .find_map(|l| l.strip_prefix(&mark))
                .unwrap_or_else(|| panic!("no {what} in the probe's output: {text}"))
                .to_string()
        };
        (said("cache"), said("state"))
    }

    fn some(p: &str) -> String {
        format!("{:?}", Some(PathBuf::from(p)))
    }

    #[test]
    fn absolute_xdg_values_are_used() {
        let got = dirs_with(&[
            ("HOME", "/h"),
            ("XDG_CACHE_HOME", "/c"),
            ("XDG_STATE_HOME", "/s"),
        ]);
        assert_eq!(got, (some("/c/stagescope"), some("/s/stagescope")));
    }

    #[test]
    fn empty_xdg_values_mean_the_defaults() {
        let got = dirs_with(&[
            ("HOME", "/h"),
            ("XDG_CACHE_HOME", ""),
            ("XDG_STATE_HOME", ""),
        ]);
        let defaults = (
            some("/h/.cache/stagescope"),
            some("/h/.local/state/stagescope"),
        );
        assert_eq!(got, defaults);
        assert_eq!(dirs_with(&[("HOME", "/h")]), defaults, "unset alike");
    }

    #[test]
    fn relative_xdg_values_are_ignored() {
        let got = dirs_with(&[
            ("HOME", "/h"),
            ("XDG_CACHE_HOME", "cache"),
            ("XDG_STATE_HOME", "./state"),
        ]);
        assert_eq!(
            got,
            (
                some("/h/.cache/stagescope"),
                some("/h/.local/state/stagescope")
            )
        );
    }

    #[test]
    fn a_relative_home_gives_no_directory() {
        let none = format!("{:?}", None::<PathBuf>);
        assert_eq!(dirs_with(&[("HOME", "h")]), (none.clone(), none));
        // An absolute XDG value still stands on its own.
        let got = dirs_with(&[("HOME", "h"), ("XDG_CACHE_HOME", "/c")]);
        assert_eq!(got.0, some("/c/stagescope"));
    }
}
