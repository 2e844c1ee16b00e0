//! stagescope's engine layer: the only crate that talks to a Docker engine (bollard), to
//! Podman's Docker API and to BuildKit's Control API. It runs builds (BuildKit sessions with
//! file sync, secrets and ssh agents; the classic builder), reads images and build states as
//! tar streams into `stagescope-fs` indexes, and cleans what builds left. Only
//! `stagescope-core` depends on it: front ends reach it through the session.

pub mod base_image;
mod build_call;
mod buildkit;
mod classic;
pub mod clean;
pub mod connect;
pub mod control;
pub(crate) mod dial;
pub mod error;
pub mod export;
mod extract;
pub mod fetch;
pub mod filesync;
mod journal;
pub mod layers;
mod names;
mod request;
pub mod run;
pub mod shell;
mod ssh;
mod status;
mod tls;

/// bollard as this crate uses it, for the workspace's tests that drive the daemon with it
/// directly (the one crate that depends on bollard stays this one).
#[doc(hidden)]
pub use bollard;
