//! The command-line face: parse arguments, set up logging, dispatch to a subcommand or
//! the TUI. Each subcommand lives in its own file and prints what the core returns.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

pub use crate::core::Context;
use crate::core::paths::Paths;
use crate::core::secrets::OsKeyring;

mod completions;
mod connector_args;
mod discover;
mod groups;
mod hidden_input;
pub mod login;
mod logout;
mod manage;
mod output;
mod sandbox;
mod token;

pub use output::Failure;

#[derive(Debug, Parser)]
#[command(
    name = "ifs-connect",
    version,
    about = "Set up and test OAuth2 / OpenID Connect REST connectors to IFS Cloud",
    long_about = "Set up and test OAuth2 / OpenID Connect REST connectors to IFS Cloud.\n\n\
                  Run without a command to open the full-screen wizard.",
    after_help = "Secrets (client secrets, refresh tokens) are kept in the OS keyring, never in a file."
)]
pub struct Cli {
    /// Directory holding connectors.toml [default: the platform config dir for ifs-connect]
    #[arg(
        long,
        global = true,
        env = "IFS_CONNECT_CONFIG_DIR",
        value_name = "DIR"
    )]
    pub config_dir: Option<PathBuf>,

    /// Directory for the log file [default: the platform data dir for ifs-connect]
    #[arg(long, global = true, env = "IFS_CONNECT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a connector
    Add(connector_args::AddArgs),
    /// Change a connector; only the given flags change
    Edit(connector_args::EditArgs),
    /// List connectors
    List(manage::ListArgs),
    /// Show one connector (secrets only as "stored in keyring")
    Show(manage::ShowArgs),
    /// Remove a connector and its secrets (no prompt)
    Remove(manage::RemoveArgs),
    /// Print connectors as JSON, without secrets
    Export(manage::ExportArgs),
    /// Add or replace connectors from an export file; validates everything first
    Import(manage::ImportArgs),
    /// Find the realm (Authority URL) from the Base URL alone
    Discover(discover::DiscoverArgs),
    /// Manage agent groups
    #[command(subcommand)]
    AgentGroup(groups::GroupCommand),
    /// Test a login: browser consent, token exchange, validation, API probe
    Login(login::LoginArgs),
    /// Print a valid access token for scripts (cached, refreshed, or after a login)
    Token(token::TokenArgs),
    /// Revoke the refresh token and delete the stored tokens
    Logout(logout::LogoutArgs),
    /// Run a local IFS-Cloud-like identity provider and API to try everything without a tenant
    Sandbox(sandbox::SandboxArgs),
    /// Print a shell completion script (e.g. `ifs-connect completions bash > ~/.local/share/bash-completion/completions/ifs-connect`)
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff), e.g. `ifs-connect man > ~/.local/share/man/man1/ifs-connect.1`
    Man,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Generated from the definition alone: no config dir, log file or runtime needed.
    let printed = match &cli.command {
        Some(Command::Completions(args)) => Some(completions::completions(args.shell)),
        Some(Command::Man) => Some(completions::man()),
        _ => None,
    };
    match printed.unwrap_or_else(|| run(cli)) {
        Ok(code) => code,
        Err(failure) => failure.report(),
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    let paths = Paths::resolve(cli.config_dir, cli.data_dir).map_err(Failure::other)?;
    let _log = crate::logging::init(&paths.log_file());
    let context = Context::new(paths, Arc::new(OsKeyring));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Failure::other)?;
    runtime.block_on(dispatch(context, cli.command))
}

async fn dispatch(context: Context, command: Option<Command>) -> Result<ExitCode, Failure> {
    let Some(command) = command else {
        return crate::tui::run(context)
            .await
            .map(|()| ExitCode::SUCCESS)
            .map_err(Failure::other);
    };
    tracing::info!(command = command_name(&command), "start");
    match command {
        Command::Add(args) => connector_args::add(&context, args).await,
        Command::Edit(args) => connector_args::edit(&context, args).await,
        Command::List(args) => manage::list(&context, args).await,
        Command::Show(args) => manage::show(&context, args).await,
        Command::Remove(args) => manage::remove(&context, args).await,
        Command::Export(args) => manage::export(&context, args),
        Command::Import(args) => manage::import(&context, args).await,
        Command::AgentGroup(cmd) => groups::run(&context, cmd),
        Command::Discover(args) => discover::run(args).await,
        Command::Login(args) => login::run(&context, args).await,
        Command::Token(args) => token::run(&context, args).await,
        Command::Logout(args) => logout::run(&context, args).await,
        Command::Sandbox(args) => sandbox::run(&context, args).await,
        Command::Completions(args) => completions::completions(args.shell),
        Command::Man => completions::man(),
    }
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Add(_) => "add",
        Command::Edit(_) => "edit",
        Command::List(_) => "list",
        Command::Show(_) => "show",
        Command::Remove(_) => "remove",
        Command::Export(_) => "export",
        Command::Import(_) => "import",
        Command::AgentGroup(_) => "agent-group",
        Command::Discover(_) => "discover",
        Command::Login(_) => "login",
        Command::Token(_) => "token",
        Command::Logout(_) => "logout",
        Command::Sandbox(_) => "sandbox",
        Command::Completions(_) => "completions",
        Command::Man => "man",
    }
}
