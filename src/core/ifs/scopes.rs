//! The scopes worth knowing on IFS Cloud, with what each one does, for the wizard's scope
//! suggestions, and the "Stay signed in" option, which is the `offline_access` scope.

/// Requests a refresh token that outlives the 30-minute idle end of a normal IFS session.
pub const OFFLINE_ACCESS: &str = "offline_access";
/// IFS documents `openid microprofile-jwt`; Keycloak's microprofile-jwt adds `upn` (the user
/// name IFS knows) and `groups` to the tokens.
pub const MICROPROFILE_JWT: &str = "microprofile-jwt";

/// A scope and what it brings, in plain words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuggestedScope {
    pub scope: &'static str,
    pub meaning: &'static str,
}

/// In the order the wizard offers them.
pub const SUGGESTED_SCOPES: [SuggestedScope; 5] = [
    SuggestedScope {
        scope: "openid",
        meaning: "sign in with OpenID Connect: an ID token says who signed in (required)",
    },
    SuggestedScope {
        scope: MICROPROFILE_JWT,
        meaning: "IFS's documented scope: adds upn (your IFS user name) and groups to the tokens",
    },
    SuggestedScope {
        scope: OFFLINE_ACCESS,
        meaning: "stay signed in: a refresh token that survives the 30-minute idle timeout",
    },
    SuggestedScope {
        scope: "profile",
        meaning: "your name in the ID token",
    },
    SuggestedScope {
        scope: "email",
        meaning: "your email address in the ID token",
    },
];

/// Whether the scopes ask for an offline session ("Stay signed in").
pub fn has_offline_access(scopes: &str) -> bool {
    scopes.split_whitespace().any(|s| s == OFFLINE_ACCESS)
}

/// The scopes with `scope` added at the end (when missing) or removed, keeping the others in
/// their order, separated by single spaces.
pub fn with_scope(scopes: &str, scope: &str, on: bool) -> String {
    let mut kept: Vec<&str> = scopes.split_whitespace().filter(|s| *s != scope).collect();
    if on {
        kept.push(scope);
    }
    kept.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_access_is_switched_in_the_scopes() {
        assert_eq!(
            with_scope("openid", OFFLINE_ACCESS, true),
            "openid offline_access"
        );
        assert_eq!(
            with_scope("openid  offline_access profile", OFFLINE_ACCESS, true),
            "openid profile offline_access"
        );
        assert_eq!(
            with_scope("openid offline_access profile", OFFLINE_ACCESS, false),
            "openid profile"
        );
        assert!(has_offline_access("openid offline_access"));
        assert!(!has_offline_access("openid offline_accessx"));
    }

    #[test]
    fn microprofile_jwt_is_offered_with_its_meaning() {
        let offered = SUGGESTED_SCOPES
            .iter()
            .find(|s| s.scope == "microprofile-jwt")
            .unwrap();
        assert!(offered.meaning.contains("upn"));
        assert_eq!(SUGGESTED_SCOPES[0].scope, "openid");
    }
}
