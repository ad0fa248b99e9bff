//! `ifs-connect sandbox` as a child process of a test: started with `--json`, its ready
//! line read (bounded), killed on drop.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{API_PATH, Env};

/// Bound for the sandbox's ready line (a debug build on a busy 2-core machine).
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

// ---- the sandbox as a child process ------------------------------------------------------------

/// A running `ifs-connect sandbox --json`; killed on drop.
pub struct SandboxProcess {
    pub child: Child,
    pub info: Value,
    pub stderr: Arc<Mutex<String>>,
    pub started_in: Duration,
}

impl SandboxProcess {
    pub fn start(env: &Env, extra: &[&str]) -> SandboxProcess {
        let mut args = vec!["sandbox", "--json"];
        args.extend_from_slice(extra);
        let mut cmd = env.cmd(&args);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd.spawn().expect("cannot start ifs-connect sandbox");
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let mut pipe = child.stderr.take().unwrap();
        thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            sink.lock().unwrap().push_str(&text);
        });
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the sandbox never blocks on a full pipe.
            let _ = reader.read_to_end(&mut Vec::new());
        });
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(line) if !line.trim().is_empty() => line,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "the sandbox printed no ready line within {START_TIMEOUT:?} ({other:?}); stderr:\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        let started_in = started.elapsed();
        let info: Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("the ready line is not JSON ({e}): {line}"));
        assert_eq!(info["ready"], true, "{info}");
        SandboxProcess {
            child,
            info,
            stderr,
            started_in,
        }
    }

    pub fn text(&self, key: &str) -> String {
        self.info[key]
            .as_str()
            .unwrap_or_else(|| panic!("no {key} in {}", self.info))
            .to_owned()
    }

    pub fn issuer(&self) -> String {
        self.text("issuer")
    }

    pub fn base_url(&self) -> String {
        self.text("base_url")
    }

    pub fn port(&self) -> u16 {
        self.info["port"].as_u64().unwrap() as u16
    }

    pub fn secret(&self) -> String {
        self.text("client_secret")
    }

    pub fn endpoint(&self, rest: &str) -> String {
        format!("{}/protocol/openid-connect/{rest}", self.issuer())
    }

    pub fn api_url(&self) -> String {
        format!("{}{API_PATH}", self.base_url())
    }

    /// Send `signal` and wait (bounded) for the exit.
    pub fn stop_with(mut self, signal: &str, bound: Duration) -> (ExitStatus, Duration) {
        let pid = self.child.id().to_string();
        let sent = Instant::now();
        let out = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .unwrap();
        assert!(out.success(), "kill -{signal} {pid}");
        for _ in 0..(bound.as_millis() / 20 + 1) {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, sent.elapsed());
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "the sandbox did not exit within {bound:?} of {signal}; stderr:\n{}",
            self.stderr.lock().unwrap()
        );
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("--- sandbox stderr ---\n{}", self.stderr.lock().unwrap());
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
