//! The command line as a person meets it, through the real binary: a word that is neither a
//! subcommand nor a directory, and the completion scripts and man pages made from the clap
//! definitions. No Docker engine needed.

use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_stagescope");

/// The subcommands a person is told about (`setup-base` is hidden).
const SUBCOMMANDS: [&str; 17] = [
    "graph",
    "build",
    "check",
    "tree",
    "diff",
    "diff-images",
    "explain",
    "waste",
    "tour",
    "history",
    "replay",
    "compare",
    "builds",
    "attach",
    "clean",
    "completions",
    "man",
];

fn run_in(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run stagescope")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("UTF-8 output")
}

#[test]
fn a_word_that_is_neither_a_subcommand_nor_a_directory_says_so() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), "FROM busybox\n").unwrap();
    for (args, word) in [
        (&["inspect", "x"][..], "inspect"),
        (&["nosuch"][..], "nosuch"),
        (&["--step", "grph"][..], "grph"),
        // A file is not a build context either.
        (&["Dockerfile"][..], "Dockerfile"),
    ] {
        let out = run_in(dir.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err,
            format!(
                "error: '{word}' is neither a subcommand nor a directory (subcommands: {})\n",
                SUBCOMMANDS.join(", ")
            ),
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn a_directory_still_goes_to_the_tui() {
    // Without a terminal the TUI refuses to start: that message shows the directory (given,
    // or `.` by default) was taken as the build context and not as a stray word.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("ctx")).unwrap();
    for args in [&["ctx"][..], &[][..]] {
        let out = run_in(dir.path(), args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("the terminal UI needs a terminal"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn bash_completions_name_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let script = stdout(&run_in(dir.path(), &["completions", "bash"]));
    assert!(script.contains("complete -F _stagescope"), "{script}");
    for name in SUBCOMMANDS {
        assert!(script.contains(name), "no {name} in the bash script");
    }
    // Each shell clap_complete knows gets a script, naming a subcommand.
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let script = stdout(&run_in(dir.path(), &["completions", shell]));
        assert!(script.contains("diff-images"), "{shell}: {script}");
    }
    let out = run_in(dir.path(), &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A subcommand's name as roff writes it in the man page (`-` escaped).
fn roff(name: &str) -> String {
    name.replace('-', "\\-")
}

#[test]
fn man_page_is_roff_naming_the_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let page = stdout(&run_in(dir.path(), &["man"]));
    // roff's two-line apostrophe preamble (`.ie`/`.el`), then the title.
    let first = page
        .lines()
        .find(|l| !l.starts_with(".ie ") && !l.starts_with(".el "))
        .unwrap_or_default();
    assert!(first.starts_with(".TH stagescope 1"), "{first}");
    assert!(page.contains(".SH SUBCOMMANDS"));
    for name in SUBCOMMANDS {
        let entry = format!("stagescope\\-{}(1)", roff(name));
        assert!(page.contains(&entry), "no {entry} in the man page");
    }
    assert!(
        !page.contains("setup\\-base"),
        "a hidden subcommand is in the man page"
    );
}

#[test]
fn man_dir_writes_a_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["man", "--dir", "pages/man1"]);
    assert!(stdout(&out).is_empty());
    let pages = dir.path().join("pages/man1");
    let mut written: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    let mut expected: Vec<String> = SUBCOMMANDS
        .iter()
        .map(|n| format!("stagescope-{n}.1"))
        .chain(["stagescope.1".to_string()])
        .collect();
    expected.sort();
    assert_eq!(written, expected);
    let graph = std::fs::read_to_string(pages.join("stagescope-graph.1")).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        graph.contains(&format!(".TH stagescope-graph 1  \"stagescope {version}\"")),
        "{graph}"
    );
}

#[test]
fn graph_takes_a_context_as_the_other_commands_do() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let by_context = stdout(&run_in(repo, &["graph", "assets/demo"]));
    let by_file = stdout(&run_in(repo, &["graph", "-f", "assets/demo"]));
    assert_eq!(by_context, by_file);
    assert!(by_context.starts_with("Dockerfile: assets/demo/Dockerfile"));
    // -f wins over the context, as in `docker build`.
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run_in(
        repo,
        &[
            "graph",
            tmp.path().to_str().expect("utf-8 path"),
            "-f",
            "assets/demo/Dockerfile",
        ],
    );
    assert!(stdout(&out).starts_with("Dockerfile: assets/demo/Dockerfile"));
}
