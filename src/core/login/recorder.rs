//! What a running login shares with its steps: the [`Context`] every step may read, and the
//! [`Recorder`] that times each step, reports it as it starts and ends, and keeps it for the
//! outcome. A leaf under the browser flow, the device flow and the service user's flow.

use std::future::Future;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ErrorKind, LoginError, LoginEvent, LoginOptions, Step, StepReport};
use crate::core::connector::Connector;
use crate::core::secrets::SharedSecrets;

/// What every step may read.
pub(super) struct Context<'a> {
    pub(super) connector: &'a Connector,
    pub(super) secrets: &'a SharedSecrets,
    pub(super) options: &'a LoginOptions,
    pub(super) events: &'a mpsc::UnboundedSender<LoginEvent>,
    pub(super) cancel: &'a CancellationToken,
}

pub(super) fn cancelled() -> LoginError {
    LoginError::new(ErrorKind::Cancelled, "the test login was cancelled")
}

/// Times each step, keeps its report and sends the events.
pub(super) struct Recorder {
    events: mpsc::UnboundedSender<LoginEvent>,
    pub(super) steps: Vec<StepReport>,
    current: Option<(Step, Instant)>,
}

impl Recorder {
    pub(super) fn new(events: mpsc::UnboundedSender<LoginEvent>) -> Self {
        Self {
            events,
            steps: Vec::new(),
            current: None,
        }
    }

    /// Run one step: report its start, then its end with the detail or the error's message.
    pub(super) async fn step<T>(
        &mut self,
        step: Step,
        work: impl Future<Output = Result<(T, String), LoginError>>,
    ) -> Result<T, LoginError> {
        self.start(step);
        match work.await {
            Ok((value, detail)) => {
                self.finish(true, detail);
                Ok(value)
            }
            Err(error) => {
                self.finish(false, error.message.clone());
                Err(error)
            }
        }
    }

    fn start(&mut self, step: Step) {
        let _ = self.events.send(LoginEvent::Started(step));
        self.current = Some((step, Instant::now()));
    }

    fn finish(&mut self, ok: bool, detail: String) {
        let Some((step, started)) = self.current.take() else {
            return;
        };
        let report = StepReport {
            step,
            ok,
            ms: started.elapsed().as_millis() as u64,
            // Details quote provider values (issuer, endpoints, JWKS URL).
            detail: super::explain::terminal_text(&detail),
        };
        tracing::info!(step = ?report.step, ok, ms = report.ms, "{}", report.detail);
        let _ = self.events.send(LoginEvent::Finished(report.clone()));
        self.steps.push(report);
    }

    /// Close a step left running by cancellation.
    pub(super) fn abandon(&mut self) {
        if self.current.is_some() {
            self.finish(false, "cancelled".into());
        }
    }
}

/// What a login learned that outlives a failure: shown even when a later step fails.
#[derive(Default)]
pub(super) struct Found {
    pub(super) claims: Option<super::Claims>,
    pub(super) probe: Option<super::ProbeResult>,
    /// A failure after which the flow went on (the API probe).
    pub(super) late_error: Option<LoginError>,
}

impl Recorder {
    /// The outcome of a finished (or cancelled) login: a step still running is reported as
    /// failed, so no step hangs open; `what` names the login in the log.
    pub(super) fn outcome(
        mut self,
        result: Result<(), LoginError>,
        found: Found,
        what: &str,
    ) -> super::LoginOutcome {
        self.abandon();
        let error = result.err().or(found.late_error);
        let ok = error.is_none() && self.steps.iter().all(|s| s.ok);
        match &error {
            None => tracing::info!(ok, "{what} finished"),
            Some(e) => tracing::warn!(kind = e.kind.as_str(), "{what} failed: {}", e.message),
        }
        super::LoginOutcome {
            ok,
            steps: self.steps,
            claims: found.claims,
            probe: found.probe,
            error,
        }
    }
}
