//! Instruction text on one line of a given width, as every report and view shows it.

/// `text` with its whitespace runs (continuations, heredoc lines) folded to single spaces,
/// cut to `max` characters with an ellipsis.
pub fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        flat
    }
}
