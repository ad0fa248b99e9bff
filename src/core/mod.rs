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
pub mod store;
pub mod token_cache;
pub mod tokens;
pub mod validate;
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
}

impl Context {
    pub fn new(paths: Paths, secrets: SharedSecrets) -> Self {
        let workspace = Workspace::new(Store::new(&paths.config_dir), secrets);
        Self { paths, workspace }
    }
}
