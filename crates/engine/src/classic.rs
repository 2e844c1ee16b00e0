//! The classic builder's text stream (`Step i/n : ...`, ` ---> Using cache`, ` ---> <id>`,
//! aux image ids) mapped to BuildEvents. The classic builder reports no timestamps, so the
//! caller passes the clock.
//!
//! Podman's compatible API answers the same build call with buildah's words instead:
//! `[stage/stages] STEP k/m: TEXT` (stage and step counted from 1 in the Dockerfile, unused
//! stages skipped), `--> Using cache <id>`, `--> <id>` after each committed step,
//! `[s/n] COMMIT <name>` and the final id on a line of its own; an aux id only for the
//! target. Both dialects feed one mapper.

use stagescope_plan::event::exit_code_from_message;
use stagescope_plan::{BuildEvent, BuildPlan, LogStream};

#[derive(Debug)]
struct Current {
    stage: usize,
    instruction: usize,
    started_ms: u64,
    cached: bool,
    image: Option<String>,
}

#[derive(Debug)]
pub(crate) struct ClassicMapper {
    plan: BuildPlan,
    next_step: usize,
    current: Option<Current>,
    stage_started: Vec<bool>,
    /// The last image id seen in each stage: the state before whatever runs next.
    last_image: Vec<Option<String>>,
    stage_images: Vec<Option<String>>,
    failed: Option<(usize, usize)>,
    /// The last buildah step seen: steps only move forward, so output that merely looks like
    /// a step is log.
    buildah_at: Option<(usize, usize)>,
}

const STDERR_OPEN: &str = "\x1b[91m";
const STDERR_CLOSE: &str = "\x1b[0m";

fn parse_step(chunk: &str) -> Option<usize> {
    let rest = chunk.strip_prefix("Step ")?;
    let (counts, _) = rest.split_once(" : ")?;
    let (i, n) = counts.split_once('/')?;
    let (i, _n): (usize, usize) = (i.parse().ok()?, n.parse().ok()?);
    Some(i)
}

/// buildah's `[2/4] STEP 3/5: RUN ...` as 0-based (stage, instruction).
fn parse_buildah_step(chunk: &str) -> Option<(usize, usize)> {
    let rest = chunk.strip_prefix('[')?;
    let (stages, rest) = rest.split_once("] STEP ")?;
    let (stage, _) = stages.split_once('/')?;
    let (counts, _) = rest.split_once(": ")?;
    let (step, _) = counts.split_once('/')?;
    let (stage, step): (usize, usize) = (stage.parse().ok()?, step.parse().ok()?);
    Some((stage.checked_sub(1)?, step.checked_sub(1)?))
}

/// buildah's `[4/4] COMMIT name`, which is no instruction and says nothing new.
fn is_buildah_commit(line: &str) -> bool {
    line.strip_prefix('[')
        .and_then(|r| r.split_once("] COMMIT"))
        .is_some_and(|(counts, _)| counts.split_once('/').is_some())
}

impl ClassicMapper {
    pub(crate) fn new(plan: BuildPlan) -> Self {
        let n = plan.stages.len();
        ClassicMapper {
            plan,
            next_step: 1,
            current: None,
            stage_started: vec![false; n],
            last_image: vec![None; n],
            stage_images: vec![None; n],
            failed: None,
            buildah_at: None,
        }
    }

    fn start(&mut self, stage: usize, instruction: usize, now_ms: u64, out: &mut Vec<BuildEvent>) {
        if !self.stage_started[stage] {
            self.stage_started[stage] = true;
            out.push(BuildEvent::StageStarted { stage });
        }
        out.push(BuildEvent::InstructionStarted { stage, instruction });
        self.current = Some(Current {
            stage,
            instruction,
            started_ms: now_ms,
            cached: false,
            image: None,
        });
    }

    /// A buildah step, when it is the next one: buildah sends no id as a stage ends, so a
    /// stage that is left behind ends with the image of its last committed step.
    fn on_buildah_step(&mut self, chunk: &str, now_ms: u64) -> Option<Vec<BuildEvent>> {
        let (stage, instruction) = parse_buildah_step(chunk)?;
        let fits = self
            .plan
            .stages
            .get(stage)
            .is_some_and(|s| instruction < s.instructions.len());
        if !fits || self.buildah_at.is_some_and(|at| (stage, instruction) <= at) {
            return None;
        }
        let mut out = Vec::new();
        let left = self.current.as_ref().map(|c| c.stage);
        self.finish_current(now_ms, &mut out);
        if let Some(left) = left.filter(|&l| l != stage) {
            self.close_stage(left, &mut out);
        }
        self.buildah_at = Some((stage, instruction));
        self.start(stage, instruction, now_ms, &mut out);
        Some(out)
    }

    fn close_stage(&mut self, stage: usize, out: &mut Vec<BuildEvent>) {
        if self.stage_images[stage].is_some() {
            return;
        }
        let image = self.last_image[stage].clone();
        self.stage_images[stage] = image.clone();
        out.push(BuildEvent::StageFinished { stage, image });
    }

    fn finish_current(&mut self, now_ms: u64, out: &mut Vec<BuildEvent>) {
        if let Some(cur) = self.current.take() {
            out.push(BuildEvent::InstructionFinished {
                stage: cur.stage,
                instruction: cur.instruction,
                cached: cur.cached,
                duration_ms: now_ms.saturating_sub(cur.started_ms),
            });
            if let Some(image) = cur.image {
                self.last_image[cur.stage] = Some(image.clone());
                out.push(BuildEvent::StateImage {
                    stage: cur.stage,
                    instruction: cur.instruction,
                    image,
                });
            }
        }
    }

    /// One `stream` message of the build.
    pub(crate) fn on_stream(&mut self, chunk: &str, now_ms: u64) -> Vec<BuildEvent> {
        let mut out = Vec::new();
        if let Some(step) = parse_step(chunk).filter(|&s| s == self.next_step) {
            self.finish_current(now_ms, &mut out);
            self.next_step = step + 1;
            if let Some((stage, instruction)) = self.plan.classic_step(step) {
                self.start(stage, instruction, now_ms, &mut out);
            }
            return out;
        }
        if let Some(events) = self.on_buildah_step(chunk, now_ms) {
            return events;
        }
        if chunk == "\n" {
            return out;
        }
        let trimmed = chunk.trim_end();
        let arrow = trimmed.strip_prefix(" ---> ").or_else(|| {
            trimmed
                .strip_prefix("--> ")
                .filter(|_| self.buildah_at.is_some())
        });
        if let Some(arrow) = arrow {
            if let Some(cur) = &mut self.current {
                let id = match arrow.strip_prefix("Using cache") {
                    Some(rest) => {
                        cur.cached = true;
                        rest.trim()
                    }
                    None => arrow,
                };
                if !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()) {
                    cur.image = Some(id.to_string());
                }
            }
            return out;
        }
        let buildah_noise = self.buildah_at.is_some()
            && (is_buildah_commit(trimmed)
                || (trimmed.len() == 64 && trimmed.chars().all(|c| c.is_ascii_hexdigit())));
        if buildah_noise
            || trimmed.starts_with("Removing intermediate container ")
            || trimmed.starts_with("Successfully built ")
            || trimmed.starts_with("Successfully tagged ")
        {
            return out;
        }
        if let Some(cur) = &self.current {
            let (stream, text) = match chunk.strip_prefix(STDERR_OPEN) {
                Some(inner) => (
                    LogStream::Stderr,
                    inner.strip_suffix(STDERR_CLOSE).unwrap_or(inner),
                ),
                None => (LogStream::Stdout, chunk),
            };
            out.push(BuildEvent::Log {
                stage: cur.stage,
                instruction: cur.instruction,
                stream,
                text: text.to_string(),
            });
        }
        out
    }

    /// The aux `{"ID": "sha256:..."}` the classic builder sends as each stage ends.
    pub(crate) fn on_aux_image(&mut self, image: &str, now_ms: u64) -> Vec<BuildEvent> {
        let mut out = Vec::new();
        let stage = self.current.as_ref().map(|c| c.stage);
        self.finish_current(now_ms, &mut out);
        if let Some(stage) = stage {
            self.stage_images[stage] = Some(image.to_string());
            out.push(BuildEvent::StageFinished {
                stage,
                image: Some(image.to_string()),
            });
        }
        out
    }

    /// The build ended with an error: it belongs to the running step.
    pub(crate) fn on_error(&mut self, message: &str) -> BuildEvent {
        let cur = self.current.take();
        self.failed = cur.as_ref().map(|c| (c.stage, c.instruction));
        BuildEvent::BuildFailed {
            stage: cur.as_ref().map(|c| c.stage),
            instruction: cur.as_ref().map(|c| c.instruction),
            message: message.to_string(),
            exit_code: exit_code_from_message(message),
        }
    }

    /// The image holding the state before the step that is running (or failed): the last
    /// intermediate image of that stage, or its base when none was made yet.
    pub(crate) fn image_before(&self, stage: usize) -> Option<&str> {
        self.last_image.get(stage)?.as_deref()
    }

    /// The step that failed, once `on_error` was called.
    pub(crate) fn failed_step(&self) -> Option<(usize, usize)> {
        self.failed
    }

    /// The image a stage ended with (the aux id), if it ran.
    pub(crate) fn stage_image(&self, stage: usize) -> Option<&str> {
        self.stage_images.get(stage)?.as_deref()
    }

    /// The stream ended without error: close the last step (a stage that ended without an
    /// aux id, as `FROM scratch` alone does).
    pub(crate) fn on_end(&mut self, now_ms: u64) -> Vec<BuildEvent> {
        let mut out = Vec::new();
        self.finish_current(now_ms, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_plan::plan::fixtures::three_stages;

    fn feed(m: &mut ClassicMapper, chunks: &[&str]) -> Vec<BuildEvent> {
        let mut out = Vec::new();
        for (t, c) in chunks.iter().enumerate() {
            out.extend(m.on_stream(c, t as u64 * 100));
        }
        out
    }

    #[test]
    fn steps_cache_images_and_stderr() {
        let mut m = ClassicMapper::new(three_stages());
        let ev = feed(
            &mut m,
            &[
                "Step 1/11 : ARG BASE=busybox",
                "\n",
                "Step 2/11 : FROM ${BASE} AS deps",
                "\n",
                " ---> f2058d1873bb\n",
                "Step 3/11 : RUN echo deps",
                "\n",
                " ---> Using cache\n",
                " ---> 1a635caf0ed6\n",
                "Step 4/11 : FROM busybox AS Builder",
                "\n",
                " ---> f2058d1873bb\n",
                "Step 5/11 : WORKDIR /src",
                " ---> Running in ef4180255aab\n",
                "\x1b[91merr\n\x1b[0m",
                "building\n",
            ],
        );
        assert!(ev.contains(&BuildEvent::InstructionFinished {
            stage: 0,
            instruction: 1,
            cached: true,
            duration_ms: 400
        }));
        assert!(ev.contains(&BuildEvent::StateImage {
            stage: 0,
            instruction: 1,
            image: "1a635caf0ed6".into()
        }));
        assert!(ev.contains(&BuildEvent::Log {
            stage: 1,
            instruction: 1,
            stream: LogStream::Stderr,
            text: "err\n".into()
        }));
        assert!(ev.contains(&BuildEvent::Log {
            stage: 1,
            instruction: 1,
            stream: LogStream::Stdout,
            text: "building\n".into()
        }));
        let fail = m.on_error("The command '/bin/sh -c exit 3' returned a non-zero code: 3");
        assert_eq!(
            fail,
            BuildEvent::BuildFailed {
                stage: Some(1),
                instruction: Some(1),
                message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3".into(),
                exit_code: Some(3)
            }
        );
        assert_eq!(m.image_before(1), Some("f2058d1873bb"));
    }

    #[test]
    fn output_that_looks_like_a_step_is_only_log() {
        let mut m = ClassicMapper::new(three_stages());
        let ev = feed(
            &mut m,
            &[
                "Step 1/11 : ARG BASE=busybox",
                "Step 2/11 : FROM x",
                "Step 9/9 : fake\n",
            ],
        );
        assert!(ev.contains(&BuildEvent::Log {
            stage: 0,
            instruction: 0,
            stream: LogStream::Stdout,
            text: "Step 9/9 : fake\n".into()
        }));
    }

    #[test]
    fn aux_id_closes_the_stage() {
        let mut m = ClassicMapper::new(three_stages());
        feed(
            &mut m,
            &[
                "Step 1/11 : ARG B",
                "Step 2/11 : FROM busybox",
                " ---> abc123\n",
            ],
        );
        let ev = m.on_aux_image("sha256:abc123", 500);
        assert_eq!(
            ev.last(),
            Some(&BuildEvent::StageFinished {
                stage: 0,
                image: Some("sha256:abc123".into())
            })
        );
    }

    /// What Podman 4.3's compatible API sent for a cached stage, a stage that ran, and the
    /// target's commit.
    #[test]
    fn podman_buildah_dialect() {
        let mut m = ClassicMapper::new(three_stages());
        let ev = feed(
            &mut m,
            &[
                "[1/3] STEP 1/2: FROM ${BASE} AS deps\n",
                "[1/3] STEP 2/2: RUN echo deps > /deps.txt && sleep 1\n",
                "--> Using cache 2b9e1da1e5119d7acda6cccef64f3f6963e3c26c505a2b8712357d0842f750e1\n",
                "--> 2b9e1da1e51\n",
                "[2/3] STEP 1/2: FROM busybox AS Builder\n",
                "[2/3] STEP 2/2: WORKDIR /src\n",
                "[1/3] STEP 2/2: looks like a step\n",
                "--> e8d249165d4\n",
                "[3/3] STEP 1/5: FROM busybox\n",
                "[3/3] COMMIT docker.io/library/x\n",
                "--> 397f0bc8247\n",
                "397f0bc82472c7200671e47c8bec966b5a31de53d06550f4c921f77baa7fbe12\n",
            ],
        );
        assert!(ev.contains(&BuildEvent::InstructionFinished {
            stage: 0,
            instruction: 1,
            cached: true,
            duration_ms: 300
        }));
        assert!(ev.contains(&BuildEvent::StageFinished {
            stage: 0,
            image: Some("2b9e1da1e51".into())
        }));
        assert!(ev.contains(&BuildEvent::Log {
            stage: 1,
            instruction: 1,
            stream: LogStream::Stdout,
            text: "[1/3] STEP 2/2: looks like a step\n".into()
        }));
        assert!(ev.contains(&BuildEvent::StageFinished {
            stage: 1,
            image: Some("e8d249165d4".into())
        }));
        assert!(
            !ev.iter()
                .any(|e| matches!(e, BuildEvent::Log { stage: 2, .. })),
            "COMMIT and the final id are not log: {ev:?}"
        );
        assert_eq!(m.stage_image(1), Some("e8d249165d4"));
        let ev = m.on_aux_image("sha256:397f", 2000);
        assert!(ev.contains(&BuildEvent::StateImage {
            stage: 2,
            instruction: 0,
            image: "397f0bc8247".into()
        }));
        let fail = m.on_error("building at STEP \"RUN x\": while running runtime: exit status 3\n");
        assert!(matches!(
            fail,
            BuildEvent::BuildFailed {
                exit_code: Some(3),
                ..
            }
        ));
    }
}
