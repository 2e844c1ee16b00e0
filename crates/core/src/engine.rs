//! What a front end names of the engine: how to reach one, what a build asks of it, and the
//! engine's housekeeping. Everything else of `stagescope-engine` stays behind the session.

pub use stagescope_engine::base_image::{self, BASE_IMAGE};
pub use stagescope_engine::clean::{self, clean};
pub use stagescope_engine::connect::{Engine, Environment, connect};
pub use stagescope_engine::control::Buildkit;
pub use stagescope_engine::control::addr::{BuildkitAddr, TlsFiles};
pub use stagescope_engine::error::EngineError;
pub use stagescope_engine::filesync::Grants;
pub use stagescope_engine::filesync::agent::SshSpec;
pub use stagescope_engine::filesync::secrets::SecretSpec;
pub use stagescope_engine::run::{BuildRequest, BuilderChoice};
