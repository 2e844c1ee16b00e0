use super::*;
use crate::escape;
use crate::testutil::{dir, file, index};

fn names(rs: &RuleSet, ix: &FsIndex) -> Vec<String> {
    rs.scan(ix)
        .iter()
        .map(|f| {
            format!(
                "{} {} {}/{}{}",
                rs.rule(f).name,
                escape(ix.get(f.entry).path()),
                f.files,
                f.size,
                if f.grouped { " grouped" } else { "" }
            )
        })
        .collect()
}

fn leaky() -> FsIndex {
    index(&[
        file("app/server", 5000, 1),
        file("app/.git/HEAD", 23, 2),
        file("app/.git/objects/ab/cdef", 100, 3),
        file("app/.git/config", 50, 4),
        file("app/.env", 30, 5),
        file("app/deploy_key.pem", 400, 6),
        file("app/main.c", 300, 7),
        file("app/util.c", 200, 8),
        file("app/util.h", 20, 9),
        file("root/.ccache/0/a.o", 900, 10),
        file("root/.ssh/id_rsa", 1700, 11),
        file("root/.ssh/known_hosts", 10, 12),
        file("etc/ssl/certs/ca.pem", 1000, 13),
        file("usr/include/stdio.h", 100, 14),
        dir("var/cache/apt"),
        file("bin/test", 1, 15),
        file("usr/local/bin/gcc", 1, 16),
        file("usr/share/doc/x/README", 7, 17),
    ])
}

#[test]
fn builtin_table_compiles_and_names_are_unique() {
    let rs = RuleSet::builtin();
    assert_eq!(rs.rules().len(), BUILTIN.len());
    let mut names: Vec<&str> = BUILTIN.iter().map(|b| b.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), BUILTIN.len());
    assert!(
        BUILTIN
            .iter()
            .all(|b| !b.reason.is_empty() && !b.paths.is_empty())
    );
    // Secrets are the most severe.
    let top = BUILTIN.iter().map(|b| b.severity).max();
    assert!(
        BUILTIN
            .iter()
            .filter(|b| b.category == Category::Secret)
            .all(|b| b.severity >= Severity::Warning)
    );
    assert_eq!(top, Some(Severity::Error));
}

#[test]
fn finds_leftovers_and_secrets_grouped_by_directory() {
    let rs = RuleSet::builtin();
    assert_eq!(
        names(&rs, &leaky()),
        vec![
            "sources app 3/520 grouped",
            "dotenv app/.env 1/30",
            "vcs-metadata app/.git 3/173",
            "private-key app/deploy_key.pem 1/400",
            "compiler-cache root/.ccache 1/900",
            "ssh-dir root/.ssh 2/1710",
            "c-toolchain usr/local/bin/gcc 1/1",
            "docs usr/share/doc 1/7",
        ]
    );
}

#[test]
fn secrets_inside_a_reported_directory_still_report() {
    let ix = index(&[
        file("src/.git/HEAD", 1, 1),
        file("src/.git/.env", 1, 2),
        file("src/.git/x.c", 1, 3),
    ]);
    assert_eq!(
        names(&RuleSet::builtin(), &ix),
        vec!["vcs-metadata src/.git 3/3", "dotenv src/.git/.env 1/1"]
    );
}

#[test]
fn user_rules_add_replace_and_silence() {
    let rs = RuleSet::with_user_toml(
        r#"
        [[rule]]
        name = "tfstate"
        severity = "error"
        category = "secret"
        kind = "file"
        paths = ["**/*.tfstate"]
        reason = "Terraform state holds secrets in plain text"

        [[rule]]
        name = "dotenv"
        severity = "info"
        paths = ["**/.env"]
        reason = "we ship a harmless .env"

        [silence]
        rules = ["sources", "docs"]
        paths = ["/root/**"]
        "#,
    )
    .expect("rules");
    let mut ix_entries = vec![file("infra/prod.tfstate", 10, 1)];
    ix_entries.extend([file("app/.env", 30, 5), file("app/main.c", 3, 7)]);
    ix_entries.push(file("root/.ssh/id_rsa", 1, 2));
    let ix = index(&ix_entries);
    assert_eq!(
        names(&rs, &ix),
        vec!["dotenv app/.env 1/30", "tfstate infra/prod.tfstate 1/10"]
    );
    let f = rs.scan(&ix);
    assert_eq!(rs.rule(&f[0]).severity, Severity::Info);
    assert_eq!(rs.rule(&f[1]).category, Category::Secret);
}

#[test]
fn bad_rules_files_say_why() {
    let e = RuleSet::with_user_toml("[silence]\nrules = [\"nope\"]").unwrap_err();
    assert_eq!(e.to_string(), "silence: no rule named \"nope\"");
    let e = RuleSet::with_user_toml("[[rule]]\nname = \"x\"\npaths = [\"a[\"]\nreason = \"r\"")
        .unwrap_err();
    assert!(e.to_string().starts_with("rule x: bad glob \"a[\""), "{e}");
    let e = RuleSet::with_user_toml("[[rule]]\nname = \"x\"\nwhat = 1").unwrap_err();
    assert!(e.to_string().starts_with("rules file:"), "{e}");
}

#[test]
fn empty_caches_are_not_findings_but_empty_vcs_dirs_are() {
    let ix = index(&[dir("var/cache/apt/archives"), dir("app/.git")]);
    assert_eq!(
        names(&RuleSet::builtin(), &ix),
        vec!["vcs-metadata app/.git 0/0"]
    );
}

#[test]
fn content_finds_keys_under_any_name_and_tokens_raise_severity() {
    use crate::ContentFlags as F;
    let ix = index(&[
        file("app/deploy.txt", 400, 1).sniffed(F::PRIVATE_KEY),
        file("app/server", 5000, 2),
        file("etc/ssl/certs/mine.pem", 300, 3).sniffed(F::PRIVATE_KEY),
        file("home/a/.npmrc", 40, 4).sniffed(F::AUTH_TOKEN),
        file("home/b/.npmrc", 40, 5),
        file("home/c/notes", 40, 6).sniffed(F::AUTH_TOKEN),
        file("srv/config.ini", 40, 7).sniffed(F::AWS_KEY_ID),
    ]);
    let rs = RuleSet::builtin();
    assert_eq!(
        names(&rs, &ix),
        vec![
            "private-key-content app/deploy.txt 1/400",
            // A key in a trust store is still a key.
            "private-key-content etc/ssl/certs/mine.pem 1/300",
            "registry-token-content home/a/.npmrc 1/40",
            "registry-token home/b/.npmrc 1/40",
            "aws-key-content srv/config.ini 1/40",
        ]
    );
    let sev: Vec<Severity> = rs.scan(&ix).iter().map(|f| rs.rule(f).severity).collect();
    assert_eq!(
        sev,
        [
            Severity::Error,
            Severity::Error,
            Severity::Error,
            Severity::Warning,
            Severity::Error
        ]
    );
}

#[test]
fn user_rules_can_match_content_and_silence_content_rules() {
    let rs = RuleSet::with_user_toml(
        r#"
        [[rule]]
        name = "keys-in-config"
        severity = "error"
        category = "secret"
        kind = "file"
        paths = ["etc/**"]
        content = ["private-key", "aws-key-id"]
        reason = "no keys in /etc"

        [silence]
        rules = ["private-key-content"]
        "#,
    )
    .expect("rules");
    let ix = index(&[
        file("app/deploy.txt", 1, 1).sniffed(crate::ContentFlags::PRIVATE_KEY),
        file("etc/app.conf", 2, 2).sniffed(crate::ContentFlags::AWS_KEY_ID),
        file("etc/other.conf", 3, 3),
    ]);
    assert_eq!(names(&rs, &ix), vec!["aws-key-content etc/app.conf 1/2",]);
    // Without the built-in, the user's rule takes it.
    let rs = RuleSet::with_user_toml(
        r#"
        [[rule]]
        name = "keys-in-config"
        severity = "error"
        category = "secret"
        kind = "file"
        paths = ["etc/**"]
        content = ["aws-key-id"]
        reason = "no keys in /etc"

        [silence]
        rules = ["aws-key-content"]
        "#,
    )
    .expect("rules");
    assert_eq!(
        names(&rs, &ix),
        vec![
            "private-key-content app/deploy.txt 1/1",
            "keys-in-config etc/app.conf 1/2"
        ]
    );
}
