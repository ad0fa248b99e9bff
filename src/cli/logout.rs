//! `ifs-connect logout NAME`: revoke the refresh token at the provider when it can be, delete
//! the stored tokens, and say what was done.

use std::process::ExitCode;

use super::{Context, Failure};
use crate::core::login::LoginOptions;
use crate::core::tokens::{self, Revocation};

#[derive(Debug, clap::Args)]
pub struct LogoutArgs {
    /// The connector to log out
    pub name: String,
}

pub async fn run(context: &Context, args: LogoutArgs) -> Result<ExitCode, Failure> {
    let connector = context.workspace.get(&args.name)?;
    let done = tokens::logout(
        context.workspace.secrets(),
        &connector,
        &LoginOptions::default(),
    )
    .await
    .map_err(Failure::other)?;
    println!("Logged out of '{}':", connector.name);
    for line in done.lines() {
        println!("  {line}");
    }
    // The tokens are gone here either way; a failed revocation is still worth a non-zero exit.
    Ok(match done.revocation {
        Some(Revocation::Failed(_)) => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}
