//! What ifs-connect knows about IFS Cloud and its IAM (Keycloak), as data and text that the
//! CLI and the TUI only lay out: the realm from any realm URL or from the Base URL alone, what
//! to set on the IAM client, who the signed-in user is in IFS, and how long a session lasts.

pub mod discover;
pub mod realm;
pub mod register;
pub mod scopes;
pub mod session;
pub mod who;

pub use realm::{RealmUrl, normalise_authority, realm_authority};
pub use register::Registration;
pub use who::IfsUser;
