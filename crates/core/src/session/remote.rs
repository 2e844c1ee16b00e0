//! The states of a build on a Control API BuildKit. Such a builder keeps no images, so a
//! state is named here where an engine build would name its image, and its files come from
//! the tar exporter when asked for.

use super::Session;
use stagescope_engine::control::build::Export;
use stagescope_engine::run::state_solve;

const PREFIX: &str = "buildkit-state:";

/// The name of the state of `stage` after its instruction `k`.
pub(crate) fn state_name(stage: usize, k: usize) -> String {
    format!("{PREFIX}{stage}/{k}")
}

fn parse(name: &str) -> Option<(usize, usize)> {
    let (stage, k) = name.strip_prefix(PREFIX)?.split_once('/')?;
    Some((stage.parse().ok()?, k.parse().ok()?))
}

impl Session {
    /// What to solve for `name`: a state of this build, or any image by its reference (a
    /// stage's base), exported as a one-line Dockerfile would build it.
    pub(crate) fn export_of(&self, name: &str) -> Export {
        match parse(name).and_then(|(stage, k)| state_solve(&self.dockerfile, stage, k)) {
            Some((dockerfile_text, target)) => Export {
                dockerfile_text,
                target,
            },
            None => Export {
                dockerfile_text: Some(format!("FROM {name}\n")),
                target: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_round_trip() {
        assert_eq!(parse(&state_name(2, 7)), Some((2, 7)));
        assert_eq!(parse("busybox:latest"), None);
        assert_eq!(parse("buildkit-state:x/1"), None);
    }
}
