//! Bad input, generated (issue 7, "Fuzz"): the `--param` parser and the other field
//! validators, the discovery policy checks, the discovery document as served over HTTP,
//! the config file, and, through a real login waiting on the real provider, pasted
//! redirect URLs and raw requests to the loopback listener's callback parser.
//! No panic anywhere, and every rejection says something (a non-empty message).
//!
//! Bounded: a fixed number of cases each (PROPTEST_CASES overrides), a few seconds in all.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use ifs_connect::core::connector::{Auth, Connector, OpenIdAuth};
use ifs_connect::core::login::{self, BrowserMode, LoginEvent, LoginOptions, discovery, policy};
use ifs_connect::core::secrets::MemorySecrets;
use ifs_connect::core::store::Store;
use ifs_connect::core::validate;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text that looks like what people type or paste: URLs, assignments, odd characters.
fn texty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,80}",
        "(https?|ftp|javascript|file)://[a-z0-9.:@\\[\\]-]{0,30}(/[ -~]{0,30})?(\\?[ -~]{0,40})?(#.{0,10})?",
        "[a-zA-Z_ ]{0,12}=[ -~\\u{0}-\\u{1f}\\u{80}-\\u{10ffff}]{0,30}",
        "http://127\\.0\\.0\\.1:[0-9]{1,6}/callback\\?[a-z_=&%0-9A-F]{0,60}",
    ]
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn param_assignment_accepts_or_explains(text in texty()) {
        match validate::param_assignment(&text) {
            Ok(param) => {
                prop_assert!(!param.key.is_empty());
                prop_assert!(validate::extra_param(&param).is_ok());
            }
            Err(message) => prop_assert!(!message.trim().is_empty()),
        }
    }

    #[test]
    fn field_validators_accept_or_explain(text in texty()) {
        let results = [
            validate::web_url(&text).map(|u| u.to_string()),
            validate::base_url(&text),
            validate::authority_url(&text),
            validate::endpoint_url(&text),
            validate::redirect_uri(&text),
            validate::scopes(&text, true),
            validate::client_id(&text),
            validate::name(&text),
            validate::agent_group(&text),
            validate::email(&text),
            validate::probe_path(&text),
        ];
        for result in results {
            if let Err(message) = result {
                prop_assert!(!message.trim().is_empty());
            }
        }
    }
}

/// A discovery-ish JSON document: endpoint keys with URL-ish or odd values, other junk.
fn document() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("issuer".to_owned()),
        Just("authorization_endpoint".to_owned()),
        Just("token_endpoint".to_owned()),
        Just("userinfo_endpoint".to_owned()),
        Just("jwks_uri".to_owned()),
        Just("pushed_authorization_request_endpoint".to_owned()),
        Just("mtls_endpoint_aliases".to_owned()),
        Just("id_token_signing_alg_values_supported".to_owned()),
        "[a-z_]{1,20}",
    ];
    let leaf = prop_oneof![
        texty().prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    let value = leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map(key, value, 0..10)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

proptest! {
    #![proptest_config(config(1000))]

    #[test]
    fn discovery_policy_checks_accept_or_explain(doc in document(), authority in texty()) {
        let checks = [
            policy::endpoints_use_https(&doc),
            policy::issuer_matches(&authority, doc.get("issuer").and_then(Value::as_str)),
            policy::endpoints_within_authority(&authority, &doc),
        ];
        for check in checks {
            if let Err(error) = check {
                prop_assert!(!error.message.trim().is_empty());
            }
        }
        let _ = policy::endpoint_entries(&doc);
    }

    #[test]
    fn the_config_file_loads_or_explains(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        "[ -~\\n]{0,400}".prop_map(String::into_bytes),
        valid_config_mutated(),
    ]) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("connectors.toml"), &bytes).unwrap();
        if let Err(error) = Store::new(dir.path()).load() {
            prop_assert!(!error.to_string().trim().is_empty());
        }
    }
}

const VALID_CONFIG: &str = r#"version = 1
agent_groups = ["default"]

[[connector]]
id = "0123456789abcdef0123456789abcdef"
name = "prod"
agent_group = "default"
base_url = "https://ifs.example.com"
redirect_uri = "http://127.0.0.1/callback"
probe_path = "main/ifsapplications/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()"

[connector.auth]
type = "openid"
authority_url = "https://ifs.example.com/auth/realms/prod"
client_id = "ifs-connect"
scopes = "openid profile email"
"#;

/// The valid config with one byte range replaced by junk: errors deep inside real structure.
fn valid_config_mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        0..VALID_CONFIG.len(),
        0usize..12,
        prop::collection::vec(any::<u8>(), 0..12),
    )
        .prop_map(|(at, cut, junk)| {
            let mut bytes = VALID_CONFIG.as_bytes().to_vec();
            let end = (at + cut).min(bytes.len());
            bytes.splice(at..end, junk);
            bytes
        })
}

// ---- the discovery document over HTTP -------------------------------------------------------------

/// Serves whatever body and content type the current case sets, on 127.0.0.1.
struct Server {
    url: String,
    answer: Arc<Mutex<(u16, &'static str, Vec<u8>)>>,
    runtime: tokio::runtime::Runtime,
}

fn serve() -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let answer = Arc::new(Mutex::new((200, "application/json", Vec::new())));
    let shared = Arc::clone(&answer);
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = axum::Router::new().fallback(move || {
        let (status, kind, body) = shared.lock().unwrap().clone();
        async move {
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [(axum::http::header::CONTENT_TYPE, kind)],
                body,
            )
        }
    });
    runtime.spawn(async move { axum::serve(listener, app).await });
    Server {
        url: format!("http://127.0.0.1:{port}/realms/p/.well-known/openid-configuration"),
        answer,
        runtime,
    }
}

#[test]
fn discovery_documents_over_http_parse_or_explain() {
    let server = serve();
    let http = login::http_client(&LoginOptions {
        http_timeout: Duration::from_secs(5),
        ..LoginOptions::default()
    })
    .unwrap();
    let body = prop_oneof![
        document().prop_map(|d| serde_json::to_vec(&d).unwrap()),
        prop::collection::vec(any::<u8>(), 0..200),
        Just(b"<!doctype html><title>Sign in</title>".to_vec()),
    ];
    let status = prop_oneof![Just(200u16), Just(404), Just(500), Just(302), 200u16..600];
    let kind = prop_oneof![
        Just("application/json"),
        Just("text/html"),
        Just("text/plain")
    ];
    let mut runner = proptest::test_runner::TestRunner::new(config(200));
    runner
        .run(&(body, status, kind), |(body, status, kind)| {
            *server.answer.lock().unwrap() = (status, kind, body);
            let result = server
                .runtime
                .block_on(discovery::fetch(&http, &server.url));
            if let Err(error) = result {
                prop_assert!(!error.message.trim().is_empty());
            }
            Ok(())
        })
        .unwrap();
}

// ---- pasted URLs and the callback parser, during a real login -------------------------------------

fn raw_request(port: u16, bytes: &[u8]) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream.write_all(bytes).ok()?;
    let _ = stream.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    let _ = stream.take(4096).read_to_end(&mut answer);
    Some(String::from_utf8_lossy(&answer).into_owned())
}

fn listener_port(url: &str) -> u16 {
    let url = url::Url::parse(url).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .expect("redirect_uri in the authorization URL")
        .1
        .into_owned();
    url::Url::parse(&redirect).unwrap().port().unwrap()
}

/// What a browser or a person might send: a redirect-like query, or anything at all.
fn callback_request() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-z_]{0,8}=[ -~]{0,20}(&[a-z_]{0,8}=[ -~]{0,20}){0,4}"
            .prop_map(|q| format!("GET /callback?{q} HTTP/1.1\r\nHost: x\r\n\r\n").into_bytes()),
        "(code|state|error|iss|error_description)=[%A-Za-z0-9]{0,30}(&(code|state|error|iss)=[%A-Za-z0-9]{0,30}){0,5}"
            .prop_map(|q| format!("GET /callback?{q} HTTP/1.1\r\n\r\n").into_bytes()),
        prop::collection::vec(any::<u8>(), 0..300),
        "[A-Z]{1,7} [ -~]{0,60} HTTP/1\\.[01]\r\n([A-Za-z-]{1,10}: [ -~]{0,20}\r\n){0,3}\r\n"
            .prop_map(String::into_bytes),
    ]
}

#[test]
fn pasted_urls_and_raw_callbacks_are_ignored_or_explained_while_a_login_waits() {
    common::rig_required();
    let provider = common::Provider::start_with(&[("PROVIDER_PAR", "0")]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut connector = Connector::new(
        "fuzz",
        Auth::OpenId(OpenIdAuth {
            authority_url: provider.issuer.clone(),
            client_id: "ifs-public".into(),
            scopes: "openid".into(),
            ..OpenIdAuth::default()
        }),
    );
    connector.base_url = provider.base_url.clone();
    connector.probe_path = String::new();
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (pasted_tx, pasted) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let run = runtime.spawn(login::run(
        connector,
        Arc::new(MemorySecrets::default()),
        LoginOptions {
            timeout: Duration::from_secs(60),
            browser: BrowserMode::Never,
            http_timeout: Duration::from_secs(10),
            ..LoginOptions::default()
        },
        pasted,
        events_tx,
        cancel.clone(),
    ));
    let url = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                match events.recv().await {
                    Some(LoginEvent::OpenUrl { url, .. }) => return url,
                    Some(_) => {}
                    None => panic!("the login ended before waiting"),
                }
            }
        })
        .await
        .expect("the login reaches the wait within 20 s")
    });
    let port = listener_port(&url);

    // Raw requests: each gets an HTTP answer (or a closed connection for non-HTTP bytes), and
    // the listener keeps listening.
    let mut runner = proptest::test_runner::TestRunner::new(config(300));
    runner
        .run(&callback_request(), |bytes| {
            if let Some(answer) = raw_request(port, &bytes) {
                prop_assert!(
                    answer.is_empty() || answer.starts_with("HTTP/1.1 "),
                    "{answer:?}"
                );
            }
            Ok(())
        })
        .unwrap();
    assert!(
        raw_request(port, b"GET /favicon.ico HTTP/1.1\r\n\r\n").is_some(),
        "the listener still answers after the junk"
    );

    // Pasted text: each is refused with a notice that says why, and the wait goes on. A
    // paste can only end the login with the right state, which none of these have.
    let pastes: Vec<String> = {
        let mut runner = proptest::test_runner::TestRunner::new(config(1));
        let strategy = prop::collection::vec(
            prop_oneof![
                texty(),
                "(code|state|error|iss)=[%A-Za-z0-9]{0,20}(&(code|state|error|iss)=[%A-Za-z0-9]{0,20}){0,4}"
                    .prop_map(move |q| format!("http://127.0.0.1:{port}/callback?{q}")),
            ],
            200,
        );
        proptest::strategy::ValueTree::current(&strategy.new_tree(&mut runner).unwrap())
    };
    let notices = runtime.block_on(async {
        // Let the notices about the raw requests arrive, and set them aside.
        tokio::time::sleep(Duration::from_millis(200)).await;
        while events.try_recv().is_ok() {}
        let mut notices = Vec::new();
        for text in pastes.iter().filter(|p| !p.trim().is_empty()) {
            pasted_tx
                .send(text.clone())
                .await
                .expect("the login still waits");
            let notice = tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    match events.recv().await {
                        Some(LoginEvent::Notice(notice)) => return notice,
                        Some(_) => {}
                        None => panic!("the login ended on the paste {text:?}"),
                    }
                }
            })
            .await
            .unwrap_or_else(|_| panic!("no notice within 5 s for the paste {text:?}"));
            assert!(!notice.trim().is_empty(), "an empty notice for {text:?}");
            notices.push(notice);
        }
        notices
    });
    assert!(
        !run.is_finished(),
        "no junk paste or request ended the login"
    );
    assert!(
        notices.len() > 150,
        "most pastes were not blank: {}",
        notices.len()
    );
    cancel.cancel();
    let outcome = runtime.block_on(run).unwrap();
    let error = outcome.error.expect("cancelled");
    assert_eq!(error.kind.as_str(), "cancelled");
    assert!(!error.message.is_empty());
}
