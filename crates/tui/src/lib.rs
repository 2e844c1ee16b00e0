//! The terminal UI: a pure [`model::Model`] changed only by [`update::update`], keys mapped by
//! [`keymap`], one file per pane in [`views`], background work in [`jobs`] over the session
//! core, and the event loop in [`app`].

mod ansi;
pub mod app;
mod diff;
mod explain;
mod explain_state;
pub mod files;
mod help;
mod jobs;
mod keymap;
mod keys;
mod layout;
pub mod model;
pub mod msg;
mod runlog;
mod shell;
mod signals;
pub mod update;
pub mod views;
mod widgets;

/// ratatui as this crate uses it, for the benches in `benches/` (the binary's dev-dependency
/// turns it on): the workspace has one crate that depends on ratatui.
#[cfg(feature = "bench")]
#[doc(hidden)]
pub use ratatui;
