//! `list`, `show`, `remove`, `export` and `import`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde::{Deserialize, Serialize};

use super::connector_args::{blocking, shell_word};
use super::{Context, Failure};
use crate::core::connector::Connector;
use crate::core::describe;
use crate::core::ifs::{Registration, scopes::has_offline_access};
use crate::core::secrets::SecretKind;
use crate::core::store::CONFIG_VERSION;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    pub name: String,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Connectors to export [default: all]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// An export file, or - for standard input
    pub file: PathBuf,
}

/// The export format: connectors without secrets, tagged so an import knows what it reads.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExportFile {
    format: String,
    version: u32,
    connectors: Vec<Connector>,
}

const EXPORT_FORMAT: &str = "ifs-connect-export";

pub async fn list(context: &Context, args: ListArgs) -> Result<ExitCode, Failure> {
    let config = context.workspace.load()?;
    if args.json {
        print_json(&config.connectors)?;
        return Ok(ExitCode::SUCCESS);
    }
    if config.connectors.is_empty() {
        println!(
            "No connectors yet. Add one with `ifs-connect` (the wizard) or `ifs-connect add --help`."
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows: Vec<[String; 6]> = Vec::new();
    for c in &config.connectors {
        rows.push([
            c.name.clone(),
            c.agent_group.clone(),
            c.auth_kind().short().to_owned(),
            c.base_url.clone(),
            last_test_text(c),
            session_text(context, c, true).await,
        ]);
    }
    print_table(
        [
            "NAME",
            "AGENT GROUP",
            "AUTH",
            "BASE URL",
            "LAST TEST",
            "SESSION",
        ],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

/// When the connector's session ends, from the keyring (no network).
async fn session_text(context: &Context, connector: &Connector, short: bool) -> String {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match crate::core::tokens::session(context.workspace.secrets(), &connector.id).await {
        Ok(session) if short => session.short(now),
        Ok(session) => session.text(now),
        Err(_) => "unknown (keyring not reachable)".into(),
    }
}

fn last_test_text(connector: &Connector) -> String {
    match &connector.last_test {
        None => "never".to_owned(),
        Some(t) => {
            let when =
                t.at.format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
            format!("{} {when}", if t.ok { "ok" } else { "failed" })
        }
    }
}

fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// What `show` says about the secrets: whether they are really in the keyring.
#[derive(Debug, Serialize)]
struct SecretState {
    client_secret: String,
    refresh_token: String,
}

pub async fn show(context: &Context, args: ShowArgs) -> Result<ExitCode, Failure> {
    let workspace = context.workspace.clone();
    let name = args.name.clone();
    let connector = blocking(move || workspace.get(&name)).await?;
    let secrets = secret_state(context, &connector).await;
    let session = session_text(context, &connector, false).await;
    let registration = Registration::of(&connector);
    if args.json {
        let mut value = serde_json::to_value(&connector).map_err(Failure::other)?;
        value["secrets"] = serde_json::to_value(&secrets).map_err(Failure::other)?;
        value["session"] = session.into();
        value["register"] = registration
            .rows()
            .into_iter()
            .map(|(label, v)| (label.to_owned(), serde_json::Value::String(v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        print_json(&value)?;
        return Ok(ExitCode::SUCCESS);
    }
    for (label, value) in describe(&connector, &secrets) {
        println!("{label:<28}{value}");
    }
    println!("{:<28}{session}", "Session");
    println!();
    println!("{}", registration.lines().join("\n"));
    Ok(ExitCode::SUCCESS)
}

async fn secret_state(context: &Context, connector: &Connector) -> SecretState {
    if let Some(var) = connector.client_secret_env() {
        // Such a connector never uses the keyring (it may not even exist on this machine).
        return SecretState {
            client_secret: format!(
                "from the environment variable {var} ({} here)",
                if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
                    "set"
                } else {
                    "NOT set"
                }
            ),
            refresh_token: "none (tokens stay in the process that got them)".into(),
        };
    }
    let secrets = context.workspace.secrets().clone();
    let id = connector.id.clone();
    let expects_secret = connector.has_client_secret();
    let lookup = crate::core::secrets::blocking(&secrets, move |s| {
        Ok((
            s.get(&id, SecretKind::ClientSecret)?.is_some(),
            s.get(&id, SecretKind::RefreshToken)?.is_some(),
        ))
    })
    .await;
    let (client_secret, refresh_token) = match lookup {
        Ok((has_secret, has_refresh)) => (
            match (expects_secret, has_secret) {
                (true, true) => "stored in keyring",
                (true, false) => "MISSING from keyring: set it with edit --client-secret-stdin",
                (false, _) => "none",
            },
            if has_refresh {
                "stored in keyring"
            } else {
                "none"
            },
        ),
        Err(_) => (
            if expects_secret {
                "stored in keyring (keyring not reachable to confirm)"
            } else {
                "none"
            },
            "unknown (keyring not reachable)",
        ),
    };
    SecretState {
        client_secret: client_secret.into(),
        refresh_token: refresh_token.into(),
    }
}

fn describe(c: &Connector, secrets: &SecretState) -> Vec<(&'static str, String)> {
    let mut rows = describe::connector_rows(c, &secrets.client_secret, describe::Density::Full);
    rows.extend([
        (
            "Probe path",
            if c.probe_path.is_empty() {
                "none (no API call)".into()
            } else {
                c.probe_path.clone()
            },
        ),
        (
            "CA file",
            c.ca_file
                .clone()
                .unwrap_or_else(|| "none (the OS store and SSL_CERT_FILE)".into()),
        ),
        (
            "Stay signed in (offline)",
            if has_offline_access(c.auth.scopes()) {
                "on"
            } else {
                "off"
            }
            .to_owned(),
        ),
        ("Refresh token", secrets.refresh_token.clone()),
        ("Last test", last_test_text(c)),
    ]);
    if let Some(t) = &c.last_test {
        rows.push(("Last test result", t.summary.clone()));
        if let Some(user) = &t.ifs_user {
            rows.push(("IFS user (last test)", user.clone()));
        }
    }
    rows
}

pub async fn remove(context: &Context, args: RemoveArgs) -> Result<ExitCode, Failure> {
    let workspace = context.workspace.clone();
    let name = args.name.clone();
    let removed = blocking(move || workspace.remove(&name)).await?;
    match removed.secrets_left {
        None => println!(
            "Removed connector '{}' and its secrets.",
            removed.connector.name
        ),
        Some(error) => {
            println!("Removed connector '{}'.", removed.connector.name);
            eprintln!(
                "warning: its secrets could not be deleted from the keyring ({error}). Delete them later with: \
                 secret-tool clear service ifs-connect username {}/client_secret (and /refresh_token, /access_token)",
                removed.connector.id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn export(context: &Context, args: ExportArgs) -> Result<ExitCode, Failure> {
    let config = context.workspace.load()?;
    let mut connectors = Vec::new();
    if args.names.is_empty() {
        connectors = config.connectors;
    } else {
        for name in &args.names {
            let found = config.find(name).cloned().ok_or_else(|| {
                Failure::usage(format!(
                    "there is no connector named '{name}' (see `ifs-connect list`)"
                ))
            })?;
            connectors.push(found);
        }
    }
    for c in &mut connectors {
        c.last_test = None;
    }
    print_json(&ExportFile {
        format: EXPORT_FORMAT.into(),
        version: CONFIG_VERSION,
        connectors,
    })?;
    Ok(ExitCode::SUCCESS)
}

pub async fn import(context: &Context, args: ImportArgs) -> Result<ExitCode, Failure> {
    let (label, text) = read_import(&args.file)?;
    let file: ExportFile = serde_json::from_str(&text).map_err(|e| {
        Failure::usage(format!(
            "{label}:{}:{}: not an ifs-connect export: {e}",
            e.line(),
            e.column()
        ))
    })?;
    if file.format != EXPORT_FORMAT {
        return Err(Failure::usage(format!(
            "{label} is not an ifs-connect export (format '{}')",
            file.format
        )));
    }
    if file.version > CONFIG_VERSION {
        return Err(Failure::usage(format!(
            "{label} was written by a newer ifs-connect (version {}); upgrade ifs-connect",
            file.version
        )));
    }
    let needs_secret: Vec<String> = file
        .connectors
        .iter()
        .filter(|c| c.has_client_secret())
        .map(|c| c.name.clone())
        .collect();
    let workspace = context.workspace.clone();
    let summary = blocking(move || workspace.import(file.connectors)).await?;
    println!(
        "Imported {} new and {} replaced connector(s).",
        summary.added, summary.replaced
    );
    if summary.replaced > 0 {
        println!(
            "Replaced connectors start without stored tokens: log in to them again              (ifs-connect login NAME)."
        );
    }
    for name in &summary.secrets_dropped {
        println!(
            "'{name}' now sends its client secret to another host, so the stored one was deleted:              set it with `ifs-connect edit {} --client-secret-stdin`",
            shell_word(name)
        );
    }
    for name in needs_secret {
        println!(
            "'{name}' used a client secret, which exports never contain: set it with \
             `ifs-connect edit {} --client-secret-stdin` if this machine does not have it yet",
            shell_word(&name)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn read_import(path: &PathBuf) -> Result<(String, String), Failure> {
    if path.as_os_str() == "-" {
        let text = std::io::read_to_string(std::io::stdin())
            .map_err(|e| Failure::other(format!("cannot read standard input: {e}")))?;
        return Ok(("<stdin>".into(), text));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    Ok((path.display().to_string(), text))
}

fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(Failure::other)?;
    println!("{text}");
    Ok(())
}
