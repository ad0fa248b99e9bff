//! The API probe: one GET below the Base URL with the access token, to show the token works
//! where it will be used (IFS Cloud's "who am I" call by default).

use std::time::Instant;

use reqwest::header::{ACCEPT, AUTHORIZATION};
use secrecy::SecretString;

use super::userinfo::bearer;
use super::{ErrorKind, LoginError, ProbeResult, http};

/// `{base_url}/{probe_path}`, with exactly one `/` between them.
pub fn probe_url(base_url: &str, probe_path: &str) -> String {
    format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        probe_path.trim_start_matches('/')
    )
}

/// Call the probe; the result is reported even when the call failed.
pub async fn run(
    client: &reqwest::Client,
    url: &str,
    access_token: &SecretString,
) -> (ProbeResult, Result<(), LoginError>) {
    let started = Instant::now();
    let what = "the API probe";
    let outcome = async {
        let request = client
            .get(url)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, bearer(access_token)?);
        http::send(request, what, url, ErrorKind::Probe).await
    }
    .await;
    let ms = started.elapsed().as_millis() as u64;
    let result = |status: Option<u16>| ProbeResult {
        url: url.to_owned(),
        status,
        ms,
    };
    match outcome {
        Err(error) => (result(None), Err(error)),
        Ok(fetched) => {
            let status = fetched.status.as_u16();
            (result(Some(status)), judge(status, url))
        }
    }
}

/// 2xx is fine; 401/403 means the API refused the token; 404 a wrong URL.
pub fn judge(status: u16, url: &str) -> Result<(), LoginError> {
    match status {
        200..=299 => Ok(()),
        401 | 403 => Err(LoginError::new(
            ErrorKind::Probe,
            format!("the API at {url} rejected the token (HTTP {status}): token rejected"),
        )
        .with_hint(
            "the user may lack permission in IFS Cloud, or the API expects another audience or \
             scope",
        )),
        404 => Err(LoginError::new(
            ErrorKind::Probe,
            format!("the API answered HTTP 404 at {url}"),
        )
        .with_hint("check the Base URL or probe path")),
        503 => Err(LoginError::new(
            ErrorKind::Probe,
            format!("the API at {url} is unavailable (HTTP 503)"),
        )
        .with_hint(
            "IFS Cloud may be refreshing its metadata cache (MI_MODIFIED_ERROR): try again shortly",
        )),
        _ => Err(LoginError::new(
            ErrorKind::Probe,
            format!("the API at {url} answered HTTP {status}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_url_joins_with_one_slash() {
        assert_eq!(probe_url("https://h/", "/a/b()"), "https://h/a/b()");
        assert_eq!(probe_url("https://h", "a"), "https://h/a");
    }

    #[test]
    fn status_table() {
        assert!(judge(200, "u").is_ok());
        assert!(judge(204, "u").is_ok());
        assert!(
            judge(401, "u")
                .unwrap_err()
                .message
                .contains("token rejected")
        );
        assert!(
            judge(403, "u")
                .unwrap_err()
                .message
                .contains("token rejected")
        );
        assert_eq!(
            judge(404, "u").unwrap_err().hint.as_deref(),
            Some("check the Base URL or probe path")
        );
        assert_eq!(judge(500, "u").unwrap_err().kind, ErrorKind::Probe);
    }
}
