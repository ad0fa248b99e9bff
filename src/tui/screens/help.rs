//! `?`: every key, straight from the keymap, and where the files are.

use ratatui::Frame;
use ratatui::crossterm::event::MouseEventKind;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::command::Command;
use crate::tui::component::{Component, Draw, DrawCx, EventCx, EventResult, Input, shared_action};
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::theme::Theme;

#[derive(Debug, Default)]
pub struct HelpScreen {
    scroll: u16,
}

impl HelpScreen {
    fn lines<'a>(keymap: &Keymap, cx: &DrawCx<'_>, theme: &Theme) -> Vec<Line<'a>> {
        let mut lines = vec![
            Line::from(vec![
                Span::styled(" Config file  ", theme.label),
                Span::raw(cx.paths.config_file().display().to_string()),
            ]),
            Line::from(vec![
                Span::styled(" Log file     ", theme.label),
                Span::raw(cx.paths.log_file().display().to_string()),
            ]),
            Line::styled(
                " Secrets      in the OS keyring (service ifs-connect), never in a file",
                theme.muted,
            ),
        ];
        for (scope, rows) in keymap.help_sections() {
            if rows.is_empty() {
                continue;
            }
            lines.push(Line::raw(""));
            lines.push(Line::styled(format!(" {}", scope.title()), theme.title));
            for (keys, help) in rows {
                lines.push(Line::from(vec![
                    Span::styled(format!("   {keys:<18}"), theme.key),
                    Span::raw(help),
                ]));
            }
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            " In text fields, letters are text: commands there use Ctrl, Tab, Enter or Esc.",
            theme.muted,
        ));
        lines
    }

    fn scroll_by(&mut self, delta: i32) {
        self.scroll = (i32::from(self.scroll) + delta).clamp(0, 200) as u16;
    }
}

impl Component for HelpScreen {
    fn handle(&mut self, input: &Input, cx: &mut EventCx<'_>) -> EventResult {
        if shared_action(input, cx.keymap, Scope::Help) == Some(Action::Quit) {
            return EventResult::Ignored;
        }
        self.on_input(input, cx);
        EventResult::Handled
    }

    fn scope(&self) -> Scope {
        Scope::Help
    }
}

impl Draw for HelpScreen {
    fn draw(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
        let lines = Self::lines(cx.keymap, cx, cx.theme);
        // Never scroll past the end: the last page stays full.
        let max = (lines.len() as u16).saturating_sub(area.height);
        frame.render_widget(
            Paragraph::new(lines).scroll((self.scroll.min(max), 0)),
            area,
        );
    }
}

impl HelpScreen {
    fn on_input(&mut self, input: &Input, cx: &mut EventCx<'_>) {
        let page = i32::from(cx.area.height.max(2) - 1);
        match input {
            Input::Key(key) => match cx.keymap.action(Scope::Help, key) {
                Some(Action::Up) => self.scroll_by(-1),
                Some(Action::Down) => self.scroll_by(1),
                Some(Action::PageUp) => self.scroll_by(-page),
                Some(Action::PageDown) => self.scroll_by(page),
                Some(Action::Back | Action::Help) => cx.commands.push(Command::CloseScreen),
                _ => {}
            },
            Input::Mouse(mouse) => match mouse.kind {
                MouseEventKind::ScrollDown => self.scroll_by(3),
                MouseEventKind::ScrollUp => self.scroll_by(-3),
                _ => {}
            },
            Input::Paste(_) => {}
        }
    }
}
