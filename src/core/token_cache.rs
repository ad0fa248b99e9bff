//! The token cache: what ifs-connect keeps of a login, in the keyring only, never in a file.
//!
//! The cached access token is a JSON object (`{access_token, expires_at, scope, token_type,
//! session_end}`) under kind [`SecretKind::AccessToken`], split over several entries when it is
//! too large for one. Beside the tokens, a small [`SecretKind::Session`] entry records what they
//! belong to (a [`Binding`]: provider, client ID, Base URL) and whom they name (the ID token's
//! iss/sub/aud, which a refreshed ID token must repeat). Tokens are used only while their
//! binding matches the connector as it is now; on a mismatch they are deleted, never sent to
//! the new place.
//!
//! Writers that must not interleave (a refresh, a login storing its tokens) hold an advisory
//! lock on `<config dir>/tokens/<connector id>.lock` (empty; nothing secret).
//!
//! A leaf: the login engine stores here, and `core::tokens` (refresh, logout, state) reads and
//! renews what is here through the engine; nothing here calls a provider.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::connector::{Auth, Connector, ConnectorId};
use super::ifs::session::{Session, SessionEnd};
use super::login::Identity;
use super::secrets::{self, SecretKind, SecretsError, SharedSecrets, SplitKind};

/// Why the cache could not be written under its lock.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error(transparent)]
    Keyring(#[from] SecretsError),
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

/// A cached access token is used only while it has more than this left, so a script's request
/// does not reach the API with a token that expires on the way.
pub const MIN_REMAINING: Duration = Duration::from_secs(60);
/// When a token response has no `expires_in`, assume this lifetime rather than forever.
pub(crate) const ASSUMED_LIFETIME: i64 = 300;
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
    /// When the refresh token stops working (from `refresh_expires_in`); None when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_end: Option<SessionEnd>,
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
    ) -> Self {
        Self::new(access_token, expires_in, scope, now())
    }

    pub(crate) fn new(
        access_token: &SecretString,
        expires_in: Option<u64>,
        scope: Option<String>,
        now: i64,
    ) -> Self {
        let lifetime = expires_in.map_or(ASSUMED_LIFETIME, |s| s.min(i64::MAX as u64) as i64);
        Self {
            access_token: access_token.expose_secret().to_owned(),
            expires_at: now.saturating_add(lifetime),
            scope,
            token_type: "Bearer".into(),
            session_end: None,
        }
    }

    /// The same entry with the session's end, as the token response gave it.
    pub(crate) fn with_session(mut self, end: Option<SessionEnd>) -> Self {
        self.session_end = end;
        self
    }

    pub fn access_token(&self) -> SecretString {
        SecretString::from(self.access_token.clone())
    }

    pub fn expires_at(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(self.expires_at).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// More than [`MIN_REMAINING`] left at `now`.
    pub fn usable_at(&self, now: i64) -> bool {
        self.expires_at.saturating_sub(now) > MIN_REMAINING.as_secs() as i64
    }

    pub(crate) fn to_secret(&self) -> SecretString {
        let json = Zeroizing::new(serde_json::to_string(self).expect("the cache serialises"));
        SecretString::from(json.as_str().to_owned())
    }

    pub(crate) fn from_secret(secret: &SecretString) -> Option<Self> {
        serde_json::from_str(secret.expose_secret()).ok()
    }
}

/// What stored tokens belong to: the connector settings that decide where a refresh token (and
/// the client secret with it) is sent and where an access token is used. Tokens stored under
/// one binding are never used under another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    /// `openid`, `oauth2` or `client-credentials`.
    pub auth: String,
    /// The authority URL (OpenId, a service user with one) or the token endpoint.
    pub provider: String,
    /// An OAuth2 connector's issuer, whose discovery names the revocation endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    pub client_id: String,
    /// Where access tokens go (the API probe, scripts).
    pub base_url: String,
}

impl Binding {
    pub fn of(connector: &Connector) -> Self {
        let (provider, issuer) = match &connector.auth {
            Auth::OpenId(a) => (a.authority_url.clone(), None),
            Auth::OAuth2(a) => (a.token_endpoint.clone(), a.issuer.clone()),
            Auth::ClientCredentials(a) => (
                a.authority_url
                    .clone()
                    .or_else(|| a.token_endpoint.clone())
                    .unwrap_or_default(),
                None,
            ),
        };
        Self {
            auth: connector.auth_kind().short().to_owned(),
            provider,
            issuer,
            client_id: connector.auth.client_id().to_owned(),
            base_url: connector.base_url.clone(),
        }
    }
}

/// Whether a connector's stored tokens may stay when it changes from `before` to `after`.
pub fn tokens_survive(before: &Connector, after: &Connector) -> bool {
    Binding::of(before) == Binding::of(after)
}

/// The hosts (with ports) a connector's client secret is sent to: its token endpoint's, and
/// its issuer's or authority's for discovery-named endpoints. Empty for OpenId connectors.
pub fn secret_hosts(connector: &Connector) -> Vec<String> {
    let urls: Vec<&String> = match &connector.auth {
        Auth::OpenId(_) => return Vec::new(),
        Auth::OAuth2(a) => std::iter::once(&a.token_endpoint)
            .chain(a.issuer.as_ref())
            .collect(),
        Auth::ClientCredentials(a) => a.token_endpoint.iter().chain(&a.authority_url).collect(),
    };
    let host = |url: &str| {
        url::Url::parse(url)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_else(|| url.to_owned())
    };
    let mut hosts: Vec<String> = urls.into_iter().map(|u| host(u)).collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// What the session entry records: the binding and whom the tokens name.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SessionRecord {
    binding: Binding,
    #[serde(default)]
    identity: Identity,
}

/// Store the cache entry in the keyring (split over several entries when it is large).
pub async fn store_cached(
    secrets: &SharedSecrets,
    id: &ConnectorId,
    cached: &Cached,
) -> Result<(), SecretsError> {
    let (id, value) = (id.clone(), cached.to_secret());
    secrets::blocking(secrets, move |store| {
        secrets::set_split(store, &id, SplitKind::AccessToken, &value)
    })
    .await
}

/// The cache entry, if there is a readable one. An unreadable entry (an older format) counts
/// as none: it is replaced on the next refresh.
pub async fn load_cached(
    secrets: &SharedSecrets,
    id: &ConnectorId,
) -> Result<Option<Cached>, SecretsError> {
    let secret = get_split(secrets, id, SplitKind::AccessToken).await?;
    Ok(secret.as_ref().and_then(Cached::from_secret))
}

pub(crate) async fn get_split(
    secrets: &SharedSecrets,
    id: &ConnectorId,
    of: SplitKind,
) -> Result<Option<SecretString>, SecretsError> {
    let id = id.clone();
    secrets::blocking(secrets, move |store| secrets::get_split(store, &id, of)).await
}

pub(crate) async fn get_secret(
    secrets: &SharedSecrets,
    id: &ConnectorId,
    kind: SecretKind,
) -> Result<Option<SecretString>, SecretsError> {
    let id = id.clone();
    secrets::blocking(secrets, move |store| store.get(&id, kind)).await
}

/// Delete every token entry of a connector (refresh, access, session), not the client secret.
pub(crate) async fn forget_tokens(
    secrets: &SharedSecrets,
    id: &ConnectorId,
) -> Result<(), SecretsError> {
    let id = id.clone();
    secrets::blocking(secrets, move |store| {
        secrets::delete_split(store, &id, SplitKind::RefreshToken)?;
        secrets::delete_split(store, &id, SplitKind::AccessToken)?;
        store.delete(&id, SecretKind::Session)
    })
    .await
}

/// Delete the tokens only if the stored refresh token is still `used`: a login that finished
/// meanwhile stored new ones, which a failure of the old refresh token must not touch.
pub(crate) async fn forget_tokens_if_unchanged(
    secrets: &SharedSecrets,
    id: &ConnectorId,
    used: &SecretString,
) -> Result<bool, SecretsError> {
    let stored = get_split(secrets, id, SplitKind::RefreshToken).await?;
    if stored.is_some_and(|s| s.expose_secret() == used.expose_secret()) {
        forget_tokens(secrets, id).await?;
        return Ok(true);
    }
    Ok(false)
}

/// The identity the stored tokens name, when they belong to the connector as it is now. Tokens
/// stored for another provider, client or Base URL (or by a version that recorded no binding)
/// are deleted here and count as none, so they are never sent anywhere.
pub async fn checked_session(
    secrets: &SharedSecrets,
    connector: &Connector,
) -> Result<Option<Identity>, SecretsError> {
    let id = &connector.id;
    let session = get_secret(secrets, id, SecretKind::Session)
        .await?
        .and_then(|s| serde_json::from_str::<SessionRecord>(s.expose_secret()).ok());
    if let Some(session) = session.filter(|s| s.binding == Binding::of(connector)) {
        return Ok(Some(session.identity));
    }
    let stored_refresh = get_secret(secrets, id, SecretKind::RefreshToken).await?;
    let stored_access = get_secret(secrets, id, SecretKind::AccessToken).await?;
    if stored_refresh.is_some() || stored_access.is_some() {
        tracing::warn!(connector = %id, "stored tokens belong to other connector settings; deleting them");
        forget_tokens(secrets, id).await?;
    }
    Ok(None)
}

pub(crate) async fn store_session(
    secrets: &SharedSecrets,
    connector: &Connector,
    identity: Identity,
) -> Result<(), SecretsError> {
    let session = SessionRecord {
        binding: Binding::of(connector),
        identity,
    };
    let json = serde_json::to_string(&session).expect("the session serialises");
    let id = connector.id.clone();
    secrets::blocking(secrets, move |store| {
        store.set(&id, SecretKind::Session, &SecretString::from(json))
    })
    .await
}

/// What a login hands over to be kept.
pub struct LoginTokens {
    pub refresh_token: Option<SecretString>,
    pub cached: Cached,
    pub identity: Identity,
}

/// Keep a login's tokens, under the connector's token lock (when `lock_dir` is given) so a
/// refresh running at the same time cannot interleave: the session record first, then the
/// refresh token (or, when the login got none, the old one is deleted: it belongs to an earlier
/// session), then the access token cache. A cache that cannot be written is not an error (the
/// next `token` refreshes); it is returned so the caller can say so.
pub async fn store_login(
    secrets: &SharedSecrets,
    lock_dir: Option<&Path>,
    connector: &Connector,
    tokens: LoginTokens,
) -> Result<Option<SecretsError>, CacheError> {
    let _lock = match lock_dir {
        Some(dir) => Some(TokenLock::acquire(dir, &connector.id).await?),
        None => None,
    };
    let id = connector.id.clone();
    // A new session: nothing of the old one may stay readable while this is written.
    forget_tokens(secrets, &id).await?;
    store_session(secrets, connector, tokens.identity).await?;
    if let Some(refresh) = tokens.refresh_token {
        let id = id.clone();
        secrets::blocking(secrets, move |store| {
            secrets::set_split(store, &id, SplitKind::RefreshToken, &refresh)
        })
        .await?;
    }
    Ok(store_cached(secrets, &id, &tokens.cached).await.err())
}

/// Keep a service user's token with the binding it belongs to. Callers treat a failure as no
/// error: the token is good, and the next call requests another.
pub(crate) async fn store_service_cache(
    secrets: &SharedSecrets,
    connector: &Connector,
    cached: &Cached,
) -> Result<(), SecretsError> {
    store_session(secrets, connector, Identity::default()).await?;
    store_cached(secrets, &connector.id, cached).await
}

/// The connector's session from the keyring (no network): when it ends.
pub async fn session(secrets: &SharedSecrets, id: &ConnectorId) -> Result<Session, SecretsError> {
    let cached = load_cached(secrets, id).await?;
    let refresh = get_secret(secrets, id, SecretKind::RefreshToken).await?;
    Ok(match (refresh.is_some(), cached) {
        (true, cached) => Session::Refreshable {
            end: cached.and_then(|c| c.session_end),
        },
        (false, Some(cached)) => Session::AccessOnly {
            until: cached.expires_at,
        },
        (false, None) => Session::SignedOut,
    })
}

/// The per-connector refresh lock; released on drop.
pub(crate) struct TokenLock {
    _file: File,
}

impl TokenLock {
    /// `<config dir>/tokens/<id>.lock`.
    pub(crate) fn path(config_dir: &Path, id: &ConnectorId) -> PathBuf {
        config_dir.join("tokens").join(format!("{id}.lock"))
    }

    pub(crate) async fn acquire(config_dir: &Path, id: &ConnectorId) -> Result<Self, CacheError> {
        let path = Self::path(config_dir, id);
        tokio::task::spawn_blocking(move || Self::acquire_blocking(&path))
            .await
            .map_err(|_| CacheError::LockBusy)?
    }

    pub(crate) fn acquire_blocking(path: &Path) -> Result<Self, CacheError> {
        let io = |source| CacheError::Lock {
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
                Err(fs::TryLockError::WouldBlock) => return Err(CacheError::LockBusy),
                Err(fs::TryLockError::Error(e)) => return Err(io(e)),
            }
        }
    }
}

pub(crate) fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}
