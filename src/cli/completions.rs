//! `ifs-connect completions SHELL` and `ifs-connect man`: both generated from the clap
//! definition, so they list exactly the commands and flags the binary has.

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, CommandFactory, ValueEnum};
use clap_complete::Shell;

use super::{Cli, Failure};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write a completion script for
    #[arg(value_enum)]
    pub shell: CompletionShell,
}

/// The shells offered; a closed list of our own so `--help` names them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

impl From<CompletionShell> for Shell {
    fn from(shell: CompletionShell) -> Self {
        match shell {
            CompletionShell::Bash => Shell::Bash,
            CompletionShell::Zsh => Shell::Zsh,
            CompletionShell::Fish => Shell::Fish,
            CompletionShell::Powershell => Shell::PowerShell,
            CompletionShell::Elvish => Shell::Elvish,
        }
    }
}

/// The completion script for `shell`, as bytes.
pub fn completion_script(shell: CompletionShell) -> Vec<u8> {
    let mut command = Cli::command();
    let name = command.get_name().to_owned();
    let mut script = Vec::new();
    clap_complete::generate(Shell::from(shell), &mut command, name, &mut script);
    script
}

/// The roff man page for the whole command (its subcommands listed in it).
pub fn man_page() -> Result<Vec<u8>, std::io::Error> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    Ok(page)
}

pub fn completions(shell: CompletionShell) -> Result<ExitCode, Failure> {
    write_stdout(&completion_script(shell))
}

pub fn man() -> Result<ExitCode, Failure> {
    let page = man_page().map_err(Failure::other)?;
    write_stdout(&page)
}

fn write_stdout(bytes: &[u8]) -> Result<ExitCode, Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(|e| Failure::other(format!("could not write to standard output: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUBCOMMANDS: [&str; 4] = ["login", "token", "agent-group", "completions"];

    #[test]
    fn every_shell_gets_a_script_that_names_the_subcommands() {
        for shell in CompletionShell::value_variants() {
            let script = String::from_utf8(completion_script(*shell)).expect("utf-8");
            for sub in SUBCOMMANDS {
                assert!(script.contains(sub), "{shell:?} script lacks {sub}");
            }
            assert!(
                script.contains("config-dir"),
                "{shell:?} lacks the global flag"
            );
        }
    }

    #[test]
    fn the_man_page_is_roff_for_ifs_connect_with_its_subcommands() {
        let roff = String::from_utf8(man_page().expect("renders")).expect("utf-8");
        assert!(roff.starts_with(".ie"), "{}", &roff[..40.min(roff.len())]);
        // roff writes a hyphen as `\-`.
        let page = roff.replace("\\-", "-");
        assert!(page.contains(".TH ifs-connect 1"), "{page}");
        for sub in SUBCOMMANDS {
            assert!(page.contains(sub), "man page lacks {sub}");
        }
    }
}
