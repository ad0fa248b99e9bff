//! Copy to the terminal's clipboard with OSC 52, which works over SSH and inside tmux
//! (with `set-clipboard on`) where no system clipboard is reachable.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};

use base64::Engine as _;

/// Where copied text goes.
pub trait Clipboard: Send {
    fn copy(&mut self, text: &str) -> io::Result<()>;
}

/// The escape sequence that asks the terminal to put `text` on the clipboard.
pub fn osc52(text: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    format!("\x1b]52;c;{encoded}\x07")
}

/// Writes OSC 52 straight to the terminal, between frames.
#[derive(Debug, Default)]
pub struct Osc52Terminal;

impl Clipboard for Osc52Terminal {
    fn copy(&mut self, text: &str) -> io::Result<()> {
        let mut out = io::stdout().lock();
        out.write_all(osc52(text).as_bytes())?;
        out.flush()
    }
}

/// Keeps what was copied, for tests.
#[derive(Debug, Default, Clone)]
pub struct MemoryClipboard(pub Arc<Mutex<Vec<String>>>);

impl Clipboard for MemoryClipboard {
    fn copy(&mut self, text: &str) -> io::Result<()> {
        self.0.lock().expect("poisoned").push(text.to_owned());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn osc52_is_base64_between_the_markers() {
        assert_eq!(super::osc52("hi"), "\x1b]52;c;aGk=\x07");
    }
}
