//! The only module that talks to the Docker engine (bollard).

pub mod base_image;
pub mod buildkit;
pub mod classic;
pub mod clean;
pub mod connect;
pub mod context;
pub mod control;
pub mod dockerignore;
pub mod error;
pub mod export;
pub mod extract;
pub mod fetch;
pub mod filesync;
pub mod journal;
pub mod layers;
pub mod names;
pub mod run;
pub mod shell;
pub mod ssh;
pub mod tls;
