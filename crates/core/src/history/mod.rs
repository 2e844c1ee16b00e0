//! Run history: every build is recorded (plan, flags, timed events, the context files its
//! COPY/ADD read), so a later run can say why an instruction missed the cache, two runs can
//! be compared, and a run can be replayed with no engine. Pure but for [`store`] (the XDG
//! state directory) and [`inputs`] (digests of context files).

pub mod compare;
pub mod facts;
#[cfg(any(test, feature = "fixtures"))]
#[doc(hidden)]
pub mod fixtures;
pub mod inputs;
pub mod reasons;
pub mod record;
pub mod recorder;
pub mod store;
pub mod timeline;

pub use reasons::{Miss, MissReason};
pub use record::{RunRecord, Timed};
pub use recorder::Recorder;
