//! An on/off option with a line saying what it does.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::tui::theme::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Toggle {
    pub label: &'static str,
    pub help: &'static str,
    pub on: bool,
}

impl Toggle {
    pub fn new(label: &'static str, help: &'static str, on: bool) -> Self {
        Self { label, help, on }
    }

    pub fn flip(&mut self) {
        self.on = !self.on;
    }

    /// One row: `› [x] Label  help`.
    pub fn render(&self, area: Rect, buf: &mut Buffer, focused: bool, theme: &Theme) {
        let marker = if focused { "› " } else { "  " };
        let check = if self.on { "[x] " } else { "[ ] " };
        let label_style = if focused {
            theme.highlight
        } else {
            theme.label
        };
        let line = Line::from(vec![
            Span::styled(marker, theme.highlight),
            Span::styled(check, label_style),
            // At least two spaces, so a label longer than the column never runs into its help.
            Span::styled(format!("{:<26}  ", self.label), label_style),
            Span::styled(self.help, theme.muted),
        ]);
        buf.set_line(area.x, area.y, &line, area.width);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_util::lines;

    #[test]
    fn shows_state_and_focus() {
        let mut toggle = Toggle::new("PKCE", "proof key", true);
        let area = Rect::new(0, 0, 34, 1);
        let mut buf = Buffer::empty(area);
        toggle.render(area, &mut buf, true, &Theme::monochrome());
        assert_eq!(lines(&buf), ["› [x] PKCE                        "]);
        toggle.flip();
        let mut buf = Buffer::empty(area);
        toggle.render(area, &mut buf, false, &Theme::monochrome());
        assert_eq!(lines(&buf), ["  [ ] PKCE                        "]);
    }

    #[test]
    fn a_long_label_keeps_a_gap_before_its_help() {
        let toggle = Toggle::new(
            "Remove the stored client secret",
            "for a public client",
            false,
        );
        let area = Rect::new(0, 0, 80, 1);
        let mut buf = Buffer::empty(area);
        toggle.render(area, &mut buf, false, &Theme::monochrome());
        let line = &lines(&buf)[0];
        assert!(
            line.contains("client secret  for a public client"),
            "{line}"
        );
    }
}
