//! stagescope's core, the one crate both front ends (the terminal UI and the subcommands)
//! drive: a build [`session`] (its engine, Dockerfile, plan, context and request; running
//! the build as events, stepping, the images and filesystems of stages and states, shells),
//! the run [`history`] (records, cache-miss reasons, comparisons, timelines) and the
//! [`explain`]ed words and numbers, and the [`builds`] BuildKit remembers. It is the only crate that depends on `stagescope-engine`;
//! [`engine`] names the few engine types a front end passes through it.

pub mod builds;
pub mod engine;
pub mod explain;
pub mod history;
pub mod session;

/// The engine crate whole, for the workspace's own tests of it against a real daemon
/// (enabled by the binary's dev-dependency only, so the binary itself cannot reach it).
#[cfg(feature = "engine-internals")]
#[doc(hidden)]
pub use stagescope_engine as engine_internals;
