//! The few HTML pages the sandbox shows: login, error, signed out, and a home page. Each is
//! self-contained (inline CSS, no script, nothing fetched from anywhere), every value is
//! HTML-escaped, and the CSP forbids anything else.

use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_FRAME_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// No script, no external resource, no framing. `form-action` is left out on purpose:
/// Chromium applies it to the redirect after the login POST, which goes to the program's
/// loopback port, another origin.
const CSP: &str =
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f3f4f7;color:#1d1d2b;margin:0}\
main{max-width:26rem;margin:3rem auto;background:#fff;border-radius:8px;padding:2rem;\
box-shadow:0 1px 4px rgba(0,0,0,.15)}h1{font-size:1.3rem;margin:0 0 .3rem}\
.brand{color:#6c2bd9;font-weight:600;font-size:.85rem;letter-spacing:.05em;text-transform:uppercase}\
label{display:block;margin:1rem 0 .3rem;font-size:.9rem}input{width:100%;box-sizing:border-box;\
padding:.55rem;border:1px solid #b8bccb;border-radius:4px;font-size:1rem}\
button{margin-top:1.4rem;width:100%;padding:.65rem;border:0;border-radius:4px;background:#6c2bd9;\
color:#fff;font-size:1rem;cursor:pointer}.error{background:#fde8e8;color:#8a1c1c;padding:.6rem;\
border-radius:4px}.hint{color:#5b5f73;font-size:.85rem}code{font-size:.85rem}a{color:#6c2bd9}";

/// Escape for HTML text and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head>\n<body><main>\
         <div class=\"brand\">IFS Cloud sandbox</div>\n{body}\n</main></body></html>\n",
        escape(title)
    );
    let headers = [
        (
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ];
    (status, headers, page).into_response()
}

/// What the login page shows.
pub struct Login<'a> {
    pub client_id: &'a str,
    pub scope: &'a str,
    /// Where the form posts (the pending request's id is in the path).
    pub action: &'a str,
    /// The Cancel link; it must end in `/abort`.
    pub abort: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

/// The sign-in form, pre-filled with the demo user so one click signs in. The inputs are
/// named `login` and `password` and the form is a plain POST, so a scripted browser fills it.
pub fn login(page: &Login<'_>) -> Response {
    let error = page
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1><p class=\"hint\">to continue to <b>{client}</b></p>{error}\n\
         <form method=\"post\" action=\"{action}\">\n\
         <label for=\"login\">Username or email</label>\n\
         <input id=\"login\" name=\"login\" type=\"text\" value=\"{username}\" autocomplete=\"username\" required>\n\
         <label for=\"password\">Password</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" value=\"demo\" autocomplete=\"current-password\" required>\n\
         <button type=\"submit\">Sign in</button>\n</form>\n\
         <p class=\"hint\">This is a local sandbox: the user is <code>demo</code> with password \
         <code>demo</code> (already filled in). Access asked: <code>{scope}</code>.</p>\n\
         <p class=\"hint\"><a href=\"{abort}\">Cancel</a> (sends the program access_denied)</p>",
        client = escape(page.client_id),
        action = escape(page.action),
        username = escape(page.username),
        scope = escape(page.scope),
        abort = escape(page.abort),
    );
    html(StatusCode::OK, "Sign in to IFS Cloud sandbox", &body)
}

/// A problem that cannot go back to the program (unknown client, unregistered redirect URI,
/// an expired page): shown to the user, never redirected.
pub fn error(status: StatusCode, message: &str, hint: &str) -> Response {
    let body = format!(
        "<h1>We are sorry&hellip;</h1><p class=\"error\" role=\"alert\">{}</p><p class=\"hint\">{}</p>",
        escape(message),
        escape(hint)
    );
    html(status, "Sign-in error - IFS Cloud sandbox", &body)
}

/// Device login (RFC 8628): the page where the user types the code their device shows. It
/// comes pre-filled when opened through `verification_uri_complete` (a QR code, say).
pub fn device_code_form(
    status: StatusCode,
    action: &str,
    prefill: &str,
    error: Option<&str>,
) -> Response {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Device login</h1><p class=\"hint\">Enter the code your device shows.</p>{error}\n\
         <form method=\"post\" action=\"{action}\">\n\
         <label for=\"user_code\">Code</label>\n\
         <input id=\"user_code\" name=\"user_code\" type=\"text\" value=\"{prefill}\" autocomplete=\"off\" required>\n\
         <button type=\"submit\">Continue</button>\n</form>",
        action = escape(action),
        prefill = escape(prefill),
    );
    html(status, "Device login - IFS Cloud sandbox", &body)
}

/// The end of a device login on this side; the device learns the answer by polling.
pub fn device_done(approved: bool) -> Response {
    let (title, body) = if approved {
        (
            // The title the rig's scripted browser looks for.
            "Sign-in Success - IFS Cloud sandbox",
            "<h1>Device login successful</h1><p class=\"hint\">You can close this page and go \
             back to your device.</p>",
        )
    } else {
        (
            "Sign-in cancelled - IFS Cloud sandbox",
            "<h1>Device login cancelled</h1><p class=\"hint\">The device is told so. You can \
             close this page.</p>",
        )
    };
    html(StatusCode::OK, title, body)
}

pub fn signed_out() -> Response {
    html(
        StatusCode::OK,
        "Signed out - IFS Cloud sandbox",
        "<h1>You are signed out</h1><p class=\"hint\">You can close this page.</p>",
    )
}

/// `GET /`: what this server is, for someone who opens the Base URL in a browser.
pub fn home(issuer: &str, base_url: &str) -> Response {
    let body = format!(
        "<h1>The sandbox is running</h1>\
         <p class=\"hint\">A local stand-in for an IFS Cloud tenant and its identity provider, for \
         trying ifs-connect. It forgets everything when it stops.</p>\
         <p>Base URL: <code>{base}</code><br>Authority URL: <code>{issuer}</code></p>\
         <p class=\"hint\">Discovery: <code>{issuer}/.well-known/openid-configuration</code></p>",
        base = escape(base_url),
        issuer = escape(issuer),
    );
    html(StatusCode::OK, "IFS Cloud sandbox", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
