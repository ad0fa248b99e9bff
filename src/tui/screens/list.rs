//! The home screen: every connector in a table, filter as you type, and the actions on the
//! selected one. Only the rows in view are built each frame, so ten thousand connectors
//! draw as fast as ten.

use std::collections::{HashMap, HashSet};

use ratatui::Frame;
use ratatui::crossterm::event::{MouseButton, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};
use time::OffsetDateTime;

use crate::core::connector::{Connector, ConnectorId, LastTest};
use crate::core::secrets::SecretsError;
use crate::core::store::Config;
use crate::core::tokens::TokenState;
use crate::tui::command::Command;
use crate::tui::component::{Component, Draw, DrawCx, EventCx, EventResult, Input, is_shared_key};
use crate::tui::keymap::{Action, Scope};
use crate::tui::theme::Theme;
use crate::tui::widgets::spinner;
use crate::tui::widgets::text_field::TextField;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Load {
    Loading,
    Loaded,
    Failed(String),
}

#[derive(Debug)]
pub struct ListScreen {
    connectors: Vec<Connector>,
    groups: Vec<String>,
    load: Load,
    filter: TextField,
    filtering: bool,
    /// Indices into `connectors` that match the filter, in order.
    visible: Vec<usize>,
    /// Index into `visible`.
    selected: usize,
    /// First visible row; kept so the view does not jump while moving inside it.
    offset: usize,
    /// Select this connector once it appears (after a save or a duplicate).
    pending_select: Option<ConnectorId>,
    /// What the keyring holds for each connector, filled in by a task after each load;
    /// a missing entry is still being read. `Err` says why it could not be read. Old
    /// entries stay until new ones arrive, so a reload does not make the column flicker.
    tokens: HashMap<ConnectorId, Result<TokenState, SecretsError>>,
    /// Connectors whose token state was asked for since the last load. Each read is a
    /// keyring round trip, so only rows near the view are read, never all ten thousand.
    requested: HashSet<ConnectorId>,
}

/// How many rows from the first one in view get their token state read: more than any
/// terminal shows, so scrolling a page finds its states already there.
pub const TOKEN_STATE_WINDOW: usize = 128;

impl Default for ListScreen {
    fn default() -> Self {
        Self {
            connectors: Vec::new(),
            groups: Vec::new(),
            load: Load::Loading,
            filter: TextField::default()
                .with_placeholder("type to filter by name, group, URL or type"),
            filtering: false,
            visible: Vec::new(),
            selected: 0,
            offset: 0,
            pending_select: None,
            tokens: HashMap::new(),
            requested: HashSet::new(),
        }
    }
}

/// The parts of the list screen, from its area. Drawing and clicks both use this.
struct Areas {
    filter: Option<Rect>,
    header: Rect,
    rows: Rect,
    detail: Rect,
}

impl ListScreen {
    pub fn set_config(&mut self, config: Config) {
        let keep = self
            .pending_select
            .take()
            .or_else(|| self.selected_connector().map(|c| c.id.clone()));
        self.connectors = config.connectors;
        self.groups = config.agent_groups;
        self.load = Load::Loaded;
        // A reload may follow a login elsewhere: read the states again (old ones stay shown).
        self.requested.clear();
        self.refilter_keeping(keep);
    }

    /// Token states read from the keyring (all after a load, one after a login or logout).
    pub fn set_token_states(
        &mut self,
        states: Vec<(ConnectorId, Result<TokenState, SecretsError>)>,
    ) {
        self.tokens.extend(states);
    }

    /// The connectors in and just below the view whose token state has not been asked for
    /// yet, now marked as asked.
    pub fn token_states_to_read(&mut self) -> Vec<ConnectorId> {
        let end = (self.offset + TOKEN_STATE_WINDOW).min(self.visible.len());
        let start = self.offset.min(end);
        let mut ids = Vec::new();
        for index in &self.visible[start..end] {
            let id = &self.connectors[*index].id;
            if self.requested.insert(id.clone()) {
                ids.push(id.clone());
            }
        }
        ids
    }

    pub fn set_load_failed(&mut self, message: String) {
        self.load = Load::Failed(message);
    }

    pub fn is_loading(&self) -> bool {
        self.load == Load::Loading
    }

    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    pub fn names(&self) -> Vec<String> {
        self.connectors.iter().map(|c| c.name.clone()).collect()
    }

    pub fn find(&self, id: &ConnectorId) -> Option<&Connector> {
        self.connectors.iter().find(|c| &c.id == id)
    }

    /// Select `id` now if it is listed, else as soon as a reload brings it.
    pub fn select_later(&mut self, id: ConnectorId) {
        if !self.select_id(&id) {
            self.pending_select = Some(id);
        }
    }

    fn select_id(&mut self, id: &ConnectorId) -> bool {
        match self
            .visible
            .iter()
            .position(|i| &self.connectors[*i].id == id)
        {
            Some(position) => {
                self.selected = position;
                true
            }
            None => false,
        }
    }

    pub fn selected_connector(&self) -> Option<&Connector> {
        self.visible
            .get(self.selected)
            .map(|i| &self.connectors[*i])
    }

    /// Recompute the matching rows after the filter changed, keeping the selection.
    fn refilter(&mut self) {
        let keep = self.selected_connector().map(|c| c.id.clone());
        self.refilter_keeping(keep);
    }

    /// `keep` is taken by the caller because after a reload `visible` still indexes the
    /// old connectors and cannot be used to find the selection.
    fn refilter_keeping(&mut self, selected: Option<ConnectorId>) {
        let needle = self.filter.value().trim().to_lowercase();
        self.visible = self
            .connectors
            .iter()
            .enumerate()
            .filter(|(_, c)| needle.is_empty() || matches_filter(c, &needle))
            .map(|(i, _)| i)
            .collect();
        self.selected = 0;
        if let Some(id) = selected {
            self.select_id(&id);
        }
        self.selected = self.selected.min(self.visible.len().saturating_sub(1));
    }

    fn areas(&self, area: Rect) -> Areas {
        let show_filter = self.filtering || !self.filter.value().is_empty();
        let [filter, header, rows, detail] = Layout::vertical([
            Constraint::Length(if show_filter { 2 } else { 0 }),
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(4),
        ])
        .areas(area);
        Areas {
            filter: show_filter.then_some(filter),
            header,
            rows,
            detail,
        }
    }

    fn move_selection(&mut self, delta: isize, page: usize) {
        if self.visible.is_empty() {
            return;
        }
        let last = self.visible.len() - 1;
        let next = (self.selected as isize + delta).clamp(0, last as isize) as usize;
        self.selected = next;
        self.offset = window_start(self.offset, self.selected, page);
    }

    fn on_action(&mut self, action: Action, cx: &mut EventCx<'_>) {
        let page = self.areas(cx.area).rows.height.max(1) as usize;
        let selected = self.selected_connector().map(|c| c.id.clone());
        match action {
            Action::Up => self.move_selection(-1, page),
            Action::Down => self.move_selection(1, page),
            Action::PageUp => self.move_selection(-(page as isize), page),
            Action::PageDown => self.move_selection(page as isize, page),
            Action::First => self.move_selection(isize::MIN / 2, page),
            Action::Last => self.move_selection(isize::MAX / 2, page),
            Action::New => cx.commands.push(Command::NewConnector),
            Action::Edit => selected
                .into_iter()
                .for_each(|id| cx.commands.push(Command::EditConnector(id))),
            Action::Duplicate => selected
                .into_iter()
                .for_each(|id| cx.commands.push(Command::AskDuplicate(id))),
            Action::Delete => selected
                .into_iter()
                .for_each(|id| cx.commands.push(Command::AskDelete(id))),
            Action::Logout => selected
                .into_iter()
                .for_each(|id| cx.commands.push(Command::AskLogout(id))),
            Action::TestLogin => {
                if let Some(connector) = self.selected_connector() {
                    cx.commands
                        .push(Command::StartLogin(Box::new(connector.clone())));
                }
            }
            Action::Filter => self.filtering = true,
            Action::Back => {
                self.filter.set_value("");
                self.refilter();
            }
            _ => {}
        }
    }

    fn on_filter_key(&mut self, input: &Input, cx: &mut EventCx<'_>) {
        let Input::Key(key) = input else { return };
        if self.filter.handle_key(key) {
            self.refilter();
            self.offset = 0;
            return;
        }
        let page = self.areas(cx.area).rows.height.max(1) as usize;
        match cx.keymap.action(Scope::Filter, key) {
            Some(Action::Submit) => self.filtering = false,
            Some(Action::Cancel) => {
                self.filtering = false;
                self.filter.set_value("");
                self.refilter();
            }
            Some(Action::Up) => self.move_selection(-1, page),
            Some(Action::Down) => self.move_selection(1, page),
            _ => {}
        }
    }

    fn on_mouse(&mut self, mouse: &ratatui::crossterm::event::MouseEvent, cx: &mut EventCx<'_>) {
        let areas = self.areas(cx.area);
        let page = areas.rows.height.max(1) as usize;
        match mouse.kind {
            MouseEventKind::ScrollDown => self.move_selection(3, page),
            MouseEventKind::ScrollUp => self.move_selection(-3, page),
            MouseEventKind::Down(MouseButton::Left) => {
                let inside = mouse.row >= areas.rows.y && mouse.row < areas.rows.bottom();
                if !inside {
                    return;
                }
                let start = window_start(self.offset, self.selected, page);
                let index = start + (mouse.row - areas.rows.y) as usize;
                if index < self.visible.len() {
                    // A click on the selected row opens it, like a double click would.
                    if index == self.selected {
                        self.on_action(Action::Edit, cx);
                    }
                    self.selected = index;
                    self.offset = start;
                }
            }
            _ => {}
        }
    }
}

fn matches_filter(connector: &Connector, needle: &str) -> bool {
    [
        connector.name.as_str(),
        connector.agent_group.as_str(),
        connector.base_url.as_str(),
        connector.auth_kind().short(),
        connector.auth_kind().label(),
    ]
    .iter()
    .any(|field| field.to_lowercase().contains(needle))
}

/// The first row to show so that `selected` is in a window of `height` rows, moving the
/// previous window as little as possible.
pub fn window_start(offset: usize, selected: usize, height: usize) -> usize {
    let height = height.max(1);
    if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    }
}

/// "3m ago", "2h ago", "4d ago"; anything in the future (clock skew) reads "just now".
pub fn age(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let seconds = (now - at).whole_seconds().max(0);
    match seconds {
        0..60 => "just now".into(),
        60..3600 => format!("{}m ago", seconds / 60),
        3600..86_400 => format!("{}h ago", seconds / 3600),
        _ => format!("{}d ago", seconds / 86_400),
    }
}

/// The list's session column: short enough for 80 columns.
fn token_cell(
    state: Option<&Result<TokenState, SecretsError>>,
    now: OffsetDateTime,
    theme: &Theme,
) -> Span<'static> {
    match state {
        None => Span::styled("…", theme.muted),
        Some(Err(_)) => Span::styled("? keyring", theme.warning),
        Some(Ok(state)) => match effective(*state, now) {
            TokenState::LoggedInUntil(until) => {
                Span::styled(format!("✓ {}", short_time(until, now)), theme.ok)
            }
            TokenState::Refreshable => Span::styled("refreshable", theme.ok),
            TokenState::Expired => Span::styled("expired", theme.warning),
            TokenState::None => Span::styled("—", theme.muted),
        },
    }
}

/// The state was read at some moment; a cached token that has expired since then is
/// shown as expired (whether a refresh token is left is only known at the next read).
fn effective(state: TokenState, now: OffsetDateTime) -> TokenState {
    match state {
        TokenState::LoggedInUntil(until) if until <= now => TokenState::Expired,
        other => other,
    }
}

/// "14:05" today, "2025-11-28 14:05" on another day, in the clock's offset (UTC unless
/// the app was given a local clock).
fn short_time(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let at = at.to_offset(now.offset());
    let clock = format!("{:02}:{:02}", at.hour(), at.minute());
    if at.date() == now.date() {
        clock
    } else {
        format!("{} {clock}", at.date())
    }
}

/// The detail line's sentence for a token state, with what the user can do about it.
fn token_sentence(
    state: Option<&Result<TokenState, SecretsError>>,
    now: OffsetDateTime,
    logout_key: &str,
    test_key: &str,
) -> String {
    let zone = if now.offset().is_utc() { " UTC" } else { "" };
    match state {
        None => "checking the keyring…".into(),
        Some(Err(why)) => format!("could not read the keyring: {why}"),
        Some(Ok(state)) => match effective(*state, now) {
            TokenState::LoggedInUntil(until) => format!(
                "logged in until {}{zone} ({logout_key} logs out)",
                short_time(until, now)
            ),
            TokenState::Refreshable => format!(
                "refreshable: a new access token comes without a login ({logout_key} logs out)"
            ),
            TokenState::Expired => format!("expired: press {test_key} to log in again"),
            TokenState::None => "not logged in".into(),
        },
    }
}

fn last_test_cell(test: Option<&LastTest>, now: OffsetDateTime, theme: &Theme) -> Span<'static> {
    match test {
        None => Span::styled("never", theme.muted),
        Some(t) if t.ok => Span::styled(format!("✓ {}", age(t.at, now)), theme.ok),
        Some(t) => Span::styled(format!("✗ {}", age(t.at, now)), theme.error),
    }
}

impl Component for ListScreen {
    fn handle(&mut self, input: &Input, cx: &mut EventCx<'_>) -> EventResult {
        if is_shared_key(input, cx.keymap, self.scope()) {
            return EventResult::Ignored;
        }
        self.on_input(input, cx);
        EventResult::Handled
    }

    fn scope(&self) -> Scope {
        if self.filtering {
            Scope::Filter
        } else {
            Scope::List
        }
    }
}

impl Draw for ListScreen {
    fn draw(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
        let theme = cx.theme;
        match &self.load {
            Load::Loading => {
                let text = format!("{} Loading connectors…", spinner::frame(cx.tick));
                frame.render_widget(
                    Paragraph::new(text).style(theme.muted),
                    area.inner(ratatui::layout::Margin::new(2, 1)),
                );
                return;
            }
            Load::Failed(message) => {
                let text = vec![
                    Line::styled("The config file could not be read.", theme.error),
                    Line::raw(""),
                    Line::raw(message.clone()),
                ];
                frame.render_widget(
                    Paragraph::new(text).wrap(Wrap { trim: true }),
                    area.inner(ratatui::layout::Margin::new(2, 1)),
                );
                return;
            }
            Load::Loaded => {}
        }
        if self.connectors.is_empty() {
            return draw_first_steps(frame, area, cx);
        }
        let areas = self.areas(area);
        if let Some(filter_area) = areas.filter {
            let buf = frame.buffer_mut();
            buf.set_stringn(filter_area.x + 1, filter_area.y, "/ ", 2, theme.key);
            let input = Rect {
                x: filter_area.x + 3,
                width: filter_area.width.saturating_sub(4),
                height: 1,
                ..filter_area
            };
            if let Some(cursor) = self.filter.render(input, buf, self.filtering, theme) {
                frame.set_cursor_position(cursor);
            }
        }
        self.draw_table(frame, &areas, cx);
        self.draw_detail(frame, areas.detail, cx);
    }
}

const WIDTHS: [Constraint; 6] = [
    Constraint::Fill(2),
    Constraint::Length(12),
    Constraint::Length(6),
    Constraint::Fill(3),
    Constraint::Length(11),
    Constraint::Length(11),
];

impl ListScreen {
    fn draw_table(&self, frame: &mut Frame<'_>, areas: &Areas, cx: &DrawCx<'_>) {
        let theme = cx.theme;
        let header = Row::new([
            "Name",
            "Agent group",
            "Auth",
            "Base URL",
            "Last test",
            "Session",
        ])
        .style(theme.label);
        let header_table = Table::new(Vec::<Row>::new(), WIDTHS)
            .header(header)
            .column_spacing(1);
        let header_area = Rect {
            x: areas.header.x + 2,
            width: areas.header.width.saturating_sub(2),
            ..areas.header
        };
        frame.render_widget(header_table, header_area);

        let height = areas.rows.height as usize;
        let start = window_start(self.offset, self.selected, height);
        let end = (start + height).min(self.visible.len());
        let rows: Vec<Row> = self.visible[start..end]
            .iter()
            .map(|i| {
                let c = &self.connectors[*i];
                Row::new(vec![
                    Cell::from(c.name.clone()),
                    Cell::from(c.agent_group.clone()),
                    Cell::from(c.auth_kind().short()),
                    Cell::from(c.base_url.clone()),
                    Cell::from(last_test_cell(c.last_test.as_ref(), cx.now, theme)),
                    Cell::from(token_cell(self.tokens.get(&c.id), cx.now, theme)),
                ])
            })
            .collect();
        if rows.is_empty() {
            let text = format!(
                "No connector matches '{}'. {} clears the filter.",
                self.filter.value(),
                cx.keymap.key_for(Scope::Filter, Action::Cancel)
            );
            frame.render_widget(
                Paragraph::new(text).style(theme.muted),
                Rect {
                    x: areas.rows.x + 2,
                    ..areas.rows
                },
            );
            return;
        }
        let table = Table::new(rows, WIDTHS)
            .column_spacing(1)
            .row_highlight_style(theme.selected)
            .highlight_symbol("› ")
            .highlight_spacing(ratatui::widgets::HighlightSpacing::Always);
        let mut state = TableState::default().with_selected(Some(self.selected - start));
        frame.render_stateful_widget(table, areas.rows, &mut state);
    }

    fn draw_detail(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
        let theme = cx.theme;
        let count = if self.visible.len() == self.connectors.len() {
            format!(
                "{} connector{}",
                self.connectors.len(),
                if self.connectors.len() == 1 { "" } else { "s" }
            )
        } else {
            format!(
                "{} of {} connectors match",
                self.visible.len(),
                self.connectors.len()
            )
        };
        let mut lines = vec![Line::styled("─".repeat(area.width as usize), theme.border)];
        if let Some(c) = self.selected_connector() {
            let test = match &c.last_test {
                None => Span::styled(
                    format!(
                        "not tested yet: press {} to test a login",
                        cx.keymap.key_for(Scope::List, Action::TestLogin)
                    ),
                    theme.muted,
                ),
                Some(t) => {
                    let when =
                        t.at.format(&time::format_description::well_known::Rfc3339)
                            .unwrap_or_default();
                    let style = if t.ok { theme.ok } else { theme.error };
                    Span::styled(
                        format!("{} {} ({when})", if t.ok { "✓" } else { "✗" }, t.summary),
                        style,
                    )
                }
            };
            // Names and URLs are cut in the table at 80 columns; here they are whole.
            lines.push(Line::from(vec![
                Span::styled(format!(" {}: ", c.name), theme.label),
                Span::raw(c.auth_kind().label()),
                Span::styled(format!(" · {}", c.base_url), theme.muted),
            ]));
            lines.push(Line::from(vec![
                Span::styled(" Last test: ", theme.label),
                test,
            ]));
            let sentence = token_sentence(
                self.tokens.get(&c.id),
                cx.now,
                &cx.keymap.key_for(Scope::List, Action::Logout),
                &cx.keymap.key_for(Scope::List, Action::TestLogin),
            );
            lines.push(Line::from(vec![
                Span::styled(" Session:   ", theme.label),
                Span::raw(sentence),
            ]));
        }
        frame.render_widget(Paragraph::new(lines), area);
        let count_area = Rect {
            x: area.right().saturating_sub(count.len() as u16 + 1),
            width: count.len() as u16 + 1,
            height: 1,
            ..area
        };
        frame.render_widget(
            Paragraph::new(format!("{count} ")).style(theme.muted),
            Rect {
                y: area.y,
                ..count_area
            },
        );
    }
}

fn draw_first_steps(frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
    let theme = cx.theme;
    let new_key = cx.keymap.key_for(Scope::List, Action::New);
    let help_key = cx.keymap.key_for(Scope::List, Action::Help);
    let lines = vec![
        Line::styled("No connectors yet", theme.title),
        Line::raw(""),
        Line::raw("A connector holds what a REST connection to IFS Cloud needs: the"),
        Line::raw("instance's Base URL, the IAM client, and how to sign in."),
        Line::raw(""),
        Line::from(vec![
            Span::raw("Press "),
            Span::styled(new_key, theme.key),
            Span::raw(" to create your first one. The wizard asks for a name, the Base"),
        ]),
        Line::raw("URL, the authentication type and the IAM client's details, shows the"),
        Line::raw("redirect URI to register, and can test a login when you save."),
        Line::raw(""),
        Line::from(vec![
            Span::raw("Press "),
            Span::styled(help_key, theme.key),
            Span::raw(" for every key."),
        ]),
    ];
    let box_area = area.centered(
        Constraint::Length(72),
        Constraint::Length(lines.len() as u16),
    );
    frame.render_widget(Paragraph::new(lines), box_area);
}

impl ListScreen {
    fn on_input(&mut self, input: &Input, cx: &mut EventCx<'_>) {
        if self.filtering {
            if let Input::Paste(text) = input {
                self.filter.paste(text);
                self.refilter();
                return;
            }
            if let Input::Key(_) = input {
                return self.on_filter_key(input, cx);
            }
        }
        match input {
            Input::Key(key) => {
                if let Some(action) = cx.keymap.action(Scope::List, key) {
                    self.on_action(action, cx);
                }
            }
            Input::Mouse(mouse) => self.on_mouse(mouse, cx),
            Input::Paste(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(names: &[&str]) -> Config {
        let template = Connector::new(
            "x",
            crate::core::connector::Auth::OpenId(Default::default()),
        );
        let connectors = names
            .iter()
            .map(|name| Connector {
                name: (*name).into(),
                id: ConnectorId::from(*name),
                ..template.clone()
            })
            .collect();
        Config {
            connectors,
            ..Config::default()
        }
    }

    #[test]
    fn token_states_are_read_only_near_the_view() {
        let names: Vec<String> = (0..10_000).map(|i| format!("c{i:05}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut list = ListScreen::default();
        list.set_config(config(&names));

        let first = list.token_states_to_read();
        assert_eq!(first.len(), TOKEN_STATE_WINDOW);
        assert_eq!(first[0], ConnectorId::from("c00000"));
        assert!(
            list.token_states_to_read().is_empty(),
            "nothing is read twice"
        );

        list.move_selection(5_000, 20);
        let after_scroll = list.token_states_to_read();
        assert!(!after_scroll.is_empty() && after_scroll.len() <= TOKEN_STATE_WINDOW);
        assert!(after_scroll.contains(&ConnectorId::from("c05000")));

        list.set_config(config(&names));
        assert!(
            !list.token_states_to_read().is_empty(),
            "a reload reads the states in view again"
        );
    }

    #[test]
    fn a_reload_with_fewer_connectors_keeps_a_valid_selection() {
        let mut list = ListScreen::default();
        list.set_config(config(&["a", "b", "c"]));
        list.select_id(&ConnectorId::from("c"));
        list.set_config(config(&["a"]));
        assert_eq!(
            list.selected_connector().map(|c| c.name.as_str()),
            Some("a")
        );
        list.set_config(config(&[]));
        assert!(list.selected_connector().is_none());
        list.set_config(config(&["a", "b"]));
        list.select_later(ConnectorId::from("z"));
        list.set_config(config(&["a", "b", "z"]));
        assert_eq!(
            list.selected_connector().map(|c| c.name.as_str()),
            Some("z")
        );
    }

    #[test]
    fn the_window_moves_only_when_the_selection_leaves_it() {
        assert_eq!(window_start(0, 3, 5), 0);
        assert_eq!(window_start(0, 5, 5), 1);
        assert_eq!(window_start(4, 2, 5), 2);
        assert_eq!(window_start(4, 6, 5), 4);
    }

    #[test]
    fn token_states_read_short_in_the_table_and_whole_in_the_detail() {
        let now = time::macros::datetime!(2025-11-27 12:00 UTC);
        let theme = Theme::monochrome();
        let cell = |state: Option<Result<TokenState, SecretsError>>| {
            token_cell(state.as_ref(), now, &theme).content.into_owned()
        };
        let sentence = |state: Option<Result<TokenState, SecretsError>>| {
            token_sentence(state.as_ref(), now, "L", "t")
        };
        let until = |minutes| {
            Some(Ok(TokenState::LoggedInUntil(
                now + time::Duration::minutes(minutes),
            )))
        };
        assert_eq!(cell(until(5)), "✓ 12:05");
        assert_eq!(sentence(until(5)), "logged in until 12:05 UTC (L logs out)");
        assert_eq!(cell(until(60 * 24)), "✓ 2025-11-28 12:00", "another day");
        assert_eq!(cell(until(-1)), "expired", "it expired since it was read");
        assert_eq!(cell(Some(Ok(TokenState::Refreshable))), "refreshable");
        assert_eq!(cell(Some(Ok(TokenState::Expired))), "expired");
        assert_eq!(
            sentence(Some(Ok(TokenState::Expired))),
            "expired: press t to log in again"
        );
        assert_eq!(cell(Some(Ok(TokenState::None))), "—");
        assert_eq!(sentence(Some(Ok(TokenState::None))), "not logged in");
        assert_eq!(cell(None), "…");
        assert_eq!(sentence(None), "checking the keyring…");
        assert_eq!(cell(Some(Err(SecretsError::TaskFailed))), "? keyring");
        assert_eq!(
            sentence(Some(Err(SecretsError::TaskFailed))),
            "could not read the keyring: the keyring task stopped unexpectedly"
        );
    }

    #[test]
    fn ages_read_like_a_person_says_them() {
        let now = time::macros::datetime!(2025-11-27 12:00 UTC);
        assert_eq!(age(now - time::Duration::seconds(5), now), "just now");
        assert_eq!(age(now - time::Duration::minutes(3), now), "3m ago");
        assert_eq!(age(now - time::Duration::hours(2), now), "2h ago");
        assert_eq!(age(now - time::Duration::days(9), now), "9d ago");
        assert_eq!(age(now + time::Duration::minutes(1), now), "just now");
    }
}
