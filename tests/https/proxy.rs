//! A small HTTP CONNECT proxy on 127.0.0.1 for tests: it logs every request line (with the
//! client's User-Agent), maps the names it is given to 127.0.0.1 (so a provider under a name
//! that does not resolve here is reachable only through it), or refuses with a status.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// What the proxy answers to CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Open the tunnel (for the mapped names; 502 for others).
    Tunnel,
    /// Answer this status (403, 407, 502) and close.
    Refuse(u16),
}

/// Bounds for every connection: a test never hangs on a stuck tunnel.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
const HEAD_LIMIT: usize = 16 * 1024;
/// The accept loop polls its stop flag this often.
const POLL: Duration = Duration::from_millis(20);
/// And lives at most this long.
const LIFETIME: Duration = Duration::from_secs(300);

pub struct ConnectProxy {
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ConnectProxy {
    /// Start on 127.0.0.1 with an OS-chosen port; `names` are the host names it maps to
    /// 127.0.0.1 (the port of the CONNECT request is kept).
    pub fn start(mode: Mode, names: &[&str]) -> ConnectProxy {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let names: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        let (l, s) = (Arc::clone(&log), Arc::clone(&stop));
        let thread = thread::spawn(move || accept_loop(listener, mode, names, l, s));
        ConnectProxy {
            port,
            log,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// One line per request: `CONNECT host:port ua=<User-Agent> -> <answer>`.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    mode: Mode,
    names: Vec<String>,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
) {
    let started = Instant::now();
    while !stop.load(Ordering::SeqCst) && started.elapsed() < LIFETIME {
        match listener.accept() {
            Ok((stream, _)) => {
                let (names, log) = (names.clone(), Arc::clone(&log));
                thread::spawn(move || serve(stream, mode, &names, &log));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => thread::sleep(POLL),
            Err(_) => thread::sleep(POLL),
        }
    }
}

fn serve(mut client: TcpStream, mode: Mode, names: &[String], log: &Mutex<Vec<String>>) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(IO_TIMEOUT));
    let _ = client.set_write_timeout(Some(IO_TIMEOUT));
    let Some((head, rest)) = read_head(&mut client) else {
        return;
    };
    let request_line = head.lines().next().unwrap_or("").to_owned();
    let agent = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("user-agent")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let record = |answer: &str| {
        log.lock()
            .unwrap()
            .push(format!("{method} {target} ua={agent} -> {answer}"));
    };
    if method != "CONNECT" {
        record("405");
        let _ = client.write_all(
            b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        return;
    }
    if let Mode::Refuse(status) = mode {
        record(&status.to_string());
        let extra = if status == 407 {
            "Proxy-Authenticate: Basic realm=\"test proxy\"\r\n"
        } else {
            ""
        };
        let _ = write!(
            client,
            "HTTP/1.1 {status} Refused by the test proxy\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return;
    }
    let Some((host, port)) = target.rsplit_once(':') else {
        record("400");
        return;
    };
    let upstream = names
        .contains(&host.to_ascii_lowercase())
        .then(|| TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap_or(0))).ok())
        .flatten();
    let Some(upstream) = upstream else {
        record("502");
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    record("200");
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .is_err()
    {
        return;
    }
    tunnel(client, upstream, &rest);
}

/// The request head up to the blank line, and whatever the client sent after it.
fn read_head(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    while buf.len() < HEAD_LIMIT {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            return Some((head, buf[end + 4..].to_vec()));
        }
    }
    None
}

fn tunnel(client: TcpStream, upstream: TcpStream, early: &[u8]) {
    let _ = upstream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = upstream.set_write_timeout(Some(IO_TIMEOUT));
    let (mut c_read, mut u_write) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    if !early.is_empty() && u_write.write_all(early).is_err() {
        return;
    }
    let up = thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut u_write);
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (upstream, client);
    let _ = std::io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = up.join();
}
