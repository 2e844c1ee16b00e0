//! The matcher against a reference model written from Docker's documented `.dockerignore`
//! rules rather than from patternmatcher's code: a pattern is `/`-separated segments; `**`
//! as a whole segment spans any number of directories (at the end: at least one, as Go's
//! `foo/**` does not match `foo` itself); in a segment `*` is any run of characters, `?` one
//! character, `[...]` a class (`^` negates, `a-c` a range) and `\` escapes; a leading `/`
//! or `./` and a trailing `/` do not matter; a path is excluded when the last pattern that
//! matches it or one of its parent directories is not a `!` exception.
//!
//! The walk (`matches_using_parent_results`, what the docker CLI's tar walk uses) differs in
//! one way the docker CLI shows too (`x/*` then `!x` still drops `x/y`): a pattern that the
//! last-match rule skipped at a directory is not remembered as matching it. The walk model
//! below follows that rule, on top of the same per-pattern segment matcher. Patterns are
//! matched as a regexp, so a negated class `[^a]` also matches `/`; the generated negated
//! classes name `/` (`[^/a]`) to stay within what the segment model can say.

use proptest::prelude::*;

use super::*;

/// One piece of a segment.
#[derive(Debug, Clone)]
enum Piece {
    Lit(char),
    Star,
    Any,
    /// Negated?, ranges (single chars are `(c, c)`).
    Class(bool, Vec<(char, char)>),
}

impl Piece {
    fn text(&self) -> String {
        match self {
            Piece::Lit(c) if "*?[]\\".contains(*c) => format!("\\{c}"),
            Piece::Lit(c) => c.to_string(),
            Piece::Star => "*".into(),
            Piece::Any => "?".into(),
            Piece::Class(neg, ranges) => {
                let mut s = String::from("[");
                if *neg {
                    // Docker matches with a regexp, where `[^a]` also matches `/`
                    // (`*[^a]?` drops `a/*`); naming `/` keeps to the documented form.
                    s.push_str("^/");
                }
                for (a, b) in ranges {
                    s.push(*a);
                    if a != b {
                        s.push('-');
                        s.push(*b);
                    }
                }
                s.push(']');
                s
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Seg {
    DoubleStar,
    Glob(Vec<Piece>),
}

#[derive(Debug, Clone)]
struct ModelPattern {
    exception: bool,
    segs: Vec<Seg>,
    /// How it is written: a leading `/` or `./`, a trailing `/`.
    lead: &'static str,
    trail: bool,
}

impl ModelPattern {
    fn text(&self) -> String {
        let body: Vec<String> = self
            .segs
            .iter()
            .map(|s| match s {
                Seg::DoubleStar => "**".to_string(),
                Seg::Glob(p) => p.iter().map(Piece::text).collect(),
            })
            .collect();
        format!(
            "{}{}{}{}",
            if self.exception { "!" } else { "" },
            self.lead,
            body.join("/"),
            if self.trail { "/" } else { "" }
        )
    }

    fn matches(&self, path: &[&str]) -> bool {
        match_segs(&self.segs, path)
    }
}

fn match_segs(segs: &[Seg], path: &[&str]) -> bool {
    match segs.split_first() {
        None => path.is_empty(),
        Some((Seg::DoubleStar, rest)) => {
            let least = usize::from(rest.is_empty());
            (least..=path.len()).any(|skip| match_segs(rest, &path[skip..]))
        }
        Some((Seg::Glob(pieces), rest)) => {
            !path.is_empty()
                && match_glob(pieces, &path[0].chars().collect::<Vec<_>>())
                && match_segs(rest, &path[1..])
        }
    }
}

fn match_glob(pieces: &[Piece], s: &[char]) -> bool {
    match pieces.split_first() {
        None => s.is_empty(),
        Some((Piece::Star, rest)) => (0..=s.len()).any(|k| match_glob(rest, &s[k..])),
        Some((p, rest)) => {
            let Some((&c, tail)) = s.split_first() else {
                return false;
            };
            let ok = match p {
                Piece::Lit(l) => *l == c,
                Piece::Any => true,
                Piece::Class(neg, ranges) => ranges.iter().any(|(a, b)| *a <= c && c <= *b) != *neg,
                Piece::Star => unreachable!(),
            };
            ok && match_glob(rest, tail)
        }
    }
}

/// The documented rule: the last pattern matching the path or a parent decides.
fn model_excluded(patterns: &[ModelPattern], path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    let mut excluded = false;
    for p in patterns {
        if (1..=segs.len()).any(|n| p.matches(&segs[..n])) {
            excluded = !p.exception;
        }
    }
    excluded
}

/// The walk: each directory hands its per-pattern results to its children.
fn model_walk(patterns: &[ModelPattern], path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').collect();
    let mut parent: Option<Vec<bool>> = None;
    let mut excluded = false;
    for n in 1..=segs.len() {
        let mut here = vec![false; patterns.len()];
        excluded = false;
        for (i, p) in patterns.iter().enumerate() {
            let mut m = parent.as_ref().is_some_and(|v| v[i]);
            if !m {
                if p.exception != excluded {
                    continue;
                }
                m = p.matches(&segs[..n]);
            }
            here[i] = m;
            if m {
                excluded = !p.exception;
            }
        }
        parent = Some(here);
    }
    excluded
}

const ALPHABET: &[char] = &['a', 'b', 'c', '.', '*', '?', '['];

fn piece() -> impl Strategy<Value = Piece> {
    let ranges = prop::collection::vec(
        (0usize..3, 0usize..3).prop_map(|(a, b)| {
            let (a, b) = (a.min(b), a.max(b));
            (ALPHABET[a], ALPHABET[b])
        }),
        1..3,
    );
    prop_oneof![
        6 => prop::sample::select(ALPHABET).prop_map(Piece::Lit),
        2 => Just(Piece::Star),
        1 => Just(Piece::Any),
        1 => (any::<bool>(), ranges).prop_map(|(n, r)| Piece::Class(n, r)),
    ]
}

fn seg() -> impl Strategy<Value = Seg> {
    prop_oneof![
        1 => Just(Seg::DoubleStar),
        5 => prop::collection::vec(piece(), 1..4)
            // `**` inside a segment is not one of the documented forms.
            .prop_filter("no ** inside a segment", |p| {
                !p.windows(2).any(|w| matches!(w, [Piece::Star, Piece::Star]))
            })
            // `.` and `..` segments are cleaned away (`filepath.Clean`), not matched.
            .prop_filter("not . or ..", |p| {
                !matches!(p.as_slice(), [Piece::Lit('.')] | [Piece::Lit('.'), Piece::Lit('.')])
            })
            .prop_map(Seg::Glob),
    ]
}

fn pattern() -> impl Strategy<Value = ModelPattern> {
    (
        prop::bool::weighted(0.3),
        prop::collection::vec(seg(), 1..4),
        prop::sample::select(&["", "/", "./"][..]),
        prop::bool::weighted(0.2),
    )
        .prop_filter("no ** twice in a row", |(_, segs, _, _)| {
            !segs
                .windows(2)
                .any(|w| matches!(w, [Seg::DoubleStar, Seg::DoubleStar]))
        })
        .prop_map(|(exception, segs, lead, trail)| ModelPattern {
            exception,
            segs,
            lead,
            trail,
        })
}

fn path() -> impl Strategy<Value = String> {
    let seg = prop::collection::vec(prop::sample::select(ALPHABET), 1..4)
        .prop_map(|c| c.into_iter().collect::<String>())
        // A walk never meets `.` or `..`.
        .prop_filter("a real name", |s| s != "." && s != "..");
    prop::collection::vec(seg, 1..5).prop_map(|s| s.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 800, ..ProptestConfig::default() })]

    /// Every pattern form, against the documented rules.
    #[test]
    fn matcher_agrees_with_the_documented_rules(
        patterns in prop::collection::vec(pattern(), 1..5),
        paths in prop::collection::vec(path(), 1..6),
    ) {
        let text: String = patterns.iter().map(|p| p.text() + "\n").collect();
        let pm = PatternMatcher::from_dockerignore(&text)
            .map_err(|e| TestCaseError::fail(format!("{text:?} did not compile: {e}")))?;
        for path in &paths {
            prop_assert_eq!(
                pm.matches_or_parent_matches(path),
                model_excluded(&patterns, path),
                "patterns {:?}, path {:?}", text, path
            );
            // The walk, handing each directory's results down as the tar walk does.
            let segs: Vec<&str> = path.split('/').collect();
            let mut info: Option<MatchInfo> = None;
            let mut walked = false;
            for n in 1..=segs.len() {
                let (m, i) = pm.matches_using_parent_results(&segs[..n].join("/"), info.as_ref());
                walked = m;
                info = Some(i);
            }
            prop_assert_eq!(
                walked,
                model_walk(&patterns, path),
                "walk: patterns {:?}, path {:?}", text, path
            );
        }
    }
}

#[test]
fn the_walk_model_keeps_the_docker_cli_quirk() {
    // Checked with the docker CLI's classic build: `x/*` then `!x` sends `x` but not `x/y`.
    let pats = vec![
        ModelPattern {
            exception: false,
            segs: vec![
                Seg::Glob(vec![Piece::Lit('x')]),
                Seg::Glob(vec![Piece::Star]),
            ],
            lead: "",
            trail: false,
        },
        ModelPattern {
            exception: true,
            segs: vec![Seg::Glob(vec![Piece::Lit('x')])],
            lead: "",
            trail: false,
        },
    ];
    assert!(!model_excluded(&pats, "x/y"));
    assert!(model_walk(&pats, "x/y"));
    assert!(!model_walk(&pats, "x"));
}
