//! Naming a stage, or its state after an instruction, as users write it: `builder`, `2`,
//! `builder@3`.

use super::plan::BuildPlan;

/// A stage, or its state after instruction `at` (0 is the FROM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageRef {
    pub stage: usize,
    pub at: Option<usize>,
}

impl StageRef {
    pub fn whole(stage: usize) -> Self {
        StageRef { stage, at: None }
    }

    /// `builder`, or `builder@3` for a state inside it.
    pub fn label(&self, plan: &BuildPlan) -> String {
        let name = plan.stages[self.stage].buildkit_name();
        match self.at {
            Some(n) => format!("{name}@{n}"),
            None => name,
        }
    }

    /// `name`, `index`, or `name@N`.
    pub fn parse(plan: &BuildPlan, spec: &str) -> Result<StageRef, String> {
        let (name, at) = match spec.rsplit_once('@') {
            Some((n, k)) => {
                let k = k
                    .parse::<usize>()
                    .map_err(|_| format!("{spec:?}: expected STAGE@N with N a number"))?;
                (n, Some(k))
            }
            None => (spec, None),
        };
        let stage = stage_index(plan, name)?;
        let n = plan.stages[stage].instructions.len();
        if let Some(k) = at
            && k >= n
        {
            return Err(format!(
                "{spec}: stage {name} has instructions 0 to {}",
                n - 1
            ));
        }
        Ok(StageRef { stage, at })
    }
}

/// The stage's index in the plan: its name (case-insensitive, as BuildKit) or its index.
pub fn stage_index(plan: &BuildPlan, wanted: &str) -> Result<usize, String> {
    plan.stages
        .iter()
        .position(|s| {
            s.name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
        })
        .or_else(|| plan.stages.iter().position(|s| s.display_name() == wanted))
        .ok_or_else(|| {
            let names: Vec<String> = plan.stages.iter().map(|s| s.display_name()).collect();
            format!("no stage {wanted:?}; stages: {}", names.join(", "))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixtures::three_stages;

    #[test]
    fn names_indexes_and_states_parse() {
        let p = three_stages();
        assert_eq!(StageRef::parse(&p, "BUILDER"), Ok(StageRef::whole(1)));
        assert_eq!(StageRef::parse(&p, "2"), Ok(StageRef::whole(2)));
        assert_eq!(
            StageRef::parse(&p, "deps@1"),
            Ok(StageRef {
                stage: 0,
                at: Some(1)
            })
        );
        assert_eq!(
            StageRef::parse(&p, "deps@1").map(|r| r.label(&p)),
            Ok("deps@1".into())
        );
        assert!(StageRef::parse(&p, "deps@9").is_err_and(|e| e.contains("0 to 1")));
        assert!(StageRef::parse(&p, "deps@x").is_err());
        assert!(StageRef::parse(&p, "nosuch").is_err_and(|e| e.contains("deps, builder, 2")));
    }
}
