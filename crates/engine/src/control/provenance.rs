//! The parts of a BuildKit provenance document a build record needs: the Dockerfile the
//! build read, and its source map (which Dockerfile lines each vertex stands for). BuildKit
//! writes one with mode=max for every build of its history that produced a result; SLSA
//! v0.2 (BuildKit 0.11–0.19) and v1 layouts are both read, bare or in an in-toto statement.

use std::collections::HashMap;

use base64::Engine as _;
use serde_json::Value;

use crate::buildkit::normalize_image;

/// The Dockerfile and, per vertex digest, the lines (1-based) its source locations start at.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SourceMap {
    pub filename: String,
    pub dockerfile: String,
    pub lines: HashMap<String, Vec<u32>>,
    /// The images the build read (its materials), as `busybox`, `ghcr.io/o/x:1.2`, with the
    /// digest each resolved to.
    pub images: Vec<(String, String)>,
}

impl SourceMap {
    /// The digest the build resolved `image` (as a FROM names it) to.
    pub fn image_digest(&self, image: &str) -> Option<&str> {
        let want = normalize_image(image);
        self.images
            .iter()
            .find(|(name, _)| *name == want)
            .map(|(_, d)| d.as_str())
    }
}

/// `pkg:docker/busybox@latest?platform=…` -> `busybox` (as [`normalize_image`] spells it).
fn material_image(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("pkg:docker/")?;
    let rest = rest.split('?').next().unwrap_or(rest);
    let image = match rest.rsplit_once('@') {
        // A version that is a digest stays one; a tag is written `name:tag`.
        Some((name, v)) if v.contains(':') => format!("{name}@{v}"),
        Some((name, v)) => format!("{name}:{v}"),
        None => rest.to_string(),
    };
    Some(normalize_image(&image))
}

fn buildkit_metadata(pred: &Value) -> Option<&Value> {
    pred.pointer("/metadata/https:~1~1mobyproject.org~1buildkit@v1#metadata")
        .or_else(|| pred.pointer("/runDetails/metadata/buildkit_metadata"))
}

fn build_config(pred: &Value) -> Option<&Value> {
    pred.get("buildConfig")
        .or_else(|| pred.pointer("/buildDefinition/internalParameters/buildConfig"))
}

/// Reads a provenance document; Err says what it lacked.
pub fn source_map(doc: &[u8]) -> Result<SourceMap, String> {
    let v: Value = serde_json::from_slice(doc).map_err(|e| format!("not JSON: {e}"))?;
    let pred = v.get("predicate").unwrap_or(&v);
    let source = buildkit_metadata(pred)
        .and_then(|m| m.get("source"))
        .ok_or("no source information (was it written with mode=max?)")?;
    let infos = source
        .get("infos")
        .and_then(Value::as_array)
        .ok_or("no source files")?;
    // The Dockerfile frontend names its one source's language `Dockerfile`.
    let index = infos
        .iter()
        .position(|i| i.get("language").and_then(Value::as_str) == Some("Dockerfile"))
        .unwrap_or(0);
    let info = infos.get(index).ok_or("no source files")?;
    let filename = info
        .get("filename")
        .and_then(Value::as_str)
        .unwrap_or("Dockerfile")
        .to_string();
    let data = info.get("data").and_then(Value::as_str).unwrap_or("");
    // Go's encoding/json writes a `[]byte` as standard base64.
    let dockerfile = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| "the Dockerfile's bytes are not base64")?;
    let dockerfile = String::from_utf8_lossy(&dockerfile).into_owned();
    let steps = build_config(pred)
        .and_then(|c| c.get("digestMapping"))
        .and_then(Value::as_object)
        .ok_or("no digest mapping")?;
    let locations = source.get("locations").and_then(Value::as_object);
    let mut lines = HashMap::new();
    for (digest, step) in steps {
        let Some(step) = step.as_str() else { continue };
        let at = locations
            .and_then(|l| l.get(step))
            .and_then(|l| l.get("locations"))
            .and_then(Value::as_array);
        let mut ls = Vec::new();
        for loc in at.into_iter().flatten() {
            let src = loc.get("sourceIndex").and_then(Value::as_u64).unwrap_or(0);
            if src != index as u64 {
                continue;
            }
            let ranges = loc.get("ranges").and_then(Value::as_array);
            for r in ranges.into_iter().flatten() {
                if let Some(line) = r.pointer("/start/line").and_then(Value::as_u64) {
                    ls.push(u32::try_from(line).unwrap_or(u32::MAX));
                }
            }
        }
        lines.insert(digest.clone(), ls);
    }
    let images = pred
        .get("materials")
        .or_else(|| pred.pointer("/buildDefinition/resolvedDependencies"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let name = material_image(m.get("uri").and_then(Value::as_str)?)?;
            let digest = m.pointer("/digest/sha256").and_then(Value::as_str)?;
            Some((name, format!("sha256:{digest}")))
        })
        .collect();
    Ok(SourceMap {
        filename,
        dockerfile,
        lines,
        images,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What BuildKit 0.13 (Docker 26) wrote for a two-stage build whose stages start from
    /// the same image (trimmed to the fields read).
    const V02: &str = r#"{
      "buildType": "https://mobyproject.org/buildkit@v1",
      "materials": [{"uri": "pkg:docker/busybox@latest?platform=linux%2Famd64",
                     "digest": {"sha256": "7558d5"}}],
      "buildConfig": {"digestMapping": {
        "sha256:from": "step0", "sha256:ctx": "step2", "sha256:run": "step4"}},
      "metadata": {"https://mobyproject.org/buildkit@v1#metadata": {"source": {
        "locations": {
          "step0": {"locations": [{"ranges": [{"start": {"line": 6}, "end": {"line": 6}}]},
                                  {"ranges": [{"start": {"line": 1}, "end": {"line": 1}}]}]},
          "step2": {},
          "step4": {"locations": [{"ranges": [{"start": {"line": 4}, "end": {"line": 5}}]}]}},
        "infos": [{"filename": "Dockerfile", "language": "Dockerfile",
                   "data": "RlJPTSBidXN5Ym94Cg=="}]}}}
    }"#;

    #[test]
    fn slsa_v02_gives_the_dockerfile_and_each_vertexs_lines() {
        let m = source_map(V02.as_bytes()).expect("map");
        assert_eq!(m.filename, "Dockerfile");
        assert_eq!(m.dockerfile, "FROM busybox\n");
        assert_eq!(m.lines["sha256:from"], [6, 1]);
        assert_eq!(m.lines["sha256:run"], [4]);
        assert!(m.lines["sha256:ctx"].is_empty());
        assert_eq!(m.image_digest("busybox"), Some("sha256:7558d5"));
        assert_eq!(
            m.image_digest("docker.io/library/busybox:latest"),
            Some("sha256:7558d5")
        );
        assert_eq!(m.image_digest("alpine"), None);
    }

    #[test]
    fn slsa_v1_in_a_statement_reads_the_same() {
        let v: Value = serde_json::from_str(V02).expect("json");
        let v1 = serde_json::json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicate": {
                "buildDefinition": {"internalParameters": {"buildConfig": v["buildConfig"]}},
                "runDetails": {"metadata": {"buildkit_metadata":
                    v["metadata"]["https://mobyproject.org/buildkit@v1#metadata"]}}
            }
        });
        let m = source_map(v1.to_string().as_bytes()).expect("map");
        assert_eq!(m.lines["sha256:from"], [6, 1]);
        assert_eq!(m.dockerfile, "FROM busybox\n");
    }

    #[test]
    fn a_document_without_source_says_so() {
        let e = source_map(br#"{"buildConfig": {}}"#).expect_err("no source");
        assert!(e.contains("no source information"), "{e}");
        assert!(source_map(b"nope").is_err());
    }
}
