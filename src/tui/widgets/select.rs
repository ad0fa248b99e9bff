//! A vertical list of choices with one selected; rendered through ratatui's `List`, which
//! keeps the selection in view, so the widget itself keeps no scroll state.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Text;
use ratatui::widgets::{List, ListItem, ListState, StatefulWidget};

use crate::tui::theme::Theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Select<T> {
    items: Vec<T>,
    selected: usize,
}

impl<T: PartialEq> Select<T> {
    pub fn new(items: Vec<T>) -> Self {
        Self { items, selected: 0 }
    }

    pub fn items(&self) -> &[T] {
        &self.items
    }

    pub fn selected(&self) -> Option<&T> {
        self.items.get(self.selected)
    }

    /// Select the item equal to `item`; false (and no change) when there is none.
    pub fn select(&mut self, item: &T) -> bool {
        match self.items.iter().position(|i| i == item) {
            Some(index) => {
                self.selected = index;
                true
            }
            None => false,
        }
    }

    pub fn select_index(&mut self, index: usize) {
        if index < self.items.len() {
            self.selected = index;
        }
    }

    /// Replace the choices, keeping the selected item when it is still there.
    pub fn set_items(&mut self, items: Vec<T>) {
        let keep = self
            .items
            .get(self.selected)
            .and_then(|current| items.iter().position(|i| i == current));
        self.items = items;
        self.selected = keep.unwrap_or(0).min(self.items.len().saturating_sub(1));
    }

    /// Up/Down/Home/End move the selection (no wrap-around: the ends are felt).
    pub fn handle_key(&mut self, key: &KeyEvent) -> bool {
        let last = self.items.len().saturating_sub(1);
        let next = match key.code {
            KeyCode::Up => self.selected.saturating_sub(1),
            KeyCode::Down => (self.selected + 1).min(last),
            KeyCode::Home => 0,
            KeyCode::End => last,
            _ => return false,
        };
        self.selected = next;
        true
    }

    /// Draw each item as the `Text` `label` gives it. The selected row is marked with `›`
    /// and, when focused, highlighted.
    pub fn render<'a>(
        &self,
        label: impl Fn(&T) -> Text<'a>,
        area: Rect,
        buf: &mut Buffer,
        focused: bool,
        theme: &Theme,
    ) {
        let items: Vec<ListItem> = self
            .items
            .iter()
            .map(|item| ListItem::new(label(item)))
            .collect();
        let highlight = if focused { theme.selected } else { theme.label };
        let list = List::new(items)
            .highlight_symbol("› ")
            .highlight_style(highlight)
            .highlight_spacing(ratatui::widgets::HighlightSpacing::Always);
        let mut state = ListState::default().with_selected(Some(self.selected));
        StatefulWidget::render(list, area, buf, &mut state);
    }

    /// Which item a click on row `y` of `area` hit, for one-line items.
    pub fn index_at(&self, area: Rect, y: u16) -> Option<usize> {
        if y < area.y || y >= area.bottom() {
            return None;
        }
        // The list scrolls only when the selection would leave the view.
        let height = area.height as usize;
        let offset = (self.selected + 1).saturating_sub(height);
        let index = offset + (y - area.y) as usize;
        (index < self.items.len()).then_some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::test_util::lines;
    use ratatui::crossterm::event::KeyModifiers;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn draw(select: &Select<&'static str>, height: u16) -> Vec<String> {
        let area = Rect::new(0, 0, 12, height);
        let mut buf = Buffer::empty(area);
        select.render(
            |s| Text::raw(*s),
            area,
            &mut buf,
            true,
            &Theme::monochrome(),
        );
        lines(&buf)
    }

    #[test]
    fn arrows_move_and_stop_at_the_ends() {
        let mut select = Select::new(vec!["a", "b", "c"]);
        assert!(select.handle_key(&key(KeyCode::Up)));
        assert_eq!(select.selected(), Some(&"a"));
        select.handle_key(&key(KeyCode::Down));
        select.handle_key(&key(KeyCode::Down));
        select.handle_key(&key(KeyCode::Down));
        assert_eq!(select.selected(), Some(&"c"));
        assert!(!select.handle_key(&key(KeyCode::Char('x'))));
    }

    #[test]
    fn the_selection_is_marked_and_kept_in_view() {
        let mut select = Select::new(vec!["one", "two", "three", "four"]);
        assert_eq!(draw(&select, 2), ["› one       ", "  two       "]);
        select.select(&"four");
        assert_eq!(draw(&select, 2), ["  three     ", "› four      "]);
        assert_eq!(select.index_at(Rect::new(0, 0, 12, 2), 0), Some(2));
    }

    #[test]
    fn new_items_keep_the_selected_one() {
        let mut select = Select::new(vec!["a", "b"]);
        select.select(&"b");
        select.set_items(vec!["0", "a", "b"]);
        assert_eq!(select.selected(), Some(&"b"));
        select.set_items(vec!["z"]);
        assert_eq!(select.selected(), Some(&"z"));
    }
}
