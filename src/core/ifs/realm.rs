//! The realm URL (`https://H/auth/realms/R`) from any URL of the realm a user has at hand: the
//! discovery document, an endpoint with its query, the account console, the "connect URL" of
//! IFS's API Explorer. Pure text work: no network.

use url::Url;

/// What [`realm_authority`] made of a pasted URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealmUrl {
    /// `scheme://host[:port]/…/realms/R`, no trailing `/`, no query.
    pub authority: String,
    /// The realm's name, as it appears in the URL.
    pub realm: String,
    /// What the pasted URL was, e.g. "the token endpoint".
    pub pasted: &'static str,
}

impl RealmUrl {
    /// The sentence to show when the pasted text was not already the realm URL, e.g.
    /// "the Authority URL is the realm of the token endpoint you gave: https://…/realms/prod".
    pub fn change_note(&self, given: &str) -> Option<String> {
        let given = given.trim().trim_end_matches('/');
        (given != self.authority).then(|| {
            format!(
                "the Authority URL is the realm of {} you gave: {}",
                self.pasted, self.authority
            )
        })
    }
}

/// The realm URL inside `text`, if `text` is an absolute http(s) URL with a `/realms/R` path.
/// Anything before `realms` is kept (`/auth` on IFS Cloud, nothing on newer Keycloak);
/// everything after the realm's name, the query and the fragment are dropped.
pub fn realm_authority(text: &str) -> Option<RealmUrl> {
    let url = Url::parse(text.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return None;
    }
    let segments: Vec<&str> = url.path_segments()?.collect();
    let at = segments.iter().position(|s| *s == "realms")?;
    let realm = segments.get(at + 1).filter(|r| !r.is_empty())?;
    let rest = &segments[at + 2..];
    let mut authority = url.clone();
    authority.set_query(None);
    authority.set_fragment(None);
    authority.set_path(&segments[..at + 2].join("/"));
    Some(RealmUrl {
        authority: authority.as_str().trim_end_matches('/').to_owned(),
        realm: (*realm).to_owned(),
        pasted: what_was_pasted(rest),
    })
}

/// Names the realm page that the path after `realms/R` points at.
fn what_was_pasted(rest: &[&str]) -> &'static str {
    let rest: Vec<&str> = rest.iter().copied().filter(|s| !s.is_empty()).collect();
    match rest.as_slice() {
        [] => "the realm URL",
        [".well-known", ..] => "the discovery URL",
        ["protocol", "openid-connect", "auth", "device", ..] => "the device endpoint",
        ["protocol", "openid-connect", "auth", ..] => "the authorization endpoint",
        ["protocol", "openid-connect", "token", ..] => "the token endpoint",
        ["protocol", "openid-connect", "userinfo", ..] => "the userinfo endpoint",
        ["protocol", "openid-connect", "certs", ..] => "the signing keys URL",
        ["protocol", "openid-connect", "logout", ..] => "the logout URL",
        ["protocol", ..] => "the realm endpoint",
        ["account", ..] => "the account console URL",
        ["login-actions", ..] => "the sign-in page URL",
        _ => "the realm page",
    }
}

/// For an Authority field or `--authority`: the realm URL when `text` holds one, with a note
/// when that changed what was given; otherwise `text` as it was (validation then explains).
pub fn normalise_authority(text: &str) -> (String, Option<String>) {
    match realm_authority(text) {
        Some(realm) => {
            let note = realm.change_note(text);
            (realm.authority, note)
        }
        None => (text.to_owned(), None),
    }
}

/// For the OAuth2 step's "discovery URL" fill-in: the discovery document of the realm that
/// `text` points into, or `text` unchanged when it names no realm.
pub fn discovery_url_for(text: &str) -> String {
    match realm_authority(text) {
        Some(realm) => crate::core::validate::discovery_url(&realm.authority),
        None => text.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REALM: &str = "https://ifs.example.com/auth/realms/prod";

    #[test]
    fn every_realm_url_becomes_the_realm() {
        let table = [
            (REALM, "the realm URL"),
            ("https://ifs.example.com/auth/realms/prod/", "the realm URL"),
            (
                "https://ifs.example.com/auth/realms/prod/.well-known/openid-configuration",
                "the discovery URL",
            ),
            (
                "https://ifs.example.com/auth/realms/prod/protocol/openid-connect/auth?client_id=x&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback",
                "the authorization endpoint",
            ),
            (
                "https://ifs.example.com/auth/realms/prod/protocol/openid-connect/auth",
                "the authorization endpoint",
            ),
            (
                "https://ifs.example.com/auth/realms/prod/protocol/openid-connect/token",
                "the token endpoint",
            ),
            (
                "https://ifs.example.com/auth/realms/prod/protocol/openid-connect/auth/device",
                "the device endpoint",
            ),
            (
                "https://ifs.example.com/auth/realms/prod/account/#/personal-info",
                "the account console URL",
            ),
            (
                "https://ifs.example.com/auth/realms/prod/account?referrer=x",
                "the account console URL",
            ),
            (
                "https://ifs.example.com/auth/realms/prod/login-actions/authenticate?session_code=x",
                "the sign-in page URL",
            ),
            (
                "  https://ifs.example.com/auth/realms/prod/protocol/openid-connect/certs  ",
                "the signing keys URL",
            ),
        ];
        for (given, pasted) in table {
            let realm = realm_authority(given).unwrap_or_else(|| panic!("{given}"));
            assert_eq!(realm.authority, REALM, "{given}");
            assert_eq!(realm.realm, "prod", "{given}");
            assert_eq!(realm.pasted, pasted, "{given}");
        }
    }

    #[test]
    fn ports_prefixes_and_odd_names_are_kept() {
        let cases = [
            (
                "http://127.0.0.1:8080/auth/realms/sandbox/protocol/openid-connect/token",
                "http://127.0.0.1:8080/auth/realms/sandbox",
            ),
            (
                "https://kc.example.com/realms/a1b2-c3/.well-known/openid-configuration",
                "https://kc.example.com/realms/a1b2-c3",
            ),
            (
                "https://H.example.com:8443/iam/auth/realms/My%20Realm/account",
                "https://h.example.com:8443/iam/auth/realms/My%20Realm",
            ),
        ];
        for (given, want) in cases {
            assert_eq!(realm_authority(given).unwrap().authority, want, "{given}");
        }
    }

    #[test]
    fn urls_without_a_realm_are_left_alone() {
        for given in [
            "https://ifs.example.com",
            "https://ifs.example.com/auth/realms/",
            "https://ifs.example.com/auth/realms",
            "ftp://ifs.example.com/auth/realms/prod",
            "not a url",
            "",
            "https://ifs.example.com/main/ifsapplications/web/",
        ] {
            assert_eq!(realm_authority(given), None, "{given}");
            assert_eq!(normalise_authority(given), (given.to_owned(), None));
        }
    }

    #[test]
    fn the_note_says_what_changed_and_only_then() {
        let (authority, note) = normalise_authority(
            "https://ifs.example.com/auth/realms/prod/protocol/openid-connect/token",
        );
        assert_eq!(authority, REALM);
        assert_eq!(
            note.as_deref(),
            Some(
                "the Authority URL is the realm of the token endpoint you gave: \
                 https://ifs.example.com/auth/realms/prod"
            )
        );
        assert_eq!(normalise_authority(REALM), (REALM.to_owned(), None));
        assert_eq!(normalise_authority(&format!("{REALM}/")).1, None);
    }

    #[test]
    fn the_discovery_fill_in_accepts_any_realm_url() {
        let want = format!("{REALM}/.well-known/openid-configuration");
        assert_eq!(
            discovery_url_for(&format!("{REALM}/protocol/openid-connect/auth?client_id=x")),
            want
        );
        assert_eq!(discovery_url_for(&want), want);
        assert_eq!(
            discovery_url_for(" https://other.example.com/x "),
            "https://other.example.com/x"
        );
    }

    proptest! {
        #[test]
        fn any_path_or_query_after_the_realm_is_dropped(
            realm in "[A-Za-z0-9_-]{1,20}",
            // "." and ".." are not names: URL parsing resolves them away.
            rest in proptest::collection::vec("[A-Za-z0-9_-][A-Za-z0-9._-]{0,11}", 0..5),
            query in proptest::option::of("[a-z_]{1,8}=[A-Za-z0-9%]{0,16}"),
        ) {
            let mut given = format!("https://ifs.example.com/auth/realms/{realm}/{}", rest.join("/"));
            if let Some(q) = &query {
                given.push('?');
                given.push_str(q);
            }
            let found = realm_authority(&given).unwrap();
            prop_assert_eq!(found.authority, format!("https://ifs.example.com/auth/realms/{realm}"));
            prop_assert_eq!(found.realm, realm);
        }
    }
}
