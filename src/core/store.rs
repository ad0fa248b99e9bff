//! The config file `connectors.toml`: loaded whole, written whole, never half.
//!
//! A write goes to a temp file in the same directory, is fsynced, then renamed over
//! the old file, so a crash leaves either the old or the new config. Writers hold an
//! advisory lock on a sidecar file so two processes cannot interleave. A file that
//! does not parse is reported with line and column and is never overwritten.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::connector::{Connector, DEFAULT_AGENT_GROUP};
use super::paths::CONFIG_FILE;

pub const CONFIG_VERSION: u32 = 1;
const LOCK_FILE: &str = "connectors.toml.lock";
/// How long a writer waits for another process to finish saving.
const LOCK_WAIT: Duration = Duration::from_secs(5);
const LOCK_POLL: Duration = Duration::from_millis(25);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub version: u32,
    #[serde(default = "default_groups")]
    pub agent_groups: Vec<String>,
    #[serde(default, rename = "connector")]
    pub connectors: Vec<Connector>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            version: CONFIG_VERSION,
            agent_groups: default_groups(),
            connectors: Vec::new(),
        }
    }
}

fn default_groups() -> Vec<String> {
    vec![DEFAULT_AGENT_GROUP.to_owned()]
}

impl Config {
    pub fn find(&self, name: &str) -> Option<&Connector> {
        self.connectors.iter().find(|c| c.name == name)
    }

    pub fn position(&self, name: &str) -> Option<usize> {
        self.connectors.iter().position(|c| c.name == name)
    }

    pub fn has_group(&self, group: &str) -> bool {
        self.agent_groups.iter().any(|g| g == group)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path}:{line}:{column}: the config file does not parse: {message}. Fix or move the file; it was left untouched"
    )]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path} was written by a newer ifs-connect (config version {found}, this one knows {CONFIG_VERSION}); upgrade ifs-connect"
    )]
    TooNew { path: PathBuf, found: u32 },
    #[error(
        "another ifs-connect is saving {path}; it did not finish within {LOCK_WAIT:?}. Try again"
    )]
    Busy { path: PathBuf },
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot encode the config: {0}")]
    Encode(#[from] toml::ser::Error),
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_path_buf();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

/// Proof that this process holds the writer lock; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join(CONFIG_FILE)
    }

    /// The config, or the defaults when no file exists yet.
    pub fn load(&self) -> Result<Config, StoreError> {
        let path = self.path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(io_error("read", &path)(e)),
        };
        parse(&text, &path)
    }

    /// Wait (briefly) for exclusive write access.
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        self.ensure_dir()?;
        let path = self.dir.join(LOCK_FILE);
        let file = open_private(&path, false).map_err(io_error("open", &path))?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StoreLock { _file: file }),
                Err(fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(LOCK_POLL)
                }
                Err(fs::TryLockError::WouldBlock) => {
                    return Err(StoreError::Busy { path: self.path() });
                }
                Err(fs::TryLockError::Error(e)) => return Err(io_error("lock", &path)(e)),
            }
        }
    }

    /// Load, change and save under the lock. Nothing is written if `change` fails.
    pub fn update<T, E>(&self, change: impl FnOnce(&mut Config) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let lock = self.lock()?;
        let mut config = self.load()?;
        let value = change(&mut config)?;
        self.write(&lock, &config)?;
        Ok(value)
    }

    /// Replace the file atomically. Requires the lock.
    pub fn write(&self, _lock: &StoreLock, config: &Config) -> Result<(), StoreError> {
        self.stage(config)?.commit()?;
        self.sweep_stale_temp_files();
        Ok(())
    }

    /// Temp files left by writers that were killed mid-save. Only the lock holder writes,
    /// so while we hold it every other temp file is stale.
    fn sweep_stale_temp_files(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!(".{CONFIG_FILE}.");
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Write the new config next to the old one without replacing it yet.
    pub fn stage(&self, config: &Config) -> Result<StagedWrite, StoreError> {
        self.ensure_dir()?;
        let text = toml::to_string_pretty(config)?;
        let temp = self
            .dir
            .join(format!(".{CONFIG_FILE}.{}.tmp", std::process::id()));
        let mut file = open_private(&temp, true).map_err(io_error("create", &temp))?;
        let staged = StagedWrite {
            temp: Some(temp.clone()),
            target: self.path(),
        };
        file.write_all(header().as_bytes())
            .and_then(|()| file.write_all(text.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(io_error("write", &temp))?;
        Ok(staged)
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        create_private_dir(&self.dir).map_err(io_error("create the directory", &self.dir))
    }
}

/// A fully written and synced temp file. Dropping it without `commit` removes it and
/// leaves the old config exactly as it was.
#[derive(Debug)]
pub struct StagedWrite {
    temp: Option<PathBuf>,
    target: PathBuf,
}

impl StagedWrite {
    pub fn commit(mut self) -> Result<(), StoreError> {
        let temp = self.temp.take().expect("a staged write commits once");
        fs::rename(&temp, &self.target).map_err(|e| {
            let _ = fs::remove_file(&temp);
            io_error("replace", &self.target)(e)
        })?;
        sync_parent(&self.target);
        Ok(())
    }
}

impl Drop for StagedWrite {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = fs::remove_file(temp);
        }
    }
}

fn header() -> String {
    "# ifs-connect connectors. Secrets are never stored here; they live in the OS keyring.\n\n"
        .to_owned()
}

fn parse(text: &str, path: &Path) -> Result<Config, StoreError> {
    let config: Config = toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_and_column(text, span.start))
            .unwrap_or((1, 1));
        StoreError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })?;
    if config.version > CONFIG_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: config.version,
        });
    }
    Ok(config)
}

/// One-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(unix)]
fn open_private(path: &Path, truncate: bool) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path, truncate: bool) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

/// Make the rename durable. Best effort: not every platform can open a directory.
fn sync_parent(path: &Path) {
    if let Some(parent) = path.parent()
        && let Ok(dir) = File::open(parent)
    {
        let _ = dir.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::connector::{Auth, OpenIdAuth};

    fn sample(name: &str) -> Connector {
        let mut c = Connector::new(
            name,
            Auth::OpenId(OpenIdAuth {
                authority_url: "https://ifs.example.com/auth/realms/prod".into(),
                client_id: "flow".into(),
                ..OpenIdAuth::default()
            }),
        );
        c.base_url = "https://ifs.example.com".into();
        c
    }

    #[test]
    fn a_missing_file_loads_as_defaults_with_the_default_group() {
        let dir = tempfile::tempdir().unwrap();
        let config = Store::new(dir.path()).load().unwrap();
        assert_eq!(config.agent_groups, ["default"]);
        assert!(config.connectors.is_empty());
    }

    #[test]
    fn round_trip_keeps_everything() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("nested"));
        let mut config = Config::default();
        config.connectors.push(sample("prod"));
        config.agent_groups.push("night".into());
        store
            .update(|c| {
                *c = config.clone();
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert_eq!(store.load().unwrap(), config);
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("cfg"));
        store.update(|_| Ok::<_, StoreError>(())).unwrap();
        let mode = fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = fs::metadata(store.dir()).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
    }

    #[test]
    fn a_corrupt_file_is_reported_with_line_and_column_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let broken = "version = 1\nagent_groups = [\"default\"]\n[[connector]]\nname = \n";
        fs::write(store.path(), broken).unwrap();
        let err = store.load().unwrap_err();
        let StoreError::Parse { line, column, .. } = &err else {
            panic!("expected a parse error, got {err}")
        };
        assert_eq!((*line, *column), (4, 8));
        assert!(err.to_string().contains("connectors.toml:4:8"), "{err}");
        let update = store.update(|c| {
            c.connectors.clear();
            Ok::<_, StoreError>(())
        });
        assert!(update.is_err());
        assert_eq!(fs::read_to_string(store.path()).unwrap(), broken);
    }

    #[test]
    fn a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        fs::write(store.path(), "version = 99\n").unwrap();
        assert!(matches!(
            store.load(),
            Err(StoreError::TooNew { found: 99, .. })
        ));
    }

    #[test]
    fn an_interrupted_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let mut old = Config::default();
        old.connectors.push(sample("old"));
        store.write(&store.lock().unwrap(), &old).unwrap();
        let before = fs::read(store.path()).unwrap();

        let mut new = old.clone();
        new.connectors.push(sample("new"));
        let staged = store.stage(&new).unwrap();
        // The process dies between the temp file and the rename.
        drop(staged);

        assert_eq!(fs::read(store.path()).unwrap(), before);
        assert_eq!(store.load().unwrap(), old);
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn a_second_writer_waits_then_gives_up_with_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let held = store.lock().unwrap();
        let other = store.clone();
        let started = Instant::now();
        let err = std::thread::spawn(move || other.lock().map(|_| ()))
            .join()
            .unwrap()
            .unwrap_err();
        assert!(started.elapsed() >= LOCK_WAIT);
        assert!(err.to_string().contains("another ifs-connect is saving"));
        drop(held);
        store.lock().expect("free again once released");
    }

    #[test]
    fn a_waiting_writer_gets_the_lock_when_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path());
        let held = store.lock().unwrap();
        let other = store.clone();
        let waiter = std::thread::spawn(move || {
            other.update(|c| {
                c.agent_groups.push("second".into());
                Ok::<_, StoreError>(())
            })
        });
        std::thread::sleep(Duration::from_millis(200));
        drop(held);
        waiter.join().unwrap().unwrap();
        assert!(store.load().unwrap().has_group("second"));
    }

    #[test]
    fn line_and_column_count_characters() {
        assert_eq!(line_and_column("ab\ncé d", 7), (2, 4));
        assert_eq!(line_and_column("x", 0), (1, 1));
    }
}
