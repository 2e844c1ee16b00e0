//! stagescope: step through Docker multi-stage builds.
//!
//! Layers (see ARCHITECTURE.md), each importing only those below it:
//! `tui` (the terminal front end) -> `session` (the build core) -> `engine` (the only
//! bollard user) and `report` (headless output) -> `build`, `fs`, `dockerfile` (pure).

pub mod build;
pub mod dockerfile;
pub mod engine;
pub mod explain;
pub mod fs;
pub mod history;
pub mod report;
pub mod session;
pub mod tui;
