//! `ifs-connect login NAME`: the test login.
//!
//! Progress goes to stderr while the engine runs (the URL on a line of its own, so it can be
//! copied as-is); the report goes to stdout at the end, as text or as one JSON object.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Context, Failure};
use crate::core::connector::Connector;
use crate::core::describe;
use crate::core::login::{
    self, BrowserMode, Claims, DevicePrompt, ErrorKind, LoginEvent, LoginOptions, LoginOutcome,
    StepReport,
};

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The connector to log in with
    pub name: String,
    /// Print one JSON object instead of the step list
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for the browser's redirect
    #[arg(long, default_value_t = 300, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
    /// Do not open a browser; print the URL and accept the redirected URL on stdin
    #[arg(long)]
    pub no_browser: bool,
    /// Seconds of clock difference tolerated for the ID token's exp and iat
    #[arg(long, default_value_t = 60, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(0..=3600))]
    pub leeway: u64,
    /// Sign in on another device with a user code (RFC 8628) instead of a browser here
    #[arg(long, conflicts_with = "no_browser")]
    pub device: bool,
}

/// How the user grants access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Browser here (or a pasted redirect URL).
    Browser,
    /// User code on another device.
    Device,
}

/// A pasted line longer than this is not a redirect URL.
const MAX_PASTED_LINE: u64 = 16 * 1024;

pub async fn run(context: &Context, args: LoginArgs) -> Result<ExitCode, Failure> {
    let connector = context.workspace.get(&args.name)?;
    if !connector.auth_kind().is_interactive() && (args.device || args.no_browser) {
        return Err(Failure::usage(format!(
            "'{}' is a service user: it signs in without a browser or a device, so --device \
             and --no-browser do not apply",
            connector.name
        )));
    }
    let options = LoginOptions {
        timeout: Duration::from_secs(args.timeout),
        browser: if args.no_browser {
            BrowserMode::Never
        } else {
            BrowserMode::Auto
        },
        leeway: Duration::from_secs(args.leeway),
        token_lock_dir: Some(context.paths.config_dir.clone()),
        ..LoginOptions::default()
    };
    eprintln!(
        "Test login for '{}' ({})",
        connector.name,
        connector.auth_kind().label()
    );
    let grant = if args.device {
        Grant::Device
    } else {
        Grant::Browser
    };
    let outcome = run_engine(context, &connector, options, grant).await;
    print_report(&connector, &outcome, args.json);
    remember(context, &connector, &outcome).await;
    Ok(if outcome.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Run the engine while showing its events (and a device login's code) and feeding it pasted
/// URLs; Ctrl-C cancels. Everything shown goes to stderr, so `token` can use this too.
pub(super) async fn run_engine(
    context: &Context,
    connector: &Connector,
    options: LoginOptions,
    grant: Grant,
) -> LoginOutcome {
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (pasted_tx, pasted) = mpsc::channel(4);
    let (prompts_tx, mut prompts) = mpsc::unbounded_channel();
    let cancel = CancellationToken::new();
    let ctrl_c = tokio::spawn(cancel_on_ctrl_c(cancel.clone()));
    let (connector_owned, secrets) = (connector.clone(), context.workspace.secrets().clone());
    let timeout_secs = options.timeout.as_secs();
    let engine = match grant {
        Grant::Browser => tokio::spawn(login::run(
            connector_owned,
            secrets,
            options,
            pasted,
            events_tx,
            cancel,
        )),
        Grant::Device => tokio::spawn(login::run_device(
            connector_owned,
            secrets,
            options,
            prompts_tx,
            events_tx,
            cancel,
        )),
    };
    // Until the browser question is settled, the sender waits here; it is handed to a stdin
    // reader only when no browser was opened, and dropped otherwise.
    let mut pasted_tx = Some(pasted_tx);
    loop {
        tokio::select! {
            Some(prompt) = prompts.recv() => show_device_prompt(&prompt, timeout_secs),
            event = events.recv() => {
                let Some(event) = event else { break };
                if let LoginEvent::OpenUrl { browser_opened, .. } = &event
                    && let Some(tx) = pasted_tx.take().filter(|_| !browser_opened)
                {
                    read_pasted_urls(tx);
                }
                show_progress(&event);
            }
        }
    }
    ctrl_c.abort();
    engine.await.unwrap_or_else(|e| LoginOutcome {
        error: Some(login::LoginError::new(
            ErrorKind::Cancelled,
            format!("the login task stopped unexpectedly ({e})"),
        )),
        ..LoginOutcome::default()
    })
}

/// The verification URI, the user code and a QR code of the complete URI, on stderr.
fn show_device_prompt(prompt: &DevicePrompt, timeout_secs: u64) {
    let mut text = format!(
        "\nTo sign in, open this URL on any device:\n\n  {}\n\nand enter the code:  {}\n",
        prompt.verification_uri, prompt.user_code
    );
    if let Some(complete) = &prompt.verification_uri_complete {
        text.push_str(&format!(
            "\nOr open this URL, which has the code in it:\n\n  {complete}\n"
        ));
        if let Ok(lines) = crate::core::qr::half_blocks(complete) {
            text.push_str("\nor scan it:\n\n");
            for line in lines {
                text.push_str(&format!("  {line}\n"));
            }
        }
    }
    let wait = timeout_secs.min(prompt.expires_in);
    text.push_str(&format!(
        "\nWaiting up to {wait} s for the approval (Ctrl-C cancels).\n"
    ));
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

async fn cancel_on_ctrl_c(cancel: CancellationToken) {
    if tokio::signal::ctrl_c().await.is_ok() {
        cancel.cancel();
    }
}

/// Read lines from stdin on a plain thread (a blocked read must not hold up the runtime at
/// exit) and hand each to the engine. EOF just closes the channel, leaving the listener.
fn read_pasted_urls(tx: mpsc::Sender<String>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut reader = stdin.lock();
        loop {
            let mut line = String::new();
            match (&mut reader).take(MAX_PASTED_LINE).read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim().to_owned();
            if line.is_empty() {
                continue;
            }
            if tx.blocking_send(line).is_err() {
                return;
            }
        }
    });
}

fn show_progress(event: &LoginEvent) {
    let mut err = std::io::stderr().lock();
    let _ = match event {
        LoginEvent::Started(_) => Ok(()),
        LoginEvent::Finished(step) => writeln!(err, "{}", step_line(step)),
        LoginEvent::Notice(text) => writeln!(err, "  ! {text}"),
        LoginEvent::OpenUrl {
            url,
            browser_opened,
            browser_note,
            timeout_secs,
        } => {
            let how = if *browser_opened {
                "A browser was opened; sign in there. If it did not appear, open this URL:"
                    .to_owned()
            } else {
                format!(
                    "{}. Open this URL in a browser to sign in:",
                    capitalise(browser_note.as_deref().unwrap_or("No browser was opened"))
                )
            };
            let then = if *browser_opened {
                format!("Waiting up to {timeout_secs} s for the redirect (Ctrl-C cancels).")
            } else {
                format!(
                    "Then paste the address the browser ends on here and press Enter (or let it \
                     reach this machine). Waiting up to {timeout_secs} s (Ctrl-C cancels)."
                )
            };
            writeln!(err, "\n{how}\n\n{url}\n\n{then}\n")
        }
    };
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn step_line(step: &StepReport) -> String {
    format!(
        "  {} {:<22} {:>6} ms  {}",
        if step.ok { "✓" } else { "✗" },
        step.step.label(),
        step.ms,
        step.detail
    )
}

fn print_report(connector: &Connector, outcome: &LoginOutcome, json: bool) {
    let text = if json {
        serde_json::to_string(outcome).expect("the outcome serialises")
    } else {
        // On one terminal the steps were just shown live on stderr; repeating them would
        // push the result off the screen. Redirected, the report keeps them.
        let shown_live = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        human_report(connector, outcome, !shown_live)
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

pub(super) fn human_report(
    connector: &Connector,
    outcome: &LoginOutcome,
    with_steps: bool,
) -> String {
    let mut lines = vec![format!(
        "Test login for '{}': {}",
        connector.name,
        if outcome.ok { "OK" } else { "FAILED" }
    )];
    if with_steps {
        lines.extend(outcome.steps.iter().map(step_line));
    }
    if let Some(claims) = &outcome.claims {
        lines.push(String::new());
        lines.extend(claim_lines(claims));
    }
    if let Some(probe) = &outcome.probe {
        let status = probe
            .status
            .map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
        lines.push(format!(
            "  {:<14} {status} from GET {} ({} ms)",
            "API probe", probe.url, probe.ms
        ));
        if let Some(user) = &probe.user {
            lines.push(format!("  {:<14} {}", "IFS user", user.display()));
        }
    }
    if let Some(error) = &outcome.error {
        lines.push(String::new());
        lines.push(format!(
            "Error ({}): {}",
            error.kind.as_str(),
            error.message
        ));
        if let Some(hint) = &error.hint {
            lines.push(format!("Hint: {hint}"));
        }
        if let Some(register) = crate::core::ifs::register::after_failure(connector, error) {
            lines.push(String::new());
            lines.extend(register.into_iter().skip(1));
        }
    }
    lines.join("\n")
}

fn claim_lines(claims: &Claims) -> Vec<String> {
    describe::claim_rows(claims)
        .into_iter()
        .map(|(label, value)| format!("  {label:<14} {value}"))
        .collect()
}

/// Record the result for the list screen. A cancelled test says nothing about the connector.
pub(super) async fn remember(context: &Context, connector: &Connector, outcome: &LoginOutcome) {
    let Some(last) = describe::last_test(outcome, time::OffsetDateTime::now_utc()) else {
        return;
    };
    let workspace = context.workspace.clone();
    let id = connector.id.clone();
    let saved = tokio::task::spawn_blocking(move || workspace.record_test(&id, last)).await;
    if let Ok(Err(e)) = saved {
        tracing::warn!(error = %e, "could not record the test result");
        eprintln!("note: could not record the result in the config ({e})");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::login::Step;

    #[test]
    fn step_lines_show_mark_label_and_time() {
        let line = step_line(&StepReport {
            step: Step::Token,
            ok: false,
            ms: 12,
            detail: "refused".into(),
        });
        assert!(line.contains("✗ Token exchange"), "{line}");
        assert!(line.contains("12 ms  refused"), "{line}");
    }
}
