//! Popups drawn over the screens, one file each, kept on a stack (top gets the input).

pub mod confirm;
pub mod error;
pub mod prompt;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Block, BorderType, Clear};

use crate::tui::component::{Component, Draw, DrawCx, EventCx, EventResult, Input};
use crate::tui::keymap::Scope;
use crate::tui::theme::Theme;

pub use confirm::ConfirmPopup;
pub use error::ErrorPopup;
pub use prompt::PromptPopup;

#[derive(Debug)]
pub enum Popup {
    Confirm(ConfirmPopup),
    Error(ErrorPopup),
    Prompt(PromptPopup),
}

impl Component for Popup {
    fn handle(&mut self, input: &Input, cx: &mut EventCx<'_>) -> EventResult {
        match self {
            Popup::Confirm(p) => p.handle(input, cx),
            Popup::Error(p) => p.handle(input, cx),
            Popup::Prompt(p) => p.handle(input, cx),
        }
    }

    fn scope(&self) -> Scope {
        match self {
            Popup::Confirm(p) => p.scope(),
            Popup::Error(p) => p.scope(),
            Popup::Prompt(p) => p.scope(),
        }
    }
}

impl Draw for Popup {
    fn draw(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
        match self {
            Popup::Confirm(p) => p.draw(frame, area, cx),
            Popup::Error(p) => p.draw(frame, area, cx),
            Popup::Prompt(p) => p.draw(frame, area, cx),
        }
    }
}

/// A centred box of at most `width` x `height` inside `area`.
pub fn modal_area(area: Rect, width: u16, height: u16) -> Rect {
    area.centered(
        Constraint::Length(width.min(area.width.saturating_sub(2))),
        Constraint::Length(height.min(area.height.saturating_sub(2))),
    )
}

/// Clear the box and draw its border and title; returns the inside.
pub fn render_frame(
    frame: &mut Frame<'_>,
    rect: Rect,
    title: &str,
    style_is_error: bool,
    theme: &Theme,
) -> Rect {
    frame.render_widget(Clear, rect);
    let border = if style_is_error {
        theme.error
    } else {
        theme.focused_border
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(border)
        .title(format!(" {title} "))
        .title_style(theme.title);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// How many rows `text` takes wrapped at `width` (word wrap, as `Paragraph` does it).
pub fn wrapped_height(text: &str, width: u16) -> u16 {
    let width = width.max(1) as usize;
    text.lines()
        .map(|line| {
            let mut rows = 1;
            let mut used = 0;
            for word in line.split(' ') {
                let w = unicode_width::UnicodeWidthStr::width(word);
                let need = if used == 0 { w } else { used + 1 + w };
                if need > width && used > 0 {
                    rows += 1 + w / width;
                    used = w % width;
                } else {
                    used = need;
                }
            }
            rows
        })
        .sum::<usize>() as u16
}
