//! The only module that talks to the Docker engine (bollard).

pub mod buildkit;
pub mod classic;
