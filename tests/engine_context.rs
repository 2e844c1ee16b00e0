//! The context stagescope streams, seen from inside a build: `COPY . /ctx` then `find`, with
//! both builders, must list exactly what `list_context` says .dockerignore lets through.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::{Cleanup, Project, build_json, nonce};
use stagescope_context::list_context;

const DOCKERIGNORE: &str = "\
# tricky on purpose
*.tmp
!keep.tmp
**/*.log
!important/**/*.log
/rootonly
build/
!build/dist
docs/**/draft*
?.cfg
[ab]*.bin
secret/
!secret/public.txt
**/node_modules
 spaced/x 
";

#[test]
fn dockerignore_excludes_what_docker_says() {
    require_docker!();
    let n = nonce();
    let project = Project::new(&format!(
        "FROM busybox\nCOPY . /ctx\nRUN echo {n} && cd /ctx && find . | sort\n"
    ));
    project.write(".dockerignore", DOCKERIGNORE);
    for f in [
        "a.tmp",
        "keep.tmp",
        "sub/b.tmp",
        "x.log",
        "deep/er/y.log",
        "important/z.log",
        "important/q/w.log",
        "rootonly",
        "sub/rootonly",
        "build/obj.o",
        "build/dist/app",
        "docs/draft.md",
        "docs/a/b/draft-2.md",
        "docs/final.md",
        "a.cfg",
        "ab.cfg",
        "a1.bin",
        "c1.bin",
        "secret/key",
        "secret/public.txt",
        "web/node_modules/m.js",
        "node_modules/n.js",
        "spaced/x",
        "spaced/y",
        "plain.txt",
    ] {
        project.write(f, f);
    }

    // Expected: every sent entry and the directories above them, as `find .` prints them.
    let sent = list_context(project.path(), None).expect("list_context");
    let mut expected = BTreeSet::from([".".to_string()]);
    for p in &sent {
        let mut p: PathBuf = p.clone();
        loop {
            expected.insert(format!("./{}", p.display()));
            if !p.pop() || p.as_os_str().is_empty() {
                break;
            }
        }
    }
    // Guard against a vacuous pass: the rules do exclude and re-include.
    for gone in [
        "./a.tmp",
        "./x.log",
        "./build/obj.o",
        "./secret/key",
        "./rootonly",
    ] {
        assert!(!expected.contains(gone), "{gone} should be ignored");
    }
    for kept in [
        "./keep.tmp",
        "./important/q/w.log",
        "./build/dist/app",
        "./secret/public.txt",
        "./sub/rootonly",
        "./docs/final.md",
        "./ab.cfg",
        "./c1.bin",
    ] {
        assert!(expected.contains(kept), "{kept} should be sent");
    }

    for builder in ["buildkit", "classic"] {
        let mut cleanup = Cleanup::new();
        let run = build_json(project.path(), &["--builder", builder], &mut cleanup);
        assert_eq!(run.code, Some(0), "{builder}: {}", run.describe());
        let listed: BTreeSet<String> = run
            .log_text()
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('.'))
            .map(str::to_string)
            .collect();
        assert_eq!(
            listed, expected,
            "{builder}: what the build saw (left) vs list_context (right)"
        );
    }
}
