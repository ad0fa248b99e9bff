//! OAuth error codes in plain words, with the fix that usually helps, and a guard for text that
//! comes from the provider before it reaches a terminal.

/// Provider-supplied text, made safe to print: control characters (terminal escapes) become
/// spaces and the length is bounded.
pub fn provider_text(text: &str, max_chars: usize) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.chars().count() > max_chars {
        let cut: String = cleaned.chars().take(max_chars).collect();
        format!("{cut}…")
    } else {
        cleaned.to_owned()
    }
}

/// A whole line built from provider values, made safe to print: every control character
/// (C0 and C1, so ESC, BEL and CSI too) becomes a space. Unlike [`provider_text`] the length
/// is kept, apart from a generous bound.
pub fn terminal_text(text: &str) -> String {
    const MAX_CHARS: usize = 4_000;
    if !text.chars().any(char::is_control) && text.len() <= MAX_CHARS {
        return text.to_owned();
    }
    let mut cleaned: String = text
        .chars()
        .take(MAX_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > MAX_CHARS {
        cleaned.push('…');
    }
    cleaned
}

/// "access_denied (The user cancelled)" from an OAuth `error` and `error_description`.
pub fn error_with_description(error: &str, description: Option<&str>) -> String {
    let error = provider_text(error, 80);
    match description.map(|d| provider_text(d, 300)) {
        Some(d) if !d.is_empty() => format!("{error} ({d})"),
        _ => error,
    }
}

/// What an `error=` on the redirect usually means (RFC 6749 section 4.1.2.1, OIDC Core 3.1.2.6).
pub fn authorization_error_hint(error: &str, scopes: &str) -> String {
    match error {
        "access_denied" => {
            "the sign-in was cancelled or consent was refused; run the test login again and \
             accept"
                .into()
        }
        "unauthorized_client" => {
            "the IAM client may not use the authorization code flow: enable it (Standard Flow) \
             on the IAM client"
                .into()
        }
        "invalid_scope" => format!(
            "one of the scopes '{scopes}' is not allowed for this IAM client: remove it or add \
             it to the client"
        ),
        "invalid_request" | "invalid_request_object" | "invalid_request_uri" => {
            "the provider rejected the request: check the extra query parameters, the scopes and \
             the Client ID"
                .into()
        }
        "unsupported_response_type" => {
            "the IAM client does not allow response_type=code: enable the authorization code \
             flow"
                .into()
        }
        "login_required" | "consent_required" | "interaction_required" => {
            "the provider needs the user to sign in or consent: remove prompt=none from the \
             extra parameters"
                .into()
        }
        "server_error" | "temporarily_unavailable" => {
            "the provider had a problem of its own: try again in a moment".into()
        }
        _ => "see the provider's message above".into(),
    }
}

/// What a token endpoint error usually means (RFC 6749 section 5.2), with the likely fix.
pub fn token_error_hint(
    error: &str,
    description: Option<&str>,
    redirect_uri: &str,
    has_secret: bool,
) -> String {
    match error {
        "invalid_grant" => format!(
            "most often a redirect URI mismatch: register {} on the IAM client (Keycloak then \
             accepts any port on 127.0.0.1); otherwise the code expired or was already used, so \
             try again",
            registrable_redirect_uri(redirect_uri)
        ),
        // Keycloak answers a wrong or missing client secret with unauthorized_client (RFC 6749
        // says invalid_client), and its description says so.
        "unauthorized_client" if is_client_credentials_failure(description) => {
            client_authentication_hint(has_secret)
        }
        "invalid_client" if has_secret => {
            "the client secret or the Client ID is wrong, or the IAM client is public: check \
             the Client ID (case-sensitive) and set the secret again with `ifs-connect edit \
             NAME --client-secret-stdin`"
                .into()
        }
        "invalid_client" => {
            "the provider wants a client secret: the IAM client is confidential. Store its \
             secret with `ifs-connect edit NAME --client-secret-stdin`, or make the client \
             public"
                .into()
        }
        "unauthorized_client" => {
            "the IAM client may not use the authorization code grant: enable Standard Flow on \
             the IAM client"
                .into()
        }
        "invalid_scope" => {
            "a requested scope is not allowed for this IAM client: check the Scopes".into()
        }
        // Keycloak's answer to offline_access ("Stay signed in") for a client or user without
        // the offline_access role: "Offline tokens not allowed for the user or client".
        "not_allowed"
            if description.is_some_and(|d| d.to_ascii_lowercase().contains("offline")) =>
        {
            "Stay signed in asks for offline_access, which this IAM client or user may not have: \
             give the user the offline_access role (IFS: the default roles) and keep the \
             offline_access client scope on the IAM client, or turn it off with `ifs-connect \
             edit NAME --no-offline-access`"
                .into()
        }
        "unsupported_grant_type" => {
            "the provider does not allow the authorization code grant for this client".into()
        }
        "invalid_request" => {
            "the provider rejected the token request: if it mentions code_verifier or PKCE, \
             turn PKCE on for this connector"
                .into()
        }
        _ => "see the provider's message above".into(),
    }
}

/// Keycloak's description of a failed client authentication ("Invalid client or Invalid client
/// credentials", "Authentication failed.").
pub fn is_client_credentials_failure(description: Option<&str>) -> bool {
    description.is_some_and(|d| {
        let d = d.to_ascii_lowercase();
        d.contains("client credentials") || d.contains("authentication failed")
    })
}

/// The client was not accepted: a wrong Client ID or secret, or a disabled IAM client.
pub fn client_authentication_hint(has_secret: bool) -> String {
    if has_secret {
        "the IAM client did not accept this client: check the Client ID (case-sensitive), that \
         the IAM client is enabled, and its secret (set it again with `ifs-connect edit NAME \
         --client-secret-stdin`)"
            .into()
    } else {
        "the IAM client did not accept this client: check the Client ID (case-sensitive) and \
         that the IAM client is enabled; a confidential client also needs its secret (`ifs-connect \
         edit NAME --client-secret-stdin`)"
            .into()
    }
}

/// A pushed request refused for this reason: 401 with Keycloak's "Authentication failed.", or
/// an RFC 6749 invalid_client.
pub fn is_client_rejection(status: u16, error: &str, description: Option<&str>) -> bool {
    error == "invalid_client" || (status == 401 && is_client_credentials_failure(description))
}

/// Whether the provider's error text is about the redirect URI ("Invalid parameter:
/// redirect_uri" from Keycloak).
pub fn mentions_redirect_uri(description: Option<&str>) -> bool {
    description.is_some_and(|d| d.to_ascii_lowercase().contains("redirect_uri"))
}

/// The one text for a redirect URI the IAM client does not list (Keycloak shows "Invalid
/// parameter: redirect_uri" in the browser and never redirects back), used for a timeout, a
/// refused pushed request and the CLI's and TUI's "what to register" panels alike.
pub fn redirect_uri_not_registered(redirect_uri: &str) -> String {
    format!(
        "the likely cause is \"Invalid parameter: redirect_uri\": the IAM client does not list \
         this redirect URI. Register exactly {} under Redirect URIs on the IFS IAM client",
        registrable_redirect_uri(redirect_uri)
    )
}

/// A `prompt` value the provider does not advertise, in plain words. Keycloak leaves
/// `select_account` out of `prompt_values_supported` and ignores it: a user signed in already is
/// not asked again, where `prompt=login` would. `None` when all is advertised, or nothing is.
pub fn unsupported_prompt(prompt: &str, supported: &[String]) -> Option<String> {
    if supported.is_empty() {
        return None;
    }
    let unsupported: Vec<&str> = prompt
        .split_whitespace()
        .filter(|value| !supported.iter().any(|s| s == value))
        .collect();
    if unsupported.is_empty() {
        return None;
    }
    let value = provider_text(&unsupported.join(" "), 60);
    let extra = if unsupported.contains(&"select_account") {
        "; to be asked which account to use, use prompt=login instead"
    } else {
        ""
    };
    Some(format!(
        "the provider does not list prompt={value} as supported (prompt_values_supported) and \
         may ignore it{extra}"
    ))
}

/// The redirect URI as it is registered on the IAM client: without the port when it is a
/// loopback one, since Keycloak ignores the port for 127.0.0.1 and localhost.
pub fn registrable_redirect_uri(redirect_uri: &str) -> String {
    match url::Url::parse(redirect_uri) {
        Ok(mut url)
            if url
                .host_str()
                .is_some_and(crate::core::validate::is_loopback_host) =>
        {
            let _ = url.set_port(None);
            url.to_string()
        }
        _ => redirect_uri.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_text_strips_escapes_and_bounds_length() {
        assert_eq!(provider_text("a\x1b[31mb\nc", 100), "a [31mb c");
        assert_eq!(provider_text(&"x".repeat(10), 4), "xxxx…");
    }

    #[test]
    fn terminal_text_removes_osc_52_and_c1_controls() {
        let hostile = "https://idp/\x1b]52;c;SGVsbG8=\x07x\u{9b}31m";
        let safe = terminal_text(hostile);
        assert!(!safe.chars().any(char::is_control), "{safe:?}");
        assert!(safe.starts_with("https://idp/ ]52;c;SGVsbG8= x 31m"));
        assert_eq!(terminal_text("plain"), "plain");
    }

    #[test]
    fn invalid_grant_names_the_uri_to_register() {
        let hint = token_error_hint(
            "invalid_grant",
            None,
            "http://127.0.0.1:54321/callback",
            false,
        );
        assert!(hint.contains("http://127.0.0.1/callback"), "{hint}");
        assert!(hint.contains("redirect URI mismatch"));
    }

    #[test]
    fn an_unregistered_redirect_names_keycloaks_words_and_the_uri() {
        let hint = redirect_uri_not_registered("http://127.0.0.1:54321/callback");
        assert!(hint.contains("Invalid parameter: redirect_uri"), "{hint}");
        assert!(
            hint.contains("Register exactly http://127.0.0.1/callback "),
            "{hint}"
        );
        let fixed = redirect_uri_not_registered("https://app.example.com:8443/cb");
        assert!(
            fixed.contains("exactly https://app.example.com:8443/cb "),
            "{fixed}"
        );
    }

    #[test]
    fn invalid_client_hint_depends_on_the_secret() {
        assert!(token_error_hint("invalid_client", None, "x", true).contains("secret"));
        assert!(token_error_hint("invalid_client", None, "x", false).contains("confidential"));
    }

    #[test]
    fn keycloaks_unauthorized_client_for_a_bad_secret_is_about_the_secret() {
        let described = Some("Invalid client or Invalid client credentials");
        let hint = token_error_hint("unauthorized_client", described, "x", true);
        assert!(hint.contains("--client-secret-stdin"), "{hint}");
        let hint = token_error_hint("unauthorized_client", None, "x", true);
        assert!(hint.contains("Standard Flow"), "{hint}");
    }

    #[test]
    fn keycloaks_refusal_of_offline_tokens_names_the_role_and_the_way_out() {
        let described = Some("Offline tokens not allowed for the user or client");
        let hint = token_error_hint("not_allowed", described, "x", false);
        assert!(hint.contains("offline_access role"), "{hint}");
        assert!(hint.contains("--no-offline-access"), "{hint}");
        assert!(!token_error_hint("not_allowed", None, "x", false).contains("offline"));
    }

    #[test]
    fn a_prompt_keycloak_does_not_list_gets_a_notice_with_the_alternative() {
        let keycloak = ["none", "login", "consent"].map(String::from);
        let notice = unsupported_prompt("select_account", &keycloak).unwrap();
        assert!(notice.contains("prompt=login instead"), "{notice}");
        assert_eq!(unsupported_prompt("login", &keycloak), None);
        assert_eq!(unsupported_prompt("select_account", &[]), None);
    }

    #[test]
    fn an_unregistered_redirect_names_the_uri_without_its_port() {
        let hint = redirect_uri_not_registered("http://127.0.0.1:41234/callback");
        assert!(
            hint.contains("exactly http://127.0.0.1/callback "),
            "{hint}"
        );
        assert!(hint.contains("Invalid parameter: redirect_uri"), "{hint}");
        assert!(mentions_redirect_uri(Some(
            "Invalid parameter: redirect_uri"
        )));
        assert!(!mentions_redirect_uri(Some("Authentication failed.")));
        assert!(is_client_rejection(
            401,
            "invalid_request",
            Some("Authentication failed.")
        ));
        assert!(!is_client_rejection(
            400,
            "invalid_request",
            Some("Invalid parameter: redirect_uri")
        ));
    }

    #[test]
    fn error_and_description_join() {
        assert_eq!(
            error_with_description("access_denied", Some("no")),
            "access_denied (no)"
        );
        assert_eq!(error_with_description("x", Some("  ")), "x");
        assert_eq!(error_with_description("x", None), "x");
    }
}
