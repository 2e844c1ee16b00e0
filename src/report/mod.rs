//! report layer: headless output.

pub mod graph;
