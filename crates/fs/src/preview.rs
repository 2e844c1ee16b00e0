//! What a file preview shows: text with its lines, or a hex dump under a guess of the
//! type from the first bytes. Pure: the bytes come from the engine, the lines go to a view.

use crate::{Kind, escape};

/// Bytes of a file a preview fetches: the first MiB.
pub const PREVIEW_LIMIT: usize = 1 << 20;
/// Bytes of a binary the hex dump shows (16 a line): more is noise on a terminal.
const HEX_LIMIT: usize = 64 << 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Printable lines (control characters escaped, tabs expanded).
    Text(Vec<String>),
    /// `offset  hex  ascii` lines, with what the magic bytes say.
    Hex {
        guess: &'static str,
        lines: Vec<String>,
    },
    /// Directories, links, special files: one line of what it is.
    Note(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Full path, escaped for display.
    pub path: String,
    pub size: u64,
    /// Only the first bytes were fetched.
    pub truncated: bool,
    pub body: Body,
    /// First line shown.
    pub top: usize,
}

/// What the first bytes say a binary is.
pub fn guess(data: &[u8]) -> &'static str {
    let at = |off: usize, magic: &[u8]| data.get(off..off + magic.len()) == Some(magic);
    if at(0, b"\x7fELF") {
        "ELF executable or library"
    } else if at(0, &[0x1f, 0x8b]) {
        "gzip archive"
    } else if at(0, b"PK\x03\x04") || at(0, b"PK\x05\x06") {
        "zip archive"
    } else if at(257, b"ustar") {
        "tar archive"
    } else if at(0, &[0x28, 0xb5, 0x2f, 0xfd]) {
        "zstd archive"
    } else if at(0, b"\xfd7zXZ\x00") {
        "xz archive"
    } else if at(0, b"BZh") {
        "bzip2 archive"
    } else if at(0, b"\x89PNG\r\n\x1a\n") {
        "PNG image"
    } else if at(0, &[0xff, 0xd8, 0xff]) {
        "JPEG image"
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        "GIF image"
    } else if at(0, b"\x00asm") {
        "WebAssembly module"
    } else {
        "binary data"
    }
}

/// Text: no NUL byte and valid UTF-8, but for a character cut by the fetch limit.
pub(crate) fn is_text(data: &[u8], truncated: bool) -> bool {
    if data.contains(&0) {
        return false;
    }
    match std::str::from_utf8(data) {
        Ok(_) => true,
        Err(e) => truncated && e.error_len().is_none(),
    }
}

fn text_lines(data: &[u8]) -> Vec<String> {
    data.split(|&b| b == b'\n')
        .map(|l| {
            let l = l.strip_suffix(b"\r").unwrap_or(l);
            let mut out = Vec::with_capacity(l.len());
            for &b in l {
                if b == b'\t' {
                    out.extend_from_slice(b"    ");
                } else {
                    out.push(b);
                }
            }
            escape(&out)
        })
        .collect()
}

pub(crate) fn hex_lines(data: &[u8]) -> Vec<String> {
    data[..data.len().min(HEX_LIMIT)]
        .chunks(16)
        .enumerate()
        .map(|(i, chunk)| {
            let mut hex = String::with_capacity(48);
            for (k, b) in chunk.iter().enumerate() {
                if k == 8 {
                    hex.push(' ');
                }
                hex.push_str(&format!("{b:02x} "));
            }
            let ascii: String = chunk
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            format!("{:08x}  {hex:<49} {ascii}", i * 16)
        })
        .collect()
}

impl Preview {
    /// The preview of a regular file's first bytes.
    pub fn of_file(path: &[u8], size: u64, data: &[u8]) -> Preview {
        let truncated = (data.len() as u64) < size;
        let body = if is_text(data, truncated) {
            let mut lines = text_lines(data);
            if lines.last().is_some_and(String::is_empty) {
                lines.pop();
            }
            Body::Text(lines)
        } else {
            Body::Hex {
                guess: guess(data),
                lines: hex_lines(data),
            }
        };
        Preview {
            path: escape(path),
            size,
            truncated,
            body,
            top: 0,
        }
    }

    pub fn note(path: &[u8], note: String) -> Preview {
        Preview {
            path: escape(path),
            size: 0,
            truncated: false,
            body: Body::Note(note),
            top: 0,
        }
    }

    pub fn len(&self) -> usize {
        match &self.body {
            Body::Text(l) | Body::Hex { lines: l, .. } => l.len(),
            Body::Note(_) => 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The first bytes of one entry of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedFile {
    pub kind: Kind,
    /// The whole size, as the archive declares it.
    pub size: u64,
    pub mode: u32,
    pub link: Option<Vec<u8>>,
    /// At most the limit asked for.
    pub data: Vec<u8>,
}

impl FetchedFile {
    pub fn truncated(&self) -> bool {
        (self.data.len() as u64) < self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_by_magic() {
        assert_eq!(guess(b"\x7fELF\x02\x01"), "ELF executable or library");
        assert_eq!(guess(&[0x1f, 0x8b, 8, 0]), "gzip archive");
        assert_eq!(guess(b"\x89PNG\r\n\x1a\n...."), "PNG image");
        assert_eq!(guess(&[0xff, 0xd8, 0xff, 0xe0]), "JPEG image");
        assert_eq!(guess(b"GIF89a"), "GIF image");
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(guess(&tar), "tar archive");
        assert_eq!(guess(b"\x01\x02"), "binary data");
    }

    #[test]
    fn text_or_hex() {
        let p = Preview::of_file(b"etc/motd", 13, b"hi\tthere\n\x1b[2J\n");
        assert_eq!(
            p.body,
            Body::Text(vec!["hi    there".into(), "\\x1b[2J".into()])
        );
        // A multi-byte character cut by the limit is still text.
        assert!(is_text("é".as_bytes().get(..1).expect("byte"), true));
        assert!(!is_text(b"a\0b", false));
        let p = Preview::of_file(b"bin/x", 100, b"\x7fELF\x02\x01\x01\x00");
        match p.body {
            Body::Hex { guess, lines } => {
                assert_eq!(guess, "ELF executable or library");
                assert!(
                    lines[0].starts_with("00000000  7f 45 4c 46"),
                    "{}",
                    lines[0]
                );
                assert!(lines[0].ends_with(".ELF...."));
            }
            other => panic!("{other:?}"),
        }
        assert!(p.truncated);
    }
}
