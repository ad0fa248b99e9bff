//! How the CLI reports failure: one plain sentence on stderr and an exit code
//! (2 for usage and validation errors, 1 for everything else).

use std::fmt::Display;
use std::process::ExitCode;

use crate::core::workspace::WorkspaceError;

#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    pub fn usage(message: impl Display) -> Self {
        Self {
            message: message.to_string(),
            code: 2,
        }
    }

    pub fn other(message: impl Display) -> Self {
        Self {
            message: message.to_string(),
            code: 1,
        }
    }

    pub fn report(self) -> ExitCode {
        tracing::warn!(code = self.code, "failed: {}", self.message);
        eprintln!("error: {}", self.message);
        ExitCode::from(self.code)
    }
}

impl From<WorkspaceError> for Failure {
    fn from(error: WorkspaceError) -> Self {
        if error.is_user_error() {
            Self::usage(error)
        } else {
            Self::other(error)
        }
    }
}
