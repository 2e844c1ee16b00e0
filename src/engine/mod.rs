//! The only module that talks to the Docker engine (bollard).

pub mod buildkit;
pub mod classic;
pub mod connect;
pub mod names;
// pub mod run;
pub mod error;
pub mod base_image;
pub mod clean;
