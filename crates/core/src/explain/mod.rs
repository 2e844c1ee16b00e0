//! Plain-language explanations of a Dockerfile for people learning multi-stage builds: what
//! each instruction and flag does (correct to Docker's Dockerfile reference), each stage's
//! role in the graph, and, when a build ran, the numbers that make it concrete (files and
//! bytes per instruction, what reaches the final image, what stays behind).
//!
//! Pure: functions from the Dockerfile model and stage graph, plus optional [`numbers`], to
//! structured [`Explanation`]s (title, sentences, facts). Front ends render them: the
//! handout in `report::explain`, a TUI pane with its own widgets. The numbers are an input,
//! so the words are the same with or without a build.

pub mod handout;
pub mod numbers;
mod stage;
mod words;

use stagescope_dockerfile::{Dockerfile, Keyword};

pub use handout::{Handout, handout};
pub use numbers::{BuildNumbers, InstructionNumbers, InstructionWaste, StageNumbers};
pub use stage::{build, files, largest_source, stage};
pub use words::{Effect, effect, stage_named};

/// One labelled value (`files`: `+3 ~1 -0`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Fact {
    pub label: String,
    pub value: String,
}

impl Fact {
    pub fn new(label: &str, value: &str) -> Fact {
        Fact {
            label: label.to_string(),
            value: value.to_string(),
        }
    }
}

/// What to tell about one thing: a title, sentences in reading order, and facts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Explanation {
    pub title: String,
    pub sentences: Vec<String>,
    pub facts: Vec<Fact>,
}

impl Explanation {
    /// The sentences as one paragraph.
    pub fn paragraph(&self) -> String {
        self.sentences.join(" ")
    }
}

/// Instruction `k` of stage `stage` (the FROM being 0, as in the build plan), with what it
/// did in a build when `numbers` has it. `None` when there is no such instruction.
pub fn instruction(
    df: &Dockerfile,
    stage: usize,
    k: usize,
    numbers: Option<&InstructionNumbers>,
) -> Option<Explanation> {
    let st = df.stages.get(stage)?;
    let ins = if k == 0 {
        &st.from
    } else {
        st.instructions.get(k - 1)?
    };
    let mut sentences = words::sentences(df, Some(stage), ins);
    let mut facts = vec![Fact::new("line", &ins.line.to_string())];
    if let Some(n) = numbers {
        sentences.push(did(ins.keyword, n));
        sentences.extend(n.waste.as_ref().map(|w| wasted(ins.keyword, w)));
        facts.extend(stage::instruction_facts(n));
    }
    Some(Explanation {
        title: format!("line {}: {}", ins.line, words::short(&ins.original)),
        sentences,
        facts,
    })
}

/// The ARG instructions before the first FROM: (line, text, explanation). The model keeps
/// their declarations only, so the text is the source line.
pub fn global_args(df: &Dockerfile) -> Vec<(usize, String, Explanation)> {
    let mut lines: Vec<usize> = df.global_args.iter().map(|a| a.line).collect();
    lines.dedup();
    lines
        .into_iter()
        .filter_map(|line| {
            let text = df
                .source()
                .lines()
                .nth(line.checked_sub(1)?)?
                .trim()
                .to_string();
            let ins = stagescope_dockerfile::Instruction {
                keyword: Keyword::Arg,
                line,
                end_line: line,
                span: 0..0,
                original: text.clone(),
                flags: Vec::new(),
                args: stagescope_dockerfile::Args::Shell(
                    text.get(3..).unwrap_or_default().trim().to_string(),
                ),
                heredocs: Vec::new(),
            };
            Some((
                line,
                text.clone(),
                Explanation {
                    title: format!("line {line}: {}", words::short(&text)),
                    sentences: words::sentences(df, None, &ins),
                    facts: vec![Fact::new("line", &line.to_string())],
                },
            ))
        })
        .collect()
}

/// What an instruction's layer hid of earlier layers' files, in plain words: the bytes stay
/// in the image, and how not to ship them. Only for an instruction that hid some.
pub fn wasted(k: Keyword, w: &InstructionWaste) -> String {
    use stagescope_fs::format::human_size;
    let what = match (w.deleted, w.overwritten) {
        (_, 0) => "deleted",
        (0, _) => "overwrote",
        _ => "deleted or overwrote",
    };
    let sized = |n: u64| match n {
        0..1024 => format!("{n} bytes"),
        _ => format!("{} ({n} bytes)", human_size(n)),
    };
    let largest = w
        .largest
        .first()
        .map(|p| match p.bytes {
            0..1024 => format!("; largest {}, {} bytes", p.path, p.bytes),
            b => format!("; largest {}, {}", p.path, human_size(b)),
        })
        .unwrap_or_default();
    let how = if k == Keyword::Run {
        "Do it in the same RUN that made them, or make them in a stage that is not copied."
    } else {
        "Write each file once, or make the earlier copy in a stage that is not copied."
    };
    format!(
        "This {k} {what} {} that earlier layers of this image still carry ({}{largest}): \
         the bytes stay in the image, hidden. {how}",
        sized(w.bytes),
        stage::files(w.files),
    )
}

/// One sentence of what the instruction did in the build.
fn did(k: Keyword, n: &InstructionNumbers) -> String {
    use stagescope_fs::format::human_size;
    let cache = match n.cached {
        Some(true) => " It came from the build cache.",
        Some(false) if n.no_work => " It had nothing to run in this build.",
        Some(false) => " It ran in this build.",
        None => "",
    };
    match n.layer {
        Some(l) => format!(
            "In this build its layer ({l} from the bottom) added {}, changed {} and removed \
             {}: {} written.{cache}",
            stage::files(n.added),
            n.changed,
            n.removed,
            human_size(n.bytes)
        ),
        None if effect(k) == Effect::Layer => {
            format!("In this build it left no layer of its own in the image.{cache}")
        }
        None => format!("In this build it changed no files.{cache}"),
    }
}

#[cfg(test)]
mod tests;
