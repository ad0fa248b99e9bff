//! Operations on connectors that keep the config file and the keyring consistent.
//!
//! The rule: the config never points at a secret that is not in the keyring. Secrets
//! are written before the config that refers to them (and rolled back if the config
//! write fails); secrets are deleted only after the config stopped referring to them.
//! Every call here blocks (file I/O, keyring); async callers use `spawn_blocking`.

use secrecy::SecretString;

use super::connector::{Auth, ClientCredentialsAuth, Connector, ConnectorId, LastTest, OAuth2Auth};
use super::secrets::{self, SecretKind, SecretStore, SecretsError, SharedSecrets, SplitKind};
use super::store::{Config, Store, StoreError};
use super::tokens;
use super::validate::{self, Field, FieldError, ValidationErrors};

/// What to do with a connector's client secret when saving it.
#[derive(Debug, Clone, Default)]
pub enum SecretChange {
    /// Leave whatever the keyring holds.
    #[default]
    Keep,
    Set(SecretString),
    Remove,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    #[error("there is no connector named '{0}' (see `ifs-connect list`)")]
    NotFound(String),
    #[error(
        "the agent group '{0}' does not exist: create it with `ifs-connect agent-group add {0}`"
    )]
    UnknownGroup(String),
    #[error(
        "the agent group '{group}' is used by {count} connector(s); move them to another group first"
    )]
    GroupInUse { group: String, count: usize },
    #[error("the agent group '{0}' already exists")]
    GroupExists(String),
    #[error("the agent group 'default' cannot be removed")]
    DefaultGroup,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}; nothing was saved")]
    Secrets(#[source] SecretsError),
}

impl WorkspaceError {
    /// Usage and validation problems exit with 2, everything else with 1.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            WorkspaceError::Invalid(_)
                | WorkspaceError::NotFound(_)
                | WorkspaceError::UnknownGroup(_)
                | WorkspaceError::GroupInUse { .. }
                | WorkspaceError::GroupExists(_)
                | WorkspaceError::DefaultGroup
        )
    }
}

/// What a removal did; the connector is gone from the config even when `secrets_left` is set.
#[derive(Debug)]
pub struct Removed {
    pub connector: Connector,
    /// The keyring refused to delete the connector's secrets; they are orphaned, not dangling.
    pub secrets_left: Option<SecretsError>,
}

/// The config store and the keyring, used together.
#[derive(Clone)]
pub struct Workspace {
    store: Store,
    secrets: SharedSecrets,
}

impl Workspace {
    pub fn new(store: Store, secrets: SharedSecrets) -> Self {
        Self { store, secrets }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn secrets(&self) -> &SharedSecrets {
        &self.secrets
    }

    pub fn load(&self) -> Result<Config, WorkspaceError> {
        Ok(self.store.load()?)
    }

    pub fn get(&self, name: &str) -> Result<Connector, WorkspaceError> {
        self.load()?
            .find(name)
            .cloned()
            .ok_or_else(|| WorkspaceError::NotFound(name.to_owned()))
    }

    /// Create or replace the connector with this id, validating it first. A new client
    /// secret goes to the keyring before the config names it; if the config cannot be
    /// written, the keyring is put back as it was.
    pub fn save(
        &self,
        mut connector: Connector,
        secret: SecretChange,
    ) -> Result<Connector, WorkspaceError> {
        validate::validate_connector(&mut connector)?;
        let lock = self.store.lock()?;
        let mut config = self.store.load()?;
        check_fits(&config, &connector)?;
        let previous = config
            .connectors
            .iter()
            .find(|c| c.id == connector.id)
            .cloned();
        let had_secret = previous.as_ref().is_some_and(Connector::has_client_secret);
        if let Some(previous) = &previous {
            secret_may_follow(previous, &connector, &secret)?;
        }
        let secret = effective_secret_change(&mut connector, secret, had_secret)?;

        let rollback = self.write_secret_first(&connector.id, &secret)?;
        replace_or_push(&mut config, connector.clone());
        if let Err(e) = self.store.write(&lock, &config) {
            rollback.undo(self.secrets.as_ref(), &connector.id);
            return Err(e.into());
        }
        if let Some(previous) = &previous
            && !tokens::tokens_survive(previous, &connector)
        {
            self.forget_tokens(&connector.id);
        }
        if matches!(secret, SecretChange::Remove) && had_secret {
            // The config no longer names it; a failure here orphans a secret, never dangles one.
            if let Err(e) = self.secrets.delete(&connector.id, SecretKind::ClientSecret) {
                tracing::warn!(connector = %connector.id, error = %e, "could not delete an unused client secret");
            }
        }
        Ok(connector)
    }

    /// Drop a connector's tokens after the settings they belong to changed. A failure leaves
    /// them in the keyring, where their recorded binding no longer matches: they are refused
    /// and deleted when next used, never sent.
    fn forget_tokens(&self, id: &ConnectorId) {
        let store = self.secrets.as_ref();
        let result = secrets::delete_split(store, id, SplitKind::RefreshToken)
            .and_then(|()| secrets::delete_split(store, id, SplitKind::AccessToken))
            .and_then(|()| store.delete(id, SecretKind::Session));
        match result {
            Ok(()) => tracing::info!(connector = %id, "settings changed: stored tokens deleted"),
            Err(e) => {
                tracing::warn!(connector = %id, error = %e, "could not delete the stored tokens")
            }
        }
    }

    fn write_secret_first(
        &self,
        id: &ConnectorId,
        change: &SecretChange,
    ) -> Result<Rollback, WorkspaceError> {
        let SecretChange::Set(value) = change else {
            return Ok(Rollback::Nothing);
        };
        let before = self
            .secrets
            .get(id, SecretKind::ClientSecret)
            .map_err(WorkspaceError::Secrets)?;
        self.secrets
            .set(id, SecretKind::ClientSecret, value)
            .map_err(WorkspaceError::Secrets)?;
        Ok(match before {
            Some(old) => Rollback::Restore(old),
            None => Rollback::Delete,
        })
    }

    /// Remove from the config first, then delete the secrets.
    pub fn remove(&self, name: &str) -> Result<Removed, WorkspaceError> {
        let connector = self.store.update(|config| {
            let index = config
                .position(name)
                .ok_or_else(|| WorkspaceError::NotFound(name.to_owned()))?;
            Ok::<_, WorkspaceError>(config.connectors.remove(index))
        })?;
        let secrets_left = self.secrets.delete_all(&connector.id).err();
        Ok(Removed {
            connector,
            secrets_left,
        })
    }

    /// A copy under a new name with a new id; a client secret is copied to the new id too.
    pub fn duplicate(&self, name: &str, new_name: &str) -> Result<Connector, WorkspaceError> {
        let original = self.get(name)?;
        let mut copy = original.clone();
        copy.id = ConnectorId::generate();
        copy.name = new_name.to_owned();
        copy.last_test = None;
        let secret = if original.has_client_secret() {
            match self
                .secrets
                .get(&original.id, SecretKind::ClientSecret)
                .map_err(WorkspaceError::Secrets)?
            {
                Some(value) => SecretChange::Set(value),
                None => SecretChange::Remove,
            }
        } else {
            SecretChange::Keep
        };
        self.save(copy, secret)
    }

    /// Remember the outcome of a test login for the list screen.
    pub fn record_test(&self, id: &ConnectorId, result: LastTest) -> Result<(), WorkspaceError> {
        self.store.update(|config| {
            if let Some(c) = config.connectors.iter_mut().find(|c| &c.id == id) {
                c.last_test = Some(result);
            }
            Ok::<_, WorkspaceError>(())
        })
    }

    pub fn add_group(&self, group: &str) -> Result<(), WorkspaceError> {
        let group = validate::agent_group(group)
            .map_err(|m| ValidationErrors(vec![FieldError::new(Field::AgentGroup, m)]))?;
        self.store.update(|config| {
            if config.has_group(&group) {
                return Err(WorkspaceError::GroupExists(group));
            }
            config.agent_groups.push(group);
            Ok(())
        })
    }

    pub fn remove_group(&self, group: &str) -> Result<(), WorkspaceError> {
        self.store.update(|config| {
            if group == super::connector::DEFAULT_AGENT_GROUP {
                return Err(WorkspaceError::DefaultGroup);
            }
            let Some(index) = config.agent_groups.iter().position(|g| g == group) else {
                return Err(WorkspaceError::UnknownGroup(group.to_owned()));
            };
            let count = config
                .connectors
                .iter()
                .filter(|c| c.agent_group == group)
                .count();
            if count > 0 {
                return Err(WorkspaceError::GroupInUse {
                    group: group.to_owned(),
                    count,
                });
            }
            config.agent_groups.remove(index);
            Ok(())
        })
    }

    /// Add or replace (by name) many connectors at once: all are validated before
    /// anything is written. Imported connectors carry no secrets.
    pub fn import(&self, connectors: Vec<Connector>) -> Result<ImportSummary, WorkspaceError> {
        let mut checked = Vec::with_capacity(connectors.len());
        let mut problems = Vec::new();
        for mut connector in connectors {
            match validate::validate_connector(&mut connector) {
                Ok(()) => checked.push(connector),
                Err(errors) => problems.extend(errors.0.into_iter().map(|e| FieldError {
                    message: format!("connector '{}': {}", connector.name, e.message),
                    ..e
                })),
            }
        }
        if let Some(dup) = first_duplicate_name(&checked) {
            problems.push(FieldError::new(
                Field::Name,
                format!("the file has two connectors named '{dup}'"),
            ));
        }
        if !problems.is_empty() {
            return Err(ValidationErrors(problems).into());
        }
        let (summary, replaced) = self.store.update(|config| {
            let mut summary = ImportSummary::default();
            let mut replaced = Vec::new();
            for mut connector in checked {
                if let Some(existing) = config.find(&connector.name) {
                    connector.id = existing.id.clone();
                    connector.last_test = existing.last_test.clone();
                    // The file carries no secret, so the stored one stays only where it was
                    // sent before; for a token endpoint on a new host it is dropped (give it
                    // again with `edit --client-secret-stdin`).
                    let keep = existing.has_client_secret()
                        && tokens::secret_hosts(existing) == tokens::secret_hosts(&connector);
                    if existing.has_client_secret() && !keep {
                        summary.secrets_dropped.push(connector.name.clone());
                    }
                    set_client_secret_flag(&mut connector, keep);
                    replaced.push((connector.id.clone(), existing.has_client_secret() && !keep));
                    summary.replaced += 1;
                } else {
                    connector.id = ConnectorId::generate();
                    set_client_secret_flag(&mut connector, false);
                    summary.added += 1;
                }
                if !config.has_group(&connector.agent_group) {
                    config.agent_groups.push(connector.agent_group.clone());
                }
                replace_or_push_by_name(config, connector);
            }
            Ok::<_, WorkspaceError>((summary, replaced))
        })?;
        // A replaced connector may point elsewhere now: its tokens are not carried over.
        for (id, drop_secret) in replaced {
            self.forget_tokens(&id);
            if drop_secret && let Err(e) = self.secrets.delete(&id, SecretKind::ClientSecret) {
                tracing::warn!(connector = %id, error = %e, "could not delete an unused client secret");
            }
        }
        Ok(summary)
    }
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: usize,
    pub replaced: usize,
    /// Replaced connectors whose token endpoint moved to another host: their stored client
    /// secret was deleted rather than sent there.
    pub secrets_dropped: Vec<String>,
}

enum Rollback {
    Nothing,
    Delete,
    Restore(SecretString),
}

impl Rollback {
    fn undo(self, secrets: &dyn SecretStore, id: &ConnectorId) {
        let result = match self {
            Rollback::Nothing => Ok(()),
            Rollback::Delete => secrets.delete(id, SecretKind::ClientSecret),
            Rollback::Restore(old) => secrets.set(id, SecretKind::ClientSecret, &old),
        };
        if let Err(e) = result {
            tracing::warn!(connector = %id, error = %e, "could not roll back the client secret");
        }
    }
}

/// Name unique, group known.
fn check_fits(config: &Config, connector: &Connector) -> Result<(), WorkspaceError> {
    if config
        .connectors
        .iter()
        .any(|c| c.name == connector.name && c.id != connector.id)
    {
        return Err(ValidationErrors(vec![FieldError::new(
            Field::Name,
            format!("a connector named '{}' already exists", connector.name),
        )])
        .into());
    }
    if !config.has_group(&connector.agent_group) {
        return Err(WorkspaceError::UnknownGroup(connector.agent_group.clone()));
    }
    Ok(())
}

/// A stored client secret is sent only to the hosts it was saved for: when the token endpoint
/// (or the issuer) of a connector with a secret moves to another host, the secret must be given
/// again or removed. Failing here (and saving nothing) beats dropping it silently: the user
/// would find out only from an `invalid_client` at the next login, as with gh or az, which ask
/// again for credentials when the host changes.
fn secret_may_follow(
    previous: &Connector,
    next: &Connector,
    change: &SecretChange,
) -> Result<(), WorkspaceError> {
    let moves = tokens::secret_hosts(previous) != tokens::secret_hosts(next);
    if !(previous.has_client_secret() && moves && matches!(change, SecretChange::Keep)) {
        return Ok(());
    }
    if !matches!(next.auth, Auth::OAuth2(_)) {
        return Ok(());
    }
    Err(ValidationErrors(vec![FieldError::new(
        Field::ClientSecret,
        format!(
            "the token endpoint moves to another host ({} → {}), and the stored client secret is              never sent to a new host: give the client secret again, or remove it; nothing was              saved",
            tokens::secret_hosts(previous).join(", "),
            tokens::secret_hosts(next).join(", ")
        ),
    )])
    .into())
}

/// Reconcile the requested secret change with the auth type and what is stored, and set
/// the connector's `has_client_secret` marker to match what the keyring will hold.
fn effective_secret_change(
    connector: &mut Connector,
    requested: SecretChange,
    had_secret: bool,
) -> Result<SecretChange, WorkspaceError> {
    let invalid = |field: Field, message: &str| -> WorkspaceError {
        ValidationErrors(vec![FieldError::new(field, message)]).into()
    };
    let uses_env = connector.client_secret_env().is_some();
    let service_user = matches!(connector.auth, Auth::ClientCredentials(_));
    let (Auth::OAuth2(OAuth2Auth {
        has_client_secret, ..
    })
    | Auth::ClientCredentials(ClientCredentialsAuth {
        has_client_secret, ..
    })) = &mut connector.auth
    else {
        return match requested {
            SecretChange::Set(_) => Err(invalid(
                Field::ClientSecret,
                "OpenId Authentication uses a public client: it has no client secret",
            )),
            _ => Ok(SecretChange::Remove),
        };
    };
    let change = match (requested, uses_env) {
        (SecretChange::Set(_), true) => {
            return Err(invalid(
                Field::ClientSecretEnv,
                "the client secret comes either from the keyring or from an environment \
                 variable: drop --client-secret-env to store it, or leave out \
                 --client-secret-stdin",
            ));
        }
        // The variable replaces a stored secret, which would otherwise linger unused.
        (_, true) => SecretChange::Remove,
        (SecretChange::Keep, false) => {
            *has_client_secret = had_secret;
            SecretChange::Keep
        }
        (other, false) => other,
    };
    match &change {
        SecretChange::Set(_) => *has_client_secret = true,
        SecretChange::Remove => *has_client_secret = false,
        SecretChange::Keep => {}
    }
    if service_user && !uses_env && !*has_client_secret {
        return Err(invalid(
            Field::ClientSecret,
            "a service user (client credentials) needs the IAM client's secret: give \
             --client-secret-stdin (kept in the OS keyring) or --client-secret-env VAR (read \
             from that environment variable)",
        ));
    }
    Ok(change)
}

fn set_client_secret_flag(connector: &mut Connector, value: bool) {
    match &mut connector.auth {
        Auth::OAuth2(a) => a.has_client_secret = value,
        Auth::ClientCredentials(a) => a.has_client_secret = value,
        Auth::OpenId(_) => {}
    }
}

fn replace_or_push(config: &mut Config, connector: Connector) {
    match config.connectors.iter_mut().find(|c| c.id == connector.id) {
        Some(slot) => *slot = connector,
        None => config.connectors.push(connector),
    }
}

fn replace_or_push_by_name(config: &mut Config, connector: Connector) {
    match config
        .connectors
        .iter_mut()
        .find(|c| c.name == connector.name)
    {
        Some(slot) => *slot = connector,
        None => config.connectors.push(connector),
    }
}

fn first_duplicate_name(connectors: &[Connector]) -> Option<&str> {
    let mut seen = std::collections::HashSet::new();
    connectors
        .iter()
        .map(|c| c.name.as_str())
        .find(|name| !seen.insert(*name))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use secrecy::ExposeSecret;

    use super::*;
    use crate::core::connector::{OAuth2Auth, OpenIdAuth};
    use crate::core::secrets::MemorySecrets;

    fn workspace() -> (tempfile::TempDir, Workspace, Arc<MemorySecrets>) {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Arc::new(MemorySecrets::default());
        let ws = Workspace::new(Store::new(dir.path()), secrets.clone());
        (dir, ws, secrets)
    }

    fn oauth2(name: &str) -> Connector {
        let mut c = Connector::new(
            name,
            Auth::OAuth2(OAuth2Auth {
                authorization_endpoint: "https://idp.example.com/auth".into(),
                token_endpoint: "https://idp.example.com/token".into(),
                client_id: "flow".into(),
                ..OAuth2Auth::default()
            }),
        );
        c.base_url = "https://ifs.example.com".into();
        c
    }

    fn secret(value: &str) -> SecretChange {
        SecretChange::Set(SecretString::from(value))
    }

    #[test]
    fn a_failed_keyring_write_saves_nothing() {
        let (_dir, ws, secrets) = workspace();
        secrets.fail_writes(true);
        let err = ws.save(oauth2("prod"), secret("s3cret")).unwrap_err();
        assert!(matches!(err, WorkspaceError::Secrets(_)));
        assert!(err.to_string().contains("nothing was saved"));
        assert!(!ws.store().path().exists());
    }

    #[test]
    fn a_failed_config_write_rolls_the_keyring_back() {
        let (dir, ws, secrets) = workspace();
        let saved = ws.save(oauth2("prod"), secret("old")).unwrap();
        // Make the config unwritable: a directory where the temp file must go.
        let blocker = dir
            .path()
            .join(format!(".connectors.toml.{}.tmp", std::process::id()));
        std::fs::create_dir(&blocker).unwrap();
        let err = ws.save(saved.clone(), secret("new")).unwrap_err();
        assert!(matches!(err, WorkspaceError::Store(_)), "{err}");
        let kept = secrets
            .get(&saved.id, SecretKind::ClientSecret)
            .unwrap()
            .unwrap();
        assert_eq!(kept.expose_secret(), "old");
    }

    #[test]
    fn keep_preserves_the_marker_and_remove_clears_both() {
        let (_dir, ws, secrets) = workspace();
        let saved = ws.save(oauth2("prod"), secret("s")).unwrap();
        assert!(saved.has_client_secret());
        let mut edited = saved.clone();
        if let Auth::OAuth2(a) = &mut edited.auth {
            a.has_client_secret = false; // what a form that never saw the secret sends
        }
        let kept = ws.save(edited, SecretChange::Keep).unwrap();
        assert!(kept.has_client_secret());
        let removed = ws.save(kept, SecretChange::Remove).unwrap();
        assert!(!removed.has_client_secret());
        assert!(secrets.is_empty());
    }

    #[test]
    fn names_are_unique_and_groups_must_exist() {
        let (_dir, ws, _) = workspace();
        ws.save(oauth2("prod"), SecretChange::Keep).unwrap();
        let err = ws.save(oauth2("prod"), SecretChange::Keep).unwrap_err();
        assert!(err.to_string().contains("already exists"), "{err}");
        let mut other = oauth2("test");
        other.agent_group = "night".into();
        let err = ws.save(other, SecretChange::Keep).unwrap_err();
        assert!(matches!(err, WorkspaceError::UnknownGroup(_)));
    }

    #[test]
    fn renaming_keeps_the_secret() {
        let (_dir, ws, secrets) = workspace();
        let mut saved = ws.save(oauth2("prod"), secret("s")).unwrap();
        saved.name = "production".into();
        let renamed = ws.save(saved.clone(), SecretChange::Keep).unwrap();
        assert!(renamed.has_client_secret());
        assert!(
            secrets
                .get(&saved.id, SecretKind::ClientSecret)
                .unwrap()
                .is_some()
        );
        assert!(ws.get("prod").is_err());
    }

    #[test]
    fn removing_deletes_every_secret() {
        let (_dir, ws, secrets) = workspace();
        let saved = ws.save(oauth2("prod"), secret("s")).unwrap();
        secrets
            .set(
                &saved.id,
                SecretKind::RefreshToken,
                &SecretString::from("r"),
            )
            .unwrap();
        let removed = ws.remove("prod").unwrap();
        assert!(removed.secrets_left.is_none());
        assert!(secrets.is_empty());
        assert!(ws.load().unwrap().connectors.is_empty());
    }

    #[test]
    fn openid_connectors_cannot_have_a_secret() {
        let (_dir, ws, _) = workspace();
        let mut c = Connector::new(
            "oid",
            Auth::OpenId(OpenIdAuth {
                authority_url: "https://idp.example.com/realms/x".into(),
                client_id: "c".into(),
                ..OpenIdAuth::default()
            }),
        );
        c.base_url = "https://ifs.example.com".into();
        let err = ws.save(c, secret("s")).unwrap_err();
        assert!(err.to_string().contains("public client"), "{err}");
    }

    #[test]
    fn duplicate_copies_the_secret_under_a_new_id() {
        let (_dir, ws, secrets) = workspace();
        let original = ws.save(oauth2("prod"), secret("s")).unwrap();
        let copy = ws.duplicate("prod", "prod copy").unwrap();
        assert_ne!(copy.id, original.id);
        assert_eq!(
            secrets
                .get(&copy.id, SecretKind::ClientSecret)
                .unwrap()
                .unwrap()
                .expose_secret(),
            "s"
        );
    }

    #[test]
    fn import_validates_everything_before_writing_anything() {
        let (_dir, ws, _) = workspace();
        let mut bad = oauth2("bad");
        bad.base_url = "nope".into();
        let err = ws.import(vec![oauth2("good"), bad]).unwrap_err();
        assert!(err.to_string().contains("connector 'bad'"), "{err}");
        assert!(ws.load().unwrap().connectors.is_empty());

        ws.save(oauth2("good"), secret("s")).unwrap();
        let mut again = oauth2("good");
        again.agent_group = "imported".into();
        let summary = ws.import(vec![again, oauth2("new")]).unwrap();
        assert_eq!(
            summary,
            ImportSummary {
                added: 1,
                replaced: 1,
                secrets_dropped: Vec::new(),
            }
        );
        let config = ws.load().unwrap();
        assert!(config.find("good").unwrap().has_client_secret());
        assert!(config.has_group("imported"));
    }

    fn service_user(name: &str, env: Option<&str>) -> Connector {
        let mut c = Connector::new(
            name,
            Auth::ClientCredentials(ClientCredentialsAuth {
                token_endpoint: Some("https://idp.example.com/token".into()),
                client_id: "svc".into(),
                client_secret_env: env.map(str::to_owned),
                ..ClientCredentialsAuth::default()
            }),
        );
        c.base_url = "https://ifs.example.com".into();
        c
    }

    #[test]
    fn a_service_user_needs_a_secret_from_the_keyring_or_a_variable() {
        let (_dir, ws, secrets) = workspace();
        let err = ws
            .save(service_user("svc", None), SecretChange::Keep)
            .unwrap_err();
        assert!(err.to_string().contains("--client-secret-env"), "{err}");
        assert!(!ws.store().path().exists(), "nothing saved");
        let stored = ws.save(service_user("svc", None), secret("s")).unwrap();
        assert!(stored.has_client_secret());
        assert_eq!(secrets.len(), 1);
        // Switching to a variable forgets the stored secret, which would linger unused.
        let mut edited = service_user("svc", Some("SVC_SECRET"));
        edited.id = stored.id.clone();
        let switched = ws.save(edited, SecretChange::Keep).unwrap();
        assert!(!switched.has_client_secret());
        assert_eq!(switched.client_secret_env(), Some("SVC_SECRET"));
        assert!(secrets.is_empty());
    }

    #[test]
    fn a_variable_and_a_stored_secret_exclude_each_other() {
        let (_dir, ws, secrets) = workspace();
        secrets.fail_writes(true);
        // A variable needs no keyring at all.
        ws.save(service_user("env", Some("SVC_SECRET")), SecretChange::Keep)
            .unwrap();
        let err = ws
            .save(service_user("both", Some("SVC_SECRET")), secret("s"))
            .unwrap_err();
        assert!(err.to_string().contains("either"), "{err}");
    }

    #[test]
    fn groups_in_use_or_default_cannot_be_removed() {
        let (_dir, ws, _) = workspace();
        ws.add_group("night").unwrap();
        assert!(matches!(
            ws.add_group("night"),
            Err(WorkspaceError::GroupExists(_))
        ));
        let mut c = oauth2("prod");
        c.agent_group = "night".into();
        ws.save(c, SecretChange::Keep).unwrap();
        assert!(matches!(
            ws.remove_group("night"),
            Err(WorkspaceError::GroupInUse { count: 1, .. })
        ));
        assert!(matches!(
            ws.remove_group("default"),
            Err(WorkspaceError::DefaultGroup)
        ));
        ws.remove("prod").unwrap();
        ws.remove_group("night").unwrap();
    }

    fn store_tokens(secrets: &MemorySecrets, id: &ConnectorId) {
        for kind in [
            SecretKind::RefreshToken,
            SecretKind::AccessToken,
            SecretKind::Session,
        ] {
            secrets
                .set(id, kind, &SecretString::from("stored"))
                .unwrap();
        }
    }

    fn has_tokens(secrets: &MemorySecrets, id: &ConnectorId) -> bool {
        secrets.get(id, SecretKind::RefreshToken).unwrap().is_some()
            || secrets.get(id, SecretKind::AccessToken).unwrap().is_some()
            || secrets.get(id, SecretKind::Session).unwrap().is_some()
    }

    fn set_token_endpoint(c: &mut Connector, url: &str) {
        if let Auth::OAuth2(a) = &mut c.auth {
            a.token_endpoint = url.into();
        }
    }

    #[test]
    fn re_pointing_a_connector_drops_its_tokens_and_cosmetic_edits_keep_them() {
        let (_dir, ws, secrets) = workspace();
        let saved = ws.save(oauth2("c"), SecretChange::Keep).unwrap();
        store_tokens(&secrets, &saved.id);
        let mut renamed = saved.clone();
        renamed.name = "renamed".into();
        let renamed = ws.save(renamed, SecretChange::Keep).unwrap();
        assert!(has_tokens(&secrets, &saved.id));
        let mut moved = renamed.clone();
        moved.base_url = "https://other.example.com".into();
        ws.save(moved, SecretChange::Keep).unwrap();
        assert!(!has_tokens(&secrets, &saved.id));
        // The client secret is not a token: it stays.
    }

    #[test]
    fn moving_the_token_host_needs_the_client_secret_again() {
        let (_dir, ws, secrets) = workspace();
        let saved = ws.save(oauth2("c"), secret("s3cret")).unwrap();
        store_tokens(&secrets, &saved.id);
        let mut moved = saved.clone();
        set_token_endpoint(&mut moved, "https://new-idp.example.com/token");
        let WorkspaceError::Invalid(errors) =
            ws.save(moved.clone(), SecretChange::Keep).unwrap_err()
        else {
            panic!("not a validation error")
        };
        let message = &errors.for_field(Field::ClientSecret).unwrap().message;
        assert!(message.contains("new-idp.example.com"), "{message}");
        assert!(!message.contains("s3cret"));
        // Nothing was saved: the old endpoint, the secret and the tokens are all still there.
        assert_eq!(ws.get("c").unwrap(), saved);
        assert!(has_tokens(&secrets, &saved.id));
        // The same path on the same host is no move; a new secret or none is accepted.
        let mut same_host = saved.clone();
        set_token_endpoint(&mut same_host, "https://idp.example.com/realms/x/token");
        ws.save(same_host, SecretChange::Keep).unwrap();
        assert!(!has_tokens(&secrets, &saved.id));
        ws.save(moved.clone(), secret("new")).unwrap();
        let stored = secrets
            .get(&saved.id, SecretKind::ClientSecret)
            .unwrap()
            .unwrap();
        assert_eq!(stored.expose_secret(), "new");
        set_token_endpoint(&mut moved, "https://third.example.com/token");
        let public = ws.save(moved, SecretChange::Remove).unwrap();
        assert!(!public.has_client_secret());
    }

    #[test]
    fn import_replace_drops_tokens_and_a_secret_bound_to_the_old_host() {
        let (_dir, ws, secrets) = workspace();
        let kept = ws.save(oauth2("kept"), secret("a")).unwrap();
        let moved = ws.save(oauth2("moved"), secret("b")).unwrap();
        store_tokens(&secrets, &kept.id);
        store_tokens(&secrets, &moved.id);
        let mut elsewhere = oauth2("moved");
        set_token_endpoint(&mut elsewhere, "https://new-idp.example.com/token");
        let summary = ws.import(vec![oauth2("kept"), elsewhere]).unwrap();
        assert_eq!(summary.secrets_dropped, vec!["moved".to_owned()]);
        assert!(!has_tokens(&secrets, &kept.id) && !has_tokens(&secrets, &moved.id));
        assert!(ws.get("kept").unwrap().has_client_secret());
        assert!(!ws.get("moved").unwrap().has_client_secret());
        assert!(
            secrets
                .get(&moved.id, SecretKind::ClientSecret)
                .unwrap()
                .is_none()
        );
    }
}
