//! Living connectors: an access token for scripts (from the cache, else by refresh or a new
//! client credentials request), token state, and logout. What is kept, and how, is
//! `core::token_cache`; this module renews it through the login engine.
//!
//! A refresh runs under the connector's token lock, so that concurrent `ifs-connect token`
//! calls refresh once: the others wait, then find the fresh cache.
//!
//! For the TUI: [`state`] says "logged in until ...", [`logout`] revokes and forgets.

use std::path::Path;

use super::connector::Connector;
use super::ifs::session::{SessionEnd, clock};
use super::login::{self, Identity, LoginError, LoginOptions, RefreshFailure, Revoked};
use super::secrets::{self, SecretKind, SecretsError, SharedSecrets, SplitKind};
pub use super::token_cache::{
    Binding, CacheError, Cached, LoginTokens, MIN_REMAINING, load_cached, secret_hosts, session,
    store_cached, store_login, tokens_survive,
};
use super::token_cache::{
    TokenLock, checked_session, forget_tokens, forget_tokens_if_unchanged, get_secret, get_split,
    now, store_service_cache, store_session,
};

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
    #[error(transparent)]
    Cache(#[from] CacheError),
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
    use crate::core::connector::{Auth, ConnectorId};
    use crate::core::ifs::session::Session;
    use crate::core::secrets::MemorySecrets;
    use crate::core::token_cache::{ASSUMED_LIFETIME, TokenLock};
    use secrecy::{ExposeSecret, SecretString};
    use std::fs::{self, File};
    use std::path::PathBuf;
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
