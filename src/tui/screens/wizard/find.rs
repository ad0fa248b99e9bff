//! "Find": the realm looked for from step 2's Base URL (`core::ifs::discover`), for the
//! OpenId step and the service user's step. The wizard runs it as a task; this keeps its
//! state and says what came of it.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::core::ifs::discover::Discovery;
use crate::tui::component::DrawCx;
use crate::tui::theme::Theme;
use crate::tui::widgets::{spinner, wrap};

#[derive(Debug, Clone, Default, PartialEq)]
pub enum FindState {
    #[default]
    Idle,
    Running {
        generation: u64,
        base_url: String,
    },
    /// `discovery.lines()`: where the realm was found, or what was tried.
    Done {
        found: bool,
        lines: Vec<String>,
    },
}

#[derive(Debug, Default)]
pub struct RealmFinder {
    pub state: FindState,
}

impl RealmFinder {
    pub fn is_running(&self) -> bool {
        matches!(self.state, FindState::Running { .. })
    }

    pub fn start(&mut self, generation: u64, base_url: &str) {
        self.state = FindState::Running {
            generation,
            base_url: base_url.to_owned(),
        };
    }

    /// Takes an answer; `None` when it is late (a newer find started), else the realm URL
    /// found, if any.
    pub fn finish(
        &mut self,
        generation: u64,
        result: Result<Discovery, String>,
    ) -> Option<Option<String>> {
        if !matches!(&self.state, FindState::Running { generation: g, .. } if *g == generation) {
            return None;
        }
        let (found, lines, authority) = match result {
            Ok(discovery) => {
                let authority = discovery.found.as_ref().map(|f| f.authority.clone());
                (authority.is_some(), discovery.lines(), authority)
            }
            Err(message) => (false, vec![message], None),
        };
        self.state = FindState::Done { found, lines };
        Some(authority)
    }

    /// The task died: nothing is running any more.
    pub fn failed(&mut self) {
        if self.is_running() {
            self.state = FindState::Idle;
        }
    }

    /// The line next to the button.
    pub fn note(&self, cx: &DrawCx<'_>) -> Line<'static> {
        let theme = cx.theme;
        match &self.state {
            FindState::Idle => {
                Line::styled("looks for the realm from step 2's Base URL", theme.muted)
            }
            FindState::Running { base_url, .. } => Line::styled(
                format!(
                    "{} looking for the realm from {base_url}…",
                    spinner::frame(cx.tick)
                ),
                theme.highlight,
            ),
            FindState::Done { found: true, .. } => {
                Line::styled("✓ realm found: in the Authority URL above", theme.ok)
            }
            FindState::Done { found: false, .. } => {
                Line::styled("✗ no realm found (below)", theme.error)
            }
        }
    }

    /// The report, wrapped under its column; in the error style when nothing was found.
    pub fn report_lines(&self, theme: &Theme, width: u16) -> Vec<Line<'static>> {
        let FindState::Done { found, lines } = &self.state else {
            return Vec::new();
        };
        let style = if *found {
            Style::default()
        } else {
            theme.error
        };
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            let mark = match (i, found) {
                (0, true) => "✓ ",
                (0, false) => "✗ ",
                _ => "  ",
            };
            let lead = vec![Span::styled(mark, style)];
            out.extend(wrap::hanging(
                lead,
                line.trim_start(),
                style,
                width as usize,
            ));
        }
        out
    }
}
