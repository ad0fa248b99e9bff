//! For benchmarks only (issue 7): draw the real screens on any backend, and the opt-in
//! first-frame timestamp. Not part of the interface; nothing in the program depends on it.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use ratatui::Terminal;
use ratatui::backend::Backend;
use time::OffsetDateTime;

use crate::core::connector::Connector;
use crate::core::paths::Paths;
use crate::core::store::Config;
use crate::tui::keymap::Keymap;
use crate::tui::screens::{Screen, StepId, Wizard};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::view;

/// The environment variable naming the file that gets one line when the first full frame
/// of the list (connectors loaded) has been flushed: microseconds since the Unix epoch.
pub const FIRST_FRAME_LOG: &str = "IFS_CONNECT_FIRST_FRAME_LOG";

/// Append the time the first full frame was flushed: microseconds since the Unix epoch (the
/// benchmark notes the time just before exec and takes the difference).
pub(crate) fn note_first_frame(path: &std::path::Path) {
    let micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{micros}");
    }
}

/// One screen as the app would draw it.
pub struct BenchScreen {
    state: State,
    keymap: Keymap,
    theme: Theme,
}

impl BenchScreen {
    fn new(now: OffsetDateTime) -> Self {
        Self {
            state: State::new(Paths::under(std::path::Path::new("/nonexistent")), now),
            keymap: Keymap::default(),
            theme: Theme::colored(),
        }
    }

    /// The list screen showing `config`, first row selected.
    pub fn list(config: Config, now: OffsetDateTime) -> Self {
        let mut screen = Self::new(now);
        screen.state.list.set_config(config);
        screen
    }

    /// The wizard editing `connector`, on `step` (1 to 6), over the list of `config`.
    pub fn wizard(config: Config, connector: Connector, step: usize, now: OffsetDateTime) -> Self {
        let mut screen = Self::list(config, now);
        let mut wizard = Wizard::edit(
            connector,
            screen.state.list.groups(),
            screen.state.list.names(),
        );
        if let Some(step) = StepId::from_number(step) {
            wizard.go_to(step);
        }
        screen.state.screens.push(Screen::Wizard(Box::new(wizard)));
        screen
    }

    /// Draw one full frame.
    pub fn draw<B: Backend>(&self, terminal: &mut Terminal<B>) -> Result<(), B::Error> {
        let (state, keymap, theme) = (&self.state, &self.keymap, &self.theme);
        terminal.draw(|frame| view::render(state, keymap, theme, frame))?;
        Ok(())
    }
}
