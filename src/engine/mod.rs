//! engine layer
pub mod context;
pub mod dockerignore;
