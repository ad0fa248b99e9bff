//! "Who am I" in IFS: the user the API probe's answer names, and the projection a probe URL
//! calls (to say which grant is missing).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The IFS user an API answer names. Shown after a test login and kept with the last test.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfsUser {
    /// IFS's user identity, e.g. `ALICE`.
    pub user_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl IfsUser {
    /// "ALICE (Alice Smith, alice@example.com)".
    pub fn display(&self) -> String {
        let extra: Vec<&str> = [self.name.as_deref(), self.email.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
            .collect();
        if extra.is_empty() {
            self.user_id.clone()
        } else {
            format!("{} ({})", self.user_id, extra.join(", "))
        }
    }
}

/// The IFS user in a "who am I" answer (`GetCurrentUserInformation()` and the like): the
/// fields `UserId`, `DirectoryId`, `Name`, `Email` at the top level or under `value` (an
/// OData function's wrapper, an object or a one-row list). None when there is no `UserId`.
pub fn ifs_user(body: &Value) -> Option<IfsUser> {
    let record = match body.get("value") {
        Some(Value::Array(rows)) if rows.len() == 1 => &rows[0],
        Some(value @ Value::Object(_)) => value,
        _ => body,
    };
    let text = |key: &str| {
        record
            .get(key)
            .and_then(Value::as_str)
            .map(|v| crate::core::login::provider_text(v, 200))
            .filter(|v| !v.is_empty())
    };
    Some(IfsUser {
        user_id: text("UserId")?,
        directory_id: text("DirectoryId"),
        name: text("Name"),
        email: text("Email"),
    })
}

/// The IFS user a test login's probe named, as kept with the last test (`LastTest::ifs_user`)
/// by the CLI and the TUI alike.
pub fn user_of(outcome: &crate::core::login::LoginOutcome) -> Option<String> {
    outcome
        .probe
        .as_ref()
        .and_then(|p| p.user.as_ref())
        .map(IfsUser::display)
}

/// The projection a probe URL calls: `FrameworkServices` for
/// `…/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()`.
pub fn projection_of(url: &str) -> Option<String> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.split('/')
        .find_map(|segment| segment.strip_suffix(".svc"))
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_user_is_read_at_the_top_or_under_value() {
        let top = json!({"@odata.context": "x", "UserId": "ALICE", "DirectoryId": "alice",
                         "Name": "Alice Smith", "Email": "alice@example.com"});
        let user = ifs_user(&top).unwrap();
        assert_eq!(user.user_id, "ALICE");
        assert_eq!(user.directory_id.as_deref(), Some("alice"));
        assert_eq!(user.display(), "ALICE (Alice Smith, alice@example.com)");
        let wrapped = json!({"value": {"UserId": "BOB", "Email": "bob@x.co"}});
        assert_eq!(ifs_user(&wrapped).unwrap().display(), "BOB (bob@x.co)");
        let row = json!({"value": [{"UserId": "CAROL"}]});
        assert_eq!(ifs_user(&row).unwrap().display(), "CAROL");
    }

    #[test]
    fn answers_without_a_user_id_name_no_user() {
        for body in [
            json!({}),
            json!({"value": []}),
            json!({"value": [{"UserId": "A"}, {"UserId": "B"}]}),
            json!({"UserId": ""}),
            json!({"UserId": 7}),
            json!("text"),
        ] {
            assert_eq!(ifs_user(&body), None, "{body}");
        }
    }

    #[test]
    fn provider_text_in_the_user_is_made_safe() {
        let user = ifs_user(&json!({"UserId": "A\u{1b}[31m"})).unwrap();
        assert!(!user.user_id.contains('\u{1b}'));
    }

    #[test]
    fn the_projection_is_named_from_the_url() {
        assert_eq!(
            projection_of(
                "https://h/main/ifsapplications/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()"
            )
            .as_deref(),
            Some("FrameworkServices")
        );
        assert_eq!(
            projection_of("https://h/int/ifsapplications/projection/v1/PurchaseOrderHandling.svc/PurchaseOrderSet?$top=1")
                .as_deref(),
            Some("PurchaseOrderHandling")
        );
        assert_eq!(projection_of("https://h/api/me"), None);
    }
}
