//! Results of background tasks, sent back to the app loop on one channel.
//!
//! Tasks never touch state: they do their I/O and report. `MessageSender::spawn` turns a
//! task that panicked into a `TaskFailed` message (shown as an error popup), so a bug in
//! a task never takes the screen down, and counts tasks in flight so tests can wait for
//! quiet instead of sleeping.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::core::connector::{Connector, ConnectorId};
use crate::core::ifs::discover::Discovery;
use crate::core::login::discovery::{DiscoveryCheck, ProviderMetadata};
use crate::core::login::{DevicePrompt, LoginError, LoginEvent, LoginOutcome};
use crate::core::secrets::SecretsError;
use crate::core::store::Config;
use crate::core::tokens::{LoggedOut, TokenState};
use crate::core::workspace::{Workspace, WorkspaceError};

/// What a background task was doing: named in its failure message and in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    Load,
    Duplicate,
    Delete,
    Save,
    RecordTest,
    DiscoveryCheck,
    DiscoveryFetch,
    FindRealm,
    DeviceSupport,
    TestLogin,
    Logout,
    TokenStates,
}

impl TaskKind {
    /// "The {label} task failed".
    pub fn label(self) -> &'static str {
        match self {
            TaskKind::Load => "load",
            TaskKind::Duplicate => "duplicate",
            TaskKind::Delete => "delete",
            TaskKind::Save => "save",
            TaskKind::RecordTest => "record test",
            TaskKind::DiscoveryCheck => "discovery check",
            TaskKind::DiscoveryFetch => "discovery fetch",
            TaskKind::FindRealm => "find realm",
            TaskKind::DeviceSupport => "device login check",
            TaskKind::TestLogin => "test login",
            TaskKind::Logout => "logout",
            TaskKind::TokenStates => "token states",
        }
    }
}

#[derive(Debug)]
pub enum Message {
    ConfigLoaded(Result<Config, WorkspaceError>),
    Saved {
        result: Result<Box<Connector>, WorkspaceError>,
        then_test: bool,
    },
    Removed {
        name: String,
        /// `Ok(Some(_))`: removed from the config, but its secrets stayed in the keyring.
        result: Result<Option<SecretsError>, WorkspaceError>,
    },
    Duplicated(Result<Box<Connector>, WorkspaceError>),
    DiscoveryChecked {
        generation: u64,
        check: Box<DiscoveryCheck>,
    },
    EndpointsFetched {
        generation: u64,
        result: Result<Box<ProviderMetadata>, LoginError>,
    },
    /// What `core::ifs::discover` found from a Base URL; `Err` for an unusable Base URL.
    RealmFound {
        generation: u64,
        result: Result<Box<Discovery>, String>,
    },
    Login {
        run: u64,
        event: LoginEvent,
    },
    LoginFinished {
        run: u64,
        outcome: Box<LoginOutcome>,
    },
    TestRecorded(Result<(), WorkspaceError>),
    /// The user code and URI of a device login, once, before the wait for approval.
    DevicePrompt {
        run: u64,
        prompt: DevicePrompt,
    },
    /// Whether the provider of a test login's connector offers device login.
    DeviceSupport {
        run: u64,
        supported: bool,
    },
    /// Token states read from the keyring; an `Err` is why one could not be read.
    TokenStates(Vec<(ConnectorId, Result<TokenState, SecretsError>)>),
    LoggedOut {
        id: ConnectorId,
        name: String,
        result: Result<LoggedOut, SecretsError>,
    },
    TaskFailed {
        task: TaskKind,
        detail: String,
    },
}

#[derive(Debug, Clone)]
pub struct MessageSender {
    tx: UnboundedSender<Message>,
    in_flight: Arc<AtomicUsize>,
}

impl MessageSender {
    pub fn channel() -> (Self, UnboundedReceiver<Message>) {
        let (tx, rx) = unbounded_channel();
        (
            Self {
                tx,
                in_flight: Arc::default(),
            },
            rx,
        )
    }

    /// A closed channel means the app is shutting down; nothing is left to tell.
    pub fn send(&self, message: Message) {
        let _ = self.tx.send(message);
    }

    /// Tasks whose final message has not been sent yet.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Run `task` on the runtime and send the message it ends with. A panic becomes
    /// `TaskFailed { task: name }`.
    pub fn spawn<F>(&self, name: TaskKind, task: F)
    where
        F: Future<Output = Message> + Send + 'static,
    {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        let sender = self.clone();
        let handle = tokio::spawn(task);
        tokio::spawn(async move {
            let message = match handle.await {
                Ok(message) => message,
                Err(error) => {
                    tracing::error!(task = name.label(), %error, "background task failed");
                    Message::TaskFailed {
                        task: name,
                        detail: describe_join_error(&error),
                    }
                }
            };
            sender.send(message);
            sender.in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    }

    /// Run blocking work (config file, keyring) on the blocking pool.
    pub fn spawn_blocking<F>(&self, name: TaskKind, work: F)
    where
        F: FnOnce() -> Message + Send + 'static,
    {
        self.spawn(name, async move {
            match tokio::task::spawn_blocking(work).await {
                Ok(message) => message,
                Err(error) => Message::TaskFailed {
                    task: name,
                    detail: describe_join_error(&error),
                },
            }
        });
    }
}

impl MessageSender {
    /// The one shape of every config and keyring job: run `work` on a clone of the
    /// workspace on the blocking pool, and report its typed result as `done` says.
    pub fn workspace_job<T, W, D>(&self, kind: TaskKind, workspace: &Workspace, work: W, done: D)
    where
        W: FnOnce(&Workspace) -> Result<T, WorkspaceError> + Send + 'static,
        D: FnOnce(Result<T, WorkspaceError>) -> Message + Send + 'static,
        T: Send + 'static,
    {
        let workspace = workspace.clone();
        self.spawn_blocking(kind, move || done(work(&workspace)));
    }
}

/// A panic payload can hold anything; show its text only when it is a plain message.
fn describe_join_error(error: &tokio::task::JoinError) -> String {
    if error.is_cancelled() {
        return "it was cancelled".into();
    }
    "it stopped with an internal error (details are in the log file)".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_reports_instead_of_vanishing() {
        let (sender, mut rx) = MessageSender::channel();
        sender.spawn(TaskKind::Save, async { panic!("bug") });
        let message = rx.recv().await.unwrap();
        assert!(
            matches!(
                message,
                Message::TaskFailed {
                    task: TaskKind::Save,
                    ..
                }
            ),
            "{message:?}"
        );
        tokio::task::yield_now().await;
        for _ in 0..100 {
            if sender.in_flight() == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(sender.in_flight(), 0);
    }

    #[tokio::test]
    async fn blocking_work_reports_its_message() {
        let (sender, mut rx) = MessageSender::channel();
        sender.spawn_blocking(TaskKind::Save, || Message::TestRecorded(Ok(())));
        assert!(matches!(
            rx.recv().await,
            Some(Message::TestRecorded(Ok(())))
        ));
    }
}
