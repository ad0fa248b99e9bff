//! Everything the sandbox remembers, in memory only, behind one lock held for microseconds.
//!
//! Codes and refresh tokens are kept as SHA-256 digests, never as the values handed out: the
//! store then holds nothing a memory dump could replay. Every entry has an expiry and
//! [`Store::purge`] drops what has expired, so a long-running sandbox does not grow.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use super::clients::Clients;
use super::device_codes::Devices;
use super::keys::SigningKeys;
use super::users::User;

/// The realm part of every identity-provider path, as on IFS Cloud's Keycloak.
pub const REALM_PATH: &str = "/auth/realms/sandbox";

/// How long the sandbox's artefacts live.
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub access_token: Duration,
    pub code: Duration,
    pub refresh_token: Duration,
    /// How long an offline session (`offline_access`) lives unused: Keycloak's 30 days.
    pub offline_session: Duration,
    /// A login page (or a pushed request) waiting for the user.
    pub login_page: Duration,
    /// A device code (RFC 8628) waiting for the user's approval.
    pub device_code: Duration,
    /// How often a device may poll the token endpoint.
    pub device_interval: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            // Keycloak's defaults: 5 min access tokens, 60 s codes, 30 min sessions.
            access_token: Duration::from_secs(300),
            code: Duration::from_secs(60),
            refresh_token: Duration::from_secs(1800),
            offline_session: Duration::from_secs(30 * 24 * 3600),
            login_page: Duration::from_secs(600),
            // Keycloak's defaults for the device grant: 10 min codes, polls every 5 s.
            device_code: Duration::from_secs(600),
            device_interval: Duration::from_secs(5),
        }
    }
}

/// How the sandbox is addressed: scheme and the host name in its URLs.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub https: bool,
    /// `None`: 127.0.0.1.
    pub host: Option<String>,
}

/// What every handler gets (through an `Arc`): fixed facts plus the locked store.
pub struct AppState {
    pub issuer: String,
    pub base_url: String,
    /// `host:port` values a request's Host header may carry (the sandbox answers no other name).
    pub allowed_hosts: Vec<String>,
    pub keys: SigningKeys,
    pub clients: Clients,
    pub lifetimes: Lifetimes,
    store: Mutex<Store>,
}

pub type Shared = std::sync::Arc<AppState>;

impl AppState {
    pub fn new(
        origin: &Origin,
        port: u16,
        keys: SigningKeys,
        clients: Clients,
        lifetimes: Lifetimes,
    ) -> Self {
        let scheme = if origin.https { "https" } else { "http" };
        let host = origin.host.as_deref().unwrap_or("127.0.0.1");
        let base_url = format!("{scheme}://{host}:{port}");
        let mut allowed_hosts = vec![format!("127.0.0.1:{port}"), format!("localhost:{port}")];
        if let Some(name) = &origin.host {
            allowed_hosts.push(format!("{name}:{port}"));
        }
        Self {
            issuer: format!("{base_url}{REALM_PATH}"),
            base_url,
            allowed_hosts,
            keys,
            clients,
            lifetimes,
            store: Mutex::new(Store::default()),
        }
    }

    /// `{issuer}/protocol/openid-connect/{rest}`: Keycloak's endpoint layout.
    pub fn endpoint(&self, rest: &str) -> String {
        format!("{}/protocol/openid-connect/{rest}", self.issuer)
    }

    /// Work on the store, purged of expired entries first. The lock is held only inside `work`
    /// (a guard handed out instead is easily kept alive across a second lock, and std's mutex
    /// does not re-enter). A poisoned lock only means another request panicked mid-update; the
    /// maps are still consistent enough for a demo server.
    pub fn with_store<T>(&self, work: impl FnOnce(&mut Store) -> T) -> T {
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        store.purge(now());
        work(&mut store)
    }
}

/// Seconds since the Unix epoch: the unit of JWT `iat`/`exp` and of every expiry here.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// `bytes` random bytes from the OS CSPRNG, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random number generator is unavailable");
    URL_SAFE_NO_PAD.encode(buf)
}

pub type Digest = [u8; 32];

pub fn digest(value: &str) -> Digest {
    Sha256::digest(value.as_bytes()).into()
}

/// Compare a presented secret with the real one through their digests, so the time the
/// comparison takes says nothing about how much of the secret was guessed right.
pub fn same_secret(presented: &str, real: &str) -> bool {
    digest(presented) == digest(real)
}

/// A validated authorization request, waiting for the user or for its code to be exchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// Granted scopes: the requested ones plus Keycloak's default client scopes.
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The S256 challenge, when PKCE is used.
    pub code_challenge: Option<String>,
    pub login_hint: Option<String>,
    /// `prompt=none`: the application wants an answer without any page. The sandbox keeps no
    /// browser session, so that answer is always `login_required`.
    pub prompt_none: bool,
}

impl AuthRequest {
    pub fn scope_text(&self) -> String {
        self.scopes.join(" ")
    }
}

/// A request that needs the user: a login page shown, or a pushed request not yet used.
#[derive(Debug, Clone)]
pub struct Waiting {
    pub request: AuthRequest,
    pub expires_at: i64,
    /// Wrong passwords so far; the page is dropped after [`MAX_LOGIN_ATTEMPTS`].
    pub failed_logins: u8,
}

pub const MAX_LOGIN_ATTEMPTS: u8 = 5;

/// One sign-in: the session (Keycloak's `sid`) that every code and token of it belongs to.
/// Revoking it (logout, code replay, refresh-token reuse) kills them all at once.
#[derive(Debug, Clone)]
pub struct Grant {
    pub client_id: String,
    pub user: &'static User,
    pub scopes: Vec<String>,
    pub auth_time: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct Code {
    pub request: AuthRequest,
    pub grant_id: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
struct Refresh {
    grant_id: String,
    client_id: String,
    expires_at: i64,
}

/// A code or refresh token already used, remembered so that a replay revokes its grant.
#[derive(Debug, Clone)]
struct Spent {
    grant_id: String,
    expires_at: i64,
}

/// How long a used code or refresh token is remembered for replay detection.
const SPENT_MEMORY_SECS: i64 = 3600;
/// How long an expired code or refresh token is remembered, to name the problem precisely.
const EXPIRED_MEMORY_SECS: i64 = 600;

#[derive(Debug, PartialEq, Eq)]
pub enum Redeem {
    Unknown,
    Expired,
    /// Used before: the grant it belonged to has now been revoked (RFC 6749 section 4.1.2,
    /// RFC 9700 section 4.14.2).
    Replayed,
    WrongClient,
}

#[derive(Default)]
pub struct Store {
    pending: HashMap<String, Waiting>,
    pushed: HashMap<String, Waiting>,
    codes: HashMap<Digest, Code>,
    spent_codes: HashMap<Digest, Spent>,
    refresh: HashMap<Digest, Refresh>,
    spent_refresh: HashMap<Digest, Spent>,
    grants: HashMap<String, Grant>,
    /// Access tokens revoked one by one (RFC 7009), by `jti`, kept until they expire anyway.
    revoked_access: HashMap<String, i64>,
    devices: Devices,
}

impl Store {
    pub fn purge(&mut self, now: i64) {
        self.pending.retain(|_, w| w.expires_at > now);
        self.pushed.retain(|_, w| w.expires_at > now);
        // Expired codes and refresh tokens stay a while so that their refusal can say "expired".
        self.codes
            .retain(|_, c| c.expires_at + EXPIRED_MEMORY_SECS > now);
        self.spent_codes.retain(|_, s| s.expires_at > now);
        self.refresh
            .retain(|_, r| r.expires_at + EXPIRED_MEMORY_SECS > now);
        self.spent_refresh.retain(|_, s| s.expires_at > now);
        self.grants.retain(|_, g| g.expires_at > now);
        self.revoked_access.retain(|_, exp| *exp >= now);
        self.devices.purge(now);
    }

    /// Device logins (RFC 8628).
    pub fn devices(&mut self) -> &mut Devices {
        &mut self.devices
    }

    // ---- requests waiting for the user ------------------------------------------------------

    /// Remember a request whose login page is shown; the id goes in the page's URLs.
    pub fn add_pending(&mut self, request: AuthRequest, expires_at: i64) -> String {
        let id = random_token(16);
        let waiting = Waiting {
            request,
            expires_at,
            failed_logins: 0,
        };
        self.pending.insert(id.clone(), waiting);
        id
    }

    pub fn pending(&self, id: &str) -> Option<&Waiting> {
        self.pending.get(id)
    }

    pub fn take_pending(&mut self, id: &str) -> Option<Waiting> {
        self.pending.remove(id)
    }

    /// Count a wrong password; false when the page has now been dropped for too many.
    pub fn count_failed_login(&mut self, id: &str) -> bool {
        let Some(waiting) = self.pending.get_mut(id) else {
            return false;
        };
        waiting.failed_logins += 1;
        if waiting.failed_logins >= MAX_LOGIN_ATTEMPTS {
            self.pending.remove(id);
            return false;
        }
        true
    }

    /// RFC 9126: remember a pushed request under a fresh `request_uri`.
    pub fn push(&mut self, request: AuthRequest, expires_at: i64) -> String {
        let uri = format!("urn:ietf:params:oauth:request_uri:{}", random_token(24));
        let waiting = Waiting {
            request,
            expires_at,
            failed_logins: 0,
        };
        self.pushed.insert(uri.clone(), waiting);
        uri
    }

    /// A pushed request is used once (RFC 9126 section 4).
    pub fn take_pushed(&mut self, request_uri: &str) -> Option<AuthRequest> {
        self.pushed.remove(request_uri).map(|w| w.request)
    }

    // ---- grants, codes, refresh tokens --------------------------------------------------------

    pub fn add_grant(&mut self, grant: Grant) -> String {
        let id = random_token(16);
        self.grants.insert(id.clone(), grant);
        id
    }

    pub fn grant(&self, id: &str) -> Option<&Grant> {
        self.grants.get(id)
    }

    /// Keep the grant at least until `until` (the expiry of a token just issued under it).
    pub fn extend_grant(&mut self, id: &str, until: i64) {
        if let Some(grant) = self.grants.get_mut(id) {
            grant.expires_at = grant.expires_at.max(until);
        }
    }

    /// End a session: its codes and refresh tokens stop working, and so do its access tokens
    /// (they name the grant in `sid`, and the bearer check looks it up).
    pub fn revoke_grant(&mut self, id: &str) -> bool {
        self.codes.retain(|_, c| c.grant_id != id);
        self.refresh.retain(|_, r| r.grant_id != id);
        self.grants.remove(id).is_some()
    }

    pub fn add_code(&mut self, code: &str, entry: Code) {
        self.codes.insert(digest(code), entry);
    }

    /// Codes are single-use: the first redemption removes the code whatever happens next;
    /// a second one revokes everything issued with it.
    pub fn redeem_code(&mut self, code: &str, client_id: &str, now: i64) -> Result<Code, Redeem> {
        let key = digest(code);
        if let Some(spent) = self.spent_codes.get(&key) {
            let grant_id = spent.grant_id.clone();
            self.revoke_grant(&grant_id);
            return Err(Redeem::Replayed);
        }
        let entry = self.codes.remove(&key).ok_or(Redeem::Unknown)?;
        let spent = Spent {
            grant_id: entry.grant_id.clone(),
            expires_at: now + SPENT_MEMORY_SECS,
        };
        self.spent_codes.insert(key, spent);
        if entry.expires_at <= now {
            return Err(Redeem::Expired);
        }
        if entry.request.client_id != client_id {
            return Err(Redeem::WrongClient);
        }
        Ok(entry)
    }

    pub fn add_refresh(&mut self, token: &str, grant_id: &str, client_id: &str, expires_at: i64) {
        let entry = Refresh {
            grant_id: grant_id.to_owned(),
            client_id: client_id.to_owned(),
            expires_at,
        };
        self.refresh.insert(digest(token), entry);
    }

    /// Rotation: a refresh token works once. A token of another client is refused without
    /// being spent (it was not that client's to burn); a reused one revokes its grant.
    pub fn redeem_refresh(
        &mut self,
        token: &str,
        client_id: &str,
        now: i64,
    ) -> Result<String, Redeem> {
        let key = digest(token);
        if let Some(spent) = self.spent_refresh.get(&key) {
            let grant_id = spent.grant_id.clone();
            self.revoke_grant(&grant_id);
            return Err(Redeem::Replayed);
        }
        let entry = self.refresh.get(&key).ok_or(Redeem::Unknown)?;
        if entry.expires_at <= now {
            return Err(Redeem::Expired);
        }
        if entry.client_id != client_id {
            return Err(Redeem::WrongClient);
        }
        let entry = self.refresh.remove(&key).ok_or(Redeem::Unknown)?;
        let spent = Spent {
            grant_id: entry.grant_id.clone(),
            expires_at: now + SPENT_MEMORY_SECS,
        };
        self.spent_refresh.insert(key, spent);
        Ok(entry.grant_id)
    }

    /// The grant a live refresh token belongs to, and the client it was issued to.
    pub fn refresh_owner(&self, token: &str) -> Option<(String, String)> {
        self.refresh
            .get(&digest(token))
            .map(|r| (r.grant_id.clone(), r.client_id.clone()))
    }

    // ---- access tokens ------------------------------------------------------------------------

    pub fn revoke_access(&mut self, jti: &str, exp: i64) {
        self.revoked_access.insert(jti.to_owned(), exp);
    }

    /// An access token with a good signature is usable while its session lives and it was not
    /// revoked by itself.
    pub fn access_usable(&self, jti: &str, grant_id: &str) -> bool {
        !self.revoked_access.contains_key(jti) && self.grants.contains_key(grant_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::users::DEMO;

    fn request(client: &str) -> AuthRequest {
        AuthRequest {
            client_id: client.into(),
            redirect_uri: "http://127.0.0.1:5000/callback".into(),
            scopes: vec!["openid".into()],
            state: None,
            nonce: None,
            code_challenge: None,
            login_hint: None,
            prompt_none: false,
        }
    }

    fn store_with_code(code: &str, now: i64) -> (Store, String) {
        let mut store = Store::default();
        let grant_id = store.add_grant(Grant {
            client_id: "c".into(),
            user: &DEMO,
            scopes: vec!["openid".into()],
            auth_time: now,
            expires_at: now + 100,
        });
        let entry = Code {
            request: request("c"),
            grant_id: grant_id.clone(),
            expires_at: now + 60,
        };
        store.add_code(code, entry);
        (store, grant_id)
    }

    #[test]
    fn a_code_works_once_and_its_replay_revokes_the_grant() {
        let (mut store, grant_id) = store_with_code("abc", 1000);
        assert!(store.redeem_code("abc", "c", 1001).is_ok());
        assert!(store.grant(&grant_id).is_some());
        assert_eq!(
            store.redeem_code("abc", "c", 1002).unwrap_err(),
            Redeem::Replayed
        );
        assert!(store.grant(&grant_id).is_none());
    }

    #[test]
    fn an_expired_or_foreign_code_is_refused_and_spent() {
        let (mut store, _) = store_with_code("abc", 1000);
        assert_eq!(
            store.redeem_code("abc", "c", 1060).unwrap_err(),
            Redeem::Expired
        );
        let (mut store, _) = store_with_code("abc", 1000);
        assert_eq!(
            store.redeem_code("abc", "other", 1001).unwrap_err(),
            Redeem::WrongClient
        );
        assert_eq!(
            store.redeem_code("abc", "c", 1001).unwrap_err(),
            Redeem::Replayed
        );
        assert_eq!(
            store.redeem_code("nope", "c", 1001).unwrap_err(),
            Redeem::Unknown
        );
    }

    #[test]
    fn refresh_tokens_rotate_and_reuse_revokes_the_grant() {
        let (mut store, grant_id) = store_with_code("abc", 1000);
        store.add_refresh("r1", &grant_id, "c", 2000);
        assert_eq!(
            store.redeem_refresh("r1", "other", 1001).unwrap_err(),
            Redeem::WrongClient
        );
        assert_eq!(store.redeem_refresh("r1", "c", 1001).unwrap(), grant_id);
        store.add_refresh("r2", &grant_id, "c", 2000);
        assert_eq!(
            store.redeem_refresh("r1", "c", 1002).unwrap_err(),
            Redeem::Replayed
        );
        assert!(store.grant(&grant_id).is_none());
        assert_eq!(
            store.redeem_refresh("r2", "c", 1003).unwrap_err(),
            Redeem::Unknown
        );
    }

    #[test]
    fn purge_drops_what_expired() {
        let (mut store, _) = store_with_code("abc", 1000);
        store.purge(1061);
        assert_eq!(
            store.redeem_code("abc", "c", 1061).unwrap_err(),
            Redeem::Expired
        );
        let (mut store, grant_id) = store_with_code("abc", 1000);
        store.purge(1060 + EXPIRED_MEMORY_SECS);
        assert_eq!(
            store.redeem_code("abc", "c", 1061).unwrap_err(),
            Redeem::Unknown
        );
        store.purge(1100 + EXPIRED_MEMORY_SECS);
        assert!(store.grant(&grant_id).is_none());
    }
}
