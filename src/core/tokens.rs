//! Living connectors: the access token cache, refresh, token state and logout.
//!
//! The cached access token lives in the keyring (kind [`SecretKind::AccessToken`]) as a small
//! JSON object, never in a file: `{access_token, expires_at, scope, token_type, identity}`,
//! where `identity` is the ID token's iss/sub/aud (claims, not the token), which a refreshed
//! ID token must repeat. A refresh runs under an advisory lock on
//! `<config dir>/tokens/<connector id>.lock` (empty; nothing secret), so that concurrent
//! `ifs-connect token` calls refresh once: the others wait, then find the fresh cache.
//!
//! For the TUI: [`state`] says "logged in until ...", [`logout`] revokes and forgets.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::connector::{Connector, ConnectorId};
use super::login::{self, Identity, LoginError, LoginOptions, RefreshFailure, Revoked};
use super::secrets::{self, SecretKind, SecretsError, SharedSecrets};

/// A cached access token is used only while it has more than this left, so a script's request
/// does not reach the API with a token that expires on the way.
pub const MIN_REMAINING: Duration = Duration::from_secs(60);

/// When a token response has no `expires_in`, assume this lifetime rather than forever.
const ASSUMED_LIFETIME: i64 = 300;

/// How long a `token` call waits for another one's refresh. A refresh is a few HTTP requests,
/// each bounded by the HTTP timeout, so this is generous.
const LOCK_WAIT: Duration = Duration::from_secs(120);
const LOCK_POLL: Duration = Duration::from_millis(50);

/// The cached access token and what is known about it.
#[derive(Clone, Serialize, Deserialize)]
pub struct Cached {
    access_token: String,
    /// Seconds since the epoch.
    pub expires_at: i64,
    #[serde(default)]
    pub scope: Option<String>,
    pub token_type: String,
    #[serde(default)]
    pub identity: Identity,
}

impl Drop for Cached {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.access_token);
    }
}

impl std::fmt::Debug for Cached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached")
            .field("access_token", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish()
    }
}

impl Cached {
    /// From a login's token response (call right after it arrived: expiry counts from now).
    pub(crate) fn after_login(
        access_token: &SecretString,
        expires_in: Option<u64>,
        scope: Option<String>,
        identity: Identity,
    ) -> Self {
        Self::new(access_token, expires_in, scope, identity, now())
    }

    fn new(
        access_token: &SecretString,
        expires_in: Option<u64>,
        scope: Option<String>,
        identity: Identity,
        now: i64,
    ) -> Self {
        let lifetime = expires_in.map_or(ASSUMED_LIFETIME, |s| s.min(i64::MAX as u64) as i64);
        Self {
            access_token: access_token.expose_secret().to_owned(),
            expires_at: now.saturating_add(lifetime),
            scope,
            token_type: "Bearer".into(),
            identity,
        }
    }

    pub fn access_token(&self) -> SecretString {
        SecretString::from(self.access_token.clone())
    }

    pub fn expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.expires_at).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// More than [`MIN_REMAINING`] left at `now`.
    pub fn usable_at(&self, now: i64) -> bool {
        self.expires_at - now > MIN_REMAINING.as_secs() as i64
    }

    fn to_secret(&self) -> SecretString {
        let json = Zeroizing::new(serde_json::to_string(self).expect("the cache serialises"));
        SecretString::from(json.as_str().to_owned())
    }

    fn from_secret(secret: &SecretString) -> Option<Self> {
        serde_json::from_str(secret.expose_secret()).ok()
    }
}

fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Why no access token could be had. Messages say what to do and never hold a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Nothing usable is stored: a login is needed.
    #[error("log in again: ifs-connect login {name}")]
    LoginRequired { name: String },
    /// The provider refused the refresh token (expired or revoked); it was deleted.
    #[error("your session expired or was revoked: log in again (ifs-connect login {name})")]
    SessionExpired { name: String, detail: String },
    #[error(transparent)]
    Keyring(#[from] SecretsError),
    #[error("{0}")]
    Provider(LoginError),
    #[error("cannot use the token lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "another ifs-connect has been refreshing this connector's token for over {} s; \
         try again",
        LOCK_WAIT.as_secs()
    )]
    LockBusy,
}

impl TokenError {
    /// True when only an interactive login can help.
    pub fn needs_login(&self) -> bool {
        matches!(
            self,
            TokenError::LoginRequired { .. } | TokenError::SessionExpired { .. }
        )
    }
}

/// Where a token came from, for logs and the CLI's timing note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cache,
    Refresh,
    /// A new client credentials request (a service user has no refresh token).
    Request,
}

/// A usable access token.
#[derive(Debug)]
pub struct AccessToken {
    pub cached: Cached,
    pub source: Source,
}

/// Store the cache entry in the keyring.
pub async fn store_cached(
    secrets: &SharedSecrets,
    id: &ConnectorId,
    cached: &Cached,
) -> Result<(), SecretsError> {
    let (id, value) = (id.clone(), cached.to_secret());
    secrets::blocking(secrets, move |store| {
        store.set(&id, SecretKind::AccessToken, &value)
    })
    .await
}

/// The cache entry, if there is a readable one. An unreadable entry (an older format) counts
/// as none: it is replaced on the next refresh.
pub async fn load_cached(
    secrets: &SharedSecrets,
    id: &ConnectorId,
) -> Result<Option<Cached>, SecretsError> {
    let id = id.clone();
    let secret = secrets::blocking(secrets, move |store| {
        store.get(&id, SecretKind::AccessToken)
    })
    .await?;
    Ok(secret.as_ref().and_then(Cached::from_secret))
}

async fn get_secret(
    secrets: &SharedSecrets,
    id: &ConnectorId,
    kind: SecretKind,
) -> Result<Option<SecretString>, SecretsError> {
    let id = id.clone();
    secrets::blocking(secrets, move |store| store.get(&id, kind)).await
}

async fn delete_secret(
    secrets: &SharedSecrets,
    id: &ConnectorId,
    kind: SecretKind,
) -> Result<(), SecretsError> {
    let id = id.clone();
    secrets::blocking(secrets, move |store| store.delete(&id, kind)).await
}

async fn set_secret(
    secrets: &SharedSecrets,
    id: &ConnectorId,
    kind: SecretKind,
    value: SecretString,
) -> Result<(), SecretsError> {
    let id = id.clone();
    secrets::blocking(secrets, move |store| store.set(&id, kind, &value)).await
}

/// A valid access token from the cache, else from the refresh token (storing a rotated one
/// before returning), else [`TokenError::LoginRequired`]. Never opens a browser: on
/// [`TokenError::needs_login`] the caller runs a login and calls this again.
pub async fn access_token(
    secrets: &SharedSecrets,
    config_dir: &Path,
    connector: &Connector,
    options: &LoginOptions,
) -> Result<AccessToken, TokenError> {
    let secrets = &secrets::for_connector(connector, secrets);
    if !connector.auth_kind().is_interactive() {
        return service_access_token(secrets, config_dir, connector, options).await;
    }
    if let Some(cached) = load_cached(secrets, &connector.id).await?
        && cached.usable_at(now())
    {
        return Ok(AccessToken {
            cached,
            source: Source::Cache,
        });
    }
    let _lock = TokenLock::acquire(config_dir, &connector.id).await?;
    // Another process may have refreshed while this one waited for the lock.
    let cached = load_cached(secrets, &connector.id).await?;
    if let Some(cached) = cached.as_ref().filter(|c| c.usable_at(now())) {
        tracing::info!(connector = %connector.id, "token refreshed by another process meanwhile");
        return Ok(AccessToken {
            cached: cached.clone(),
            source: Source::Cache,
        });
    }
    let identity = cached.map(|c| c.identity.clone()).unwrap_or_default();
    let cached = refresh_locked(secrets, connector, options, identity).await?;
    Ok(AccessToken {
        cached,
        source: Source::Refresh,
    })
}

/// A service user's token: the cache while it has more than [`MIN_REMAINING`] left, else a
/// new client credentials request. Concurrent calls request once, under the refresh lock.
/// When the secret comes from a variable the cache is this process's memory, shared with no
/// other process, so there is nothing to lock.
async fn service_access_token(
    secrets: &SharedSecrets,
    config_dir: &Path,
    connector: &Connector,
    options: &LoginOptions,
) -> Result<AccessToken, TokenError> {
    let id = &connector.id;
    if let Some(cached) = load_cached(secrets, id).await?
        && cached.usable_at(now())
    {
        return Ok(AccessToken {
            cached,
            source: Source::Cache,
        });
    }
    let _lock = match secrets.process_only() {
        true => None,
        false => Some(TokenLock::acquire(config_dir, id).await?),
    };
    if let Some(cached) = load_cached(secrets, id).await?
        && cached.usable_at(now())
    {
        tracing::info!(connector = %id, "token requested by another process meanwhile");
        return Ok(AccessToken {
            cached,
            source: Source::Cache,
        });
    }
    tracing::info!(connector = %id, "requesting an access token with client credentials");
    let token = login::service_token(connector, secrets, options)
        .await
        .map_err(TokenError::Provider)?;
    let cached = Cached::new(
        &token.access_token,
        token.expires_in,
        token.scope.clone(),
        Identity::default(),
        now(),
    );
    store_cached(secrets, id, &cached).await?;
    Ok(AccessToken {
        cached,
        source: Source::Request,
    })
}

/// The refresh itself; the caller holds the lock.
async fn refresh_locked(
    secrets: &SharedSecrets,
    connector: &Connector,
    options: &LoginOptions,
    identity: Identity,
) -> Result<Cached, TokenError> {
    let id = &connector.id;
    let Some(refresh_token) = get_secret(secrets, id, SecretKind::RefreshToken).await? else {
        return Err(TokenError::LoginRequired {
            name: connector.name.clone(),
        });
    };
    tracing::info!(connector = %id, "refreshing the access token");
    let refreshed =
        match login::refresh(connector, secrets, options, refresh_token, &identity).await {
            Ok(refreshed) => refreshed,
            Err(RefreshFailure::Revoked(error)) => {
                tracing::warn!(connector = %id, "refresh token refused: {}", error.message);
                // The dead refresh token and its access token would only fail again.
                delete_secret(secrets, id, SecretKind::RefreshToken).await?;
                delete_secret(secrets, id, SecretKind::AccessToken).await?;
                return Err(TokenError::SessionExpired {
                    name: connector.name.clone(),
                    detail: error.message,
                });
            }
            Err(RefreshFailure::Failed(error)) => return Err(TokenError::Provider(error)),
        };
    // Rotation: the old refresh token is dead now; losing the new one would end the session.
    if let Some(rotated) = refreshed.refresh_token.clone() {
        set_secret(secrets, id, SecretKind::RefreshToken, rotated).await?;
    }
    let identity = refreshed.identity.clone().unwrap_or(identity);
    let cached = Cached::new(
        &refreshed.access_token,
        refreshed.expires_in,
        refreshed.scope.clone(),
        identity,
        now(),
    );
    store_cached(secrets, id, &cached).await?;
    Ok(cached)
}

/// The per-connector refresh lock; released on drop.
struct TokenLock {
    _file: File,
}

impl TokenLock {
    /// `<config dir>/tokens/<id>.lock`.
    fn path(config_dir: &Path, id: &ConnectorId) -> PathBuf {
        config_dir.join("tokens").join(format!("{id}.lock"))
    }

    async fn acquire(config_dir: &Path, id: &ConnectorId) -> Result<Self, TokenError> {
        let path = Self::path(config_dir, id);
        tokio::task::spawn_blocking(move || Self::acquire_blocking(&path))
            .await
            .map_err(|_| TokenError::LockBusy)?
    }

    fn acquire_blocking(path: &Path) -> Result<Self, TokenError> {
        let io = |source| TokenError::Lock {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io)?;
        let started = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                    std::thread::sleep(LOCK_POLL)
                }
                Err(fs::TryLockError::WouldBlock) => return Err(TokenError::LockBusy),
                Err(fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }
}

/// What the list shows for a connector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// A cached access token is valid until then.
    LoggedInUntil(OffsetDateTime),
    /// The access token expired (or none is cached) but a refresh token is stored: the next
    /// `token` call gets a new one without a login (unless the provider ended the session).
    Refreshable,
    /// An access token expired and there is no refresh token: log in again.
    Expired,
    /// Nothing stored.
    None,
}

/// The connector's token state from the keyring (two keyring reads, no network).
pub async fn state(secrets: &SharedSecrets, id: &ConnectorId) -> Result<TokenState, SecretsError> {
    let cached = load_cached(secrets, id).await?;
    let now = now();
    if let Some(cached) = cached.as_ref().filter(|c| c.expires_at > now) {
        return Ok(TokenState::LoggedInUntil(cached.expires_at()));
    }
    let refresh = get_secret(secrets, id, SecretKind::RefreshToken).await?;
    Ok(state_of(cached.is_some(), refresh.is_some()))
}

fn state_of(expired_access: bool, refresh: bool) -> TokenState {
    match (expired_access, refresh) {
        (_, true) => TokenState::Refreshable,
        (true, false) => TokenState::Expired,
        (false, false) => TokenState::None,
    }
}

/// What [`logout`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedOut {
    /// None when no refresh token was stored.
    pub revocation: Option<Revocation>,
    /// Whether a cached access token was deleted.
    pub access_token_deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    Revoked {
        endpoint: String,
    },
    /// The provider has no revocation endpoint: the refresh token lives until it expires.
    NotRevocable,
    /// The provider could not be asked; the token was still deleted here.
    Failed(String),
}

impl LoggedOut {
    pub fn nothing_stored(&self) -> bool {
        self.revocation.is_none() && !self.access_token_deleted
    }

    /// One line per thing done, for the CLI and the TUI.
    pub fn lines(&self) -> Vec<String> {
        if self.nothing_stored() {
            return vec!["nothing stored: there was no session to end".into()];
        }
        let mut lines = Vec::new();
        match &self.revocation {
            Some(Revocation::Revoked { endpoint }) => {
                lines.push(format!("refresh token revoked at {endpoint}"))
            }
            Some(Revocation::NotRevocable) => lines.push(
                "refresh token not revocable (the provider has no revocation endpoint); it stays \
                 valid at the provider until it expires"
                    .into(),
            ),
            Some(Revocation::Failed(why)) => {
                lines.push(format!("refresh token could not be revoked: {why}"))
            }
            None => {}
        }
        if self.revocation.is_some() {
            lines.push("refresh token deleted from the keyring".into());
        }
        if self.access_token_deleted {
            lines.push("cached access token deleted from the keyring".into());
        }
        lines
    }
}

/// Revoke the refresh token at the provider when it can be, then delete the refresh token and
/// the cached access token from the keyring (even when the revocation failed: the user asked
/// to be logged out here). Only a keyring failure is an error.
pub async fn logout(
    secrets: &SharedSecrets,
    connector: &Connector,
    options: &LoginOptions,
) -> Result<LoggedOut, SecretsError> {
    let secrets = &secrets::for_connector(connector, secrets);
    let id = &connector.id;
    let refresh = get_secret(secrets, id, SecretKind::RefreshToken).await?;
    let access = get_secret(secrets, id, SecretKind::AccessToken).await?;
    let revocation = match refresh {
        None => None,
        Some(token) => Some(
            match login::revoke_refresh_token(connector, secrets, options, token).await {
                Ok(Revoked::Revoked { endpoint }) => Revocation::Revoked { endpoint },
                Ok(Revoked::NotRevocable) => Revocation::NotRevocable,
                Err(error) => Revocation::Failed(error.message),
            },
        ),
    };
    delete_secret(secrets, id, SecretKind::RefreshToken).await?;
    delete_secret(secrets, id, SecretKind::AccessToken).await?;
    tracing::info!(connector = %id, "logged out");
    Ok(LoggedOut {
        revocation,
        access_token_deleted: access.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::secrets::MemorySecrets;
    use std::sync::Arc;

    fn cached(expires_in: Option<u64>, now: i64) -> Cached {
        Cached::new(
            &SecretString::from("AT"),
            expires_in,
            Some("openid".into()),
            Identity::default(),
            now,
        )
    }

    #[test]
    fn a_token_is_usable_while_more_than_a_minute_is_left() {
        let c = cached(Some(300), 1_000);
        assert_eq!(c.expires_at, 1_300);
        assert!(c.usable_at(1_000));
        assert!(c.usable_at(1_239));
        assert!(!c.usable_at(1_240));
        assert!(!c.usable_at(2_000));
        // Shorter-lived than the margin: never reused, always refreshed.
        assert!(!cached(Some(30), 1_000).usable_at(1_000));
    }

    #[test]
    fn no_expires_in_means_a_short_assumed_lifetime() {
        assert_eq!(cached(None, 10).expires_at, 10 + ASSUMED_LIFETIME);
        assert_eq!(cached(Some(u64::MAX), 10).expires_at, i64::MAX);
    }

    #[test]
    fn the_cache_entry_round_trips_and_debug_hides_the_token() {
        let c = cached(Some(60), 5);
        let back = Cached::from_secret(&c.to_secret()).unwrap();
        assert_eq!(back.access_token().expose_secret(), "AT");
        assert_eq!(back.expires_at, 65);
        assert!(!format!("{c:?}").contains("AT\""));
        assert!(Cached::from_secret(&SecretString::from("not json")).is_none());
    }

    #[test]
    fn states_from_what_is_stored() {
        assert_eq!(state_of(false, false), TokenState::None);
        assert_eq!(state_of(true, false), TokenState::Expired);
        assert_eq!(state_of(true, true), TokenState::Refreshable);
        assert_eq!(state_of(false, true), TokenState::Refreshable);
    }

    #[tokio::test]
    async fn state_reads_the_keyring() {
        let secrets: SharedSecrets = Arc::new(MemorySecrets::default());
        let id = ConnectorId::from("c1");
        assert_eq!(state(&secrets, &id).await.unwrap(), TokenState::None);
        store_cached(&secrets, &id, &cached(Some(600), now()))
            .await
            .unwrap();
        assert!(matches!(
            state(&secrets, &id).await.unwrap(),
            TokenState::LoggedInUntil(_)
        ));
        store_cached(&secrets, &id, &cached(Some(1), now() - 100))
            .await
            .unwrap();
        assert_eq!(state(&secrets, &id).await.unwrap(), TokenState::Expired);
    }

    #[test]
    fn logout_lines_say_what_was_done() {
        let nothing = LoggedOut {
            revocation: None,
            access_token_deleted: false,
        };
        assert_eq!(nothing.lines().len(), 1);
        assert!(nothing.lines()[0].contains("nothing stored"));
        let revoked = LoggedOut {
            revocation: Some(Revocation::Revoked {
                endpoint: "https://idp/revoke".into(),
            }),
            access_token_deleted: true,
        };
        let text = revoked.lines().join("\n");
        assert!(text.contains("revoked at https://idp/revoke"));
        assert!(text.contains("access token deleted"));
    }

    #[test]
    fn the_lock_serialises_and_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let id = ConnectorId::from("c1");
        let path = TokenLock::path(dir.path(), &id);
        let held = TokenLock::acquire_blocking(&path).unwrap();
        let other = File::open(&path).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(held);
        assert!(other.try_lock().is_ok());
        assert_eq!(fs::read(&path).unwrap(), b"");
    }
}
