//! Headless build output: plain text for people, NDJSON for scripts. Both read the same
//! folded BuildState, so they never disagree about a duration or a cache hit.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::sanitize::{self, json_line, name};
use stagescope_plan::text::one_line;
use stagescope_plan::{BuildEvent, BuildPlan, BuildState, LogStream};

pub(crate) fn format_duration(ms: u64) -> String {
    if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    }
}

fn stage_label(plan: &BuildPlan, stage: usize, k: usize) -> String {
    let st = &plan.stages[stage];
    format!(
        "[{} {}/{}]",
        name(&st.buildkit_name()),
        k + 1,
        st.instructions.len()
    )
}

/// One line per finished instruction with its output indented, then a summary. Nothing
/// from the build reaches `out` raw: log lines go through [`sanitize::line`] (SGR kept only
/// with colour on), names and messages through [`name`] and [`sanitize::text`].
pub struct PlainReporter<W: Write> {
    pub state: BuildState,
    out: W,
    colour: bool,
}

impl<W: Write> PlainReporter<W> {
    pub fn new(plan: BuildPlan, out: W) -> Self {
        PlainReporter {
            state: BuildState::new(plan),
            out,
            colour: false,
        }
    }

    /// Keep the build's SGR colours (see [`sanitize::colour_allowed`]); off by default.
    pub fn with_colour(mut self, colour: bool) -> Self {
        self.colour = colour;
        self
    }

    pub fn on_event(&mut self, ev: &BuildEvent) -> io::Result<()> {
        self.state.apply(ev);
        match ev {
            BuildEvent::BuildStarted { builder, build_id } => {
                writeln!(self.out, "building with {builder} (build {build_id})")?;
            }
            BuildEvent::InstructionFinished {
                stage,
                instruction,
                cached,
                duration_ms,
            } => {
                let plan = &self.state.plan;
                let Some(ins) = plan
                    .stages
                    .get(*stage)
                    .and_then(|s| s.instructions.get(*instruction))
                else {
                    return Ok(());
                };
                let text = shown(&ins.text, 70);
                let done = &self.state.stages[*stage].instructions[*instruction];
                let timing = if *cached {
                    "CACHED".to_string()
                } else if done.no_work {
                    "no work".to_string()
                } else {
                    format_duration(*duration_ms)
                };
                writeln!(
                    self.out,
                    "{} {text}   {timing}",
                    stage_label(plan, *stage, *instruction)
                )?;
                let done = &self.state.stages[*stage].instructions[*instruction];
                if let Some(m) = done.miss.as_ref().filter(|_| !*cached) {
                    writeln!(self.out, "    ran: {}", sanitize::text(&m.line(), false))?;
                }
                let log = &done.log;
                if log.dropped() > 0 {
                    writeln!(self.out, "    … {} earlier lines not kept", log.dropped())?;
                }
                for (stream, line) in log.lines() {
                    let mark = if stream == LogStream::Stderr {
                        "!"
                    } else {
                        " "
                    };
                    writeln!(self.out, "   {mark}{}", sanitize::line(line, self.colour))?;
                }
            }
            BuildEvent::BuildFailed {
                stage,
                instruction,
                message,
                exit_code,
            } => {
                let plan = &self.state.plan;
                let at = match (stage, instruction) {
                    (Some(s), Some(k)) => {
                        let ins = &plan.stages[*s].instructions[*k];
                        let log = &self.state.stages[*s].instructions[*k].log;
                        writeln!(
                            self.out,
                            "{} {}   FAILED",
                            stage_label(plan, *s, *k),
                            shown(&ins.text, 70)
                        )?;
                        for (_, line) in log.lines() {
                            writeln!(self.out, "    {}", sanitize::line(line, self.colour))?;
                        }
                        format!(" at line {}", ins.line)
                    }
                    _ => String::new(),
                };
                let code = exit_code
                    .map(|c| format!(" (exit code {c})"))
                    .unwrap_or_default();
                let message = sanitize::text(message, false);
                writeln!(self.out, "error{at}{code}: {message}")?;
            }
            BuildEvent::StateImage {
                stage,
                instruction,
                image,
            } if self.state.failure.is_some() => {
                let plan = &self.state.plan;
                writeln!(
                    self.out,
                    "state before the failure: {} after {} — open it with: docker run -it --rm {} sh",
                    name(&plan.stages[*stage].display_name()),
                    stage_label(plan, *stage, *instruction),
                    short_id(image)
                )?;
            }
            BuildEvent::ContextSent {
                bytes,
                files,
                duration_ms,
            } => {
                let files = files.map_or_else(String::new, |n| {
                    format!(" in {n} file{}", if n == 1 { "" } else { "s" })
                });
                writeln!(
                    self.out,
                    "context: sent {}{files}, loaded in {}",
                    stagescope_fs::format::human_bytes(*bytes),
                    format_duration(*duration_ms)
                )?;
            }
            BuildEvent::BuildFinished { image, duration_ms } => {
                self.summary(image.as_deref(), *duration_ms)?;
            }
            _ => {}
        }
        self.out.flush()
    }

    fn summary(&mut self, image: Option<&str>, duration_ms: u64) -> io::Result<()> {
        let st = &self.state;
        writeln!(self.out)?;
        writeln!(self.out, "stages:")?;
        for (p, s) in st.plan.stages.iter().zip(&st.stages) {
            if !p.needed {
                writeln!(self.out, "  {:<16} not needed", name(&p.display_name()))?;
                continue;
            }
            // Instructions with nothing to do (FROM of an image already there, ARG, ENV…)
            // are neither cached nor run: counted apart, so a rebuild reads 100%.
            let worked = s.instructions.len() - s.no_work_count();
            let no_work = match s.no_work_count() {
                0 => String::new(),
                n => format!(", {n} no work"),
            };
            writeln!(
                self.out,
                "  {:<16} {:>8}  {}/{worked} cached{no_work}  {}",
                name(&p.display_name()),
                format_duration(s.duration_ms()),
                s.cached_count(),
                s.image.as_deref().map_or_else(|| "-".into(), short_id)
            )?;
        }
        let mut all: Vec<(usize, usize, u64)> = st
            .stages
            .iter()
            .enumerate()
            .flat_map(|(si, s)| {
                s.instructions
                    .iter()
                    .enumerate()
                    .filter(|(_, i)| !i.cached && !i.no_work)
                    .filter_map(move |(k, i)| i.duration_ms.map(|d| (si, k, d)))
            })
            .filter(|(_, _, d)| *d > 0)
            .collect();
        all.sort_by_key(|x| std::cmp::Reverse(x.2));
        if !all.is_empty() {
            writeln!(self.out, "slowest instructions:")?;
            for (s, k, d) in all.iter().take(5) {
                let ins = &st.plan.stages[*s].instructions[*k];
                writeln!(
                    self.out,
                    "  {:>8}  {} {} (line {})",
                    format_duration(*d),
                    stage_label(&st.plan, *s, *k),
                    shown(&ins.text, 50),
                    ins.line
                )?;
            }
        }
        let path = st.plan.critical_path(&st.stage_durations());
        let names: Vec<String> = path
            .iter()
            .map(|&s| name(&st.plan.stages[s].display_name()))
            .collect();
        writeln!(self.out, "critical path: {}", names.join(" -> "))?;
        writeln!(
            self.out,
            "built {} in {}",
            image.map_or_else(|| "(no image)".into(), short_id),
            format_duration(duration_ms)
        )
    }
}

/// The first 12 characters of an image id, its control characters escaped.
pub(crate) fn short_id(image: &str) -> String {
    let hex = image.strip_prefix("sha256:").unwrap_or(image);
    name(&hex.chars().take(12).collect::<String>())
}

/// Instruction text on one line, cut to `max` characters, its control characters escaped.
fn shown(text: &str, max: usize) -> String {
    name(&one_line(text, max))
}

/// NDJSON: one object per event with stable field names, then one summary object.
pub struct JsonReporter<W: Write> {
    pub state: BuildState,
    out: W,
    summarized: bool,
}

impl<W: Write> JsonReporter<W> {
    pub fn new(plan: BuildPlan, out: W) -> Self {
        JsonReporter {
            state: BuildState::new(plan),
            out,
            summarized: false,
        }
    }

    fn stage_value(&self, stage: usize) -> Value {
        match self
            .state
            .plan
            .stages
            .get(stage)
            .and_then(|s| s.name.clone())
        {
            Some(n) => Value::String(n),
            None => json!(stage),
        }
    }

    fn line_of(&self, stage: usize, k: usize) -> Value {
        self.state
            .plan
            .stages
            .get(stage)
            .and_then(|s| s.instructions.get(k))
            .map_or(Value::Null, |i| json!(i.line))
    }

    fn miss_of(&self, stage: usize, k: usize) -> Option<Value> {
        let m = self
            .state
            .stages
            .get(stage)?
            .instructions
            .get(k)?
            .miss
            .as_ref()?;
        serde_json::to_value(m).ok()
    }

    fn no_work(&self, stage: usize, k: usize) -> bool {
        self.state
            .stages
            .get(stage)
            .and_then(|s| s.instructions.get(k))
            .is_some_and(|i| i.no_work)
    }

    pub fn on_event(&mut self, ev: &BuildEvent) -> io::Result<()> {
        self.state.apply(ev);
        // The reason travels inside the instruction_finished that follows it.
        if let BuildEvent::CacheMiss { .. } = ev {
            return Ok(());
        }
        let mut v = serde_json::to_value(ev).map_err(io::Error::other)?;
        if let Some(obj) = v.as_object_mut() {
            let stage = obj.get("stage").and_then(Value::as_u64).map(|s| s as usize);
            let k = obj
                .get("instruction")
                .and_then(Value::as_u64)
                .map(|s| s as usize);
            if let Some(s) = stage {
                obj.insert("stage".into(), self.stage_value(s));
                if let Some(k) = k {
                    obj.insert("line".into(), self.line_of(s, k));
                    if let BuildEvent::InstructionFinished { cached: false, .. } = ev {
                        if let Some(m) = self.miss_of(s, k) {
                            obj.insert("miss".into(), m);
                        }
                        if self.no_work(s, k) {
                            obj.insert("no_work".into(), Value::Bool(true));
                        }
                    }
                }
            }
        }
        json_line(&mut self.out, &v)?;
        if let BuildEvent::BuildFinished { .. } = ev {
            self.summary()?;
        }
        self.out.flush()
    }

    /// The event stream ended: write the summary if no BuildFinished did. A failed build
    /// ends here, after its state image, so the summary stays the last line.
    pub fn finish(&mut self) -> io::Result<()> {
        if !self.summarized {
            self.summary()?;
        }
        self.out.flush()
    }

    pub fn summary(&mut self) -> io::Result<()> {
        self.summarized = true;
        let st = &self.state;
        let stages: Vec<Value> = st
            .plan
            .stages
            .iter()
            .zip(&st.stages)
            .map(|(p, s)| {
                json!({
                    "stage": self.stage_value(p.index),
                    "needed": p.needed,
                    "duration_ms": s.duration_ms(),
                    "instructions": s.instructions.iter().enumerate().map(|(k, i)| json!({
                        "instruction": k,
                        "line": p.instructions[k].line,
                        "cached": i.cached,
                        "no_work": i.no_work,
                        "duration_ms": i.duration_ms,
                        "image": i.image,
                        "miss": i.miss,
                    })).collect::<Vec<_>>(),
                    "instruction_count": s.instructions.len(),
                    "cached_count": s.cached_count(),
                    "no_work_count": s.no_work_count(),
                    "cached_percent": s.cached_percent(),
                    "image": s.image,
                })
            })
            .collect();
        let path: Vec<Value> = st
            .plan
            .critical_path(&st.stage_durations())
            .into_iter()
            .map(|s| self.stage_value(s))
            .collect();
        let summary = json!({
            "event": "summary",
            // Built: finished without a failure (an interrupted build is not ok).
            "ok": st.failure.is_none() && st.finished.is_some(),
            "image": st.finished.as_ref().and_then(|f| f.0.clone()),
            "duration_ms": st.finished.as_ref().map(|f| f.1),
            "stages": stages,
            "critical_path": path,
            "failure": st.failure.as_ref().map(|f| json!({
                "stage": f.stage.map(|s| self.stage_value(s)),
                "instruction": f.instruction,
                "line": f.stage.zip(f.instruction).map(|(s, k)| self.line_of(s, k)),
                "message": f.message,
                "exit_code": f.exit_code,
                // The state just before the failing instruction, to open and debug.
                "state_image": f.stage.zip(f.instruction).and_then(|(s, k)| {
                    let prev = k.checked_sub(1)?;
                    st.stages.get(s)?.instructions.get(prev)?.image.clone()
                }),
            })),
        });
        json_line(&mut self.out, &summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_plan::plan::fixtures::three_stages;

    fn run<W: Write>(
        mut on: impl FnMut(&BuildEvent) -> io::Result<()>,
        _w: std::marker::PhantomData<W>,
    ) {
        let events = [
            BuildEvent::InstructionStarted {
                stage: 1,
                instruction: 2,
            },
            BuildEvent::Log {
                stage: 1,
                instruction: 2,
                stream: LogStream::Stdout,
                text: "building\n".into(),
            },
            BuildEvent::InstructionFinished {
                stage: 1,
                instruction: 2,
                cached: false,
                duration_ms: 12_400,
            },
            BuildEvent::InstructionFinished {
                stage: 0,
                instruction: 1,
                cached: true,
                duration_ms: 0,
            },
            BuildEvent::StageImage {
                stage: 2,
                image: "sha256:0123456789abcdef".into(),
            },
            BuildEvent::BuildFinished {
                image: Some("sha256:0123456789abcdef".into()),
                duration_ms: 13_000,
            },
        ];
        for e in &events {
            on(e).expect("write");
        }
    }

    #[test]
    fn plain_output_reads_like_a_build_log() {
        let mut buf = Vec::new();
        {
            let mut r = PlainReporter::new(three_stages(), &mut buf);
            run::<Vec<u8>>(|e| r.on_event(e), Default::default());
        }
        let text = String::from_utf8(buf).expect("utf8");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn json_uses_stage_names_and_lines() {
        let mut buf = Vec::new();
        {
            let mut r = JsonReporter::new(three_stages(), &mut buf);
            run::<Vec<u8>>(|e| r.on_event(e), Default::default());
        }
        let text = String::from_utf8(buf).expect("utf8");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(lines[2]["stage"], "builder");
        assert_eq!(lines[2]["line"], 6);
        assert_eq!(lines[2]["duration_ms"], 12_400);
        let summary = lines.last().expect("summary");
        assert_eq!(summary["event"], "summary");
        assert_eq!(summary["stages"][2]["stage"], 2);
        assert_eq!(summary["stages"][2]["image"], "sha256:0123456789abcdef");
        assert_eq!(summary["stages"][0]["cached_count"], 1);
    }
}

#[cfg(test)]
#[path = "progress_hostile_tests.rs"]
mod hostile_tests;
