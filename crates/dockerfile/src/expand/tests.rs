//! Expected values are worked out from BuildKit's lex.go (and POSIX where lex.go follows it),
//! not from our own output. Where BuildKit departs from a POSIX shell the test says so.

use super::*;

fn env(pairs: &[(&str, &str)]) -> Env {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn vars() -> Env {
    env(&[
        ("V", "1.2"),
        ("EMPTY", ""),
        ("P", "linux/amd64"),
        ("F", "/usr/local/bin/tool.tar.gz"),
        ("S", "a*b*c"),
        ("R", "a-b-c"),
        ("PRE", "linux/"),
        ("GLOB", "*/"),
        ("BS", "a\\b"),
    ])
}

fn x(word: &str) -> String {
    expand_word(word, '\\', &vars()).unwrap_or_else(|e| panic!("{word}: {e}"))
}

fn err(word: &str) -> String {
    match expand_word(word, '\\', &vars()) {
        Ok(v) => panic!("{word} expanded to {v:?}, expected an error"),
        Err(e) => e,
    }
}

#[test]
fn splits_words_keeping_quotes() {
    let w: Vec<_> = split_words(r#"a "b c" d\ e 'f'"#, '\\')
        .into_iter()
        .map(|w| w.text)
        .collect();
    assert_eq!(w, vec!["a", "\"b c\"", "d\\ e", "'f'"]);
    assert_eq!(split_words("  x  y", '\\')[1].start, 5);
    // With a backtick escape a backslash is an ordinary character.
    let w: Vec<_> = split_words(r"a\ b c` d", '`')
        .into_iter()
        .map(|w| w.text)
        .collect();
    assert_eq!(w, vec!["a\\", "b", "c` d"]);
}

#[test]
fn plain_variables_quotes_and_escapes() {
    assert_eq!(x("golang:$V"), "golang:1.2");
    assert_eq!(x("golang:${V}-alpine"), "golang:1.2-alpine");
    assert_eq!(x("'$V'"), "$V");
    assert_eq!(x("\"$V\""), "1.2");
    assert_eq!(x("a\\$V"), "a$V");
    assert_eq!(x("\"a\\$V\""), "a$V");
    // Inside double quotes the escape only escapes `"`, `$` and itself.
    assert_eq!(x("\"a\\tb\""), "a\\tb");
    assert_eq!(x("a\\tb"), "atb");
    assert_eq!(x("ab\\"), "ab");
    assert_eq!(x("$"), "$");
    assert_eq!(x("$.x"), "$.x");
    assert_eq!(x("$NOPE"), "");
    // Positional and special parameters are never set.
    assert_eq!(x("a$1b"), "ab");
    assert_eq!(x("$12x"), "x");
    assert_eq!(x("$@$*$#$?$-$$$!$0"), "");
    assert_eq!(x("${#:-d}"), "d");
    assert!(err("'abc").contains("matching single-quote"));
    assert!(err("\"abc").contains("matching double-quote"));
}

#[test]
fn default_alternative_and_required() {
    assert_eq!(x("${NOPE:-def}"), "def");
    assert_eq!(x("${NOPE-def}"), "def");
    assert_eq!(x("${EMPTY:-def}"), "def");
    assert_eq!(x("${EMPTY-def}"), "");
    assert_eq!(x("${V:-def}"), "1.2");
    assert_eq!(x("${V:+set}"), "set");
    assert_eq!(x("${V+set}"), "set");
    assert_eq!(x("${EMPTY:+set}"), "");
    assert_eq!(x("${EMPTY+set}"), "set");
    assert_eq!(x("${NOPE:+set}"), "");
    assert_eq!(x("${NOPE+set}"), "");
    assert_eq!(x("${V:?need V}"), "1.2");
    assert_eq!(x("${EMPTY?need}"), "");
    assert_eq!(
        err("${NOPE:?need it}"),
        "failed to process \"${NOPE:?need it}\": NOPE: need it"
    );
    assert!(err("${NOPE?}").ends_with("NOPE: is not allowed to be unset"));
    assert!(err("${EMPTY:?}").ends_with("EMPTY: is not allowed to be empty"));
    assert!(err("${NOPE:?}").ends_with("NOPE: is not allowed to be unset"));
}

#[test]
fn nested_expansions() {
    assert_eq!(x("${NOPE:-${V}}"), "1.2");
    assert_eq!(x("${NOPE:-${EMPTY:-${V}-x}}"), "1.2-x");
    assert_eq!(x("${V:+v${V}}"), "v1.2");
    assert_eq!(x("${NOPE:-\"a b\"}"), "a b");
    assert_eq!(x("${NOPE:-'$V'}"), "$V");
    assert_eq!(x("${NOPE:-a\\}b}"), "a}b");
    assert_eq!(x("${P#${PRE}}"), "amd64");
    assert_eq!(x("${P#$PRE}"), "amd64");
    assert_eq!(x("${P#\"linux/\"}"), "amd64");
    // A pattern taken from a variable is still a pattern.
    assert_eq!(x("${P#$GLOB}"), "amd64");
    assert_eq!(x("${NOPE:-${P%/*}}"), "linux");
}

#[test]
fn prefix_and_suffix_removal() {
    assert_eq!(x("${P#linux/}"), "amd64");
    assert_eq!(x("${P#linux/amd64}"), "");
    assert_eq!(x("${P#linux/arm64}"), "linux/amd64");
    assert_eq!(x("${P%/amd64}"), "linux");
    assert_eq!(x("${F#*/}"), "usr/local/bin/tool.tar.gz");
    assert_eq!(x("${F##*/}"), "tool.tar.gz");
    assert_eq!(x("${F%.*}"), "/usr/local/bin/tool.tar");
    assert_eq!(x("${F%%.*}"), "/usr/local/bin/tool");
    assert_eq!(x("${F%/*}"), "/usr/local/bin");
    assert_eq!(x("${F%%/*}"), "");
    assert_eq!(x("${V#?}"), ".2");
    assert_eq!(x("${V%?}"), "1.");
    assert_eq!(x("${V#???}"), "");
    assert_eq!(x("${V#????}"), "1.2");
    // `.` and `+` are not regular-expression operators in a pattern.
    assert_eq!(x("${V#1?}"), "2");
    assert_eq!(
        expand_word("${X#v1.}", '\\', &env(&[("X", "v1x2")])).unwrap(),
        "v1x2"
    );
    let special = env(&[("X", "v1.2+x(y)|^$")]);
    assert_eq!(
        expand_word("${X#v1.2+}", '\\', &special).unwrap(),
        "x(y)|^$"
    );
    assert_eq!(
        expand_word("${X%(y)|^$}", '\\', &special).unwrap(),
        "v1.2+x"
    );
    // Empty patterns remove nothing; an unset or empty variable gives nothing.
    assert_eq!(x("${V#}"), "1.2");
    assert_eq!(x("${V%%}"), "1.2");
    assert_eq!(x("${NOPE#x}"), "");
    assert_eq!(x("${EMPTY%%*}"), "");
    // `*` alone: shortest is the empty prefix, longest the whole value.
    assert_eq!(x("${V#*}"), "1.2");
    assert_eq!(x("${V##*}"), "");
    assert_eq!(x("${V%*}"), "1.2");
    assert_eq!(x("${V%%*}"), "");
}

#[test]
fn escaped_characters_and_brackets_in_patterns() {
    assert_eq!(x("${S#a\\*}"), "b*c");
    assert_eq!(x("${S#*\\*}"), "b*c");
    assert_eq!(x("${S##*\\*}"), "c");
    assert_eq!(x("${S%\\**}"), "a*b");
    assert_eq!(x("${S%%\\**}"), "a");
    assert_eq!(x("${BS#a\\\\}"), "b");
    let q = env(&[("Q", "a?b"), ("B", "[ab]c"), ("A", "ac"), ("BR", "a}b")]);
    let xq = |w: &str| expand_word(w, '\\', &q).unwrap();
    assert_eq!(xq("${Q#a\\?}"), "b");
    assert_eq!(xq("${BR#a\\}}"), "b");
    // BuildKit has no bracket expressions: `[ab]` is literal (a POSIX shell gives "c").
    assert_eq!(xq("${B#[ab]}"), "c");
    assert_eq!(xq("${A#[ab]}"), "ac");
    // Any other escaped character is an error in a pattern.
    assert_eq!(
        err("${V#\\x}"),
        "failed to process \"${V#\\\\x}\": invalid pattern (\\x) in substitution: \
         invalid escape '\\x'"
    );
}

#[test]
fn replacement() {
    assert_eq!(x("${P/linux/os}"), "os/amd64");
    assert_eq!(x("${R/-/+}"), "a+b-c");
    assert_eq!(x("${R//-/+}"), "a+b+c");
    assert_eq!(x("${R/-/}"), "ab-c");
    assert_eq!(x("${R//-/}"), "abc");
    assert_eq!(x("${R/x/y}"), "a-b-c");
    assert_eq!(x("${NOPE/a/b}"), "");
    // `*` is greedy in a replacement pattern; `?` is one character.
    assert_eq!(x("${R/*-/x}"), "xc");
    assert_eq!(x("${R/?/x}"), "x-b-c");
    assert_eq!(x("${R//?/x}"), "xxxxx");
    assert_eq!(x("${P/\\//-}"), "linux-amd64");
    // Escapes stay in the replacement (BuildKit keeps them raw).
    assert_eq!(x("${P//\\//\\/}"), "linux\\/amd64");
    // An empty pattern matches before every character (Go's ReplaceAll), or once.
    assert_eq!(x("${R///x}"), "xax-xbx-xcx");
    assert_eq!(x("${R///}"), "a-b-c");
    assert!(err("${R//}").ends_with("syntax error: missing '/' in ${}"));
    assert_eq!(x("${R/$EMPTY/x}"), "xa-b-c");
    // Go's ReplaceAllString expands `$0` in the replacement to the match.
    assert_eq!(x("${R//-/\\$0}"), "a\\-b\\-c");
    assert_eq!(x("${R/-/\\$0}"), "a\\$0b-c");
    assert!(err("${R/-}").ends_with("syntax error: missing '/' in ${}"));
    assert!(err("${R/-/x").ends_with("syntax error: missing '}'"));
}

#[test]
fn unsupported_and_malformed() {
    assert!(err("${V:#x}").ends_with("unsupported modifier (:#) in substitution"));
    assert!(err("${V:##x}").ends_with("unsupported modifier (:#) in substitution"));
    assert!(err("${V:%x}").ends_with("unsupported modifier (:%) in substitution"));
    assert!(err("${V:x}").ends_with("unsupported modifier (:x) in substitution"));
    assert!(err("${V^}").ends_with("unsupported modifier (^) in substitution"));
    assert!(err("${V=x}").ends_with("unsupported modifier (=) in substitution"));
    assert!(err("${#V}").ends_with("unsupported modifier (V) in substitution"));
    assert!(err("${}").ends_with("syntax error: bad substitution"));
    assert!(err("${:-x}").ends_with("syntax error: bad substitution"));
    assert!(err("${").ends_with("syntax error: missing '}'"));
    assert!(err("${V:-x").ends_with("syntax error: missing '}'"));
    assert!(err("${V:").ends_with("syntax error: missing '}'"));
    assert!(err("${V:-'x}").ends_with("syntax error: missing '}'"));
    // lex.go reads the end of the word as a modifier: Go prints it as U+FFFD.
    assert!(err("${V").ends_with("unsupported modifier (\u{FFFD}) in substitution"));
}

#[test]
fn backtick_escape() {
    let e = vars();
    let bt = |w: &str| expand_word(w, '`', &e).unwrap();
    assert_eq!(bt("a`$V"), "a$V");
    assert_eq!(bt("C:\\build\\$V"), "C:\\build\\1.2");
    assert_eq!(bt("\"C:\\out`\"\""), "C:\\out\"");
    assert_eq!(bt("${NOPE:-C:\\x}"), "C:\\x");
    // In patterns `\` stays the pattern escape whatever the Dockerfile's escape.
    assert_eq!(bt("${S#a\\*}"), "b*c");
    assert_eq!(bt("${BS#a\\\\}"), "b");
}

#[test]
fn error_quotes_the_word_as_go_does() {
    assert_eq!(
        expand_word("${X:?a\\\"b}\t", '\\', &Env::new()).unwrap_err(),
        r#"failed to process "${X:?a\\\"b}\t": X: a"b"#
    );
}

#[test]
fn dequotes() {
    assert_eq!(dequote("\"EOF\"", '\\'), "EOF");
    assert_eq!(dequote("'E O'", '\\'), "E O");
    assert_eq!(dequote("E\\OF", '\\'), "EOF");
}
