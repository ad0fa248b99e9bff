//! Colours and emphasis, chosen once at start-up and passed down by reference.
//!
//! With `NO_COLOR` set (https://no-color.org) every style is built from modifiers only
//! (bold, reversed, underlined, dim), so focus and errors stay visible without colour.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub title: Style,
    pub border: Style,
    pub focused_border: Style,
    /// The selected row of a list or table.
    pub selected: Style,
    /// A focused input's text area.
    pub input_focused: Style,
    pub input: Style,
    pub label: Style,
    pub muted: Style,
    pub ok: Style,
    pub error: Style,
    pub warning: Style,
    /// Keys in the hint bar and the help screen.
    pub key: Style,
    pub button: Style,
    pub button_focused: Style,
    pub highlight: Style,
}

impl Theme {
    /// `NO_COLOR` set to anything but the empty string turns colour off, and so does
    /// `TERM=dumb`: such a terminal shows colour escapes as garbage.
    pub fn from_env() -> Self {
        Self::from_vars(std::env::var_os("NO_COLOR"), std::env::var_os("TERM"))
    }

    fn from_vars(no_color: Option<std::ffi::OsString>, term: Option<std::ffi::OsString>) -> Self {
        let no_color = no_color.is_some_and(|v| !v.is_empty());
        let dumb = term.is_some_and(|t| t == "dumb");
        if no_color || dumb {
            Self::monochrome()
        } else {
            Self::colored()
        }
    }

    pub fn colored() -> Self {
        let plain = Style::default();
        Self {
            title: plain.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            border: plain.fg(Color::DarkGray),
            focused_border: plain.fg(Color::Cyan),
            selected: plain.bg(Color::Blue).fg(Color::White),
            input_focused: plain.bg(Color::DarkGray).fg(Color::White),
            input: plain.add_modifier(Modifier::UNDERLINED),
            label: plain.add_modifier(Modifier::BOLD),
            muted: plain.fg(Color::DarkGray),
            ok: plain.fg(Color::Green),
            error: plain.fg(Color::Red),
            warning: plain.fg(Color::Yellow),
            key: plain.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            button: plain.add_modifier(Modifier::BOLD),
            button_focused: plain.bg(Color::Cyan).fg(Color::Black),
            highlight: plain.fg(Color::Yellow).add_modifier(Modifier::BOLD),
        }
    }

    pub fn monochrome() -> Self {
        let plain = Style::default();
        let bold = plain.add_modifier(Modifier::BOLD);
        Self {
            title: bold,
            border: plain,
            focused_border: bold,
            selected: plain.add_modifier(Modifier::REVERSED),
            input_focused: plain.add_modifier(Modifier::REVERSED),
            input: plain.add_modifier(Modifier::UNDERLINED),
            label: bold,
            muted: plain.add_modifier(Modifier::DIM),
            ok: plain,
            error: bold,
            warning: bold,
            key: bold,
            button: bold,
            button_focused: plain.add_modifier(Modifier::REVERSED),
            highlight: bold,
        }
    }

    pub fn is_monochrome(&self) -> bool {
        self.selected.bg.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_or_a_dumb_terminal_gets_no_colour() {
        let some = |v: &str| Some(std::ffi::OsString::from(v));
        assert_eq!(
            Theme::from_vars(None, some("xterm-256color")),
            Theme::colored()
        );
        assert_eq!(
            Theme::from_vars(some("1"), some("xterm")),
            Theme::monochrome()
        );
        assert_eq!(Theme::from_vars(some(""), some("xterm")), Theme::colored());
        assert_eq!(Theme::from_vars(None, some("dumb")), Theme::monochrome());
    }

    #[test]
    fn monochrome_uses_no_colour_at_all() {
        let theme = Theme::monochrome();
        let styles = [
            theme.title,
            theme.border,
            theme.selected,
            theme.input_focused,
            theme.muted,
            theme.ok,
            theme.error,
            theme.key,
            theme.button_focused,
        ];
        for style in styles {
            assert_eq!(style.fg, None);
            assert_eq!(style.bg, None);
        }
        assert!(theme.is_monochrome());
        assert!(!Theme::colored().is_monochrome());
    }
}
