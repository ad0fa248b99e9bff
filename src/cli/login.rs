//! `ifs-connect login NAME`: the test login.

use std::process::ExitCode;

use super::{Context, Failure};

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// The connector to log in with
    pub name: String,
    /// Print one JSON object instead of the step list
    #[arg(long)]
    pub json: bool,
    /// Seconds to wait for the browser's redirect
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub timeout: u64,
    /// Do not open a browser; print the URL and accept the redirected URL on stdin
    #[arg(long)]
    pub no_browser: bool,
}

pub async fn run(context: &Context, args: LoginArgs) -> Result<ExitCode, Failure> {
    let _ = (context, args);
    Err(Failure::other("login is not implemented yet"))
}
