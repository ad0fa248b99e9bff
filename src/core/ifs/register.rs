//! What to set on the IFS IAM Client for a connector (Solution Manager > Users and
//! Permissions > Identity and Access Manager > IAM Clients): one description, laid out by
//! `show`, by `login` when it fails on the redirect, and by the wizard's register panel.

use crate::core::connector::{Auth, Connector};
use crate::core::login::{
    ErrorKind, LoginError, redirect_uri_not_registered, registrable_redirect_uri,
};

use super::scopes::has_offline_access;

/// IFS's own clients: never change or reuse them; integrations get their own client.
const DELIVERED_CLIENT_PREFIX: &str = "IFS_";

/// The IAM Client settings a connector needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub client_id: String,
    /// "Public Client": on when no secret is used.
    pub public_client: bool,
    /// "Service Accounts": only the client credentials grant needs it.
    pub service_accounts: bool,
    /// "Standard Flow" (the authorization code flow) must be on.
    pub standard_flow: bool,
    /// The exact string to add under Redirect URIs.
    pub redirect_uri: String,
    /// Whether the connector sends PKCE (S256), so the client may require it.
    pub pkce: bool,
    /// Whether `offline_access` is requested, which the client must allow.
    pub offline_access: bool,
    /// The loopback port the connector insists on, if any.
    pub fixed_port: Option<u16>,
}

impl Registration {
    /// What `connector` needs from its IAM client.
    pub fn of(connector: &Connector) -> Self {
        let (public_client, service_user) = match &connector.auth {
            Auth::OpenId(_) => (true, false),
            Auth::OAuth2(a) => (!a.has_client_secret && a.client_secret_env.is_none(), false),
            Auth::ClientCredentials(_) => (false, true),
        };
        Self {
            client_id: connector.auth.client_id().to_owned(),
            public_client,
            service_accounts: service_user,
            standard_flow: !service_user,
            redirect_uri: registrable_redirect_uri(&connector.redirect_uri),
            pkce: connector.auth.uses_pkce(),
            offline_access: has_offline_access(connector.auth.scopes()),
            fixed_port: url::Url::parse(&connector.redirect_uri)
                .ok()
                .and_then(|u| u.port()),
        }
    }

    /// One row per IAM Client setting: (the field's name on the IFS page, what to set).
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let on_off = |on: bool| if on { "on" } else { "off" }.to_owned();
        let mut rows = vec![
            ("Client ID", format!("{} (case-sensitive)", self.client_id)),
            (
                "Public Client",
                if self.public_client {
                    "on (no client secret)".to_owned()
                } else {
                    "off (confidential: the secret is in the OS keyring)".to_owned()
                },
            ),
            ("Standard Flow", on_off(self.standard_flow)),
            ("Service Accounts", on_off(self.service_accounts)),
        ];
        if self.service_accounts {
            rows.push((
                "Service user",
                "link the IFS service user (\"Create IFS Service User\") and grant it the \
                 projections it calls"
                    .to_owned(),
            ));
        }
        // Only a browser login comes back through a redirect, and only it sends PKCE.
        if self.standard_flow {
            rows.push(("Redirect URIs", self.redirect_uri.clone()));
            rows.push((
                "PKCE Method",
                if self.pkce {
                    "S256 (ifs-connect always sends it)".to_owned()
                } else {
                    "none (PKCE is off for this connector)".to_owned()
                },
            ));
        }
        if self.offline_access {
            rows.push((
                "Client scopes",
                "offline_access must be allowed (Stay signed in)".to_owned(),
            ));
        }
        rows
    }

    /// Sentences to show under the rows.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let loopback = self.redirect_uri.starts_with("http://127.0.0.1/")
            || self.redirect_uri.starts_with("http://localhost/");
        match (loopback && self.standard_flow, self.fixed_port) {
            (true, None) => notes.push(
                "Registered without a port, the redirect URI admits any port on this machine: \
                 ifs-connect picks a free one each time."
                    .to_owned(),
            ),
            (true, Some(port)) => notes.push(format!(
                "Keycloak ignores the port of a loopback redirect when the registered one has \
                 none, so this also admits the connector's fixed port {port}."
            )),
            (false, _) => {}
        }
        if self.client_id.starts_with(DELIVERED_CLIENT_PREFIX) {
            notes.push(format!(
                "{} looks like one of IFS's delivered clients: do not change or reuse those; \
                 create an IAM client of your own for this connector.",
                self.client_id
            ));
        }
        notes
    }

    /// The panel as plain lines: a heading, the rows, the notes.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec!["Set on the IFS IAM Client:".to_owned()];
        lines.extend(
            self.rows()
                .into_iter()
                .map(|(label, value)| format!("  {label:<17} {value}")),
        );
        lines.extend(self.notes().into_iter().map(|n| format!("  {n}")));
        lines
    }
}

/// Whether a failed login points at the IAM client's redirect URIs: no redirect before the
/// timeout, or a provider that named `redirect_uri` when it refused.
pub fn failed_on_redirect(error: &LoginError) -> bool {
    error.kind == ErrorKind::Timeout
        || error.message.contains("redirect_uri")
        || error
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("Invalid parameter: redirect_uri"))
}

/// After a login failed on the redirect: the likely cause and what to register; None for
/// other failures.
pub fn after_failure(connector: &Connector, error: &LoginError) -> Option<Vec<String>> {
    if !failed_on_redirect(error) {
        return None;
    }
    let mut lines = vec![format!(
        "Likely cause: {}.",
        redirect_uri_not_registered(&connector.redirect_uri)
    )];
    lines.extend(Registration::of(connector).lines());
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::connector::{OAuth2Auth, OpenIdAuth};

    fn openid(client_id: &str, scopes: &str) -> Connector {
        Connector::new(
            "c",
            Auth::OpenId(OpenIdAuth {
                client_id: client_id.into(),
                scopes: scopes.into(),
                ..OpenIdAuth::default()
            }),
        )
    }

    #[test]
    fn an_openid_connector_needs_a_public_client_with_the_portless_uri() {
        let mut c = openid("flow", "openid");
        c.redirect_uri = "http://127.0.0.1:8400/callback".into();
        let r = Registration::of(&c);
        assert!(r.public_client && r.standard_flow && r.pkce && !r.service_accounts);
        // Keycloak drops a loopback port before matching, so the port-free URI covers it.
        assert_eq!(r.redirect_uri, "http://127.0.0.1/callback");
        assert_eq!(r.fixed_port, Some(8400));
        assert!(r.notes()[0].contains("fixed port 8400"), "{:?}", r.notes());
        let text = r.lines().join("\n");
        assert!(
            text.contains("Public Client     on (no client secret)"),
            "{text}"
        );
        assert!(
            text.contains("Redirect URIs     http://127.0.0.1/callback"),
            "{text}"
        );
        assert!(text.contains("PKCE Method       S256"), "{text}");
        assert!(!text.contains("offline_access"), "{text}");
    }

    #[test]
    fn a_confidential_oauth2_connector_needs_a_confidential_client() {
        let mut c = Connector::new(
            "c",
            Auth::OAuth2(OAuth2Auth {
                client_id: "IFS_aurena".into(),
                has_client_secret: true,
                pkce: false,
                scopes: "openid offline_access".into(),
                ..OAuth2Auth::default()
            }),
        );
        c.redirect_uri = "https://app.example.com/cb".into();
        let r = Registration::of(&c);
        assert!(!r.public_client && !r.pkce && r.offline_access);
        let text = r.lines().join("\n");
        assert!(text.contains("off (confidential"), "{text}");
        assert!(text.contains("https://app.example.com/cb"), "{text}");
        assert!(text.contains("offline_access must be allowed"), "{text}");
        assert!(text.contains("do not change or reuse those"), "{text}");
        assert!(!text.contains("admits any port"), "{text}");
    }

    #[test]
    fn only_redirect_failures_get_the_panel() {
        let c = openid("flow", "openid");
        let timeout = LoginError::new(ErrorKind::Timeout, "no redirect arrived within 5 s");
        let lines = after_failure(&c, &timeout).unwrap().join("\n");
        assert!(lines.contains("Invalid parameter: redirect_uri"), "{lines}");
        assert!(
            lines.contains("Redirect URIs     http://127.0.0.1/callback"),
            "{lines}"
        );
        let par = LoginError::new(
            ErrorKind::AuthorizationDenied,
            "refused: invalid_request (Invalid parameter: redirect_uri)",
        );
        assert!(after_failure(&c, &par).is_some());
        let other = LoginError::new(ErrorKind::TokenRequest, "invalid_client");
        assert!(after_failure(&c, &other).is_none());
    }
}
