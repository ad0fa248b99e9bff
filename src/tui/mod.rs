//! The full-screen face (issue 4): the connector list, the wizard, test login and help.
//!
//! Layout, following slumber and gitui:
//! - `app.rs` the loop: state, messages, tasks, redraw only when something changed;
//! - `state.rs` + `view.rs` what is shown and the pure function that draws it;
//! - `screens/` one file per screen (the wizard: one per step), `popups/` one per popup,
//!   `widgets/` the reusable pieces, each tested on its own;
//! - `keymap.rs` the one key table behind handling, the hint bar and the help screen;
//! - `command.rs` what components ask for; `message.rs` what tasks report;
//! - `engine.rs` the network behind a trait; `terminal.rs` taking and restoring the tty.

mod app;
#[doc(hidden)]
pub mod bench_support;
mod clipboard;
mod command;
mod component;
mod engine;
mod keymap;
mod message;
mod popups;
mod screens;
mod state;
mod terminal;
#[cfg(test)]
mod test_util;
mod theme;
mod view;
mod widgets;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod wizard_flows;

pub use app::{App, AppOptions, Clock};
pub use clipboard::{Clipboard, MemoryClipboard};
pub use engine::{CoreEngine, DeviceRun, Engine, LoginRun};
pub use theme::Theme;

use ratatui::crossterm::event::EventStream;

use crate::core::Context;

/// Run the TUI on this terminal until the user quits.
pub async fn run(context: Context) -> anyhow::Result<()> {
    let options = AppOptions::real(&context)?;
    let (terminal, guard) = terminal::enter()?;
    let app = App::new(terminal, EventStream::new(), context, options);
    watch_signals(app.shutdown_token());
    tracing::info!("tui start");
    let result = app.run().await;
    drop(guard);
    tracing::info!(ok = result.is_ok(), "tui end");
    result.map(drop)
}

/// SIGTERM and SIGHUP end the loop like `q` does, so the terminal is restored.
fn watch_signals(shutdown: tokio_util::sync::CancellationToken) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => shutdown.cancel(),
            _ = hup.recv() => shutdown.cancel(),
            () = shutdown.cancelled() => {}
        }
    });
    #[cfg(not(unix))]
    let _ = shutdown;
}
