//! Living connectors: the access token cache, refresh, token state and logout.
//!
//! The cached access token lives in the keyring (kind [`SecretKind::AccessToken`], split over
//! several entries when it is too large for one) as a JSON object, never in a file:
//! `{access_token, expires_at, scope, token_type}`. Beside the tokens, a small
//! [`SecretKind::Session`] entry records what they belong to (a [`Binding`]: provider, client
//! ID, Base URL) and whom they name (the ID token's iss/sub/aud, which a refreshed ID token must
//! repeat). Tokens are used only while their binding matches the connector as it is now; on a
//! mismatch they are deleted, never sent to the new place.
//!
//! A refresh, and a login storing its tokens, run under an advisory lock on
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

use super::connector::{Auth, Connector, ConnectorId};
use super::ifs::session::{Session, SessionEnd, clock};
use super::login::{self, Identity, LoginError, LoginOptions, RefreshFailure, Revoked};
use super::secrets::{self, SecretKind, SecretsError, SharedSecrets, SplitKind};

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

    fn new(
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
    /// The provider refused the refresh token because the session was not used for longer
    /// than its idle timeout (30 minutes on IFS Cloud); it was deleted.
    #[error(
        "your IFS session ended because it was not used for too long{}: log in again \
         (ifs-connect login {name}); to stay signed in, turn on offline access \
         (ifs-connect edit {name} --offline-access)",
        ended_at.as_deref().map(|at| format!(" (it ended at {at})")).unwrap_or_default()
    )]
    SessionIdle {
        name: String,
        ended_at: Option<String>,
    },
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
            TokenError::LoginRequired { .. }
                | TokenError::SessionExpired { .. }
                | TokenError::SessionIdle { .. }
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

async fn get_split(
    secrets: &SharedSecrets,
    id: &ConnectorId,
    of: SplitKind,
) -> Result<Option<SecretString>, SecretsError> {
    let id = id.clone();
    secrets::blocking(secrets, move |store| secrets::get_split(store, &id, of)).await
}

async fn get_secret(
    secrets: &SharedSecrets,
    id: &ConnectorId,
    kind: SecretKind,
) -> Result<Option<SecretString>, SecretsError> {
    let id = id.clone();
    secrets::blocking(secrets, move |store| store.get(&id, kind)).await
}

/// Delete every token entry of a connector (refresh, access, session), not the client secret.
async fn forget_tokens(secrets: &SharedSecrets, id: &ConnectorId) -> Result<(), SecretsError> {
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
async fn forget_tokens_if_unchanged(
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

async fn store_session(
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
) -> Result<Option<SecretsError>, TokenError> {
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
    let login_required = || TokenError::LoginRequired {
        name: connector.name.clone(),
    };
    if checked_session(secrets, connector).await?.is_none() {
        return Err(login_required());
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
    // Another process may have refreshed (or logged in) while this one waited for the lock.
    let Some(identity) = checked_session(secrets, connector).await? else {
        return Err(login_required());
    };
    let stale = load_cached(secrets, &connector.id).await?;
    if let Some(cached) = stale.as_ref().filter(|c| c.usable_at(now())) {
        tracing::info!(connector = %connector.id, "token refreshed by another process meanwhile");
        return Ok(AccessToken {
            cached: cached.clone(),
            source: Source::Cache,
        });
    }
    let session_end = stale.and_then(|c| c.session_end);
    let cached = refresh_locked(secrets, connector, options, identity, session_end).await?;
    Ok(AccessToken {
        cached,
        source: Source::Refresh,
    })
}

/// The refresh itself; the caller holds the lock. The engine stores a rotated refresh token
/// as soon as the token endpoint answered, so nothing failing after that can lose it.
async fn refresh_locked(
    secrets: &SharedSecrets,
    connector: &Connector,
    options: &LoginOptions,
    identity: Identity,
    session_end: Option<SessionEnd>,
) -> Result<Cached, TokenError> {
    let id = &connector.id;
    let Some(refresh_token) = get_split(secrets, id, SplitKind::RefreshToken).await? else {
        return Err(TokenError::LoginRequired {
            name: connector.name.clone(),
        });
    };
    tracing::info!(connector = %id, "refreshing the access token");
    let used = refresh_token.clone();
    let refreshed = match login::refresh(connector, secrets, options, refresh_token, &identity)
        .await
    {
        Ok(refreshed) => refreshed,
        Err(RefreshFailure::Revoked(error)) => {
            tracing::warn!(connector = %id, "refresh token refused: {}", error.message);
            // The dead refresh token and its access token would only fail again.
            forget_tokens_if_unchanged(secrets, id, &used).await?;
            return Err(session_over(&connector.name, session_end, error.message));
        }
        Err(RefreshFailure::IdentityChanged(error)) => {
            tracing::warn!(connector = %id, "refreshed tokens name someone else: {}", error.message);
            forget_tokens(secrets, id).await?;
            return Err(TokenError::Provider(error));
        }
        Err(RefreshFailure::Failed(error)) => return Err(TokenError::Provider(error)),
    };
    if identity.is_empty()
        && let Some(first) = refreshed.identity.clone()
    {
        store_session(secrets, connector, first).await?;
    }
    let now = now();
    let end = SessionEnd::from_response(
        refreshed.refresh_expires_in,
        true,
        refreshed.scope.as_deref(),
        now,
    );
    let cached = Cached::new(
        &refreshed.access_token,
        refreshed.expires_in,
        refreshed.scope.clone(),
        now,
    )
    .with_session(end.or(session_end));
    // The token is good whether or not it can be cached: the next call refreshes again.
    if let Err(e) = store_cached(secrets, id, &cached).await {
        tracing::warn!(connector = %id, error = %e, "could not cache the access token");
    }
    Ok(cached)
}

/// A service user's token: the cache while it has more than [`MIN_REMAINING`] left and belongs
/// to the connector as it is now, else a new client credentials request. Concurrent calls
/// request once, under the refresh lock. When the secret comes from a variable the cache is
/// this process's memory, shared with no other process, so there is nothing to lock.
async fn service_access_token(
    secrets: &SharedSecrets,
    config_dir: &Path,
    connector: &Connector,
    options: &LoginOptions,
) -> Result<AccessToken, TokenError> {
    let id = &connector.id;
    if let Some(cached) = usable_service_cache(secrets, connector).await? {
        return Ok(AccessToken {
            cached,
            source: Source::Cache,
        });
    }
    let _lock = match secrets.process_only() {
        true => None,
        false => Some(TokenLock::acquire(config_dir, id).await?),
    };
    if let Some(cached) = usable_service_cache(secrets, connector).await? {
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
        now(),
    );
    if let Err(e) = store_service_cache(secrets, connector, &cached).await {
        tracing::warn!(connector = %id, error = %e, "could not cache the access token");
    }
    Ok(AccessToken {
        cached,
        source: Source::Request,
    })
}

async fn usable_service_cache(
    secrets: &SharedSecrets,
    connector: &Connector,
) -> Result<Option<Cached>, SecretsError> {
    if checked_session(secrets, connector).await?.is_none() {
        return Ok(None);
    }
    let cached = load_cached(secrets, &connector.id).await?;
    Ok(cached.filter(|c| c.usable_at(now())))
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

/// A refused refresh token, explained: an idle end that has passed (or the provider's words
/// for one) is the IFS session idling out; anything else ended the session otherwise.
fn session_over(name: &str, end: Option<SessionEnd>, detail: String) -> TokenError {
    let now = now();
    let idle = match end {
        Some(end @ SessionEnd::IdleAt(at)) if end.idled_out_at(now) => Some(Some(clock(at))),
        Some(_) => None,
        None => says_idle(&detail).then_some(None),
    };
    match idle {
        Some(ended_at) => TokenError::SessionIdle {
            name: name.to_owned(),
            ended_at,
        },
        None => TokenError::SessionExpired {
            name: name.to_owned(),
            detail,
        },
    }
}

/// Keycloak's words for a refresh token past its idle time ("Token is not active") and the
/// like; a logout or a revocation reads otherwise ("Session not active", "Stale token").
fn says_idle(detail: &str) -> bool {
    let detail = detail.to_ascii_lowercase();
    detail.contains("token is not active") || detail.contains("refresh token expired")
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
    /// The tokens were stored for other connector settings (provider, client or Base URL):
    /// they were deleted here without being sent to the provider the connector names now.
    NotSentElsewhere,
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
            Some(Revocation::NotSentElsewhere) => lines.push(
                "refresh token not revoked: it was issued for the connector's earlier provider,                  client or Base URL, so it is not sent to the current one"
                    .into(),
            ),
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
    let refresh = get_split(secrets, id, SplitKind::RefreshToken).await?;
    let access = get_secret(secrets, id, SecretKind::AccessToken).await?;
    let belongs_here = checked_session(secrets, connector).await?.is_some();
    let revocation = match refresh {
        None => None,
        Some(_) if !belongs_here => Some(Revocation::NotSentElsewhere),
        Some(token) => Some(
            match login::revoke_refresh_token(connector, secrets, options, token).await {
                Ok(Revoked::Revoked { endpoint }) => Revocation::Revoked { endpoint },
                Ok(Revoked::NotRevocable) => Revocation::NotRevocable,
                Err(error) => Revocation::Failed(error.message),
            },
        ),
    };
    forget_tokens(secrets, id).await?;
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
            now,
        )
    }

    #[test]
    fn a_refused_refresh_after_the_idle_end_is_an_idle_session() {
        let past = Some(SessionEnd::IdleAt(now() - 5));
        let e = session_over("prod", past, "Session not active".into());
        assert!(matches!(
            e,
            TokenError::SessionIdle {
                ended_at: Some(_),
                ..
            }
        ));
        let text = e.to_string();
        assert!(text.contains("not used for too long"), "{text}");
        assert!(text.contains("ifs-connect login prod"), "{text}");
        assert!(text.contains("--offline-access"), "{text}");
        assert!(e.needs_login());
        let future = Some(SessionEnd::IdleAt(now() + 600));
        assert!(matches!(
            session_over("prod", future, "Session not active".into()),
            TokenError::SessionExpired { .. }
        ));
        assert!(matches!(
            session_over("prod", None, "invalid_grant (Token is not active)".into()),
            TokenError::SessionIdle { ended_at: None, .. }
        ));
        assert!(matches!(
            session_over(
                "prod",
                Some(SessionEnd::Offline),
                "Token is not active".into()
            ),
            TokenError::SessionExpired { .. }
        ));
    }

    #[tokio::test]
    async fn the_session_is_read_from_the_keyring() {
        let secrets: SharedSecrets = Arc::new(MemorySecrets::default());
        let id = ConnectorId::from("c1");
        assert_eq!(session(&secrets, &id).await.unwrap(), Session::SignedOut);
        let end = Some(SessionEnd::IdleAt(now() + 1800));
        store_cached(&secrets, &id, &cached(Some(600), now()).with_session(end))
            .await
            .unwrap();
        assert!(matches!(
            session(&secrets, &id).await.unwrap(),
            Session::AccessOnly { .. }
        ));
        let rt = SecretString::from("RT");
        let id2 = id.clone();
        secrets::blocking(&secrets, move |store| {
            secrets::set_split(store, &id2, SplitKind::RefreshToken, &rt)
        })
        .await
        .unwrap();
        assert_eq!(
            session(&secrets, &id).await.unwrap(),
            Session::Refreshable { end }
        );
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

    fn oauth2() -> Connector {
        let mut c = Connector::new(
            "c",
            Auth::OAuth2(crate::core::connector::OAuth2Auth {
                authorization_endpoint: "https://idp.example.com/auth".into(),
                token_endpoint: "https://idp.example.com/token".into(),
                client_id: "flow".into(),
                ..Default::default()
            }),
        );
        c.base_url = "https://ifs.example.com".into();
        c
    }

    fn login_tokens(refresh: Option<&str>, access: &str) -> LoginTokens {
        LoginTokens {
            refresh_token: refresh.map(SecretString::from),
            cached: Cached::new(&SecretString::from(access), Some(600), None, now()),
            identity: Identity {
                iss: Some("https://idp.example.com".into()),
                sub: Some("alice".into()),
                aud: vec!["flow".into()],
            },
        }
    }

    fn token_endpoint(c: &mut Connector, url: &str) {
        if let Auth::OAuth2(a) = &mut c.auth {
            a.token_endpoint = url.into();
        }
    }

    #[tokio::test]
    async fn a_large_access_token_is_cached_in_a_windows_sized_store() {
        let secrets: SharedSecrets = Arc::new(MemorySecrets::with_windows_limit());
        let connector = oauth2();
        // A Keycloak access token with IFS's claims: well over 2,560 bytes of UTF-16.
        let big = "x".repeat(6_000);
        let failure = store_login(&secrets, None, &connector, login_tokens(Some("RT"), &big))
            .await
            .unwrap();
        assert!(failure.is_none(), "{failure:?}");
        let back = load_cached(&secrets, &connector.id).await.unwrap().unwrap();
        assert_eq!(back.access_token().expose_secret(), &big);
        // The identity stays readable in its own small entry.
        let identity = checked_session(&secrets, &connector)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(identity.sub.as_deref(), Some("alice"));
    }

    #[test]
    fn which_changes_drop_the_tokens() {
        let before = oauth2();
        let mut same = before.clone();
        same.name = "renamed".into();
        same.probe_path = "other".into();
        if let Auth::OAuth2(a) = &mut same.auth {
            a.display_name = "Shown".into();
            a.scopes = "openid profile".into();
        }
        assert!(tokens_survive(&before, &same));
        let mut moved = before.clone();
        token_endpoint(&mut moved, "https://evil.example.com/token");
        let mut other_client = before.clone();
        if let Auth::OAuth2(a) = &mut other_client.auth {
            a.client_id = "other".into();
        }
        let mut other_base = before.clone();
        other_base.base_url = "https://elsewhere.example.com".into();
        for after in [moved, other_client, other_base] {
            assert!(!tokens_survive(&before, &after), "{after:?}");
        }
    }

    #[test]
    fn secret_hosts_name_the_token_endpoint_and_issuer_hosts() {
        let mut c = oauth2();
        assert_eq!(secret_hosts(&c), vec!["idp.example.com:443".to_owned()]);
        token_endpoint(&mut c, "https://idp.example.com/realms/x/token");
        assert_eq!(secret_hosts(&c), vec!["idp.example.com:443".to_owned()]);
        token_endpoint(&mut c, "https://idp.example.com:8443/token");
        assert_eq!(secret_hosts(&c), vec!["idp.example.com:8443".to_owned()]);
    }

    #[tokio::test]
    async fn tokens_of_other_settings_are_refused_deleted_and_never_sent() {
        let secrets: SharedSecrets = Arc::new(MemorySecrets::default());
        let dir = tempfile::tempdir().unwrap();
        let before = oauth2();
        store_login(&secrets, None, &before, login_tokens(Some("RT"), "AT"))
            .await
            .unwrap();
        let mut after = before.clone();
        token_endpoint(&mut after, "https://127.0.0.1:1/token");
        // No network is touched: the unusable endpoint would fail otherwise, not LoginRequired.
        let refused = access_token(&secrets, dir.path(), &after, &LoginOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(refused, TokenError::LoginRequired { .. }),
            "{refused:?}"
        );
        for kind in SecretKind::ALL {
            assert!(
                get_secret(&secrets, &after.id, kind)
                    .await
                    .unwrap()
                    .is_none(),
                "{kind:?}"
            );
        }
    }

    #[tokio::test]
    async fn logout_does_not_revoke_at_a_provider_the_tokens_were_not_issued_by() {
        let secrets: SharedSecrets = Arc::new(MemorySecrets::default());
        let before = oauth2();
        store_login(&secrets, None, &before, login_tokens(Some("RT"), "AT"))
            .await
            .unwrap();
        let mut after = before.clone();
        if let Auth::OAuth2(a) = &mut after.auth {
            a.issuer = Some("https://127.0.0.1:1/realms/x".into());
        }
        let done = logout(&secrets, &after, &LoginOptions::default())
            .await
            .unwrap();
        assert_eq!(done.revocation, Some(Revocation::NotSentElsewhere));
        assert!(
            get_secret(&secrets, &after.id, SecretKind::RefreshToken)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn a_new_login_replaces_the_whole_session() {
        let secrets: SharedSecrets = Arc::new(MemorySecrets::default());
        let c = oauth2();
        store_login(&secrets, None, &c, login_tokens(Some("RT-1"), "AT-1"))
            .await
            .unwrap();
        // The new login got no refresh token: the old one belongs to the old session.
        store_login(&secrets, None, &c, login_tokens(None, "AT-2"))
            .await
            .unwrap();
        assert!(
            get_secret(&secrets, &c.id, SecretKind::RefreshToken)
                .await
                .unwrap()
                .is_none()
        );
        let cached = load_cached(&secrets, &c.id).await.unwrap().unwrap();
        assert_eq!(cached.access_token().expose_secret(), "AT-2");
    }

    #[tokio::test]
    async fn a_failed_refresh_deletes_only_the_refresh_token_it_used() {
        let secrets: SharedSecrets = Arc::new(MemorySecrets::default());
        let c = oauth2();
        // A login finished while the old refresh was on its way and stored RT-new.
        store_login(&secrets, None, &c, login_tokens(Some("RT-new"), "AT-new"))
            .await
            .unwrap();
        let used = SecretString::from("RT-old");
        assert!(
            !forget_tokens_if_unchanged(&secrets, &c.id, &used)
                .await
                .unwrap()
        );
        let kept = get_split(&secrets, &c.id, SplitKind::RefreshToken)
            .await
            .unwrap();
        assert_eq!(kept.unwrap().expose_secret(), "RT-new");
        let used = SecretString::from("RT-new");
        assert!(
            forget_tokens_if_unchanged(&secrets, &c.id, &used)
                .await
                .unwrap()
        );
        assert!(load_cached(&secrets, &c.id).await.unwrap().is_none());
    }

    /// Records whether every write happened while someone held the token lock.
    struct LockChecking {
        inner: MemorySecrets,
        lock: PathBuf,
        unlocked_writes: std::sync::atomic::AtomicUsize,
    }

    impl crate::core::secrets::SecretStore for LockChecking {
        fn set(
            &self,
            id: &ConnectorId,
            kind: SecretKind,
            value: &SecretString,
        ) -> Result<(), SecretsError> {
            // flock conflicts between two opens of the file even in one process.
            let free = File::open(&self.lock).map_or(true, |f| f.try_lock().is_ok());
            if free {
                self.unlocked_writes
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            self.inner.set(id, kind, value)
        }
        fn get(
            &self,
            id: &ConnectorId,
            kind: SecretKind,
        ) -> Result<Option<SecretString>, SecretsError> {
            self.inner.get(id, kind)
        }
        fn delete(&self, id: &ConnectorId, kind: SecretKind) -> Result<(), SecretsError> {
            self.inner.delete(id, kind)
        }
    }

    #[tokio::test]
    async fn a_login_stores_its_tokens_under_the_refresh_lock() {
        let dir = tempfile::tempdir().unwrap();
        let c = oauth2();
        let store = Arc::new(LockChecking {
            inner: MemorySecrets::default(),
            lock: TokenLock::path(dir.path(), &c.id),
            unlocked_writes: Default::default(),
        });
        let secrets: SharedSecrets = store.clone();
        store_login(
            &secrets,
            Some(dir.path()),
            &c,
            login_tokens(Some("RT"), "AT"),
        )
        .await
        .unwrap();
        assert!(checked_session(&secrets, &c).await.unwrap().is_some());
        assert_eq!(
            store
                .unlocked_writes
                .load(std::sync::atomic::Ordering::SeqCst),
            0
        );
    }
}
