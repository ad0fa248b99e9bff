//! The whole frame from state: title bar, the top screen, the hint bar, popups. A pure
//! function, so tests draw any state into a `TestBackend` and snapshot it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::tui::component::{Component, Draw, DrawCx};
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::widgets::hint_bar;

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Title, body, hints: the body is what screens get, for drawing and for clicks.
pub fn layout(area: Rect) -> [Rect; 3] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

pub fn is_too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

pub fn render(state: &State, keymap: &Keymap, theme: &Theme, frame: &mut Frame<'_>) {
    let area = frame.area();
    if is_too_small(area) {
        return render_too_small(area, keymap, theme, frame);
    }
    let cx = DrawCx {
        theme,
        keymap,
        now: state.now,
        tick: state.tick,
        paths: &state.paths,
    };
    let [title, body, hints] = layout(area);
    let screen_title = state
        .screens
        .last()
        .map_or_else(|| "Connectors".to_owned(), |s| s.title());
    let line = Line::from(vec![
        Span::styled(" ifs-connect ", theme.title),
        Span::styled("· ", theme.muted),
        Span::styled(screen_title, theme.label),
    ]);
    frame.render_widget(Paragraph::new(line), title);
    match state.screens.last() {
        Some(screen) => screen.draw(frame, body, &cx),
        None => state.list.draw(frame, body, &cx),
    }
    let scope = match (state.popups.last(), state.screens.last()) {
        (Some(popup), _) => popup.scope(),
        (None, Some(screen)) => screen.scope(),
        (None, None) => state.list.scope(),
    };
    hint_bar::render(&keymap.hints(scope), hints, frame.buffer_mut(), theme);
    for popup in &state.popups {
        popup.draw(frame, area, &cx);
    }
}

fn render_too_small(area: Rect, keymap: &Keymap, theme: &Theme, frame: &mut Frame<'_>) {
    let text = vec![
        Line::styled("Terminal too small", theme.error),
        Line::raw(format!(
            "{}x{} here; ifs-connect needs at least {MIN_WIDTH}x{MIN_HEIGHT}.",
            area.width, area.height
        )),
        Line::raw(format!(
            "Make the window larger, or press {} to quit.",
            keymap.key_for(Scope::Global, Action::Quit)
        )),
    ];
    let height = 3.min(area.height);
    let rect = Rect {
        y: area.y + area.height.saturating_sub(height) / 2,
        height,
        ..area
    };
    frame.render_widget(
        Paragraph::new(text).centered().wrap(Wrap { trim: true }),
        rect,
    );
}
