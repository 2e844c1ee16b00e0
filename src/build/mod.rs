//! The build as data: normalized events and the state they fold into. Pure: no I/O.

pub mod event;
pub mod plan;
pub mod state;

pub use event::{BuildEvent, BuilderKind, InternalStep, LogStream};
pub use plan::{BuildPlan, EdgeVia, PlanEdge, PlanInstruction, PlanStage};
pub use state::{BuildState, Status};
