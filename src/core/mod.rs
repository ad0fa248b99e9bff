//! The core: connector model, validation, config store, secrets and the login engine.
//! Nothing in here knows about terminals; the CLI and the TUI are faces over it.

pub mod ca_bundle;
pub mod connector;
pub mod describe;
pub mod ifs;
pub mod login;
pub mod paths;
pub mod qr;
pub mod secrets;
pub mod session;
pub mod store;
pub mod token_cache;
pub mod tokens;
pub mod validate;
pub mod when;
pub mod workspace;

use paths::Paths;
use secrets::SharedSecrets;
use store::Store;
use workspace::Workspace;

/// What every face needs: where the files are, and the store plus the keyring.
#[derive(Clone)]
pub struct Context {
    pub paths: Paths,
    pub workspace: Workspace,
    /// The local zone, read once at start (see [`when::local_offset`]); UTC in tests.
    pub local_offset: time::UtcOffset,
}

impl Context {
    pub fn new(paths: Paths, secrets: SharedSecrets) -> Self {
        let workspace = Workspace::new(Store::new(&paths.config_dir), secrets);
        Self {
            paths,
            workspace,
            local_offset: time::UtcOffset::UTC,
        }
    }

    /// The same, with times shown in this zone.
    pub fn with_local_offset(mut self, offset: time::UtcOffset) -> Self {
        self.local_offset = offset;
        self
    }
}
