//! Step 1: the connector's name and the agent group that runs it. A new group can be
//! created right here (it is saved at once, as `agent-group add` would).

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::text::Text;

use super::form::{self, LABEL_WIDTH, StepFlow, StepRequest};
use crate::core::validate;
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::select::Select;
use crate::tui::widgets::text_field::TextField;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChoice {
    Existing(String),
    New,
}

#[derive(Debug)]
pub struct IdentityStep {
    pub name: TextField,
    pub groups: Select<GroupChoice>,
    pub new_group: TextField,
    pub creating: bool,
    /// Other connectors' names: this one must differ.
    taken: Vec<String>,
    focus: usize,
}

const NAME: usize = 0;
const GROUP: usize = 1;
const NEW_GROUP: usize = 2;
const LIST_HEIGHT: u16 = 6;

impl IdentityStep {
    pub fn new(name: &str, group: &str, groups: &[String], taken: Vec<String>) -> Self {
        let mut step = Self {
            name: TextField::new(name)
                .with_validator(validate::name)
                .with_placeholder("e.g. IFS production"),
            groups: Select::new(Vec::new()),
            new_group: TextField::default()
                .with_validator(validate::agent_group)
                .with_placeholder("name of the new group"),
            creating: false,
            taken,
            focus: NAME,
        };
        step.set_groups(groups);
        step.groups.select(&GroupChoice::Existing(group.to_owned()));
        step.check_unique();
        step
    }

    /// Replace the group choices (after one was created), keeping "new group" last.
    pub fn set_groups(&mut self, groups: &[String]) {
        let mut items: Vec<GroupChoice> =
            groups.iter().cloned().map(GroupChoice::Existing).collect();
        items.push(GroupChoice::New);
        self.groups.set_items(items);
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

    fn slots(&self) -> usize {
        if self.wants_new_group() { 3 } else { 2 }
    }

    /// The group was created: select it and put the focus back on the list.
    pub fn group_created(&mut self, group: &str, groups: &[String]) {
        self.creating = false;
        self.set_groups(groups);
        self.groups.select(&GroupChoice::Existing(group.to_owned()));
        self.new_group.set_value("");
        self.focus = GROUP;
    }

    pub fn group_failed(&mut self, message: String) {
        self.creating = false;
        self.new_group.touch();
        self.new_group.set_external_error(Some(message));
    }

    fn check_unique(&mut self) {
        let taken = self
            .name
            .normalized()
            .is_some_and(|n| self.taken.contains(&n));
        let error = taken.then(|| {
            format!(
                "a connector named '{}' already exists",
                self.name.value().trim()
            )
        });
        self.name.set_external_error(error);
    }

    /// The problem that keeps this step from being left, if any.
    pub fn group_error(&self) -> Option<&'static str> {
        self.wants_new_group()
            .then_some("create the new group first (type its name, then Enter), or pick one")
    }

    pub fn is_valid(&self) -> bool {
        self.name.is_valid() && self.group_error().is_none()
    }

    pub fn touch_all(&mut self) {
        self.name.touch();
        if !self.name.is_valid() {
            self.focus = NAME;
        } else if self.wants_new_group() {
            self.new_group.touch();
            self.focus = NEW_GROUP;
        }
    }

    pub fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        match self.focus {
            NAME if self.name.handle_key(key) => {
                self.check_unique();
                return StepFlow::Handled;
            }
            GROUP if self.groups.handle_key(key) => return StepFlow::Handled,
            NEW_GROUP if self.new_group.handle_key(key) => return StepFlow::Handled,
            _ => {}
        }
        match (self.focus, action) {
            (GROUP, Some(Action::Submit)) if self.wants_new_group() => {
                self.focus = NEW_GROUP;
                StepFlow::Handled
            }
            (GROUP, Some(Action::Submit)) => StepFlow::Next,
            (NEW_GROUP, Some(Action::Submit)) => self.create_group(),
            (GROUP, Some(Action::Up | Action::Down)) => StepFlow::Handled,
            _ => {
                let slots = self.slots();
                form::navigate(&mut self.focus, slots, action)
            }
        }
    }

    fn create_group(&mut self) -> StepFlow {
        self.new_group.touch();
        match self.new_group.normalized() {
            Some(group) if !self.creating => {
                self.creating = true;
                StepFlow::Request(StepRequest::CreateGroup(group))
            }
            _ => StepFlow::Handled,
        }
    }

    pub fn paste(&mut self, text: &str) {
        match self.focus {
            NAME => {
                self.name.paste(text);
                self.check_unique();
            }
            NEW_GROUP => self.new_group.paste(text),
            _ => {}
        }
    }

    fn layout(&self, area: Rect) -> [Rect; 3] {
        let name = form::row_rect(area, 0);
        let list_height = (self.groups.items().len() as u16).min(LIST_HEIGHT);
        let list = Rect {
            x: area.x + LABEL_WIDTH,
            y: area.y + 3,
            width: area.width.saturating_sub(LABEL_WIDTH),
            height: list_height,
        };
        let new_group = form::row_rect(area, 4 + list_height);
        [name, list, new_group]
    }

    pub fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        let [name, list, new_group] = self.layout(area);
        match mouse.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                if form::hit(name, mouse.column, mouse.row) {
                    self.focus = NAME;
                } else if let Some(index) = form::hit(list, mouse.column, mouse.row)
                    .then(|| self.groups.index_at(list, mouse.row))
                    .flatten()
                {
                    self.groups.select_index(index);
                    self.focus = GROUP;
                } else if self.wants_new_group() && form::hit(new_group, mouse.column, mouse.row) {
                    self.focus = NEW_GROUP;
                }
                StepFlow::Handled
            }
            _ => StepFlow::Ignored,
        }
    }

    pub fn draw(&self, area: Rect, buf: &mut Buffer, theme: &Theme) -> Option<Position> {
        let [name, list, new_group] = self.layout(area);
        let mut cursor = form::draw_field(
            buf,
            name,
            "Name",
            &self.name,
            "A name you will recognise; unique among connectors",
            self.focus == NAME,
            theme,
        );
        let focused = self.focus == GROUP;
        let marker = if focused { "› " } else { "  " };
        buf.set_stringn(area.x, area.y + 2, marker, 2, theme.highlight);
        buf.set_stringn(
            area.x + 2,
            area.y + 2,
            "Agent Group",
            LABEL_WIDTH as usize,
            if focused {
                theme.highlight
            } else {
                theme.label
            },
        );
        buf.set_stringn(
            list.x,
            area.y + 2,
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
        if self.wants_new_group() {
            let help = if self.creating {
                "Creating…"
            } else {
                "Enter creates the group and selects it"
            };
            let c = form::draw_field(
                buf,
                new_group,
                "New group name",
                &self.new_group,
                help,
                self.focus == NEW_GROUP,
                theme,
            );
            cursor = cursor.or(c);
        }
        cursor
    }
}
