//! A single-line text input with a cursor, an optional mask (for secrets) and an optional
//! validator taken from `core::validate`, re-run on every edit so errors show as you type.
//!
//! Written here rather than taken from `tui-input` because the field also owns its
//! validation, touched state and masking, and the editing part is small.

use std::fmt;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use crate::tui::theme::Theme;
use crate::tui::widgets::wrap::ellipsize;

/// A core validator: the normalised value, or a message that says what is wrong.
pub type Validator = fn(&str) -> Result<String, String>;

/// The character drawn for each character of a masked value.
pub const MASK_CHAR: char = '•';

#[derive(Clone, Default)]
pub struct TextField {
    value: String,
    /// Cursor position in characters (not bytes).
    cursor: usize,
    masked: bool,
    revealed: bool,
    validator: Option<Validator>,
    /// The validator's verdict on the current value.
    error: Option<String>,
    /// A problem the owner found (e.g. "name already taken"), cleared on the next edit.
    external_error: Option<String>,
    /// Errors show only once the user has typed here or tried to move on: an empty
    /// form should not greet anyone with a wall of red.
    touched: bool,
    placeholder: String,
}

impl fmt::Debug for TextField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value: &dyn fmt::Debug = if self.masked {
            &"<redacted>"
        } else {
            &self.value
        };
        f.debug_struct("TextField")
            .field("value", value)
            .field("cursor", &self.cursor)
            .field("error", &self.error)
            .field("touched", &self.touched)
            .finish_non_exhaustive()
    }
}

impl TextField {
    pub fn new(value: impl Into<String>) -> Self {
        let mut field = Self::default();
        field.set_value(value);
        field
    }

    /// Draw the value as mask characters until revealed.
    pub fn masked(mut self) -> Self {
        self.masked = true;
        self
    }

    pub fn with_validator(mut self, validator: Validator) -> Self {
        self.validator = Some(validator);
        self.revalidate();
        self
    }

    pub fn with_placeholder(mut self, placeholder: impl Into<String>) -> Self {
        self.placeholder = placeholder.into();
        self
    }

    pub fn set_placeholder(&mut self, placeholder: impl Into<String>) {
        self.placeholder = placeholder.into();
    }

    pub fn set_validator(&mut self, validator: Validator) {
        self.validator = Some(validator);
        self.revalidate();
    }

    pub fn value(&self) -> &str {
        &self.value
    }

    /// Replace the value (e.g. filled from discovery) and put the cursor at its end.
    pub fn set_value(&mut self, value: impl Into<String>) {
        self.value = value.into();
        self.cursor = self.value.chars().count();
        self.external_error = None;
        self.revalidate();
    }

    #[cfg(test)]
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn is_masked(&self) -> bool {
        self.masked && !self.revealed
    }

    pub fn toggle_reveal(&mut self) {
        self.revealed = !self.revealed;
    }

    pub fn touch(&mut self) {
        self.touched = true;
    }

    pub fn set_external_error(&mut self, error: Option<String>) {
        self.external_error = error;
    }

    /// The current problem, shown or not.
    pub fn error(&self) -> Option<&str> {
        self.external_error.as_deref().or(self.error.as_deref())
    }

    /// The problem to show now: only after the field was touched.
    pub fn visible_error(&self) -> Option<&str> {
        self.touched.then(|| self.error()).flatten()
    }

    pub fn is_valid(&self) -> bool {
        self.error().is_none()
    }

    /// The validator's normalised value, or the raw value when there is no validator.
    pub fn normalized(&self) -> Option<String> {
        match self.validator {
            Some(validate) => validate(&self.value).ok(),
            None => Some(self.value.clone()),
        }
    }

    fn revalidate(&mut self) {
        self.error = self
            .validator
            .and_then(|validate| validate(&self.value).err());
    }

    fn edited(&mut self) {
        self.touched = true;
        self.external_error = None;
        self.revalidate();
    }

    /// Editing keys: printable characters (without Ctrl/Alt), Backspace, Delete, the
    /// arrows along the line, Home/End and the readline basics Ctrl-A/E/U/W. Returns
    /// whether the key was used; everything else is left for the keymap.
    pub fn handle_key(&mut self, key: &KeyEvent) -> bool {
        if key.kind == KeyEventKind::Release {
            return false;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Char(c) if !ctrl && !alt => {
                self.insert_char(c);
                true
            }
            KeyCode::Char('a') if ctrl => {
                self.cursor = 0;
                true
            }
            KeyCode::Char('e') if ctrl => {
                self.cursor = self.len();
                true
            }
            KeyCode::Char('u') if ctrl => {
                self.delete_range(0, self.cursor);
                true
            }
            KeyCode::Char('w') if ctrl => {
                let start = self.previous_word_start();
                self.delete_range(start, self.cursor);
                true
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.delete_range(self.cursor - 1, self.cursor);
                true
            }
            KeyCode::Delete if self.cursor < self.len() => {
                self.delete_range(self.cursor, self.cursor + 1);
                true
            }
            // At either end these still belong to the field: nothing else should react.
            KeyCode::Backspace | KeyCode::Delete => true,
            KeyCode::Left => {
                self.cursor = self.cursor.saturating_sub(1);
                true
            }
            KeyCode::Right => {
                self.cursor = (self.cursor + 1).min(self.len());
                true
            }
            KeyCode::Home => {
                self.cursor = 0;
                true
            }
            KeyCode::End => {
                self.cursor = self.len();
                true
            }
            _ => false,
        }
    }

    /// Bracketed paste: line breaks become nothing (a URL copied with a trailing newline
    /// should still be one URL).
    pub fn paste(&mut self, text: &str) {
        for c in text.chars().filter(|c| *c != '\n' && *c != '\r') {
            self.insert_char(c);
        }
    }

    fn insert_char(&mut self, c: char) {
        let at = self.byte_index(self.cursor);
        self.value.insert(at, c);
        self.cursor += 1;
        self.edited();
    }

    fn delete_range(&mut self, start: usize, end: usize) {
        if start >= end {
            return;
        }
        let (from, to) = (self.byte_index(start), self.byte_index(end));
        self.value.replace_range(from..to, "");
        self.cursor = start;
        self.edited();
    }

    fn previous_word_start(&self) -> usize {
        let chars: Vec<char> = self.value.chars().take(self.cursor).collect();
        let mut i = chars.len();
        while i > 0 && chars[i - 1].is_whitespace() {
            i -= 1;
        }
        while i > 0 && !chars[i - 1].is_whitespace() {
            i -= 1;
        }
        i
    }

    fn len(&self) -> usize {
        self.value.chars().count()
    }

    fn byte_index(&self, chars: usize) -> usize {
        self.value
            .char_indices()
            .nth(chars)
            .map_or(self.value.len(), |(i, _)| i)
    }

    /// What is drawn: the value, or one mask character per character.
    fn display_chars(&self) -> Vec<char> {
        if self.is_masked() {
            vec![MASK_CHAR; self.len()]
        } else {
            self.value.chars().collect()
        }
    }

    /// Draw the input line into `area` (its first row). Long values scroll so the cursor
    /// stays visible. Returns where the terminal cursor belongs when `focused`.
    pub fn render(
        &self,
        area: Rect,
        buf: &mut Buffer,
        focused: bool,
        theme: &Theme,
    ) -> Option<Position> {
        if area.width == 0 || area.height == 0 {
            return None;
        }
        let row = Rect { height: 1, ..area };
        let style = if focused {
            theme.input_focused
        } else {
            theme.input
        };
        buf.set_style(row, style);
        let chars = self.display_chars();
        if chars.is_empty() {
            buf.set_stringn(
                row.x,
                row.y,
                ellipsize(&self.placeholder, row.width as usize),
                row.width as usize,
                theme.muted.patch(style),
            );
            return focused.then_some(Position::new(row.x, row.y));
        }
        let widths: Vec<usize> = chars.iter().map(|c| c.width().unwrap_or(0)).collect();
        // Unfocused, a long value shows its start; focused, the part around the cursor.
        let skip = if focused {
            first_visible_char(&widths, self.cursor, row.width as usize)
        } else {
            0
        };
        let text: String = chars[skip..].iter().collect();
        // Unfocused, a value longer than the input ends with `…`, so nobody takes the
        // visible part for all of it; focused, the cursor shows where the text goes on.
        let text = if focused {
            text
        } else {
            ellipsize(&text, row.width as usize)
        };
        buf.set_stringn(row.x, row.y, &text, row.width as usize, style);
        let cursor_col: usize = widths[skip..self.cursor.max(skip)].iter().sum();
        focused.then(|| Position::new(row.x + cursor_col.min(row.width as usize - 1) as u16, row.y))
    }
}

/// The first character to draw so that the cursor column fits in `width` columns
/// (one column is kept for the cursor itself at the end of the line).
fn first_visible_char(widths: &[usize], cursor: usize, width: usize) -> usize {
    let mut skip = 0;
    let mut used: usize = widths[..cursor].iter().sum();
    while used + 1 > width && skip < cursor {
        used -= widths[skip];
        skip += 1;
    }
    skip
}

/// The common form row: a label column, the input, and under it the error (if any and
/// shown) or a line of help. Takes two rows; a `›` marks the focused row.
pub struct FieldRow<'a> {
    pub label: &'a str,
    pub field: &'a TextField,
    pub help: &'a str,
    pub focused: bool,
    pub label_width: u16,
}

impl FieldRow<'_> {
    pub const HEIGHT: u16 = 2;

    pub fn render(self, area: Rect, buf: &mut Buffer, theme: &Theme) -> Option<Position> {
        let marker = if self.focused { "› " } else { "  " };
        let label_style = if self.focused {
            theme.highlight
        } else {
            theme.label
        };
        buf.set_line(
            area.x,
            area.y,
            &Line::from(vec![
                Span::styled(marker, theme.highlight),
                Span::styled(self.label, label_style),
            ]),
            self.label_width.min(area.width),
        );
        let input = Rect {
            x: area.x + self.label_width,
            y: area.y,
            width: area.width.saturating_sub(self.label_width),
            height: 1,
        };
        let cursor = self.field.render(input, buf, self.focused, theme);
        if area.height > 1 {
            self.render_note(area, input, buf, theme);
        }
        cursor
    }

    /// The line under the input: the error, else the help. An error that does not fit
    /// under the input starts under the label instead, since that is the one line a
    /// person must read in full; what still does not fit ends in `…`.
    fn render_note(&self, area: Rect, input: Rect, buf: &mut Buffer, theme: &Theme) {
        let y = area.y + 1;
        let Some(error) = self.field.visible_error() else {
            let room = input.width as usize;
            buf.set_stringn(input.x, y, ellipsize(self.help, room), room, theme.muted);
            return;
        };
        let text = format!("✗ {error}");
        let width = Line::raw(text.as_str()).width();
        let x = if width <= input.width as usize {
            input.x
        } else {
            area.x + 2.min(area.width)
        };
        let room = area.right().saturating_sub(x) as usize;
        buf.set_stringn(x, y, ellipsize(&text, room), room, theme.error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::validate;
    use crate::tui::test_util::lines;

    fn press(field: &mut TextField, code: KeyCode) -> bool {
        field.handle_key(&KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn type_text(field: &mut TextField, text: &str) {
        for c in text.chars() {
            press(field, KeyCode::Char(c));
        }
    }

    fn draw(field: &TextField, width: u16, focused: bool) -> (Buffer, Option<Position>) {
        let area = Rect::new(0, 0, width, 1);
        let mut buf = Buffer::empty(area);
        let cursor = field.render(area, &mut buf, focused, &Theme::monochrome());
        (buf, cursor)
    }

    #[test]
    fn typing_inserts_at_the_cursor_and_moves_it() {
        let mut field = TextField::default();
        type_text(&mut field, "helo");
        press(&mut field, KeyCode::Left);
        type_text(&mut field, "l");
        assert_eq!(field.value(), "hello");
        assert_eq!(field.cursor(), 4);
        let (buf, cursor) = draw(&field, 10, true);
        assert_eq!(lines(&buf), ["hello     "]);
        assert_eq!(cursor, Some(Position::new(4, 0)));
    }

    #[test]
    fn editing_keys_work_with_multibyte_text() {
        let mut field = TextField::new("åäö");
        press(&mut field, KeyCode::Backspace);
        assert_eq!(field.value(), "åä");
        press(&mut field, KeyCode::Home);
        press(&mut field, KeyCode::Delete);
        assert_eq!(field.value(), "ä");
        assert_eq!(field.cursor(), 0);
        assert!(press(&mut field, KeyCode::Backspace), "kept at the start");
        assert!(
            !press(&mut field, KeyCode::Enter),
            "Enter is not the field's"
        );
        assert!(!press(&mut field, KeyCode::Tab));
    }

    #[test]
    fn control_keys_are_not_text() {
        let mut field = TextField::new("abc def");
        assert!(!field.handle_key(&KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)));
        assert_eq!(field.value(), "abc def");
        field.handle_key(&KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(field.value(), "abc ");
        field.handle_key(&KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(field.value(), "");
        // Shifted letters are text.
        field.handle_key(&KeyEvent::new(KeyCode::Char('Q'), KeyModifiers::SHIFT));
        assert_eq!(field.value(), "Q");
    }

    #[test]
    fn masked_values_never_reach_the_screen_until_revealed() {
        let mut field = TextField::default().masked();
        type_text(&mut field, "s3cret");
        let (buf, cursor) = draw(&field, 8, true);
        assert_eq!(lines(&buf), ["••••••  "]);
        assert_eq!(cursor, Some(Position::new(6, 0)));
        assert!(!format!("{field:?}").contains("s3cret"), "Debug redacts");
        field.toggle_reveal();
        let (buf, _) = draw(&field, 8, false);
        assert_eq!(lines(&buf), ["s3cret  "]);
        field.toggle_reveal();
        assert!(field.is_masked());
    }

    #[test]
    fn the_validator_runs_on_every_edit_but_errors_show_once_touched() {
        let mut field = TextField::default().with_validator(validate::base_url);
        assert!(!field.is_valid());
        assert_eq!(field.visible_error(), None, "untouched: quiet");
        type_text(&mut field, "http://ifs.example.com");
        assert!(field.visible_error().unwrap().contains("uses http"));
        press(&mut field, KeyCode::Home);
        press(&mut field, KeyCode::Right);
        press(&mut field, KeyCode::Right);
        press(&mut field, KeyCode::Right);
        press(&mut field, KeyCode::Right);
        type_text(&mut field, "s");
        assert!(field.is_valid(), "{:?}", field.error());
        assert_eq!(
            field.normalized().as_deref(),
            Some("https://ifs.example.com")
        );
    }

    #[test]
    fn external_errors_clear_on_the_next_edit() {
        let mut field = TextField::new("prod");
        field.touch();
        field.set_external_error(Some("taken".into()));
        assert_eq!(field.visible_error(), Some("taken"));
        type_text(&mut field, "2");
        assert!(field.is_valid());
    }

    #[test]
    fn long_values_scroll_to_keep_the_cursor_visible() {
        let field = TextField::new("https://ifs.example.com/a/long/path");
        let (buf, cursor) = draw(&field, 10, true);
        assert_eq!(lines(&buf), ["long/path "]);
        assert_eq!(cursor, Some(Position::new(9, 0)));
    }

    #[test]
    fn placeholder_shows_when_empty_and_the_cursor_sits_at_the_start() {
        let field = TextField::default().with_placeholder("optional");
        let (buf, cursor) = draw(&field, 10, true);
        assert_eq!(lines(&buf), ["optional  "]);
        assert_eq!(cursor, Some(Position::new(0, 0)));
        let (_, cursor) = draw(&field, 10, false);
        assert_eq!(cursor, None);
    }

    #[test]
    fn paste_drops_line_breaks() {
        let mut field = TextField::default();
        field.paste("http://127.0.0.1/callback?code=x\n");
        assert_eq!(field.value(), "http://127.0.0.1/callback?code=x");
    }

    #[test]
    fn field_row_shows_the_error_in_place_of_the_help_when_invalid() {
        let mut field = TextField::default().with_validator(validate::client_id);
        field.touch();
        let area = Rect::new(0, 0, 40, 2);
        let mut buf = Buffer::empty(area);
        let row = FieldRow {
            label: "Client ID",
            field: &field,
            help: "from IAM",
            focused: true,
            label_width: 12,
        };
        let cursor = row.render(area, &mut buf, &Theme::monochrome());
        assert_eq!(
            lines(&buf),
            [
                "› Client ID                             ",
                "  ✗ enter the IAM client's Client ID (i…",
            ]
        );
        assert_eq!(cursor, Some(Position::new(12, 0)));
    }

    #[test]
    fn field_row_keeps_a_short_error_under_the_input() {
        let mut field = TextField::default().with_validator(validate::client_id);
        field.touch();
        let area = Rect::new(0, 0, 80, 2);
        let mut buf = Buffer::empty(area);
        FieldRow {
            label: "Client ID",
            field: &field,
            help: "from IAM",
            focused: false,
            label_width: 12,
        }
        .render(area, &mut buf, &Theme::monochrome());
        assert_eq!(
            lines(&buf)[1].trim_end(),
            "            ✗ enter the IAM client's Client ID (it is case-sensitive)"
        );
    }
}
