//! The sandbox's one user. Its password is public on purpose: this is a demo identity
//! provider on 127.0.0.1, and the login page comes pre-filled with it.

use super::state::same_secret;

#[derive(Debug, PartialEq, Eq)]
pub struct User {
    /// Keycloak subjects are UUIDs; a fixed one keeps `sub` stable across runs.
    pub sub: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub email: &'static str,
    pub given_name: &'static str,
    pub family_name: &'static str,
    /// The IFS Cloud user (Fnd user identity), as the API reports it.
    pub ifs_user_id: &'static str,
}

pub const DEMO: User = User {
    sub: "6f1d2c3b-8a4e-4b7f-9c21-5d0e3a9b7c41",
    username: "demo",
    password: "demo",
    email: "demo@example.com",
    given_name: "Demo",
    family_name: "User",
    ifs_user_id: "DEMO",
};

/// The service user of the service client: Keycloak names it `service-account-<client id>`,
/// and IFS links it to an IFS user. It has no password: nobody signs in as it.
pub const SERVICE: User = User {
    sub: "0b7e5a0c-3f2d-4c1e-9a8b-7d6c5e4f3a21",
    username: "service-account-ifs-connect-service",
    password: "",
    email: "",
    given_name: "Service",
    family_name: "User",
    ifs_user_id: "IFS_CONNECT_SERVICE",
};

impl User {
    pub fn name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// Keycloak lets a user sign in with the username or the email address (case-insensitive).
pub fn authenticate(login: &str, password: &str) -> Option<&'static User> {
    let login = login.trim();
    let known = login.eq_ignore_ascii_case(DEMO.username) || login.eq_ignore_ascii_case(DEMO.email);
    (known && same_secret(password, DEMO.password)).then_some(&DEMO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_or_email_with_the_password() {
        assert!(authenticate("demo", "demo").is_some());
        assert!(authenticate(" Demo@Example.com ", "demo").is_some());
        assert!(authenticate("demo", "Demo").is_none());
        assert!(authenticate("alice", "demo").is_none());
    }
}
