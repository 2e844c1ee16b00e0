//! "did you mean" hints, as BuildKit's `util/suggest` adds them to flag, mount-type, mount-key
//! and sharing errors: the closest option under Levenshtein distance 3, never an exact match.

/// `message (did you mean <option>?)` when an option is close to `value`, else `message`.
pub(crate) fn wrap(message: String, value: &str, options: &[&str]) -> String {
    let mut best: Option<&str> = None;
    let mut min = 3;
    for opt in options {
        if *opt == value {
            return message;
        }
        let d = distance(value, opt);
        if d < min {
            best = Some(opt);
            min = d;
        }
    }
    match best {
        Some(m) => format!("{message} (did you mean {m}?)"),
        None => message,
    }
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = Vec::with_capacity(b.len() + 1);
        row.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_options_only() {
        assert_eq!(distance("form", "from"), 2);
        assert_eq!(
            wrap("unknown flag: --form".into(), "form", &["from", "link"]),
            "unknown flag: --form (did you mean from?)"
        );
        assert_eq!(wrap("x".into(), "zzzzzz", &["from"]), "x");
        assert_eq!(wrap("x".into(), "from", &["from", "form"]), "x");
    }
}
