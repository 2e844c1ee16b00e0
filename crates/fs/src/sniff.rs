//! Content sniffing: a few bits about what a small file holds, computed from the bytes the
//! indexer streams by anyway (the same pass that hashes them), so rules can find a private
//! key stored under an innocent name without the index keeping any content.
//!
//! Only files of at most [`SNIFF_LIMIT`] bytes are looked at: keys, tokens and credential
//! files are small, and skipping large files keeps indexing at streaming speed.

use memchr::memmem;

/// Files larger than this are not sniffed.
pub(crate) const SNIFF_LIMIT: u64 = 64 * 1024;

/// What the content of a small file looked like (a bit set in one byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ContentFlags(u8);

impl ContentFlags {
    /// A PEM private key header (`-----BEGIN … PRIVATE KEY-----`, OpenSSH's included).
    pub const PRIVATE_KEY: ContentFlags = ContentFlags(1);
    /// An auth token or password assignment (`_authToken=`, `_auth=`, `password =`).
    pub const AUTH_TOKEN: ContentFlags = ContentFlags(2);
    /// An AWS access key id (`AKIA` and 16 upper-case letters or digits).
    pub(crate) const AWS_KEY_ID: ContentFlags = ContentFlags(4);

    const NAMES: [(ContentFlags, &'static str); 3] = [
        (ContentFlags::PRIVATE_KEY, "private key"),
        (ContentFlags::AUTH_TOKEN, "auth token"),
        (ContentFlags::AWS_KEY_ID, "AWS key id"),
    ];

    pub const fn empty() -> ContentFlags {
        ContentFlags(0)
    }
    pub const fn from_bits(b: u8) -> ContentFlags {
        ContentFlags(b)
    }
    pub const fn bits(self) -> u8 {
        self.0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn contains(self, other: ContentFlags) -> bool {
        other.0 != 0 && self.0 & other.0 == other.0
    }
    pub fn union(self, other: ContentFlags) -> ContentFlags {
        ContentFlags(self.0 | other.0)
    }
    /// `private key`, `auth token`, `AWS key id`, in that order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        ContentFlags::NAMES
            .into_iter()
            .filter(move |(f, _)| self.contains(*f))
            .map(|(_, n)| n)
    }

    /// Sniffs the whole content of a small file.
    pub fn sniff(content: &[u8]) -> ContentFlags {
        let mut f = ContentFlags::empty();
        if private_key(content) {
            f = f.union(ContentFlags::PRIVATE_KEY);
        }
        if auth_token(content) {
            f = f.union(ContentFlags::AUTH_TOKEN);
        }
        if aws_key_id(content) {
            f = f.union(ContentFlags::AWS_KEY_ID);
        }
        f
    }
}

/// The line around byte `at`.
fn line_of(content: &[u8], at: usize) -> &[u8] {
    let start = memchr::memrchr(b'\n', &content[..at]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &content[at..]).map_or(content.len(), |i| at + i);
    &content[start..end]
}

/// `-----BEGIN <anything> PRIVATE KEY-----` on one line.
fn private_key(content: &[u8]) -> bool {
    memmem::find_iter(content, b"PRIVATE KEY-----").any(|at| {
        let line = line_of(content, at);
        memmem::find(line, b"-----BEGIN ").is_some()
    })
}

/// `_authToken=x`, `_auth = x` (.npmrc) or `password = x` (.pypirc) with a non-empty value.
fn auth_token(content: &[u8]) -> bool {
    const KEYS: [&[u8]; 3] = [b"_authToken", b"_auth", b"password"];
    KEYS.iter().any(|key| {
        memmem::find_iter(content, key).any(|at| {
            let rest = &content[at + key.len()..];
            let rest = trim_start(rest);
            let Some(rest) = rest.strip_prefix(b"=").or_else(|| rest.strip_prefix(b":")) else {
                return false;
            };
            // A value is there (not an empty assignment or a `${VAR}` left for the runtime).
            let value = trim_start(rest);
            value
                .first()
                .is_some_and(|&b| !matches!(b, b'\n' | b'\r' | b'$'))
        })
    })
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    &b[n..]
}

/// `AKIA` + 16 of `[0-9A-Z]`, not inside a longer word.
fn aws_key_id(content: &[u8]) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric();
    memmem::find_iter(content, b"AKIA").any(|at| {
        let id = &content[at + 4..];
        id.len() >= 16
            && id[..16]
                .iter()
                .all(|&b| b.is_ascii_digit() || b.is_ascii_uppercase())
            && id.get(16).is_none_or(|&b| !word(b))
            && (at == 0 || !word(content[at - 1]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_private_keys_of_every_flavour() {
        for header in [
            "-----BEGIN PRIVATE KEY-----",
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----BEGIN EC PRIVATE KEY-----",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----",
        ] {
            let text = format!("some preamble\n{header}\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n");
            let f = ContentFlags::sniff(text.as_bytes());
            assert!(f.contains(ContentFlags::PRIVATE_KEY), "{header}");
        }
    }

    #[test]
    fn public_keys_and_certificates_are_not_private_keys() {
        for text in [
            "-----BEGIN PUBLIC KEY-----\nMIIB\n",
            "-----BEGIN CERTIFICATE-----\nMIIB\n",
            "ssh-ed25519 AAAAC3Nza user@host\n",
            "the words PRIVATE KEY----- without a BEGIN\n",
        ] {
            assert_eq!(ContentFlags::sniff(text.as_bytes()), ContentFlags::empty());
        }
    }

    #[test]
    fn registry_tokens() {
        let npm =
            b"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=npm_abc123\n";
        assert!(ContentFlags::sniff(npm).contains(ContentFlags::AUTH_TOKEN));
        let pypi = b"[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc\n";
        assert!(ContentFlags::sniff(pypi).contains(ContentFlags::AUTH_TOKEN));
        // Configuration without a credential, or one left to the environment.
        let plain = b"registry=https://registry.npmjs.org/\nsave-exact=true\n";
        assert!(!ContentFlags::sniff(plain).contains(ContentFlags::AUTH_TOKEN));
        let env = b"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n";
        assert!(!ContentFlags::sniff(env).contains(ContentFlags::AUTH_TOKEN));
        let empty = b"[pypi]\npassword =\n";
        assert!(!ContentFlags::sniff(empty).contains(ContentFlags::AUTH_TOKEN));
    }

    #[test]
    fn aws_access_key_ids() {
        let yes = b"[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n";
        assert!(ContentFlags::sniff(yes).contains(ContentFlags::AWS_KEY_ID));
        for no in [
            &b"AKIAshort"[..],
            b"AKIAIOSFODNN7EXAMPL",        // 15 after the prefix
            b"XAKIAIOSFODNN7EXAMPLE",      // inside a word
            b"AKIAIOSFODNN7EXAMPLEZZ",     // longer than an id
            b"akiaiosfodnn7example lower", // lower case
        ] {
            assert!(
                !ContentFlags::sniff(no).contains(ContentFlags::AWS_KEY_ID),
                "{}",
                String::from_utf8_lossy(no)
            );
        }
    }

    #[test]
    fn names_and_bits_round_trip() {
        let f = ContentFlags::PRIVATE_KEY.union(ContentFlags::AWS_KEY_ID);
        assert_eq!(f.names().collect::<Vec<_>>(), ["private key", "AWS key id"]);
        assert_eq!(ContentFlags::from_bits(f.bits()), f);
        assert!(!f.contains(ContentFlags::empty()));
    }
}
