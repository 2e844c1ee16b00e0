//! `/bin/sh` in a new container from a state's image, named and labelled for this build.

use tokio::sync::mpsc::UnboundedReceiver;

use super::{Session, SessionError};
use stagescope_engine::shell::{ShellSpec, run_shell};
use stagescope_plan::StageRef;

pub use stagescope_engine::shell::ShellInput;

impl Session {
    /// The name of the shell container at `at`: `stagescope-<build>-sh-<stage>-<instruction>`.
    pub fn shell_name(&self, at: StageRef) -> String {
        format!(
            "stagescope-{}-sh-{}-{}",
            self.build_id,
            at.stage,
            at.at.unwrap_or_default()
        )
    }

    /// Runs `/bin/sh` (or `sh -c command`) in a container of `image` with a TTY of `size`
    /// (columns, rows): `input` to it, its output to `output`. Returns its exit code; the
    /// container is gone by then.
    pub async fn shell(
        &self,
        image: &str,
        at: StageRef,
        command: Option<&str>,
        size: Option<(u16, u16)>,
        input: UnboundedReceiver<ShellInput>,
        output: impl FnMut(&[u8]),
    ) -> Result<i64, SessionError> {
        let spec = ShellSpec {
            image: image.to_string(),
            name: self.shell_name(at),
            build_id: self.build_id.clone(),
            command: command.map(str::to_string),
            size,
        };
        let engine = self.engine().map_err(|e| match e {
            SessionError::NeedsEngine { builder, .. } => SessionError::NeedsEngine {
                needs: "a shell needs a Docker engine to run in",
                builder,
            },
            e => e,
        })?;
        Ok(run_shell(engine, &spec, input, output).await?)
    }
}
