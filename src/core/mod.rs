//! The core: connector model, validation, config store, secrets and the login engine.
//! Nothing in here knows about terminals; the CLI and the TUI are faces over it.

pub mod connector;
pub mod paths;
pub mod secrets;
pub mod store;
pub mod validate;
pub mod workspace;
