//! What every wizard step shares: the `WizardStep` trait, how a step answers an input,
//! and `Form`, which turns a step's rows (declared once, as data) into drawing, focus
//! order, clicks and validation. A step names its rows with its own focus enum, so no
//! code counts slots or adds row offsets by hand.

use std::fmt::Debug;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use crate::core::connector::Connector;
use crate::core::validate::{self, Field};
use crate::tui::component::DrawCx;
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::theme::Theme;
use crate::tui::widgets::button;
use crate::tui::widgets::text_field::{FieldRow, TextField, Validator};
use crate::tui::widgets::toggle::Toggle;

/// Width of the label column in every step, so fields line up from step to step.
pub const LABEL_WIDTH: u16 = 26;

/// One page of the wizard. The wizard owns what crosses steps (moving between them,
/// saving); a step owns its inputs and says what they mean for the connector.
pub trait WizardStep {
    /// The word in the step bar.
    fn label(&self) -> &'static str;
    /// The heading's title and its line of explanation.
    fn heading(&self) -> (&'static str, &'static str);
    fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow;
    fn paste(&mut self, _text: &str) {}
    fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow;
    /// Draws the step's body; returns where the cursor goes, if a text input has focus.
    fn draw(&self, area: Rect, buf: &mut Buffer, cx: &DrawCx<'_>) -> Option<Position>;
    fn is_valid(&self) -> bool {
        true
    }
    /// Show every problem and focus the first one (an attempt to move on was made).
    fn touch_all(&mut self) {}
    /// Put this step's values into the connector being built; steps write in order, so
    /// a later step (Advanced) may refine what an earlier one (the settings) wrote.
    fn write(&self, _connector: &mut Connector) {}
}

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
    /// Look for the realm from step 2's Base URL.
    FindRealm,
    /// Add or remove a scope in the settings step's Scopes (an Advanced option).
    SetScope {
        scope: &'static str,
        on: bool,
    },
    CopyRedirectUri,
    CreateGroup(String),
    Save {
        then_test: bool,
    },
}

/// What a row's label says: a connector field's own label, or words of the step's.
#[derive(Debug, Clone, Copy)]
pub enum Label {
    Of(Field),
    Plain(&'static str),
}

impl Label {
    pub fn text(self) -> &'static str {
        match self {
            Label::Of(field) => field.label(),
            Label::Plain(text) => text,
        }
    }
}

/// A text input's declaration.
#[derive(Debug, Clone, Copy)]
pub struct TextSpec {
    pub label: Label,
    pub help: &'static str,
    pub validator: Option<Validator>,
    pub placeholder: &'static str,
    pub masked: bool,
}

#[derive(Debug, Clone, Copy)]
pub enum RowKind {
    /// A labelled input over a line of help (or its error): two lines.
    Text(TextSpec),
    /// A button on its own line.
    Button(&'static str),
    /// An on/off option: one line.
    Toggle {
        label: &'static str,
        help: &'static str,
    },
    /// Drawn by the step itself (a list, a note); `focusable` says whether Tab stops here.
    Custom { height: u16, focusable: bool },
}

/// One row of a step, in the order rows stand on screen and take the focus.
#[derive(Debug, Clone, Copy)]
pub struct Row<F> {
    pub id: F,
    pub kind: RowKind,
    /// Blank lines above the row.
    pub gap: u16,
}

impl<F> Row<F> {
    /// A text input labelled with the connector field it edits.
    pub const fn text(id: F, field: Field, help: &'static str) -> Self {
        Self::input(id, Label::Of(field), help)
    }

    /// A text input with a label of its own (it edits no saved field directly).
    pub const fn input(id: F, label: Label, help: &'static str) -> Self {
        Self {
            id,
            kind: RowKind::Text(TextSpec {
                label,
                help,
                validator: None,
                placeholder: "",
                masked: false,
            }),
            gap: 0,
        }
    }

    pub const fn button(id: F, label: &'static str) -> Self {
        Self {
            id,
            kind: RowKind::Button(label),
            gap: 0,
        }
    }

    pub const fn toggle(id: F, label: &'static str, help: &'static str) -> Self {
        Self {
            id,
            kind: RowKind::Toggle { label, help },
            gap: 0,
        }
    }

    pub const fn custom(id: F, height: u16, focusable: bool) -> Self {
        Self {
            id,
            kind: RowKind::Custom { height, focusable },
            gap: 0,
        }
    }

    pub const fn after_gap(mut self, lines: u16) -> Self {
        self.gap = lines;
        self
    }

    pub const fn check(mut self, validator: Validator) -> Self {
        if let RowKind::Text(spec) = &mut self.kind {
            spec.validator = Some(validator);
        }
        self
    }

    pub const fn placeholder(mut self, placeholder: &'static str) -> Self {
        if let RowKind::Text(spec) = &mut self.kind {
            spec.placeholder = placeholder;
        }
        self
    }

    pub const fn masked(mut self) -> Self {
        if let RowKind::Text(spec) = &mut self.kind {
            spec.masked = true;
        }
        self
    }
}

/// Whether a row is on screen now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Yes,
    /// Keeps its lines but is drawn empty and skipped by the focus.
    Blank,
    /// Takes no lines at all.
    No,
}

#[derive(Debug)]
enum Widget {
    Text(TextField),
    Toggle(Toggle),
    None,
}

#[derive(Debug)]
struct Slot<F> {
    row: Row<F>,
    widget: Widget,
    shown: Shown,
    height: u16,
}

impl<F> Slot<F> {
    fn focusable(&self) -> bool {
        self.shown == Shown::Yes
            && match self.row.kind {
                RowKind::Custom { focusable, .. } => focusable,
                _ => true,
            }
    }
}

/// The live rows of a step: their widgets' state, what is shown, and the focus.
#[derive(Debug)]
pub struct Form<F> {
    slots: Vec<Slot<F>>,
    pub focus: F,
}

impl<F: Copy + Eq + Debug> Form<F> {
    /// Empty inputs and options that are off; the step then sets the values it loads.
    pub fn new(rows: &[Row<F>]) -> Self {
        let slots: Vec<Slot<F>> = rows.iter().map(|row| Slot::new(*row)).collect();
        let focus = slots
            .iter()
            .find(|s| s.focusable())
            .map_or(rows[0].id, |s| s.row.id);
        Self { slots, focus }
    }

    fn slot(&self, id: F) -> &Slot<F> {
        self.slots
            .iter()
            .find(|s| s.row.id == id)
            .unwrap_or_else(|| panic!("{id:?} is not a row of this form"))
    }

    fn slot_mut(&mut self, id: F) -> &mut Slot<F> {
        self.slots
            .iter_mut()
            .find(|s| s.row.id == id)
            .unwrap_or_else(|| panic!("{id:?} is not a row of this form"))
    }

    pub fn text(&self, id: F) -> &TextField {
        match &self.slot(id).widget {
            Widget::Text(field) => field,
            _ => panic!("{id:?} is not a text row"),
        }
    }

    pub fn text_mut(&mut self, id: F) -> &mut TextField {
        match &mut self.slot_mut(id).widget {
            Widget::Text(field) => field,
            _ => panic!("{id:?} is not a text row"),
        }
    }

    pub fn value(&self, id: F) -> &str {
        self.text(id).value()
    }

    pub fn is_on(&self, id: F) -> bool {
        matches!(&self.slot(id).widget, Widget::Toggle(t) if t.on)
    }

    pub fn set_on(&mut self, id: F, on: bool) {
        if let Widget::Toggle(toggle) = &mut self.slot_mut(id).widget {
            toggle.on = on;
        }
    }

    fn flip(&mut self, id: F) {
        if let Widget::Toggle(toggle) = &mut self.slot_mut(id).widget {
            toggle.flip();
        }
    }

    pub fn set_shown(&mut self, id: F, shown: Shown) {
        self.slot_mut(id).shown = shown;
    }

    pub fn is_shown(&self, id: F) -> bool {
        self.slot(id).shown == Shown::Yes
    }

    /// For rows whose height follows their content (a list that grows).
    pub fn set_height(&mut self, id: F, height: u16) {
        self.slot_mut(id).height = height;
    }

    /// Keep the focus on a row that can take it (after rows were hidden).
    pub fn settle_focus(&mut self, fallback: F) {
        if !self.slot(self.focus).focusable() {
            self.focus = fallback;
        }
    }

    fn focus_order(&self) -> Vec<F> {
        self.slots
            .iter()
            .filter(|s| s.focusable())
            .map(|s| s.row.id)
            .collect()
    }

    fn shown_texts(&self) -> impl Iterator<Item = (F, &TextField)> {
        self.slots.iter().filter_map(|s| match &s.widget {
            Widget::Text(field) if s.shown == Shown::Yes => Some((s.row.id, field)),
            _ => None,
        })
    }

    pub fn is_valid(&self) -> bool {
        self.shown_texts().all(|(_, field)| field.is_valid())
    }

    /// Show every input's problem and focus the first input that has one.
    pub fn touch_all(&mut self) {
        for slot in &mut self.slots {
            if let (Widget::Text(field), Shown::Yes) = (&mut slot.widget, slot.shown) {
                field.touch();
            }
        }
        let first_invalid = self
            .shown_texts()
            .find(|(_, f)| !f.is_valid())
            .map(|(id, _)| id);
        if let Some(id) = first_invalid {
            self.focus = id;
        }
    }

    pub fn focused_text_mut(&mut self) -> Option<&mut TextField> {
        match &mut self.slot_mut(self.focus).widget {
            Widget::Text(field) => Some(field),
            _ => None,
        }
    }

    /// Typing goes to the focused input; `true` when it took the key.
    pub fn handle_key(&mut self, key: &KeyEvent) -> bool {
        self.focused_text_mut()
            .is_some_and(|field| field.handle_key(key))
    }

    pub fn paste(&mut self, text: &str) {
        if let Some(field) = self.focused_text_mut() {
            field.paste(text);
        }
    }

    /// Space on a focused option flips it; `true` when it did.
    pub fn toggle_focused(&mut self, action: Option<Action>) -> bool {
        let is_toggle = matches!(self.slot(self.focus).widget, Widget::Toggle(_));
        if is_toggle && action == Some(Action::Toggle) {
            self.flip(self.focus);
        }
        is_toggle && action == Some(Action::Toggle)
    }

    /// Tab, Shift-Tab, Enter and the vertical arrows over the rows that take the focus.
    /// Enter on the last one means "next step"; Tab wraps, so Tab alone reaches all.
    pub fn navigate(&mut self, action: Option<Action>) -> StepFlow {
        let order = self.focus_order();
        let at = order.iter().position(|id| *id == self.focus).unwrap_or(0);
        match navigate_index(at, order.len(), action) {
            Ok(index) => {
                self.focus = order[index];
                StepFlow::Handled
            }
            Err(flow) => flow,
        }
    }

    /// Each shown row's rectangle, stacked from the top of `area`.
    fn rects(&self, area: Rect) -> Vec<(F, Rect)> {
        let mut y = area.y;
        let mut rects = Vec::with_capacity(self.slots.len());
        for slot in self.slots.iter().filter(|s| s.shown != Shown::No) {
            y = y.saturating_add(slot.row.gap);
            let height = slot.height.min(area.bottom().saturating_sub(y));
            rects.push((slot.row.id, Rect::new(area.x, y, area.width, height)));
            y = y.saturating_add(slot.height);
        }
        rects
    }

    /// Where a row stands in `area` (a zero-sized rectangle when it is not shown).
    pub fn rect(&self, area: Rect, id: F) -> Rect {
        self.rects(area)
            .into_iter()
            .find(|(row, _)| *row == id)
            .map_or(Rect::new(area.x, area.y, 0, 0), |(_, rect)| rect)
    }

    /// A button row's button, the part that takes clicks.
    pub fn button_rect(&self, area: Rect, id: F) -> Rect {
        let row = self.rect(area, id);
        let label = match self.slot(id).row.kind {
            RowKind::Button(label) => label,
            _ => "",
        };
        Rect::new(row.x + 2, row.y, button::width(label), row.height.min(1))
    }

    /// A left click on a row focuses it (and flips an option); returns the row hit.
    pub fn click(&mut self, area: Rect, mouse: &MouseEvent) -> Option<F> {
        if mouse.kind != MouseEventKind::Down(MouseButton::Left) {
            return None;
        }
        let id = self.rects(area).into_iter().find_map(|(id, rect)| {
            let target = match self.slot(id).row.kind {
                RowKind::Button(_) => self.button_rect(area, id),
                _ => rect,
            };
            let hit = self.slot(id).focusable() && hit(target, mouse.column, mouse.row);
            hit.then_some(id)
        })?;
        self.focus = id;
        self.flip(id);
        Some(id)
    }

    /// Draws the inputs, options and buttons (custom rows are the step's); `help` may
    /// replace a row's declared help, e.g. with a key name from the keymap.
    pub fn draw(
        &self,
        area: Rect,
        buf: &mut Buffer,
        theme: &Theme,
        help: impl Fn(F) -> Option<String>,
    ) -> Option<Position> {
        let mut cursor = None;
        for (id, rect) in self.rects(area) {
            let slot = self.slot(id);
            if slot.shown != Shown::Yes || rect.height == 0 {
                continue;
            }
            let focused = self.focus == id;
            match (&slot.widget, slot.row.kind) {
                (Widget::Text(field), RowKind::Text(spec)) => {
                    let help = help(id);
                    let row = FieldRow {
                        label: spec.label.text(),
                        field,
                        help: help.as_deref().unwrap_or(spec.help),
                        focused,
                        label_width: LABEL_WIDTH,
                    };
                    cursor = cursor.or(row.render(rect, buf, theme));
                }
                (Widget::Toggle(toggle), _) => toggle.render(rect, buf, focused, theme),
                (_, RowKind::Button(label)) => {
                    button::render(label, self.button_rect(area, id), buf, focused, theme);
                }
                _ => {}
            }
        }
        cursor
    }
}

impl<F: Copy> Slot<F> {
    fn new(row: Row<F>) -> Self {
        let (widget, height) = match row.kind {
            RowKind::Text(spec) => (Widget::Text(text_field(spec)), FieldRow::HEIGHT),
            RowKind::Toggle { label, help } => (Widget::Toggle(Toggle::new(label, help, false)), 1),
            RowKind::Button(_) => (Widget::None, 1),
            RowKind::Custom { height, .. } => (Widget::None, height),
        };
        Self {
            row,
            widget,
            shown: Shown::Yes,
            height,
        }
    }
}

fn text_field(spec: TextSpec) -> TextField {
    let mut field = TextField::default().with_placeholder(spec.placeholder);
    if let Some(validator) = spec.validator {
        field.set_validator(validator);
    }
    if spec.masked { field.masked() } else { field }
}

/// Focus movement over `count` stops: the new index, or what the step should do instead.
fn navigate_index(at: usize, count: usize, action: Option<Action>) -> Result<usize, StepFlow> {
    let count = count.max(1);
    match action {
        Some(Action::NextField) => Ok((at + 1) % count),
        Some(Action::PrevField) => Ok((at + count - 1) % count),
        Some(Action::Down) => Ok((at + 1).min(count - 1)),
        Some(Action::Up) => Ok(at.saturating_sub(1)),
        Some(Action::Submit) if at + 1 < count => Ok(at + 1),
        Some(Action::Submit) => Err(StepFlow::Next),
        _ => Err(StepFlow::Ignored),
    }
}

/// The help under a client secret field: how to show or hide it, and where it is kept.
pub fn secret_help(field: &TextField, keys: &Keymap) -> String {
    let reveal = keys.key_for(Scope::Wizard, Action::Reveal);
    if field.is_masked() {
        format!("Hidden; {reveal} shows it. Kept in the OS keyring")
    } else {
        format!("Shown; {reveal} hides it. Kept in the OS keyring")
    }
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

pub fn is_left_click(mouse: &MouseEvent) -> bool {
    mouse.kind == MouseEventKind::Down(MouseButton::Left)
}

/// Whether a click at `(x, y)` landed in `rect`.
pub fn hit(rect: Rect, x: u16, y: u16) -> bool {
    rect.contains(Position::new(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Focus {
        Name,
        Go,
        Note,
        Scopes,
    }

    const ROWS: [Row<Focus>; 4] = [
        Row::text(Focus::Name, Field::Name, "a name").check(validate::name),
        Row::button(Focus::Go, "Go").after_gap(1),
        Row::custom(Focus::Note, 1, false),
        Row::text(Focus::Scopes, Field::Scopes, "scopes"),
    ];

    #[test]
    fn enter_walks_the_rows_that_take_focus_then_asks_for_the_next_step() {
        let mut form = Form::new(&ROWS);
        assert_eq!(form.focus, Focus::Name);
        assert_eq!(form.navigate(Some(Action::Submit)), StepFlow::Handled);
        assert_eq!(form.focus, Focus::Go);
        assert_eq!(form.navigate(Some(Action::Submit)), StepFlow::Handled);
        assert_eq!(form.focus, Focus::Scopes, "the note takes no focus");
        assert_eq!(form.navigate(Some(Action::Submit)), StepFlow::Next);
        assert_eq!(form.navigate(Some(Action::NextField)), StepFlow::Handled);
        assert_eq!(form.focus, Focus::Name, "Tab wraps");
        assert_eq!(form.navigate(Some(Action::PrevField)), StepFlow::Handled);
        assert_eq!(form.focus, Focus::Scopes);
        assert_eq!(form.navigate(Some(Action::Save)), StepFlow::Ignored);
    }

    #[test]
    fn rows_stack_with_their_gaps_and_hidden_rows_give_their_lines_back() {
        let mut form = Form::new(&ROWS);
        let area = Rect::new(0, 5, 40, 20);
        assert_eq!(form.rect(area, Focus::Go), Rect::new(0, 8, 40, 1));
        assert_eq!(form.button_rect(area, Focus::Go).x, 2);
        // Below the button: the one-line note, then Scopes.
        assert_eq!(form.rect(area, Focus::Scopes).y, 10);
        form.set_shown(Focus::Go, Shown::No);
        assert_eq!(form.rect(area, Focus::Scopes).y, 8, "the gap goes too");
        form.set_shown(Focus::Go, Shown::Blank);
        assert_eq!(form.rect(area, Focus::Scopes).y, 10);
        form.navigate(Some(Action::NextField));
        assert_eq!(form.focus, Focus::Scopes, "a blank row takes no focus");
    }

    #[test]
    fn validity_and_touch_cover_the_shown_inputs() {
        let mut form = Form::new(&ROWS);
        form.text_mut(Focus::Scopes).set_value("openid");
        form.focus = Focus::Scopes;
        assert!(!form.is_valid(), "the empty name");
        form.touch_all();
        assert_eq!(form.focus, Focus::Name);
        assert!(form.text(Focus::Name).visible_error().is_some());
        form.text_mut(Focus::Name).set_value("prod");
        assert!(form.is_valid());
        assert_eq!(Label::Of(Field::Name).text(), "Name");
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
