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
pub fn token_error_hint(error: &str, redirect_uri: &str, has_secret: bool) -> String {
    match error {
        "invalid_grant" => format!(
            "most often a redirect URI mismatch: register {} on the IAM client (Keycloak then \
             accepts any port on 127.0.0.1); otherwise the code expired or was already used, so \
             try again",
            registrable_redirect_uri(redirect_uri)
        ),
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
        let hint = token_error_hint("invalid_grant", "http://127.0.0.1:54321/callback", false);
        assert!(hint.contains("http://127.0.0.1/callback"), "{hint}");
        assert!(hint.contains("redirect URI mismatch"));
    }

    #[test]
    fn invalid_client_hint_depends_on_the_secret() {
        assert!(token_error_hint("invalid_client", "x", true).contains("secret"));
        assert!(token_error_hint("invalid_client", "x", false).contains("confidential"));
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
