use super::*;
use proptest::prelude::*;

fn pm(text: &str) -> PatternMatcher {
    PatternMatcher::from_dockerignore(text).expect("patterns compile")
}

/// (dockerignore text, path, excluded?) — expectations derived from moby/patternmatcher.
const TABLE: &[(&str, &str, bool)] = &[
    // `*` never crosses a `/`; a parent matching counts.
    ("*.md", "README.md", true),
    ("*.md", "docs/a.md", false),
    ("docs/*.md", "docs/a.md", true),
    ("docs/*.md", "a.md", false),
    ("docs/*.md", "docs/sub/a.md", false),
    // `**` spans any number of directories, including zero.
    ("**/*.log", "a.log", true),
    ("**/*.log", "x/y/a.log", true),
    ("**/*.log", "a.log.txt", false),
    ("a/**/b", "a/b", true),
    ("a/**/b", "a/x/y/b", true),
    ("a/**/b", "a/xb", false),
    ("a/**/b", "a/b/c", true),
    ("**", "x", true),
    ("**", "a/b/c", true),
    ("foo/**", "foo/bar", true),
    ("foo/**", "foo", false),
    ("foo/**", "foobar", false),
    // Go's suffix fast path: `**foo` is a plain suffix test.
    ("**foo", "barfoo", true),
    ("**/foo", "barfoo", false),
    ("**/foo", "foo", true),
    ("**/foo", "a/b/foo", true),
    // Exceptions: last matching pattern wins.
    ("*.log\n!keep.log", "keep.log", false),
    ("*.log\n!keep.log", "other.log", true),
    ("*.log\n!keep.log\nkeep*", "keep.log", true),
    // Leading `/` and trailing `/`.
    ("/abs", "abs", true),
    ("/abs", "abs/x", true),
    ("/abs", "x/abs", false),
    ("dir/", "dir", true),
    ("dir/", "dir/file", true),
    ("dir/", "dirx", false),
    // Character classes and `?`.
    ("[a-c]?.txt", "a1.txt", true),
    ("[a-c]?.txt", "c_.txt", true),
    ("[a-c]?.txt", "d1.txt", false),
    ("[a-c]?.txt", "a/.txt", false),
    ("[^a]x", "bx", true),
    ("[^a]x", "ax", false),
    ("[!a]x", "!x", true),
    ("[!a]x", "bx", false),
    ("[[:digit:]]x", "7x", true),
    ("[[:digit:]]x", "ax", false),
    // Escapes.
    ("\\*.txt", "*.txt", true),
    ("\\*.txt", "a.txt", false),
    ("a\\?b", "a?b", true),
    ("a\\?b", "axb", false),
    // Cleaning: `..` resolved lexically, kept when leading.
    ("../x", "x", false),
    ("a/../x", "x", true),
    ("/../x", "x", true),
    ("./x/./y//", "x/y", true),
    // Regexp metacharacters that are not glob syntax are literal...
    ("a.b", "axb", false),
    ("a+(b)", "a+(b)", true),
    ("*.{js}", "x.{js}", true),
    // ...except `^`, which Go leaves as a regexp anchor once the pattern is a regexp.
    ("a^b", "a^b", true),
    ("a^*", "a^b", false),
    // Go turns `[*]` into `^[[^/]*]$`: a class of `[`, `^`, `/` repeated, then `]`.
    ("[*]", "]", true),
    ("[*]", "[^]", true),
    ("[*]", "*", false),
    // Directory with an exception inside (matcher view; the walk is tested in context).
    ("node_modules\n!node_modules/keep", "node_modules", true),
    (
        "node_modules\n!node_modules/keep",
        "node_modules/keep",
        false,
    ),
    (
        "node_modules\n!node_modules/keep",
        "node_modules/keep/x",
        false,
    ),
    (
        "node_modules\n!node_modules/keep",
        "node_modules/other",
        true,
    ),
    // Comments only at column 0; whitespace trimmed.
    ("# secret\n", "# secret", false),
    ("  # secret  ", "# secret", true),
    ("  spaced  \r\n", "spaced", true),
    ("\u{feff}bom", "bom", true),
    // `.` cleans to `.` and matches nothing.
    (".", "a", false),
];

/// Every row of a (dockerignore text, path, excluded?) table, all mismatches reported at once.
fn check_table(table: &[(&str, &str, bool)]) {
    let mut failures = Vec::new();
    for (text, path, want) in table {
        let got = pm(text).matches_or_parent_matches(path);
        if got != *want {
            failures.push(format!("{text:?} vs {path:?}: got {got}, want {want}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn table_matches_moby_patternmatcher() {
    check_table(TABLE);
}

/// Where Go's regexp dialect and the `regex` crate's part ways (expectations checked against
/// the docker 20.10 CLI with the classic builder).
const GO_DIALECT: &[(&str, &str, bool)] = &[
    // No nested classes or set operators in Go.
    ("[a[b]x", "[x", true),
    ("[a[b]x", "cx", false),
    ("[a&&b]x", "&x", true),
    ("[~~a]x", "~x", true),
    ("[\\--0]x", ".x", true),
    ("[\\--0]x", ",x", false),
    // `[:` without a `:]` anywhere after it is a literal `[`.
    ("[[:alpha]x", ":x", true),
    ("[[:alpha]x", "bx", false),
    ("[^[:alpha:]]x", "1x", true),
    ("[^[:alpha:]]x", "ax", false),
    // Perl classes and word boundaries are ASCII; `\s` leaves out `\v`, `[:space:]` not.
    ("[\\d]x", "1x", true),
    ("[\\d]x", "\u{663}x", false),
    ("a\\sx", "a x", true),
    ("a\\sx", "a\u{a0}x", false),
    ("a\\sx", "a\u{b}x", false),
    ("[[:space:]]x", "\u{b}x", true),
    ("a\\wb", "a\u{e9}b", false),
    ("a\\b\\.c", "a.c", true),
    ("\u{e9}\\b\\.c", "\u{e9}.c", false),
    // One-letter Unicode classes; Go's `C` has no unassigned code points.
    ("\\pLx", "\u{e9}x", true),
    ("\\pLx", "1x", false),
    ("\\PLx", "1x", true),
    ("[\\pN]x", "1x", true),
    ("\\pCx", "\u{e000}x", true),
    ("\\pCx", "\u{ad}x", true),
    ("\\pCx", "\u{378}x", false),
    // `\<` is a plain `<`; octal and `\xHH` escapes; `\Q` swallows moby's closing `$`.
    ("a\\<b", "a<b", true),
    ("\\101b", "Ab", true),
    ("\\x41c", "Ac", true),
    ("\\Qab", "ab$", true),
    ("\\Qab", "ab", false),
    ("a\\z", "a", true),
    ("[^/]x", "\nx", true),
];

#[test]
fn go_regexp_dialect_not_rust_dialect() {
    check_table(GO_DIALECT);
    // Rejected by Go's regexp (docker: "syntax error in pattern") though Rust takes most.
    for bad in [
        "\\pl",
        "\\1x",
        "\\8",
        "\\u0041",
        "[[:alpha:]",
        "[[:foo:]]",
        "x[[:a]y:]",
        "[a-\\d]",
    ] {
        let err = PatternMatcher::from_dockerignore(bad).expect_err(bad);
        assert!(
            matches!(&err, IgnoreError::BadPattern { pattern, .. } if pattern == bad),
            "{bad}: {err}"
        );
    }
}

#[test]
fn read_patterns_normalises_like_ignorefile() {
    let got = read_patterns("# c\n\n /a/b/ \n!/c\n! d/../e\nf//g\n  \n\u{feff}x");
    assert_eq!(got, ["a/b", "!c", "!e", "f/g", "\u{feff}x"]);
    assert_eq!(read_patterns("\u{feff}x"), ["x"]);
    assert_eq!(read_patterns("/"), ["/"]);
}

#[test]
fn bad_patterns_are_errors() {
    assert_eq!(
        PatternMatcher::from_dockerignore("!").err(),
        Some(IgnoreError::IllegalExclusion)
    );
    for bad in ["[", "a[", "[]", "[a-]", "a\\", "[^]", "[z-"] {
        let err = PatternMatcher::from_dockerignore(bad).expect_err(bad);
        assert!(err.to_string().contains("syntax error"), "{bad}: {err}");
    }
    // Valid for filepath.Match, invalid for Go regexp: also rejected.
    assert!(PatternMatcher::from_dockerignore("\\q").is_err());
}

#[test]
fn clean_path_is_go_filepath_clean() {
    for (i, o) in [
        ("", "."),
        ("a/b/../c", "a/c"),
        ("/../a", "/a"),
        ("../../a", "../../a"),
        ("a/..", "."),
        ("//a//", "/a"),
        ("!..", "!.."),
        ("!../x", "!../x"),
    ] {
        assert_eq!(clean_path(i), o, "{i}");
    }
}

#[test]
fn walk_variant_inherits_parent_results() {
    let m = pm("node_modules\n!node_modules/keep");
    let (skip, info) = m.matches_using_parent_results("node_modules", None);
    assert!(skip);
    assert!(m.must_descend("node_modules"));
    assert!(!m.must_descend("other"));
    let (skip, _) = m.matches_using_parent_results("node_modules/keep", Some(&info));
    assert!(!skip);
    let (skip, _) = m.matches_using_parent_results("node_modules/x", Some(&info));
    assert!(skip);
    // `!**/keep` does not make the walk descend: Docker's test is a literal prefix.
    let m = pm("node_modules\n!**/keep");
    assert!(!m.must_descend("node_modules"));
}

#[test]
fn regex_engine_basics() {
    let re = |r: &str, s: &str| go_regexp(r).expect(r).is_match(s);
    assert!(re("^a[^/]*b$", "axxb"));
    assert!(!re("^a[^/]*b$", "ax/b"));
    assert!(re("^(.*/)?b$", "b"));
    assert!(re("^(.*/)?b$", "x/y/b"));
    assert!(!re("^.*$", "a\nb"));
    assert!(re("^[^/]$", "\n"));
    assert!(re("^\\x41\\101$", "AA"));
    assert!(re("^\\d\\w\\s$", "1_ "));
    assert!(re("^a\\b-b$", "a-b"));
    assert!(!re("^a\\bb$", "ab"));
    assert!(re("^\\Qa.b\\E$", "a.b"));
    assert!(re("^[[:^alpha:]]$", "1"));
    assert!(!re("^[[:^alpha:]]$", "a"));
    assert!(re("^[\\d-]+$", "1-2"));
    assert!(go_regexp("^a**$").is_err());
    assert!(go_regexp("^[b-a]$").is_err());
}

proptest! {
    #[test]
    fn matcher_never_panics(
        pats in proptest::collection::vec("[a-c/*?!\\[\\]\\\\^\\-:.{}()|$# é\n]{0,12}", 0..5),
        path in "[a-c/*?!\\[\\]\\\\^\\-:.{}()|$ é\n]{0,16}",
        any_pat in any::<String>(),
        any_path in any::<String>(),
    ) {
        let text = pats.join("\n");
        if let Ok(m) = PatternMatcher::from_dockerignore(&text) {
            let _ = m.matches_or_parent_matches(&path);
            let (_, info) = m.matches_using_parent_results(&path, None);
            let _ = m.matches_using_parent_results(&path, Some(&info));
            let _ = m.must_descend(&path);
            let _ = m.matches_exact(&any_path);
        }
        if let Ok(m) = PatternMatcher::from_dockerignore(&any_pat) {
            let _ = m.matches_or_parent_matches(&any_path);
        }
        let _ = PatternMatcher::new([any_pat.as_str()]).map(|m| m.matches_or_parent_matches(&path));
    }
}
