//! Fresh per-request values: the PKCE verifier and challenge (RFC 7636, S256), `state` and the
//! OIDC `nonce`. All come from the OS CSPRNG.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// 32 random bytes: 256 bits, 43 base64url characters (RFC 7636 asks for 43 to 128).
const VERIFIER_BYTES: usize = 32;
/// 256 bits for state and nonce; the rule asks for at least 128.
const STATE_BYTES: usize = 32;

/// The PKCE pair. The verifier is a secret until the token request; the challenge is public.
pub struct Pkce {
    pub verifier: SecretString,
    pub challenge: String,
}

impl Pkce {
    pub const METHOD: &'static str = "S256";

    pub fn generate() -> Self {
        let verifier = random_token(VERIFIER_BYTES);
        let challenge = challenge_for(verifier.expose_secret());
        Self {
            verifier,
            challenge,
        }
    }
}

/// `BASE64URL(SHA256(ASCII(verifier)))`.
pub fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh `state` value.
pub fn state() -> String {
    random_token(STATE_BYTES).expose_secret().to_owned()
}

/// A fresh OIDC `nonce` value.
pub fn nonce() -> String {
    random_token(STATE_BYTES).expose_secret().to_owned()
}

/// `bytes` random bytes from the OS, base64url without padding.
fn random_token(bytes: usize) -> SecretString {
    let mut raw = vec![0u8; bytes];
    getrandom::fill(&mut raw).expect("the OS random number generator is unavailable");
    let text = URL_SAFE_NO_PAD.encode(&raw);
    raw.zeroize();
    SecretString::from(text)
}

/// Equality that takes the same time wherever the first difference is, for comparing `state`
/// and `nonce` with what an attacker may send.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_unreserved(s: &str) -> bool {
        s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
    }

    #[test]
    fn verifier_is_long_enough_and_unreserved() {
        let p = Pkce::generate();
        let v = p.verifier.expose_secret();
        assert!((43..=128).contains(&v.len()), "{}", v.len());
        assert!(is_unreserved(v));
        // 43 base64 characters carry 258 bits, of which 256 are random.
        assert!(v.len() * 6 >= 256);
        assert_eq!(p.challenge, challenge_for(v));
        assert_ne!(
            Pkce::generate().verifier.expose_secret(),
            p.verifier.expose_secret()
        );
    }

    #[test]
    fn challenge_matches_the_rfc_7636_example() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge_for("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn state_and_nonce_carry_at_least_128_bits_and_differ() {
        let (s, n) = (state(), nonce());
        assert!(s.len() * 6 >= 128 && n.len() * 6 >= 128);
        assert!(is_unreserved(&s) && is_unreserved(&n));
        assert_ne!(s, n);
        assert_ne!(state(), s);
    }

    #[test]
    fn constant_time_eq_is_equality() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
        assert!(constant_time_eq("", ""));
    }
}
