//! What results mean, said once: a login outcome's summary line, whether it was
//! cancelled, its claim rows, a connector's rows, and what a connector becomes when its
//! auth type is switched. The CLI and the TUI only lay these out.

use super::connector::{Auth, AuthKind, OAuth2Auth, OpenIdAuth};

/// The connector's auth as OpenId Authentication: itself, or a fresh one that keeps what
/// both types share (the extra parameters and the email to prefill).
pub fn as_openid(auth: &Auth) -> OpenIdAuth {
    match auth {
        Auth::OpenId(a) => a.clone(),
        Auth::OAuth2(a) => OpenIdAuth {
            extra_params: a.extra_params.clone(),
            prefill_user_email: a.prefill_user_email.clone(),
            ..OpenIdAuth::default()
        },
    }
}

/// The connector's auth as OAuth2 Authorization Code Flow, keeping what both share.
pub fn as_oauth2(auth: &Auth) -> OAuth2Auth {
    match auth {
        Auth::OAuth2(a) => a.clone(),
        Auth::OpenId(a) => OAuth2Auth {
            extra_params: a.extra_params.clone(),
            prefill_user_email: a.prefill_user_email.clone(),
            ..OAuth2Auth::default()
        },
    }
}

/// Switch a connector's auth type, keeping what both types share.
pub fn switch_auth(auth: &Auth, kind: AuthKind) -> Auth {
    match kind {
        AuthKind::OpenId => Auth::OpenId(as_openid(auth)),
        AuthKind::OAuth2 => Auth::OAuth2(as_oauth2(auth)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::connector::Param;

    #[test]
    fn switching_type_keeps_the_shared_fields_and_nothing_else() {
        let openid = Auth::OpenId(OpenIdAuth {
            client_id: "flow".into(),
            extra_params: vec![Param::new("prompt", "login")],
            prefill_user_email: Some("a@example.com".into()),
            validate_endpoints: false,
            ..OpenIdAuth::default()
        });
        let Auth::OAuth2(oauth2) = switch_auth(&openid, AuthKind::OAuth2) else {
            panic!("not switched");
        };
        assert_eq!(oauth2.extra_params, [Param::new("prompt", "login")]);
        assert_eq!(oauth2.prefill_user_email.as_deref(), Some("a@example.com"));
        assert_eq!(oauth2.client_id, "", "type-specific fields start afresh");
        assert!(oauth2.pkce);
        assert_eq!(
            switch_auth(&openid, AuthKind::OpenId),
            openid,
            "same type: unchanged"
        );
    }
}
