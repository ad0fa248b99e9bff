//! How long a signed-in session lasts. IFS Cloud's Keycloak ends a session after 30 minutes
//! without use (`refresh_expires_in: 1800`, renewed by every refresh); an offline session
//! (`offline_access`, `refresh_expires_in: 0`) has no such end.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::scopes::has_offline_access;

/// When the refresh token stops working, as the token response said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnd {
    /// No idle end: until logged out or revoked.
    Offline,
    /// Dies unless used before then (seconds since the epoch); each refresh moves it.
    IdleAt(i64),
}

impl SessionEnd {
    /// From a token response: `refresh_expires_in` (0 means offline on Keycloak) and the
    /// granted scope. None without a refresh token or when the provider says nothing.
    pub fn from_response(
        refresh_expires_in: Option<u64>,
        has_refresh_token: bool,
        granted_scope: Option<&str>,
        now: i64,
    ) -> Option<Self> {
        if !has_refresh_token {
            return None;
        }
        if refresh_expires_in == Some(0) || granted_scope.is_some_and(has_offline_access) {
            return Some(SessionEnd::Offline);
        }
        refresh_expires_in
            .map(|secs| SessionEnd::IdleAt(now.saturating_add(secs.min(i64::MAX as u64) as i64)))
    }

    /// Whether an idle session is over at `now`.
    pub fn idled_out_at(self, now: i64) -> bool {
        matches!(self, SessionEnd::IdleAt(at) if at <= now)
    }
}

/// What the keyring holds for a connector, as far as the session goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Session {
    /// Nothing stored.
    SignedOut,
    /// An access token without a refresh token: the session ends with it.
    AccessOnly { until: i64 },
    /// A refresh token and when it ends, if known.
    Refreshable { end: Option<SessionEnd> },
}

impl Session {
    /// One line for `show` and the detail panel.
    pub fn text(&self, now: i64) -> String {
        match *self {
            Session::SignedOut => "not signed in".into(),
            Session::AccessOnly { until } if until > now => {
                format!("ends at {} (no refresh token)", clock(until))
            }
            Session::AccessOnly { until } => {
                format!("ended at {} (no refresh token): log in again", clock(until))
            }
            Session::Refreshable {
                end: Some(SessionEnd::Offline),
            } => "offline session (Stay signed in): no idle end, lasts until logout or revocation"
                .into(),
            Session::Refreshable {
                end: Some(SessionEnd::IdleAt(at)),
            } if at > now => format!(
                "ends at {} unless used before (each use extends it)",
                clock(at)
            ),
            Session::Refreshable {
                end: Some(SessionEnd::IdleAt(at)),
            } => format!("ended at {} (unused too long): log in again", clock(at)),
            Session::Refreshable { end: None } => "signed in (end not known)".into(),
        }
    }

    /// A few words for the list's column.
    pub fn short(&self, now: i64) -> String {
        match *self {
            Session::SignedOut => "-".into(),
            Session::AccessOnly { until }
            | Session::Refreshable {
                end: Some(SessionEnd::IdleAt(until)),
            } if until <= now => "ended".into(),
            Session::AccessOnly { until } => format!("until {}", clock(until)),
            Session::Refreshable {
                end: Some(SessionEnd::Offline),
            } => "offline".into(),
            Session::Refreshable {
                end: Some(SessionEnd::IdleAt(at)),
            } => format!("until {}", clock(at)),
            Session::Refreshable { end: None } => "signed in".into(),
        }
    }
}

/// "2026-11-29 16:30 UTC".
pub fn clock(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000; // 2027-01-15 08:00 UTC

    #[test]
    fn the_end_comes_from_refresh_expires_in() {
        let idle = SessionEnd::from_response(Some(1800), true, Some("openid"), NOW);
        assert_eq!(idle, Some(SessionEnd::IdleAt(NOW + 1800)));
        assert_eq!(
            SessionEnd::from_response(Some(0), true, Some("openid"), NOW),
            Some(SessionEnd::Offline)
        );
        assert_eq!(
            SessionEnd::from_response(Some(1800), true, Some("openid offline_access"), NOW),
            Some(SessionEnd::Offline)
        );
        assert_eq!(
            SessionEnd::from_response(Some(1800), false, None, NOW),
            None
        );
        assert_eq!(SessionEnd::from_response(None, true, None, NOW), None);
        assert!(SessionEnd::IdleAt(NOW).idled_out_at(NOW));
        assert!(!SessionEnd::IdleAt(NOW + 1).idled_out_at(NOW));
        assert!(!SessionEnd::Offline.idled_out_at(i64::MAX));
    }

    #[test]
    fn the_texts_say_when_it_ends() {
        assert_eq!(clock(NOW), "2027-01-15 08:00 UTC");
        let idle = Session::Refreshable {
            end: Some(SessionEnd::IdleAt(NOW + 1800)),
        };
        assert_eq!(
            idle.text(NOW),
            "ends at 2027-01-15 08:30 UTC unless used before (each use extends it)"
        );
        assert_eq!(idle.short(NOW), "until 2027-01-15 08:30 UTC");
        assert!(
            idle.text(NOW + 1800)
                .starts_with("ended at 2027-01-15 08:30 UTC")
        );
        assert_eq!(idle.short(NOW + 1800), "ended");
        let offline = Session::Refreshable {
            end: Some(SessionEnd::Offline),
        };
        assert!(offline.text(NOW).starts_with("offline session"));
        assert_eq!(offline.short(NOW), "offline");
        assert_eq!(Session::SignedOut.text(NOW), "not signed in");
        let access = Session::AccessOnly { until: NOW + 60 };
        assert!(access.text(NOW).contains("no refresh token"));
        assert!(access.text(NOW + 61).contains("log in again"));
    }
}
