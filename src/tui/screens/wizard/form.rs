//! What every wizard step shares: how a step answers a key, focus movement, and the
//! optional-field validators (thin wrappers: the rules themselves are the core's).

use ratatui::layout::Rect;

use crate::core::validate;
use crate::tui::keymap::Action;
use crate::tui::widgets::text_field::{FieldRow, TextField};

/// Width of the label column in every step, so fields line up from step to step.
pub const LABEL_WIDTH: u16 = 26;

/// What a step did with an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepFlow {
    /// Not the step's business: the wizard handles it (Esc, Ctrl-S, Alt-n, …).
    Ignored,
    Handled,
    /// Enter past the last field: go to the next step if this one is valid.
    Next,
    /// Something only the wizard can start, because it needs other steps' values or I/O.
    Request(StepRequest),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRequest {
    Check,
    FillEndpoints,
    CreateGroup(String),
    Save { then_test: bool },
}

/// Tab, Shift-Tab, Enter and the vertical arrows over `count` slots. Enter on the last
/// slot means "next step"; Tab wraps around, so every field stays reachable by Tab alone.
pub fn navigate(focus: &mut usize, count: usize, action: Option<Action>) -> StepFlow {
    let count = count.max(1);
    match action {
        Some(Action::NextField) => *focus = (*focus + 1) % count,
        Some(Action::PrevField) => *focus = (*focus + count - 1) % count,
        Some(Action::Down) => *focus = (*focus + 1).min(count - 1),
        Some(Action::Up) => *focus = focus.saturating_sub(1),
        Some(Action::Submit) if *focus + 1 < count => *focus += 1,
        Some(Action::Submit) => return StepFlow::Next,
        _ => return StepFlow::Ignored,
    }
    StepFlow::Handled
}

/// An empty value is fine; anything else must be an email address (`validate::email`).
pub fn optional_email(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Ok(String::new())
    } else {
        validate::email(value)
    }
}

/// An empty value is fine; anything else must be a web URL (`validate::web_url`).
pub fn optional_url(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Ok(String::new())
    } else {
        validate::web_url(value).map(|u| u.to_string())
    }
}

pub fn openid_scopes(value: &str) -> Result<String, String> {
    validate::scopes(value, true)
}

pub fn oauth2_scopes(value: &str) -> Result<String, String> {
    validate::scopes(value, false)
}

/// The two-row rectangle of the `index`-th field row stacked from the top of `area`.
pub fn row_rect(area: Rect, top: u16) -> Rect {
    let y = area.y + top;
    Rect {
        x: area.x,
        y,
        width: area.width,
        height: FieldRow::HEIGHT.min(area.bottom().saturating_sub(y)),
    }
}

/// Draw a field row when it fits; returns the cursor if focused.
pub fn draw_field(
    buf: &mut ratatui::buffer::Buffer,
    rect: Rect,
    label: &str,
    field: &TextField,
    help: &str,
    focused: bool,
    theme: &crate::tui::theme::Theme,
) -> Option<ratatui::layout::Position> {
    if rect.height == 0 {
        return None;
    }
    FieldRow {
        label,
        field,
        help,
        focused,
        label_width: LABEL_WIDTH,
    }
    .render(rect, buf, theme)
}

/// Whether a click at `(x, y)` landed in `rect`.
pub fn hit(rect: Rect, x: u16, y: u16) -> bool {
    rect.contains(ratatui::layout::Position::new(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enter_walks_the_fields_then_asks_for_the_next_step() {
        let mut focus = 0;
        assert_eq!(
            navigate(&mut focus, 2, Some(Action::Submit)),
            StepFlow::Handled
        );
        assert_eq!(focus, 1);
        assert_eq!(
            navigate(&mut focus, 2, Some(Action::Submit)),
            StepFlow::Next
        );
        assert_eq!(
            navigate(&mut focus, 2, Some(Action::NextField)),
            StepFlow::Handled
        );
        assert_eq!(focus, 0, "Tab wraps");
        assert_eq!(
            navigate(&mut focus, 2, Some(Action::PrevField)),
            StepFlow::Handled
        );
        assert_eq!(focus, 1);
        assert_eq!(
            navigate(&mut focus, 2, Some(Action::Save)),
            StepFlow::Ignored
        );
    }

    #[test]
    fn optional_fields_accept_empty_and_use_the_core_rules_otherwise() {
        assert_eq!(optional_email("  "), Ok(String::new()));
        assert!(optional_email("nope").is_err());
        assert!(
            optional_url("http://idp.example.com")
                .unwrap_err()
                .contains("uses http")
        );
    }
}
