//! The terminal UI: a pure [`model::Model`] changed only by [`update::update`], keys mapped by
//! [`keymap`], one file per pane in [`views`], and the event loop in [`app`].

pub mod ansi;
pub mod app;
mod diffjob;
pub mod diffpreview;
pub mod diffview;
pub mod files_task;
pub mod fsview;
pub mod keymap;
pub mod model;
pub mod preview;
pub mod runlog;
pub mod update;
pub mod views;
