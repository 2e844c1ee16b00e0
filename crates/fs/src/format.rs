//! Sizes and modes as people read them, for every front end.

use super::Kind;
use super::index::{S_IFBLK, S_IFCHR, S_IFIFO, S_IFMT};

/// `1023`, `1.0K`, `12.5M`: powers of 1024, like `ls -h`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    if n < 1024 {
        return n.to_string();
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1}{}", UNITS[unit])
}

/// `0B`, `12.5MB`: [`human_size`] with its unit, for byte counts in running text.
pub fn human_bytes(n: u64) -> String {
    format!("{}B", human_size(n))
}

/// `drwxr-xr-x`, with setuid/setgid/sticky as `s`/`S`/`t`/`T`; a device or FIFO (an `Other`
/// whose mode holds its type) as `c`, `b`, `p`, as `ls -l` shows them.
pub fn mode_string(kind: Kind, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(match kind {
        Kind::Dir => 'd',
        Kind::Symlink => 'l',
        Kind::Hardlink => 'h',
        Kind::Other => match mode & S_IFMT {
            S_IFCHR => 'c',
            S_IFBLK => 'b',
            S_IFIFO => 'p',
            _ => '?',
        },
        Kind::File => '-',
    });
    let special = [(0o4000, 's'), (0o2000, 's'), (0o1000, 't')];
    for (who, (bit, ch)) in special.iter().enumerate() {
        let shift = 6 - 3 * who as u32;
        let m = (mode >> shift) & 7;
        s.push(if m & 4 != 0 { 'r' } else { '-' });
        s.push(if m & 2 != 0 { 'w' } else { '-' });
        let x = m & 1 != 0;
        s.push(match (mode & bit != 0, x) {
            (true, true) => *ch,
            (true, false) => ch.to_ascii_uppercase(),
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_modes() {
        assert_eq!(human_size(1023), "1023");
        assert_eq!(human_size(1536), "1.5K");
        assert_eq!(human_size(3 << 30), "3.0G");
        assert_eq!(mode_string(Kind::File, 0o4755), "-rwsr-xr-x");
        assert_eq!(mode_string(Kind::Dir, 0o1777), "drwxrwxrwt");
        assert_eq!(mode_string(Kind::File, 0o2644), "-rw-r-Sr--");
        assert_eq!(mode_string(Kind::Other, S_IFCHR | 0o666), "crw-rw-rw-");
        assert_eq!(mode_string(Kind::Other, S_IFBLK | 0o660), "brw-rw----");
        assert_eq!(mode_string(Kind::Other, S_IFIFO | 0o1644), "prw-r--r-T");
        assert_eq!(mode_string(Kind::Other, 0o644), "?rw-r--r--");
    }
}
