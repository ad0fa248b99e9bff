//! The bottom line: the keys that work right now, read from the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::tui::keymap::Hint;
use crate::tui::theme::Theme;

/// `key label · key label …`, cut at the edge rather than wrapped.
pub fn render(hints: &[Hint], area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut spans = vec![Span::raw(" ")];
    for (i, hint) in hints.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.muted));
        }
        spans.push(Span::styled(hint.keys.clone(), theme.key));
        spans.push(Span::raw(" "));
        spans.push(Span::raw(hint.label));
    }
    buf.set_line(area.x, area.y, &Line::from(spans), area.width);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::{Keymap, Scope};
    use crate::tui::test_util::lines;

    #[test]
    fn shows_the_scope_hints_from_the_keymap() {
        let area = Rect::new(0, 0, 60, 1);
        let mut buf = Buffer::empty(area);
        render(
            &Keymap::default().hints(Scope::Help),
            area,
            &mut buf,
            &Theme::monochrome(),
        );
        assert_eq!(
            lines(&buf),
            [" Esc close · Ctrl-C quit · F1 help                          "]
        );
    }
}
