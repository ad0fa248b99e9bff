//! Everything the UI shows, in one tree owned by the app loop. Drawing reads it
//! (`view::render`); only the loop changes it, one event or message at a time.

use std::time::Instant;

use time::OffsetDateTime;

use crate::core::paths::Paths;
use crate::tui::popups::Popup;
use crate::tui::screens::{ListScreen, Screen, TestLoginScreen, Wizard};

#[derive(Debug)]
pub struct State {
    pub list: ListScreen,
    /// Screens over the list, top last.
    pub screens: Vec<Screen>,
    /// Popups over everything, top last.
    pub popups: Vec<Popup>,
    pub paths: Paths,
    pub now: OffsetDateTime,
    pub tick: u64,
}

impl State {
    pub fn new(paths: Paths, now: OffsetDateTime) -> Self {
        Self {
            list: ListScreen::default(),
            screens: Vec::new(),
            popups: Vec::new(),
            paths,
            now,
            tick: 0,
        }
    }

    /// The wizard, wherever it is in the stack (help may be open over it).
    pub fn wizard_mut(&mut self) -> Option<&mut Wizard> {
        self.screens.iter_mut().rev().find_map(|s| match s {
            Screen::Wizard(w) => Some(w.as_mut()),
            _ => None,
        })
    }

    pub fn test_login_mut(&mut self, run: u64) -> Option<&mut TestLoginScreen> {
        self.screens.iter_mut().find_map(|s| match s {
            Screen::TestLogin(t) if t.run_id() == run => Some(t.as_mut()),
            _ => None,
        })
    }

    /// Whether anything on screen moves by itself (spinner or countdown): only then does
    /// the loop wake up on a timer.
    pub fn is_animating(&self) -> bool {
        self.list.is_loading()
            || self.screens.iter().any(|s| match s {
                Screen::Wizard(w) => w.is_busy(),
                Screen::TestLogin(t) => t.is_running(),
                Screen::Help(_) => false,
            })
    }

    /// Advance spinners and countdowns.
    pub fn tick(&mut self, now: Instant) {
        self.tick = self.tick.wrapping_add(1);
        for screen in &mut self.screens {
            if let Screen::TestLogin(t) = screen {
                t.tick(now);
            }
        }
    }
}
