//! What screens and popups ask the app to do. They push commands onto a queue (as in
//! gitui's `queue.rs`) instead of reaching into each other or doing I/O themselves; the
//! app drains the queue after each event and turns commands into state changes or tasks.

use std::collections::VecDeque;

use crate::core::connector::{Connector, ConnectorId, LastTest, OpenIdAuth};
use crate::core::workspace::SecretChange;

#[derive(Debug)]
pub enum Command {
    OpenHelp,
    /// Leave the top screen (back to the one under it).
    CloseScreen,
    ClosePopup,
    NewConnector,
    EditConnector(ConnectorId),
    AskDuplicate(ConnectorId),
    Duplicate {
        name: String,
        new_name: String,
    },
    AskDelete(ConnectorId),
    Delete {
        name: String,
    },
    StartLogin(Box<Connector>),
    /// A test login with the device authorization grant instead of a browser.
    StartDeviceLogin(Box<Connector>),
    AskLogout(ConnectorId),
    Logout(ConnectorId),
    Save {
        connector: Box<Connector>,
        secret: SecretChange,
        then_test: bool,
        /// An agent group made in the wizard: created with the connector, not before, so
        /// a discarded wizard leaves no group behind.
        new_group: Option<String>,
    },
    CheckDiscovery {
        generation: u64,
        auth: Box<OpenIdAuth>,
        /// The connector's CA file, trusted for this request as for its logins.
        ca_file: Option<String>,
    },
    FetchEndpoints {
        generation: u64,
        url: String,
        ca_file: Option<String>,
    },
    /// Look for the realm from a Base URL (`core::ifs::discover`).
    FindRealm {
        generation: u64,
        base_url: String,
    },
    /// Ask a yes/no question; "yes" runs `on_yes`.
    Confirm {
        title: String,
        message: String,
        yes_label: &'static str,
        on_yes: Box<Command>,
    },
    /// What a finished test login leaves on the connector (core::describe::last_test); the
    /// app stamps it with its clock.
    RecordTest {
        id: ConnectorId,
        last: Box<LastTest>,
    },
    Copy(String),
    ShowError {
        title: String,
        message: String,
    },
    AskLeaveWizard {
        name: String,
    },
}

#[derive(Debug, Default)]
pub struct Commands(VecDeque<Command>);

impl Commands {
    pub fn push(&mut self, command: Command) {
        self.0.push_back(command);
    }

    pub fn pop(&mut self) -> Option<Command> {
        self.0.pop_front()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// For tests: everything queued, oldest first.
    #[cfg(test)]
    pub fn drain(&mut self) -> Vec<Command> {
        self.0.drain(..).collect()
    }
}
