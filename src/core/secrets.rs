//! Secrets live in the OS keyring and nowhere else.
//!
//! Entries use service `ifs-connect` and user `<connector id>/<kind>`, so renaming a
//! connector never orphans its secrets. The keyring API is blocking; async callers go
//! through [`SecretStore::set_async`] and friends, which run it on the blocking pool
//! (a direct call from inside a tokio runtime panics in the Secret Service backend).

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::connector::{Connector, ConnectorId};

pub const KEYRING_SERVICE: &str = "ifs-connect";

// Without a native store keyring 3 would silently keep secrets in memory only; refuse to build.
#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "macos",
    windows
)))]
compile_error!("ifs-connect has no OS keyring store for this platform; add one in Cargo.toml");

/// What a keyring entry holds for a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    ClientSecret,
    RefreshToken,
    AccessToken,
    /// What the stored tokens belong to (provider, client, Base URL) and whom they name: small
    /// JSON, no token, kept apart so it always fits the smallest store.
    Session,
    /// Continuation `n` (1-based) of a value too large for one entry; see [`set_split`].
    Part(SplitKind, u8),
}

/// The kinds whose values may be split over several entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SplitKind {
    RefreshToken,
    AccessToken,
}

impl SplitKind {
    fn kind(self) -> SecretKind {
        match self {
            SplitKind::RefreshToken => SecretKind::RefreshToken,
            SplitKind::AccessToken => SecretKind::AccessToken,
        }
    }
}

impl SecretKind {
    /// The entries a connector can have besides continuation parts.
    pub const ALL: [SecretKind; 4] = [
        SecretKind::ClientSecret,
        SecretKind::RefreshToken,
        SecretKind::AccessToken,
        SecretKind::Session,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "client_secret",
            SecretKind::RefreshToken => "refresh_token",
            SecretKind::AccessToken => "access_token",
            SecretKind::Session => "session",
            SecretKind::Part(of, _) => of.kind().as_str(),
        }
    }

    fn label(self) -> &'static str {
        match self {
            SecretKind::ClientSecret => "client secret",
            SecretKind::RefreshToken => "refresh token",
            SecretKind::AccessToken => "access token",
            SecretKind::Session => "session record",
            SecretKind::Part(of, _) => of.kind().label(),
        }
    }
}

/// The keyring user name for one secret of one connector.
pub fn entry_user(id: &ConnectorId, kind: SecretKind) -> String {
    match kind {
        SecretKind::Part(_, n) => format!("{id}/{}.part{n}", kind.as_str()),
        _ => format!("{id}/{}", kind.as_str()),
    }
}

/// Windows Credential Manager refuses a password over 2,560 bytes of UTF-16, i.e. 1,280
/// UTF-16 units; Keycloak access tokens with IFS's claims are often longer. Values are split
/// so that every entry stays below this on every platform.
pub const MAX_ENTRY_UNITS: usize = 1_200;
/// At most this many continuation parts (about 36,000 characters in all).
pub const MAX_PARTS: u8 = 30;
/// The first entry of a split value: `ifs-connect-split:<parts>:<total chars>:` then its text.
const SPLIT_HEADER: &str = "ifs-connect-split:";

/// Store a value that may be larger than one keyring entry: continuation parts first, the head
/// (which names how many parts follow and the total length) last, so a reader never finds a
/// head whose parts are missing. Stale parts of a longer earlier value are removed.
pub fn set_split(
    store: &dyn SecretStore,
    id: &ConnectorId,
    of: SplitKind,
    value: &SecretString,
) -> Result<(), SecretsError> {
    let text = value.expose_secret();
    let chunks = chunks(text, MAX_ENTRY_UNITS - 40);
    if chunks.len() == 1 {
        store.set(id, of.kind(), value)?;
        return delete_parts(store, id, of, 1);
    }
    let parts = chunks.len() - 1;
    if parts > MAX_PARTS as usize {
        return Err(SecretsError::Failed {
            what: of.kind().label(),
            detail: format!(
                "the value is too large for the keyring ({} characters)",
                text.len()
            ),
        });
    }
    for (n, chunk) in chunks.iter().enumerate().skip(1) {
        let part = SecretKind::Part(of, n as u8);
        store.set(id, part, &SecretString::from(chunk.to_string()))?;
    }
    let head = format!(
        "{SPLIT_HEADER}{parts}:{}:{}",
        text.chars().count(),
        chunks[0]
    );
    store.set(id, of.kind(), &SecretString::from(head))?;
    delete_parts(store, id, of, parts as u8 + 1)
}

/// Read what [`set_split`] stored; a head whose parts are missing or do not add up reads as
/// nothing (a half-written value is never handed out).
pub fn get_split(
    store: &dyn SecretStore,
    id: &ConnectorId,
    of: SplitKind,
) -> Result<Option<SecretString>, SecretsError> {
    let Some(head) = store.get(id, of.kind())? else {
        return Ok(None);
    };
    let Some(rest) = head.expose_secret().strip_prefix(SPLIT_HEADER) else {
        return Ok(Some(head));
    };
    let mut fields = rest.splitn(3, ':');
    let (Some(parts), Some(total), Some(first)) = (fields.next(), fields.next(), fields.next())
    else {
        return Ok(None);
    };
    let (Ok(parts), Ok(total)) = (parts.parse::<u8>(), total.parse::<usize>()) else {
        return Ok(None);
    };
    let mut text = zeroize::Zeroizing::new(first.to_owned());
    for n in 1..=parts.min(MAX_PARTS) {
        match store.get(id, SecretKind::Part(of, n))? {
            Some(part) => text.push_str(part.expose_secret()),
            None => return Ok(None),
        }
    }
    Ok((text.chars().count() == total).then(|| SecretString::from(text.as_str().to_owned())))
}

/// Delete a value and all its continuation parts.
pub fn delete_split(
    store: &dyn SecretStore,
    id: &ConnectorId,
    of: SplitKind,
) -> Result<(), SecretsError> {
    store.delete(id, of.kind())?;
    delete_parts(store, id, of, 1)
}

fn delete_parts<S: SecretStore + ?Sized>(
    store: &S,
    id: &ConnectorId,
    of: SplitKind,
    from: u8,
) -> Result<(), SecretsError> {
    for n in from..=MAX_PARTS {
        // Parts are written densely from 1, so the first absent one ends the search.
        if store.get(id, SecretKind::Part(of, n))?.is_none() {
            break;
        }
        store.delete(id, SecretKind::Part(of, n))?;
    }
    Ok(())
}

/// Cut text into pieces of at most `units` UTF-16 units, never inside a character.
fn chunks(text: &str, units: usize) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut used) = (0, 0);
    for (at, c) in text.char_indices() {
        if used + c.len_utf16() > units {
            pieces.push(&text[start..at]);
            (start, used) = (at, 0);
        }
        used += c.len_utf16();
    }
    pieces.push(&text[start..]);
    pieces
}

/// Why the keyring could not be used. Messages name the cause and the fix, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error(
        "the OS keyring is not available ({detail}). On Linux start a Secret Service such as \
         gnome-keyring in a D-Bus session (check that DBUS_SESSION_BUS_ADDRESS is set); \
         ifs-connect never falls back to storing secrets in a file"
    )]
    Unavailable { detail: String },
    #[error(
        "the OS keyring is locked or refused access ({detail}). Unlock it (e.g. log in to the \
         desktop, or run `gnome-keyring-daemon --unlock` in this session) and try again"
    )]
    Locked { detail: String },
    /// The connector reads its client secret from an environment variable that is not set.
    #[error(
        "the environment variable {var} is not set, and this connector reads its client secret \
         from it. Fix: export {var} with the client secret before running ifs-connect (in CI, \
         from the runner's secret store), or keep the secret in the keyring instead: \
         `ifs-connect edit NAME --client-secret-stdin`"
    )]
    EnvUnset { var: String },
    #[error("the OS keyring failed while handling the {what} ({detail})")]
    Failed { what: &'static str, detail: String },
    #[error("the keyring task stopped unexpectedly")]
    TaskFailed,
}

/// Where secrets are kept. The real implementation is [`OsKeyring`]; an in-memory one
/// exists for unit tests of pure logic.
pub trait SecretStore: Send + Sync + 'static {
    fn set(
        &self,
        id: &ConnectorId,
        kind: SecretKind,
        value: &SecretString,
    ) -> Result<(), SecretsError>;
    fn get(&self, id: &ConnectorId, kind: SecretKind)
    -> Result<Option<SecretString>, SecretsError>;
    /// Deleting a secret that does not exist is not an error.
    fn delete(&self, id: &ConnectorId, kind: SecretKind) -> Result<(), SecretsError>;

    fn delete_all(&self, id: &ConnectorId) -> Result<(), SecretsError> {
        SecretKind::ALL
            .iter()
            .try_for_each(|kind| self.delete(id, *kind))?;
        [SplitKind::RefreshToken, SplitKind::AccessToken]
            .into_iter()
            .try_for_each(|of| delete_parts(self, id, of, 1))
    }

    /// True when what is stored here dies with this process (nothing reaches the keyring).
    fn process_only(&self) -> bool {
        false
    }
}

pub type SharedSecrets = Arc<dyn SecretStore>;

/// Run a keyring call on the blocking pool.
pub async fn blocking<T, F>(secrets: &SharedSecrets, call: F) -> Result<T, SecretsError>
where
    T: Send + 'static,
    F: FnOnce(&dyn SecretStore) -> Result<T, SecretsError> + Send + 'static,
{
    let secrets = Arc::clone(secrets);
    tokio::task::spawn_blocking(move || call(secrets.as_ref()))
        .await
        .map_err(|_| SecretsError::TaskFailed)?
}

/// The platform keyring: Secret Service on Linux, Keychain on macOS, Credential Manager on
/// Windows.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsKeyring;

impl OsKeyring {
    fn entry(id: &ConnectorId, kind: SecretKind) -> Result<keyring::Entry, SecretsError> {
        keyring::Entry::new(KEYRING_SERVICE, &entry_user(id, kind)).map_err(|e| classify(e, kind))
    }
}

impl SecretStore for OsKeyring {
    fn set(
        &self,
        id: &ConnectorId,
        kind: SecretKind,
        value: &SecretString,
    ) -> Result<(), SecretsError> {
        Self::entry(id, kind)?
            .set_password(value.expose_secret())
            .map_err(|e| classify(e, kind))
    }

    fn get(
        &self,
        id: &ConnectorId,
        kind: SecretKind,
    ) -> Result<Option<SecretString>, SecretsError> {
        match Self::entry(id, kind)?.get_password() {
            Ok(value) => Ok(Some(SecretString::from(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(classify(e, kind)),
        }
    }

    fn delete(&self, id: &ConnectorId, kind: SecretKind) -> Result<(), SecretsError> {
        match Self::entry(id, kind)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(classify(e, kind)),
        }
    }
}

/// The store to use for one connector's secrets: `keyring` itself, or, for a connector that
/// names an environment variable for its client secret, an [`EnvSecrets`] that never touches
/// the keyring. Idempotent: a store that is already process-only is returned as it is, so
/// every layer may call this.
pub fn for_connector(connector: &Connector, keyring: &SharedSecrets) -> SharedSecrets {
    match connector.client_secret_env() {
        Some(var) if !keyring.process_only() => Arc::new(EnvSecrets::new(var)),
        _ => Arc::clone(keyring),
    }
}

/// A connector whose client secret is in an environment variable (CI runners and containers
/// rarely have a Secret Service): the secret is read from there on each use, and the tokens
/// it gets stay in this process's memory, so nothing reaches the keyring or a file.
#[derive(Debug)]
pub struct EnvSecrets {
    var: String,
    tokens: MemorySecrets,
}

impl EnvSecrets {
    pub fn new(var: impl Into<String>) -> Self {
        Self {
            var: var.into(),
            tokens: MemorySecrets::default(),
        }
    }

    fn read_var(&self) -> Result<SecretString, SecretsError> {
        let unset = || SecretsError::EnvUnset {
            var: self.var.clone(),
        };
        let value = std::env::var_os(&self.var).ok_or_else(unset)?;
        let text = value.into_string().map_err(|_| SecretsError::Failed {
            what: "client secret",
            detail: format!("the environment variable {} is not valid UTF-8", self.var),
        })?;
        // A trailing newline from `$(cat file)` or a secrets mount is never part of a secret.
        let secret = SecretString::from(text.trim_end_matches(['\n', '\r']).to_owned());
        if secret.expose_secret().is_empty() {
            return Err(unset());
        }
        Ok(secret)
    }
}

impl SecretStore for EnvSecrets {
    fn set(
        &self,
        id: &ConnectorId,
        kind: SecretKind,
        value: &SecretString,
    ) -> Result<(), SecretsError> {
        match kind {
            SecretKind::ClientSecret => Err(SecretsError::Failed {
                what: "client secret",
                detail: format!("it comes from the environment variable {}", self.var),
            }),
            _ => self.tokens.set(id, kind, value),
        }
    }

    fn get(
        &self,
        id: &ConnectorId,
        kind: SecretKind,
    ) -> Result<Option<SecretString>, SecretsError> {
        match kind {
            SecretKind::ClientSecret => self.read_var().map(Some),
            _ => self.tokens.get(id, kind),
        }
    }

    fn delete(&self, id: &ConnectorId, kind: SecretKind) -> Result<(), SecretsError> {
        match kind {
            SecretKind::ClientSecret => Ok(()),
            _ => self.tokens.delete(id, kind),
        }
    }

    fn process_only(&self) -> bool {
        true
    }
}

/// Turn keyring's errors into ones that say what to do. The keyring crate's messages
/// never contain the secret itself, so its detail text is safe to show.
fn classify(error: keyring::Error, kind: SecretKind) -> SecretsError {
    let detail = error.to_string();
    match error {
        keyring::Error::PlatformFailure(_) => SecretsError::Unavailable { detail },
        keyring::Error::NoStorageAccess(_) => {
            if looks_like_missing_bus(&detail) {
                SecretsError::Unavailable { detail }
            } else {
                SecretsError::Locked { detail }
            }
        }
        _ => SecretsError::Failed {
            what: kind.label(),
            detail,
        },
    }
}

fn looks_like_missing_bus(detail: &str) -> bool {
    let detail = detail.to_ascii_lowercase();
    [
        "d-bus",
        "dbus",
        "bus address",
        "no such file",
        "connection refused",
    ]
    .iter()
    .any(|needle| detail.contains(needle))
}

/// Secrets held in memory, for unit tests of pure logic. Can be told to fail writes.
#[derive(Debug, Default)]
pub struct MemorySecrets {
    entries: std::sync::Mutex<std::collections::HashMap<String, String>>,
    fail_writes: std::sync::atomic::AtomicBool,
    /// Refuse values over this many bytes of UTF-16, as Windows Credential Manager does.
    max_utf16_bytes: Option<usize>,
}

impl MemorySecrets {
    /// A store with Windows Credential Manager's limit: 2,560 bytes of UTF-16 per value
    /// (keyring's windows store answers `TooLong` beyond it).
    pub fn with_windows_limit() -> Self {
        Self {
            max_utf16_bytes: Some(2_560),
            ..Self::default()
        }
    }

    pub fn fail_writes(&self, fail: bool) {
        self.fail_writes
            .store(fail, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("poisoned").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn check_writable(&self) -> Result<(), SecretsError> {
        if self.fail_writes.load(std::sync::atomic::Ordering::SeqCst) {
            Err(SecretsError::Unavailable {
                detail: "memory store told to fail".into(),
            })
        } else {
            Ok(())
        }
    }
}

impl SecretStore for MemorySecrets {
    fn set(
        &self,
        id: &ConnectorId,
        kind: SecretKind,
        value: &SecretString,
    ) -> Result<(), SecretsError> {
        self.check_writable()?;
        let bytes = value.expose_secret().encode_utf16().count() * 2;
        if let Some(max) = self.max_utf16_bytes.filter(|max| bytes > *max) {
            return Err(SecretsError::Failed {
                what: kind.label(),
                detail: format!("password too long: {bytes} bytes, at most {max}"),
            });
        }
        self.entries
            .lock()
            .expect("poisoned")
            .insert(entry_user(id, kind), value.expose_secret().to_owned());
        Ok(())
    }

    fn get(
        &self,
        id: &ConnectorId,
        kind: SecretKind,
    ) -> Result<Option<SecretString>, SecretsError> {
        Ok(self
            .entries
            .lock()
            .expect("poisoned")
            .get(&entry_user(id, kind))
            .map(|v| SecretString::from(v.clone())))
    }

    fn delete(&self, id: &ConnectorId, kind: SecretKind) -> Result<(), SecretsError> {
        self.check_writable()?;
        self.entries
            .lock()
            .expect("poisoned")
            .remove(&entry_user(id, kind));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_use_the_stable_id() {
        let id = ConnectorId::from("0123");
        assert_eq!(
            entry_user(&id, SecretKind::ClientSecret),
            "0123/client_secret"
        );
        assert_eq!(
            entry_user(&id, SecretKind::RefreshToken),
            "0123/refresh_token"
        );
    }

    #[test]
    fn errors_never_echo_values_and_name_a_fix() {
        let e = SecretsError::Unavailable {
            detail: "no bus".into(),
        };
        let text = e.to_string();
        assert!(text.contains("D-Bus"));
        assert!(text.contains("never falls back"));
    }

    #[test]
    fn env_secrets_read_the_variable_and_keep_tokens_in_memory() {
        let var = "IFS_CONNECT_UNIT_TEST_SECRET_ENV";
        let id = ConnectorId::from("e1");
        let store = EnvSecrets::new(var);
        // SAFETY of the test: no other test reads or writes this variable.
        let err = store.get(&id, SecretKind::ClientSecret).unwrap_err();
        assert!(matches!(&err, SecretsError::EnvUnset { var: v } if v == var));
        assert!(err.to_string().contains(var), "{err}");
        store
            .set(&id, SecretKind::AccessToken, &SecretString::from("at"))
            .unwrap();
        assert!(store.get(&id, SecretKind::AccessToken).unwrap().is_some());
        assert!(store.process_only());
        assert!(
            store
                .set(&id, SecretKind::ClientSecret, &SecretString::from("x"))
                .is_err()
        );
    }

    #[test]
    fn for_connector_scopes_only_connectors_that_name_a_variable() {
        use crate::core::connector::{Auth, ClientCredentialsAuth};
        let keyring: SharedSecrets = Arc::new(MemorySecrets::default());
        let mut c = Connector::new(
            "c",
            Auth::ClientCredentials(ClientCredentialsAuth::default()),
        );
        assert!(!for_connector(&c, &keyring).process_only());
        if let Auth::ClientCredentials(a) = &mut c.auth {
            a.client_secret_env = Some("X".into());
        }
        let scoped = for_connector(&c, &keyring);
        assert!(scoped.process_only());
        // Idempotent: scoping again keeps the same in-memory tokens.
        assert!(Arc::ptr_eq(&scoped, &for_connector(&c, &scoped)));
    }

    #[test]
    fn memory_store_round_trip_and_delete_all() {
        let store = MemorySecrets::default();
        let id = ConnectorId::from("a");
        store
            .set(&id, SecretKind::ClientSecret, &SecretString::from("s"))
            .unwrap();
        store
            .set(&id, SecretKind::RefreshToken, &SecretString::from("r"))
            .unwrap();
        assert_eq!(
            store
                .get(&id, SecretKind::ClientSecret)
                .unwrap()
                .unwrap()
                .expose_secret(),
            "s"
        );
        store.delete_all(&id).unwrap();
        assert!(store.is_empty());
    }

    fn token(len: usize) -> SecretString {
        SecretString::from(
            (0..len)
                .map(|i| char::from(b'a' + (i % 26) as u8))
                .collect::<String>(),
        )
    }

    #[test]
    fn a_value_over_the_windows_limit_is_split_and_read_back_whole() {
        let store = MemorySecrets::with_windows_limit();
        let id = ConnectorId::from("w");
        let big = token(5_000);
        // What an unsplit write gets from Windows Credential Manager.
        assert!(store.set(&id, SecretKind::AccessToken, &big).is_err());
        set_split(&store, &id, SplitKind::AccessToken, &big).unwrap();
        assert!(store.len() > 1);
        let back = get_split(&store, &id, SplitKind::AccessToken)
            .unwrap()
            .unwrap();
        assert_eq!(back.expose_secret(), big.expose_secret());
        // A shorter value later leaves no stale parts behind.
        set_split(&store, &id, SplitKind::AccessToken, &token(10)).unwrap();
        assert_eq!(store.len(), 1);
        let back = get_split(&store, &id, SplitKind::AccessToken)
            .unwrap()
            .unwrap();
        assert_eq!(back.expose_secret(), token(10).expose_secret());
        set_split(&store, &id, SplitKind::RefreshToken, &big).unwrap();
        store.delete_all(&id).unwrap();
        assert!(store.is_empty());
    }

    #[test]
    fn a_split_value_with_a_missing_part_reads_as_nothing() {
        let store = MemorySecrets::with_windows_limit();
        let id = ConnectorId::from("w");
        set_split(&store, &id, SplitKind::RefreshToken, &token(3_000)).unwrap();
        store
            .delete(&id, SecretKind::Part(SplitKind::RefreshToken, 2))
            .unwrap();
        assert!(
            get_split(&store, &id, SplitKind::RefreshToken)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn chunks_respect_utf16_units_and_character_boundaries() {
        let text = "é".repeat(7) + &"😀".repeat(3);
        let pieces = chunks(&text, 4);
        assert_eq!(pieces.concat(), text);
        assert!(pieces.iter().all(|p| p.encode_utf16().count() <= 4));
    }
}
