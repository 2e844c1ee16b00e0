//! stagescope: step through Docker multi-stage builds.
//!
//! Layers (see README "Architecture"): `dockerfile` (text -> model -> stage graph, pure),
//! `build` (the build as data, pure), `engine` (the only bollard user), `report` (headless output).

pub mod build;
pub mod dockerfile;
pub mod engine;
pub mod fs;
pub mod report;
pub mod tui;
