//! Stepping and breakpoints as a pure state machine.
//!
//! One BuildKit solve cannot be paused from outside, so pausing is a sequence of builds: the
//! whole build in one solve until a breakpoint's instruction finishes, then the Dockerfile cut
//! after each next stop, every cut served from the cache the previous build left. This module
//! decides *what* to build next from what has finished, the breakpoints and the user's
//! commands; [`super::driver`] only carries the decisions out against the engine.

use std::collections::{BTreeSet, VecDeque};

use stagescope_plan::BuildPlan;

/// How the build goes on after a pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepMode {
    /// Pause again before the next stage.
    Next,
    /// Run to the end, stopping only at breakpoints.
    Continue,
}

/// Why the build is not going on by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    BeforeStage(usize),
    Breakpoint(usize, usize),
    Failed,
}

/// One build of the Dockerfile cut after instruction `upto` of `stage` (0 is the FROM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub stage: usize,
    pub upto: usize,
    /// Instructions up to this one were shown already: their replayed events are not news.
    pub skip_upto: Option<usize>,
    /// The cut stops at a breakpoint: its image is the state there, not the stage's.
    pub at_breakpoint: bool,
}

/// What the driver does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The whole build in one solve; report each finished instruction with
    /// [`Stepper::instruction_finished`], then [`Stepper::solved`] or [`Stepper::stop_at`].
    Solve,
    /// Run this cut, then report [`Stepper::built`].
    Build(Cut),
    /// Tell the user, then wait for [`Stepper::resume`].
    Pause(Pause),
    /// Every instruction of this stage is built.
    StageFinished(usize),
    /// Every needed stage is built.
    BuildFinished,
    /// Nothing more will run (finished, failed, or stopped).
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Not started: one solve first.
    Solve,
    /// The solve runs.
    Solving,
    /// Deciding what the stage at `pos` needs.
    Stepping,
    /// A cut runs.
    Building(Cut),
    /// Waiting for the user.
    Waiting,
    Over,
}

#[derive(Debug, Clone)]
pub(crate) struct Stepper {
    /// (stage, its last instruction) of every needed stage, in build order.
    order: Vec<(usize, usize)>,
    /// Per stage of the plan: the last instruction already built.
    done: Vec<Option<usize>>,
    mode: StepMode,
    breakpoints: BTreeSet<(usize, usize)>,
    /// The entry of `order` being stepped.
    pos: usize,
    /// `pos` already paused before its stage once.
    paused_before: Option<usize>,
    phase: Phase,
    pending: VecDeque<Step>,
}

impl Stepper {
    /// `step`: pause before every stage from the start; otherwise one solve that stops at
    /// the first breakpoint.
    pub(crate) fn new(plan: &BuildPlan, step: bool) -> Self {
        Stepper {
            // Stages only read earlier ones, so plan order is a topological order.
            order: plan
                .stages
                .iter()
                .filter(|s| s.needed)
                .map(|s| (s.index, s.instructions.len().saturating_sub(1)))
                .collect(),
            done: vec![None; plan.stages.len()],
            mode: StepMode::Next,
            breakpoints: BTreeSet::new(),
            pos: 0,
            paused_before: None,
            phase: if step { Phase::Stepping } else { Phase::Solve },
            pending: VecDeque::new(),
        }
    }

    pub(crate) fn set_breakpoints(&mut self, bps: impl IntoIterator<Item = (usize, usize)>) {
        self.breakpoints = bps.into_iter().collect();
    }

    /// What to do now.
    pub(crate) fn next_step(&mut self) -> Step {
        if let Some(s) = self.pending.pop_front() {
            return s;
        }
        match self.phase {
            Phase::Solve => {
                self.phase = Phase::Solving;
                Step::Solve
            }
            Phase::Stepping => self.step_stage(),
            // Waiting on the driver's report or the user: nothing to do until then.
            Phase::Solving | Phase::Building(_) | Phase::Waiting | Phase::Over => Step::Done,
        }
    }

    fn step_stage(&mut self) -> Step {
        let Some(&(stage, last)) = self.order.get(self.pos) else {
            self.phase = Phase::Over;
            return Step::BuildFinished;
        };
        let done = self.done[stage];
        if done == Some(last) {
            self.pos += 1;
            return Step::StageFinished(stage);
        }
        if done.is_none() && self.mode == StepMode::Next && self.paused_before != Some(self.pos) {
            self.paused_before = Some(self.pos);
            self.phase = Phase::Waiting;
            return Step::Pause(Pause::BeforeStage(stage));
        }
        let next_bp = self
            .breakpoints
            .range((stage, 0)..=(stage, last))
            .map(|&(_, k)| k)
            .find(|k| done.is_none_or(|d| *k > d));
        let cut = Cut {
            stage,
            upto: next_bp.unwrap_or(last),
            skip_upto: done,
            at_breakpoint: next_bp.is_some(),
        };
        self.phase = Phase::Building(cut);
        Step::Build(cut)
    }

    /// During the solve: instruction `k` of `stage` finished. True when the solve must stop
    /// there (a breakpoint); then call [`Stepper::stop_at`].
    pub(crate) fn instruction_finished(&mut self, stage: usize, k: usize) -> bool {
        if let Some(d) = self.done.get_mut(stage) {
            *d = Some(d.map_or(k, |x| x.max(k)));
        }
        self.breakpoints.contains(&(stage, k))
    }

    /// The solve went through, or failed: either way it said everything itself.
    pub(crate) fn solved(&mut self) {
        self.phase = Phase::Over;
    }

    /// The solve was stopped at breakpoint `k` of `stage`: build that state from the cache,
    /// pause there, and go on step by step.
    pub(crate) fn stop_at(&mut self, stage: usize, k: usize) {
        let cut = Cut {
            stage,
            upto: k,
            skip_upto: Some(k),
            at_breakpoint: true,
        };
        // From the first stage again: those the solve finished are only reported finished,
        // and one it left half done goes on where it stopped.
        self.pos = 0;
        self.phase = Phase::Building(cut);
        self.pending.push_back(Step::Build(cut));
    }

    /// The cut asked for finished; `ok` false when the build failed.
    pub(crate) fn built(&mut self, ok: bool) {
        let Phase::Building(cut) = self.phase else {
            return;
        };
        if !ok {
            // What depends on a failed stage cannot run: the failure is where it ends.
            self.phase = Phase::Over;
            return;
        }
        self.done[cut.stage] = Some(cut.upto);
        if cut.at_breakpoint {
            self.phase = Phase::Waiting;
            self.pending
                .push_back(Step::Pause(Pause::Breakpoint(cut.stage, cut.upto)));
        } else {
            self.phase = Phase::Stepping;
        }
    }

    /// The user said how to go on after a pause.
    pub(crate) fn resume(&mut self, mode: StepMode, bps: impl IntoIterator<Item = (usize, usize)>) {
        self.mode = mode;
        self.set_breakpoints(bps);
        if self.phase == Phase::Waiting {
            self.phase = Phase::Stepping;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_plan::{PlanInstruction, PlanStage};

    /// A plan whose stage `i` has `sizes[i]` instructions (the FROM included) and reads `deps[i]`.
    fn plan(sizes: &[usize], deps: &[&[usize]]) -> BuildPlan {
        BuildPlan {
            target: sizes.len() - 1,
            stages: sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| PlanStage {
                    index: i,
                    name: Some(format!("s{i}")),
                    base: "busybox".into(),
                    base_stage: None,
                    deps: deps[i].to_vec(),
                    needed: true,
                    instructions: (0..n)
                        .map(|k| PlanInstruction {
                            keyword: if k == 0 { "FROM" } else { "RUN" }.into(),
                            line: k + 1,
                            text: format!("RUN {k}"),
                        })
                        .collect(),
                })
                .collect(),
            ..BuildPlan::default()
        }
    }

    /// base -> left, right -> final (copies from both).
    fn diamond() -> BuildPlan {
        plan(&[3, 2, 2, 2], &[&[], &[0], &[0], &[1, 2]])
    }

    fn whole(stage: usize, last: usize) -> Step {
        Step::Build(Cut {
            stage,
            upto: last,
            skip_upto: None,
            at_breakpoint: false,
        })
    }

    /// Runs the machine, answering every build with `ok` and every pause with `answer`,
    /// and returns every step it took, ending with `Done`.
    fn run(s: &mut Stepper, ok: impl Fn(&Cut) -> bool, answer: StepMode) -> Vec<Step> {
        let mut steps = Vec::new();
        for _ in 0..100 {
            let step = s.next_step();
            steps.push(step);
            match step {
                Step::Build(c) => s.built(ok(&c)),
                // The user's breakpoints stay as they were.
                Step::Pause(_) => {
                    let bps = s.breakpoints.clone();
                    s.resume(answer, bps);
                }
                Step::Done => return steps,
                _ => {}
            }
        }
        panic!("the machine did not end: {steps:?}");
    }

    #[test]
    fn step_through_a_diamond_pauses_before_each_stage_in_order() {
        let mut s = Stepper::new(&diamond(), true);
        let steps = run(&mut s, |_| true, StepMode::Next);
        assert_eq!(
            steps,
            vec![
                Step::Pause(Pause::BeforeStage(0)),
                whole(0, 2),
                Step::StageFinished(0),
                Step::Pause(Pause::BeforeStage(1)),
                whole(1, 1),
                Step::StageFinished(1),
                Step::Pause(Pause::BeforeStage(2)),
                whole(2, 1),
                Step::StageFinished(2),
                Step::Pause(Pause::BeforeStage(3)),
                whole(3, 1),
                Step::StageFinished(3),
                Step::BuildFinished,
                Step::Done,
            ]
        );
    }

    #[test]
    fn continue_in_step_mode_builds_the_rest_without_pausing() {
        let mut s = Stepper::new(&diamond(), true);
        let steps = run(&mut s, |_| true, StepMode::Continue);
        let pauses = steps.iter().filter(|s| matches!(s, Step::Pause(_))).count();
        assert_eq!(pauses, 1, "only the first stage waits: {steps:?}");
        let built: Vec<usize> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Build(c) => Some(c.stage),
                _ => None,
            })
            .collect();
        assert_eq!(built, vec![0, 1, 2, 3]);
    }

    #[test]
    fn stages_the_target_does_not_need_are_skipped() {
        let mut p = diamond();
        p.stages[2].needed = false;
        let mut s = Stepper::new(&p, true);
        let steps = run(&mut s, |_| true, StepMode::Continue);
        assert!(!steps.contains(&whole(2, 1)), "{steps:?}");
        assert!(!steps.contains(&Step::StageFinished(2)));
    }

    #[test]
    fn a_breakpoint_in_a_stage_two_others_depend_on_stops_the_solve_there() {
        let mut s = Stepper::new(&diamond(), false);
        s.set_breakpoints([(0, 1)]);
        assert_eq!(s.next_step(), Step::Solve);
        assert!(!s.instruction_finished(0, 0));
        assert!(
            s.instruction_finished(0, 1),
            "the breakpoint stops the solve"
        );
        s.stop_at(0, 1);
        // The state at the breakpoint, all of it shown already.
        assert_eq!(
            s.next_step(),
            Step::Build(Cut {
                stage: 0,
                upto: 1,
                skip_upto: Some(1),
                at_breakpoint: true
            })
        );
        s.built(true);
        assert_eq!(s.next_step(), Step::Pause(Pause::Breakpoint(0, 1)));
        assert_eq!(s.next_step(), Step::Done, "nothing runs while paused");
        s.resume(StepMode::Continue, [(0, 1)]);
        // The rest of the stage, then both stages that depend on it, then the final one.
        let rest = run(&mut s, |_| true, StepMode::Continue);
        assert_eq!(
            rest,
            vec![
                Step::Build(Cut {
                    stage: 0,
                    upto: 2,
                    skip_upto: Some(1),
                    at_breakpoint: false
                }),
                Step::StageFinished(0),
                whole(1, 1),
                Step::StageFinished(1),
                whole(2, 1),
                Step::StageFinished(2),
                whole(3, 1),
                Step::StageFinished(3),
                Step::BuildFinished,
                Step::Done,
            ]
        );
    }

    #[test]
    fn stages_the_solve_finished_are_not_built_again() {
        let mut s = Stepper::new(&diamond(), false);
        s.set_breakpoints([(2, 1)]);
        assert_eq!(s.next_step(), Step::Solve);
        for (st, k) in [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0)] {
            assert!(!s.instruction_finished(st, k));
        }
        assert!(s.instruction_finished(2, 1));
        // A breakpoint on a stage's last instruction still pauses: it is the stage's state.
        s.stop_at(2, 1);
        let steps = run(&mut s, |_| true, StepMode::Continue);
        let built: Vec<Cut> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Build(c) => Some(*c),
                _ => None,
            })
            .collect();
        assert_eq!(built[0].stage, 2);
        assert!(built[0].at_breakpoint);
        assert_eq!(built[1..], [whole_cut(3, 1)]);
        assert!(steps.contains(&Step::StageFinished(0)));
        assert!(steps.contains(&Step::StageFinished(1)));
    }

    fn whole_cut(stage: usize, upto: usize) -> Cut {
        Cut {
            stage,
            upto,
            skip_upto: None,
            at_breakpoint: false,
        }
    }

    #[test]
    fn breakpoints_set_while_paused_stop_the_next_cut_in_order() {
        let mut s = Stepper::new(&plan(&[5], &[&[]]), true);
        assert_eq!(s.next_step(), Step::Pause(Pause::BeforeStage(0)));
        s.resume(StepMode::Continue, [(0, 3), (0, 1)]);
        let steps = run(&mut s, |_| true, StepMode::Continue);
        let cuts: Vec<(usize, Option<usize>, bool)> = steps
            .iter()
            .filter_map(|s| match s {
                Step::Build(c) => Some((c.upto, c.skip_upto, c.at_breakpoint)),
                _ => None,
            })
            .collect();
        assert_eq!(
            cuts,
            vec![(1, None, true), (3, Some(1), true), (4, Some(3), false)]
        );
    }

    #[test]
    fn a_breakpoint_on_a_stages_last_instruction_pauses_there_before_the_next_stage() {
        // A tour stops after every instruction: the last one of a stage is often the one
        // that matters (the only RUN, the COPY --from).
        let mut s = Stepper::new(&plan(&[2, 2], &[&[], &[0]]), true);
        assert_eq!(s.next_step(), Step::Pause(Pause::BeforeStage(0)));
        s.resume(StepMode::Next, [(0, 1)]);
        let steps = run(&mut s, |_| true, StepMode::Next);
        let cut = Cut {
            stage: 0,
            upto: 1,
            skip_upto: None,
            at_breakpoint: true,
        };
        assert_eq!(
            steps[..4],
            [
                Step::Build(cut),
                Step::Pause(Pause::Breakpoint(0, 1)),
                Step::StageFinished(0),
                Step::Pause(Pause::BeforeStage(1)),
            ]
        );
    }

    #[test]
    fn continue_after_a_failure_builds_nothing_more() {
        let mut s = Stepper::new(&diamond(), true);
        // Stage 1 fails; 2 does not depend on it, but the build is over, as BuildKit's is.
        let steps = run(&mut s, |c| c.stage != 1, StepMode::Continue);
        assert_eq!(
            steps.last(),
            Some(&Step::Done),
            "ends without BuildFinished"
        );
        assert!(!steps.contains(&Step::BuildFinished));
        assert!(!steps.contains(&whole(2, 1)));
        s.resume(StepMode::Continue, []);
        assert_eq!(s.next_step(), Step::Done);
        s.resume(StepMode::Next, [(3, 0)]);
        assert_eq!(s.next_step(), Step::Done);
    }

    #[test]
    fn a_solve_that_goes_through_needs_nothing_more() {
        let mut s = Stepper::new(&diamond(), false);
        assert_eq!(s.next_step(), Step::Solve);
        assert!(!s.instruction_finished(3, 1));
        s.solved();
        assert_eq!(s.next_step(), Step::Done);
    }
}
