//! What the sandbox remembers about device logins (RFC 8628): each device code with its user
//! code, the approval pages shown for them, and the polling pace each client must keep.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::state::{Digest, digest, random_token};

/// RFC 8628 section 6.1: consonants only (no vowels, so no words; no look-alikes).
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";
/// A poll this much early is still on time: requests do not arrive exactly as sent.
const POLL_TOLERANCE: Duration = Duration::from_millis(250);
/// RFC 8628 section 3.5: each `slow_down` adds 5 s to the interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// An expired device code is remembered this long so that polls hear `expired_token`.
const EXPIRED_MEMORY_SECS: i64 = 600;

#[derive(Debug, Clone)]
pub struct Device {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires_at: i64,
    /// The PKCE challenge sent with the device request: Keycloak applies a client's "PKCE
    /// required" to device logins too, and checks the verifier on every poll.
    pub code_challenge: Option<String>,
    interval: Duration,
    next_poll: Option<Instant>,
    status: Status,
}

impl Device {
    pub fn new(client_id: &str, scopes: Vec<String>, expires_at: i64, interval: Duration) -> Self {
        Self {
            client_id: client_id.to_owned(),
            scopes,
            expires_at,
            code_challenge: None,
            interval,
            next_poll: None,
            status: Status::Pending,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    Pending,
    /// Approved by the user: the grant the tokens will belong to.
    Approved(String),
    Denied,
}

/// RFC 8628 section 3.5's answers to a poll that gets no tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Poll {
    Pending,
    SlowDown,
    Denied,
    Expired,
    Unknown,
    WrongClient,
}

#[derive(Default)]
pub struct Devices {
    by_code: HashMap<Digest, Device>,
    /// Normalised user code to device code digest.
    by_user_code: HashMap<String, Digest>,
    /// Approval pages shown: page id to device code digest and page expiry.
    pages: HashMap<String, (Digest, i64)>,
}

impl Devices {
    pub fn purge(&mut self, now: i64) {
        self.by_code
            .retain(|_, d| d.expires_at + EXPIRED_MEMORY_SECS > now);
        let by_code = &self.by_code;
        self.by_user_code.retain(|_, key| by_code.contains_key(key));
        self.pages
            .retain(|_, (key, expires)| *expires > now && by_code.contains_key(key));
    }

    /// Remember a device code; returns its new user code, as the user will type it.
    pub fn add(&mut self, device_code: &str, device: Device) -> String {
        let key = digest(device_code);
        let user_code = loop {
            let code = new_user_code();
            if !self.by_user_code.contains_key(&normalise(&code)) {
                break code;
            }
        };
        self.by_user_code.insert(normalise(&user_code), key);
        self.by_code.insert(key, device);
        user_code
    }

    /// The pending device a typed user code names (case, dashes and spaces do not matter).
    pub fn find_pending(&self, typed: &str, now: i64) -> Option<(Digest, &Device)> {
        let key = self.by_user_code.get(&normalise(typed))?;
        let device = self.by_code.get(key)?;
        (device.status == Status::Pending && device.expires_at > now).then_some((*key, device))
    }

    /// An approval page for the device `key`; the id goes in the page's URLs.
    pub fn open_page(&mut self, key: Digest, expires_at: i64) -> String {
        let id = random_token(16);
        self.pages.insert(id.clone(), (key, expires_at));
        id
    }

    /// The device behind a page, while it still waits for an answer.
    pub fn page(&self, id: &str, now: i64) -> Option<(Digest, &Device)> {
        let (key, page_expires) = self.pages.get(id)?;
        if *page_expires <= now {
            return None;
        }
        let device = self.by_code.get(key)?;
        (device.status == Status::Pending && device.expires_at > now).then_some((*key, device))
    }

    pub fn approve(&mut self, key: &Digest, grant_id: String) {
        self.answer(key, Status::Approved(grant_id));
    }

    pub fn deny(&mut self, key: &Digest) {
        self.answer(key, Status::Denied);
    }

    /// The user has answered: the user code is spent, and so are the device's other pages.
    fn answer(&mut self, key: &Digest, status: Status) {
        if let Some(device) = self.by_code.get_mut(key) {
            device.status = status;
        }
        self.by_user_code.retain(|_, k| k != key);
        self.pages.retain(|_, (k, _)| k != key);
    }

    /// A client's poll: the approved grant's id (once; the device code is then spent), or
    /// why not yet or not at all. A poll before the interval is up is `slow_down`, and the
    /// interval grows by 5 s for good (RFC 8628 section 3.5).
    /// The PKCE challenge of `client_id`'s device code, if it sent one. Another client's code
    /// has none here: the poll itself refuses that.
    pub fn challenge_of(&self, device_code: &str, client_id: &str) -> Option<String> {
        let device = self.by_code.get(&digest(device_code))?;
        (device.client_id == client_id)
            .then(|| device.code_challenge.clone())
            .flatten()
    }

    pub fn poll(
        &mut self,
        device_code: &str,
        client_id: &str,
        now: i64,
        at: Instant,
    ) -> Result<String, Poll> {
        let key = digest(device_code);
        let device = self.by_code.get_mut(&key).ok_or(Poll::Unknown)?;
        if device.client_id != client_id {
            return Err(Poll::WrongClient);
        }
        if device.expires_at <= now {
            return Err(Poll::Expired);
        }
        if device.next_poll.is_some_and(|next| at < next) {
            device.interval += SLOW_DOWN_STEP;
            device.next_poll = Some(at + device.interval - POLL_TOLERANCE);
            return Err(Poll::SlowDown);
        }
        device.next_poll = Some(at + device.interval.saturating_sub(POLL_TOLERANCE));
        match device.status.clone() {
            Status::Pending => Err(Poll::Pending),
            Status::Denied => {
                self.by_code.remove(&key);
                Err(Poll::Denied)
            }
            Status::Approved(grant_id) => {
                self.by_code.remove(&key);
                Ok(grant_id)
            }
        }
    }
}

/// Eight letters from the alphabet, shown as `BCDF-GHJK`: about 34.5 bits, typed in seconds.
fn new_user_code() -> String {
    let mut letters = String::with_capacity(9);
    let mut bytes = [0u8; 32];
    while letters.len() < 9 {
        getrandom::fill(&mut bytes).expect("the OS random number generator is unavailable");
        // Only bytes below 240 (a multiple of 20), so every letter is equally likely.
        for byte in bytes.iter().filter(|b| **b < 240) {
            if letters.len() == 4 {
                letters.push('-');
            }
            if letters.len() == 9 {
                break;
            }
            letters.push(USER_CODE_ALPHABET[usize::from(*byte) % 20] as char);
        }
    }
    letters
}

fn normalise(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn devices_with(device_code: &str) -> (Devices, String) {
        let mut devices = Devices::default();
        let device = Device::new("c", vec!["openid".into()], 1600, Duration::from_secs(5));
        let user_code = devices.add(device_code, device);
        (devices, user_code)
    }

    #[test]
    fn user_codes_look_like_keycloaks_and_are_typed_loosely() {
        let code = new_user_code();
        assert_eq!(code.len(), 9, "{code}");
        assert_eq!(&code[4..5], "-");
        assert!(
            code.bytes()
                .filter(|b| *b != b'-')
                .all(|b| USER_CODE_ALPHABET.contains(&b))
        );
        let (devices, user_code) = devices_with("dc");
        let typed = user_code.to_lowercase().replace('-', " ");
        assert!(devices.find_pending(&typed, 1000).is_some());
        assert!(devices.find_pending("BCDF-GHJK-X", 1000).is_none());
        assert!(devices.find_pending(&user_code, 1600).is_none(), "expired");
    }

    #[test]
    fn polls_follow_rfc_8628() {
        let (mut devices, user_code) = devices_with("dc");
        let t0 = Instant::now();
        assert_eq!(devices.poll("dc", "c", 1000, t0), Err(Poll::Pending));
        assert_eq!(
            devices.poll("dc", "other", 1000, t0),
            Err(Poll::WrongClient)
        );
        // Too soon: slow_down, and the interval is now 10 s; 5 s later is too soon again (the
        // interval becomes 15 s); 15 s after that is on time.
        let early = t0 + Duration::from_secs(2);
        assert_eq!(devices.poll("dc", "c", 1002, early), Err(Poll::SlowDown));
        let after_five = early + Duration::from_secs(5);
        assert_eq!(
            devices.poll("dc", "c", 1007, after_five),
            Err(Poll::SlowDown)
        );
        let on_time = after_five + Duration::from_secs(15);
        assert_eq!(devices.poll("dc", "c", 1022, on_time), Err(Poll::Pending));
        let (key, _) = devices.find_pending(&user_code, 1022).unwrap();
        devices.approve(&key, "grant-1".into());
        assert!(
            devices.find_pending(&user_code, 1022).is_none(),
            "the user code is spent"
        );
        let later = on_time + Duration::from_secs(15);
        assert_eq!(devices.poll("dc", "c", 1037, later), Ok("grant-1".into()));
        assert_eq!(
            devices.poll("dc", "c", 1052, later + Duration::from_secs(15)),
            Err(Poll::Unknown),
            "tokens once"
        );
    }

    #[test]
    fn denied_and_expired_codes() {
        let (mut devices, user_code) = devices_with("dc");
        let (key, _) = devices.find_pending(&user_code, 1000).unwrap();
        devices.deny(&key);
        assert_eq!(
            devices.poll("dc", "c", 1001, Instant::now()),
            Err(Poll::Denied)
        );
        let (mut devices, _) = devices_with("dc");
        assert_eq!(
            devices.poll("dc", "c", 1600, Instant::now()),
            Err(Poll::Expired)
        );
        devices.purge(1600 + EXPIRED_MEMORY_SECS);
        assert_eq!(
            devices.poll("dc", "c", 2300, Instant::now()),
            Err(Poll::Unknown)
        );
    }

    #[test]
    fn pages_end_with_the_answer() {
        let (mut devices, user_code) = devices_with("dc");
        let (key, _) = devices.find_pending(&user_code, 1000).unwrap();
        let page = devices.open_page(key, 1300);
        assert!(devices.page(&page, 1000).is_some());
        assert!(devices.page(&page, 1300).is_none(), "the page expired");
        devices.approve(&key, "g".into());
        assert!(devices.page(&page, 1000).is_none());
    }
}
