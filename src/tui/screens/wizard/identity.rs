//! Step 1: the connector's name and the agent group that runs it. A new group can be
//! made right here; it is saved with the connector, so a discarded wizard leaves none.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::{Position, Rect};
use ratatui::text::Text;

use super::form::{self, Form, LABEL_WIDTH, Label, Row, Shown, StepFlow, StepRequest, WizardStep};
use crate::core::connector::Connector;
use crate::core::validate::{self, Field};
use crate::tui::component::DrawCx;
use crate::tui::keymap::Action;
use crate::tui::widgets::select::Select;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChoice {
    Existing(String),
    New,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Name,
    Group,
    NewGroup,
}

/// The group list shows at most this many rows.
const LIST_HEIGHT: u16 = 6;

const ROWS: [Row<Focus>; 3] = [
    Row::text(
        Focus::Name,
        Field::Name,
        "A name you will recognise; unique among connectors",
    )
    .check(validate::name)
    .placeholder("e.g. IFS production"),
    // The label line, then the list (its height follows the number of groups).
    Row::custom(Focus::Group, 1, true),
    Row::input(
        Focus::NewGroup,
        Label::Plain("New group name"),
        "Enter adds it; it is saved with the connector",
    )
    .check(validate::agent_group)
    .placeholder("name of the new group")
    .after_gap(1),
];

#[derive(Debug)]
pub struct IdentityStep {
    pub form: Form<Focus>,
    pub groups: Select<GroupChoice>,
    pub creating: bool,
    /// Other connectors' names: this one must differ.
    taken: Vec<String>,
}

impl IdentityStep {
    pub fn new(connector: &Connector, groups: &[String], taken: Vec<String>) -> Self {
        let mut step = Self {
            form: Form::new(&ROWS),
            groups: Select::new(Vec::new()),
            creating: false,
            taken,
        };
        step.form.text_mut(Focus::Name).set_value(&connector.name);
        step.set_groups(groups);
        step.groups
            .select(&GroupChoice::Existing(connector.agent_group.clone()));
        step.sync_new_group();
        step.check_unique();
        step
    }

    /// Replace the group choices (after one was created), keeping "new group" last.
    pub fn set_groups(&mut self, groups: &[String]) {
        let mut items: Vec<GroupChoice> =
            groups.iter().cloned().map(GroupChoice::Existing).collect();
        items.push(GroupChoice::New);
        self.groups.set_items(items);
        let list_height = (self.groups.items().len() as u16).min(LIST_HEIGHT);
        self.form.set_height(Focus::Group, 1 + list_height);
    }

    pub fn group(&self) -> String {
        match self.groups.selected() {
            Some(GroupChoice::Existing(group)) => group.clone(),
            _ => String::new(),
        }
    }

    fn wants_new_group(&self) -> bool {
        self.groups.selected() == Some(&GroupChoice::New)
    }

    /// The new group's name is asked for only while "+ New agent group…" is selected.
    fn sync_new_group(&mut self) {
        let shown = if self.wants_new_group() {
            Shown::Yes
        } else {
            Shown::No
        };
        self.form.set_shown(Focus::NewGroup, shown);
    }

    /// The group was created: select it and put the focus back on the list.
    pub fn group_created(&mut self, group: &str, groups: &[String]) {
        self.creating = false;
        self.set_groups(groups);
        self.groups.select(&GroupChoice::Existing(group.to_owned()));
        self.sync_new_group();
        self.form.text_mut(Focus::NewGroup).set_value("");
        self.form.focus = Focus::Group;
    }

    pub fn group_failed(&mut self, message: String) {
        self.creating = false;
        let field = self.form.text_mut(Focus::NewGroup);
        field.touch();
        field.set_external_error(Some(message));
    }

    fn check_unique(&mut self) {
        let name = self.form.text(Focus::Name);
        let taken = name.normalized().is_some_and(|n| self.taken.contains(&n));
        let error =
            taken.then(|| format!("a connector named '{}' already exists", name.value().trim()));
        self.form.text_mut(Focus::Name).set_external_error(error);
    }

    /// The problem that keeps this step from being left, if any.
    pub fn group_error(&self) -> Option<&'static str> {
        self.wants_new_group()
            .then_some("create the new group first (type its name, then Enter), or pick one")
    }

    fn create_group(&mut self) -> StepFlow {
        self.form.text_mut(Focus::NewGroup).touch();
        match self.form.text(Focus::NewGroup).normalized() {
            Some(group) if !self.creating => {
                self.creating = true;
                StepFlow::Request(StepRequest::CreateGroup(group))
            }
            _ => StepFlow::Handled,
        }
    }

    /// The group list, under its label line.
    fn list_rect(&self, area: Rect) -> Rect {
        let row = self.form.rect(area, Focus::Group);
        Rect {
            x: row.x + LABEL_WIDTH,
            y: row.y + 1,
            width: row.width.saturating_sub(LABEL_WIDTH),
            height: row.height.saturating_sub(1),
        }
    }

    fn draw_group(&self, area: Rect, buf: &mut Buffer, cx: &DrawCx<'_>) {
        let theme = cx.theme;
        let row = self.form.rect(area, Focus::Group);
        let list = self.list_rect(area);
        let focused = self.form.focus == Focus::Group;
        let marker = if focused { "› " } else { "  " };
        buf.set_stringn(row.x, row.y, marker, 2, theme.highlight);
        let label_style = if focused {
            theme.highlight
        } else {
            theme.label
        };
        let label = Field::AgentGroup.label();
        buf.set_stringn(row.x + 2, row.y, label, LABEL_WIDTH as usize, label_style);
        buf.set_stringn(
            list.x,
            row.y,
            "Where the connector runs (↑↓ to choose)",
            list.width as usize,
            theme.muted,
        );
        self.groups.render(
            |choice| match choice {
                GroupChoice::Existing(group) => Text::raw(group.clone()),
                GroupChoice::New => Text::styled("+ New agent group…", theme.highlight),
            },
            list,
            buf,
            focused,
            theme,
        );
    }
}

impl WizardStep for IdentityStep {
    fn label(&self) -> &'static str {
        "Name"
    }

    fn heading(&self) -> (&'static str, &'static str) {
        (
            "Name and Agent Group",
            "What the connector is called, and which agent group runs it.",
        )
    }

    fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        let focus = self.form.focus;
        if focus == Focus::Group && self.groups.handle_key(key) {
            self.sync_new_group();
            return StepFlow::Handled;
        }
        if self.form.handle_key(key) {
            if focus == Focus::Name {
                self.check_unique();
            }
            return StepFlow::Handled;
        }
        match (focus, action) {
            (Focus::Group, Some(Action::Submit)) if self.wants_new_group() => {
                self.form.focus = Focus::NewGroup;
                StepFlow::Handled
            }
            (Focus::Group, Some(Action::Submit)) => StepFlow::Next,
            (Focus::NewGroup, Some(Action::Submit)) => self.create_group(),
            (Focus::Group, Some(Action::Up | Action::Down)) => StepFlow::Handled,
            _ => self.form.navigate(action),
        }
    }

    fn paste(&mut self, text: &str) {
        self.form.paste(text);
        if self.form.focus == Focus::Name {
            self.check_unique();
        }
    }

    fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if !form::is_left_click(mouse) {
            return StepFlow::Ignored;
        }
        let list = self.list_rect(area);
        let picked = form::hit(list, mouse.column, mouse.row)
            .then(|| self.groups.index_at(list, mouse.row))
            .flatten();
        match picked {
            Some(index) => {
                self.groups.select_index(index);
                self.sync_new_group();
                self.form.focus = Focus::Group;
            }
            // The label line focuses the list only through the list itself.
            None if self.form.rect(area, Focus::Group).y == mouse.row => {}
            None => {
                self.form.click(area, mouse);
            }
        }
        StepFlow::Handled
    }

    fn draw(&self, area: Rect, buf: &mut Buffer, cx: &DrawCx<'_>) -> Option<Position> {
        let help = |focus| match focus {
            Focus::NewGroup if self.creating => Some("Creating…".to_owned()),
            _ => None,
        };
        let cursor = self.form.draw(area, buf, cx.theme, help);
        self.draw_group(area, buf, cx);
        cursor
    }

    fn is_valid(&self) -> bool {
        self.form.is_valid() && self.group_error().is_none()
    }

    fn touch_all(&mut self) {
        self.form.touch_all();
        if self.form.text(Focus::Name).is_valid() && self.wants_new_group() {
            self.form.focus = Focus::NewGroup;
        }
    }

    fn write(&self, connector: &mut Connector) {
        connector.name = self.form.value(Focus::Name).to_owned();
        connector.agent_group = self.group();
    }
}
