use stagescope_fs::index::layer::{Composer, LayerIndex};

use super::*;

fn layer(files: &[(&str, usize)], deleted: &[&str]) -> LayerIndex {
    let mut b = tar::Builder::new(Vec::new());
    for (p, n) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(*n as u64);
        b.append_data(&mut h, p, vec![b'x'; *n].as_slice())
            .expect("file");
    }
    for p in deleted {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(0);
        b.append_data(&mut h, format!(".wh.{p}"), &[][..])
            .expect("whiteout");
    }
    LayerIndex::from_tar(b.into_inner().expect("tar").as_slice(), |_| {}).expect("layer")
}

fn report() -> WasteReport {
    let ls = [
        layer(&[("os", 1000)], &[]),
        layer(&[("app.tgz", 3000), ("app", 500)], &[]),
        layer(&[("app", 400)], &["app.tgz"]),
    ];
    let mut c = Composer::default();
    for l in &ls {
        c.push(l);
    }
    let (ix, w) = c.finish_with_waste();
    let labels: Vec<String> = [
        "ADD rootfs.tar /",
        "COPY app.tgz app /",
        "RUN tar xf app.tgz && rm app.tgz",
    ]
    .map(String::from)
    .to_vec();
    WasteReport::of("demo:latest", &w, Some(&ix), &labels, 1)
}

#[test]
fn the_report_counts_each_hidden_copy_once() {
    let r = report();
    assert_eq!((r.wasted_bytes, r.stored_bytes), (3500, 4900));
    assert_eq!((r.user_wasted_bytes, r.user_bytes), (3500, 3900));
    assert!((r.efficiency - 1400.0 / 4900.0).abs() < 1e-12);
    assert_eq!(r.files[0].path, "/app.tgz");
    assert_eq!(
        r.files[0].copies[0].hidden_by,
        "RUN tar xf app.tgz && rm app.tgz"
    );
    assert_eq!(r.files[0].copies[0].how, "deleted");
    let json = serde_json::to_value(&r).expect("json");
    for key in ["wasted_bytes", "efficiency", "user_wasted_percent", "files"] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert_eq!(json["files"][1]["path"], "/app");
    assert_eq!(json["files"][1]["visible"]["size"], 400);
    let mut text = Vec::new();
    r.text(20, &mut text).expect("text");
    insta::assert_snapshot!(String::from_utf8(text).expect("utf8"));
}

#[test]
fn sizes_read_as_dive_reads_them() {
    let b = |v: &str| parse_bytes("k", v);
    assert_eq!(b("20MB"), Ok(Some(20_000_000)));
    assert_eq!(b("1MiB"), Ok(Some(1 << 20)));
    assert_eq!(b("1.5 kb"), Ok(Some(1500)));
    assert_eq!(b("20M"), Ok(Some(20_000_000)));
    assert_eq!(b("123"), Ok(Some(123)));
    assert_eq!(b("disabled"), Ok(None));
    assert!(b("20 parsecs").is_err());
    assert!(b("-1").is_err());
    assert_eq!(parse_ratio("k", "0.95"), Ok(Some(0.95)));
    assert!(parse_ratio("k", "95").is_err(), "a ratio, not a percent");
    assert!(parse_ratio("k", "x").is_err());
}

#[test]
fn a_dive_ci_file_reads_with_dives_defaults() {
    let g = Gates::from_dive_ci(
        "rules:\n  # comment\n  lowestEfficiency: 0.95\n  highestWastedBytes: 20MB\n  highestUserWastedPercent: 0.20\n",
    )
    .expect("parse");
    assert_eq!(
        g,
        Gates {
            lowest_efficiency: Some(0.95),
            highest_wasted_bytes: Some(20_000_000),
            highest_user_wasted_percent: Some(0.2),
        }
    );
    let g = Gates::from_dive_ci("rules:\n  highestUserWastedPercent: disabled\n").expect("parse");
    assert_eq!(g.lowest_efficiency, Some(0.9), "dive's default");
    assert_eq!(g.highest_user_wasted_percent, None);
    let g = Gates::from_dive_ci("rules:\n  highest-wasted-bytes: 1kB\n").expect("parse");
    assert_eq!(g.highest_wasted_bytes, Some(1000));
    assert!(Gates::from_dive_ci("rules: [1, 2").is_err());
    assert!(Gates::from_dive_ci("rules:\n  lowestEfficiency: 2\n").is_err());
}

#[test]
fn a_failed_rule_says_why_in_one_line() {
    let r = report();
    let pass = Gates {
        lowest_efficiency: Some(0.2),
        highest_wasted_bytes: Some(3500),
        highest_user_wasted_percent: Some(0.9),
    };
    assert!(pass.check(&r).is_empty());
    let fail = Gates {
        lowest_efficiency: Some(0.5),
        highest_wasted_bytes: Some(3499),
        highest_user_wasted_percent: Some(0.5),
    };
    let why = fail.check(&r);
    assert_eq!(why.len(), 3);
    assert!(why.iter().all(|l| !l.contains('\n')));
    assert!(
        why[1].contains("wasted-bytes=3500 > threshold=3499"),
        "{}",
        why[1]
    );
}
