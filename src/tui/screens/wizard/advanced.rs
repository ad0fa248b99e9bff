//! Step 5: the extra query parameters (with `prompt=select_account`, the common one, a
//! keypress away), the Validate options or PKCE, and the email to prefill.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};

use super::form::{self, LABEL_WIDTH, StepFlow};
use crate::core::connector::{AuthKind, Param};
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::button;
use crate::tui::widgets::kv_list::KvList;
use crate::tui::widgets::text_field::TextField;
use crate::tui::widgets::toggle::Toggle;

/// The settings as the connector model names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenIdOptions {
    pub validate_endpoints: bool,
    pub validate_issuer_name: bool,
    pub validate_token_issuer_name: bool,
    pub use_par: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Params,
    OfferPrompt,
    Toggle(usize),
    Prefill,
}

#[derive(Debug)]
pub struct AdvancedStep {
    pub params: KvList,
    openid: [Toggle; 4],
    pkce: Toggle,
    pub prefill: TextField,
    kind: AuthKind,
    focus: usize,
}

const PROMPT: (&str, &str) = ("prompt", "select_account");

impl AdvancedStep {
    pub fn new(
        kind: AuthKind,
        params: &[Param],
        openid: OpenIdOptions,
        pkce: bool,
        prefill: Option<&str>,
    ) -> Self {
        Self {
            params: KvList::from_params(params),
            openid: [
                Toggle::new(
                    "Validate Endpoints",
                    "endpoints must sit under the authority",
                    openid.validate_endpoints,
                ),
                Toggle::new(
                    "Validate Issuer Name",
                    "discovery issuer must equal the authority",
                    openid.validate_issuer_name,
                ),
                Toggle::new(
                    "Validate Token Issuer Name",
                    "the ID token's iss must equal it",
                    openid.validate_token_issuer_name,
                ),
                Toggle::new(
                    "Use PAR",
                    "pushed authorization requests, when offered",
                    openid.use_par,
                ),
            ],
            pkce: Toggle::new(
                "PKCE",
                "proof key (S256); keep on unless the client refuses",
                pkce,
            ),
            prefill: TextField::new(prefill.unwrap_or_default())
                .with_validator(form::optional_email)
                .with_placeholder("optional: name@example.com"),
            kind,
            focus: 0,
        }
    }

    pub fn set_kind(&mut self, kind: AuthKind) {
        self.kind = kind;
        self.focus = self.focus.min(self.slots().len() - 1);
    }

    pub fn openid_options(&self) -> OpenIdOptions {
        OpenIdOptions {
            validate_endpoints: self.openid[0].on,
            validate_issuer_name: self.openid[1].on,
            validate_token_issuer_name: self.openid[2].on,
            use_par: self.openid[3].on,
        }
    }

    pub fn pkce(&self) -> bool {
        self.pkce.on
    }

    /// The email, or `None` when left empty.
    pub fn prefill_email(&self) -> Option<String> {
        let value = self.prefill.value().trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    fn toggles(&self) -> &[Toggle] {
        match self.kind {
            AuthKind::OpenId => &self.openid,
            AuthKind::OAuth2 => std::slice::from_ref(&self.pkce),
            AuthKind::ClientCredentials => &[],
        }
    }

    fn toggle_mut(&mut self, index: usize) -> Option<&mut Toggle> {
        match self.kind {
            AuthKind::OpenId => self.openid.get_mut(index),
            AuthKind::OAuth2 => (index == 0).then_some(&mut self.pkce),
            AuthKind::ClientCredentials => None,
        }
    }

    fn offers_prompt(&self) -> bool {
        !self.params.has_key(PROMPT.0)
    }

    fn slots(&self) -> Vec<Slot> {
        let mut slots = vec![Slot::Params];
        if self.offers_prompt() {
            slots.push(Slot::OfferPrompt);
        }
        slots.extend((0..self.toggles().len()).map(Slot::Toggle));
        slots.push(Slot::Prefill);
        slots
    }

    fn slot(&self) -> Slot {
        let slots = self.slots();
        slots[self.focus.min(slots.len() - 1)]
    }

    fn focus_slot(&mut self, slot: Slot) {
        if let Some(index) = self.slots().iter().position(|s| *s == slot) {
            self.focus = index;
        }
    }

    pub fn is_valid(&self) -> bool {
        self.params.error().is_none() && self.prefill.is_valid()
    }

    pub fn touch_all(&mut self) {
        self.prefill.touch();
        if self.params.error().is_some() {
            self.focus_slot(Slot::Params);
        } else if !self.prefill.is_valid() {
            self.focus_slot(Slot::Prefill);
        }
    }

    fn add_prompt(&mut self) {
        self.params.add(PROMPT.0, PROMPT.1);
        self.focus_slot(Slot::Params);
    }

    pub fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        let slot = self.slot();
        let consumed = match slot {
            Slot::Params => self.params.handle_key(key),
            Slot::Prefill => self.prefill.handle_key(key),
            _ => false,
        };
        if consumed {
            return StepFlow::Handled;
        }
        match (slot, action) {
            (_, Some(Action::AddRow)) => {
                self.params.add("", "");
                self.focus_slot(Slot::Params);
                StepFlow::Handled
            }
            (Slot::Params, Some(Action::RemoveRow)) => {
                self.params.remove_focused();
                StepFlow::Handled
            }
            (Slot::Params, Some(Action::NextField | Action::Submit)) if self.params.next() => {
                StepFlow::Handled
            }
            (Slot::Params, Some(Action::PrevField)) if self.params.prev() => StepFlow::Handled,
            (Slot::OfferPrompt, Some(Action::Submit | Action::Toggle)) => {
                self.add_prompt();
                StepFlow::Handled
            }
            (Slot::Toggle(i), Some(Action::Toggle)) => {
                self.toggle_mut(i).into_iter().for_each(Toggle::flip);
                StepFlow::Handled
            }
            _ => {
                let before = self.focus;
                let count = self.slots().len();
                let flow = form::navigate(&mut self.focus, count, action);
                self.enter_params_from(before, action);
                flow
            }
        }
    }

    /// Tabbing into the list lands on its first cell, Shift-Tabbing on its last.
    fn enter_params_from(&mut self, before: usize, action: Option<Action>) {
        if before != self.focus && self.slot() == Slot::Params {
            self.params.enter(action != Some(Action::PrevField));
        }
    }

    pub fn paste(&mut self, text: &str) {
        match self.slot() {
            Slot::Params => self.params.paste(text),
            Slot::Prefill => self.prefill.paste(text),
            _ => {}
        }
    }

    fn layout(&self, area: Rect) -> Layout {
        let list = Rect {
            x: area.x,
            y: area.y + 1,
            width: area.width,
            height: self.params.height(),
        };
        let offer = Rect::new(
            area.x + 2,
            list.bottom(),
            button::width("+ prompt=select_account"),
            1,
        );
        let toggles_top = offer.bottom() + 1;
        let toggles = Rect {
            x: area.x,
            y: toggles_top,
            width: area.width,
            height: self.toggles().len() as u16,
        };
        let prefill = form::row_rect(area, toggles.bottom() + 1 - area.y);
        Layout {
            list,
            offer,
            toggles,
            prefill,
        }
    }

    pub fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if mouse.kind != MouseEventKind::Down(MouseButton::Left) {
            return StepFlow::Ignored;
        }
        let (x, y) = (mouse.column, mouse.row);
        let layout = self.layout(area);
        if form::hit(layout.list, x, y) && self.params.click(layout.list, x, y) {
            self.focus_slot(Slot::Params);
        } else if self.offers_prompt() && form::hit(layout.offer, x, y) {
            self.add_prompt();
        } else if form::hit(layout.toggles, x, y) {
            let index = (y - layout.toggles.y) as usize;
            self.toggle_mut(index).into_iter().for_each(Toggle::flip);
            self.focus_slot(Slot::Toggle(index));
        } else if form::hit(layout.prefill, x, y) {
            self.focus_slot(Slot::Prefill);
        }
        StepFlow::Handled
    }

    pub fn draw(&self, area: Rect, buf: &mut Buffer, theme: &Theme) -> Option<Position> {
        let layout = self.layout(area);
        let slot = self.slot();
        let heading = Line::from(vec![
            Span::styled("  Extra query parameters", theme.label),
            Span::styled(
                "   Ctrl-N adds a row · Ctrl-D removes the focused one",
                theme.muted,
            ),
        ]);
        buf.set_line(area.x, area.y, &heading, area.width);
        let mut cursor = self
            .params
            .render(layout.list, buf, slot == Slot::Params, theme);
        if self.offers_prompt() {
            button::render(
                "+ prompt=select_account",
                layout.offer,
                buf,
                slot == Slot::OfferPrompt,
                theme,
            );
            let x = layout.offer.right() + 1;
            buf.set_stringn(
                x,
                layout.offer.y,
                "makes the user pick an account",
                area.right().saturating_sub(x) as usize,
                theme.muted,
            );
        }
        for (i, toggle) in self.toggles().iter().enumerate() {
            let row = Rect {
                y: layout.toggles.y + i as u16,
                height: 1,
                ..layout.toggles
            };
            toggle.render(row, buf, slot == Slot::Toggle(i), theme);
        }
        let help = "Sent as login_hint so the IFS login starts with it";
        cursor = cursor.or(form::draw_field(
            buf,
            layout.prefill,
            "Prefill User Email",
            &self.prefill,
            help,
            slot == Slot::Prefill,
            theme,
        ));
        let _ = LABEL_WIDTH;
        cursor
    }
}

struct Layout {
    list: Rect,
    offer: Rect,
    toggles: Rect,
    prefill: Rect,
}
