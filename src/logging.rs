//! Logs go to a file in the data directory, never to the terminal (the TUI owns it).

use std::fs::{self, OpenOptions};
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// Keeps logging alive; dropping it does nothing today but leaves room for a flushing writer.
pub struct LogGuard;

/// Log to `file` at the level from `IFS_CONNECT_LOG` (default `info`). Logging is a
/// convenience: when the file cannot be opened the program runs on without it.
pub fn init(file: &Path) -> Option<LogGuard> {
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir).ok()?;
    }
    let writer = open_log(file).ok()?;
    let filter =
        EnvFilter::try_from_env("IFS_CONNECT_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_target(false)
        .with_writer(Mutex::new(writer))
        .try_init()
        .ok()?;
    Some(LogGuard)
}

#[cfg(unix)]
fn open_log(file: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)
}

#[cfg(not(unix))]
fn open_log(file: &Path) -> std::io::Result<fs::File> {
    OpenOptions::new().create(true).append(true).open(file)
}
