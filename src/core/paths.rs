//! Where ifs-connect keeps its files.

use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "connectors.toml";
pub const LOG_FILE: &str = "ifs-connect.log";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot find a home directory for the config files: pass --config-dir DIR or set \
     IFS_CONNECT_CONFIG_DIR and IFS_CONNECT_DATA_DIR"
)]
pub struct NoHomeDir;

impl Paths {
    /// Overrides win; otherwise the platform's directories for `ifs-connect`
    /// (on Linux `$XDG_CONFIG_HOME/ifs-connect` and `$XDG_DATA_HOME/ifs-connect`).
    pub fn resolve(
        config_dir: Option<PathBuf>,
        data_dir: Option<PathBuf>,
    ) -> Result<Self, NoHomeDir> {
        let project = || directories::ProjectDirs::from("", "", "ifs-connect");
        let config_dir = match config_dir {
            Some(dir) => dir,
            None => project().ok_or(NoHomeDir)?.config_dir().to_path_buf(),
        };
        let data_dir = match data_dir {
            Some(dir) => dir,
            None => project().ok_or(NoHomeDir)?.data_dir().to_path_buf(),
        };
        Ok(Self {
            config_dir,
            data_dir,
        })
    }

    /// Both directories under one root; handy for tests and benchmarks.
    pub fn under(root: &Path) -> Self {
        Self {
            config_dir: root.join("config"),
            data_dir: root.join("data"),
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join(CONFIG_FILE)
    }

    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join(LOG_FILE)
    }
}
