//! Opening the system browser (never an embedded view, RFC 8252 section 8.12), or saying
//! plainly why not so the user opens the URL elsewhere and pastes the redirect back.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::BrowserMode;

/// What the environment says about opening a browser; read once so the decision is testable.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub browser_var: Option<String>,
    pub display: bool,
    pub ssh: bool,
    pub wsl: bool,
    pub linux_like: bool,
}

impl Environment {
    pub fn current() -> Self {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        Self {
            browser_var: std::env::var("BROWSER")
                .ok()
                .filter(|v| !v.trim().is_empty()),
            display: set("DISPLAY") || set("WAYLAND_DISPLAY"),
            ssh: set("SSH_CONNECTION") || set("SSH_TTY") || set("SSH_CLIENT"),
            wsl: is_wsl(),
            linux_like: cfg!(all(unix, not(target_os = "macos"))),
        }
    }
}

/// How to open the URL, or why it will not be opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The `webbrowser` crate: `$BROWSER` first, then the platform's opener.
    Webbrowser,
    /// WSL: a Windows-side opener, since Linux openers have no display there.
    Windows,
    Skip(String),
}

pub fn plan(mode: BrowserMode, env: &Environment) -> Plan {
    if mode == BrowserMode::Never {
        return Plan::Skip("not opening a browser, as asked".into());
    }
    // A set $BROWSER always counts: that is how users and tests pick one.
    if env.browser_var.is_some() {
        return Plan::Webbrowser;
    }
    if env.wsl {
        return Plan::Windows;
    }
    if env.linux_like && !env.display {
        let why = if env.ssh {
            "this is an SSH session without a display"
        } else {
            "there is no display (DISPLAY and WAYLAND_DISPLAY are not set)"
        };
        return Plan::Skip(format!("not opening a browser: {why}"));
    }
    Plan::Webbrowser
}

/// Carry out the plan. `Ok(true)` when a browser was started, `Ok(false)` when skipped; the
/// error text says why starting one failed. Blocking: run it on the blocking pool.
pub fn open(plan: &Plan, url: &str) -> Result<bool, String> {
    match plan {
        Plan::Skip(_) => Ok(false),
        Plan::Webbrowser => webbrowser::open(url)
            .map(|()| true)
            .map_err(|e| format!("could not start a browser ({e})")),
        Plan::Windows => open_on_windows(url).map(|()| true),
    }
}

/// WSL: `wslview`, else `explorer.exe`, else `rundll32.exe url.dll,FileProtocolHandler`,
/// whichever exists.
fn open_on_windows(url: &str) -> Result<(), String> {
    for (program, args) in windows_openers(url) {
        if let Some(path) = find_in_path(program) {
            return spawn_detached(&path, &args).map_err(|e| {
                format!("could not start the Windows browser through {program} ({e})")
            });
        }
    }
    Err("could not find wslview, explorer.exe or rundll32.exe to open the Windows browser".into())
}

/// The Windows-side openers, each getting the URL as one untouched argument. Never `cmd.exe
/// /c start`: cmd reinterprets `&`, `|`, `^`, `%` and quotes in a URL, and no escaping of
/// them is right in every case.
fn windows_openers(url: &str) -> [(&'static str, Vec<String>); 3] {
    [
        ("wslview", vec![url.to_owned()]),
        ("explorer.exe", vec![url.to_owned()]),
        (
            "rundll32.exe",
            vec!["url.dll,FileProtocolHandler".into(), url.to_owned()],
        ),
    ]
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Start and forget, reaping the child on a thread so it leaves no zombie.
fn spawn_detached(program: &Path, args: &[String]) -> std::io::Result<()> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    std::thread::spawn(move || child.wait());
    Ok(())
}

fn is_wsl() -> bool {
    if !cfg!(target_os = "linux") {
        return false;
    }
    std::env::var_os("WSL_DISTRO_NAME").is_some()
        || std::fs::read_to_string("/proc/sys/fs/binfmt_misc/WSLInterop").is_ok()
        || std::fs::read_to_string("/proc/version")
            .is_ok_and(|v| v.to_ascii_lowercase().contains("microsoft"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linux() -> Environment {
        Environment {
            linux_like: true,
            ..Environment::default()
        }
    }

    #[test]
    fn browser_plan_table() {
        let with_browser = Environment {
            browser_var: Some("x".into()),
            ..linux()
        };
        let with_display = Environment {
            display: true,
            ..linux()
        };
        let ssh = Environment {
            ssh: true,
            ..linux()
        };
        let wsl = Environment {
            wsl: true,
            ..linux()
        };
        let mac = Environment::default();
        assert_eq!(plan(BrowserMode::Auto, &with_browser), Plan::Webbrowser);
        assert_eq!(plan(BrowserMode::Auto, &with_display), Plan::Webbrowser);
        assert_eq!(plan(BrowserMode::Auto, &wsl), Plan::Windows);
        assert_eq!(plan(BrowserMode::Auto, &mac), Plan::Webbrowser);
        let Plan::Skip(why) = plan(BrowserMode::Auto, &linux()) else {
            panic!()
        };
        assert!(why.contains("no display"));
        let Plan::Skip(why) = plan(BrowserMode::Auto, &ssh) else {
            panic!()
        };
        assert!(why.contains("SSH"));
        let Plan::Skip(why) = plan(BrowserMode::Never, &with_browser) else {
            panic!()
        };
        assert!(why.contains("as asked"));
    }

    #[test]
    fn windows_openers_pass_the_url_untouched_and_never_through_cmd() {
        let url = "https://idp/auth?a=1&b=%41^|\"x\"";
        for (program, args) in windows_openers(url) {
            assert_ne!(program, "cmd.exe");
            assert_eq!(args.last().map(String::as_str), Some(url), "{program}");
        }
    }
}
