//! The numbers explanations quote, gathered from the real images of a build: each stage's
//! image (the one the build left, or one from the cache), its index, its layers mapped to
//! the instructions that made them, and provenance for what reaches the final image. The
//! words come from the pure `explain` layer; this only fetches what it counts.

use tokio::sync::mpsc::unbounded_channel;

use super::{Events, Session, SessionError, SessionEvent};
use crate::explain::numbers::{self, BuildNumbers, StageNumbers};
use stagescope_fs::FsIndex;
use stagescope_plan::state::StageState;
use stagescope_plan::{BuildState, StageRef};

impl Session {
    /// The build with nobody watching, like [`Session::build_quietly`], and the state its
    /// events fold into (what was cached, how long each instruction took).
    pub async fn build_with_state(
        &self,
    ) -> Result<(Vec<Option<String>>, BuildState), SessionError> {
        let (tx, mut rx) = unbounded_channel();
        let events = Events::new(move |ev| {
            if let SessionEvent::Build(ev) = ev {
                let _ = tx.send(ev);
            }
        });
        let outcome = self.run(&events).await?;
        let mut state = BuildState::new(self.plan.clone());
        while let Ok(ev) = rx.try_recv() {
            state.apply(&ev);
        }
        self.went_through(outcome.failed)?;
        Ok((outcome.stage_images, state))
    }

    /// One stage's numbers: files and bytes of its image, what each instruction's layer
    /// wrote (with cache and time from `state`, that stage's part of the build state), and
    /// the index they were counted in. A pane can ask for the selected stage alone.
    pub(crate) async fn stage_numbers(
        &self,
        built: &[Option<String>],
        stage: usize,
        state: Option<&StageState>,
    ) -> Result<(StageNumbers, FsIndex), SessionError> {
        self.state_numbers(built, StageRef::whole(stage), state)
            .await
    }

    /// [`Session::stage_numbers`] for the state `at` (a stage cut after an instruction, as a
    /// tour pauses there): the stage's files so far, and what each instruction up to there
    /// wrote.
    pub async fn state_numbers(
        &self,
        built: &[Option<String>],
        at: StageRef,
        state: Option<&StageState>,
    ) -> Result<(StageNumbers, FsIndex), SessionError> {
        let image = self.image_of(built, at, &Events::none()).await?;
        // One open gives the index and what the layers hid of each other.
        let opened = self.open_files(&image, |_| {}).await?;
        let ix = std::sync::Arc::unwrap_or_clone(opened.index);
        let layers = super::files::layers(self.engine()?, &image).await?;
        let stage = at.stage;
        let upto = match at.at {
            Some(k) => k,
            None => self.plan.stages[stage].instructions.len().saturating_sub(1),
        };
        let mut instructions = numbers::from_state_layers(&self.plan, stage, upto, &layers);
        if let Some(st) = state {
            numbers::with_state(&mut instructions, st);
        }
        // An index cached before waste was kept comes without it: then the layers (from
        // their cache) are composed once more for it.
        let waste = match (opened.waste, self.engine()) {
            (Some(w), _) => Some(w),
            (None, Ok(e)) => super::files::open_waste(e, &image, |_| {})
                .await
                .ok()
                .map(|o| o.waste),
            (None, Err(_)) => None,
        };
        if let Some(w) = &waste {
            numbers::with_waste(&mut instructions, w);
        }
        let (files, bytes) = numbers::totals(&ix);
        let n = StageNumbers {
            files,
            bytes,
            instructions,
            reach: None,
        };
        Ok((n, ix))
    }

    /// Per stage the target needs, [`Session::stage_numbers`]; for the stages the target
    /// copies from, what reaches the final image; the critical path. `note` hears what is
    /// being done.
    pub async fn explain_numbers(
        &self,
        built: &[Option<String>],
        state: Option<&BuildState>,
        note: &(dyn Fn(&str) + Sync),
    ) -> Result<BuildNumbers, SessionError> {
        let n = self.plan.stages.len();
        let mut out = BuildNumbers {
            stages: vec![None; n],
            ..BuildNumbers::default()
        };
        let mut indexes: Vec<Option<FsIndex>> = vec![None; n];
        for s in (0..n).filter(|&s| self.graph.needed[s]) {
            note(&format!(
                "indexing {}…",
                StageRef::whole(s).label(&self.plan)
            ));
            let st = state.and_then(|st| st.stages.get(s));
            let (numbers, ix) = self.stage_numbers(built, s, st).await?;
            out.stages[s] = Some(numbers);
            indexes[s] = Some(ix);
        }
        let target = self.plan.target;
        let model = self.release_model(StageRef::whole(target));
        if let Some(release) = &indexes[target] {
            let sources: Vec<(usize, &FsIndex)> = model
                .source_stages()
                .into_iter()
                .filter_map(|s| indexes[s].as_ref().map(|ix| (s, ix)))
                .collect();
            for (s, reach) in numbers::reach(&model, release, &sources) {
                if let Some(Some(sn)) = out.stages.get_mut(s) {
                    sn.reach = Some(reach);
                }
            }
        }
        if let Some(st) = state {
            out.critical_path = self.plan.critical_path(&st.stage_durations());
            out.duration_ms = st.finished.as_ref().map(|f| f.1);
        }
        Ok(out)
    }
}
