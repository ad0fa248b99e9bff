//! A pressable label: `[ Save ]`. Focused buttons are drawn reversed.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::tui::theme::Theme;

/// The width a button takes on screen, so layouts and click tests agree.
pub fn width(label: &str) -> u16 {
    unicode_width::UnicodeWidthStr::width(label) as u16 + 4
}

/// Draw `[ label ]` at the start of `area`; returns the rectangle it covers.
pub fn render(label: &str, area: Rect, buf: &mut Buffer, focused: bool, theme: &Theme) -> Rect {
    let style = if focused {
        theme.button_focused
    } else {
        theme.button
    };
    let text = format!("[ {label} ]");
    let rect = Rect {
        width: width(label).min(area.width),
        height: 1.min(area.height),
        ..area
    };
    buf.set_stringn(rect.x, rect.y, text, rect.width as usize, style);
    rect
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_util::lines;
    use ratatui::style::Modifier;

    #[test]
    fn focus_reverses_the_button() {
        let area = Rect::new(0, 0, 12, 1);
        let mut buf = Buffer::empty(area);
        let rect = render("Save", area, &mut buf, true, &Theme::monochrome());
        assert_eq!(lines(&buf), ["[ Save ]    "]);
        assert_eq!(rect, Rect::new(0, 0, 8, 1));
        assert!(buf[(0, 0)].modifier.contains(Modifier::REVERSED));
        assert!(!buf[(9, 0)].modifier.contains(Modifier::REVERSED));
    }
}
