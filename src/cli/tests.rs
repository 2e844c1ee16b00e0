use super::*;

#[test]
fn parses_graph_flags() {
    let cli = Cli::try_parse_from([
        "stagescope",
        "graph",
        "-f",
        "x/Dockerfile",
        "--target",
        "build",
        "--build-arg",
        "A=1",
        "--build-arg",
        "B=2=3",
        "--format",
        "mermaid",
    ])
    .unwrap();
    let Some(Command::Graph(g)) = cli.command else {
        panic!("not graph")
    };
    assert_eq!(g.format, GraphFormat::Mermaid);
    let o = g.dockerfile.options();
    assert_eq!(o.target.as_deref(), Some("build"));
    assert_eq!(o.build_args["B"], "2=3");
}

#[test]
fn parses_build_flags_as_docker_spells_them() {
    let cli = Cli::try_parse_from([
        "stagescope",
        "build",
        "ctx",
        "-f",
        "ctx/D",
        "-t",
        "a:1",
        "-t",
        "b",
        "--no-cache",
        "--builder",
        "classic",
        "--progress",
        "json",
        "--platform",
        "linux/amd64",
    ])
    .unwrap();
    let Some(Command::Build(b)) = cli.command else {
        panic!("not build")
    };
    assert_eq!(b.flags.context, PathBuf::from("ctx"));
    assert_eq!(b.flags.tags, vec!["a:1", "b"]);
    assert_eq!(b.flags.builder, BuilderArg::Classic);
    assert_eq!(b.progress, ProgressArg::Json);
    assert_eq!(b.flags.dockerfile_args().file, PathBuf::from("ctx/D"));
}

#[test]
fn no_subcommand_opens_the_tui_with_build_flags() {
    let cli = Cli::try_parse_from(["stagescope", "ctx", "--step", "--target", "b"]).unwrap();
    assert!(cli.command.is_none());
    assert!(cli.tui.step);
    assert_eq!(cli.tui.flags.context, PathBuf::from("ctx"));
    assert_eq!(cli.tui.flags.target.as_deref(), Some("b"));
    let cli = Cli::try_parse_from(["stagescope"]).unwrap();
    assert_eq!(cli.tui.flags.context, PathBuf::from("."));
    let cli = Cli::try_parse_from(["stagescope", "graph"]).unwrap();
    assert!(matches!(cli.command, Some(Command::Graph(_))));
}

#[test]
fn tour_takes_the_build_flags_and_the_tui_takes_explain() {
    let cli = Cli::try_parse_from(["stagescope", "ctx", "--explain"]).unwrap();
    assert!(cli.tui.explain && !cli.tui.step);
    let cli = Cli::try_parse_from(["stagescope", "tour", "ctx", "--target", "b"]).unwrap();
    let Some(Command::Tour(t)) = cli.command else {
        panic!("not a tour: {:?}", cli.command);
    };
    assert_eq!(t.flags.context, PathBuf::from("ctx"));
    assert_eq!(t.flags.target.as_deref(), Some("b"));
    let cli = Cli::try_parse_from(["stagescope", "tour"]).unwrap();
    assert!(matches!(cli.command, Some(Command::Tour(t)) if t.flags.context.as_os_str() == "."));
}

#[test]
fn a_word_that_is_neither_a_subcommand_nor_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("Dockerfile");
    std::fs::write(&file, "FROM a\n").unwrap();
    let (dir, file) = (dir.path().to_str().unwrap(), file.to_str().unwrap());
    let stray = |args: &[&str]| stray_word(["stagescope"].iter().chain(args));
    assert_eq!(stray(&["inspect", "x"]), Some("inspect".into()));
    assert_eq!(stray(&["nosuch"]), Some("nosuch".into()));
    assert_eq!(
        stray(&["--step", "-t", "a", "nosuch"]),
        Some("nosuch".into())
    );
    assert_eq!(stray(&[file]), Some(file.into()));
    // A directory, a subcommand, or nothing at all: clap's parse goes on as before.
    for args in [
        &[][..],
        &[dir],
        &[dir, "x"],
        &["-f", "nosuch"],
        &["graph"],
        &["build", "nosuch"],
        &["help"],
        &["--help"],
        &["completions"],
    ] {
        assert_eq!(stray(args), None, "{args:?}");
    }
    let e = stray_word_error(&"inspect".into());
    assert!(
        e.starts_with(
            "error: 'inspect' is neither a subcommand nor a directory (subcommands: graph, build, "
        ),
        "{e}"
    );
    assert!(
        e.ends_with(
            ", diff-images, explain, waste, tour, history, replay, compare, builds, attach, clean, completions, man)"
        ),
        "{e}"
    );
}

#[test]
fn parses_completions_and_man() {
    let cli = Cli::try_parse_from(["stagescope", "completions", "zsh"]).unwrap();
    let Some(Command::Completions(c)) = cli.command else {
        panic!("not completions")
    };
    assert_eq!(c.shell, clap_complete::Shell::Zsh);
    assert!(Cli::try_parse_from(["stagescope", "completions", "tcsh"]).is_err());
    let cli = Cli::try_parse_from(["stagescope", "man", "--dir", "out"]).unwrap();
    let Some(Command::Man(m)) = cli.command else {
        panic!("not man")
    };
    assert_eq!(m.dir, Some(PathBuf::from("out")));
}

#[test]
fn parses_tree_flags() {
    let cli = Cli::try_parse_from(["stagescope", "tree", "--image", "busybox", "--json"]).unwrap();
    let Some(Command::Tree(t)) = cli.command else {
        panic!("not tree")
    };
    assert_eq!(t.image.as_deref(), Some("busybox"));
    assert!(t.json);
    let cli =
        Cli::try_parse_from(["stagescope", "tree", "ctx", "--stage", "b", "--at", "2"]).unwrap();
    let Some(Command::Tree(t)) = cli.command else {
        panic!("not tree")
    };
    assert_eq!((t.stage.as_deref(), t.at), (Some("b"), Some(2)));
    assert_eq!(t.flags.context, PathBuf::from("ctx"));
    assert!(Cli::try_parse_from(["stagescope", "tree"]).is_err());
    assert!(Cli::try_parse_from(["stagescope", "tree", "--image", "x", "--stage", "y"]).is_err());
    assert!(Cli::try_parse_from(["stagescope", "tree", "--image", "x", "--at", "1"]).is_err());
}

#[test]
fn directory_without_dockerfile() {
    let dir = tempfile::tempdir().unwrap();
    let args = DockerfileArgs {
        file: dir.path().to_path_buf(),
        target: None,
        build_args: vec![],
        platform: None,
    };
    let e = args.load().unwrap_err();
    assert_eq!((e.line, e.col), (1, 1));
    assert!(e.message.starts_with("no Dockerfile in directory"));
    assert!(e.to_string().contains("Dockerfile:1:1: no Dockerfile"));
    std::fs::write(dir.path().join("Dockerfile"), "FROM a\n").unwrap();
    assert_eq!(args.load().unwrap().dockerfile.stages.len(), 1);
}
