//! Text that must be read in full (errors, their fixes) wraps under its own column;
//! text that may be cut (a long value, a hint) ends with `…` so the cut shows.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

/// Cut `text` to `room` columns, marking the cut with `…`.
pub fn ellipsize(text: &str, room: usize) -> String {
    if text.width() <= room {
        return text.to_owned();
    }
    let mut out = String::new();
    for c in text.chars() {
        let mut next = out.clone();
        next.push(c);
        if next.width() + 1 > room {
            break;
        }
        out = next;
    }
    if room > 0 {
        out.push('…');
    }
    out
}

/// Break `text` into lines of at most `width` columns, at spaces where it can and inside a
/// word (a long URL) where it must.
pub fn words(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let needed = current.width() + usize::from(!current.is_empty()) + word.width();
        if needed > width && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        for c in word.chars() {
            let mut next = current.clone();
            next.push(c);
            if next.width() > width && !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            current.push(c);
        }
    }
    lines.push(current);
    lines
}

/// `lead` followed by `text`, wrapped to `width` columns so that every further line starts
/// under the text's first column (a hanging indent), never back at the left edge.
pub fn hanging(
    lead: Vec<Span<'static>>,
    text: &str,
    style: Style,
    width: usize,
) -> Vec<Line<'static>> {
    let indent = Line::from(lead.clone()).width();
    let room = width.saturating_sub(indent).max(8);
    let mut lines = Vec::new();
    for (i, part) in words(text, room).into_iter().enumerate() {
        let mut spans = if i == 0 {
            lead.clone()
        } else {
            vec![Span::raw(" ".repeat(indent))]
        };
        spans.push(Span::styled(part, style));
        lines.push(Line::from(spans));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn a_cut_ends_with_an_ellipsis_and_what_fits_is_kept() {
        assert_eq!(ellipsize("https://ifs.example.com", 12), "https://ifs…");
        assert_eq!(ellipsize("short", 12), "short");
        assert_eq!(ellipsize("abc", 0), "");
    }

    #[test]
    fn continuation_lines_keep_the_indent_of_their_column() {
        let lines = hanging(
            vec![Span::raw("  Fix: ")],
            "use the issuer as the Authority URL, or turn Validate Issuer Name off",
            Style::default(),
            40,
        );
        let texts = texts(&lines);
        assert_eq!(texts[0], "  Fix: use the issuer as the Authority");
        assert!(
            texts[1..]
                .iter()
                .all(|l| l.starts_with("       ") && l.len() <= 40)
        );
        let joined = texts.join(" ");
        let words: Vec<&str> = joined.split_whitespace().collect();
        assert!(
            words.join(" ").ends_with("turn Validate Issuer Name off"),
            "{texts:?}"
        );
    }

    #[test]
    fn a_long_url_breaks_inside_itself_rather_than_overflowing() {
        let parts = words(
            "see http://127.0.0.1:1234/auth/realms/x/.well-known/openid",
            20,
        );
        assert!(parts.iter().all(|p| p.width() <= 20), "{parts:?}");
        assert_eq!(
            parts.concat().replace(' ', ""),
            "seehttp://127.0.0.1:1234/auth/realms/x/.well-known/openid"
        );
    }
}
