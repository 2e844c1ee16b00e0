//! Mount and device values against the rules of BuildKit's `commands_runmount.go`,
//! `commands_rundevice.go`, `convert_runmount.go` and `convert_ssh.go`.

use super::*;
use crate::expand::{Env, expand_word};

/// A mount checked in a stage where `T=tmpfs` and `RO=true`.
fn check(value: &str) -> Result<Mount, String> {
    let env: Env = [("T", "tmpfs"), ("RO", "true")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    super::check(value, &|w| expand_word(w, '\\', &env))
}

fn err(value: &str) -> String {
    check(value).expect_err(value)
}

#[test]
fn csv_like_go() {
    assert_eq!(csv_fields("a=1,b=2").unwrap(), vec!["a=1", "b=2"]);
    assert_eq!(
        csv_fields("\"a=1,2\",b").unwrap(),
        vec!["a=1,2".to_string(), "b".into()]
    );
    assert_eq!(csv_fields("\"a\"\"b\"").unwrap(), vec!["a\"b"]);
    assert_eq!(csv_fields("a,").unwrap(), vec!["a", ""]);
    assert_eq!(csv_fields("").unwrap_err(), "EOF");
    assert_eq!(
        csv_fields("a=\"b\"").unwrap_err(),
        "parse error on line 1, column 3: bare \" in non-quoted-field"
    );
    assert!(
        csv_fields("\"ab")
            .unwrap_err()
            .contains("extraneous or missing")
    );
}

#[test]
fn parse_time_reads_only_from() {
    assert_eq!(parse_from("type=cache,target=/x").unwrap(), None);
    assert_eq!(parse_from("from=a,FROM=b").unwrap().as_deref(), Some("b"));
    assert_eq!(
        parse_from("type=nope,from=a").unwrap().as_deref(),
        Some("a")
    );
    assert_eq!(parse_from("from=a$").unwrap().as_deref(), Some("a$"));
    assert!(
        parse_from("from=$X")
            .unwrap_err()
            .contains("doesn't support variable")
    );
    assert!(
        parse_from("")
            .unwrap_err()
            .starts_with("failed to parse csv mounts")
    );
}

#[test]
fn every_type_and_option_accepted() {
    for ok in [
        "target=/x",
        "type=bind,source=/src,target=/x,from=build,ro",
        "type=bind,src=a,dst=/x,rw=true",
        "type=bind,destination=/x,readonly=false,readwrite=0",
        "type=cache,target=/root/.cache,id=go,sharing=locked,mode=0755,uid=1000,gid=1000",
        "type=cache,target=/c,sharing=PRIVATE,from=base,source=/s",
        "type=tmpfs,target=/t,size=64m",
        "type=tmpfs,target=/t,size=1.5GiB",
        "type=secret,id=npmrc,target=/root/.npmrc,required,mode=0400,uid=1,gid=2",
        "type=secret,id=token,env=TOKEN",
        "type=secret,source=s,required=true",
        "type=ssh",
        "type=ssh,id=default,target=/ssh,required=false,mode=0600",
        "TYPE=Cache,Target=/x",
        "type=$T,size=1",
        "type=${T},target=/t,ro=$RO",
    ] {
        check(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    assert_eq!(check("type=CACHE,target=/x").unwrap().kind, "cache");
}

#[test]
fn rejections_with_buildkit_messages() {
    assert_eq!(
        err("type=bnd,target=/x"),
        "unsupported mount type \"bnd\" (did you mean bind?)"
    );
    assert_eq!(err("type=volume"), "unsupported mount type \"volume\"");
    assert_eq!(
        err("type=cache,traget=/x"),
        "unexpected key 'traget' in 'traget=/x' (did you mean target?)"
    );
    assert_eq!(
        err("nocopy"),
        "invalid field 'nocopy' must be a key=value pair"
    );
    assert_eq!(err("ro=yes"), "invalid value for ro: yes");
    assert_eq!(
        err("required,type=secret,id=x"),
        "unexpected key 'required' for mount type 'bind'"
    );
    assert_eq!(
        err("type=cache,target=/x,size=1m"),
        "unexpected key 'size' for mount type 'cache'"
    );
    assert_eq!(
        err("type=tmpfs,target=/t,size=big"),
        "invalid value for size: big"
    );
    assert_eq!(
        err("type=cache,target=/x,sharing=all"),
        "unsupported sharing value \"all\""
    );
    assert_eq!(
        err("type=cache,target=/x,mode=0999"),
        "invalid value 0999 for mode"
    );
    assert_eq!(
        err("type=cache,target=/x,uid=-1"),
        "invalid value -1 for uid"
    );
    assert_eq!(
        err("type=bind,target=/x,mode=0755"),
        "mode not allowed for \"bind\" type mounts"
    );
    assert_eq!(
        err("type=tmpfs,target=/x,gid=1"),
        "gid not allowed for \"tmpfs\" type mounts"
    );
    assert_eq!(
        err("type=secret,id=a,from=b"),
        "secret mount should not have a from"
    );
    assert_eq!(
        err("type=secret,id=a,sharing=shared"),
        "secret mount should not define sharing"
    );
    assert_eq!(
        err("type=secret"),
        "invalid secret mount. one of source, target required"
    );
    assert_eq!(
        err("type=secret,id=a,source=b"),
        "both source and id can't be set"
    );
    assert_eq!(
        err("type=bind,target=/x,sharing=shared"),
        "invalid cache sharing set for bind mount"
    );
    assert_eq!(err("type=ssh,source=/k"), "ssh does not support source");
    assert_eq!(err("type=bind,target=/a/.."), "invalid mount target \"/\"");
}

#[test]
fn values_are_checked_once_expanded() {
    // Variables are no longer a way past the checks: `$T` is tmpfs, an unset one is empty.
    assert_eq!(
        err("type=$T,target=/x,mode=0755"),
        "mode not allowed for \"tmpfs\" type mounts"
    );
    assert_eq!(err("type=$UNSET,target=/x"), "unsupported mount type \"\"");
    assert_eq!(err("target=/x,ro=${RO}x"), "invalid value for ro: truex");
    assert!(err("target=${X").starts_with("failed to process \"${X\""));
}

#[test]
fn devices() {
    for ok in [
        "nvidia.com/gpu=all",
        "name=nvidia.com/gpu=all",
        "vendor.com/dev,required",
        "vendor.com/dev,required=false",
    ] {
        check_device(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    assert_eq!(
        check_device("a,b").unwrap_err(),
        "invalid field 'b' must be a key=value pair"
    );
    assert_eq!(
        check_device("a,name=b").unwrap_err(),
        "device name already set to a"
    );
    assert_eq!(
        check_device("a,required=maybe").unwrap_err(),
        "invalid value for required: maybe"
    );
    assert_eq!(
        check_device("a,nme=b").unwrap_err(),
        "unexpected key 'nme' in 'nme=b' (did you mean name?)"
    );
    assert!(
        check_device("")
            .unwrap_err()
            .starts_with("failed to parse csv devices")
    );
}
