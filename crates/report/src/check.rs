//! Build-check warnings as text (`PATH:LINE: Rule: detail`, BuildKit's order), as the JSON
//! of `stagescope check`, as NDJSON events ahead of `build --progress json`, and as the
//! summary `docker build` prints before building.

use serde_json::{Value, json};

use super::sanitize::name;
use stagescope_dockerfile::DockerfileError;
use stagescope_dockerfile::lint::{Report, Warning};

fn level(report: &Report) -> &'static str {
    if report.error_on_warning {
        "error"
    } else {
        "warning"
    }
}

fn warning_value(w: &Warning, level: &str) -> Value {
    json!({
        "rule": w.rule.name,
        "line": w.line,
        "detail": w.detail,
        "level": level,
        "url": w.rule.url,
    })
}

/// One `PATH:LINE: Rule: detail` line per warning.
pub fn text(file: &str, report: &Report) -> String {
    report
        .warnings
        .iter()
        .map(|w| {
            format!(
                "{}:{}: {}: {}\n",
                name(file),
                w.line,
                w.rule.name,
                name(&w.detail)
            )
        })
        .collect()
}

/// `{"file", "warnings": [{rule, line, detail, level, url}], "error"?}`.
pub fn json(file: &str, report: &Report, error: Option<&DockerfileError>) -> String {
    let lvl = level(report);
    let mut v = json!({
        "file": file,
        "warnings": report.warnings.iter().map(|w| warning_value(w, lvl)).collect::<Vec<_>>(),
    });
    if let (Some(e), Some(obj)) = (error, v.as_object_mut()) {
        obj.insert(
            "error".into(),
            json!({"line": e.line, "col": e.col, "message": e.message}),
        );
    }
    format!("{v}\n")
}

/// NDJSON `lint_warning` events, one per warning.
pub fn events(report: &Report) -> String {
    let lvl = level(report);
    report
        .warnings
        .iter()
        .map(|w| {
            let mut v = warning_value(w, lvl);
            if let Some(obj) = v.as_object_mut() {
                obj.insert("event".into(), json!("lint_warning"));
            }
            format!("{v}\n")
        })
        .collect()
}

/// What `docker build` prints: ` N warnings found:` and ` - Rule: detail (line N)`.
pub fn summary(report: &Report) -> String {
    let n = report.warnings.len();
    if n == 0 {
        return String::new();
    }
    let mut out = format!(" {n} warning{} found:\n", if n == 1 { "" } else { "s" });
    for w in &report.warnings {
        out.push_str(&format!(
            " - {}: {} (line {})\n",
            w.rule.name,
            name(&w.detail),
            w.line
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use stagescope_dockerfile::lint::rules;

    fn report(error_on_warning: bool) -> Report {
        Report {
            warnings: vec![Warning {
                rule: &rules::FROM_AS_CASING,
                line: 2,
                detail: "'as' and 'FROM' keywords' casing do not match".into(),
            }],
            error_on_warning,
        }
    }

    #[test]
    fn formats() {
        let r = report(false);
        assert_eq!(
            text("Dockerfile", &r),
            "Dockerfile:2: FromAsCasing: 'as' and 'FROM' keywords' casing do not match\n"
        );
        assert_eq!(
            summary(&r),
            " 1 warning found:\n - FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 2)\n"
        );
        let v: Value = serde_json::from_str(&json("D", &report(true), None)).expect("json");
        assert_eq!(v["warnings"][0]["level"], "error");
        assert_eq!(
            v["warnings"][0]["url"],
            "https://docs.docker.com/go/dockerfile/rule/from-as-casing/"
        );
        assert!(v.get("error").is_none());
        let e: Value = serde_json::from_str(events(&r).trim()).expect("event");
        assert_eq!(e["event"], "lint_warning");
    }
}
