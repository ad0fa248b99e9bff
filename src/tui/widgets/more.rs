//! "↓ more": the sign that a scrolled text goes on below the fold, with the key that
//! scrolls, drawn over the last row of the text's area at its right.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use unicode_width::UnicodeWidthStr;

use crate::tui::theme::Theme;

/// Draw the sign when `hidden_below`; `key` names the key that scrolls down.
pub fn render(area: Rect, buf: &mut Buffer, hidden_below: bool, key: &str, theme: &Theme) {
    if !hidden_below || area.height == 0 {
        return;
    }
    let text = format!(" ↓ more ({key}) ");
    let width = text.width() as u16;
    if width > area.width {
        return;
    }
    buf.set_stringn(
        area.right() - width,
        area.bottom() - 1,
        &text,
        width as usize,
        theme.key,
    );
}

/// How many rows `lines` take when wrapped at `width` (each at least one): the same count
/// the paragraph needs, close enough to say whether anything is below the fold.
pub fn wrapped_height(lines: &[ratatui::text::Line<'_>], width: u16) -> usize {
    let width = usize::from(width.max(1));
    lines
        .iter()
        .map(|line| line.width().div_ceil(width).max(1))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::text::Line;

    #[test]
    fn the_sign_shows_only_when_something_is_hidden() {
        let area = Rect::new(0, 0, 30, 3);
        let theme = Theme::monochrome();
        let mut buf = Buffer::empty(area);
        render(area, &mut buf, false, "j", &theme);
        assert_eq!(buf, Buffer::empty(area));
        render(area, &mut buf, true, "j", &theme);
        let last: String = (0..30).map(|x| buf[(x, 2)].symbol().to_owned()).collect();
        assert_eq!(last, format!("{}{}", " ".repeat(18), " ↓ more (j) "));
        let lines = [Line::raw("a".repeat(25)), Line::raw("")];
        assert_eq!(wrapped_height(&lines, 10), 4);
    }
}
