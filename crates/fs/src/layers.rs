//! Which layer (and so which instruction) added each file, from a `docker save` stream.
//!
//! Both layouts are read as they stream: the classic one (`<id>/layer.tar`, `<id>.json`,
//! `manifest.json` last) and the OCI one of engines 25+ (`blobs/sha256/<hex>`, gzip layers,
//! `index.json`; Docker writes a `manifest.json` beside it too). Layers are read when they
//! pass, before the manifest says their order, so each is kept by its archive path. Zstd
//! layers are decoded by a pure-Rust decoder; one it cannot read is marked unreadable.

use std::collections::HashMap;
use std::io::Read;

pub use super::index::layer::Layer;
use super::index::{EntryId, FsIndex, IndexError, Kind};
pub use super::save::short_created_by;

/// The layers of an image, bottom first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageLayers {
    pub layers: Vec<Layer>,
    /// Only what is small was kept (history lines, whiteouts): `added` and `sizes` are
    /// empty. An index composed from the layers says which wrote each entry itself, so an
    /// open that composes one does not hold a second list of every path.
    pub light: bool,
}

/// Reads a whole `docker save` tar stream of one image: each layer indexed as it passes
/// ([`crate::save`]), summarized once the manifest has said their order.
pub fn read_save(reader: impl Read) -> Result<ImageLayers, IndexError> {
    let read = crate::save::read_save_indexed(
        reader,
        |_, _| None,
        |_| {},
        crate::save::LayerRead::Indexed,
    )?;
    let layers = read
        .layers
        .into_iter()
        .zip(read.created_by)
        .map(|((_, r), created_by)| {
            let l = match r {
                crate::save::LayerRead::Indexed(ix) => ix.summary(),
                _ => Layer {
                    unreadable: true,
                    ..Layer::default()
                },
            };
            Layer { created_by, ..l }
        })
        .collect();
    Ok(ImageLayers {
        layers,
        light: false,
    })
}

impl ImageLayers {
    /// Per index entry: the last layer that wrote it (its index), if any layer did. An index
    /// composed from these layers says so itself; one from an export is matched by path.
    pub fn attribute(&self, ix: &FsIndex) -> Vec<Option<u16>> {
        if ix.entries().any(|e| e.layer().is_some()) {
            let mut out = vec![None; ix.len()];
            for e in ix.entries() {
                out[e.id as usize] = e.layer();
            }
            return out;
        }
        self.attribute_by_paths(ix)
    }

    /// [`ImageLayers::attribute`] from the paths each layer wrote (an index from an export).
    pub fn attribute_by_paths(&self, ix: &FsIndex) -> Vec<Option<u16>> {
        let mut last: HashMap<&[u8], u16> = HashMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            let i = u16::try_from(i).unwrap_or(u16::MAX);
            for p in &l.added {
                last.insert(p.as_slice(), i);
            }
        }
        let mut out = vec![None; ix.len()];
        for e in ix.entries() {
            out[e.id as usize] = last.get(e.path()).copied();
        }
        out
    }

    /// Per index entry: the layer that made it. For a directory that is the first layer it
    /// appears in: every layer that adds something below a directory writes the directory
    /// too, so the last writer of `src/` is whichever instruction last touched a file in it,
    /// not the WORKDIR that created it. For anything else, the layer that wrote it.
    pub fn attribute_created(&self, ix: &FsIndex) -> Vec<Option<u16>> {
        let mut out = vec![None; ix.len()];
        if ix.entries().any(|e| e.layer().is_some()) {
            for e in ix.entries() {
                out[e.id as usize] = e.created_layer();
            }
            return out;
        }
        let last = self.attribute_by_paths(ix);
        // First appearance since the path was last deleted.
        let mut first: HashMap<&[u8], u16> = HashMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            let i = u16::try_from(i).unwrap_or(u16::MAX);
            for d in &l.deleted {
                first.remove(d.as_slice());
            }
            for p in &l.added {
                first.entry(p.as_slice()).or_insert(i);
            }
        }
        for e in ix.entries() {
            out[e.id as usize] = match e.kind() {
                Kind::Dir => first.get(e.path()).copied(),
                _ => last[e.id as usize],
            };
        }
        out
    }

    /// The history line of the layer an attribution names for an entry (`RUN make`, `COPY
    /// …`; empty for an imported base), with the layer's number.
    pub fn describe(&self, attribution: &[Option<u16>], id: EntryId) -> Option<(u16, String)> {
        let layer = (*attribution.get(id as usize)?)?;
        let l = self.layers.get(layer as usize)?;
        Some((layer, l.created_by.clone().unwrap_or_default()))
    }
}

#[cfg(test)]
#[path = "layers_proptests.rs"]
mod proptests;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tar_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (p, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, p, *data).expect("append");
        }
        b.into_inner().expect("tar")
    }

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).expect("gzip");
        enc.finish().expect("gzip")
    }

    const CONFIG: &str = r#"{"history":[
        {"created_by":"/bin/sh -c #(nop) ADD file:abc in / "},
        {"created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true},
        {"created_by":"|1 V=2 /bin/sh -c make && rm -rf /src"},
        {"created_by":"RUN /bin/sh -c echo hi > /b # buildkit"}]}"#;

    fn check(save: &[u8]) {
        let layers = read_save(save).expect("read save");
        assert_eq!(layers.layers.len(), 3);
        assert_eq!(
            layers.layers[0].created_by.as_deref(),
            Some("ADD file:abc in /")
        );
        assert_eq!(
            layers.layers[1].created_by.as_deref(),
            Some("RUN make && rm -rf /src")
        );
        assert_eq!(layers.layers[1].deleted, [b"src".to_vec()]);
        assert_eq!(
            layers.layers[0].sizes,
            [Some(1), Some(3)],
            "a and src/main.c"
        );
        assert_eq!(layers.layers[2].opaque, [b"etc".to_vec()]);
        assert_eq!(
            layers.layers[2].created_by.as_deref(),
            Some("RUN echo hi > /b")
        );

        let fs = tar_with(&[("a", b"1"), ("b", b"2"), ("etc/x", b"")]);
        let ix = FsIndex::from_tar(fs.as_slice()).expect("index");
        let attr = layers.attribute(&ix);
        let by = |p: &[u8]| layers.describe(&attr, ix.lookup(p).expect("entry"));
        assert_eq!(by(b"a"), Some((1, "RUN make && rm -rf /src".to_string())));
        assert_eq!(by(b"b"), Some((2, "RUN echo hi > /b".to_string())));
        assert_eq!(by(b"etc/x"), None);
    }

    #[test]
    fn an_exported_directory_was_made_where_it_first_appears() {
        let layer = |added: &[&str], deleted: &[&str]| Layer {
            added: added.iter().map(|p| p.as_bytes().to_vec()).collect(),
            deleted: deleted.iter().map(|p| p.as_bytes().to_vec()).collect(),
            ..Layer::default()
        };
        let layers = ImageLayers {
            layers: vec![
                layer(&["src"], &[]),
                layer(&["src", "src/a", "old"], &[]),
                layer(&["src", "src/b", "src/a"], &["old"]),
                layer(&["old"], &[]),
            ],
            light: false,
        };
        let fs = tar_with(&[("src/a", b"1"), ("src/b", b"2"), ("old/x", b"")]);
        let ix = FsIndex::from_tar(fs.as_slice()).expect("index");
        let made = layers.attribute_created(&ix);
        let last = layers.attribute(&ix);
        let at = |v: &[Option<u16>], p: &[u8]| v[ix.lookup(p).expect("entry") as usize];
        assert_eq!((at(&made, b"src"), at(&last, b"src")), (Some(0), Some(2)));
        assert_eq!(
            (at(&made, b"src/a"), at(&last, b"src/a")),
            (Some(2), Some(2))
        );
        assert_eq!(at(&made, b"old"), Some(3), "deleted, then made again");
    }

    #[test]
    fn history_lines_read_as_instructions() {
        let cases = [
            (
                "/bin/sh -c #(nop) COPY file:ab in /x ",
                "COPY file:ab in /x",
            ),
            ("|2 A=1 B=2 /bin/sh -c make", "RUN make"),
            (
                "RUN |1 V=1.0 /bin/sh -c echo \"v ${V}\" # buildkit",
                "RUN echo \"v ${V}\"",
            ),
            ("RUN /bin/sh -c echo hi # buildkit", "RUN echo hi"),
            ("COPY /a /b # buildkit", "COPY /a /b"),
        ];
        for (line, want) in cases {
            assert_eq!(short_created_by(line), want, "{line}");
        }
    }

    #[test]
    fn classic_layout() {
        let l0 = tar_with(&[("a", b"0"), ("src/main.c", b"int")]);
        let l1 = tar_with(&[("a", b"1"), (".wh.src", b"")]);
        let l2 = tar_with(&[("b", b"2"), ("etc/.wh..wh..opq", b"")]);
        let manifest =
            r#"[{"Config":"cfg.json","Layers":["l0/layer.tar","l1/layer.tar","l2/layer.tar"]}]"#;
        let save = tar_with(&[
            ("l0/layer.tar", &l0),
            ("l1/layer.tar", &l1),
            ("l2/layer.tar", &l2),
            ("cfg.json", CONFIG.as_bytes()),
            ("manifest.json", manifest.as_bytes()),
        ]);
        check(&save);
    }

    pub(crate) fn zstd(data: &[u8]) -> Vec<u8> {
        ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
    }

    #[test]
    fn oci_layout_with_gzip_layers() {
        oci_layout_with(gzip);
    }

    #[test]
    fn oci_layout_with_zstd_layers() {
        oci_layout_with(zstd);
    }

    fn oci_layout_with(compress: fn(&[u8]) -> Vec<u8>) {
        let l0 = compress(&tar_with(&[("a", b"0"), ("src/main.c", b"int")]));
        let l1 = compress(&tar_with(&[("a", b"1"), (".wh.src", b"")]));
        let l2 = tar_with(&[("b", b"2"), ("etc/.wh..wh..opq", b"")]);
        let manifest = r#"[{"Config":"blobs/sha256/cc","Layers":["blobs/sha256/00","blobs/sha256/11","blobs/sha256/22"]}]"#;
        let save = tar_with(&[
            ("blobs/sha256/cc", CONFIG.as_bytes()),
            ("blobs/sha256/00", &l0),
            ("blobs/sha256/11", &l1),
            ("blobs/sha256/22", &l2),
            ("index.json", br#"{"schemaVersion":2}"#),
            ("manifest.json", manifest.as_bytes()),
        ]);
        check(&save);
    }

    #[test]
    fn garbage_is_an_error_or_empty_never_a_panic() {
        let _ = read_save(&b"not a tar at all"[..]);
        let _ = read_save(&[0u8; 2048][..]);
    }
}
