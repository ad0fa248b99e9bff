//! Step 3: OpenId Authentication, OAuth2 Authorization Code Flow or OAuth2 Client
//! Credentials, each with when to choose it.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Text};

use super::form::{self, StepFlow, WizardStep};
use crate::core::connector::AuthKind;
use crate::tui::component::DrawCx;
use crate::tui::keymap::Action;
use crate::tui::widgets::select::Select;

#[derive(Debug)]
pub struct AuthTypeStep {
    pub kind: Select<AuthKind>,
}

/// The choices, in the order shown.
const KINDS: [AuthKind; 3] = [
    AuthKind::OpenId,
    AuthKind::OAuth2,
    AuthKind::ClientCredentials,
];
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
            "Choose this for an IFS service user (scripts, schedulers, CI): no browser;",
            "a confidential IAM client with Service Accounts on and its client secret.",
        ],
    }
}

impl AuthTypeStep {
    pub fn new(kind: AuthKind) -> Self {
        let mut select = Select::new(KINDS.to_vec());
        select.select(&kind);
        Self { kind: select }
    }

    pub fn selected(&self) -> AuthKind {
        self.kind.selected().copied().unwrap_or(AuthKind::OpenId)
    }

    /// Tab and Space move to the next choice, wrapping.
    fn select_next(&mut self) {
        let at = KINDS
            .iter()
            .position(|k| *k == self.selected())
            .unwrap_or(0);
        self.kind.select(&KINDS[(at + 1) % KINDS.len()]);
    }
}

impl WizardStep for AuthTypeStep {
    fn label(&self) -> &'static str {
        "Auth type"
    }

    fn heading(&self) -> (&'static str, &'static str) {
        (
            "Authentication Type",
            "How the connector signs in to IFS Cloud.",
        )
    }

    fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        if self.kind.handle_key(key) {
            return StepFlow::Handled;
        }
        match action {
            Some(Action::Submit) => StepFlow::Next,
            Some(Action::NextField | Action::PrevField | Action::Toggle) => {
                self.select_next();
                StepFlow::Handled
            }
            _ => StepFlow::Ignored,
        }
    }

    fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if !form::is_left_click(mouse) || mouse.row < area.y {
            return StepFlow::Ignored;
        }
        let index = ((mouse.row - area.y) / ITEM_HEIGHT) as usize;
        self.kind.select_index(index);
        StepFlow::Handled
    }

    fn draw(&self, area: Rect, buf: &mut Buffer, cx: &DrawCx<'_>) -> Option<Position> {
        let theme = cx.theme;
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
                height: area.height.min(ITEM_HEIGHT * KINDS.len() as u16),
                ..area
            },
            buf,
            true,
            theme,
        );
        None
    }
}
