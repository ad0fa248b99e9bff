//! Read one line from the terminal without echoing it, for secrets typed by hand.

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal;
use secrecy::SecretString;
use zeroize::Zeroize;

/// Prompt on stderr and read until Enter. Ctrl-C or Esc abort.
pub fn read_line(prompt: &str) -> std::io::Result<SecretString> {
    eprint!("{prompt}");
    terminal::enable_raw_mode()?;
    let result = read_keys();
    let _ = terminal::disable_raw_mode();
    eprintln!();
    result
}

fn read_keys() -> std::io::Result<SecretString> {
    let mut text = String::new();
    loop {
        let Event::Key(KeyEvent {
            code,
            modifiers,
            kind,
            ..
        }) = event::read()?
        else {
            continue;
        };
        if kind == KeyEventKind::Release {
            continue;
        }
        match code {
            KeyCode::Enter => return Ok(SecretString::from(std::mem::take(&mut text))),
            KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => {
                text.zeroize();
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    "cancelled",
                ));
            }
            KeyCode::Esc => {
                text.zeroize();
                return Err(std::io::Error::new(
                    std::io::ErrorKind::Interrupted,
                    "cancelled",
                ));
            }
            KeyCode::Backspace => {
                text.pop();
            }
            KeyCode::Char(c) => text.push(c),
            _ => {}
        }
    }
}
