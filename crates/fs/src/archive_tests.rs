use super::*;
use crate::layers::tests::{gzip, tar_with as tar_of, zstd};

fn digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// The layers of the test image: 1000 bytes of `big` written, overwritten (300), deleted;
/// `keep` stays. Waste: 1000 + 300.
fn layers() -> Vec<Vec<u8>> {
    vec![
        tar_of(&[("big", &[1u8; 1000]), ("keep", b"k")]),
        tar_of(&[("big", &[2u8; 300])]),
        tar_of(&[(".wh.big", b"")]),
    ]
}

/// The blobs of one image (config + manifest + layers compressed by `compress`), its
/// manifest's digest and size.
fn image_blobs(
    arch: &str,
    compress: fn(&[u8]) -> Vec<u8>,
    blobs: &mut Vec<(String, Vec<u8>)>,
) -> (String, usize) {
    let plain = layers();
    let diff_ids: Vec<String> = plain.iter().map(|l| digest(l)).collect();
    let config = serde_json::json!({
        "architecture": arch, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created_by": "ADD rootfs /"},
            {"created_by": "RUN /bin/sh -c echo > /big # buildkit"},
            {"created_by": "CMD [\"sh\"]", "empty_layer": true},
            {"created_by": "RUN /bin/sh -c rm /big # buildkit"},
        ]
    })
    .to_string()
    .into_bytes();
    let mut layer_descs = Vec::new();
    for l in &plain {
        let c = compress(l);
        layer_descs.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": digest(&c), "size": c.len()
        }));
        blobs.push((digest(&c), c));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(&config), "size": config.len()},
        "layers": layer_descs,
    })
    .to_string()
    .into_bytes();
    blobs.push((digest(&config), config));
    let m = (digest(&manifest), manifest.len());
    blobs.push((digest(&manifest), manifest));
    m
}

/// An OCI layout directory: one image per arch (gzip layers for amd64, zstd for arm64),
/// behind a multi-platform index tagged `v1`.
fn oci_dir(archs: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut blobs = Vec::new();
    let mut entries = Vec::new();
    for arch in archs {
        let compress: fn(&[u8]) -> Vec<u8> = if *arch == "arm64" { zstd } else { gzip };
        let (d, size) = image_blobs(arch, compress, &mut blobs);
        entries.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": d, "size": size,
            "platform": {"os": "linux", "architecture": arch}
        }));
    }
    let nested = serde_json::json!({"schemaVersion": 2, "manifests": entries})
        .to_string()
        .into_bytes();
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": digest(&nested), "size": nested.len(),
        "annotations": {"org.opencontainers.image.ref.name": "v1", "io.containerd.image.name": "demo:v1"}
    }]});
    blobs.push((digest(&nested), nested));
    std::fs::create_dir_all(dir.path().join("blobs/sha256")).expect("mkdir");
    for (d, b) in &blobs {
        let hex = d.strip_prefix("sha256:").expect("sha256");
        std::fs::write(dir.path().join("blobs/sha256").join(hex), b).expect("blob");
    }
    std::fs::write(dir.path().join("index.json"), index.to_string()).expect("index");
    std::fs::write(
        dir.path().join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .expect("oci-layout");
    dir
}

fn no_caches() -> Caches<'static> {
    Caches {
        layers: None,
        index: None,
    }
}

fn check(img: &ArchiveImage) {
    assert_eq!(img.waste.wasted_bytes(), 1300);
    assert_eq!(img.waste.layer_bytes, [1001, 300, 0]);
    assert!(img.index.lookup(b"keep").is_some());
    assert!(img.index.lookup(b"big").is_none());
    assert_eq!(img.created_by[2].as_deref(), Some("RUN rm /big"));
}

#[test]
fn an_oci_layout_opens_the_platform_asked_for() {
    let dir = oci_dir(&["amd64", "arm64"]);
    for arch in ["amd64", "arm64"] {
        let p = Platform::parse(&format!("linux/{arch}")).expect("platform");
        let src = Source::OciLayout(dir.path().into(), Some("v1".into()));
        let img = open(&src, Some(&p), no_caches(), |_| {}).expect("open");
        check(&img);
    }
    let p = Platform::parse("linux/s390x").expect("platform");
    let src = Source::OciLayout(dir.path().into(), None);
    let e = open(&src, Some(&p), no_caches(), |_| {}).expect_err("missing");
    assert_eq!(
        e.0,
        "no linux/s390x image in the layout; it has: linux/amd64, linux/arm64 (choose with --platform)"
    );
    let src = Source::OciLayout(dir.path().into(), Some("v2".into()));
    assert!(open(&src, None, no_caches(), |_| {}).is_err());
}

#[test]
fn a_single_platform_layout_needs_no_platform() {
    let dir = oci_dir(&["mips64le"]);
    let src = Source::OciLayout(dir.path().into(), None);
    check(&open(&src, None, no_caches(), |_| {}).expect("open"));
}

#[test]
fn layers_and_waste_are_kept_and_a_second_open_composes_nothing() {
    let dir = oci_dir(&["amd64"]);
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let lc = LayerCache::new(Some(cache_dir.path().join("layers")), 1 << 30);
    let ic = DiskCache::new(cache_dir.path().join("index"), 1 << 30);
    let caches = Caches {
        layers: Some(&lc),
        index: Some(&ic),
    };
    let src = Source::OciLayout(dir.path().into(), None);
    let first = open(&src, None, caches, |_| {}).expect("open");
    assert!(!first.from_cache);
    let again = open(&src, None, caches, |_| {}).expect("open");
    assert!(again.from_cache);
    check(&again);
    assert_eq!(again.image_id, first.image_id);
    for l in layers() {
        assert!(lc.get(&digest(&l)).is_some(), "each layer kept by diff id");
    }
}

#[test]
fn a_layer_that_is_not_its_diff_id_is_refused_and_not_kept() {
    let dir = oci_dir(&["amd64"]);
    // Swap the content of the middle layer's blob for another tar.
    let mut blobs = Vec::new();
    image_blobs("amd64", gzip, &mut blobs);
    let forged = gzip(&tar_of(&[("big", b"forged")]));
    let target = gzip(&layers()[1]);
    let hex = digest(&target);
    std::fs::write(
        dir.path()
            .join("blobs/sha256")
            .join(hex.trim_start_matches("sha256:")),
        forged,
    )
    .expect("forge");
    let cache_dir = tempfile::tempdir().expect("tempdir");
    let lc = LayerCache::new(Some(cache_dir.path().to_path_buf()), 1 << 30);
    let caches = Caches {
        layers: Some(&lc),
        index: None,
    };
    let e = open(
        &Source::OciLayout(dir.path().into(), None),
        None,
        caches,
        |_| {},
    )
    .expect_err("forged");
    assert!(e.0.contains("a damaged or altered archive"), "{e}");
    assert!(lc.get(&digest(&layers()[1])).is_none());
}

#[test]
fn digests_never_leave_the_blobs_directory() {
    assert!(blob_path("sha256:../../etc/passwd").is_err());
    assert!(blob_path("../x:abc").is_err());
    assert!(blob_path("sha256:").is_err());
    assert_eq!(blob_path("sha256:ab12").expect("ok"), "blobs/sha256/ab12");
}

/// A `docker save` tar in the classic layout.
fn classic_save() -> Vec<u8> {
    let plain = layers();
    let diff_ids: Vec<String> = plain.iter().map(|l| digest(l)).collect();
    let config = serde_json::json!({
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "ADD rootfs /"}, {"created_by": "/bin/sh -c echo"}, {"created_by": "/bin/sh -c rm /big"}]
    })
    .to_string();
    let manifest =
        r#"[{"Config":"cfg.json","Layers":["l0/layer.tar","l1/layer.tar","l2/layer.tar"]}]"#;
    tar_of(&[
        ("l0/layer.tar", &plain[0]),
        ("l1/layer.tar", &plain[1]),
        ("l2/layer.tar", &plain[2]),
        ("cfg.json", config.as_bytes()),
        ("manifest.json", manifest.as_bytes()),
    ])
}

#[test]
fn a_docker_save_tar_opens_plain_or_gzipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("img.tar");
    std::fs::write(&plain, classic_save()).expect("write");
    let img = open(
        &Source::DockerArchive(Some(plain)),
        None,
        no_caches(),
        |_| {},
    )
    .expect("tar");
    check(&img);
    assert!(img.image_id.is_some());
    let gz = dir.path().join("img.tar.gz");
    std::fs::write(&gz, gzip(&classic_save())).expect("write");
    let img = open(&Source::DockerArchive(Some(gz)), None, no_caches(), |_| {}).expect("gz");
    check(&img);
}

#[test]
fn a_docker_save_in_the_oci_layout_opens_from_the_tar() {
    let dir = oci_dir(&["amd64"]);
    let mut b = tar::Builder::new(Vec::new());
    b.append_dir_all(".", dir.path()).expect("tar the layout");
    let file = dir.path().join("../oci-save.tar");
    std::fs::write(&file, b.into_inner().expect("tar")).expect("write");
    let img = open(
        &Source::DockerArchive(Some(file.clone())),
        None,
        no_caches(),
        |_| {},
    );
    let _ = std::fs::remove_file(&file);
    check(&img.expect("open"));
}

#[test]
fn bad_input_is_an_error_never_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("junk");
    std::fs::write(&f, b"not a tar at all, not even close").expect("write");
    assert!(open(&Source::DockerArchive(Some(f)), None, no_caches(), |_| {}).is_err());
    let missing = dir.path().join("nope");
    assert!(
        open(
            &Source::DockerArchive(Some(missing.clone())),
            None,
            no_caches(),
            |_| {}
        )
        .is_err()
    );
    assert!(open(&Source::OciLayout(missing, None), None, no_caches(), |_| {}).is_err());
    std::fs::write(dir.path().join("index.json"), b"{").expect("write");
    assert!(
        open(
            &Source::OciLayout(dir.path().into(), None),
            None,
            no_caches(),
            |_| {}
        )
        .is_err()
    );
    assert!(Platform::parse("linux").is_err());
    assert!(Platform::parse("linux/arm/v7").is_ok());
}

#[test]
fn sources_parse() {
    assert_eq!(Source::parse("busybox:latest"), None);
    assert_eq!(
        Source::parse("docker-archive:-"),
        Some(Source::DockerArchive(None))
    );
    assert_eq!(
        Source::parse("oci-layout:/tmp/x:v1"),
        Some(Source::OciLayout("/tmp/x".into(), Some("v1".into())))
    );
    assert_eq!(
        Source::parse("oci-layout:/tmp/x"),
        Some(Source::OciLayout("/tmp/x".into(), None))
    );
}
