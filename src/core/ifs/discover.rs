//! The realm from the Base URL alone: IFS Cloud's web client redirects a visitor who is not
//! signed in to its Keycloak realm's authorization endpoint, so following a few redirects from
//! the start page (without credentials or cookies) shows the realm, which the realm's own
//! discovery document then confirms.

use std::time::Duration;

use serde::Serialize;

use super::realm::{RealmUrl, realm_authority};
use crate::core::login::{self, LoginOptions, policy};
use crate::core::validate;

/// Redirects followed from each start page, at most.
pub const MAX_REDIRECTS: usize = 5;
/// The whole search, every request included, ends after this.
pub const TOTAL_TIMEOUT: Duration = Duration::from_secs(30);
/// Each request ends after this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Where IFS Cloud's web client starts, below the Base URL; then the Base URL itself.
pub const START_PATHS: [&str; 2] = ["main/ifsapplications/web/", ""];

/// What `discover` did and found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Discovery {
    pub base_url: String,
    /// Each start page and what came of it, in the order tried.
    pub tried: Vec<Trail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<Found>,
}

/// One start page followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trail {
    pub start: String,
    /// Every URL requested, with the status it answered (None: no answer).
    pub requests: Vec<Hop>,
    /// How it ended, in a few words: "a realm URL in the redirect", "no redirect (HTTP 200)".
    pub result: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hop {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// The realm, confirmed by its discovery document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Found {
    /// The Authority URL to use: `https://H/auth/realms/R`.
    pub authority: String,
    pub realm: String,
    pub discovery_url: String,
    /// Where the realm showed: "the Location header of https://…/main/ifsapplications/web/".
    pub found_at: String,
    /// The web client's own client_id in that redirect: information only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_client_id: Option<String>,
}

impl Discovery {
    /// The report as plain lines, for the CLI and the wizard's "Find" result.
    pub fn lines(&self) -> Vec<String> {
        match &self.found {
            Some(found) => found_lines(found),
            None => self.not_found_lines(),
        }
    }

    fn not_found_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("No realm found from {}. Tried:", self.base_url)];
        for trail in &self.tried {
            lines.push(format!("  {} -> {}", trail.start, trail.result));
        }
        lines.push(
            "Paste a realm URL instead as the Authority URL: the discovery URL from IFS's API \
             Explorer (API Doc > AUTHORIZATIONS, its connect URL), a token or authorization \
             endpoint, or the account console; ifs-connect takes the realm from any of them."
                .to_owned(),
        );
        lines
    }
}

fn found_lines(found: &Found) -> Vec<String> {
    let mut lines = vec![
        format!("Authority URL  {}", found.authority),
        format!("Realm          {}", found.realm),
        format!("Found in       {}", found.found_at),
        format!("Confirmed by   {}", found.discovery_url),
    ];
    if let Some(client_id) = &found.web_client_id {
        lines.push(format!(
            "The web client signs in as '{client_id}'. That is one of IFS's delivered clients: \
             for information only. Never reuse or change it; create an IAM client of your own \
             for this connector."
        ));
    }
    lines
}

/// Look for the realm from `base_url` (checked like a connector's Base URL). `Err` only for a
/// Base URL that cannot be used; finding nothing is a [`Discovery`] without `found`.
pub async fn discover(base_url: &str) -> Result<Discovery, String> {
    let base_url = validate::base_url(base_url)?;
    let options = LoginOptions {
        http_timeout: REQUEST_TIMEOUT,
        ..LoginOptions::default()
    };
    // No redirects followed by the client (each is checked here), no cookie store, and no
    // credentials are ever attached: these are anonymous GETs.
    let client = login::http_client(&options).map_err(|e| e.message)?;
    let mut discovery = Discovery {
        base_url: base_url.clone(),
        tried: Vec::new(),
        found: None,
    };
    let search = search(&client, &base_url, &mut discovery);
    if tokio::time::timeout(TOTAL_TIMEOUT, search).await.is_err() {
        discovery.tried.push(Trail {
            start: base_url.clone(),
            requests: Vec::new(),
            result: format!("stopped: no answer within {} s", TOTAL_TIMEOUT.as_secs()),
        });
    }
    Ok(discovery)
}

async fn search(client: &reqwest::Client, base_url: &str, discovery: &mut Discovery) {
    for path in START_PATHS {
        let start = format!("{base_url}/{path}");
        let mut trail = Trail {
            start: start.clone(),
            requests: Vec::new(),
            result: String::new(),
        };
        let seen = follow(client, &start, &mut trail).await;
        if let Some((realm, found_at, web_client_id)) = seen {
            match confirm(client, &realm).await {
                Ok(discovery_url) => {
                    trail.result = format!("realm {} ({found_at})", realm.realm);
                    discovery.tried.push(trail);
                    discovery.found = Some(Found {
                        authority: realm.authority,
                        realm: realm.realm,
                        discovery_url,
                        found_at,
                        web_client_id,
                    });
                    return;
                }
                Err(why) => {
                    trail.result = format!("realm URL {} not confirmed: {why}", realm.authority)
                }
            }
        }
        discovery.tried.push(trail);
    }
}

/// A realm URL seen while following, where it was seen, and the client_id it carried.
type Seen = (RealmUrl, String, Option<String>);

/// Follow redirects from `start` until a realm URL shows, the chain ends, or the bound.
async fn follow(client: &reqwest::Client, start: &str, trail: &mut Trail) -> Option<Seen> {
    let mut url = start.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        if let Some(realm) = realm_authority(&url) {
            trail.result = "the start URL is a realm URL".into();
            return Some((realm, format!("the URL {url}"), client_id_of(&url)));
        }
        if let Err(why) = validate::web_url(&url) {
            trail.result = format!("not followed: {why}");
            return None;
        }
        let answer = client.get(&url).send().await;
        let response = match answer {
            Ok(response) => response,
            Err(e) => {
                trail.requests.push(Hop { url, status: None });
                trail.result = format!("no answer ({})", without_url(&e));
                return None;
            }
        };
        let status = response.status();
        trail.requests.push(Hop {
            url: url.clone(),
            status: Some(status.as_u16()),
        });
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let next = match location.filter(|_| status.is_redirection()) {
            Some(location) => match reqwest::Url::parse(&url).and_then(|u| u.join(&location)) {
                Ok(next) => next.to_string(),
                Err(_) => {
                    trail.result = format!("a redirect to an unusable URL (HTTP {status})");
                    return None;
                }
            },
            None => {
                trail.result = format!("no redirect (HTTP {})", status.as_u16());
                return None;
            }
        };
        if let Some(realm) = realm_authority(&next) {
            let at = format!("the Location header of {url}");
            return Some((realm, at, client_id_of(&next)));
        }
        url = next;
    }
    trail.result = format!("more than {MAX_REDIRECTS} redirects");
    None
}

/// The realm's discovery document must answer, obey the HTTPS rule and name the realm URL as
/// its issuer: a redirect alone could point anywhere.
async fn confirm(client: &reqwest::Client, realm: &RealmUrl) -> Result<String, String> {
    let discovery_url = validate::discovery_url(&realm.authority);
    let metadata = login::discovery::fetch(client, &discovery_url)
        .await
        .map_err(|e| e.message)?;
    policy::issuer_matches(&realm.authority, metadata.issuer.as_deref()).map_err(|e| e.message)?;
    Ok(discovery_url)
}

fn client_id_of(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(key, _)| key == "client_id")
        .map(|(_, value)| login::provider_text(&value, 80))
        .filter(|v| !v.is_empty())
}

/// reqwest's error text without the URL it repeats (the trail already shows it).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    kind.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> Found {
        Found {
            authority: "https://h/auth/realms/prod".into(),
            realm: "prod".into(),
            discovery_url: "https://h/auth/realms/prod/.well-known/openid-configuration".into(),
            found_at: "the Location header of https://h/main/ifsapplications/web/".into(),
            web_client_id: Some("IFS_aurena".into()),
        }
    }

    #[test]
    fn a_found_realm_says_where_and_never_suggests_the_web_client() {
        let d = Discovery {
            base_url: "https://h".into(),
            tried: Vec::new(),
            found: Some(found()),
        };
        let text = d.lines().join("\n");
        assert!(
            text.contains("Authority URL  https://h/auth/realms/prod"),
            "{text}"
        );
        assert!(
            text.contains(
                "Found in       the Location header of https://h/main/ifsapplications/web/"
            )
        );
        assert!(text.contains("'IFS_aurena'"), "{text}");
        assert!(text.contains("Never reuse"), "{text}");
    }

    #[test]
    fn nothing_found_names_what_was_tried_and_what_to_paste() {
        let d = Discovery {
            base_url: "https://h".into(),
            tried: vec![Trail {
                start: "https://h/main/ifsapplications/web/".into(),
                requests: Vec::new(),
                result: "no redirect (HTTP 200)".into(),
            }],
            found: None,
        };
        let text = d.lines().join("\n");
        assert!(text.contains("No realm found from https://h"), "{text}");
        assert!(text.contains("https://h/main/ifsapplications/web/ -> no redirect (HTTP 200)"));
        assert!(text.contains("Paste a realm URL"), "{text}");
    }

    #[test]
    fn the_client_id_is_read_from_the_redirect() {
        assert_eq!(
            client_id_of(
                "https://h/auth/realms/r/protocol/openid-connect/auth?client_id=IFS_aurena&x=1"
            )
            .as_deref(),
            Some("IFS_aurena")
        );
        assert_eq!(client_id_of("https://h/auth/realms/r"), None);
    }

    #[tokio::test]
    async fn an_unusable_base_url_is_refused_before_any_request() {
        assert!(
            discover("http://ifs.example.com")
                .await
                .unwrap_err()
                .contains("http")
        );
        assert!(discover("not a url").await.is_err());
    }
}
