//! `RUN --mount` and `RUN --device` values, as BuildKit's `instructions/commands_runmount.go`
//! and `commands_rundevice.go` read them. A mount is read twice: when the Dockerfile is parsed
//! only `from` is looked at (the rest may hold variables), and when its stage is dispatched
//! the whole value is checked ([`check`]), each field's value expanded first with the stage's
//! ARG and ENV, as BuildKit's setMountState does.

use super::suggest;

/// The mount types BuildKit knows, `bind` being the default.
pub const MOUNT_TYPES: [&str; 5] = ["bind", "cache", "tmpfs", "secret", "ssh"];
const SHARING: [&str; 3] = ["shared", "private", "locked"];
const KEYS: [&str; 19] = [
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
];

/// One CSV record as `tonistiigi/go-csvvalue` splits it (Go `encoding/csv` rules: a field
/// may be wholly quoted, `""` inside quotes is a quote, a bare quote is an error).
pub fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let line = line
        .strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .unwrap_or(line);
    if line.is_empty() {
        return Err("EOF".into());
    }
    let err = |pos: usize, what: &str| format!("parse error on line 1, column {}: {what}", pos + 1);
    let bare = "bare \" in non-quoted-field";
    let extraneous = "extraneous or missing \" in quoted-field";
    let b = line.as_bytes();
    let mut fields = Vec::new();
    let mut pos = 0;
    loop {
        if b.get(pos) != Some(&b'"') {
            let end = line[pos..].find(',').map_or(line.len(), |i| pos + i);
            if let Some(j) = line[pos..end].find('"') {
                return Err(err(pos + j, bare));
            }
            fields.push(line[pos..end].to_string());
            if end == line.len() {
                return Ok(fields);
            }
            pos = end + 1;
            continue;
        }
        pos += 1;
        let mut field = String::new();
        loop {
            let Some(i) = line[pos..].find('"') else {
                return Err(err(pos, extraneous));
            };
            field.push_str(&line[pos..pos + i]);
            pos += i + 1;
            match b.get(pos) {
                Some(b'"') => {
                    field.push('"');
                    pos += 1;
                }
                Some(b',') => {
                    pos += 1;
                    fields.push(field);
                    break;
                }
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(_) => return Err(err(pos - 1, extraneous)),
            }
        }
    }
}

/// Parse time: the `from` of a mount (the last one wins), or BuildKit's error.
pub(crate) fn parse_from(value: &str) -> Result<Option<String>, String> {
    let fields = csv_fields(value).map_err(|e| format!("failed to parse csv mounts: {e}"))?;
    let mut from = None;
    for field in fields {
        let Some((key, v)) = field.split_once('=') else {
            continue;
        };
        if key.to_lowercase() == "from" {
            if v.find('$').is_some_and(|i| i != v.len() - 1) {
                return Err(
                    "'from' doesn't support variable expansion, define alias stage instead".into(),
                );
            }
            from = Some(v.to_string());
        }
    }
    Ok(from.filter(|f| !f.is_empty()))
}

/// What dispatch needs of a checked mount.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub kind: &'static str,
    pub target: String,
}

use super::remote::go_bool as parse_bool;

/// Go's strconv.ParseUint(v, radix, 32) succeeds.
fn parse_u32(v: &str, radix: u32) -> bool {
    !v.is_empty() && v.chars().all(|c| c.is_digit(radix)) && u32::from_str_radix(v, radix).is_ok()
}

/// docker/go-units RAMInBytes: `^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$`.
fn ram_in_bytes(v: &str) -> bool {
    let num_end = v
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(v.len());
    let num = &v[..num_end];
    let number = !num.is_empty() && num.split('.').all(|p| !p.is_empty());
    let mut rest = v[num_end..].strip_prefix(' ').unwrap_or(&v[num_end..]);
    for set in ["kKmMgGtTpP", "iI", "bB"] {
        if let Some(c) = rest.chars().next().filter(|c| set.contains(*c)) {
            rest = &rest[c.len_utf8()..];
        }
    }
    number && rest.is_empty()
}

/// Dispatch time: the whole mount, with BuildKit's messages (setMountState with an expander:
/// `expand` is the stage's ProcessWord, applied to each field's value before it is read).
pub(crate) fn check(
    value: &str,
    expand: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Mount, String> {
    let fields = csv_fields(value).map_err(|e| format!("failed to parse csv mounts: {e}"))?;
    let mut kind: &'static str = "bind";
    let mut m = Mount::default();
    let (mut from, mut source, mut id, mut sharing) = (false, false, false, false);
    let (mut mode, mut uid, mut gid) = (false, false, false);
    let unexpected = |key: &str, kind: &str| match kind {
        "secret" | "ssh" => Ok(()),
        k => Err(format!("unexpected key '{key}' for mount type '{k}'")),
    };
    for field in &fields {
        let Some((raw_key, raw)) = field.split_once('=') else {
            match field.to_lowercase().as_str() {
                "readonly" | "ro" | "readwrite" | "rw" => {}
                "required" => unexpected("required", kind)?,
                _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
            }
            continue;
        };
        let key = raw_key.to_lowercase();
        let v = expand(raw)?;
        let v = v.as_str();
        let invalid = || Err(format!("invalid value for {key}: {v}"));
        match key.as_str() {
            "type" => {
                let lower = v.to_lowercase();
                let Some(k) = MOUNT_TYPES.into_iter().find(|t| *t == lower) else {
                    let msg = format!("unsupported mount type {v:?}");
                    return Err(suggest::wrap(msg, v, &MOUNT_TYPES));
                };
                kind = k;
            }
            "from" => from = !v.is_empty(),
            "source" | "src" => source = !v.is_empty(),
            "target" | "dst" | "destination" => m.target = v.to_string(),
            "readonly" | "ro" | "readwrite" | "rw" if parse_bool(v).is_none() => {
                return invalid();
            }
            "required" => {
                unexpected("required", kind)?;
                if parse_bool(v).is_none() {
                    return invalid();
                }
            }
            "size" => match kind {
                "tmpfs" if !ram_in_bytes(v) => return invalid(),
                "tmpfs" => {}
                k => return Err(format!("unexpected key 'size' for mount type '{k}'")),
            },
            "id" => id = !v.is_empty(),
            "sharing" => {
                let lower = v.to_lowercase();
                if !SHARING.contains(&lower.as_str()) {
                    let msg = format!("unsupported sharing value {v:?}");
                    return Err(suggest::wrap(msg, v, &SHARING));
                }
                sharing = !v.is_empty();
            }
            "mode" | "uid" | "gid" => {
                if !parse_u32(v, if key == "mode" { 8 } else { 10 }) {
                    return Err(format!("invalid value {v} for {key}"));
                }
                match key.as_str() {
                    "mode" => mode = true,
                    "uid" => uid = true,
                    _ => gid = true,
                }
            }
            "readonly" | "ro" | "readwrite" | "rw" | "env" => {}
            _ => {
                let msg = format!("unexpected key '{key}' in '{field}'");
                return Err(suggest::wrap(msg, &key, &KEYS));
            }
        }
    }
    m.kind = kind;
    if !matches!(kind, "secret" | "ssh" | "cache") {
        for (set, name) in [(mode, "mode"), (uid, "uid"), (gid, "gid")] {
            if set {
                return Err(format!("{name} not allowed for {kind:?} type mounts"));
            }
        }
    }
    if kind == "secret" {
        if from {
            return Err("secret mount should not have a from".into());
        }
        if sharing {
            return Err("secret mount should not define sharing".into());
        }
        if !source && m.target.is_empty() && !id {
            return Err("invalid secret mount. one of source, target required".into());
        }
        if source && id {
            return Err("both source and id can't be set".into());
        }
    }
    if sharing && kind != "cache" {
        return Err(format!("invalid cache sharing set for {kind} mount"));
    }
    if kind == "ssh" && source {
        return Err("ssh does not support source".into());
    }
    if kind != "secret" && kind != "ssh" && m.target.starts_with('/') && cleans_to_root(&m.target) {
        return Err("invalid mount target \"/\"".into());
    }
    Ok(m)
}

/// An absolute path that Go's path.Clean turns into `/`.
fn cleans_to_root(p: &str) -> bool {
    let mut depth: usize = 0;
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => depth = depth.saturating_sub(1),
            _ => depth += 1,
        }
    }
    depth == 0
}

/// Parse time: a `--device` value (ParseDevice), or BuildKit's error.
pub(crate) fn check_device(value: &str) -> Result<(), String> {
    let fields = csv_fields(value).map_err(|e| format!("failed to parse csv devices: {e}"))?;
    let mut name: Option<&str> = None;
    for field in &fields {
        let (key, v) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), Some(v)),
            None => (field.to_lowercase(), None),
        };
        match (key.as_str(), v, name) {
            ("required", None, _) => {}
            ("name", Some(_), Some(set)) => {
                return Err(format!("device name already set to {set}"));
            }
            ("name", Some(v), None) => name = Some(v),
            ("required", Some(v), _) if parse_bool(v).is_none() => {
                return Err(format!("invalid value for required: {v}"));
            }
            ("required", Some(_), _) => {}
            (_, _, None) => name = Some(field),
            (_, None, Some(_)) => {
                return Err(format!("invalid field '{field}' must be a key=value pair"));
            }
            (_, Some(_), Some(_)) => {
                let msg = format!("unexpected key '{key}' in '{field}'");
                return Err(suggest::wrap(msg, &key, &["name", "required"]));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "mount_tests.rs"]
mod tests;
