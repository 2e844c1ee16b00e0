//! Sizes and modes as people read them, for every front end.

use super::Kind;

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

/// `drwxr-xr-x`, with setuid/setgid/sticky as `s`/`S`/`t`/`T`.
pub fn mode_string(kind: Kind, mode: u32) -> String {
    let mut s = String::with_capacity(10);
    s.push(match kind {
        Kind::Dir => 'd',
        Kind::Symlink => 'l',
        Kind::Hardlink => 'h',
        Kind::Other => '?',
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
    }
}
