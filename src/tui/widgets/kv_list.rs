//! An editable list of key = value rows: the extra query parameters. Each row is two text
//! fields; rows are checked with the core's `extra_param` rules and the list as a whole
//! with `extra_params` (no duplicates).

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Position, Rect};

use crate::core::connector::Param;
use crate::core::validate;
use crate::tui::theme::Theme;
use crate::tui::widgets::text_field::TextField;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Key,
    Value,
}

#[derive(Debug, Clone, Default)]
struct Row {
    key: TextField,
    value: TextField,
}

impl Row {
    fn param(&self) -> Param {
        Param::new(self.key.value().trim(), self.value.value().trim())
    }

    fn is_blank(&self) -> bool {
        self.key.value().trim().is_empty() && self.value.value().trim().is_empty()
    }
}

#[derive(Debug, Clone, Default)]
pub struct KvList {
    rows: Vec<Row>,
    row: usize,
    column: Option<Column>,
}

const KEY_WIDTH: u16 = 22;

impl KvList {
    pub fn from_params(params: &[Param]) -> Self {
        let rows = params
            .iter()
            .map(|p| Row {
                key: TextField::new(&p.key),
                value: TextField::new(&p.value),
            })
            .collect();
        Self {
            rows,
            row: 0,
            column: Some(Column::Key),
        }
    }

    /// The parameters to save: trimmed, blank rows dropped, in the user's order.
    pub fn params(&self) -> Vec<Param> {
        self.rows
            .iter()
            .filter(|r| !r.is_blank())
            .map(Row::param)
            .collect()
    }

    pub fn has_key(&self, key: &str) -> bool {
        self.rows.iter().any(|r| r.key.value().trim() == key)
    }

    /// The problem with one row, if any; blank rows are fine (they are dropped).
    pub fn row_error(&self, index: usize) -> Option<String> {
        let row = self.rows.get(index)?;
        if row.is_blank() {
            return None;
        }
        validate::extra_param(&row.param()).err()
    }

    /// The first problem in the list: a bad row, then a duplicate.
    pub fn error(&self) -> Option<String> {
        (0..self.rows.len())
            .find_map(|i| self.row_error(i))
            .or_else(|| validate::extra_params(&self.params()).err())
    }

    pub fn focus(&self) -> Option<(usize, Column)> {
        self.column
            .filter(|_| !self.rows.is_empty())
            .map(|c| (self.row, c))
    }

    /// Put the focus on the first (or last) cell, as Tab (or Shift-Tab) enters the list.
    pub fn enter(&mut self, from_start: bool) {
        if from_start {
            self.row = 0;
            self.column = Some(Column::Key);
        } else {
            self.row = self.rows.len().saturating_sub(1);
            self.column = Some(Column::Value);
        }
    }

    /// Append a row (optionally filled) and focus its key.
    pub fn add(&mut self, key: &str, value: &str) {
        self.rows.push(Row {
            key: TextField::new(key),
            value: TextField::new(value),
        });
        self.row = self.rows.len() - 1;
        self.column = Some(if key.is_empty() {
            Column::Key
        } else {
            Column::Value
        });
    }

    pub fn remove_focused(&mut self) {
        if self.row < self.rows.len() {
            self.rows.remove(self.row);
            self.row = self.row.min(self.rows.len().saturating_sub(1));
        }
    }

    fn focused_field(&mut self) -> Option<&mut TextField> {
        let (row, column) = self.focus()?;
        let row = &mut self.rows[row];
        Some(match column {
            Column::Key => &mut row.key,
            Column::Value => &mut row.value,
        })
    }

    /// Tab inside the list: key → value → next row's key. False when leaving the list.
    pub fn next(&mut self) -> bool {
        match self.focus() {
            Some((row, Column::Key)) => {
                self.column = Some(Column::Value);
                self.row = row;
                true
            }
            Some((row, Column::Value)) if row + 1 < self.rows.len() => {
                self.row = row + 1;
                self.column = Some(Column::Key);
                true
            }
            _ => false,
        }
    }

    pub fn prev(&mut self) -> bool {
        match self.focus() {
            Some((row, Column::Value)) => {
                self.row = row;
                self.column = Some(Column::Key);
                true
            }
            Some((row, Column::Key)) if row > 0 => {
                self.row = row - 1;
                self.column = Some(Column::Value);
                true
            }
            _ => false,
        }
    }

    /// Editing keys go to the focused cell; Up/Down move between rows.
    pub fn handle_key(&mut self, key: &KeyEvent) -> bool {
        match key.code {
            KeyCode::Up if self.row > 0 => {
                self.row -= 1;
                true
            }
            KeyCode::Down if self.row + 1 < self.rows.len() => {
                self.row += 1;
                true
            }
            _ => self.focused_field().is_some_and(|f| f.handle_key(key)),
        }
    }

    pub fn paste(&mut self, text: &str) {
        if let Some(field) = self.focused_field() {
            field.paste(text);
        }
    }

    /// Rows take one line each, then one line for the first problem.
    pub fn height(&self) -> u16 {
        self.rows.len().max(1) as u16 + 1
    }

    /// Draw the rows; returns the cursor when `focused`.
    pub fn render(
        &self,
        area: Rect,
        buf: &mut Buffer,
        focused: bool,
        theme: &Theme,
    ) -> Option<Position> {
        let mut cursor = None;
        if self.rows.is_empty() {
            buf.set_stringn(
                area.x + 2,
                area.y,
                "(no extra parameters)",
                area.width as usize,
                theme.muted,
            );
        }
        for (i, row) in self.rows.iter().enumerate() {
            let y = area.y + i as u16;
            if y >= area.bottom().saturating_sub(1) {
                break;
            }
            let focus = self
                .focus()
                .filter(|(r, _)| focused && *r == i)
                .map(|(_, c)| c);
            let marker = if focus.is_some() { "› " } else { "  " };
            buf.set_stringn(area.x, y, marker, 2, theme.highlight);
            let (key_area, value_area) = cells(area, y);
            let key_cursor = row
                .key
                .render(key_area, buf, focus == Some(Column::Key), theme);
            buf.set_stringn(key_area.right(), y, " = ", 3, theme.muted);
            let value_cursor =
                row.value
                    .render(value_area, buf, focus == Some(Column::Value), theme);
            cursor = cursor.or(key_cursor).or(value_cursor);
        }
        if let Some(error) = self.error() {
            let y = area.bottom().saturating_sub(1);
            buf.set_stringn(
                area.x + 2,
                y,
                format!("✗ {error}"),
                area.width.saturating_sub(2) as usize,
                theme.error,
            );
        }
        cursor
    }

    /// Focus the cell under a click; false when the click missed every cell.
    pub fn click(&mut self, area: Rect, x: u16, y: u16) -> bool {
        let index = y.checked_sub(area.y).map(usize::from);
        let Some(index) = index.filter(|i| *i < self.rows.len()) else {
            return false;
        };
        let (key_area, value_area) = cells(area, y);
        self.row = index;
        self.column = Some(if x >= value_area.x {
            Column::Value
        } else {
            Column::Key
        });
        let _ = key_area;
        true
    }
}

fn cells(area: Rect, y: u16) -> (Rect, Rect) {
    let key_width = KEY_WIDTH.min(area.width.saturating_sub(6) / 2);
    let key = Rect::new(area.x + 2, y, key_width, 1);
    let value_x = key.right() + 3;
    let value = Rect::new(value_x, y, area.right().saturating_sub(value_x), 1);
    (key, value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_util::lines;
    use ratatui::crossterm::event::KeyModifiers;

    fn type_text(list: &mut KvList, text: &str) {
        for c in text.chars() {
            list.handle_key(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    fn draw(list: &KvList, focused: bool) -> (Vec<String>, Option<Position>) {
        let area = Rect::new(0, 0, 40, list.height());
        let mut buf = Buffer::empty(area);
        let cursor = list.render(area, &mut buf, focused, &Theme::monochrome());
        (lines(&buf), cursor)
    }

    #[test]
    fn typing_fills_the_focused_cell_and_tab_walks_the_cells() {
        let mut list = KvList::default();
        list.add("", "");
        type_text(&mut list, "prompt");
        assert!(list.next());
        type_text(&mut list, "select_account");
        assert!(!list.next(), "leaves after the last cell");
        assert_eq!(list.params(), [Param::new("prompt", "select_account")]);
        let (text, cursor) = draw(&list, true);
        assert_eq!(
            text,
            [
                "› prompt            = select_account    ",
                "                                        ",
            ]
        );
        // Key cell: columns 2..19; value cell from 22; the cursor sits after the value.
        assert_eq!(cursor, Some(Position::new(36, 0)));
        assert!(list.prev());
        assert_eq!(list.focus(), Some((0, Column::Key)));
    }

    #[test]
    fn reserved_and_duplicate_keys_are_invalid() {
        let mut list = KvList::from_params(&[Param::new("prompt", "login")]);
        list.add("state", "x");
        assert!(list.row_error(1).unwrap().contains("cannot be overridden"));
        let (text, _) = draw(&list, false);
        assert!(
            text[2].contains("✗ 'state' is set by the program"),
            "{text:?}"
        );
        list.remove_focused();
        list.add("prompt", "select_account");
        assert!(list.error().unwrap().contains("given twice"));
    }

    #[test]
    fn blank_rows_are_dropped_and_the_empty_list_says_so() {
        let mut list = KvList::default();
        let (text, _) = draw(&list, true);
        assert_eq!(text[0], "  (no extra parameters)                 ");
        list.add("", "");
        assert!(list.params().is_empty());
        assert!(list.error().is_none());
    }

    #[test]
    fn clicks_focus_a_cell() {
        let mut list = KvList::from_params(&[Param::new("a", "1"), Param::new("b", "2")]);
        let area = Rect::new(0, 0, 40, 3);
        assert!(list.click(area, 30, 1));
        assert_eq!(list.focus(), Some((1, Column::Value)));
        assert!(!list.click(area, 30, 2));
    }
}
