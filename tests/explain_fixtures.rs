//! Every Dockerfile of the graph fixtures (heredocs, ONBUILD, escapes, remote sources, odd
//! flags…) explained without a build: no panic, a sentence for every instruction, and the
//! three renderings made. No Docker engine needed.

use std::path::PathBuf;

use stagescope_core::explain::handout;
use stagescope_dockerfile::{Dockerfile, GraphOptions, StageGraph};
use stagescope_report::explain::{json, markdown, text};

#[test]
fn every_fixture_is_explained() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graph");
    let mut explained = 0;
    for dir in std::fs::read_dir(&root).expect("fixtures").flatten() {
        let path = dir.path().join("Dockerfile");
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(df) = Dockerfile::parse(&bytes) else {
            continue;
        };
        let Ok(g) = StageGraph::build(&df, &GraphOptions::default()) else {
            continue;
        };
        let h = handout(&df, &g, None);
        for st in &h.stages {
            assert!(!st.explanation.sentences.is_empty(), "{}", path.display());
            for i in &st.instructions {
                assert!(
                    i.explanation.ends_with('.') && i.explanation.len() > 40,
                    "{}:{}: {:?}",
                    path.display(),
                    i.line,
                    i.explanation
                );
            }
        }
        assert!(text(&h).contains("Stage "));
        assert!(markdown(&h, &df, &g).contains("```mermaid"));
        assert!(json(&h).starts_with('{'));
        explained += 1;
    }
    assert!(explained >= 30, "only {explained} fixtures explained");
}
