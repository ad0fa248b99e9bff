//! Taking over the terminal and giving it back on every way out: normal exit, error
//! (`RestoreOnDrop`), panic on the UI thread (the panic hook), signals (the app's
//! shutdown token). Mouse capture and bracketed paste are switched off again too, which
//! `ratatui::restore` alone would not do.

use std::io::{self, Stdout, stdout};
use std::sync::Arc;
use std::thread::ThreadId;

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

pub type RealTerminal = Terminal<CrosstermBackend<Stdout>>;

type PanicHook = Arc<dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync + 'static>;

/// Restores the terminal and the previous panic hook when dropped.
pub struct TerminalGuard {
    previous_hook: PanicHook,
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = restore();
        let previous = Arc::clone(&self.previous_hook);
        std::panic::set_hook(Box::new(move |info| previous(info)));
    }
}

/// Raw mode, alternate screen, mouse and bracketed paste; the guard undoes it all.
pub fn enter() -> io::Result<(RealTerminal, TerminalGuard)> {
    let previous_hook = install_panic_hook(std::thread::current().id());
    let guard = TerminalGuard { previous_hook };
    enable_raw_mode()?;
    execute!(
        stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste
    )?;
    let terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    Ok((terminal, guard))
}

pub fn restore() -> io::Result<()> {
    // Raw mode first: it matters most if anything after it fails.
    disable_raw_mode()?;
    execute!(
        stdout(),
        DisableBracketedPaste,
        DisableMouseCapture,
        LeaveAlternateScreen,
        Show
    )
}

/// A panic on the UI thread restores the terminal and then reports as usual. A panic in
/// a background task is caught by tokio and shown in an error popup; printing it would
/// scribble over the screen, so it goes to the log only.
fn install_panic_hook(ui_thread: ThreadId) -> PanicHook {
    let previous: PanicHook = Arc::from(std::panic::take_hook());
    let chained = Arc::clone(&previous);
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread {
            let _ = restore();
            chained(info);
        } else {
            tracing::error!(panic = %info, "a background task panicked");
        }
    }));
    previous
}
