//! `agent-group add|list|remove`.

use std::process::ExitCode;

use clap::Subcommand;

use super::{Context, Failure};

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create an agent group
    Add {
        /// Group name
        name: String,
    },
    /// List agent groups and how many connectors use each
    List,
    /// Remove an unused agent group
    Remove {
        /// Group name
        name: String,
    },
}

pub fn run(context: &Context, command: GroupCommand) -> Result<ExitCode, Failure> {
    let workspace = &context.workspace;
    match command {
        GroupCommand::Add { name } => {
            workspace.add_group(&name)?;
            println!("Added agent group '{}'.", name.trim());
        }
        GroupCommand::List => {
            let config = workspace.load()?;
            for group in &config.agent_groups {
                let count = config
                    .connectors
                    .iter()
                    .filter(|c| &c.agent_group == group)
                    .count();
                println!("{group}\t{count} connector(s)");
            }
        }
        GroupCommand::Remove { name } => {
            workspace.remove_group(&name)?;
            println!("Removed agent group '{name}'.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
