//! Dockerfile front end: text -> [`Dockerfile`] model -> [`StageGraph`]. Pure: no I/O.
//!
//! Our own parser, following BuildKit's (moby/buildkit `frontend/dockerfile/parser`,
//! `instructions`, `dockerfile2llb`), so that what we draw is what BuildKit builds.

mod dispatch;
mod error;
mod expand;
mod flags;
mod graph;
mod heredoc;
mod instruction;
pub mod lint;
mod model;
mod mount;
mod onbuild;
mod platform;
mod remote;
mod scope;
mod source;
mod suggest;

pub use error::DockerfileError;
pub use expand::{Env, expand_word};
pub use flags::{Flag, known_flags};
pub use graph::{Edge, EdgeKind, External, StageGraph};
pub use heredoc::Heredoc;
pub use instruction::{Args, Instruction, Keyword};
pub use model::GraphOptions;
pub use model::{ArgDecl, Dockerfile, Stage};
pub use mount::{MOUNT_TYPES, csv_fields};
pub use platform::Platform;
pub use remote::{Source as SourceKind, classify as classify_source};
pub use scope::{StageVars, Words};
pub use source::Directive;

/// This machine's platform as BuildKit names it (`linux/amd64`): the default target.
pub fn host_platform() -> String {
    platform::Platform::host().format()
}

#[cfg(test)]
mod expansion_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
