//! The whole TUI in-process on a `TestBackend`, scripted keys, with the real OS keyring
//! (the rig's private Secret Service): create, edit and delete connectors through the
//! screens, checking the config file and the keyring after each step.

mod common;

use std::io;
use std::sync::Arc;

use common::{rig_required, secret_tool_lookup};
use futures::channel::mpsc::{UnboundedSender, unbounded};
use ifs_connect::core::Context;
use ifs_connect::core::connector::Auth;
use ifs_connect::core::login::LoginOptions;
use ifs_connect::core::paths::Paths;
use ifs_connect::core::secrets::OsKeyring;
use ifs_connect::core::store::Config;
use ifs_connect::tui::{App, AppOptions, CoreEngine, MemoryClipboard, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

type Keys = UnboundedSender<io::Result<Event>>;

struct Tui {
    app: App<TestBackend, futures::channel::mpsc::UnboundedReceiver<io::Result<Event>>>,
    keys: Keys,
    context: Context,
    _dir: tempfile::TempDir,
}

impl Tui {
    async fn start() -> Tui {
        let dir = tempfile::tempdir().unwrap();
        let context = Context::new(Paths::under(dir.path()), Arc::new(OsKeyring));
        let engine = CoreEngine::new(Arc::new(OsKeyring), LoginOptions::default()).unwrap();
        let options = AppOptions {
            theme: Theme::monochrome(),
            engine: Arc::new(engine),
            clipboard: Box::new(MemoryClipboard::default()),
            clock: time::OffsetDateTime::now_utc,
            keymap: Default::default(),
            first_frame_log: None,
        };
        let (keys, input) = unbounded();
        let terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let mut app = App::new(terminal, input, context.clone(), options);
        app.settle().await.unwrap();
        Tui {
            app,
            keys,
            context,
            _dir: dir,
        }
    }

    fn key_with(&self, code: KeyCode, modifiers: KeyModifiers) -> &Self {
        self.keys
            .unbounded_send(Ok(Event::Key(KeyEvent::new(code, modifiers))))
            .unwrap();
        self
    }

    fn key(&self, code: KeyCode) -> &Self {
        self.key_with(code, KeyModifiers::NONE)
    }

    fn ctrl(&self, c: char) -> &Self {
        self.key_with(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn text(&self, text: &str) -> &Self {
        text.chars().for_each(|c| {
            self.key(KeyCode::Char(c));
        });
        self
    }

    async fn settle(&mut self) -> String {
        self.app.settle().await.unwrap();
        let buffer = self.app.backend().buffer();
        buffer
            .content
            .chunks(buffer.area.width as usize)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn config(&self) -> Config {
        self.context.workspace.store().load().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_edit_and_delete_through_the_screens_with_the_real_keyring() {
    rig_required();
    let mut tui = Tui::start().await;

    // Create an OpenId connector, all six steps.
    tui.text("n")
        .text("IFS production")
        .key(KeyCode::Enter)
        .key(KeyCode::Enter);
    tui.text("https://ifs.example.com")
        .key(KeyCode::Enter)
        .key(KeyCode::Enter)
        .key(KeyCode::Enter);
    tui.key(KeyCode::Enter); // OpenId
    tui.key(KeyCode::Enter)
        .text("https://ifs.example.com/auth/realms/prod")
        .key(KeyCode::Enter);
    tui.text("ifs-public").key(KeyCode::Enter);
    tui.ctrl('s');
    let screen = tui.settle().await;
    assert!(screen.contains("IFS production"), "{screen}");
    let config = tui.config();
    let prod = config.find("IFS production").expect("saved").clone();
    let Auth::OpenId(auth) = &prod.auth else {
        panic!("{prod:?}")
    };
    assert_eq!(
        auth.authority_url,
        "https://ifs.example.com/auth/realms/prod"
    );
    assert_eq!(auth.client_id, "ifs-public");
    assert_eq!(
        secret_tool_lookup(&format!("{}/client_secret", prod.id)),
        None
    );

    // Edit it into a confidential OAuth2 connector: the secret goes to the keyring.
    tui.text("e")
        .key_with(KeyCode::Char('3'), KeyModifiers::ALT)
        .key(KeyCode::Down);
    tui.key_with(KeyCode::Char('4'), KeyModifiers::ALT);
    tui.key(KeyCode::Tab).key(KeyCode::Tab).key(KeyCode::Tab);
    tui.text("https://ifs.example.com/auth/realms/prod/protocol/openid-connect/auth")
        .key(KeyCode::Tab);
    tui.text("https://ifs.example.com/auth/realms/prod/protocol/openid-connect/token")
        .key(KeyCode::Tab);
    tui.ctrl('u')
        .text("ifs-confidential")
        .key(KeyCode::Tab)
        .text("k3yring-only");
    tui.ctrl('s');
    let screen = tui.settle().await;
    assert!(screen.contains("oauth2"), "{screen}");
    assert!(!screen.contains("k3yring-only"));
    let config = tui.config();
    let edited = config.find("IFS production").unwrap().clone();
    assert_eq!(edited.id, prod.id, "editing keeps the id");
    let Auth::OAuth2(auth) = &edited.auth else {
        panic!("{edited:?}")
    };
    assert_eq!(auth.client_id, "ifs-confidential");
    assert!(auth.has_client_secret);
    let entry = format!("{}/client_secret", edited.id);
    assert_eq!(secret_tool_lookup(&entry).as_deref(), Some("k3yring-only"));
    let file = std::fs::read_to_string(tui.context.paths.config_file()).unwrap();
    assert!(!file.contains("k3yring-only"));

    // Delete it: the confirm names it; the config and the keyring forget it.
    tui.text("d");
    let screen = tui.settle().await;
    assert!(screen.contains("Delete 'IFS production'?"), "{screen}");
    tui.text("y");
    let screen = tui.settle().await;
    assert!(screen.contains("No connectors yet"), "{screen}");
    assert!(tui.config().connectors.is_empty());
    assert_eq!(secret_tool_lookup(&entry), None);
}
