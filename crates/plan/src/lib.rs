//! The build as data: normalized events and the state they fold into. Pure: no I/O.

pub mod added_by;
pub mod event;
pub mod miss;
pub mod plan;
mod stage_ref;
pub mod state;
pub mod text;

pub use event::{BuildEvent, BuilderKind, InternalStep, LogStream};
pub use miss::{Miss, MissReason};
pub use plan::{BuildPlan, EdgeVia, PlanEdge, PlanInstruction, PlanStage};
pub use stage_ref::{StageRef, stage_index};
pub use state::{BuildState, Status};
