//! The bottom line: the keys that work right now, read from the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::tui::keymap::Hint;
use crate::tui::theme::Theme;

/// `key label · key label …`, as many whole hints as fit: a hint cut in half ("q qu")
/// says less than none, and every key is on the help screen anyway.
pub fn render(hints: &[Hint], area: Rect, buf: &mut Buffer, theme: &Theme) {
    let mut spans = vec![Span::raw(" ")];
    let mut used = 1;
    for (i, hint) in hints.iter().enumerate() {
        let separator = if i > 0 { 3 } else { 0 };
        let needed = separator + hint.keys.chars().count() + 1 + hint.label.chars().count();
        if used + needed > usize::from(area.width) {
            break;
        }
        used += needed;
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

    #[test]
    fn hints_that_do_not_fit_are_left_out_whole() {
        let area = Rect::new(0, 0, 30, 1);
        let mut buf = Buffer::empty(area);
        render(
            &Keymap::default().hints(Scope::Help),
            area,
            &mut buf,
            &Theme::monochrome(),
        );
        assert_eq!(lines(&buf), [" Esc close · Ctrl-C quit      "]);
    }
}
