//! The full-screen face (issue 4).

use crate::core::Context;

pub async fn run(context: Context) -> anyhow::Result<()> {
    let _ = context;
    anyhow::bail!("the TUI is not built yet; use the subcommands (see --help)")
}
