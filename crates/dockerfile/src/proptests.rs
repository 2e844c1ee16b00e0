//! The front end never panics: on arbitrary bytes, and on real Dockerfiles with bytes
//! inserted, deleted or replaced (which hits continuation, heredoc and flag edge cases).

use proptest::prelude::*;

use super::*;

const SEEDS: [&str; 7] = [
    "# syntax=docker/dockerfile:1\n# escape=\\\nARG GO=1.22\nFROM --platform=$BUILDPLATFORM golang:${GO} AS build\nWORKDIR /src\nRUN --mount=type=cache,target=/root/.cache \\\n    # comment\n\n    go build -o /app .\nRUN <<EOF <<-\"X\"\necho hi\nEOF\n\tcat\n\tX\nFROM scratch\nCOPY --from=build --chmod=755 /app /app\nCOPY <<EOF /etc/conf\nk=v\nEOF\nENTRYPOINT [\"/app\"]\n",
    "\u{feff}# escape=`\r\nfrom node:20 as Deps\r\nrun npm ci `\r\n  && npm run build\r\nFROM deps AS test\r\nRUN cat >/f <<EOF && true\r\nx\r\nEOF\r\nFROM nginx\r\nCOPY --from=0 /a /b\r\nRUN --mount=from=deps,target=/d ls\r\nONBUILD RUN <<E\r\nx\r\nE\r\nHEALTHCHECK --interval=5s CMD true\r\nSHELL [\"sh\", \"-c\"]\r\n",
    "FROM alpine AS tools\nFROM alpine AS base\nONBUILD COPY --from=tools /t /t\nONBUILD RUN --mount=type=bind,from=tools,target=/m,ro ls\nFROM base AS child\nRUN --network=none --security=sandbox --mount=type=cache,id=c,target=/c,sharing=locked,mode=0755,uid=1,gid=2 --mount=type=tmpfs,target=/t,size=64m --mount=type=secret,id=s,env=S,required --mount=type=ssh,required=false true\nCOPY --parents --exclude=*.md --exclude=x/ --link --chmod=0644 --chown=1:1 ./a/./b /d/\nADD --checksum=sha256:2445 --keep-git-dir=true --link https://github.com/x/y.git#main:dir /src\nADD git@github.com:x/y.git?ref=v1&keep-git-dir https://example.com/f.tgz /dl/\nFROM alpine AS gpu\nRUN --device=vendor.com/gpu=all,required true\nFROM child\n",
    "FROM a AS one\nRUN --mount=\"type=bind,\"\"from=one\" x\nONBUILD ADD --unpack=false http://h/x.git y\nFROM one AS two\nCOPY --from=two a b\n",
    "ARG A\nARG B=${A:-x}\nFROM ${B:+img}:${A} AS one\nFROM one\nCOPY --from=one --link a b\nCOPY --from=nginx:1 a b\nLABEL a=b\nENV X=1 Y=\"2 3\"\nEXPOSE 80\nUSER me\nVOLUME [\"/v\"]\nSTOPSIGNAL TERM\n",
    "ARG OK=${TARGETPLATFORM#linux/amd64}\nARG OK=${OK##*/}\nARG OK=${OK:+\"no\"}\nARG OK=${OK:-\"yes\"}\nARG F=/a/b.tar.gz\nARG G=${F%.*}-${F%%.*}-${F/a/x}-${F//\\//-}-${X:-${F#*/}}\nFROM img-${OK}:${G%\\*} AS pick-yes\nFROM pick-${OK}\nRUN echo ${TARGETARCH}\n",
    "# escape=`\nARG DIR=C:\\tools\\bin\nFROM mcr.microsoft.com/windows:${DIR##*\\\\} AS build\nCOPY build\\ C:\\build\\\nRUN dir `\n  C:\\ && echo \\\nFROM mcr.microsoft.com/windows/nanoserver\nCOPY --from=build [\"C:\\\\a\", \"D:\\\\\"]\n",
];

fn exercise(bytes: &[u8]) {
    let ignored = |p: &str| p.len().is_multiple_of(2).then(|| p.to_string());
    let input = lint::Input {
        ignored: Some(&ignored),
        ..lint::Input::default()
    };
    let _ = lint::check_bytes(bytes, &input);
    if let Ok(df) = Dockerfile::parse(bytes) {
        let _ = StageGraph::build(&df, &GraphOptions::default());
        let _ = df.buildkit_only();
        for (i, s) in df.stages.iter().enumerate() {
            let _ = df.cut_after(i, None);
            let _ = df.cut_after(i, Some(s.instructions.len().saturating_sub(1)));
        }
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Replace(usize, u8),
}

fn edit() -> impl Strategy<Value = Edit> {
    let interesting = prop::sample::select(vec![
        b"\\".to_vec(),
        b"`".to_vec(),
        b"\n".to_vec(),
        b"\r\n".to_vec(),
        b"<<".to_vec(),
        b"<<-EOF".to_vec(),
        b"\"".to_vec(),
        b"'".to_vec(),
        b"--".to_vec(),
        b"--from=".to_vec(),
        b"--mount=".to_vec(),
        b",from=".to_vec(),
        b",type=".to_vec(),
        b"ONBUILD ".to_vec(),
        b"https://".to_vec(),
        b".git#".to_vec(),
        b"?".to_vec(),
        b"=".to_vec(),
        b",".to_vec(),
        b"${".to_vec(),
        b"$".to_vec(),
        b"[".to_vec(),
        b"#".to_vec(),
        b"%".to_vec(),
        b"/".to_vec(),
        b"}".to_vec(),
        b":?".to_vec(),
        b"*".to_vec(),
        b"${V##*/}".to_vec(),
        b" ".to_vec(),
        b"\t".to_vec(),
        "\u{e9}".as_bytes().to_vec(),
        vec![0xff],
        vec![0],
    ]);
    prop_oneof![
        (any::<usize>(), interesting).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1usize..8).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Replace(i, b)),
    ]
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = bytes.len().max(1);
        match e {
            Edit::Insert(i, b) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, b.iter().copied());
            }
            Edit::Delete(i, n) if !bytes.is_empty() => {
                let at = i % len;
                let end = (at + n).min(bytes.len());
                bytes.drain(at..end);
            }
            Edit::Replace(i, b) if !bytes.is_empty() => bytes[i % len] = *b,
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }

    #[test]
    fn never_panics_on_ascii_soup(text in "[ -~\t\n\\\\`<$]{0,300}") {
        exercise(text.as_bytes());
        exercise(format!("FROM a\n{text}").as_bytes());
    }

    #[test]
    fn never_panics_expanding_words(
        word in "([a-z$/#%:?*+{}\\[\\]\"'`-]|\\$\\{V|\\\\){0,40}",
        escape in prop::sample::select(vec!['\\', '`']),
    ) {
        let env = super::expand::Env::from([
            ("V".to_string(), "linux/amd64".to_string()),
            ("E".to_string(), String::new()),
        ]);
        let _ = super::expand::expand_word(&word, escape, &env);
        exercise(format!("ARG A={word}\nFROM a:${{A}}-{word}\n").as_bytes());
        exercise(format!("# escape=`\nARG A={word}\nFROM a:{word}\n").as_bytes());
    }

    #[test]
    fn never_panics_on_mutated_dockerfiles(
        seed in 0usize..SEEDS.len(),
        edits in prop::collection::vec(edit(), 1..8),
    ) {
        exercise(&apply(SEEDS[seed].as_bytes().to_vec(), &edits));
    }
}

#[test]
fn seeds_parse() {
    for (i, s) in SEEDS.iter().enumerate() {
        let df = Dockerfile::parse(s.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let g = StageGraph::build(&df, &GraphOptions::default());
        // Seed 3 is rejected on purpose: stage `two` copies from itself.
        if i == 3 {
            assert!(g.is_err());
        } else {
            g.unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
