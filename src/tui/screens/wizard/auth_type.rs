//! Step 3: OpenId Authentication or OAuth2 Authorization Code Flow, each with when to
//! choose it.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::text::{Line, Text};

use super::form::StepFlow;
use crate::core::connector::AuthKind;
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::select::Select;

#[derive(Debug)]
pub struct AuthTypeStep {
    pub kind: Select<AuthKind>,
}

const ITEM_HEIGHT: u16 = 4;

fn when_to_choose(kind: AuthKind) -> [&'static str; 2] {
    match kind {
        AuthKind::OpenId => [
            "Choose this for a public IAM client (no secret). The endpoints are found",
            "from the Authority URL's discovery document, and PKCE is always on.",
        ],
        AuthKind::OAuth2 => [
            "Choose this when you enter the endpoints by hand, or when the IAM client",
            "is confidential and has a client secret. PKCE is an option.",
        ],
        AuthKind::ClientCredentials => [
            "A service user for scripts and CI: no browser. Its settings are edited",
            "with `ifs-connect edit` for now.",
        ],
    }
}

impl AuthTypeStep {
    pub fn new(kind: AuthKind) -> Self {
        let mut kinds = vec![AuthKind::OpenId, AuthKind::OAuth2];
        // Offered only to keep an existing service user as it is (its own step comes later).
        if kind == AuthKind::ClientCredentials {
            kinds.push(kind);
        }
        let mut select = Select::new(kinds);
        select.select(&kind);
        Self { kind: select }
    }

    pub fn selected(&self) -> AuthKind {
        self.kind.selected().copied().unwrap_or(AuthKind::OpenId)
    }

    pub fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        if self.kind.handle_key(key) {
            return StepFlow::Handled;
        }
        match action {
            Some(Action::Submit) => StepFlow::Next,
            Some(Action::NextField | Action::PrevField | Action::Toggle) => {
                let other = match self.selected() {
                    AuthKind::OpenId => AuthKind::OAuth2,
                    AuthKind::OAuth2 | AuthKind::ClientCredentials => AuthKind::OpenId,
                };
                self.kind.select(&other);
                StepFlow::Handled
            }
            _ => StepFlow::Ignored,
        }
    }

    pub fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if mouse.kind != MouseEventKind::Down(MouseButton::Left) || mouse.row < area.y {
            return StepFlow::Ignored;
        }
        let index = ((mouse.row - area.y) / ITEM_HEIGHT) as usize;
        self.kind.select_index(index);
        StepFlow::Handled
    }

    pub fn draw(&self, area: Rect, buf: &mut Buffer, theme: &Theme) {
        self.kind.render(
            |kind| {
                let [first, second] = when_to_choose(*kind);
                Text::from(vec![
                    Line::styled(kind.label(), theme.label),
                    Line::styled(format!("  {first}"), theme.muted),
                    Line::styled(format!("  {second}"), theme.muted),
                    Line::raw(""),
                ])
            },
            Rect {
                height: area.height.min(ITEM_HEIGHT * 2),
                ..area
            },
            buf,
            true,
            theme,
        );
    }
}
