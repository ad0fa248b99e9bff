//! ifs-connect: set up and test OAuth2 / OpenID Connect REST connectors to IFS Cloud.
//!
//! `core` knows nothing of terminals; `cli` and `tui` are two thin faces over it.
#![forbid(unsafe_code)]

pub mod cli;
pub mod core;
pub mod logging;
pub mod sandbox;
pub mod tui;
