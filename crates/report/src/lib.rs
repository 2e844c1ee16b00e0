//! Headless output: build progress (plain, NDJSON) and the stage graph (text, JSON, Mermaid, DOT).

pub mod builds;
pub mod check;
pub mod diff;
pub mod explain;
pub mod graph;
pub mod history;
pub mod progress;
pub mod sanitize;
pub mod tree;
pub mod waste;
