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
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::core::connector::AuthKind;
use crate::core::connector::{Connector, ConnectorId, LastTest};
use crate::core::ifs::session::{Session, SessionEnd};
use crate::core::secrets::SecretsError;
use crate::core::store::Config;
use crate::core::when;
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
    tokens: HashMap<ConnectorId, Result<Session, SecretsError>>,
    /// Connectors whose token state was asked for since the last load. Each read is a
    /// keyring round trip, so only rows near the view are read, never all ten thousand.
    requested: HashSet<ConnectorId>,
    /// A short line about what just happened ("Saved 'x'"), until the next key.
    notice: Option<String>,
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
            notice: None,
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
    pub fn set_token_states(&mut self, states: Vec<(ConnectorId, Result<Session, SecretsError>)>) {
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

    /// Say briefly what just happened ("Saved 'x'"); the next key clears it.
    pub fn set_notice(&mut self, notice: impl Into<String>) {
        self.notice = Some(notice.into());
    }

    /// Whether a key does something here: the footer offers only those. An empty list
    /// has nothing to edit, copy, delete, test or log out of.
    fn can(&self, action: Action) -> bool {
        let selected = self.selected_connector();
        match action {
            Action::Edit | Action::Duplicate | Action::Delete | Action::TestLogin => {
                selected.is_some()
            }
            Action::Logout => selected.is_some_and(|c| {
                c.auth_kind().is_interactive() && has_session(self.tokens.get(&c.id))
            }),
            _ => true,
        }
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
            Constraint::Length(5),
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
            Action::Logout => self.ask_logout(cx),
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

    /// Asks only when there is a session to end; otherwise says so.
    fn ask_logout(&mut self, cx: &mut EventCx<'_>) {
        let Some(connector) = self.selected_connector() else {
            return;
        };
        if self.can(Action::Logout) {
            cx.commands.push(Command::AskLogout(connector.id.clone()));
        } else {
            self.notice = Some(format!(
                "'{}' has no session: nothing to log out",
                connector.name
            ));
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

/// The list's session column: what `ifs-connect token --no-login` would do now, in a few
/// words. The state comes from the core's one reading of the keyring
/// ([`crate::core::tokens::session`]), the same that `show` and `list` print.
fn session_cell(
    connector: &Connector,
    state: Option<&Result<Session, SecretsError>>,
    now: OffsetDateTime,
    theme: &Theme,
) -> Span<'static> {
    if connector.auth_kind() == AuthKind::ClientCredentials {
        return Span::styled("service", theme.ok);
    }
    let unix = now.unix_timestamp();
    let until = |at: i64| {
        let at = OffsetDateTime::from_unix_timestamp(at).unwrap_or(now);
        format!("until {}", short_clock(at, now))
    };
    match state {
        None => Span::styled("…", theme.muted),
        Some(Err(_)) => Span::styled("? keyring", theme.warning),
        Some(Ok(session)) => match *session {
            Session::SignedOut => Span::styled("—", theme.muted),
            Session::AccessOnly { until: at }
            | Session::Refreshable {
                end: Some(SessionEnd::IdleAt(at)),
            } if at <= unix => Span::styled("ended", theme.warning),
            Session::AccessOnly { until: at }
            | Session::Refreshable {
                end: Some(SessionEnd::IdleAt(at)),
            } => Span::styled(until(at), theme.ok),
            Session::Refreshable {
                end: Some(SessionEnd::Offline),
            } => Span::styled("offline", theme.ok),
            Session::Refreshable { end: None } => Span::styled("refreshable", theme.ok),
        },
    }
}

/// "16:05" today, else the date: short enough for the column (the detail has the rest).
fn short_clock(at: OffsetDateTime, now: OffsetDateTime) -> String {
    let at = at.to_offset(now.offset());
    if at.date() == now.date() {
        format!("{:02}:{:02}", at.hour(), at.minute())
    } else {
        at.date().to_string()
    }
}

/// Whether logging out has anything to end.
fn has_session(state: Option<&Result<Session, SecretsError>>) -> bool {
    !matches!(state, Some(Ok(Session::SignedOut)))
}

/// The detail line's sentence for a session, with what the user can do about it.
fn session_sentence(
    connector: &Connector,
    state: Option<&Result<Session, SecretsError>>,
    now: OffsetDateTime,
    logout_key: &str,
    test_key: &str,
) -> String {
    if connector.auth_kind() == AuthKind::ClientCredentials {
        return "a service user: each token call asks the provider for a new access token \
                (no login, no session)"
            .into();
    }
    let unix = now.unix_timestamp();
    match state {
        None => "checking the keyring…".into(),
        Some(Err(why)) => format!("could not read the keyring: {why}"),
        Some(Ok(Session::SignedOut)) => format!("not signed in: press {test_key} to log in"),
        Some(Ok(session)) => {
            if session.short(unix) == "ended" {
                // The core's sentence gives the date; at 80 columns the way out matters more.
                format!("ended: press {test_key} to log in again")
            } else {
                format!("{} ({logout_key} logs out)", session.text(unix))
            }
        }
    }
}

fn last_test_cell(test: Option<&LastTest>, now: OffsetDateTime, theme: &Theme) -> Span<'static> {
    match test {
        None => Span::styled("never", theme.muted),
        Some(t) if t.ok => Span::styled(format!("✓ {}", when::ago(t.at, now)), theme.ok),
        Some(t) => Span::styled(format!("✗ {}", when::ago(t.at, now)), theme.error),
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

    fn offers(&self, action: Action) -> bool {
        self.filtering || self.can(action)
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
        let areas = self.areas(area);
        if let Some(filter_area) = areas.filter {
            self.draw_filter(frame, filter_area, cx);
        }
        if self.connectors.is_empty() {
            let rest = Rect {
                y: areas.header.y,
                height: area.bottom().saturating_sub(areas.header.y),
                ..area
            };
            return draw_first_steps(frame, rest, cx);
        }
        self.draw_table(frame, &areas, cx);
        self.draw_detail(frame, areas.detail, cx);
    }
}

/// The table's columns: the header, and a shorter one for a narrow column.
struct Column {
    header: &'static str,
    short_header: &'static str,
}

const COLUMNS: [Column; 6] = [
    Column {
        header: "Name",
        short_header: "Name",
    },
    Column {
        header: "Agent group",
        short_header: "Group",
    },
    Column {
        header: "Auth",
        short_header: "Auth",
    },
    Column {
        header: "Base URL",
        short_header: "URL",
    },
    Column {
        header: "Last test",
        short_header: "Test",
    },
    Column {
        header: "Session",
        short_header: "Sess.",
    },
];

/// Which column shrinks, down to what width, in turn: the URL first (its host is at the
/// front), then the group, then the name, then all of them further.
const SHRINK_ORDER: [(usize, usize); 8] = [
    (3, 20),
    (1, 7),
    (0, 24),
    (3, 12),
    (0, 12),
    (1, 5),
    (4, 6),
    (5, 5),
];

/// Widths sized by content: each column as wide as its widest value (or its short header),
/// shrunk in [`SHRINK_ORDER`] until the row fits `available`.
fn column_widths(rows: &[[String; 6]], available: usize) -> [usize; 6] {
    let mut widths = COLUMNS.map(|c| c.short_header.width());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.width());
        }
    }
    for (column, floor) in SHRINK_ORDER {
        let total: usize = widths.iter().sum();
        let excess = total.saturating_sub(available);
        if excess == 0 {
            break;
        }
        let give = excess.min(widths[column].saturating_sub(floor));
        widths[column] -= give;
    }
    // Room left: whole headers read better than short ones.
    let mut spare = available.saturating_sub(widths.iter().sum());
    for (width, column) in widths.iter_mut().zip(&COLUMNS) {
        let grow = column.header.width().saturating_sub(*width);
        if grow <= spare {
            *width += grow;
            spare -= grow;
        }
    }
    widths
}

/// `text` in at most `width` columns; a cut value ends with `…` so it never looks whole.
pub fn fit(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let w = ch.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        used += w;
        out.push(ch);
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// The Auth column's word: `client-credentials` would take a fifth of 80 columns.
fn auth_word(kind: AuthKind) -> &'static str {
    match kind {
        AuthKind::ClientCredentials => "service",
        other => other.short(),
    }
}

impl ListScreen {
    fn draw_table(&self, frame: &mut Frame<'_>, areas: &Areas, cx: &DrawCx<'_>) {
        let theme = cx.theme;
        let height = areas.rows.height as usize;
        let start = window_start(self.offset, self.selected, height);
        let end = (start + height).min(self.visible.len());
        if start >= end {
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
        let cells: Vec<([String; 6], [Span<'static>; 2])> = self.visible[start..end]
            .iter()
            .map(|i| {
                let c = &self.connectors[*i];
                let test = last_test_cell(c.last_test.as_ref(), cx.now, theme);
                let session = session_cell(c, self.tokens.get(&c.id), cx.now, theme);
                let texts = [
                    c.name.clone(),
                    c.agent_group.clone(),
                    auth_word(c.auth_kind()).to_owned(),
                    c.base_url.clone(),
                    test.content.to_string(),
                    session.content.to_string(),
                ];
                (texts, [test, session])
            })
            .collect();
        let texts: Vec<[String; 6]> = cells.iter().map(|(t, _)| t.clone()).collect();
        // Two columns for the selection mark, one between columns.
        let available = (areas.rows.width as usize).saturating_sub(2 + COLUMNS.len() - 1);
        let widths = column_widths(&texts, available);
        let constraints = widths.map(|w| Constraint::Length(w as u16));

        let header = Row::new(COLUMNS.iter().zip(widths).map(|(column, width)| {
            let label = if column.header.width() <= width {
                column.header
            } else {
                column.short_header
            };
            fit(label, width)
        }))
        .style(theme.label);
        let header_area = Rect {
            x: areas.header.x + 2,
            width: areas.header.width.saturating_sub(2),
            ..areas.header
        };
        frame.render_widget(
            Table::new(Vec::<Row>::new(), constraints)
                .header(header)
                .column_spacing(1),
            header_area,
        );

        let rows: Vec<Row> = cells
            .into_iter()
            .map(|(texts, [test, session])| {
                let styled = |span: Span<'static>, width| {
                    Cell::from(Span::styled(fit(&span.content, width), span.style))
                };
                Row::new(vec![
                    Cell::from(fit(&texts[0], widths[0])),
                    Cell::from(fit(&texts[1], widths[1])),
                    Cell::from(fit(&texts[2], widths[2])),
                    Cell::from(fit(&texts[3], widths[3])),
                    styled(test, widths[4]),
                    styled(session, widths[5]),
                ])
            })
            .collect();
        let table = Table::new(rows, constraints)
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
        let mut lines = vec![self.separator(area.width, theme)];
        if let Some(c) = self.selected_connector() {
            lines.extend(self.detail_lines(c, cx));
        }
        let lines: Vec<Line> = lines
            .into_iter()
            .map(|line| fit_line(line, area.width as usize))
            .collect();
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

impl ListScreen {
    fn draw_filter(&self, frame: &mut Frame<'_>, filter_area: Rect, cx: &DrawCx<'_>) {
        let theme = cx.theme;
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

    /// The rule over the detail, with the last action's notice at its start.
    fn separator(&self, width: u16, theme: &Theme) -> Line<'static> {
        let rule = |n: usize| Span::styled("─".repeat(n), theme.border);
        match &self.notice {
            None => Line::from(rule(width as usize)),
            Some(notice) => {
                let text = format!(" {notice} ");
                let rest = (width as usize).saturating_sub(text.width() + 1);
                Line::from(vec![rule(1), Span::styled(text, theme.ok), rule(rest)])
            }
        }
    }

    /// Name, last test, IFS user and session of the selected connector, whole (the table
    /// cuts them at 80 columns).
    fn detail_lines(&self, c: &Connector, cx: &DrawCx<'_>) -> Vec<Line<'static>> {
        let theme = cx.theme;
        let test_key = cx.keymap.key_for(Scope::List, Action::TestLogin);
        let test = match &c.last_test {
            None => Span::styled(
                format!("not tested yet: press {test_key} to test a login"),
                theme.muted,
            ),
            Some(t) => Span::styled(
                format!(
                    "{} {} · {}",
                    if t.ok { "✓" } else { "✗" },
                    t.summary,
                    when::ago_and_clock(t.at, cx.now)
                ),
                if t.ok { theme.ok } else { theme.error },
            ),
        };
        let ifs_user = match c.last_test.as_ref().and_then(|t| t.ifs_user.clone()) {
            Some(user) => Span::raw(user),
            None => Span::styled("not known yet (a test login shows it)", theme.muted),
        };
        let sentence = session_sentence(
            c,
            self.tokens.get(&c.id),
            cx.now,
            &cx.keymap.key_for(Scope::List, Action::Logout),
            &test_key,
        );
        vec![
            Line::from(vec![
                Span::styled(format!(" {}: ", c.name), theme.label),
                Span::raw(c.auth_kind().label()),
                Span::styled(format!(" · {}", c.base_url), theme.muted),
            ]),
            Line::from(vec![Span::styled(" Last test: ", theme.label), test]),
            Line::from(vec![Span::styled(" IFS user:  ", theme.label), ifs_user]),
            Line::from(vec![
                Span::styled(" Session:   ", theme.label),
                Span::raw(sentence),
            ]),
        ]
    }
}

/// A line cut to `width` columns, its last kept span ending in `…` when anything was cut.
fn fit_line(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let mut spans = Vec::new();
    let mut used = 0;
    for span in line.spans {
        let w = span.content.width();
        if used + w < width {
            used += w;
            spans.push(span);
            continue;
        }
        spans.push(Span::styled(fit(&span.content, width - used), span.style));
        break;
    }
    Line::from(spans)
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
        if matches!(input, Input::Key(_)) {
            self.notice = None;
        }
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
    fn the_session_says_what_token_no_login_would_do() {
        let now = time::macros::datetime!(2026-11-29 12:00 UTC);
        let unix = now.unix_timestamp();
        let theme = Theme::monochrome();
        let openid = config(&["a"]).connectors.remove(0);
        let cell = |session: Option<Result<Session, SecretsError>>| {
            session_cell(&openid, session.as_ref(), now, &theme)
                .content
                .into_owned()
        };
        let sentence = |session: Option<Result<Session, SecretsError>>| {
            session_sentence(&openid, session.as_ref(), now, "L", "t")
        };
        // The access token expired long ago, yet a refresh token is stored: a script's
        // `token --no-login` gets a new one, so the list must not say "expired".
        let refreshable_again = || {
            Some(Ok(Session::Refreshable {
                end: Some(SessionEnd::IdleAt(unix + 25 * 60)),
            }))
        };
        let refreshable = refreshable_again();
        assert_eq!(cell(refreshable_again()), "until 12:25");
        assert_eq!(
            sentence(refreshable),
            "ends at 2026-11-29 12:25 UTC unless used before (each use extends it) (L logs out)"
        );
        let idled_out = || {
            Some(Ok(Session::Refreshable {
                end: Some(SessionEnd::IdleAt(unix - 60)),
            }))
        };
        assert_eq!(cell(idled_out()), "ended");
        assert_eq!(sentence(idled_out()), "ended: press t to log in again");
        let offline = Some(Ok(Session::Refreshable {
            end: Some(SessionEnd::Offline),
        }));
        assert_eq!(cell(offline), "offline");
        assert_eq!(
            cell(Some(Ok(Session::Refreshable { end: None }))),
            "refreshable"
        );
        let access_only = Some(Ok(Session::AccessOnly { until: unix - 1 }));
        assert_eq!(cell(access_only), "ended");
        assert_eq!(cell(Some(Ok(Session::SignedOut))), "—");
        assert_eq!(
            sentence(Some(Ok(Session::SignedOut))),
            "not signed in: press t to log in"
        );
        assert_eq!(cell(None), "…");
        assert_eq!(sentence(None), "checking the keyring…");
        assert_eq!(cell(Some(Err(SecretsError::TaskFailed))), "? keyring");

        let mut service = openid.clone();
        service.auth = crate::core::connector::Auth::ClientCredentials(Default::default());
        let service_cell = session_cell(&service, None, now, &theme);
        assert_eq!(service_cell.content, "service");
    }

    #[test]
    fn columns_fit_their_content_and_name_gives_last() {
        let row = |name: &str, url: &str| {
            [
                name.to_owned(),
                "default".to_owned(),
                "oauth2".to_owned(),
                url.to_owned(),
                "✓ 3 min ago".to_owned(),
                "until 12:25".to_owned(),
            ]
        };
        let rows = [
            row("sandbox-oauth2", "http://127.0.0.1:45678"),
            row("sandbox-openid", "http://127.0.0.1:45678"),
        ];
        let widths = column_widths(&rows, 73);
        assert_eq!(widths, [14, 7, 6, 22, 11, 11], "all whole at 80 columns");
        let long = [row(
            "IFS production europe west (primary tenant)",
            "https://ifs-production-europe-west.example.com",
        )];
        let widths = column_widths(&long, 73);
        assert_eq!(widths.iter().sum::<usize>(), 73);
        assert!(
            widths[0] > widths[3],
            "the name keeps more than the URL: {widths:?}"
        );
        assert_eq!(widths[1], 7, "'default' is short and keeps its width");
    }

    #[test]
    fn a_cut_value_ends_with_an_ellipsis() {
        assert_eq!(fit("sandbox-oauth2", 20), "sandbox-oauth2");
        assert_eq!(fit("sandbox-oauth2", 14), "sandbox-oauth2");
        assert_eq!(fit("sandbox-oauth2", 10), "sandbox-o…");
        assert_eq!(fit("✓ 3 min ago", 6), "✓ 3 m…");
        assert_eq!(fit("abc", 0), "");
        let line = fit_line(
            Line::from(vec![Span::raw("Name: "), Span::raw("a long value")]),
            10,
        );
        assert_eq!(line.to_string(), "Name: a l…");
    }
}
